"""AWS Bedrock through the Converse and ConverseStream APIs (boto3).

The OpenAI chat-completions body is translated into a Converse request (system blocks,
alternating user/assistant turns, tool use and tool results, images, inference settings)
and the answer is translated back into OpenAI `chat.completion` / `chat.completion.chunk`
dicts carrying the gennai model id.

Credentials: the normal AWS chain (environment variables, shared files, container or
instance role), signed with SigV4. When the model names a Bedrock API key with
`api_key_env` / `api_key_file`, that key is sent instead as a bearer token, the way
botocore supports it for Bedrock (`signature_version="bearer"`; botocore refuses to send
a bearer token over plain HTTP). The key is read again for every request, so a rotated
key file takes effect without a restart. Without a configured key, botocore's own
`AWS_BEARER_TOKEN_BEDROCK` variable is honoured as part of the normal chain.

boto3 is synchronous: every call runs on this model's own thread pool, never on the event
loop. A ConverseStream is read on a worker thread whose events cross to the event loop
through an asyncio.Queue; when the consumer stops early (the client went away) the socket
is shut down at once so the blocked read returns, and the worker closes the HTTP response.
A non-streaming Converse call cannot be interrupted that way: if it is abandoned, its
thread is freed by botocore's read timeout (the model's `timeout_s`).

Not forwarded: `seed`, `presence_penalty`, `frequency_penalty`, `logprobs`, `user` (the
Converse API has no equivalent). `response_format` other than text is refused rather than
silently ignored. `tool_choice = "none"` drops the tools, except when the conversation
already holds tool calls: Bedrock then requires the tool definitions, so they are sent
without a choice and the model may still call one.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import ssl
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import aiohttp
import boto3
import botocore.session
import orjson
import urllib3.exceptions
from botocore.config import Config
from botocore.eventstream import ParserError as EventStreamParserError
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    InvalidEndpointConfigurationError,
    NoAuthTokenError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.tokens import FrozenAuthToken

from gennai.gateway.errors import GatewayError, InvalidRequest, UpstreamError, UpstreamRejected, UpstreamTimeout
from gennai.gateway.providers.base import ProbeResult, Provider, chunk, completion_id, now_s, usage_chunk

T = TypeVar("T")

SERVICE_NAME = "bedrock-runtime"
# Threads beyond max_concurrency: a probe, and abandoned calls still waiting on their read
# timeout while the dispatcher has already handed their slot to the next request.
_SPARE_WORKERS = 2
_PROBE_TIMEOUT_S = 5.0
_END = object()

_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}

_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "content_filtered": "content_filter",
    "guardrail_intervened": "content_filter",
}

_RATE_LIMITED = frozenset({"ThrottlingException", "ServiceQuotaExceededException"})
_TRANSIENT = frozenset(
    {"ServiceUnavailableException", "InternalServerException", "ModelNotReadyException", "ModelStreamErrorException"}
)
_TIMED_OUT = frozenset({"ModelTimeoutException"})
_AUTH_FAILED = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "IncompleteSignatureException",
        "MissingAuthenticationTokenException",
        "ExpiredTokenException",
        "InvalidClientTokenId",
    }
)


# ---------------------------------------------------------------------------------------
# OpenAI request -> Converse request
# ---------------------------------------------------------------------------------------


def converse_request(body: dict[str, Any], model_id: str) -> dict[str, Any]:
    """The keyword arguments of `client.converse` / `client.converse_stream` for an OpenAI body."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages must be a non-empty list", param="messages")
    _refuse_structured_output(body.get("response_format"))
    turns = conversation(messages)
    request: dict[str, Any] = {"modelId": model_id, "messages": turns}
    system = system_blocks(messages)
    if system:
        request["system"] = system
    inference = inference_config(body)
    if inference:
        request["inferenceConfig"] = inference
    tools = tool_config(body, history_uses_tools=_uses_tools(turns))
    if tools:
        request["toolConfig"] = tools
    return request


def system_blocks(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """System and developer messages, wherever they stand, as Converse system blocks."""
    blocks: list[dict[str, str]] = []
    for index, message in enumerate(messages):
        if message.get("role") in ("system", "developer"):
            text = _plain_text(message.get("content"), f"messages[{index}].content")
            if text:
                blocks.append({"text": text})
    return blocks


def conversation(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The user/assistant turns; consecutive turns of one role are merged, as Bedrock requires."""
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        role = message.get("role")
        if role in ("system", "developer"):
            continue
        if role == "user":
            turn = {"role": "user", "content": content_blocks(message.get("content"), f"messages[{index}].content")}
        elif role == "assistant":
            turn = {"role": "assistant", "content": assistant_blocks(message, index)}
        elif role == "tool":
            turn = {"role": "user", "content": [tool_result_block(message, index)]}
        else:
            raise InvalidRequest(
                f"role '{role}' is not supported by Bedrock models (use tools and tool messages)",
                param=f"messages[{index}].role",
                code="unsupported",
            )
        if not turn["content"]:
            raise InvalidRequest("message has no content", param=f"messages[{index}].content")
        if turns and turns[-1]["role"] == turn["role"]:
            turns[-1]["content"].extend(turn["content"])
        else:
            turns.append(turn)
    if not turns:
        raise InvalidRequest("messages need at least one user message", param="messages")
    return turns


def content_blocks(content: Any, param: str) -> list[dict[str, Any]]:
    """OpenAI message content (a string or content parts) as Converse content blocks."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if not isinstance(content, list):
        raise InvalidRequest("content must be a string or a list of content parts", param=param)
    blocks: list[dict[str, Any]] = []
    for number, part in enumerate(content):
        part_param = f"{param}[{number}]"
        if not isinstance(part, dict):
            raise InvalidRequest("a content part must be an object", param=part_param)
        kind = part.get("type")
        if kind == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise InvalidRequest("a text part needs a string 'text'", param=part_param)
            if text:
                blocks.append({"text": text})
        elif kind == "image_url":
            blocks.append(image_block(part.get("image_url"), part_param))
        else:
            raise InvalidRequest(
                f"content part type '{kind}' is not supported by Bedrock models", param=part_param, code="unsupported"
            )
    return blocks


def image_block(image_url: Any, param: str) -> dict[str, Any]:
    """An `image_url` part holding a data: URL, as a Converse image block with its bytes."""
    url = image_url.get("url") if isinstance(image_url, dict) else image_url
    if not isinstance(url, str) or not url.startswith("data:"):
        raise InvalidRequest(
            "Bedrock models take images as data: URLs (data:image/png;base64,...); the gateway does not fetch URLs",
            param=param,
            code="unsupported",
        )
    header, separator, data = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if not separator or encoding.lower() != "base64":
        raise InvalidRequest("an image data: URL must be base64-encoded", param=param)
    image_format = _IMAGE_FORMATS.get(media_type.lower())
    if image_format is None:
        raise InvalidRequest(
            f"image type '{media_type}' is not supported (png, jpeg, gif, webp)", param=param, code="unsupported"
        )
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("the image data: URL is not valid base64", param=param) from None
    return {"image": {"format": image_format, "source": {"bytes": raw}}}


def assistant_blocks(message: dict[str, Any], index: int) -> list[dict[str, Any]]:
    """An assistant message's text and tool calls as Converse text and toolUse blocks."""
    text = _plain_text(message.get("content"), f"messages[{index}].content")
    blocks: list[dict[str, Any]] = [{"text": text}] if text else []
    tool_calls = message.get("tool_calls") or []
    if not isinstance(tool_calls, list):
        raise InvalidRequest("tool_calls must be a list", param=f"messages[{index}].tool_calls")
    for number, call in enumerate(tool_calls):
        blocks.append(tool_use_block(call, f"messages[{index}].tool_calls[{number}]"))
    return blocks


def tool_use_block(call: Any, param: str) -> dict[str, Any]:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        raise InvalidRequest("a tool call needs a 'function' object", param=param)
    function = call["function"]
    call_id, name = call.get("id"), function.get("name")
    if not isinstance(call_id, str) or not call_id or not isinstance(name, str) or not name:
        raise InvalidRequest("a tool call needs an 'id' and a function 'name'", param=param)
    arguments = function.get("arguments") or "{}"
    try:
        parsed = orjson.loads(arguments) if isinstance(arguments, str) else arguments
    except orjson.JSONDecodeError:
        raise InvalidRequest("tool call arguments are not valid JSON", param=f"{param}.function.arguments") from None
    if not isinstance(parsed, dict):
        raise InvalidRequest("tool call arguments must be a JSON object", param=f"{param}.function.arguments")
    return {"toolUse": {"toolUseId": call_id, "name": name, "input": parsed}}


def tool_result_block(message: dict[str, Any], index: int) -> dict[str, Any]:
    """A `tool` message as a Converse toolResult block (it travels in a user turn)."""
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise InvalidRequest("a tool message needs 'tool_call_id'", param=f"messages[{index}].tool_call_id")
    text = _plain_text(message.get("content"), f"messages[{index}].content")
    return {"toolResult": {"toolUseId": call_id, "content": [{"text": text}]}}


def inference_config(body: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens is not None:
        config["maxTokens"] = max_tokens
    if body.get("temperature") is not None:
        config["temperature"] = body["temperature"]
    if body.get("top_p") is not None:
        config["topP"] = body["top_p"]
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    return config


def tool_config(body: dict[str, Any], *, history_uses_tools: bool) -> dict[str, Any] | None:
    """`tools` and `tool_choice` as a Converse toolConfig (None when no tools are sent)."""
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise InvalidRequest("tools must be a list", param="tools")
    if not tools:
        return None
    choice = body.get("tool_choice")
    if choice == "none" and not history_uses_tools:
        return None
    config: dict[str, Any] = {"tools": [tool_spec(tool, f"tools[{number}]") for number, tool in enumerate(tools)]}
    converse_choice = tool_choice(choice)
    if converse_choice is not None:
        config["toolChoice"] = converse_choice
    return config


def tool_spec(tool: Any, param: str) -> dict[str, Any]:
    if not isinstance(tool, dict) or tool.get("type", "function") != "function" or not isinstance(tool.get("function"), dict):
        raise InvalidRequest("only function tools are supported by Bedrock models", param=param, code="unsupported")
    function = tool["function"]
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidRequest("a function tool needs a 'name'", param=f"{param}.function.name")
    spec: dict[str, Any] = {
        "name": name,
        "inputSchema": {"json": function.get("parameters") or {"type": "object", "properties": {}}},
    }
    if function.get("description"):
        spec["description"] = function["description"]
    return {"toolSpec": spec}


def tool_choice(choice: Any) -> dict[str, Any] | None:
    """OpenAI tool_choice as Converse toolChoice: auto, any (required) or one named tool."""
    if choice is None or choice == "none":
        return None
    if choice == "auto":
        return {"auto": {}}
    if choice == "required":
        return {"any": {}}
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict) and choice["function"].get("name"):
        return {"tool": {"name": choice["function"]["name"]}}
    raise InvalidRequest("tool_choice must be 'none', 'auto', 'required' or a named function", param="tool_choice")


def _refuse_structured_output(response_format: Any) -> None:
    if isinstance(response_format, dict) and response_format.get("type") not in (None, "text"):
        raise InvalidRequest(
            f"response_format '{response_format.get('type')}' is not supported by Bedrock models",
            param="response_format",
            code="unsupported",
        )


def _uses_tools(turns: list[dict[str, Any]]) -> bool:
    return any("toolUse" in block or "toolResult" in block for turn in turns for block in turn["content"])


def _plain_text(content: Any, param: str) -> str:
    """Text-only content (system, assistant, tool messages): a string or text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for number, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") not in ("text", "refusal"):
                raise InvalidRequest("only text parts are allowed here", param=f"{param}[{number}]")
            texts.append(str(part.get("text") or part.get("refusal") or ""))
        return "".join(texts)
    raise InvalidRequest("content must be a string or a list of text parts", param=param)


# ---------------------------------------------------------------------------------------
# Converse response -> OpenAI response
# ---------------------------------------------------------------------------------------


def finish_reason(stop_reason: str | None) -> str:
    return _FINISH_REASONS.get(stop_reason or "", "stop")


def token_counts(usage: dict[str, Any] | None) -> tuple[int, int]:
    """(prompt, completion) tokens; cached prompt tokens count as prompt tokens."""
    usage = usage or {}
    prompt = (
        int(usage.get("inputTokens") or 0)
        + int(usage.get("cacheReadInputTokens") or 0)
        + int(usage.get("cacheWriteInputTokens") or 0)
    )
    return prompt, int(usage.get("outputTokens") or 0)


def tool_call(tool_use: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": tool_use.get("toolUseId", ""),
        "type": "function",
        "function": {"name": tool_use.get("name", ""), "arguments": orjson.dumps(tool_use.get("input", {})).decode()},
    }


def chat_completion(response: dict[str, Any], model_id: str) -> dict[str, Any]:
    """A Converse response as an OpenAI `chat.completion` carrying the gennai model id."""
    blocks = ((response.get("output") or {}).get("message") or {}).get("content") or []
    texts = [block["text"] for block in blocks if isinstance(block.get("text"), str)]
    calls = [tool_call(block["toolUse"]) for block in blocks if isinstance(block.get("toolUse"), dict)]
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        message["tool_calls"] = calls
    prompt, completion = token_counts(response.get("usage"))
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": now_s(),
        "model": model_id,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason(response.get("stopReason"))}
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


class StreamTranslator:
    """Turns ConverseStream events into OpenAI chunks, in order, for one response.

    The role chunk comes first, then text and tool-call deltas, the finish chunk at
    `messageStop`, and last the usage chunk from the `metadata` event.
    """

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self.response_id = completion_id()
        self.created = now_s()
        self.started = False
        self.stopped = False
        self.usage: tuple[int, int] | None = None
        self.usage_sent = False
        self._tool_indexes: dict[int, int] = {}

    def _chunk(self, delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        return chunk(self.response_id, self.model_id, self.created, delta, reason)

    def _usage_chunk(self) -> dict[str, Any]:
        assert self.usage is not None
        self.usage_sent = True
        return usage_chunk(self.response_id, self.model_id, self.created, *self.usage)

    def _start(self) -> list[dict[str, Any]]:
        if self.started:
            return []
        self.started = True
        return [self._chunk({"role": "assistant", "content": ""})]

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The chunks one event produces (often one, sometimes none)."""
        if "messageStart" in event:
            return self._start()
        if "contentBlockStart" in event:
            return self._block_start(event["contentBlockStart"])
        if "contentBlockDelta" in event:
            return self._block_delta(event["contentBlockDelta"])
        if "messageStop" in event:
            out = self._start()
            self.stopped = True
            out.append(self._chunk({}, finish_reason(event["messageStop"].get("stopReason"))))
            if self.usage is not None:
                out.append(self._usage_chunk())
            return out
        if "metadata" in event:
            self.usage = token_counts(event["metadata"].get("usage"))
            return [self._usage_chunk()] if self.stopped else []
        return []  # contentBlockStop and events this gateway does not use

    def _block_start(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        tool_use = (event.get("start") or {}).get("toolUse")
        if not isinstance(tool_use, dict):
            return []
        out = self._start()
        index = len(self._tool_indexes)
        self._tool_indexes[int(event.get("contentBlockIndex", 0))] = index
        call = {
            "index": index,
            "id": tool_use.get("toolUseId", ""),
            "type": "function",
            "function": {"name": tool_use.get("name", ""), "arguments": ""},
        }
        out.append(self._chunk({"tool_calls": [call]}))
        return out

    def _block_delta(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        delta = event.get("delta") or {}
        text = delta.get("text")
        if isinstance(text, str) and text:
            return [*self._start(), self._chunk({"content": text})]
        tool_use = delta.get("toolUse")
        if isinstance(tool_use, dict) and tool_use.get("input"):
            index = self._tool_indexes.get(int(event.get("contentBlockIndex", 0)))
            if index is None:
                raise UpstreamError(f"model '{self.model_id}': tool input arrived for a block that did not start")
            return [*self._start(), self._chunk({"tool_calls": [{"index": index, "function": {"arguments": tool_use["input"]}}]})]
        return []  # reasoning and other block kinds are not forwarded

    def finish(self) -> list[dict[str, Any]]:
        """Called when the event stream ended; an answer without messageStop is a failure."""
        if not self.stopped:
            raise UpstreamError(f"model '{self.model_id}': the stream ended before the answer was complete")
        return []


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


def bedrock_error(model_id: str, exc: BaseException) -> GatewayError:
    """Map anything boto3/botocore/urllib3 raised to the gateway's error (what to retry, what to pass on)."""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, ClientError):
        return _client_error(model_id, exc)
    # botocore's timeout classes are not urllib3's (they derive from a vendored copy), and a
    # read that times out mid-stream raises urllib3's own: all of them are timeouts.
    timeouts = (ReadTimeoutError, ConnectTimeoutError, urllib3.exceptions.TimeoutError)
    if isinstance(exc, timeouts):
        return UpstreamTimeout(f"model '{model_id}': Bedrock did not answer in time ({type(exc).__name__})")
    if isinstance(exc, EndpointConnectionError):
        return UpstreamError(f"model '{model_id}': could not connect to Bedrock ({type(exc).__name__})")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError | NoAuthTokenError):
        return UpstreamError(
            f"model '{model_id}': no AWS credentials or Bedrock API key found ({type(exc).__name__})",
            retry_same=False,
            code="upstream_auth_failed",
        )
    if isinstance(exc, ParamValidationError):
        return UpstreamRejected(f"model '{model_id}': the request is not valid for Bedrock: {_short(str(exc))}")
    if isinstance(exc, InvalidEndpointConfigurationError):
        return UpstreamError(
            f"model '{model_id}': Bedrock endpoint misconfigured: {_short(str(exc))}", retry_same=False, code="upstream_misconfigured"
        )
    if isinstance(
        exc,
        ConnectionClosedError | ResponseStreamingError | urllib3.exceptions.ProtocolError | EventStreamParserError,
    ):
        return UpstreamError(f"model '{model_id}': the Bedrock connection broke ({type(exc).__name__})")
    if isinstance(exc, BotoCoreError | urllib3.exceptions.HTTPError | OSError):
        return UpstreamError(f"model '{model_id}': Bedrock call failed ({type(exc).__name__})")
    return UpstreamError(f"model '{model_id}': Bedrock call failed ({type(exc).__name__}: {_short(str(exc))})")


def _client_error(model_id: str, exc: ClientError) -> GatewayError:
    response: dict[str, Any] = exc.response or {}
    error = response.get("Error") or {}
    code = _exception_name(str(error.get("Code") or ""))
    text = _short(str(error.get("Message") or exc))
    metadata = response.get("ResponseMetadata") or {}
    status = int(metadata.get("HTTPStatusCode") or 0)
    if code in _RATE_LIMITED or (not code and status == 429):
        return UpstreamError(
            f"model '{model_id}' is rate limited by Bedrock ({code or status}): {text}",
            status=429,
            retry_same=False,
            code="upstream_rate_limited",
            retry_after=_retry_after(metadata.get("HTTPHeaders") or {}),
        )
    if code in _TIMED_OUT or status in (408, 504):
        return UpstreamTimeout(f"model '{model_id}': Bedrock timed out ({code or status}): {text}")
    if code in _TRANSIENT:
        return UpstreamError(f"model '{model_id}': Bedrock failed ({code}): {text}", code="upstream_error")
    if code in _AUTH_FAILED or status in (401, 403):
        return UpstreamError(
            f"model '{model_id}': Bedrock rejected gennai's credentials ({code or status}): {text}",
            retry_same=False,
            code="upstream_auth_failed",
        )
    if code == "ValidationException":
        return UpstreamRejected(f"model '{model_id}' rejected the request: {text}")
    if code == "ModelErrorException":
        original = int(response.get("originalStatusCode") or 0)
        if 400 <= original < 500:
            return UpstreamRejected(f"model '{model_id}' rejected the request ({original}): {text}")
        return UpstreamError(f"model '{model_id}': the model failed ({original or code}): {text}", code="upstream_error")
    if code == "ResourceNotFoundException":
        return UpstreamError(
            f"model '{model_id}': Bedrock does not know this model or profile: {text}",
            retry_same=False,
            code="upstream_model_not_found",
        )
    if status >= 500 or status == 0:
        return UpstreamError(f"model '{model_id}': Bedrock failed ({code or status}): {text}", code="upstream_error")
    if status == 413:
        return UpstreamRejected(f"model '{model_id}': request too large for Bedrock: {text}", status=413)
    return UpstreamRejected(f"model '{model_id}' rejected the request ({code or status}): {text}")


def _exception_name(code: str) -> str:
    """Event-stream exceptions arrive as `throttlingException`; HTTP errors as `ThrottlingException`."""
    return code[:1].upper() + code[1:]


def _retry_after(headers: dict[str, Any]) -> float | None:
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _short(text: str) -> str:
    return text[:500]


# ---------------------------------------------------------------------------------------
# Credentials
# ---------------------------------------------------------------------------------------


class _LiveBearerToken:
    """A Bedrock API key read again for every request (botocore calls get_frozen_token)."""

    def __init__(self, read: Callable[[], str | None]) -> None:
        self._read = read

    def get_frozen_token(self) -> FrozenAuthToken | None:
        token = self._read()
        return FrozenAuthToken(token) if token else None


class _BearerTokenProvider:
    """botocore's token_provider component, answering with this model's API key."""

    METHOD = "gennai-api-key"

    def __init__(self, token: _LiveBearerToken) -> None:
        self._token = token

    def load_token(self, **_kwargs: Any) -> _LiveBearerToken:
        return self._token


# ---------------------------------------------------------------------------------------
# Streaming across threads
# ---------------------------------------------------------------------------------------


class _StreamHandle:
    """One ConverseStream's botocore stream, shared by its worker thread and the event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stream: Any = None
        self.cancelled = False

    def attach(self, stream: Any) -> bool:
        """Called by the worker once the response headers arrived; False if already cancelled."""
        with self._lock:
            if self.cancelled:
                return False
            self._stream = stream
            return True

    def cancel(self) -> None:
        """Called on the event loop: stop the worker and wake its blocked read at once."""
        with self._lock:
            self.cancelled = True
            stream = self._stream
        if stream is not None:
            _interrupt_read(stream)


def _interrupt_read(stream: Any) -> None:
    """Shut the socket down for reading so a read blocked in another thread returns now.

    urllib3's HTTPResponse.shutdown() exists for exactly this; botocore's EventStream keeps
    that response as `_raw_stream`. The worker thread then closes the response itself.
    """
    raw = getattr(stream, "_raw_stream", None)
    shutdown = getattr(raw, "shutdown", None)
    if shutdown is None:
        return
    try:
        shutdown()
    except (OSError, ValueError, RuntimeError):
        pass  # already closed or released: nothing is blocked on it


def _close_quietly(stream: Any) -> None:
    try:
        stream.close()
    except Exception:  # noqa: BLE001 - closing a broken connection must not mask the real outcome
        pass


def _drop_result(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


# ---------------------------------------------------------------------------------------
# The provider
# ---------------------------------------------------------------------------------------


class BedrockProvider(Provider):
    kind = "bedrock"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: Any = None
        self._botocore_session: botocore.session.Session | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._uses_api_key = bool(self.model.api_key_env or self.model.api_key_file)

    @property
    def ready(self) -> bool:
        return self._client is not None

    async def start(self) -> None:
        if self._client is not None:
            return
        self._executor = ThreadPoolExecutor(
            max_workers=self.model.max_concurrency + _SPARE_WORKERS, thread_name_prefix=f"bedrock-{self.model.id}"
        )
        loop = asyncio.get_running_loop()
        try:
            self._client = await loop.run_in_executor(self._executor, self._create_client)
        except Exception as exc:  # noqa: BLE001 - reported by the registry; the model stays not ready
            raise UpstreamError(
                f"model '{self.model.id}': the Bedrock client could not be created: {type(exc).__name__}: {_short(str(exc))}",
                retry_same=False,
            ) from None

    def client_config(self) -> Config:
        timeout = self.model.timeout_s
        config = Config(
            # One attempt in all: the dispatcher retries, not botocore. (In a Config, botocore's
            # `max_attempts` counts retries, so `max_attempts=1` would still retry once.)
            retries={"total_max_attempts": 1, "mode": "standard"},
            read_timeout=timeout,
            connect_timeout=min(10.0, timeout),
            max_pool_connections=self.model.max_concurrency,
            user_agent_extra="gennai",
        )
        if self._uses_api_key:
            config = config.merge(Config(signature_version="bearer"))
        return config

    def _create_client(self) -> Any:
        """Runs on a worker thread: resolving credentials may touch files or the instance role."""
        session = botocore.session.Session()
        if self._uses_api_key:
            session.register_component("token_provider", _BearerTokenProvider(_LiveBearerToken(self.credential)))
        self._botocore_session = session
        return boto3.session.Session(botocore_session=session).client(
            SERVICE_NAME,
            region_name=self.model.region,
            endpoint_url=self.model.base_url or None,
            config=self.client_config(),
        )

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def _started(self) -> tuple[Any, ThreadPoolExecutor]:
        if self._client is None or self._executor is None:
            raise UpstreamError(f"model '{self.model.id}' is not started", retry_same=False)
        return self._client, self._executor

    async def _in_thread(self, function: Callable[[], T]) -> T:
        _, executor = self._started()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, function)
        except GatewayError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is mapped, none escapes raw
            raise bedrock_error(self.model.id, exc) from None

    async def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        request = converse_request(body, self.upstream_model)
        client, _ = self._started()
        response: dict[str, Any] = await self._in_thread(lambda: client.converse(**request))
        return chat_completion(response, self.model.id)

    async def _stream_chat(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        request = converse_request(body, self.upstream_model)
        translator = StreamTranslator(self.model.id)
        # aclosing: when this generator is closed early, the event reader is closed at once
        # (which drops the Bedrock connection), not whenever it is garbage-collected.
        async with contextlib.aclosing(self._stream_events(request)) as events:
            async for event in events:
                for item in translator.feed(event):
                    yield item
        for item in translator.finish():
            yield item

    async def _stream_events(self, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """ConverseStream events, read on a worker thread and handed over through a queue."""
        client, executor = self._started()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        handle = _StreamHandle()

        def deliver(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:
                pass  # the event loop is gone (shutdown): nobody is waiting any more

        def pump() -> None:
            stream = None
            try:
                stream = client.converse_stream(**request)["stream"]
                if not handle.attach(stream):
                    return
                for event in stream:
                    if handle.cancelled:
                        return
                    deliver(event)
                deliver(_END)
            except BaseException as exc:  # noqa: BLE001 - handed to the event loop, mapped there
                if not handle.cancelled:
                    deliver(exc)
            finally:
                if stream is not None:
                    _close_quietly(stream)

        try:
            future = loop.run_in_executor(executor, pump)
        except RuntimeError as exc:  # the executor was shut down
            raise bedrock_error(self.model.id, exc) from None
        finished = False
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    finished = True
                    return
                if isinstance(item, BaseException):
                    finished = True
                    raise bedrock_error(self.model.id, item) from None
                yield item
        finally:
            if not finished:
                handle.cancel()
            if not future.done():
                future.add_done_callback(_drop_result)

    async def probe(self) -> ProbeResult:
        """Endpoint reachability and credential presence; no model is called (that would be billed)."""
        if self._client is None:
            return ProbeResult(False, "not started")
        endpoint = str(self._client.meta.endpoint_url)
        credentials_ok, credentials_detail = await self._in_thread(self._credentials_status)
        endpoint_ok, endpoint_detail = await self._endpoint_status(endpoint)
        detail = f"{endpoint_detail}; region {self.model.region}; {credentials_detail}; no model call made"
        return ProbeResult(endpoint_ok and credentials_ok, detail)

    def _credentials_status(self) -> tuple[bool, str]:
        if self._uses_api_key:
            source = f"api_key_env {self.model.api_key_env}" if self.model.api_key_env else f"api_key_file {self.model.api_key_file}"
            found = bool(self.credential())
            return found, f"Bedrock API key ({source}) {'found' if found else 'not found'}"
        session = self._botocore_session
        credentials = session.get_credentials() if session is not None else None
        if credentials is None:
            return False, "AWS credentials not found"
        return True, f"AWS credentials found ({getattr(credentials, 'method', 'unknown source')})"

    async def _endpoint_status(self, endpoint: str) -> tuple[bool, str]:
        """Any HTTP answer from the endpoint root proves DNS, TCP and TLS work; it costs nothing."""
        timeout = aiohttp.ClientTimeout(total=min(self.model.timeout_s, _PROBE_TIMEOUT_S))
        connector = aiohttp.TCPConnector(ssl=self._ssl_context())
        try:
            async with aiohttp.ClientSession(timeout=timeout, connector=connector, trust_env=True) as session:
                async with session.get(endpoint.rstrip("/") + "/") as response:
                    return True, f"endpoint {endpoint} answered (HTTP {response.status})"
        except TimeoutError:
            return False, f"endpoint {endpoint} timed out"
        except aiohttp.ClientError as exc:
            return False, f"endpoint {endpoint} unreachable ({type(exc).__name__})"

    def _ssl_context(self) -> ssl.SSLContext:
        """The CA bundle botocore itself would use (AWS_CA_BUNDLE / ca_bundle), else the system's."""
        bundle = self._botocore_session.get_config_variable("ca_bundle") if self._botocore_session else None
        return ssl.create_default_context(cafile=bundle) if bundle else ssl.create_default_context()
