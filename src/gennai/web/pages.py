"""Pages for everyone: sign-in and the home page. Plus `page()`, the wrapper every web
page uses: signed-out visitors go to /login, domain errors become the friendly error page,
anything unexpected the logged 500 page, never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gennai.accounts.oidc import safe_next_path
from gennai.gateway.errors import GatewayError
from gennai.web.session import SignInRequired, current_user, require_user
from gennai.web.templating import render, render_error

log = logging.getLogger("gennai.web")

Page = Callable[[Request], Awaitable[Response]]

SIGN_IN_ERRORS = {
    "invalid_credentials": "ユーザー名またはパスワードが正しくありません。",
    "account_locked": "サインインの失敗が続いたため、しばらくサインインできません。時間をおいてからお試しください。",
    "account_disabled": "このアカウントは利用停止中です。所属チームの管理者にお問い合わせください。",
    "missing_field": "ユーザー名とパスワードを入力してください。",
    "invalid_next": "サインイン後に移動するページの指定が正しくありません。",
    "request_too_large": "入力が長すぎます。",
}


def page(handler: Page) -> Page:
    @wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except SignInRequired as needed:
            return RedirectResponse(needed.location, status_code=303)
        except GatewayError as error:
            user = await current_user(request)
            return render_error(request, error.status, user=user and user.profile, message=error.message.split(" / ")[0])
        except HTTPException:
            raise  # the app's handler gives its status (404 …) the friendly page
        except Exception:  # noqa: BLE001 - the friendly page, never a stack trace
            log.exception("page %s failed", request.url.path)
            user = await current_user(request)
            return render_error(request, 500, user=user and user.profile)

    return wrapped


@page
async def login_page(request: Request) -> Response:
    user = await current_user(request)
    next_path = safe_next_path(request.query_params.get("next") or "") or "/"
    if user is not None:
        return RedirectResponse(next_path, status_code=303)
    error = request.query_params.get("error")
    platform = request.app.state.platform
    return render(request, "login.html", {
        "user": None,
        "nav_active": None,
        "next": next_path,
        "error": SIGN_IN_ERRORS.get(error or "", "サインインできませんでした。もう一度お試しください。") if error else None,
        "signed_out": request.query_params.get("signed_out") == "1",
        "oidc": platform.auth.oidc is not None,
    })


@page
async def home_page(request: Request) -> Response:
    user = await require_user(request)
    platform = request.app.state.platform
    usable = platform.apps.for_teams(t.name for t in user.profile.teams)
    groups = [
        (heading, [app for app, audience in usable if audience == kind])
        for kind, heading in (("general", "汎用アプリ"), ("team", "チームのアプリ"), ("common", "共通チームのアプリ"))
    ]
    return render(request, "home.html", {
        "user": user.profile, "nav_active": "home", "apps": [app for app, _ in usable],
        "app_groups": [(heading, apps) for heading, apps in groups if apps],
    })
