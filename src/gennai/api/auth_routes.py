"""Sign-in over HTTP (/auth/...): translation only; the rules live in gennai.accounts.

- POST /auth/login          JSON {"username", "password"} or an HTML form post → session cookie
- POST /auth/logout         ends this session (CSRF token required)
- POST /auth/logout-all     ends every session of the user (CSRF token required)
- GET  /auth/me             who is signed in: user, teams, roles, the CSRF token
- GET  /auth/oidc/login     → the identity provider (?next=/local/path)
- GET  /auth/oidc/callback  ← the identity provider; sets the cookie, → next

The session cookie `gennai_session` is HttpOnly, SameSite=Lax, Path=/ and Secure (unless
auth.secure_cookies is off for a plain-http trial). A request authenticated by the cookie
that changes something must carry the session's CSRF token in `X-CSRF-Token` (or a form
field `csrf_token`). A form post to /auth/login from another site is refused (Origin /
Sec-Fetch-Site), so nobody can sign a browser into their own account behind its back.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gennai.accounts.oidc import OidcClient, OidcError, apply_identity, safe_next_path
from gennai.accounts.sessions import SessionInfo
from gennai.accounts.signin import SESSION_COOKIE, AuthServices, UserProfile, describe_user
from gennai.api.errors import error_response, json_response
from gennai.api.openai_routes import read_json
from gennai.gateway.errors import (
    Forbidden,
    GatewayError,
    InvalidRequest,
    NotFound,
    RateLimited,
    Unauthorized,
    UpstreamError,
)
from gennai.platform import Platform

STATE_COOKIE = "gennai_oidc"
STATE_COOKIE_PATH = "/auth/oidc"
MAX_LOGIN_BODY = 16 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
_NO_STORE = {"Cache-Control": "no-store"}


class AccountLocked(RateLimited):
    """429 with Retry-After: the account is locked for a while after repeated failures."""


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def _auth(request: Request) -> AuthServices:
    return _platform(request).auth


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _user_json(profile: UserProfile) -> dict[str, Any]:
    return {
        "id": profile.id,
        "username": profile.username,
        "display_name": profile.display_name,
        "email": profile.email,
        "is_system_admin": profile.is_system_admin,
        "roles": list(profile.roles),
        "teams": [
            {"id": t.team_id, "name": t.name, "display_name": t.display_name, "is_admin": t.is_admin} for t in profile.teams
        ],
        "last_sign_in_at": _iso(profile.last_sign_in_at),
    }


def _set_session_cookie(response: Response, auth: AuthServices, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(auth.config.session_hours * 3600),
        path="/",
        secure=auth.config.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def _clear_session_cookie(response: Response, auth: AuthServices) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=auth.config.secure_cookies, httponly=True, samesite="lax")


def _clear_state_cookie(response: Response, auth: AuthServices) -> None:
    response.delete_cookie(STATE_COOKIE, path=STATE_COOKIE_PATH, secure=auth.config.secure_cookies, httponly=True, samesite="lax")


def _error(error: GatewayError, auth: AuthServices | None = None, *, clear_state: bool = False) -> Response:
    response = error_response(error)
    response.headers["Cache-Control"] = "no-store"
    if clear_state and auth is not None:
        _clear_state_cookie(response, auth)
    return response


def _same_origin(request: Request) -> bool:
    """A form post comes from our own pages (Origin, or Sec-Fetch-Site where it is sent)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    # The host is what matters (a TLS-terminating proxy may hide the scheme from us).
    return urlsplit(origin).netloc.lower() == (request.headers.get("host") or "").lower()


async def _session_body(request: Request, auth: AuthServices, session: SessionInfo) -> dict[str, Any]:
    profile = await asyncio.to_thread(describe_user, auth.engine, session.user_id)
    if profile is None:
        raise Unauthorized("サインインしていません / Not signed in", code="not_signed_in")
    return {
        "user": _user_json(profile),
        "csrf_token": session.csrf_token,
        "session": {"method": session.method, "created_at": _iso(session.created_at), "expires_at": _iso(session.expires_at)},
    }


async def _require_session(request: Request, auth: AuthServices) -> SessionInfo:
    session = await auth.session_from_request(request)
    if session is None:
        raise Unauthorized(
            "サインインしていないか、セッションの有効期限が切れました / Not signed in, or the session has expired",
            code="not_signed_in",
        )
    return session


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_form(request: Request, limit: int = MAX_LOGIN_BODY) -> dict[str, str]:
    """An HTML form post (application/x-www-form-urlencoded; HTML forms need nothing else
    here), first value of each field."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise InvalidRequest("本文が大きすぎます / request body too large", code="request_too_large")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise InvalidRequest("本文が大きすぎます / request body too large", code="request_too_large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("フォームを読めません / the form could not be read", code="invalid_form") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


async def _csrf_from(request: Request) -> str | None:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    if _content_type(request) == FORM_TYPE:
        return (await read_form(request)).get("csrf_token")
    return None


# --------------------------------------------------------------------------- password


async def login(request: Request) -> Response:
    auth = _auth(request)
    is_form = _content_type(request) == FORM_TYPE
    data: dict[str, Any] = {}
    try:
        if is_form:
            if not _same_origin(request):
                raise Forbidden(
                    "他のサイトからのサインインフォームは受け付けません / Sign-in forms posted from another site are refused",
                    code="cross_site_form",
                )
            data = dict(await read_form(request))
        else:
            data = await read_json(request, MAX_LOGIN_BODY)
        username, password = data.get("username"), data.get("password")
        for name, value in (("username", username), ("password", password)):
            if not isinstance(value, str) or not value:
                raise InvalidRequest(f"'{name}' は必須です / '{name}' is required", param=name, code="missing_field")
        assert isinstance(username, str) and isinstance(password, str)  # for the type checker
        if len(username) > 200 or len(password) > 1024:
            raise Unauthorized(
                "ユーザー名またはパスワードが正しくありません / Wrong user name or password", code="invalid_credentials"
            )
        next_path = None
        if is_form and data.get("next"):
            next_path = safe_next_path(str(data["next"]))
            if next_path is None:
                raise InvalidRequest("next はこのサイト内のパスにしてください / 'next' must be a local path", param="next", code="invalid_next")

        result = await asyncio.to_thread(auth.sign_in_password, username, password, client_ip(request))
        if result.outcome == "locked":
            raise AccountLocked(result.message, code="account_locked", retry_after=result.retry_after_s(auth.clock()))
        if result.outcome == "disabled":
            raise Forbidden(result.message, code="account_disabled")
        if not result.ok or result.user_id is None:
            raise Unauthorized(result.message, code="invalid_credentials")

        old = request.cookies.get(SESSION_COOKIE)
        if old:
            await asyncio.to_thread(auth.sessions.revoke, old)
        token, _csrf = await asyncio.to_thread(auth.sessions.create, result.user_id, "password")
        session = await asyncio.to_thread(auth.sessions.verify, token)
        if session is None:  # the account was disabled at this very moment
            raise Unauthorized(result.message, code="invalid_credentials")
        body = await _session_body(request, auth, session)
    except GatewayError as error:
        if is_form and error.code != "cross_site_form":  # a browser: back to the sign-in page, which explains
            query = {"error": error.code or "invalid_credentials"}
            wanted = data.get("next")
            if isinstance(wanted, str) and safe_next_path(wanted):
                query["next"] = wanted
            return RedirectResponse("/login?" + urlencode(query), status_code=303, headers=_NO_STORE)
        return _error(error)
    response: Response
    if is_form and next_path is None:
        next_path = "/"
    if next_path is not None:
        response = RedirectResponse(next_path, status_code=303, headers=_NO_STORE)
    else:
        response = json_response(body, 200, _NO_STORE)
    _set_session_cookie(response, auth, token)
    return response


async def logout(request: Request) -> Response:
    auth = _auth(request)
    token = request.cookies.get(SESSION_COOKIE)
    session = await auth.session_from_request(request)
    try:
        if session is not None:
            auth.check_csrf(session, await _csrf_from(request))
    except GatewayError as error:
        return _error(error)
    if session is not None and token:
        await asyncio.to_thread(auth.sessions.revoke, token)
        await asyncio.to_thread(
            auth.report, "auth.sign_out", outcome="ok", user_id=session.user_id, name=session.username, ip=client_ip(request)
        )
    response: Response
    if _content_type(request) == FORM_TYPE:  # the header's sign-out button
        response = RedirectResponse("/login?signed_out=1", status_code=303, headers=_NO_STORE)
    else:
        response = json_response({"signed_out": session is not None}, 200, _NO_STORE)
    _clear_session_cookie(response, auth)
    return response


async def logout_all(request: Request) -> Response:
    auth = _auth(request)
    try:
        session = await _require_session(request, auth)
        auth.check_csrf(session, await _csrf_from(request))
    except GatewayError as error:
        return _error(error)
    revoked = await asyncio.to_thread(auth.sessions.revoke_all, session.user_id)
    await asyncio.to_thread(
        auth.report, "auth.sign_out_everywhere", outcome="ok", user_id=session.user_id, name=session.username,
        ip=client_ip(request), sessions=revoked,
    )
    response = json_response({"signed_out": True, "sessions_revoked": revoked}, 200, _NO_STORE)
    _clear_session_cookie(response, auth)
    return response


async def me(request: Request) -> Response:
    auth = _auth(request)
    try:
        session = await _require_session(request, auth)
        body = await _session_body(request, auth, session)
    except GatewayError as error:
        return _error(error)
    return json_response(body, 200, _NO_STORE)


# --------------------------------------------------------------------------- OIDC


def _oidc(auth: AuthServices) -> OidcClient:
    if auth.oidc is None:
        raise NotFound("OpenID Connect のサインインは設定されていません / OIDC sign-in is not configured", code="oidc_not_configured")
    return auth.oidc


def _oidc_error(error: OidcError) -> GatewayError:
    if error.kind == "invalid_request":
        return InvalidRequest(error.message, code=error.code)
    if error.kind == "denied":
        return Unauthorized(error.message, code=error.code)
    if error.kind == "forbidden":
        return Forbidden(error.message, code=error.code)
    return UpstreamError(error.message, code=error.code, status=502)


async def oidc_login(request: Request) -> Response:
    auth = _auth(request)
    try:
        client = _oidc(auth)
        next_path = safe_next_path(request.query_params.get("next"))
        if next_path is None:
            raise InvalidRequest("next はこのサイト内のパスにしてください / 'next' must be a local path", param="next", code="invalid_next")
        try:
            url, sealed = await client.begin(next_path)
        except OidcError as exc:
            raise _oidc_error(exc) from None
    except GatewayError as error:
        return _error(error)
    response = RedirectResponse(url, status_code=302, headers=_NO_STORE)
    response.set_cookie(
        STATE_COOKIE,
        sealed,
        max_age=600,
        path=STATE_COOKIE_PATH,
        secure=auth.config.secure_cookies,
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back to us
    )
    return response


async def oidc_callback(request: Request) -> Response:
    auth = _auth(request)
    ip = client_ip(request)
    try:
        client = _oidc(auth)
    except GatewayError as error:
        return _error(error)
    try:
        identity, next_path = await client.finish(dict(request.query_params), request.cookies.get(STATE_COOKIE))
        signed = await asyncio.to_thread(apply_identity, auth.engine, client.config, identity, auth.clock())
    except OidcError as exc:
        await asyncio.to_thread(
            auth.report, "auth.sign_in", outcome="failed", user_id=None, name=None, ip=ip, method="oidc", reason=exc.code
        )
        return _error(_oidc_error(exc), auth, clear_state=True)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await asyncio.to_thread(auth.sessions.revoke, old)
    token, _csrf = await asyncio.to_thread(auth.sessions.create, signed.user_id, "oidc")
    await asyncio.to_thread(
        auth.report, "auth.sign_in", outcome="ok", user_id=signed.user_id, name=signed.username, ip=ip,
        method="oidc", issuer=identity.issuer, created=signed.created, teams_added=list(signed.teams_added),
    )
    response = RedirectResponse(next_path, status_code=303, headers=_NO_STORE)
    _clear_state_cookie(response, auth)
    _set_session_cookie(response, auth, token)
    return response


routes = [
    Route("/auth/login", login, methods=["POST"]),
    Route("/auth/logout", logout, methods=["POST"]),
    Route("/auth/logout-all", logout_all, methods=["POST"]),
    Route("/auth/me", me, methods=["GET"]),
    Route("/auth/oidc/login", oidc_login, methods=["GET"]),
    Route("/auth/oidc/callback", oidc_callback, methods=["GET"]),
]
