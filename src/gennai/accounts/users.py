"""User accounts: listing, creating, roles, disabling. No HTTP; permissions are checked by
the caller (gennai.accounts.permissions)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gennai.gateway.errors import Conflict, InvalidRequest, NotFound
from gennai.store.tables import User

ROLES = ("auditor", "evaluator")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@\-]{0,199}$")


@dataclass(frozen=True, slots=True)
class UserView:
    id: str
    username: str
    display_name: str
    email: str | None
    is_system_admin: bool
    roles: tuple[str, ...]
    disabled: bool
    kind: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "email": self.email,
            "system_admin": self.is_system_admin,
            "roles": list(self.roles),
            "disabled": self.disabled,
            "kind": self.kind,
            "created_at": self.created_at.isoformat(),
        }


def _view(user: User) -> UserView:
    created = user.created_at if user.created_at.tzinfo else user.created_at.replace(tzinfo=UTC)
    return UserView(
        user.id, user.username, user.display_name, user.email, bool(user.is_system_admin),
        tuple(user.roles or ()), bool(user.disabled), user.kind, created,
    )


def _roles(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise InvalidRequest("roles は配列です / roles must be a list", param="roles")
    unknown = sorted(set(value) - set(ROLES))
    if unknown:
        raise InvalidRequest(
            f"不明な役割: {', '.join(unknown)}（auditor, evaluator） / unknown roles: {', '.join(unknown)}", param="roles"
        )
    return sorted(set(value))


class Users:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def list(self) -> list[UserView]:
        with Session(self.engine) as session:
            return [_view(u) for u in session.scalars(select(User).order_by(User.username))]

    def get(self, user_id: str) -> UserView:
        with Session(self.engine) as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound("利用者が見つかりません / user not found", code="user_not_found")
            return _view(user)

    def find(self, id_or_username: str) -> UserView:
        with Session(self.engine) as session:
            user = session.get(User, id_or_username) or session.scalars(
                select(User).where(User.username == id_or_username)
            ).first()
            if user is None:
                raise NotFound(f"利用者 '{id_or_username}' が見つかりません / user '{id_or_username}' not found", code="user_not_found")
            return _view(user)

    def create(
        self,
        username: str,
        *,
        display_name: str | None = None,
        email: str | None = None,
        is_system_admin: bool = False,
        roles: list[str] | None = None,
    ) -> UserView:
        if not isinstance(username, str) or not USERNAME.match(username):
            raise InvalidRequest(
                "ユーザー名は英数字と . _ @ - の 1〜200 文字です / a username is 1-200 letters, digits or . _ @ -",
                param="username",
            )
        user = User(
            id=str(uuid.uuid4()), username=username, display_name=(display_name or username).strip()[:200],
            email=email, kind="person", is_system_admin=bool(is_system_admin), roles=_roles(roles or []),
            disabled=False, created_at=datetime.now(UTC), failed_sign_ins=0,
        )
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                session.add(user)
        except IntegrityError:
            raise Conflict(f"ユーザー名 '{username}' はすでに使われています / the username '{username}' is taken", param="username") from None
        return _view(user)

    def update(self, user_id: str, changes: dict[str, Any]) -> UserView:
        allowed = {"display_name", "email", "system_admin", "roles", "disabled"}
        unknown = set(changes) - allowed
        if unknown:
            name = sorted(unknown)[0]
            raise InvalidRequest(f"'{name}' は変更できません / '{name}' cannot be changed", param=name)
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            user = session.get(User, user_id)
            if user is None:
                raise NotFound("利用者が見つかりません / user not found", code="user_not_found")
            was_active_admin = user.is_system_admin and not user.disabled
            if "display_name" in changes:
                user.display_name = str(changes["display_name"] or user.username).strip()[:200]
            if "email" in changes:
                user.email = changes["email"] or None
            if "roles" in changes:
                user.roles = _roles(changes["roles"])
            for field, attribute in (("system_admin", "is_system_admin"), ("disabled", "disabled")):
                if field in changes:
                    if not isinstance(changes[field], bool):
                        raise InvalidRequest(f"{field} は true か false です / {field} must be true or false", param=field)
                    setattr(user, attribute, changes[field])
            if was_active_admin and (user.disabled or not user.is_system_admin):
                self._keep_a_system_admin(session, user)
            return _view(user)

    @staticmethod
    def _keep_a_system_admin(session: Session, changed: User) -> None:
        others = session.scalars(
            select(User.id).where(User.is_system_admin.is_(True), User.disabled.is_(False), User.id != changed.id)
        ).first()
        if others is None:
            raise Conflict(
                "最後のシステム管理者は外せません / the last system admin cannot be demoted or disabled",
                code="last_system_admin",
            )
