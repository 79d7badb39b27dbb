"""The ASGI application: HTTP translation only; the domain lives in gennai.platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gennai import __version__
from gennai.api import health, openai_routes
from gennai.api.errors import gateway_error_handler, json_response, unexpected_error_handler
from gennai.gateway.errors import GatewayError
from gennai.platform import Platform


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = {404: "not_found_error", 405: "invalid_request_error"}.get(exc.status_code, "invalid_request_error")
    return json_response(
        {"error": {"message": str(exc.detail), "type": kind, "param": None, "code": None}},
        exc.status_code,
        dict(exc.headers or {}),
    )


def create_app(platform: Platform) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await platform.start()
        try:
            yield
        finally:
            await platform.stop()

    app = FastAPI(title="gennai", version=__version__, lifespan=lifespan, docs_url="/docs", redoc_url=None)
    app.state.platform = platform
    app.router.routes.extend(health.routes)
    app.router.routes.extend(openai_routes.routes)
    app.add_exception_handler(GatewayError, gateway_error_handler)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, unexpected_error_handler)
    return app
