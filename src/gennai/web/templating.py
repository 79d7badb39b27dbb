"""Jinja2 templates for the web interface (server-rendered pages, docs/decisions/0016).

    from gennai.web.templating import render

    async def home(request):
        return render(request, "home.html", {"user": profile, "nav_active": "home"})

Templates extend "base.html", which expects `user` (a gennai.accounts.signin.UserProfile or a
dict of the same shape; None on pages for signed-out visitors) and `nav_active` (a key of
NAV_ITEMS). Helpers available in every template:

- `static_url("css/gennai.css")`: the asset's URL with a content hash for cache busting
- `csrf_token()`: the session's CSRF token from `request.state` ("" when there is none)
- `nav_items(user)`, `is_admin(user)`, `user_team(user)`: what the header shows
- `product_name`: "gennai"

Import the macros with the context so they can see `csrf_token()`:
`{% import "_macros.html" as ui with context %}`.
Autoescaping is on for every template; never mark model output or user input `|safe`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, pass_context
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import HTMLResponse

from gennai.web.static_files import asset_url

PRODUCT_NAME = "gennai"
COMMON_TEAM_ID = "00000000-0000-0000-0000-000000000000"  # gennai.store.tables.COMMON_TEAM_ID


@dataclass(frozen=True, slots=True)
class NavItem:
    key: str  # compared with `nav_active`
    label: str
    href: str
    admin_only: bool = False


# The main navigation. The page authors own the URLs: change them here when the routes exist.
NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("home", "ホーム", "/"),
    NavItem("chat", "チャット", "/chat"),
    NavItem("apps", "アプリ", "/apps"),
    NavItem("admin", "管理", "/manage", admin_only=True),
)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def is_admin(user: Any) -> bool:
    """Whether the 管理 area is for this user: a system admin, a team admin or an auditor."""
    if not user:
        return False
    if _get(user, "is_system_admin", False):
        return True
    if "auditor" in (_get(user, "roles") or ()):
        return True
    return any(_get(team, "is_admin", False) for team in (_get(user, "teams") or ()))


def user_team(user: Any) -> str | None:
    """The team named in the header: the user's first team other than the common one."""
    teams = [t for t in (_get(user, "teams") or ()) if _get(t, "team_id", _get(t, "id")) != COMMON_TEAM_ID]
    if not teams:
        return None
    return _get(teams[0], "display_name") or _get(teams[0], "name")


def nav_items(user: Any) -> list[NavItem]:
    return [item for item in NAV_ITEMS if not item.admin_only or is_admin(user)]


@pass_context
def static_url(context: Context, path: str) -> str:
    request = context.get("request")
    root_path = request.scope.get("root_path", "") if isinstance(request, Request) else ""
    return asset_url(path, root_path)


@pass_context
def csrf_token(context: Context) -> str:
    """The CSRF token of the request's session: `request.state.csrf_token`, or the
    `csrf_token` of `request.state.session`; "" when the request has neither."""
    request = context.get("request")
    if not isinstance(request, Request):
        return ""
    state = request.state
    token = getattr(state, "csrf_token", None)
    if token is None:
        token = getattr(getattr(state, "session", None), "csrf_token", None)
    return token if isinstance(token, str) else ""


def create_environment(*, auto_reload: bool = True) -> Environment:
    """A Jinja2 environment over the package's templates folder, autoescaping everything."""
    env = Environment(
        loader=PackageLoader("gennai.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=auto_reload,
    )
    env.globals.update(
        static_url=static_url,
        csrf_token=csrf_token,
        nav_items=nav_items,
        is_admin=is_admin,
        user_team=user_team,
        product_name=PRODUCT_NAME,
    )
    return env


environment = create_environment()


def render_to_string(name: str, context: Mapping[str, Any] | None = None, *, request: Request | None = None) -> str:
    """Renders a template to a string (`request` gives it csrf_token() and the root path)."""
    values = dict(context or {})
    if request is not None:
        values.setdefault("request", request)
    return environment.get_template(name).render(values)


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """An HTML response from a template. Pages show a person's own data, so by default they are
    not stored by the browser or a proxy (`Cache-Control: no-store`); pass headers to change it."""
    html = render_to_string(name, context, request=request)
    response_headers = {"Cache-Control": "no-store", **dict(headers or {})}
    return HTMLResponse(html, status_code=status_code, headers=response_headers)


def render_error(
    request: Request,
    status_code: int,
    *,
    user: Any = None,
    heading: str | None = None,
    message: str | None = None,
    reference: str | None = None,
) -> HTMLResponse:
    """The friendly error page (templates/error.html) with the given status."""
    return render(
        request,
        "error.html",
        {"user": user, "status_code": status_code, "heading": heading, "message": message, "reference": reference},
        status_code=status_code,
    )
