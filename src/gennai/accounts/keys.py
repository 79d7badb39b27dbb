"""API keys: created once, shown once, stored as a keyed hash (HMAC-SHA256).

A key looks like `gnk_<40 base62 characters>`; the prefix makes it easy for secret
scanners to spot. Only HMAC(secret, key) is stored, so a copy of the database alone does
not let anyone use or brute-force the keys.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import string
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gennai.store.tables import COMMON_TEAM_ID, ApiKey, Membership, User

KEY_PREFIX = "gnk_"
_ALPHABET = string.ascii_letters + string.digits
_SECRET_BYTES = 32
ALL_SCOPES = ("chat", "apps", "admin")


class KeySecretError(Exception):
    """The key-hashing secret is missing or unreadable."""


def read_key_secret(file: Path | None, env_name: str | None) -> bytes:
    if env_name:
        value = os.environ.get(env_name)
        if not value:
            raise KeySecretError(f"the key secret variable {env_name} is not set")
        return value.encode()
    if file is None:
        raise KeySecretError("no key secret configured (security.key_secret_file or key_secret_env)")
    try:
        data = file.read_bytes().strip()
    except FileNotFoundError:
        raise KeySecretError(f"{file}: key secret file not found (run `gennai init`)") from None
    if len(data) < 32:
        raise KeySecretError(f"{file}: key secret is too short (at least 32 bytes)")
    return data


def write_key_secret(file: Path) -> None:
    """Create a new random secret readable only by its owner; never overwrite one."""
    file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(_SECRET_BYTES) + "\n")


def generate_key() -> str:
    return KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(40))


def hash_key(secret: bytes, key: str) -> str:
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key and the user behind it."""

    key_id: str
    key_name: str
    user_id: str | None
    team_id: str | None
    scopes: tuple[str, ...]
    is_system_admin: bool


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key: str
    record_id: str
    prefix: str


def create_key(
    engine: Engine,
    secret: bytes,
    *,
    name: str,
    username: str | None = None,
    admin: bool = False,
    scopes: tuple[str, ...] = ("chat", "apps"),
    expires_at: datetime | None = None,
    team_id: str | None = None,
    user_id: str | None = None,
) -> CreatedKey:
    """Create a key (and its user if new); the plain key is returned once and never stored."""
    name = name.strip()
    if not name:
        raise ValueError("a key needs a name")
    unknown = set(scopes) - set(ALL_SCOPES)
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}")
    now = datetime.now(UTC)
    key = generate_key()
    with Session(engine, expire_on_commit=False) as session, session.begin():
        username = username or name
        if user_id is not None:
            user = session.get(User, user_id)
            if user is None:
                raise ValueError("no such user")
        else:
            user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            user = User(
                id=str(uuid.uuid4()),
                username=username,
                display_name=username,
                kind="person",
                is_system_admin=admin,
                disabled=False,
                created_at=now,
            )
            session.add(user)
            session.flush()  # the key row references the user row
        elif admin and not user.is_system_admin:
            user.is_system_admin = True
        if admin and "admin" not in scopes:
            scopes = (*scopes, "admin")
        record = ApiKey(
            id=str(uuid.uuid4()),
            key_hash=hash_key(secret, key),
            prefix=key[:10],
            name=name,
            user_id=user.id,
            team_id=team_id,
            scopes=list(scopes),
            created_at=now,
            expires_at=expires_at,
            revoked_at=None,
        )
        session.add(record)
    return CreatedKey(key=key, record_id=record.id, prefix=record.prefix)


def count_keys(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.scalars(select(ApiKey.id)).all())


def revoke_key(engine: Engine, key_id_or_prefix: str) -> bool:
    with Session(engine) as session, session.begin():
        record = session.scalars(
            select(ApiKey).where((ApiKey.id == key_id_or_prefix) | (ApiKey.prefix == key_id_or_prefix))
        ).first()
        if record is None or record.revoked_at is not None:
            return False
        record.revoked_at = datetime.now(UTC)
        return True


def list_keys(engine: Engine) -> list[ApiKey]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)).all())


@dataclass(slots=True)
class _CacheEntry:
    principal: Principal | None
    expires: float


@dataclass
class KeyVerifier:
    """Verifies presented keys, with a short-lived in-process cache (hits cost one HMAC)."""

    engine: Engine
    secret: bytes
    ttl_s: float = 30.0
    max_entries: int = 100_000
    _cache: dict[str, _CacheEntry] = field(default_factory=dict)

    # The cache is keyed by the presented key itself (it lives only in this process's
    # memory, like the request that carried it): a hit costs one dict lookup, no HMAC.

    def cached(self, key: str) -> tuple[bool, Principal | None]:
        """(hit, principal) from the cache only; never touches the database."""
        entry = self._cache.get(key)
        if entry is None or entry.expires < time.monotonic():
            return False, None
        return True, entry.principal

    def verify(self, key: str) -> Principal | None:
        """The principal for a key, or None; may query the database (call off the event loop)."""
        entry = self._cache.get(key)
        now = time.monotonic()
        if entry is not None and entry.expires >= now:
            return entry.principal
        principal = self._load(hash_key(self.secret, key))
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        # Unknown keys are remembered only briefly, so a key created meanwhile works soon.
        ttl = self.ttl_s if principal is not None else min(self.ttl_s, 2.0)
        self._cache[key] = _CacheEntry(principal, now + ttl)
        return principal

    def forget(self, *, key_id: str | None = None, user_id: str | None = None, team_id: str | None = None) -> None:
        """Drop cached principals matching every given field, so that an admin change made
        in this worker (revocation, removal from a team, a disabled user) applies at once;
        other workers follow within `ttl_s`."""
        for raw, entry in list(self._cache.items()):
            p = entry.principal
            if p is None:
                continue
            if (
                (key_id is None or p.key_id == key_id)
                and (user_id is None or p.user_id == user_id)
                and (team_id is None or p.team_id == team_id)
            ):
                self._cache.pop(raw, None)

    def _load(self, digest: str) -> Principal | None:
        with Session(self.engine) as session:
            row = session.execute(
                select(ApiKey, User).join(User, ApiKey.user_id == User.id, isouter=True).where(ApiKey.key_hash == digest)
            ).first()
        if row is None:
            return None
        key, user = row
        now = datetime.now(UTC)
        if key.revoked_at is not None:
            return None
        if key.expires_at is not None and _aware(key.expires_at) <= now:
            return None
        if user is not None and user.disabled:
            return None
        if key.team_id is not None and key.team_id != COMMON_TEAM_ID and user is not None and user.kind == "person":
            with Session(self.engine) as session:  # a person's key works for a team only while they belong to it
                member = session.get(Membership, (key.team_id, user.id))
            if member is None:
                return None
        return Principal(
            key_id=key.id,
            key_name=key.name,
            user_id=key.user_id,
            team_id=key.team_id,
            scopes=tuple(key.scopes or ()),
            is_system_admin=bool(user and user.is_system_admin),
        )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class KeyView:
    """What may be shown about a key (never its hash)."""

    id: str
    name: str
    prefix: str
    user_id: str | None
    username: str | None
    team_id: str | None
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "user_id": self.user_id,
            "username": self.username,
            "team_id": self.team_id,
            "kind": "service" if self.user_id is None else "personal",
            "scopes": list(self.scopes),
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def key_views(engine: Engine, *, team_id: str | None = None, user_id: str | None = None) -> list[KeyView]:
    """Keys of one team (service keys and members' keys for it) or of one user."""
    query = select(ApiKey, User.username).join(User, ApiKey.user_id == User.id, isouter=True).order_by(ApiKey.created_at)
    if team_id is not None:
        query = query.where(ApiKey.team_id == team_id)
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    with Session(engine) as session:
        return [
            KeyView(
                k.id, k.name, k.prefix, k.user_id, username, k.team_id, tuple(k.scopes or ()),
                _aware(k.created_at), _aware(k.expires_at) if k.expires_at else None, _aware(k.revoked_at) if k.revoked_at else None,
            )
            for k, username in session.execute(query)
        ]


def create_service_key(
    engine: Engine,
    secret: bytes,
    *,
    team_id: str,
    name: str,
    scopes: tuple[str, ...] = ("chat", "apps"),
    expires_at: datetime | None = None,
) -> CreatedKey:
    """A team's service key: it belongs to the team, not to a person."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("a key needs a name of 1-200 characters")
    unknown = set(scopes) - {"chat", "apps"}
    if unknown:
        raise ValueError(f"service keys may have the chat and apps scopes only, not: {', '.join(sorted(unknown))}")
    key = generate_key()
    record = ApiKey(
        id=str(uuid.uuid4()), key_hash=hash_key(secret, key), prefix=key[:10], name=name, user_id=None,
        team_id=team_id, scopes=list(scopes), created_at=datetime.now(UTC), expires_at=expires_at, revoked_at=None,
    )
    record_id, prefix = record.id, record.prefix
    with Session(engine) as session, session.begin():
        session.add(record)
    return CreatedKey(key=key, record_id=record_id, prefix=prefix)


def revoke_key_where(engine: Engine, key_id: str, *, team_id: str | None = None, user_id: str | None = None) -> bool:
    """Revoke a key only if it belongs to the given team or user (no cross-team revocation)."""
    with Session(engine) as session, session.begin():
        record = session.get(ApiKey, key_id)
        if record is None or record.revoked_at is not None:
            return False
        if team_id is not None and record.team_id != team_id:
            return False
        if user_id is not None and record.user_id != user_id:
            return False
        record.revoked_at = datetime.now(UTC)
        return True
