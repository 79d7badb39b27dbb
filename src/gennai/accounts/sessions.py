"""Browser sessions, kept on the server.

The cookie holds a random 256-bit token; the `sessions` table holds only its SHA-256 (a copy
of the database does not let anyone take over a session), the user, the session's CSRF
token and its times. A session ends at the first of: its absolute lifetime
(`auth.session_hours` after sign-in), `auth.session_idle_minutes` without a request, sign-out,
"sign out everywhere" (every session of the user), or the user being disabled.

`last_seen_at` is written at most once a minute per session, so a busy page does not cost a
database write per request; idle expiry is therefore exact to within that minute.

Verified sessions are cached in this process for a few seconds. Revoking a session (or all
of a user's) in this process drops the cache entries at once; another worker notices within
`cache_ttl_s`.

CSRF: every state-changing request authenticated by the cookie must carry the session's
CSRF token (header `X-CSRF-Token` or form field `csrf_token`); `csrf_matches` compares it in
constant time. The cookie is SameSite=Lax as well, but the token does not depend on it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from gennai.config import AuthConfig
from gennai.store.tables import SignInSession, User

TOUCH_INTERVAL = timedelta(minutes=1)
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{40,64}$")
_PURGE_INTERVAL_S = 3600.0


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session and who it belongs to."""

    session_id: str  # SHA-256 of the cookie's token (hex); never the token itself
    user_id: str
    username: str
    display_name: str
    is_system_admin: bool
    roles: tuple[str, ...]
    method: str  # "password" | "oidc"
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # absolute end; the idle end is last_seen_at + idle timeout


def session_id_for(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_matches(session: SessionInfo, presented: str | None) -> bool:
    """Whether `presented` is the session's CSRF token (constant-time comparison)."""
    if not presented:
        return False
    return hmac.compare_digest(session.csrf_token.encode(), presented.encode("utf-8", "replace"))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SessionStore:
    def __init__(
        self,
        engine: Engine,
        config: AuthConfig,
        *,
        clock: Callable[[], datetime] | None = None,
        cache_ttl_s: float = 5.0,
        max_cached: int = 100_000,
    ) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock or (lambda: datetime.now(UTC))
        self.cache_ttl_s = cache_ttl_s
        self.max_cached = max_cached
        self._cache: dict[str, tuple[SessionInfo, float]] = {}
        self._lock = threading.Lock()
        self._last_purge = 0.0

    @property
    def lifetime(self) -> timedelta:
        return timedelta(hours=self.config.session_hours)

    @property
    def idle_timeout(self) -> timedelta:
        return timedelta(minutes=self.config.session_idle_minutes)

    def create(self, user_id: str, method: str, now: datetime | None = None) -> tuple[str, str]:
        """A new session: (token for the cookie, CSRF token). Blocking (database)."""
        now = now or self.clock()
        token = secrets.token_urlsafe(32)  # 256 bits
        csrf = secrets.token_urlsafe(32)
        with Session(self.engine) as session, session.begin():
            session.add(
                SignInSession(
                    id=session_id_for(token),
                    user_id=user_id,
                    csrf_token=csrf,
                    method=method,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self.lifetime,
                    revoked_at=None,
                )
            )
        if time.monotonic() - self._last_purge > _PURGE_INTERVAL_S:
            self._last_purge = time.monotonic()
            self.purge(now)
        return token, csrf

    def verify(self, token: str | None, now: datetime | None = None) -> SessionInfo | None:
        """The live session for a cookie token, or None (unknown, expired, idle, revoked,
        user disabled). Blocking on a cache miss or once a minute (database)."""
        if not token or not _TOKEN_SHAPE.match(token):
            return None
        now = now or self.clock()
        session_id = session_id_for(token)
        with self._lock:
            cached = self._cache.get(session_id)
        info: SessionInfo | None
        if cached is not None and time.monotonic() - cached[1] < self.cache_ttl_s:
            info = cached[0]
        else:
            info = self._load(session_id)
            if info is None:
                self._drop(session_id)
                return None
            self._remember(info)
        if now >= info.expires_at or now - info.last_seen_at > self.idle_timeout:
            self._drop(session_id)
            return None
        if now - info.last_seen_at >= TOUCH_INTERVAL:
            info = replace(info, last_seen_at=now)
            with Session(self.engine) as session, session.begin():
                session.execute(
                    update(SignInSession)
                    .where(SignInSession.id == session_id, SignInSession.revoked_at.is_(None))
                    .values(last_seen_at=now)
                )
            self._remember(info)
        return info

    def revoke(self, token: str, now: datetime | None = None) -> bool:
        """End one session (sign-out). True when a live session was ended."""
        return self.revoke_id(session_id_for(token), now)

    def revoke_id(self, session_id: str, now: datetime | None = None) -> bool:
        now = now or self.clock()
        self._drop(session_id)
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(SignInSession)
                .where(SignInSession.id == session_id, SignInSession.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def revoke_all(self, user_id: str, now: datetime | None = None) -> int:
        """End every session of a user ("sign out everywhere"; also after a password change
        or when an administrator disables the user). Returns how many were live."""
        now = now or self.clock()
        self.forget_user(user_id)
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(SignInSession)
                .where(SignInSession.user_id == user_id, SignInSession.revoked_at.is_(None), SignInSession.expires_at > now)
                .values(revoked_at=now)
            )
        self.forget_user(user_id)
        return int(result.rowcount)  # type: ignore[attr-defined]

    def forget_user(self, user_id: str) -> None:
        """Drop a user's cached sessions (after disabling them or changing their roles)."""
        with self._lock:
            for key in [k for k, (info, _) in self._cache.items() if info.user_id == user_id]:
                del self._cache[key]

    def purge(self, now: datetime | None = None) -> int:
        """Delete sessions that ended more than a day ago."""
        cutoff = (now or self.clock()) - timedelta(days=1)
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                delete(SignInSession).where(
                    (SignInSession.expires_at < cutoff) | (SignInSession.revoked_at < cutoff)
                )
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def _load(self, session_id: str) -> SessionInfo | None:
        with Session(self.engine) as session:
            row = session.execute(
                select(SignInSession, User).join(User, User.id == SignInSession.user_id).where(SignInSession.id == session_id)
            ).first()
        if row is None:
            return None
        record, user = row
        if record.revoked_at is not None or user.disabled:
            return None
        return SessionInfo(
            session_id=record.id,
            user_id=user.id,
            username=user.username,
            display_name=user.display_name,
            is_system_admin=bool(user.is_system_admin),
            roles=tuple(user.roles or ()),
            method=record.method,
            csrf_token=record.csrf_token,
            created_at=_aware(record.created_at),
            last_seen_at=_aware(record.last_seen_at),
            expires_at=_aware(record.expires_at),
        )

    def _remember(self, info: SessionInfo) -> None:
        with self._lock:
            if len(self._cache) >= self.max_cached:
                self._cache.clear()
            self._cache[info.session_id] = (info, time.monotonic())

    def _drop(self, session_id: str) -> None:
        with self._lock:
            self._cache.pop(session_id, None)
