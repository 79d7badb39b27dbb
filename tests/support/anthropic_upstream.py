"""An Anthropic Messages API upstream on loopback, speaking the real wire protocol (JSON and
SSE with the real event sequence), with failures on demand. It checks the API key (sent as
`x-api-key`, or as `Authorization: Bearer` as the anthropic SDK 2.x does) and the
`anthropic-version` header, and validates requests the way the real API does where it
matters to gennai (required fields, no unknown top-level fields, alternating roles,
tool_result blocks answering the previous turn's tool_use blocks). The requested model
name picks the behaviour:

- `ok`: answers "Hello from Claude" (streamed in 4 text deltas); usage 12 in + 3 cache
  read, 5 out;
- `echo`: answers with the JSON request body it received;
- `tool-call`: a text block then one tool_use block per requested tool (at most 2), with
  the input JSON streamed in fragments; stop_reason tool_use;
- `length`: answers "Hello" with stop_reason max_tokens;
- `fail-500`, `overloaded-529`, `rate-429` (retry-after: 7), `bad-400`: that HTTP error
  with Anthropic's error body;
- `flaky`: fails with 529 on odd-numbered requests, answers like `ok` on even ones;
- `slow`: waits 5 s before answering;
- `drip`: streams 80 text deltas, 0.1 s apart (to observe cancellation);
- `midstream`: streams two text deltas, then drops the connection;
- `midstream-error`: streams two text deltas, then an `event: error` (overloaded_error).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from tests.support.servers import serve_aiohttp

API_KEY = "sk-ant-test-key"
ANTHROPIC_VERSION = "2023-06-01"
OK_TEXT = "Hello from Claude"
USAGE = {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 3, "output_tokens": 5}

_KNOWN_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "system", "stop_sequences", "stream", "temperature", "top_p", "top_k",
        "tools", "tool_choice", "metadata", "thinking", "service_tier", "container", "output_config",
    }
)
_ERRORS = {
    "fail-500": (500, "api_error", "Internal server error"),
    "overloaded-529": (529, "overloaded_error", "Overloaded"),
    "rate-429": (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
    "bad-400": (400, "invalid_request_error", "scripted: prompt is too long"),
}


class AnthropicUpstream:
    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.counts: Counter[str] = Counter()
        self.cancelled = 0
        self.runner: web.AppRunner | None = None

    async def start(self, port: int) -> AnthropicUpstream:
        app = web.Application()
        app.router.add_post("/v1/messages", self.messages)
        app.router.add_get("/v1/models", self.models)
        self.runner = await serve_aiohttp(app, port)
        return self

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def last_request(self, model: str) -> dict[str, Any]:
        return next(body for body in reversed(self.requests) if body.get("model") == model)

    # -- endpoints ---------------------------------------------------------------------

    async def models(self, request: web.Request) -> web.Response:
        rejected = self._check_headers(request)
        if rejected is not None:
            return rejected
        model = {"type": "model", "id": "claude-test", "display_name": "Claude Test", "created_at": "2025-01-01T00:00:00Z"}
        return web.json_response({"data": [model], "has_more": False, "first_id": "claude-test", "last_id": "claude-test"})

    async def messages(self, request: web.Request) -> web.StreamResponse:
        rejected = self._check_headers(request)
        if rejected is not None:
            return rejected
        try:
            body = await request.json(loads=orjson.loads)
        except orjson.JSONDecodeError:
            return error_response(400, "invalid_request_error", "request body is not valid JSON")
        self.requests.append(body)
        self.headers.append({name.lower(): value for name, value in request.headers.items()})
        problem = validate_request(body)
        if problem is not None:
            return error_response(400, "invalid_request_error", problem)
        name = str(body["model"])
        self.counts[name] += 1
        if name == "flaky":
            name = "overloaded-529" if self.counts["flaky"] % 2 == 1 else "ok"
        if name in _ERRORS:
            status, error_type, message = _ERRORS[name]
            headers = {"retry-after": "7"} if status == 429 else None
            return error_response(status, error_type, message, headers)
        if name == "slow":
            await asyncio.sleep(5)
        blocks, stop_reason = _answer(name, body)
        if not body.get("stream"):
            return web.json_response(_message(body["model"], blocks, stop_reason, USAGE))
        return await self._stream(request, body, name, blocks, stop_reason)

    # -- helpers -----------------------------------------------------------------------

    def _check_headers(self, request: web.Request) -> web.Response | None:
        if presented_key(request.headers) != self.api_key:
            return error_response(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return error_response(400, "invalid_request_error", "anthropic-version: header is required")
        return None

    async def _stream(
        self, request: web.Request, body: dict[str, Any], name: str, blocks: list[dict[str, Any]], stop_reason: str
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        start_usage = {**USAGE, "output_tokens": 1}
        try:
            await response.write(sse("message_start", {"type": "message_start", "message": _message(body["model"], [], None, start_usage)}))
            await response.write(sse("ping", {"type": "ping"}))
            for index, block in enumerate(blocks):
                if block["type"] == "text":
                    start = {"type": "text", "text": ""}
                    pieces = split(block["text"], 80 if name == "drip" else 4)
                    deltas = [{"type": "text_delta", "text": piece} for piece in pieces]
                else:
                    start = {**block, "input": {}}
                    pieces = split(orjson.dumps(block["input"]).decode(), 3)
                    deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]
                await response.write(sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": start}))
                for number, delta in enumerate(deltas):
                    await response.write(sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
                    if name == "drip":
                        await asyncio.sleep(0.1)
                    if name in ("midstream", "midstream-error") and number == 1:
                        if name == "midstream-error":
                            error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
                            await response.write(sse("error", error))
                            return response
                        assert request.transport is not None
                        request.transport.close()
                        return response
                await response.write(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
            delta_event = {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": USAGE["output_tokens"]},
            }
            await response.write(sse("message_delta", delta_event))
            await response.write(sse("message_stop", {"type": "message_stop"}))
        except (ConnectionResetError, asyncio.CancelledError):
            self.cancelled += 1
            raise
        return response


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The API key as the real API takes it: `x-api-key`, or `Authorization: Bearer` (which
    is what anthropic SDK 2.x sends)."""
    key = headers.get("x-api-key")
    if key:
        return key
    authorization = headers.get("authorization") or ""
    return authorization[7:] if authorization.lower().startswith("bearer ") else None


def validate_request(body: Any) -> str | None:
    """What the real API would reject (400), or None."""
    if not isinstance(body, dict):
        return "body must be an object"
    unknown = sorted(set(body) - _KNOWN_FIELDS)
    if unknown:
        return f"{unknown[0]}: Extra inputs are not permitted"
    for field in ("model", "messages", "max_tokens"):
        if field not in body:
            return f"{field}: Field required"
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        return "max_tokens: must be a positive integer"
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    previous_role = None
    previous_tool_ids: set[str] = set()
    for index, message in enumerate(messages):
        role = message.get("role")
        if role not in ("user", "assistant"):
            return f"messages.{index}.role: Input should be 'user' or 'assistant'"
        if role == previous_role:
            return f"messages.{index}: roles must alternate between 'user' and 'assistant'"
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not content:
            return f"messages.{index}: all messages must have non-empty content"
        tool_ids = set()
        for block in content:
            if block.get("type") == "text" and not block.get("text"):
                return f"messages.{index}: text content blocks must be non-empty"
            if block.get("type") == "tool_use":
                if not isinstance(block.get("input"), dict):
                    return f"messages.{index}: tool_use.input must be an object"
                tool_ids.add(block.get("id"))
            if block.get("type") == "tool_result" and block.get("tool_use_id") not in previous_tool_ids:
                return f"messages.{index}: unexpected tool_use_id found in tool_result blocks"
        previous_role, previous_tool_ids = role, tool_ids
    if body.get("temperature") is not None and not 0 <= body["temperature"] <= 1:
        return "temperature: must be between 0 and 1"
    for tool in body.get("tools") or []:
        if "input_schema" not in tool or "name" not in tool:
            return "tools: each tool needs name and input_schema"
    return None


def _answer(name: str, body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    if name == "echo":
        return [{"type": "text", "text": orjson.dumps(body).decode()}], "end_turn"
    if name == "length":
        return [{"type": "text", "text": "Hello"}], "max_tokens"
    if name == "tool-call":
        blocks: list[dict[str, Any]] = [{"type": "text", "text": "Let me check."}]
        for index, tool in enumerate((body.get("tools") or [])[:2]):
            blocks.append({"type": "tool_use", "id": f"toolu_0{index}", "name": tool["name"], "input": {"city": "東京", "n": index}})
        return blocks, "tool_use"
    if name == "drip":
        return [{"type": "text", "text": "x" * 80}], "end_turn"
    return [{"type": "text", "text": OK_TEXT}], "end_turn"


def _message(model: str, content: list[dict[str, Any]], stop_reason: str | None, usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": "msg_01TestUpstream",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def error_response(status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": "req_test"}
    return web.json_response(body, status=status, headers=headers)


def sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def split(text: str, parts: int) -> list[str]:
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)]
