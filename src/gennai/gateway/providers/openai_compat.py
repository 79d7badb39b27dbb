"""OpenAI-compatible HTTP backends: vLLM, SGLang, TGI, Ollama, vendors' APIs.

The body is forwarded as received (unknown fields pass through), with `model` set to the
upstream name. Responses are parsed only to put back the gennai model id and to read usage.
aiohttp is the client here because this is the gateway's hot path (docs/decisions/0003).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
from yarl import URL

from gennai.gateway.errors import UpstreamError, UpstreamRejected, UpstreamTimeout
from gennai.gateway.providers.base import ProbeResult, Provider, RawEvents

_JSON = {"Content-Type": "application/json"}


class OpenAICompatibleProvider(Provider):
    kind = "openai"

    _session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=max(self.model.max_concurrency, 1),
            ttl_dns_cache=300,
            keepalive_timeout=30,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=min(self.model.timeout_s, 10.0)),
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
        )
        base = (self.model.base_url or "").rstrip("/")
        # Parsed once: aiohttp would otherwise parse the URL string on every request.
        self._chat_url = URL(f"{base}/chat/completions")
        self._embeddings_url = URL(f"{base}/embeddings")
        self._models_url = URL(f"{base}/models")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _headers(self) -> dict[str, str]:
        key = self.credential()
        if key:
            return {**_JSON, "Authorization": f"Bearer {key}"}
        return _JSON

    def _session_or_fail(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise UpstreamError(f"model '{self.model.id}' is not started", retry_same=False)
        return self._session

    async def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        payload = {**body, "model": self.upstream_model}
        payload.pop("stream_options", None)
        payload["stream"] = False
        data = await self._post_json(self._chat_url, payload)
        data["model"] = self.model.id
        return data

    async def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        payload = {**body, "model": self.upstream_model}
        data = await self._post_json(self._embeddings_url, payload)
        data["model"] = self.model.id
        return data

    async def _post_json(self, url: URL, payload: dict[str, Any]) -> dict[str, Any]:
        session = self._session_or_fail()
        try:
            async with session.post(url, data=orjson.dumps(payload), headers=self._headers()) as response:
                raw = await response.read()
                if response.status != 200:
                    raise upstream_error(self.model.id, response.status, raw, response.headers)
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"model '{self.model.id}': connection failed ({type(exc).__name__})") from None
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise UpstreamError(f"model '{self.model.id}': upstream answered with invalid JSON") from None
        if not isinstance(data, dict):
            raise UpstreamError(f"model '{self.model.id}': upstream answered with unexpected JSON")
        return data

    async def _stream_chat(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any] | RawEvents]:
        """Forward the upstream's events in batches, as they arrive from the network.

        Content chunks travel byte for byte (only their `model` is renamed); gennai parses
        just the events it must understand: usage (for the records), errors and [DONE].
        """
        session = self._session_or_fail()
        payload = {**body, "model": self.upstream_model, "stream": True}
        # Ask for usage always: the gateway records it even if the client did not ask.
        payload["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        model_id = self.model.id
        try:
            response = await session.post(self._chat_url, data=orjson.dumps(payload), headers=self._headers())
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"model '{model_id}': connection failed ({type(exc).__name__})") from None
        events = SSEBatcher(model_id, self.upstream_model)
        try:
            if response.status != 200:
                raw = await response.read()
                raise upstream_error(model_id, response.status, raw, response.headers)
            async for data in response.content.iter_any():
                for item in events.feed(data):
                    yield item
                if events.error is not None:
                    raise events.error
                if events.done:
                    return
            raise UpstreamError(f"model '{model_id}': stream ended without [DONE]")
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"model '{model_id}': stream broken ({type(exc).__name__})") from None
        finally:
            response.release()

    async def probe(self) -> ProbeResult:
        session = self._session_or_fail()
        try:
            async with asyncio.timeout(min(self.model.timeout_s, 5.0)):
                async with session.get(self._models_url, headers=self._headers()) as response:
                    if response.status == 200:
                        return ProbeResult(True, "ok")
                    if response.status in (401, 403):
                        return ProbeResult(False, f"credential rejected (HTTP {response.status})")
                    return ProbeResult(False, f"HTTP {response.status}")
        except TimeoutError:
            return ProbeResult(False, "timed out")
        except aiohttp.ClientError as exc:
            return ProbeResult(False, f"unreachable ({type(exc).__name__})")


class SSEBatcher:
    """Splits an upstream SSE byte stream into forwardable batches and parsed events."""

    __slots__ = ("model_id", "_buffer", "done", "error", "_renames")

    def __init__(self, model_id: str, upstream_model: str) -> None:
        self.model_id = model_id
        self._buffer = b""
        self.done = False
        # An error event: raised by the provider after the batches that preceded it.
        self.error: UpstreamError | None = None
        ours = b'"model":' + orjson.dumps(model_id)
        theirs = orjson.dumps(upstream_model)
        self._renames = [] if upstream_model == model_id else [(b'"model":' + theirs, ours), (b'"model": ' + theirs, ours)]

    def feed(self, data: bytes) -> list[dict[str, Any] | RawEvents]:
        """The complete events in `data` (plus what was buffered): RawEvents batches and
        parsed usage chunks, in order. An error event sets `error` and ends the batch."""
        buffer = self._buffer + data if self._buffer else data
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n")
        end = buffer.rfind(b"\n\n")
        if end < 0:
            self._buffer = buffer
            return []
        complete, self._buffer = buffer[: end + 2], buffer[end + 2 :]
        done_at = _done_position(complete)
        if done_at >= 0:
            complete = complete[:done_at]
            self.done = True
        if not complete:
            return []
        if b'"error"' in complete or b"event:" in complete:
            return self._parse_events(complete)  # rare: look at every event
        # Common case: forward everything byte for byte, except usage events, parsed.
        out: list[dict[str, Any] | RawEvents] = []
        start = 0
        while (usage_at := _find_usage(complete, start)) >= 0:
            event_start = complete.rfind(b"\n\n", start, usage_at)
            event_start = start if event_start < 0 else event_start + 2
            event_end = complete.find(b"\n\n", usage_at) + 2
            if event_start > start:
                out.append(RawEvents(self._rename(complete[start:event_start])))
            out.extend(self._parse_events(complete[event_start:event_end]))
            start = event_end
        if start < len(complete):
            out.append(RawEvents(self._rename(complete[start:])))
        return out

    def _rename(self, data: bytes) -> bytes:
        if self._renames:
            compact, spaced = self._renames
            data = data.replace(*compact)
            if b'"model": ' in data:
                data = data.replace(*spaced)
        return data

    def _parse_events(self, complete: bytes) -> list[dict[str, Any] | RawEvents]:
        out: list[dict[str, Any] | RawEvents] = []
        pending: list[bytes] = []
        for event in complete.split(b"\n\n"):
            if not event.strip():
                continue
            name = b""
            data_lines = []
            for line in event.split(b"\n"):
                if line.startswith(b"data:"):
                    data_lines.append(line[5:].strip())
                elif line.startswith(b"event:"):
                    name = line[6:].strip()
            if not data_lines:
                continue  # a comment or keep-alive
            try:
                parsed = orjson.loads(b"\n".join(data_lines))
            except orjson.JSONDecodeError:
                raise UpstreamError(f"model '{self.model_id}': invalid JSON in stream") from None
            if name == b"error" or (isinstance(parsed, dict) and "error" in parsed and "choices" not in parsed):
                self.error = UpstreamError(
                    f"model '{self.model_id}': upstream reported an error mid-stream: {_error_text(parsed)}"
                )
                break
            if isinstance(parsed, dict) and isinstance(parsed.get("usage"), dict):
                if pending:
                    out.append(RawEvents(self._rename(b"".join(pending))))
                    pending = []
                parsed["model"] = self.model_id
                out.append(parsed)
            else:
                pending.append(b"data: " + b"\n".join(data_lines) + b"\n\n")
        if pending:
            out.append(RawEvents(self._rename(b"".join(pending))))
        return out


def _find_usage(data: bytes, start: int) -> int:
    """Position of a `"usage":` key whose value is an object (not null), or -1."""
    while (at := data.find(b'"usage":', start)) >= 0:
        rest = data[at + 8 : at + 10].lstrip()
        if rest.startswith(b"{"):
            return at
        start = at + 8
    return -1


def _done_position(complete: bytes) -> int:
    """Where the `data: [DONE]` event starts (at an event boundary), or -1."""
    for marker in (b"data: [DONE]", b"data:[DONE]"):
        if complete.startswith(marker):
            return 0
        position = complete.find(b"\n\n" + marker)
        if position >= 0:
            return position + 2
    return -1


def _error_text(parsed: Any) -> str:
    if isinstance(parsed, dict):
        error = parsed.get("error", parsed)
        if isinstance(error, dict):
            return str(error.get("message") or error)[:500]
        return str(error)[:500]
    return str(parsed)[:500]


def upstream_error(model_id: str, status: int, raw: bytes, headers: Any) -> UpstreamError:
    """Map an upstream HTTP failure to the gateway's error (what to retry, what to pass on)."""
    try:
        text = _error_text(orjson.loads(raw))
    except orjson.JSONDecodeError:
        text = raw[:300].decode("utf-8", "replace")
    if status == 429:
        retry_after = _retry_after(headers)
        return UpstreamError(
            f"model '{model_id}' is rate limited upstream: {text}",
            status=429,
            retry_same=False,
            code="upstream_rate_limited",
            retry_after=retry_after,
        )
    if status in (408, 504):
        return UpstreamTimeout(f"model '{model_id}': upstream timed out (HTTP {status})")
    if status >= 500:
        return UpstreamError(f"model '{model_id}': upstream failed (HTTP {status}): {text}", code="upstream_error")
    if status in (401, 403):
        return UpstreamError(
            f"model '{model_id}': the upstream rejected gennai's credential (HTTP {status})",
            retry_same=False,
            code="upstream_auth_failed",
        )
    if status == 413:
        return UpstreamRejected(f"model '{model_id}': request too large for upstream: {text}", status=413)
    return UpstreamRejected(f"model '{model_id}' rejected the request: {text}", status=400)


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
