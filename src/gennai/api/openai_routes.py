"""The OpenAI-compatible API: /v1/models, /v1/chat/completions, /v1/embeddings.

Plain Starlette endpoints (no dependency injection) because this is the hot path. Each
handler: authenticate, read and validate the body, ask the policy, hand the allowed models
to the dispatcher, answer, and leave exactly one usage record whatever happened.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
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
from gennai.gateway.dispatch import Chunk, Outcome
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
from gennai.accounts.quotas import Reservation
from gennai.platform import Platform
from gennai.policy.decision import Decision, PolicyRequest, TeamPolicy, parse_declared_class
from gennai.store.tables import COMMON_TEAM_ID
from gennai.policy.content import RequestContent, chat_content, embeddings_content
from gennai.policy.pseudonymise import ChunkRestorer, PlaceholderTable, pseudonymise_request, restore_completion
from gennai.records.usage import UsageEntry, now_utc

_DONE = b"data: [DONE]\n\n"
# Request ids: a random per-process prefix and a counter (unique, and cheaper than uuid4).
_ID_PREFIX = os.urandom(6).hex()
_ID_COUNTER = itertools.count(1)
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


class _Call:
    """Bookkeeping for one request: timing, outcome and its one usage record."""

    __slots__ = (
        "platform",
        "principal",
        "endpoint",
        "streamed",
        "started",
        "request_id",
        "outcome",
        "recorded",
        "decision",
        "placeholders",
        "reservation",
    )

    def __init__(self, platform: Platform, endpoint: str, streamed: bool = False) -> None:
        self.platform = platform
        self.principal: Principal | None = None
        self.endpoint = endpoint
        self.streamed = streamed
        self.started = time.perf_counter()
        self.request_id = f"{_ID_PREFIX}{next(_ID_COUNTER):010x}"
        self.outcome = Outcome()
        self.recorded = False
        self.decision: Decision | None = None
        self.placeholders: PlaceholderTable | None = None
        self.reservation: Reservation | None = None

    def record(self, status: str, http_status: int, error: GatewayError | None = None, detail: str | None = None) -> None:
        if self.recorded:
            return
        self.recorded = True
        outcome = self.outcome
        model = outcome.model
        now = time.perf_counter()
        cost = 0.0
        if model is not None:
            cost = (outcome.tokens_in * model.config.price_in + outcome.tokens_out * model.config.price_out) / 1_000_000
        principal = self.principal
        if self.reservation is not None:
            self.platform.settle_soon(self.reservation, outcome.tokens_in + outcome.tokens_out, cost)
        policy = self._policy_fields(error)
        self.platform.usage.add(
            UsageEntry(
                request_id=self.request_id,
                created_at=now_utc(),
                endpoint=self.endpoint,
                status=status,
                http_status=http_status,
                api_key_id=principal.key_id if principal else None,
                user_id=principal.user_id if principal else None,
                team_id=(principal.team_id or COMMON_TEAM_ID) if principal else None,
                model_id=model.id if model else None,
                provider=model.config.provider if model else None,
                streamed=self.streamed,
                error_type=(error.code or error.error_type) if error else None,
                tokens_in=outcome.tokens_in,
                tokens_out=outcome.tokens_out,
                latency_ms=(now - self.started) * 1000,
                ttft_ms=((outcome.first_byte_at - self.started) * 1000) if outcome.first_byte_at else None,
                cost_yen=cost,
                attempts=max(1, len(outcome.attempts)),
                detail=detail or (error.message[:500] if error else None),
                **policy,
            )
        )
        action = policy.get("policy_action")
        if action in ("blocked", "rerouted", "pseudonymised"):
            self.platform.audit_soon(
                f"policy.{action}",
                outcome="denied" if action == "blocked" else "ok",
                actor_user_id=principal.user_id if principal else None,
                actor_key_id=principal.key_id if principal else None,
                team_id=(principal.team_id or COMMON_TEAM_ID) if principal else None,
                target_type="request",
                target_id=self.request_id,
                detail={k: policy.get(k) for k in ("effective_class", "policy_rule", "findings") if policy.get(k) is not None}
                | ({"model": model.id} if model is not None else {}),
            )

    def _policy_fields(self, error: GatewayError | None) -> dict[str, Any]:
        """What the policy decided (or why it blocked), without any of the values found."""
        decision = self.decision
        if decision is not None:
            return {
                "effective_class": decision.effective_class,
                "policy_action": decision.action,
                "policy_rule": decision.rule,
                "findings": decision.findings or None,
            }
        blocked = getattr(error, "policy", None)
        if blocked:
            return {"policy_action": "blocked", **blocked}
        return {}

    def headers(self) -> dict[str, str]:
        headers = {"x-request-id": self.request_id}
        if self.outcome.model is not None:
            headers["x-gennai-model"] = self.outcome.model.id
        if self.decision is not None:
            headers["x-gennai-classification"] = str(self.decision.effective_class)
            headers["x-gennai-policy"] = self.decision.header()
        return headers


Work = Callable[[_Call, Any, dict[str, Any], Decision, DisconnectWatch], Awaitable[dict[str, Any] | EventStreamResponse]]
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
    call = _Call(platform, endpoint)
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
        team_policy = await _team_policy(platform, call.principal.team_id)
        policy_request = PolicyRequest(
            model=parsed.model,
            texts=content.texts,
            declared_class=declared,
            capabilities=content.capabilities,
            task=options.task,
            app=options.app,
            attachment_classes=content.attachment_classes,
            team=team_policy.name if team_policy is not None else None,
            team_policy=team_policy,
        )
        decision = await platform.admit(
            policy_request,
            owner=call.principal.user_id or call.principal.key_id,
            conversation_id=options.conversation_id,
        )
        call.decision = decision
        call.reservation = await _reserve(platform, call.principal, decision, parsed, content)
        if decision.action == "pseudonymised":
            detect = platform.policy.detector_for(policy_request)
            call.placeholders = pseudonymise_request(data, detect, decision.effective_class)
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


async def _reserve(
    platform: Platform, principal: Principal, decision: Decision, parsed: Any, content: RequestContent
) -> Reservation | None:
    """Count the request against the user's and the team's limits before any model sees it
    (429 or 503 otherwise); settled with the real usage when the call ends."""
    subjects = await platform.quotas.subjects(principal.user_id, principal.team_id or COMMON_TEAM_ID)
    if not any(subject.limits.any for subject in subjects):
        return None
    chars = sum(map(len, content.texts))
    tokens_in = chars // 2 + 1  # generous for Japanese; settled with the real count
    tokens_out = 0 if "embeddings" in content.capabilities else (
        getattr(parsed, "max_completion_tokens", None) or getattr(parsed, "max_tokens", None) or 1024
    )
    model = platform.registry.get(decision.candidates[0])
    cost = 0.0
    if model is not None:
        cost = (tokens_in * model.config.price_in + tokens_out * model.config.price_out) / 1_000_000
    return await platform.quotas.reserve(subjects, tokens_in + tokens_out, cost)


async def _team_policy(platform: Platform, team_id: str | None) -> TeamPolicy | None:
    hit, policy = platform.team_policies.cached(team_id)
    if not hit:
        policy = await asyncio.to_thread(platform.team_policies.get, team_id)
    return policy


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
    call: _Call, parsed: ChatCompletionRequest, data: dict[str, Any], decision: Decision, watch: DisconnectWatch
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
    call: _Call, _parsed: EmbeddingRequest, data: dict[str, Any], decision: Decision, _watch: DisconnectWatch
) -> dict[str, Any]:
    return await call.platform.dispatcher.embeddings(decision, data, call.outcome)


async def chat_completions(request: Request) -> Response:
    return await _serve(request, "chat.completions", ChatCompletionRequest, _chat_needs, _chat)


async def embeddings(request: Request) -> Response:
    return await _serve(request, "embeddings", EmbeddingRequest, _embed_needs, _embed)


async def _sse(call: _Call, chunks: AsyncIterator[Chunk], include_usage: bool) -> AsyncIterator[bytes]:
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
    team = await _team_policy(platform, principal.team_id)
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
