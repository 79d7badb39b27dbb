"""The arena's API (gennai.evaluation.arena), HTTP translation only:

    POST /v1/gennai/arena/battles              {"input": "...", "classification": 1}
         → 201 {"id", "classification", "answers": [{"label": "A", "text"}, {"label": "B", "text"}]}
    POST /v1/gennai/arena/battles/{id}/vote    {"winner": "a" | "b" | "tie" | "both_bad"}
         → 200 {"id", "winner", "models": {"a": "...", "b": "..."}}

A personal API key (`Authorization: Bearer gnk_…`, chat scope) as for /v1/chat/completions;
the team is the key's. Errors are OpenAI-shaped JSON. The leaderboard,
GET /v1/gennai/arena/leaderboard, is for evaluators and system administrators: it is listed
with the admin endpoints (gennai.api.admin_routes.ENDPOINTS, permission `arena.read`) so that
the generated permission tests cover it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gennai.api.errors import error_response, json_response
from gennai.api.openai_routes import authenticate, read_json
from gennai.evaluation.arena import ArenaService
from gennai.gateway.errors import GatewayError, InvalidRequest
from gennai.platform import Platform
from gennai.policy.decision import parse_declared_class

MAX_BODY = 256 * 1024
NO_STORE = {"Cache-Control": "no-store"}


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


async def create_battle(request: Request) -> Response:
    platform = _platform(request)
    try:
        principal = await authenticate(request, platform)
        body = await read_json(request, MAX_BODY)
        declared = parse_declared_class(body.get("classification"), param="classification")
        battle = await ArenaService(platform).start(principal, body.get("input"), declared)  # type: ignore[arg-type]
    except GatewayError as error:
        return error_response(error)
    return json_response({
        "id": battle.id,
        "classification": battle.effective_class,
        "answers": [{"label": answer.label, "text": answer.text} for answer in battle.answers],
    }, 201, NO_STORE)


async def vote(request: Request) -> Response:
    platform = _platform(request)
    try:
        principal = await authenticate(request, platform)
        body = await read_json(request, 4096)
        winner = body.get("winner")
        if not isinstance(winner, str):
            raise InvalidRequest("winner は必須です / winner is required", param="winner", code="missing_field")
        reveal = await ArenaService(platform).vote(principal, request.path_params["battle_id"], winner)
    except GatewayError as error:
        return error_response(error)
    return json_response({"id": reveal.id, "winner": reveal.winner, "models": {"a": reveal.model_a, "b": reveal.model_b}},
                         200, NO_STORE)


routes = [
    Route("/v1/gennai/arena/battles", create_battle, methods=["POST"]),
    Route("/v1/gennai/arena/battles/{battle_id}/vote", vote, methods=["POST"]),
]
