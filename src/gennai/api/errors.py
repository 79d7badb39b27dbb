"""Domain errors → OpenAI-shaped JSON answers. Never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from gennai.gateway.errors import GatewayError, InvalidRequest

log = logging.getLogger("gennai.api")


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json", headers=headers)


def error_response(error: GatewayError) -> Response:
    headers = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(max(1, int(round(error.retry_after))))
    return json_response(error.to_payload(), error.status, headers)


_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict", "none"})


def validation_error(exc: ValidationError) -> InvalidRequest:
    """Name the first offending field the way OpenAI does ("messages[0].role")."""
    first = exc.errors()[0]
    param = ""
    for part in first["loc"]:
        if isinstance(part, int):
            param += f"[{part}]"
        elif part in _TYPE_TAGS or any(c in part for c in "[]-,"):
            continue  # pydantic's union-member tags, not field names
        else:
            param += ("." if param else "") + str(part)
    message = first["msg"]
    if first["type"] == "missing":
        message = f"'{param}' is required"
    elif first["type"] == "extra_forbidden":
        message = f"'{param}' is not allowed"
    else:
        message = f"Invalid value for '{param}': {message}"
    return InvalidRequest(message, param=param or None, code="invalid_value")


async def gateway_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return error_response(exc)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return json_response(
        {"error": {"message": "内部エラーが発生しました / Internal error", "type": "server_error", "param": None, "code": None}},
        500,
    )
