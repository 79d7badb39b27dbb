"""/healthz: the process is up. /readyz: the database answers and every model is loaded."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gennai.api.errors import json_response
from gennai.platform import Platform


async def healthz(_request: Request) -> Response:
    return json_response({"status": "ok"})


async def readyz(request: Request) -> Response:
    platform: Platform = request.app.state.platform
    database = await asyncio.to_thread(platform.database_ok)
    models = {model.id: model.provider.ready for model in platform.registry}
    ready = database and all(models.values())
    body = {"status": "ready" if ready else "not_ready", "database": database, "models": models}
    return json_response(body, 200 if ready else 503)


routes = [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
