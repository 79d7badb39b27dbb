"""The Anthropic Messages API backend, through the official `anthropic` SDK.

Clients speak OpenAI chat completions to gennai; this provider translates the request into
a Messages API request (system prompt, alternating turns, tool_use / tool_result blocks,
images), and translates the answer back into `chat.completion` dicts or
`chat.completion.chunk` dicts. The translation functions are pure and tested on their own.

The SDK client never retries (`max_retries=0`): retries, fallback and timeouts belong to
the dispatcher. Every SDK failure is mapped to the gateway's errors with the same rules as
the OpenAI-compatible provider (`openai_compat.upstream_error`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable
from typing import Any

import anthropic
import httpx2
import orjson
from anthropic.types import Message, RawMessageStreamEvent

from gennai.gateway.errors import UpstreamError, UpstreamRejected, UpstreamTimeout
from gennai.gateway.providers.base import ProbeResult, Provider, chunk, completion_id, now_s, usage_chunk
from gennai.gateway.providers.openai_compat import upstream_error

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS = 4096
PROBE_TIMEOUT_S = 5.0
# Sent when no credential is configured, so that the client exists and `probe()` can say
# "no credential" instead of crashing; the upstream rejects it with 401.
_NO_CREDENTIAL = "gennai-no-credential-configured"
# Anthropic accepts temperature in [0, 1]; OpenAI clients may send up to 2.
_MAX_TEMPERATURE = 1.0
# Messages API fields the SDK's `create()` has no keyword for: sent through `extra_body`.
_EXTRA_BODY_FIELDS = ("temperature", "top_p")

_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
# The HTTP status an error type stands for, for errors reported inside a 200 stream.
_ERROR_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
_DATA_URL = re.compile(r"^data:(?P<media_type>[^;,]+);base64,(?P<data>.*)$", re.DOTALL)


class AnthropicProvider(Provider):
    kind = "anthropic"

    _root_client: anthropic.AsyncAnthropic | None = None
    _client: anthropic.AsyncAnthropic | None = None
    _client_key: str | None = None

    async def start(self) -> None:
        key = self.credential()
        self._root_client = anthropic.AsyncAnthropic(
            api_key=key or _NO_CREDENTIAL,
            base_url=sdk_base_url(self.model.base_url),
            max_retries=0,
            timeout=self.model.timeout_s,
        )
        self._client = self._root_client
        self._client_key = key

    async def close(self) -> None:
        if self._root_client is not None:
            await self._root_client.close()
        self._root_client = None
        self._client = None

    def _client_or_fail(self) -> anthropic.AsyncAnthropic:
        """The SDK client with the current credential (re-read, so a rotated key file applies)."""
        if self._root_client is None or self._client is None:
            raise UpstreamError(f"model '{self.model.id}' is not started", retry_same=False)
        key = self.credential()
        if key != self._client_key:
            # A copy shares the root client's connection pool; only the root is closed.
            self._client = self._root_client.with_options(api_key=key or _NO_CREDENTIAL)
            self._client_key = key
        return self._client

    async def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        client = self._client_or_fail()
        arguments = sdk_arguments(to_messages_request(body, self.upstream_model))
        try:
            message = await client.messages.create(**arguments)
        except anthropic.AnthropicError as exc:
            raise map_sdk_error(self.model.id, exc, self.model.timeout_s) from None
        return to_chat_completion(message, self.model.id)

    async def _stream_chat(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        client = self._client_or_fail()
        arguments = sdk_arguments(to_messages_request(body, self.upstream_model))
        model_id = self.model.id
        try:
            stream = await client.messages.create(**arguments, stream=True)
        except anthropic.AnthropicError as exc:
            raise map_sdk_error(model_id, exc, self.model.timeout_s) from None
        translator = StreamTranslator(model_id)
        try:
            async for event in stream:
                for item in translator.translate(event):
                    yield item
            if not translator.finished:
                raise UpstreamError(f"model '{model_id}': stream ended before message_stop")
        except anthropic.AnthropicError as exc:
            raise map_sdk_error(model_id, exc, self.model.timeout_s, mid_stream=True) from None
        except httpx2.HTTPError as exc:
            raise UpstreamError(f"model '{model_id}': stream broken ({type(exc).__name__})") from None
        finally:
            # Also on early close (client gone): closing the response cancels the upstream request.
            await stream.close()

    async def probe(self) -> ProbeResult:
        if not self.credential():
            return ProbeResult(False, "no credential (set api_key_env or api_key_file)")
        client = self._client_or_fail()
        try:
            async with asyncio.timeout(min(self.model.timeout_s, PROBE_TIMEOUT_S) + 1.0):
                await client.models.list(limit=1, timeout=min(self.model.timeout_s, PROBE_TIMEOUT_S))
        except (TimeoutError, anthropic.APITimeoutError):
            return ProbeResult(False, "timed out")
        except anthropic.APIConnectionError as exc:
            cause = exc.__cause__
            return ProbeResult(False, f"unreachable ({type(cause).__name__ if cause else 'connection error'})")
        except anthropic.APIStatusError as exc:
            if exc.status_code in (401, 403):
                return ProbeResult(False, f"credential rejected (HTTP {exc.status_code})")
            return ProbeResult(False, f"HTTP {exc.status_code}")
        except anthropic.AnthropicError as exc:
            return ProbeResult(False, f"probe failed ({type(exc).__name__})")
        return ProbeResult(True, "ok")


# ---------------------------------------------------------------------------
# Errors


def map_sdk_error(
    model_id: str, exc: anthropic.AnthropicError, timeout_s: float, *, mid_stream: bool = False
) -> UpstreamError:
    """Map an SDK exception to the gateway's error (what to retry, what to pass on)."""
    if isinstance(exc, anthropic.APITimeoutError):
        return UpstreamTimeout(f"model '{model_id}' did not answer within {timeout_s:g} s")
    if isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__
        reason = type(cause).__name__ if cause is not None else "connection error"
        return UpstreamError(f"model '{model_id}': connection failed ({reason})")
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        if status < 400:
            # An `error` event inside a stream that began with HTTP 200.
            status = _ERROR_TYPE_STATUS.get(str(exc.type or ""), 502)
        error = upstream_error(model_id, status, _error_body_bytes(exc.body), exc.response.headers)
        if mid_stream:
            error.message = f"{error.message} (reported mid-stream)"
        return error
    return UpstreamError(f"model '{model_id}': upstream call failed ({type(exc).__name__})")


def _error_body_bytes(body: object) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8", "replace")
    try:
        return orjson.dumps(body)
    except TypeError:
        return str(body).encode("utf-8", "replace")


# ---------------------------------------------------------------------------
# Request: OpenAI chat completions -> Anthropic Messages


def sdk_base_url(base_url: str | None) -> str:
    """The SDK adds `/v1/...` itself: accept a configured URL with or without it."""
    url = (base_url or DEFAULT_BASE_URL).rstrip("/")
    return url.removesuffix("/v1")


def sdk_arguments(request: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `messages.create()`: fields it has no keyword for go in `extra_body`."""
    arguments = {key: value for key, value in request.items() if key not in _EXTRA_BODY_FIELDS}
    extra = {key: request[key] for key in _EXTRA_BODY_FIELDS if key in request}
    if extra:
        arguments["extra_body"] = extra
    return arguments


def to_messages_request(body: dict[str, Any], upstream_model: str) -> dict[str, Any]:
    """The Messages API request body for an OpenAI chat-completions body.

    OpenAI fields with no Anthropic counterpart are left out (Anthropic rejects unknown fields).
    """
    system, messages = translate_messages(body.get("messages") or [])
    request: dict[str, Any] = {
        "model": upstream_model,
        "max_tokens": _max_tokens(body),
        "messages": messages,
    }
    if system:
        request["system"] = system
    stop = body.get("stop")
    if stop:
        request["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    temperature = body.get("temperature")
    if temperature is not None:
        request["temperature"] = min(float(temperature), _MAX_TEMPERATURE)
    if body.get("top_p") is not None:
        request["top_p"] = float(body["top_p"])
    tools = body.get("tools")
    if tools:
        request["tools"] = translate_tools(tools)
        tool_choice = translate_tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if tool_choice is not None:
            request["tool_choice"] = tool_choice
    user = body.get("user")
    if user:
        request["metadata"] = {"user_id": str(user)}
    return request


def _max_tokens(body: dict[str, Any]) -> int:
    value = body.get("max_completion_tokens") or body.get("max_tokens")
    return int(value) if value else DEFAULT_MAX_TOKENS


def translate_messages(messages: Iterable[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """(system prompt, alternating user/assistant turns made of content blocks)."""
    system_parts: list[str] = []
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        role = message.get("role")
        where = f"messages[{index}]"
        if role in ("system", "developer"):
            text = _plain_text(message.get("content"), where)
            if text:
                system_parts.append(text)
            continue
        if role == "user":
            _append_turn(turns, "user", _user_blocks(message.get("content"), where))
        elif role == "assistant":
            _append_turn(turns, "assistant", _assistant_blocks(message, where))
        elif role == "tool":
            _append_turn(turns, "user", [_tool_result_block(message, where)])
        else:
            raise UpstreamRejected(
                f"role '{role}' is not supported by Anthropic models (use tools and the 'tool' role)",
                param=f"{where}.role",
                code="unsupported_content",
            )
    return "\n\n".join(system_parts), turns


def _append_turn(turns: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    """Anthropic needs alternating roles: a turn after one of the same role joins it."""
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def _plain_text(content: Any, where: str) -> str:
    """The text of a system/developer message (a string or text parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for part_index, part in enumerate(content):
        if part.get("type") != "text":
            raise UpstreamRejected(
                "system and developer messages may only contain text",
                param=f"{where}.content[{part_index}]",
                code="unsupported_content",
            )
        texts.append(str(part.get("text") or ""))
    return "\n".join(texts)


def _user_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [_text_block(content)] if content else []
    blocks = []
    for part_index, part in enumerate(content):
        block = _content_part_block(part, f"{where}.content[{part_index}]")
        if block is not None:
            blocks.append(block)
    return blocks


def _content_part_block(part: dict[str, Any], where: str) -> dict[str, Any] | None:
    """One OpenAI content part as an Anthropic content block (None for empty text)."""
    kind = part.get("type")
    if kind == "text":
        text = str(part.get("text") or "")
        return _text_block(text) if text else None
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if not isinstance(url, str) or not url:
            raise UpstreamRejected("image_url needs a url", param=f"{where}.image_url.url", code="unsupported_content")
        return image_block(url, where)
    if kind == "file":
        return _file_block(part.get("file") or {}, where)
    raise UpstreamRejected(
        f"content part type '{kind}' is not supported by Anthropic models",
        param=f"{where}.type",
        code="unsupported_content",
    )


def _text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def image_block(url: str, where: str = "image_url") -> dict[str, Any]:
    """An image block: a base64 source for data: URLs, a url source for http(s) URLs."""
    match = _DATA_URL.match(url)
    if match:
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": match["media_type"], "data": match["data"]},
        }
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise UpstreamRejected(
        "an image must be a base64 data: URL or an http(s) URL",
        param=f"{where}.image_url.url",
        code="unsupported_content",
    )


def _file_block(file: dict[str, Any], where: str) -> dict[str, Any]:
    """A PDF sent as an OpenAI `file` part (base64 data URL) becomes a document block."""
    match = _DATA_URL.match(str(file.get("file_data") or ""))
    if match is None or match["media_type"] != "application/pdf":
        raise UpstreamRejected(
            "file parts must carry a PDF as a base64 data: URL in file_data",
            param=f"{where}.file.file_data",
            code="unsupported_content",
        )
    return {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": match["data"]}}


def _assistant_blocks(message: dict[str, Any], where: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    content = message.get("content")
    if isinstance(content, str):
        if content:
            blocks.append(_text_block(content))
    elif content:
        for part in content:
            text = str(part.get("text") or part.get("refusal") or "")
            if part.get("type") in ("text", "refusal") and text:
                blocks.append(_text_block(text))
    for call_index, call in enumerate(message.get("tool_calls") or []):
        blocks.append(_tool_use_block(call, f"{where}.tool_calls[{call_index}]"))
    return blocks


def _tool_use_block(call: dict[str, Any], where: str) -> dict[str, Any]:
    function = call.get("function") or {}
    arguments = function.get("arguments") or "{}"
    try:
        parsed = orjson.loads(arguments) if isinstance(arguments, str) else arguments
    except orjson.JSONDecodeError:
        raise UpstreamRejected(
            "tool call arguments must be a JSON object", param=f"{where}.function.arguments", code="invalid_tool_call"
        ) from None
    if not isinstance(parsed, dict):
        raise UpstreamRejected(
            "tool call arguments must be a JSON object", param=f"{where}.function.arguments", code="invalid_tool_call"
        )
    return {"type": "tool_use", "id": str(call.get("id") or ""), "name": str(function.get("name") or ""), "input": parsed}


def _tool_result_block(message: dict[str, Any], where: str) -> dict[str, Any]:
    tool_call_id = message.get("tool_call_id")
    if not tool_call_id:
        raise UpstreamRejected("a tool message needs tool_call_id", param=f"{where}.tool_call_id", code="invalid_tool_result")
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": str(tool_call_id)}
    content = message.get("content")
    if isinstance(content, str):
        if content:
            block["content"] = content
    elif content:
        block["content"] = _user_blocks(content, where)
    return block


def translate_tools(tools: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI function tools as Anthropic tools (`input_schema` is the JSON schema)."""
    translated = []
    for index, tool in enumerate(tools):
        if tool.get("type", "function") != "function" or not isinstance(tool.get("function"), dict):
            raise UpstreamRejected(
                f"tool type '{tool.get('type')}' is not supported by Anthropic models (function tools only)",
                param=f"tools[{index}].type",
                code="unsupported_tool",
            )
        function = tool["function"]
        entry: dict[str, Any] = {
            "name": str(function.get("name") or ""),
            "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
        }
        if function.get("description"):
            entry["description"] = str(function["description"])
        translated.append(entry)
    return translated


def translate_tool_choice(tool_choice: Any, parallel_tool_calls: Any = None) -> dict[str, Any] | None:
    """OpenAI tool_choice ("auto", "none", "required", or a named function) for Anthropic."""
    choice: dict[str, Any] | None
    if tool_choice is None:
        choice = None
    elif tool_choice == "auto":
        choice = {"type": "auto"}
    elif tool_choice == "none":
        choice = {"type": "none"}
    elif tool_choice == "required":
        choice = {"type": "any"}
    elif isinstance(tool_choice, dict) and isinstance(tool_choice.get("function"), dict):
        choice = {"type": "tool", "name": str(tool_choice["function"].get("name") or "")}
    else:
        raise UpstreamRejected(
            "tool_choice must be 'auto', 'none', 'required' or a function", param="tool_choice", code="invalid_tool_choice"
        )
    if parallel_tool_calls is False:
        choice = choice or {"type": "auto"}
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    return choice


# ---------------------------------------------------------------------------
# Response: Anthropic Messages -> OpenAI chat completions


def finish_reason(stop_reason: str | None) -> str | None:
    if stop_reason is None:
        return None
    return _FINISH_REASONS.get(stop_reason, "stop")


def prompt_tokens(usage: Any) -> int:
    """Input tokens, counting those written to and read from the prompt cache."""
    return (
        int(getattr(usage, "input_tokens", 0) or 0)
        + int(getattr(usage, "cache_creation_input_tokens", 0) or 0)
        + int(getattr(usage, "cache_read_input_tokens", 0) or 0)
    )


def openai_id(message_id: str | None) -> str:
    return f"chatcmpl-{message_id}" if message_id else completion_id()


def tool_call(tool_id: str, name: str, arguments: str) -> dict[str, Any]:
    """An OpenAI tool call (a stream delta adds its `index`)."""
    return {"id": tool_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def to_chat_completion(message: Message, model_id: str) -> dict[str, Any]:
    """An OpenAI `chat.completion` dict for an Anthropic message."""
    texts: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in message.content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use":
            tool_calls.append(tool_call(block.id, block.name, orjson.dumps(block.input).decode()))
    text = "".join(texts)
    reply: dict[str, Any] = {"role": "assistant", "content": text if text or not tool_calls else None, "refusal": None}
    if tool_calls:
        reply["tool_calls"] = tool_calls
    prompt = prompt_tokens(message.usage)
    completion = int(message.usage.output_tokens or 0)
    return {
        "id": openai_id(message.id),
        "object": "chat.completion",
        "created": now_s(),
        "model": model_id,
        "choices": [
            {"index": 0, "message": reply, "logprobs": None, "finish_reason": finish_reason(message.stop_reason)}
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": int(message.usage.cache_read_input_tokens or 0)},
        },
        "system_fingerprint": None,
    }


class StreamTranslator:
    """Turns Messages API stream events into OpenAI `chat.completion.chunk` dicts.

    Order of what it yields: a role delta (at message_start), content and tool call deltas,
    a chunk with the finish reason (at message_delta), and last a usage chunk (message_stop).
    """

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self.response_id = completion_id()
        self.created = now_s()
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.finished = False
        # Content block index -> OpenAI tool call index (0, 1, ... in order of appearance).
        self._tool_indexes: dict[int, int] = {}

    def translate(self, event: RawMessageStreamEvent) -> list[dict[str, Any]]:
        kind = event.type
        if kind == "message_start":
            return self._message_start(event)
        if kind == "content_block_start":
            return self._block_start(event)
        if kind == "content_block_delta":
            return self._block_delta(event)
        if kind == "message_delta":
            return self._message_delta(event)
        if kind == "message_stop":
            self.finished = True
            return [usage_chunk(self.response_id, self.model_id, self.created, self.prompt_tokens, self.completion_tokens)]
        return []  # content_block_stop and event types this gateway has no use for

    def _chunk(self, delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        return chunk(self.response_id, self.model_id, self.created, delta, reason)

    def _message_start(self, event: Any) -> list[dict[str, Any]]:
        message = event.message
        self.response_id = openai_id(getattr(message, "id", None))
        if message.usage is not None:
            self.prompt_tokens = prompt_tokens(message.usage)
            self.completion_tokens = int(message.usage.output_tokens or 0)
        return [self._chunk({"role": "assistant", "content": ""})]

    def _block_start(self, event: Any) -> list[dict[str, Any]]:
        block = event.content_block
        if block.type == "text":
            return [self._chunk({"content": block.text})] if block.text else []
        if block.type == "tool_use":
            index = len(self._tool_indexes)
            self._tool_indexes[event.index] = index
            # Streams start a tool_use with input {}; its JSON follows as input_json_delta.
            arguments = orjson.dumps(block.input).decode() if block.input else ""
            return [self._chunk({"tool_calls": [{"index": index, **tool_call(block.id, block.name, arguments)}]})]
        return []

    def _block_delta(self, event: Any) -> list[dict[str, Any]]:
        delta = event.delta
        if delta.type == "text_delta":
            return [self._chunk({"content": delta.text})] if delta.text else []
        if delta.type == "input_json_delta":
            index = self._tool_indexes.get(event.index)
            if index is None or not delta.partial_json:
                return []
            return [self._chunk({"tool_calls": [{"index": index, "function": {"arguments": delta.partial_json}}]})]
        return []  # thinking, signature and citation deltas have no OpenAI counterpart

    def _message_delta(self, event: Any) -> list[dict[str, Any]]:
        usage = event.usage
        if usage is not None:
            if any(
                getattr(usage, name, None) is not None
                for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
            ):
                self.prompt_tokens = prompt_tokens(usage)
            if usage.output_tokens is not None:
                self.completion_tokens = int(usage.output_tokens)
        reason = finish_reason(event.delta.stop_reason) or "stop"
        return [self._chunk({}, reason)]
