"""The ASGI application: HTTP translation only; the domain lives in gennai.platform.

The root is a plain Starlette app so that the OpenAI-compatible hot path pays for nothing
it does not use (docs/decisions/0001). Admin and web areas are mounted sub-applications.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gennai.api import admin_routes, health, openai_routes
from gennai.api import arena_routes, auth_routes
from gennai.api.errors import gateway_error_handler, json_response, unexpected_error_handler
from gennai.gateway.errors import GatewayError
from gennai.platform import Platform
from gennai.web import routes as web_routes


_API_PREFIXES = ("/v1/", "/admin/", "/auth/", "/healthz", "/readyz", "/static/")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if "text/html" in request.headers.get("accept", "") and not request.url.path.startswith(_API_PREFIXES):
        from gennai.web.templating import render_error  # a person in a browser gets a page

        return render_error(request, exc.status_code)
    kind = {404: "not_found_error", 405: "invalid_request_error"}.get(exc.status_code, "invalid_request_error")
    return json_response(
        {"error": {"message": str(exc.detail), "type": kind, "param": None, "code": None}},
        exc.status_code,
        dict(exc.headers or {}),
    )


class GennaiApp:
    """The ASGI entry point: the OpenAI hot paths go straight to their handlers; everything
    else (health, errors, lifespan, future admin and web areas) through Starlette.

    The handlers answer every expected failure themselves (OpenAI-shaped errors), so the
    shortcut skips only Starlette's routing and middleware, not any behaviour.
    """

    def __init__(self, starlette: Starlette) -> None:
        self.starlette = starlette
        self.state = starlette.state
        self._fast = {route.path: route.endpoint for route in openai_routes.hot_routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self._fast.get(scope["path"])
            if endpoint is not None:
                scope["app"] = self.starlette
                request = Request(scope, receive)
                try:
                    response = await endpoint(request)
                except Exception as exc:  # noqa: BLE001 - never a stack trace to the client
                    response = await unexpected_error_handler(request, exc)
                await response(scope, receive, send)
                return
        await self.starlette(scope, receive, send)


def create_app(platform: Platform) -> GennaiApp:
    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await platform.start()
        # Everything loaded so far lives as long as the process: keep it out of the cyclic
        # garbage collector's full passes, which otherwise stall requests for tens of ms.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await platform.stop()

    app = Starlette(
        routes=[
            *openai_routes.routes, *health.routes, *auth_routes.routes, *admin_routes.routes, *arena_routes.routes,
            *web_routes.routes,
        ],
        lifespan=lifespan,
        exception_handlers={
            GatewayError: gateway_error_handler,
            HTTPException: _http_error,
            Exception: unexpected_error_handler,
        },
    )
    app.state.platform = platform
    return GennaiApp(app)
