"""Signing in: local passwords with lockout and back-off, and the auth services the platform
holds (sessions, the OIDC relying party). No HTTP here; api/auth_routes.py translates.

Lockout: after `auth.lockout_threshold` failed sign-ins in a row an account refuses every
attempt for `lockout_base_s`; each further failure after a lock ends doubles the wait, up to
`lockout_max_s`. A success resets the count. Attempts while locked are refused without
looking at the password and do not extend the lock, so an attacker cannot keep a person out
for longer than the back-off they earn. Unknown user names get exactly the same treatment
(counted in memory) and the same answers, and cost the same argon2 verification, so the
answers do not tell whether a user name exists.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from argon2 import PasswordHasher
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gennai.accounts.passwords import DEFAULT_HASHER, dummy_hash, hash_password, needs_rehash, verify_password
from gennai.accounts.sessions import SessionInfo, SessionStore, csrf_matches
from gennai.config import AuthConfig
from gennai.gateway.errors import Forbidden
from gennai.store.tables import Membership, Team, User

if TYPE_CHECKING:
    from gennai.accounts.oidc import OidcClient

log = logging.getLogger("gennai.auth")

JST = timezone(timedelta(hours=9), "JST")
SESSION_COOKIE = "gennai_session"
Audit = Callable[..., object]
Outcome = Literal["ok", "failed", "locked", "disabled"]


@dataclass(frozen=True, slots=True)
class SignInResult:
    outcome: Outcome
    message: str  # Japanese / English, safe to show: never says whether the user exists
    user_id: str | None = None
    username: str | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def retry_after_s(self, now: datetime) -> float | None:
        if self.locked_until is None:
            return None
        return max(1.0, (self.locked_until - now).total_seconds())


WRONG_CREDENTIALS = "ユーザー名またはパスワードが正しくありません / Wrong user name or password"
DISABLED = "このアカウントは無効にされています。管理者に連絡してください / This account is disabled; contact an administrator"


def lock_seconds(failures: int, config: AuthConfig) -> float:
    """How long an account stays locked after `failures` failures in a row (0: not locked)."""
    if failures < config.lockout_threshold:
        return 0.0
    doublings = min(failures - config.lockout_threshold, 62)
    return float(min(config.lockout_base_s * (2**doublings), config.lockout_max_s))


def locked_message(until: datetime) -> str:
    local = until.astimezone(JST)
    return (
        f"サインインの失敗が続いたため、このアカウントは {local:%Y-%m-%d %H:%M:%S} (JST) まで"
        f"一時的にロックされています / Too many failed sign-ins: locked until "
        f"{until.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    )


@dataclass(slots=True)
class _Failures:
    count: int
    locked_until: datetime | None


class UnknownNameFailures:
    """Failure counts for user names that do not exist, in memory, bounded: they lock like
    real accounts so that a lockout answer does not reveal that an account exists."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self._entries: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def locked_until(self, name: str, now: datetime) -> datetime | None:
        with self._lock:
            entry = self._entries.get(name)
            if entry is not None and entry.locked_until is not None and entry.locked_until > now:
                return entry.locked_until
            return None

    def fail(self, name: str, now: datetime, config: AuthConfig) -> datetime | None:
        with self._lock:
            entry = self._entries.pop(name, None) or _Failures(0, None)
            entry.count += 1
            seconds = lock_seconds(entry.count, config)
            entry.locked_until = now + timedelta(seconds=seconds) if seconds else None
            self._entries[name] = entry
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return entry.locked_until


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _report(audit: Audit | None, outcome: str, user_id: str | None, username: str, ip: str | None, **detail: object) -> None:
    if audit is None:
        return
    try:
        audit(
            "auth.sign_in",
            outcome=outcome,
            actor_user_id=user_id,
            actor_name=username[:200],
            detail={"method": "password", **detail},
            ip=ip,
        )
    except Exception:  # noqa: BLE001 - a failing audit sink must not decide a sign-in
        log.exception("audit of a sign-in failed")


def verify_password_sign_in(
    engine: Engine,
    username: str,
    password: str,
    config: AuthConfig,
    now: datetime | None = None,
    *,
    audit: Audit | None = None,
    ip: str | None = None,
    hasher: PasswordHasher = DEFAULT_HASHER,
    unknown: UnknownNameFailures | None = None,
) -> SignInResult:
    """Check a user name and password, with lockout and back-off (see the module doc).
    Blocking (argon2, database): call it off the event loop."""
    now = now or datetime.now(UTC)
    username = username.strip()
    with Session(engine) as session:
        user = session.scalars(select(User).where(User.username == username)).first() if username else None
        row = (
            None
            if user is None
            else (user.id, user.password_hash, user.disabled, _aware(user.locked_until), user.failed_sign_ins or 0)
        )

    if row is None or row[1] is None:
        # Unknown (or OIDC-only) account: the same work and the same answers as a real one.
        until = unknown.locked_until(username, now) if unknown is not None else None
        if until is not None:
            _report(audit, "locked", None, username, ip, reason="locked")
            return SignInResult("locked", locked_message(until), locked_until=until)
        verify_password(dummy_hash(hasher), password, hasher)
        until = unknown.fail(username, now, config) if unknown is not None else None
        _report(audit, "failed", row[0] if row else None, username, ip, reason="unknown_user" if row is None else "no_password")
        if until is not None:
            return SignInResult("locked", locked_message(until), locked_until=until)
        return SignInResult("failed", WRONG_CREDENTIALS)

    user_id, stored, disabled, locked_until, _failures = row
    if locked_until is not None and locked_until > now:
        _report(audit, "locked", user_id, username, ip, reason="locked")
        return SignInResult("locked", locked_message(locked_until), user_id=user_id, username=username, locked_until=locked_until)

    matches = verify_password(stored, password, hasher)
    new_hash = hash_password(password, hasher) if matches and not disabled and needs_rehash(stored, hasher) else None
    with Session(engine) as session, session.begin():
        user = session.scalars(select(User).where(User.id == user_id).with_for_update()).first()
        if user is None:  # deleted meanwhile
            return SignInResult("failed", WRONG_CREDENTIALS)
        if not matches:
            user.failed_sign_ins = (user.failed_sign_ins or 0) + 1
            seconds = lock_seconds(user.failed_sign_ins, config)
            user.locked_until = now + timedelta(seconds=seconds) if seconds else None
            failures, until = user.failed_sign_ins, user.locked_until
        else:
            failures, until = 0, None
            if not disabled:
                user.failed_sign_ins = 0
                user.locked_until = None
                user.last_sign_in_at = now
                if new_hash is not None and user.password_hash == stored:
                    user.password_hash = new_hash
    if not matches:
        locked = {"locked_until": until.astimezone(UTC).isoformat()} if until is not None else {}
        _report(audit, "failed", user_id, username, ip, reason="wrong_password", failures=failures, **locked)
        if until is not None:
            return SignInResult("locked", locked_message(until), user_id=user_id, username=username, locked_until=until)
        return SignInResult("failed", WRONG_CREDENTIALS)
    if disabled:
        _report(audit, "failed", user_id, username, ip, reason="disabled")
        return SignInResult("disabled", DISABLED, user_id=user_id, username=username)
    _report(audit, "ok", user_id, username, ip)
    return SignInResult("ok", "サインインしました / Signed in", user_id=user_id, username=username)


def unlock_user(engine: Engine, username: str) -> bool:
    """Clear the failure count and any lock; False when there is no such user."""
    with Session(engine) as session, session.begin():
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            return False
        user.failed_sign_ins = 0
        user.locked_until = None
        return True


# --------------------------------------------------------------------------- who is this


@dataclass(frozen=True, slots=True)
class TeamMembership:
    team_id: str
    name: str
    display_name: str
    is_admin: bool


@dataclass(frozen=True, slots=True)
class UserProfile:
    id: str
    username: str
    display_name: str
    email: str | None
    kind: str
    is_system_admin: bool
    roles: tuple[str, ...]
    teams: tuple[TeamMembership, ...]
    last_sign_in_at: datetime | None


def describe_user(engine: Engine, user_id: str) -> UserProfile | None:
    """A user with their roles and team memberships (the common team, which every user
    belongs to, appears only where a membership row exists)."""
    with Session(engine) as session:
        user = session.get(User, user_id)
        if user is None:
            return None
        rows = session.execute(
            select(Membership, Team).join(Team, Team.id == Membership.team_id).where(Membership.user_id == user_id).order_by(Team.name)
        ).all()
        return UserProfile(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            kind=user.kind,
            is_system_admin=bool(user.is_system_admin),
            roles=tuple(user.roles or ()),
            teams=tuple(TeamMembership(team.id, team.name, team.display_name, bool(m.is_admin)) for m, team in rows),
            last_sign_in_at=_aware(user.last_sign_in_at),
        )


# --------------------------------------------------------------------------- services


@dataclass
class AuthServices:
    """What the platform holds for signing in: configuration, sessions, the password check
    with its lockout memory, the OIDC relying party (None when not configured), and where
    sign-in events are reported (`audit`, set by whoever wires the audit log)."""

    engine: Engine
    config: AuthConfig
    sessions: SessionStore
    oidc: OidcClient | None = None
    audit: Audit | None = None
    hasher: PasswordHasher = DEFAULT_HASHER
    unknown: UnknownNameFailures = field(default_factory=UnknownNameFailures)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @classmethod
    def build(
        cls, engine: Engine, config: AuthConfig, secret: bytes, resolve: Callable[[str], Path], audit: Audit | None = None
    ) -> AuthServices:
        """`secret` is the server's key secret (the OIDC login-state cookie is sealed with a
        key derived from it); `resolve` turns configured paths into files; `audit` is called
        like AuditLog.append for every sign-in, failed sign-in and sign-out."""
        from gennai.accounts.oidc import OidcClient, read_client_secret

        oidc = None
        if config.oidc is not None:
            oidc = OidcClient(config.oidc, read_client_secret(config.oidc, resolve), secret)
        return cls(engine=engine, config=config, sessions=SessionStore(engine, config), oidc=oidc, audit=audit)

    def sign_in_password(self, username: str, password: str, ip: str | None = None) -> SignInResult:
        """Blocking: call off the event loop."""
        started = time.perf_counter()
        result = verify_password_sign_in(
            self.engine, username, password, self.config, self.clock(),
            audit=self.audit, ip=ip, hasher=self.hasher, unknown=self.unknown,
        )
        log.debug("password sign-in %s in %.0f ms", result.outcome, (time.perf_counter() - started) * 1000)
        return result

    async def session_from_request(self, request: Any) -> SessionInfo | None:
        """The live session named by a request's `gennai_session` cookie, or None. Takes
        anything with a `cookies` mapping (a Starlette request); off the event loop on a
        cache miss."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        return await asyncio.to_thread(self.sessions.verify, token)

    def check_csrf(self, session: SessionInfo, presented: str | None) -> None:
        """Raise Forbidden unless `presented` is the session's CSRF token (constant time)."""
        if not csrf_matches(session, presented):
            raise Forbidden(
                "CSRF トークンがないか正しくありません。X-CSRF-Token ヘッダー（またはフォームの csrf_token）に"
                "サインイン時のトークンを付けてください / Missing or wrong CSRF token (header X-CSRF-Token "
                "or form field csrf_token)",
                code="csrf_token_invalid",
            )

    def report(self, action: str, *, outcome: str, user_id: str | None, name: str | None, ip: str | None, **detail: object) -> None:
        """Report an auth event (sign-out, OIDC sign-in) to the audit sink, if there is one."""
        if self.audit is None:
            return
        try:
            self.audit(action, outcome=outcome, actor_user_id=user_id, actor_name=(name or "")[:200] or None, detail=detail or None, ip=ip)
        except Exception:  # noqa: BLE001
            log.exception("audit of %s failed", action)
