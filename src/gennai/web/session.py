"""Who is using the web interface: the signed-in person (browser session), their profile
and teams, and the Principal their requests to models run as.

    user = await require_user(request)          # redirects to /login when signed out
    principal = user.principal(team_id)         # a team they belong to, or their default
    await check_csrf(request, user)             # on every state-changing form or fetch
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request

from gennai.accounts.keys import Principal
from gennai.accounts.sessions import SessionInfo
from gennai.accounts.signin import UserProfile, describe_user
from gennai.gateway.errors import Forbidden
from gennai.platform import Platform
from gennai.store.tables import COMMON_TEAM_ID


class SignInRequired(Exception):
    """Raised by require_user; the web app answers with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path

    @property
    def location(self) -> str:
        return "/login?next=" + quote(self.next_path, safe="/")


@dataclass(frozen=True)
class WebUser:
    session: SessionInfo
    profile: UserProfile

    @property
    def id(self) -> str:
        return self.profile.id

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    @property
    def default_team_id(self) -> str:
        """The first team they belong to other than the common team (the common team if none)."""
        for team in self.profile.teams:
            if team.team_id != COMMON_TEAM_ID:
                return team.team_id
        return COMMON_TEAM_ID

    def team_ids(self) -> list[str]:
        return [t.team_id for t in self.profile.teams if t.team_id != COMMON_TEAM_ID]

    def is_team_admin(self, team_id: str) -> bool:
        return any(t.team_id == team_id and t.is_admin for t in self.profile.teams)

    def principal(self, team_id: str | None = None) -> Principal:
        """The identity a model call runs as: this person, in one of their teams."""
        team = team_id or self.default_team_id
        if team != COMMON_TEAM_ID and team not in self.team_ids():
            raise Forbidden("所属していないチームです / you are not a member of that team", code="forbidden")
        return Principal(
            key_id="",
            key_name="web",
            user_id=self.profile.id,
            team_id=team,
            scopes=("chat", "apps"),
            is_system_admin=self.profile.is_system_admin,
        )


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


async def current_user(request: Request) -> WebUser | None:
    platform = _platform(request)
    session = await platform.auth.session_from_request(request)
    if session is None:
        return None
    profile = await asyncio.to_thread(describe_user, platform.engine, session.user_id)
    if profile is None:
        return None
    request.state.csrf_token = session.csrf_token  # for templates: csrf_token()
    return WebUser(session, profile)


async def require_user(request: Request) -> WebUser:
    user = await current_user(request)
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path)
    return user


async def check_csrf(request: Request, user: WebUser, form_token: str | None = None) -> None:
    """A state-changing request must carry the session's token (header or form field)."""
    presented = request.headers.get("x-csrf-token") or form_token
    _platform(request).auth.check_csrf(user.session, presented)
