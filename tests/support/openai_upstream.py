"""An OpenAI-compatible upstream on loopback, speaking the real wire protocol (JSON and SSE),
with failures on demand. The upstream model name picks the behaviour:

- `ok`: answers "Hello from upstream" (streams it in 4 chunks; usage when asked);
- `echo`: answers with the JSON request body it received (to check passthrough);
- `fail-500`, `fail-503`, `rate-429`, `bad-400`, `auth-401`: that HTTP error;
- `flaky`: fails with 500 on odd-numbered requests, answers `ok` on even ones;
- `slow`: waits 5 s before answering; `stall`: streams one chunk then stalls 5 s;
- `midstream`: streams two chunks, then drops the connection;
- `midstream-error`: streams two chunks, then an SSE error event.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import orjson
from aiohttp import web

from tests.support.servers import serve_aiohttp


class OpenAIUpstream:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self.cancelled = 0
        self.runner: web.AppRunner | None = None

    async def start(self, port: int) -> OpenAIUpstream:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/embeddings", self.embeddings)
        app.router.add_get("/v1/models", self.models)
        self.runner = await serve_aiohttp(app, port)
        return self

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _idle_unless_disconnected(self, request: web.Request, seconds: float) -> bool:
        """Wait; False (and count a cancellation) as soon as the client closes the connection."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            transport = request.transport
            if transport is None or transport.is_closing():
                self.cancelled += 1
                return False
            await asyncio.sleep(0.02)
        return True

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "ok", "object": "model"}]})

    async def embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return web.json_response(
            {
                "object": "list",
                "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, float(len(t))]} for i, t in enumerate(inputs)],
                "model": body["model"],
                "usage": {"prompt_tokens": len(inputs) * 3, "total_tokens": len(inputs) * 3},
            }
        )

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        name = body.get("model", "")
        self.counts[name] += 1
        if name == "flaky":
            name = "fail-500" if self.counts["flaky"] % 2 == 1 else "ok"
        errors = {"fail-500": 500, "fail-503": 503, "rate-429": 429, "bad-400": 400, "auth-401": 401}
        if name in errors:
            status = errors[name]
            headers = {"Retry-After": "7"} if status == 429 else None
            return web.json_response(
                {"error": {"message": f"scripted {status}", "type": "test", "code": None}}, status=status, headers=headers
            )
        if name == "slow" and not await self._idle_unless_disconnected(request, 5):
            return web.Response(status=499)
        text = orjson.dumps(body).decode() if name == "echo" else "Hello from upstream"
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": "chatcmpl-up",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15},
                    "system_fingerprint": "upstream-extra-field",
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        pieces = [text[i : i + max(1, len(text) // 4)] for i in range(0, len(text), max(1, len(text) // 4))]
        try:
            for index, piece in enumerate(pieces):
                delta = {"role": "assistant", "content": piece} if index == 0 else {"content": piece}
                await response.write(_sse(_chunk(body["model"], delta)))
                if name == "stall" and not await self._idle_unless_disconnected(request, 5):
                    return response
                if name in ("midstream", "midstream-error") and index == 1:
                    if name == "midstream-error":
                        await response.write(_sse({"error": {"message": "scripted failure", "type": "server_error"}}))
                        return response
                    request.transport.close()  # type: ignore[union-attr]
                    return response
            await response.write(_sse(_chunk(body["model"], {}, "stop")))
            if (body.get("stream_options") or {}).get("include_usage"):
                await response.write(
                    _sse(
                        {
                            "id": "chatcmpl-up",
                            "object": "chat.completion.chunk",
                            "created": int(time.time()),
                            "model": body["model"],
                            "choices": [],
                            "usage": {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15},
                        }
                    )
                )
            await response.write(b"data: [DONE]\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            self.cancelled += 1
            raise
        return response


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-up",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"
