"""The OpenAI-compatible API: /v1/models, /v1/chat/completions, /v1/embeddings.

Plain Starlette endpoints (no dependency injection) because this is the hot path. Each
handler: authenticate, read and validate the body, ask the policy, hand the allowed models
to the dispatcher, answer, and leave exactly one usage record whatever happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gennai.accounts.keys import Principal
from gennai.api.errors import error_response, json_response, validation_error
from gennai.api.schemas import ChatCompletionRequest, EmbeddingRequest, GennaiOptions
from gennai.api.streaming import DisconnectWatch, EventStreamResponse
from gennai.gateway.dispatch import Chunk
from gennai.gateway.errors import (
    Forbidden,
    GatewayError,
    InvalidRequest,
    ModelNotFound,
    PayloadTooLarge,
    Unauthorized,
    UpstreamError,
)
from gennai.gateway.providers.base import RawEvents
from gennai.gateway.calls import ModelCall, team_policy_for
from gennai.platform import Platform
from gennai.policy.content import RequestContent, chat_content, embeddings_content
from gennai.policy.decision import Decision, parse_declared_class
from gennai.policy.pseudonymise import ChunkRestorer, restore_completion

_DONE = b"data: [DONE]\n\n"
CLIENT_CLOSED = 499


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


async def authenticate(request: Request, platform: Platform) -> Principal:
    header = request.headers.get("authorization")
    if header is None or not header[:7].lower() == "bearer ":
        raise Unauthorized(
            "API キーがありません。Authorization: Bearer <key> を付けてください / Missing API key (Authorization: Bearer <key>)",
            code="missing_api_key",
        )
    key = header[7:].strip()
    hit, principal = platform.keys.cached(key)
    if not hit:
        principal = await asyncio.to_thread(platform.keys.verify, key)
    if principal is None:
        raise Unauthorized("API キーが無効です / Invalid API key", code="invalid_api_key")
    if "chat" not in principal.scopes and "admin" not in principal.scopes:
        raise Forbidden("この API キーには chat の権限がありません / This key has no chat scope", code="insufficient_scope")
    return principal


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes", code="request_too_large")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes", code="request_too_large")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"Request body is not valid JSON: {exc.msg} (position {exc.pos})", code="invalid_json") from None
    if not isinstance(data, dict):
        raise InvalidRequest("Request body must be a JSON object", code="invalid_json")
    return data


Work = Callable[[ModelCall, Any, dict[str, Any], Decision, DisconnectWatch], Awaitable[dict[str, Any] | EventStreamResponse]]
Needs = Callable[[Any, dict[str, Any], Platform], Awaitable[RequestContent]]


async def _serve(
    request: Request,
    endpoint: str,
    schema: type[ChatCompletionRequest] | type[EmbeddingRequest],
    needs: Needs,
    work: Work,
) -> Response:
    """The common life of an API call: authenticate, read, validate, ask the policy, run
    `work` with the admitted models, and leave exactly one usage record whatever happens.

    `needs(parsed, data, platform)` reads what the request would send: the capabilities it
    needs, every text, its attachments.
    """
    platform = _platform(request)
    call = ModelCall(platform, endpoint)
    watch: DisconnectWatch | None = None
    try:
        call.principal = await authenticate(request, platform)
        data = await read_json(request, platform.loaded.config.server.max_body_bytes)
        options = _options(data.pop("gennai", None))  # gennai's own fields never reach a model
        try:
            parsed = schema.model_validate(data)
        except ValidationError as exc:
            raise validation_error(exc) from None
        call.streamed = bool(getattr(parsed, "stream", False))
        content = await needs(parsed, data, platform)
        declared = max(
            parse_declared_class(request.headers.get("x-gennai-classification")),
            parse_declared_class(options.classification, param="gennai.classification"),
        )
        decision = await call.admit(
            data,
            content,
            model=parsed.model,
            declared_class=declared,
            task=options.task,
            app=options.app,
            conversation_id=options.conversation_id,
            max_output_tokens=getattr(parsed, "max_completion_tokens", None) or getattr(parsed, "max_tokens", None),
        )
        watch = DisconnectWatch(request.receive)
        result = await work(call, parsed, data, decision, watch)
        if isinstance(result, EventStreamResponse):
            watch = None  # the streaming response owns it now and records the outcome
            return result  # type: ignore[return-value]
    except asyncio.CancelledError:
        if watch is None or not watch.absorb():
            call.record("error", 500, detail="cancelled")
            raise
        call.record("client_disconnected", CLIENT_CLOSED)
        return Response(status_code=CLIENT_CLOSED)
    except GatewayError as error:
        call.record("error", error.status, error)
        return error_response(error)
    except BaseException:
        call.record("error", 500, detail="internal error")
        raise
    finally:
        if watch is not None:
            watch.stop()
    call.record("ok", 200)
    return json_response(result, headers=call.headers())


def _options(value: Any) -> GennaiOptions:
    if value is None:
        return _NO_OPTIONS
    try:
        return GennaiOptions.model_validate(value)
    except ValidationError as exc:
        error = validation_error(exc)
        error.param = f"gennai.{error.param}" if error.param else "gennai"
        raise error from None


_NO_OPTIONS = GennaiOptions()


async def _chat_needs(_parsed: ChatCompletionRequest, data: dict[str, Any], platform: Platform) -> RequestContent:
    limit = platform.loaded.config.server.max_attachment_chars
    if all(type(message.get("content")) is not list for message in data["messages"]):
        return chat_content(data, max_attachment_chars=limit)
    # Content parts may hold documents to read (PDF, Word, Excel): off the event loop.
    return await asyncio.to_thread(chat_content, data, max_attachment_chars=limit)


async def _embed_needs(_parsed: EmbeddingRequest, data: dict[str, Any], _platform: Platform) -> RequestContent:
    return embeddings_content(data)


async def _chat(
    call: ModelCall, parsed: ChatCompletionRequest, data: dict[str, Any], decision: Decision, watch: DisconnectWatch
) -> dict[str, Any] | EventStreamResponse:
    dispatcher = call.platform.dispatcher
    if parsed.stream:
        include_usage = bool(parsed.stream_options and parsed.stream_options.include_usage)
        chunks = await dispatcher.stream_chat(decision, data, call.outcome)
        if call.placeholders is not None:
            chunks = _restored(chunks, ChunkRestorer(call.placeholders))
        return EventStreamResponse(_sse(call, chunks, include_usage), call.headers(), watch)
    result = await dispatcher.chat(decision, data, call.outcome)
    if call.placeholders is not None:
        restore_completion(result, call.placeholders)
    return result


async def _restored(chunks: AsyncIterator[Chunk], restorer: ChunkRestorer) -> AsyncIterator[Chunk]:
    """Chunks with placeholders turned back into values (raw batches parsed for that)."""
    async for item in chunks:
        if type(item) is RawEvents:
            for data in item.data.split(b"\n\n"):
                if data.startswith(b"data:"):
                    yield restorer.restore(orjson.loads(data[5:]))
        else:
            yield restorer.restore(item)  # type: ignore[arg-type]


async def _embed(
    call: ModelCall, _parsed: EmbeddingRequest, data: dict[str, Any], decision: Decision, _watch: DisconnectWatch
) -> dict[str, Any]:
    return await call.platform.dispatcher.embeddings(decision, data, call.outcome)


async def chat_completions(request: Request) -> Response:
    return await _serve(request, "chat.completions", ChatCompletionRequest, _chat_needs, _chat)


async def embeddings(request: Request) -> Response:
    return await _serve(request, "embeddings", EmbeddingRequest, _embed_needs, _embed)


async def _sse(call: ModelCall, chunks: AsyncIterator[Chunk], include_usage: bool) -> AsyncIterator[bytes]:
    dumps = orjson.dumps
    try:
        async for item in chunks:
            if type(item) is RawEvents:
                yield item.data
                continue
            assert isinstance(item, dict)
            if "usage" in item and not include_usage:
                if not item.get("choices"):
                    continue
                item = {k: v for k, v in item.items() if k != "usage"}
            yield b"data: " + dumps(item) + b"\n\n"
        call.record("ok", 200)
        yield _DONE
    except GatewayError as error:
        # The stream started: the status line is gone, so the error travels as an event.
        call.record("error_mid_stream", error.status, error)
        yield b"data: " + dumps(error.to_payload()) + b"\n\n"
        return
    except asyncio.CancelledError:
        call.record("client_disconnected", CLIENT_CLOSED)
        raise
    except Exception:
        call.record("error_mid_stream", 500, detail="internal error")
        yield b"data: " + dumps(UpstreamError("内部エラー / Internal error", status=500).to_payload()) + b"\n\n"
        return
    finally:
        if not call.recorded:
            # Closed early by the server (e.g. the client vanished between two chunks).
            call.record("client_disconnected", CLIENT_CLOSED)



async def list_models(request: Request) -> Response:
    platform = _platform(request)
    try:
        principal = await authenticate(request, platform)
    except GatewayError as error:
        return error_response(error)
    team = await team_policy_for(platform, principal.team_id)
    allowed = team.allowed_models if team is not None else None
    models = [m.describe() for m in platform.registry if allowed is None or m.id in allowed]
    return json_response({"object": "list", "data": models})


async def retrieve_model(request: Request) -> Response:
    platform = _platform(request)
    try:
        await authenticate(request, platform)
    except GatewayError as error:
        return error_response(error)
    model = platform.registry.get(request.path_params["model_id"])
    if model is None:
        return error_response(ModelNotFound("The model does not exist", param="model", code="model_not_found"))
    return json_response(model.describe())


hot_routes = [
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/v1/embeddings", embeddings, methods=["POST"]),
]
routes = [
    *hot_routes,
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model_id:path}", retrieve_model, methods=["GET"]),
]
