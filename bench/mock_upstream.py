"""A fast mock OpenAI upstream for the gateway benchmark (raw asyncio protocol on uvloop).

    python bench/mock_upstream.py --port 18000 [--chunks 20] [--chunk-delay-ms 0]

Answers, on 127.0.0.1 only:
  POST /v1/chat/completions   a fixed small `chat.completion`; with "stream": true an SSE
                              stream of --chunks `chat.completion.chunk` events, a usage chunk
                              when stream_options.include_usage is true, then `data: [DONE]`
  GET  /v1/models             one model
  GET  /healthz               200

HTTP/1.1 keep-alive with Content-Length or chunked request bodies. It does as little as
possible per request (pre-serialised answers, one JSON parse of the small request body) so
that it is much faster than anything measured through it; its own CPU per request is
reported by bench/gateway.py so that this can be checked.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

import orjson

try:
    import uvloop
except ImportError:  # pragma: no cover - the benchmark venv has it
    uvloop = None

MODEL = "mock-upstream"
CREATED = 1_700_000_000
USAGE = {"prompt_tokens": 12, "completion_tokens": 20, "total_tokens": 32}

COMPLETION = orjson.dumps(
    {
        "id": "chatcmpl-mock0000000000000000000000",
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "system_fingerprint": "fp_mock",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello! This is a fixed answer from the mock upstream.", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
    }
)

MODELS = orjson.dumps({"object": "list", "data": [{"id": MODEL, "object": "model", "created": CREATED, "owned_by": "bench"}]})


def _http_chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def build_stream(chunks: int) -> tuple[list[bytes], bytes]:
    """The SSE events (each already framed as one HTTP chunk) and the usage event."""
    events: list[bytes] = []
    for index in range(chunks):
        delta: dict[str, object] = {"content": f" tok{index}"}
        if index == 0:
            delta = {"role": "assistant", "content": "Hello"}
        item = {
            "id": "chatcmpl-mock0000000000000000000000",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": MODEL,
            "system_fingerprint": "fp_mock",
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": "stop" if index == chunks - 1 else None}
            ],
        }
        events.append(_http_chunk(b"data: " + orjson.dumps(item) + b"\n\n"))
    usage = {
        "id": "chatcmpl-mock0000000000000000000000",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "choices": [],
        "usage": {**USAGE, "completion_tokens": chunks, "total_tokens": USAGE["prompt_tokens"] + chunks},
    }
    return events, _http_chunk(b"data: " + orjson.dumps(usage) + b"\n\n")


def _response(status: bytes, body: bytes, content_type: bytes = b"application/json", close: bool = False) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: " + content_type + b"\r\nContent-Length: "
        + str(len(body)).encode() + (b"\r\nConnection: close" if close else b"") + b"\r\n\r\n" + body
    )


COMPLETION_RESPONSE = _response(b"200 OK", COMPLETION)
MODELS_RESPONSE = _response(b"200 OK", MODELS)
HEALTH_RESPONSE = _response(b"200 OK", b'{"status":"ok"}')
NOT_FOUND = _response(b"404 Not Found", b'{"error":{"message":"not found","type":"not_found_error"}}')
BAD_REQUEST = _response(b"400 Bad Request", b'{"error":{"message":"bad request","type":"invalid_request_error"}}', close=True)
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)
STREAM_TAIL = _http_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n"


class MockProtocol(asyncio.Protocol):
    __slots__ = ("transport", "buffer", "events", "usage_event", "delay_s", "busy", "closed", "close_after")

    def __init__(self, events: list[bytes], usage_event: bytes, delay_s: float) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.events = events
        self.usage_event = usage_event
        self.delay_s = delay_s
        self.busy = False  # a delayed stream is being written; later requests wait
        self.closed = False
        self.close_after = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._process()

    def _process(self) -> None:
        while not self.busy and self.transport is not None and not self.closed:
            buffer = self.buffer
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).decode("latin-1")
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                self.transport.write(BAD_REQUEST)
                self.transport.close()
                return
            method, target = parts[0], parts[1]
            length = 0
            chunked = False
            close = parts[2] == "HTTP/1.0"
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value.strip())
                elif name == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
                elif name == "connection":
                    close = value.strip().lower() == "close"
            start = end + 4
            if chunked:
                decoded = _dechunk(buffer, start)
                if decoded is None:
                    return
                body, consumed = decoded
            else:
                if len(buffer) - start < length:
                    return
                body = bytes(buffer[start : start + length])
                consumed = start + length
            del buffer[:consumed]
            self._answer(method, target.split("?", 1)[0], body)
            if close:
                if self.busy:
                    self.close_after = True  # once the paced stream is written
                else:
                    self.transport.close()
                return

    def _answer(self, method: str, path: str, body: bytes) -> None:
        transport = self.transport
        assert transport is not None
        if method == "POST" and path.endswith("/chat/completions"):
            try:
                request = orjson.loads(body)
            except orjson.JSONDecodeError:
                transport.write(BAD_REQUEST)
                transport.close()
                return
            if not isinstance(request, dict) or not request.get("messages"):
                transport.write(BAD_REQUEST)
                transport.close()
                return
            if request.get("stream"):
                options = request.get("stream_options") or {}
                include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
                if self.delay_s > 0:
                    self.busy = True
                    asyncio.ensure_future(self._slow_stream(include_usage))
                    return
                write = transport.write
                write(STREAM_HEAD)
                # One write per event, as a real server sends tokens one at a time.
                for event in self.events:
                    write(event)
                if include_usage:
                    write(self.usage_event)
                write(STREAM_TAIL)
            else:
                transport.write(COMPLETION_RESPONSE)
        elif method == "GET" and path.endswith("/models"):
            transport.write(MODELS_RESPONSE)
        elif method == "GET" and path == "/healthz":
            transport.write(HEALTH_RESPONSE)
        else:
            transport.write(NOT_FOUND)

    async def _slow_stream(self, include_usage: bool) -> None:
        transport = self.transport
        assert transport is not None
        try:
            transport.write(STREAM_HEAD)
            for event in self.events:
                await asyncio.sleep(self.delay_s)
                if self.closed:
                    return
                transport.write(event)
            if include_usage:
                transport.write(self.usage_event)
            transport.write(STREAM_TAIL)
        finally:
            self.busy = False
        if self.close_after:
            transport.close()
            return
        if self.buffer and not self.closed:
            self._process()


def _dechunk(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    """A chunked request body: (body, bytes consumed) or None while incomplete."""
    body = bytearray()
    position = start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";", 1)[0], 16)
        position = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n", position)
            if trailer_end < 0:
                return None
            return bytes(body), trailer_end + 2
        if len(buffer) < position + size + 2:
            return None
        body += buffer[position : position + size]
        position += size + 2


async def serve(host: str, port: int, chunks: int, delay_ms: float) -> None:
    loop = asyncio.get_running_loop()
    events, usage_event = build_stream(chunks)
    server = await loop.create_server(
        lambda: MockProtocol(events, usage_event, delay_ms / 1000.0), host, port, backlog=4096, reuse_address=True
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"mock upstream listening on http://{host}:{port}/v1 (pid {os.getpid()})", file=sys.stderr, flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18000)
    parser.add_argument("--chunks", type=int, default=20, help="content chunks per streamed answer")
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0, help="pause before each streamed chunk")
    args = parser.parse_args()
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("the mock upstream listens on loopback only")
    if uvloop is not None:
        uvloop.run(serve(args.host, args.port, args.chunks, args.chunk_delay_ms))
    else:
        asyncio.run(serve(args.host, args.port, args.chunks, args.chunk_delay_ms))


if __name__ == "__main__":
    main()
