"""An OpenAI-compatible upstream on loopback whose answers are chosen by a function of the
upstream model name and the messages: a candidate whose answers are known in advance, for
evaluation tests and benchmarks. Streams like the real API (SSE chunks, usage at the end) and
keeps every request it received, so a test can check which model saw which text."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from tests.support.servers import serve_aiohttp

# (upstream model, messages) → the answer's text; None answers with HTTP 500 (a failing model)
Answer = Callable[[str, list[dict[str, Any]]], str | None]


class ScriptedUpstream:
    def __init__(self, answer: Answer, *, delay_s: float = 0.0) -> None:
        self.answer = answer
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.peak_in_flight: dict[str, int] = {}
        self.runner: web.AppRunner | None = None

    async def start(self, port: int) -> ScriptedUpstream:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.models)
        self.runner = await serve_aiohttp(app, port)
        return self

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": []})

    def texts_seen_by(self, model: str) -> list[str]:
        """Every message text the upstream model received."""
        return [
            str(message.get("content"))
            for body in self.requests if body.get("model") == model
            for message in body.get("messages", [])
        ]

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        model = body.get("model", "")
        self.in_flight += 1
        self.peak_in_flight[model] = max(self.peak_in_flight.get(model, 0), self.in_flight)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            text = self.answer(model, body.get("messages", []))
        finally:
            self.in_flight -= 1
        if text is None:
            return web.json_response({"error": {"message": "scripted failure", "type": "server_error", "code": None}}, status=500)
        usage = {"prompt_tokens": 20, "completion_tokens": max(1, len(text) // 2), "total_tokens": 20 + max(1, len(text) // 2)}
        if not body.get("stream"):
            return web.json_response({
                "id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": usage,
            })
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        half = max(1, len(text) // 2)
        for index, piece in enumerate((text[:half], text[half:])):
            if piece:
                delta = {"role": "assistant", "content": piece} if index == 0 else {"content": piece}
                await response.write(_sse(_chunk(model, delta)))
        await response.write(_sse(_chunk(model, {}, "stop")))
        if (body.get("stream_options") or {}).get("include_usage"):
            await response.write(_sse({
                "id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                "choices": [], "usage": usage,
            }))
        await response.write(b"data: [DONE]\n\n")
        return response


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"
