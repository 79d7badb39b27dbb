"""Teams (ministries, bureaus, divisions), their members and settings. No HTTP here.

Rules that hold whatever the caller:
- the common team (all-zero id) always exists, cannot be deleted or renamed, and has no
  member list: every signed-in user belongs to it;
- a team other than the common team always has at least one admin: creating one needs its
  first admin, and removing or demoting the last admin is refused (checked under a row lock
  on the team, so two admins demoting each other at once cannot both succeed).

Permissions are not checked here (see gennai.accounts.permissions); the API layer checks
them before calling.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gennai.config import TeamPolicyConfig
from gennai.gateway.errors import Conflict, InvalidRequest, NotFound
from gennai.store.tables import COMMON_TEAM_ID, ApiKey, Membership, Quota, Team, User

TEAM_NAME = re.compile(r"^[a-z0-9][a-z0-9\-]{1,62}$")
COMMON_TEAM_NAME = "common"


@dataclass(frozen=True, slots=True)
class TeamView:
    id: str
    name: str
    display_name: str
    default_class: int
    retention_days: int
    allowed_models: list[str] | None
    policy: dict[str, Any]
    created_at: datetime

    @property
    def is_common(self) -> bool:
        return self.id == COMMON_TEAM_ID

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "display_name": self.display_name,
            "default_class": self.default_class,
            "retention_days": self.retention_days,
            "allowed_models": self.allowed_models,
            "policy": self.policy,
            "common": self.is_common,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class MemberView:
    user_id: str
    username: str
    display_name: str
    is_admin: bool
    since: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "username": self.username,
            "display_name": self.display_name,
            "is_admin": self.is_admin,
            "since": self.since.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class LimitsView:
    requests_per_minute: int | None = None
    tokens_per_day: int | None = None
    tokens_per_month: int | None = None
    budget_yen_per_month: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "requests_per_minute": self.requests_per_minute,
            "tokens_per_day": self.tokens_per_day,
            "tokens_per_month": self.tokens_per_month,
            "budget_yen_per_month": self.budget_yen_per_month,
        }


def _now() -> datetime:
    return datetime.now(UTC)


def _view(team: Team) -> TeamView:
    return TeamView(
        id=team.id,
        name=team.name,
        display_name=team.display_name,
        default_class=team.default_class,
        retention_days=team.retention_days,
        allowed_models=list(team.allowed_models) if team.allowed_models is not None else None,
        policy=dict(team.policy or {}),
        created_at=team.created_at if team.created_at.tzinfo else team.created_at.replace(tzinfo=UTC),
    )


def validate_team_policy(value: Any) -> dict[str, Any]:
    """A team's policy overrides, validated; errors name the field."""
    try:
        parsed = TeamPolicyConfig.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidRequest(
            f"チームのポリシー設定が正しくありません（{where}）: {first['msg']} / invalid team policy at {where}: {first['msg']}",
            param=f"policy.{where}" if where else "policy",
        ) from None
    return parsed.model_dump(exclude_defaults=True, mode="json")


def _check_class(value: Any, param: str) -> int:
    if value not in (1, 2, 3) or isinstance(value, bool):
        raise InvalidRequest(f"{param} は 1、2、3 のいずれかです / {param} must be 1, 2 or 3", param=param)
    return int(value)


def _check_retention(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
        raise InvalidRequest(
            "保存期間は 1〜3650 日です / retention_days must be between 1 and 3650", param="retention_days"
        )
    return value


class Teams:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- teams ----------------------------------------------------------------------------
    def list(self, team_ids: Iterable[str] | None = None) -> list[TeamView]:
        with Session(self.engine) as session:
            query = select(Team).order_by(Team.name)
            if team_ids is not None:
                query = query.where(Team.id.in_(list(team_ids)))
            return [_view(team) for team in session.scalars(query)]

    def get(self, team_id: str) -> TeamView:
        with Session(self.engine) as session:
            team = session.get(Team, team_id)
            if team is None:
                raise NotFound("チームが見つかりません / team not found", code="team_not_found")
            return _view(team)

    def find(self, id_or_name: str) -> TeamView:
        """A team by id or by name (for the CLI)."""
        with Session(self.engine) as session:
            team = session.get(Team, id_or_name) or session.scalars(select(Team).where(Team.name == id_or_name)).first()
            if team is None:
                raise NotFound(f"チーム '{id_or_name}' が見つかりません / team '{id_or_name}' not found", code="team_not_found")
            return _view(team)

    def create(
        self,
        name: str,
        display_name: str,
        *,
        admin_user_id: str,
        default_class: int = 1,
        retention_days: int = 365,
    ) -> TeamView:
        if not isinstance(name, str) or not TEAM_NAME.match(name):
            raise InvalidRequest(
                "チーム名は英小文字・数字・ハイフンの 2〜63 文字です（例: digital-agency） / "
                "a team name is 2-63 lowercase letters, digits or hyphens (e.g. digital-agency)",
                param="name",
            )
        display_name = (display_name or "").strip()
        if not display_name or len(display_name) > 200:
            raise InvalidRequest("表示名は 1〜200 文字です / display_name must be 1-200 characters", param="display_name")
        default_class = _check_class(default_class, "default_class")
        retention_days = _check_retention(retention_days)
        now = _now()
        team = Team(
            id=str(uuid.uuid4()),
            name=name,
            display_name=display_name,
            default_class=default_class,
            retention_days=retention_days,
            allowed_models=None,
            policy={},
            created_at=now,
        )
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                if session.get(User, admin_user_id) is None:
                    raise NotFound("管理者にする利用者が見つかりません / the admin user does not exist", param="admin")
                session.add(team)
                session.flush()
                session.add(Membership(team_id=team.id, user_id=admin_user_id, is_admin=True, created_at=now))
        except IntegrityError:
            raise Conflict(f"チーム名 '{name}' はすでに使われています / the team name '{name}' is taken", param="name") from None
        return _view(team)

    def update(self, team_id: str, changes: dict[str, Any]) -> TeamView:
        """Change display_name, default_class, retention_days and/or policy."""
        allowed = {"display_name", "default_class", "retention_days", "policy"}
        unknown = set(changes) - allowed
        if unknown:
            name = sorted(unknown)[0]
            raise InvalidRequest(f"'{name}' は変更できません / '{name}' cannot be changed here", param=name)
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            team = self._locked(session, team_id)
            if "display_name" in changes:
                value = str(changes["display_name"] or "").strip()
                if not value or len(value) > 200:
                    raise InvalidRequest("表示名は 1〜200 文字です / display_name must be 1-200 characters", param="display_name")
                team.display_name = value
            if "default_class" in changes:
                team.default_class = _check_class(changes["default_class"], "default_class")
            if "retention_days" in changes:
                team.retention_days = _check_retention(changes["retention_days"])
            if "policy" in changes:
                team.policy = validate_team_policy(changes["policy"] or {})
            return _view(team)

    def set_allowed_models(self, team_id: str, models: list[str] | None, known: Iterable[str]) -> TeamView:
        if models is not None:
            if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
                raise InvalidRequest("models はモデル ID の配列か null です / models must be a list of model ids or null", param="models")
            missing = sorted(set(models) - set(known))
            if missing:
                raise InvalidRequest(
                    f"存在しないモデル: {', '.join(missing)} / unknown models: {', '.join(missing)}", param="models"
                )
            models = sorted(set(models))
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            team = self._locked(session, team_id)
            team.allowed_models = models
            return _view(team)

    def delete(self, team_id: str) -> None:
        if team_id == COMMON_TEAM_ID:
            raise Conflict("共通チームは削除できません / the common team cannot be deleted", code="common_team")
        with Session(self.engine) as session, session.begin():
            team = self._locked(session, team_id)
            session.execute(delete(Membership).where(Membership.team_id == team_id))
            session.execute(delete(Quota).where(Quota.scope == "team", Quota.subject_id == team_id))
            # The team's keys stop working with it.
            for key in session.scalars(select(ApiKey).where(ApiKey.team_id == team_id, ApiKey.revoked_at.is_(None))):
                key.revoked_at = _now()
            session.delete(team)

    # -- members --------------------------------------------------------------------------
    def members(self, team_id: str) -> list[MemberView]:
        self.get(team_id)
        with Session(self.engine) as session:
            rows = session.execute(
                select(Membership, User).join(User, User.id == Membership.user_id)
                .where(Membership.team_id == team_id).order_by(User.username)
            ).all()
            return [
                MemberView(u.id, u.username, u.display_name, m.is_admin, m.created_at if m.created_at.tzinfo else m.created_at.replace(tzinfo=UTC))
                for m, u in rows
            ]

    def add_member(self, team_id: str, user_id: str, *, is_admin: bool = False) -> MemberView:
        if team_id == COMMON_TEAM_ID:
            raise Conflict("共通チームには全員が所属しています / every user belongs to the common team", code="common_team")
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            self._locked(session, team_id)
            user = session.get(User, user_id)
            if user is None:
                raise NotFound("利用者が見つかりません / user not found", code="user_not_found")
            if session.get(Membership, (team_id, user_id)) is not None:
                raise Conflict(f"{user.username} はすでにメンバーです / {user.username} is already a member", code="already_member")
            member = Membership(team_id=team_id, user_id=user_id, is_admin=bool(is_admin), created_at=_now())
            session.add(member)
            return MemberView(user.id, user.username, user.display_name, member.is_admin, member.created_at)

    def set_admin(self, team_id: str, user_id: str, is_admin: bool) -> MemberView:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            self._locked(session, team_id)
            member, user = self._member(session, team_id, user_id)
            if member.is_admin and not is_admin:
                self._keep_an_admin(session, team_id)
            member.is_admin = bool(is_admin)
            return MemberView(user.id, user.username, user.display_name, member.is_admin, member.created_at)

    def remove_member(self, team_id: str, user_id: str) -> None:
        with Session(self.engine) as session, session.begin():
            self._locked(session, team_id)
            member, _user = self._member(session, team_id, user_id)
            if member.is_admin:
                self._keep_an_admin(session, team_id)
            session.delete(member)

    def memberships(self, user_id: str) -> dict[str, bool]:
        """{team id: is admin} for a user (the common team is implicit, not listed)."""
        with Session(self.engine) as session:
            rows = session.execute(select(Membership.team_id, Membership.is_admin).where(Membership.user_id == user_id))
            return {team_id: bool(admin) for team_id, admin in rows}

    # -- quotas ---------------------------------------------------------------------------
    def limits(self, scope: str, subject_id: str) -> LimitsView:
        with Session(self.engine) as session:
            row = session.get(Quota, (scope, subject_id))
            if row is None:
                return LimitsView()
            return LimitsView(row.requests_per_minute, row.tokens_per_day, row.tokens_per_month, row.budget_yen_per_month)

    def set_limits(self, scope: str, subject_id: str, values: dict[str, Any]) -> LimitsView:
        fields = {"requests_per_minute": int, "tokens_per_day": int, "tokens_per_month": int, "budget_yen_per_month": float}
        unknown = set(values) - set(fields)
        if unknown:
            name = sorted(unknown)[0]
            raise InvalidRequest(f"'{name}' という上限はありません / unknown limit '{name}'", param=name)
        clean: dict[str, Any] = {}
        for name, kind in fields.items():
            value = values.get(name)
            if value is None:
                clean[name] = None
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (kind is int and value != int(value)):
                raise InvalidRequest(f"{name} は 0 以上の数か null です / {name} must be a number ≥ 0 or null", param=name)
            clean[name] = kind(value)
        with Session(self.engine) as session, session.begin():
            if scope == "team":
                self._locked(session, subject_id)
            elif session.get(User, subject_id) is None:
                raise NotFound("利用者が見つかりません / user not found", code="user_not_found")
            row = session.get(Quota, (scope, subject_id))
            if row is None:
                row = Quota(scope=scope, subject_id=subject_id, updated_at=_now())
                session.add(row)
            for name, value in clean.items():
                setattr(row, name, value)
            row.updated_at = _now()
        return LimitsView(**clean)

    # -- internals ------------------------------------------------------------------------
    @staticmethod
    def _locked(session: Session, team_id: str) -> Team:
        team = session.scalars(select(Team).where(Team.id == team_id).with_for_update()).first()
        if team is None:
            raise NotFound("チームが見つかりません / team not found", code="team_not_found")
        return team

    @staticmethod
    def _member(session: Session, team_id: str, user_id: str) -> tuple[Membership, User]:
        member = session.get(Membership, (team_id, user_id))
        user = session.get(User, user_id)
        if member is None or user is None:
            raise NotFound("このチームのメンバーではありません / not a member of this team", code="member_not_found")
        return member, user

    @staticmethod
    def _keep_an_admin(session: Session, team_id: str) -> None:
        admins = session.scalar(
            select(func.count()).select_from(Membership).where(Membership.team_id == team_id, Membership.is_admin.is_(True))
        )
        if (admins or 0) <= 1:
            raise Conflict(
                "チームの最後の管理者は外せません。先に別の管理者を指名してください / "
                "the team's last admin cannot be removed or demoted: make someone else an admin first",
                code="last_admin",
            )
