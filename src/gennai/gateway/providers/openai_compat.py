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

from gennai.gateway.errors import UpstreamError, UpstreamRejected, UpstreamTimeout
from gennai.gateway.providers.base import ProbeResult, Provider

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
            skip_auto_headers=("User-Agent",),
            auto_decompress=True,
        )
        base = (self.model.base_url or "").rstrip("/")
        self._chat_url = f"{base}/chat/completions"
        self._embeddings_url = f"{base}/embeddings"
        self._models_url = f"{base}/models"

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

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        payload = {**body, "model": self.upstream_model}
        payload.pop("stream_options", None)
        payload["stream"] = False
        data = await self._post_json(self._chat_url, payload)
        data["model"] = self.model.id
        return data

    async def embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        payload = {**body, "model": self.upstream_model}
        data = await self._post_json(self._embeddings_url, payload)
        data["model"] = self.model.id
        return data

    async def _post_json(self, url: str, payload: dict[str, Any]) -> dict[str, Any]:
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

    async def stream_chat(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        session = self._session_or_fail()
        payload = {**body, "model": self.upstream_model, "stream": True}
        # Ask for usage always: the gateway records it even if the client did not ask.
        payload["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        model_id = self.model.id
        try:
            response = await session.post(self._chat_url, data=orjson.dumps(payload), headers=self._headers())
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"model '{model_id}': connection failed ({type(exc).__name__})") from None
        try:
            if response.status != 200:
                raw = await response.read()
                raise upstream_error(model_id, response.status, raw, response.headers)
            event_name = b""
            async for line in response.content:
                if line.startswith(b"data:"):
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        return
                    try:
                        parsed = orjson.loads(data)
                    except orjson.JSONDecodeError:
                        raise UpstreamError(f"model '{model_id}': invalid JSON in stream") from None
                    if event_name == b"error" or (isinstance(parsed, dict) and "error" in parsed and "choices" not in parsed):
                        raise UpstreamError(f"model '{model_id}': upstream reported an error mid-stream: {_error_text(parsed)}")
                    parsed["model"] = model_id
                    yield parsed
                    event_name = b""
                elif line.startswith(b"event:"):
                    event_name = line[6:].strip()
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
