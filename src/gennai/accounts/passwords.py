"""Local passwords: argon2id hashes and the rules a new password must meet.

Hashing: argon2id with argon2-cffi's defaults, which are RFC 9106's second recommended
(low-memory) profile: t=3, m=64 MiB, p=4, 16-byte salt, 32-byte tag (≈0.1 s on two cores).
A stored hash made with other parameters is re-made at the next successful sign-in
(`needs_rehash`), so raising the parameters later needs no migration.

Rules, following NIST SP 800-63B §3.1.1.2 and the Digital Agency's guidance (length, a
blocklist, no composition rules, no forced periodic change):

- at least `auth.password_min_length` characters (12 by default), at most 128;
- any characters at all (spaces, kana, kanji, emoji); the text is NFKC-normalised first, so
  the full-width and half-width forms of one character are the same password;
- not a commonly used or breached password (the list shipped in accounts/data/, also with
  digits and symbols added before or after, and with the usual l33t substitutions), not one
  character repeated or a straight sequence (aaaa…, 1234…, abcd…), not containing the user
  name or the service's name.

No rule asks for upper case, digits or symbols: such rules make passwords harder to remember
and no harder to guess ("Password1!").
"""

from __future__ import annotations

import re
import threading
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gennai.store.tables import User

MAX_LENGTH = 128
# Words that belong to this service and so are among the first an attacker tries.
_CONTEXT_WORDS = ("gennai", "源内", "げんない", "ゲンナイ")

# argon2-cffi's defaults: RFC 9106 low-memory profile (argon2id, t=3, m=64 MiB, p=4).
DEFAULT_HASHER = PasswordHasher()
# Each hash holds 64 MiB for ~0.1 s: a burst of sign-ins queues here instead of using
# gigabytes of memory at once.
_HASH_SLOTS = threading.BoundedSemaphore(4)


class PasswordRejected(ValueError):
    """A new password does not meet the rules; `message` is Japanese / English."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def normalize_password(password: str) -> str:
    """NFKC: full-width/half-width and composed/decomposed forms are one password."""
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str, hasher: PasswordHasher = DEFAULT_HASHER) -> str:
    with _HASH_SLOTS:
        return hasher.hash(normalize_password(password))


def verify_password(stored_hash: str, password: str, hasher: PasswordHasher = DEFAULT_HASHER) -> bool:
    """Whether `password` matches the stored argon2 hash (False for a malformed hash)."""
    with _HASH_SLOTS:
        try:
            return hasher.verify(stored_hash, normalize_password(password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def needs_rehash(stored_hash: str, hasher: PasswordHasher = DEFAULT_HASHER) -> bool:
    try:
        return hasher.check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError):
        return True


_dummy_hashes: dict[tuple[int, int, int], str] = {}


def dummy_hash(hasher: PasswordHasher = DEFAULT_HASHER) -> str:
    """A hash of a random password with `hasher`'s parameters: verifying against it costs
    what a real verification costs, so an unknown user name takes as long as a known one."""
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    value = _dummy_hashes.get(key)
    if value is None:
        value = _dummy_hashes[key] = hasher.hash(uuid.uuid4().hex)
    return value


# --------------------------------------------------------------------------- rules


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common and breached passwords (case-folded)."""
    text = files("gennai.accounts").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        _fold(line) for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _fold(text: str) -> str:
    return normalize_password(text).casefold().strip()


_DECORATION = re.compile(r"^[\d\W_]+|[\d\W_]+$")
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "3": "e", "$": "s", "5": "s", "7": "t", "!": "i", "+": "t"})


def _candidates(folded: str) -> set[str]:
    """The password, without the digits and symbols around it, and with l33t undone."""
    out = {folded, folded.replace(" ", "")}
    doubled = re.fullmatch(r"(.{4,}?)\1+", folded.replace(" ", ""), flags=re.DOTALL)
    if doubled:  # "dragondragon"
        out.add(doubled.group(1))
    for value in list(out):
        core = _DECORATION.sub("", value)
        if len(core) >= 4:
            out.add(core)
    for value in list(out):
        for one in ("i", "l"):
            unleet = value.translate(_LEET).replace("1", one)
            out.add(unleet)
            core = _DECORATION.sub("", unleet)
            if len(core) >= 4:
                out.add(core)
    return out


def _repetitive_or_sequential(folded: str) -> bool:
    compact = folded.replace(" ", "")
    if len(compact) < 4:
        return False
    if re.fullmatch(r"(.{1,4}?)\1+", compact, flags=re.DOTALL):
        return True
    steps = {_step(a, b) for a, b in zip(compact, compact[1:], strict=False)}
    return steps in ({1}, {-1})


def _step(a: str, b: str) -> int:
    step = ord(b) - ord(a)
    if a.isdigit() and b.isdigit() and abs(step) == 9:  # 7890…, 3210987…
        step = -1 if step > 0 else 1
    return step


def check_password(password: str, *, min_length: int = 12, username: str | None = None) -> None:
    """Raise PasswordRejected when `password` does not meet the rules (see module doc)."""
    text = normalize_password(password)
    length = len(text)
    if length < min_length:
        raise PasswordRejected(
            "password_too_short",
            f"パスワードは {min_length} 文字以上にしてください（長い文やフレーズが安全です） / "
            f"The password must have at least {min_length} characters (a long phrase is best)",
        )
    if length > MAX_LENGTH:
        raise PasswordRejected(
            "password_too_long",
            f"パスワードは {MAX_LENGTH} 文字以内にしてください / The password must have at most {MAX_LENGTH} characters",
        )
    folded = _fold(text)
    if _repetitive_or_sequential(folded):
        raise PasswordRejected(
            "password_repetitive",
            "同じ文字の繰り返しや連続した文字（aaaa、1234、abcd など）はパスワードに使えません / "
            "The password must not be one character repeated or a plain sequence (aaaa, 1234, abcd…)",
        )
    if username:
        name = _fold(username)
        if len(name) >= 3 and name in folded.replace(" ", ""):
            raise PasswordRejected(
                "password_contains_username",
                "パスワードにユーザー名を含めないでください / The password must not contain the user name",
            )
    compact = folded.replace(" ", "")
    if any(_fold(word) in compact for word in _CONTEXT_WORDS):
        raise PasswordRejected(
            "password_contains_service_name",
            "パスワードにサービス名（gennai / 源内）を含めないでください / The password must not contain the service's name",
        )
    common = common_passwords()
    if any(candidate in common for candidate in _candidates(folded)):
        raise PasswordRejected(
            "password_common",
            "よく使われる、または漏えいしたことが知られているパスワードです。別のものにしてください / "
            "This password is commonly used or known from breaches; choose another",
        )


# --------------------------------------------------------------------------- storage


@dataclass(frozen=True, slots=True)
class LocalUser:
    id: str
    username: str
    display_name: str


def set_password(
    engine: Engine,
    user_id: str,
    password: str,
    *,
    min_length: int = 12,
    hasher: PasswordHasher = DEFAULT_HASHER,
    now: datetime | None = None,
) -> None:
    """Check the rules, store the new hash, and clear any lockout. Raises PasswordRejected
    or LookupError (no such user)."""
    with Session(engine) as session:
        user = session.get(User, user_id)
        if user is None:
            raise LookupError(f"no user {user_id}")
        username = user.username
    check_password(password, min_length=min_length, username=username)
    digest = hash_password(password, hasher)
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        if user is None:
            raise LookupError(f"no user {user_id}")
        user.password_hash = digest
        user.password_changed_at = now or datetime.now(UTC)
        user.failed_sign_ins = 0
        user.locked_until = None


def create_local_user(
    engine: Engine,
    username: str,
    password: str,
    *,
    display_name: str | None = None,
    email: str | None = None,
    system_admin: bool = False,
    min_length: int = 12,
    hasher: PasswordHasher = DEFAULT_HASHER,
    now: datetime | None = None,
) -> LocalUser:
    """A person who signs in with a password (every user belongs to the common team without
    a membership row; team memberships are an administrator's to add). Raises ValueError
    (bad or taken user name) or PasswordRejected."""
    username = username.strip()
    if not username or len(username) > 200 or any(c.isspace() or unicodedata.category(c) == "Cc" for c in username):
        raise ValueError("ユーザー名は空白を含まない 1〜200 文字にしてください / a user name has 1-200 characters and no spaces")
    check_password(password, min_length=min_length, username=username)
    digest = hash_password(password, hasher)
    now = now or datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        if session.scalars(select(User.id).where(User.username == username)).first() is not None:
            raise ValueError(f"ユーザー '{username}' は既にあります / user '{username}' already exists")
        user = User(
            id=str(uuid.uuid4()),
            username=username,
            display_name=(display_name or username).strip() or username,
            kind="person",
            is_system_admin=system_admin,
            disabled=False,
            created_at=now,
            email=email or None,
            roles=[],
            password_hash=digest,
            password_changed_at=now,
            failed_sign_ins=0,
        )
        session.add(user)
    return LocalUser(id=user.id, username=user.username, display_name=user.display_name)
