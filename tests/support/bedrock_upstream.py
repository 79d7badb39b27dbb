"""A Bedrock Runtime on loopback, speaking the real wire protocol, with failures on demand.

It implements the REST-JSON operations boto3 calls:

- `POST /model/{modelId}/converse`: a JSON Converse response;
- `POST /model/{modelId}/converse-stream`: `application/vnd.amazon.eventstream` binary
  frames (prelude with lengths and CRC32, string headers, JSON payload, message CRC32).

Errors are answered as Bedrock answers them: HTTP status, `x-amzn-ErrorType` header and a
JSON `{"message": ...}` body. Every request must carry a valid SigV4 signature for the
expected test credentials (verified with botocore's own signer), or, when the upstream was
given a bearer token, `Authorization: Bearer <token>`.

The model id `jp.test.<behaviour>-v1:0` picks the behaviour:

- `ok`: answers "Hello from Bedrock" (streamed in three deltas), usage 13 in / 5 out;
- `echo`: answers with the JSON request body it received;
- `tools`: a short text and a `get_weather` tool call (`{"city": "東京"}`), stop reason tool_use;
- `truncated`: answers "Hello" with stop reason max_tokens;
- `throttle` (429 ThrottlingException), `fail-500` (InternalServerException),
  `unavailable-503` (ServiceUnavailableException), `bad-400` (ValidationException),
  `denied-403` (AccessDeniedException);
- `slow`: waits 5 s before answering;
- `stall`: streams the start and one delta, then waits 30 s (disconnects are recorded);
- `midstream`: streams two deltas, then drops the connection;
- `midstream-error`: streams two deltas, then a modelStreamErrorException frame;
- `stream-throttle`: the stream's first frame is a throttlingException.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import ssl
import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import orjson
from aiohttp import web

from tests.support.servers import serve_aiohttp
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

EVENTSTREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING_HEADER_TYPE = 7
_MODEL_ID = re.compile(r"^jp\.test\.(?P<behaviour>[a-z0-9-]+?)-v1:0$")
_SIGV4 = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,\s*"
    r"SignedHeaders=(?P<signed>[^,]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
# Real Bedrock pads event payloads with a "p" field so lengths leak nothing; so do we.
_PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123"

OK_TEXT_PIECES = ["Hello", " from", " Bedrock"]
OK_USAGE = {"inputTokens": 13, "outputTokens": 5, "totalTokens": 18}
TOOL_TEXT = "Let me check."
TOOL_USE_ID = "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"
TOOL_ARGUMENT_PIECES = ['{"city": ', '"東京"}']

_ERRORS: dict[str, tuple[int, str, str]] = {
    "throttle": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "fail-500": (500, "InternalServerException", "The server encountered an internal error."),
    "unavailable-503": (503, "ServiceUnavailableException", "Service is temporarily unavailable."),
    "bad-400": (400, "ValidationException", "The model returned the following errors: scripted validation failure"),
    "denied-403": (403, "AccessDeniedException", "You don't have access to the model with the specified model ID."),
}


# ---------------------------------------------------------------------------------------
# The event-stream encoding (application/vnd.amazon.eventstream)
# ---------------------------------------------------------------------------------------


def encode_headers(headers: dict[str, str]) -> bytes:
    """String-typed headers: name length (1 byte), name, type 7, value length (2 bytes), value."""
    out = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode("utf-8"), value.encode("utf-8")
        out += struct.pack(">B", len(raw_name)) + raw_name + struct.pack(">BH", _STRING_HEADER_TYPE, len(raw_value)) + raw_value
    return out


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One frame: total length, headers length, prelude CRC32, headers, payload, message CRC32."""
    encoded_headers = encode_headers(headers)
    total_length = 4 + 4 + 4 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack(">II", total_length, len(encoded_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + encoded_headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event_frame(event_type: str, payload: dict[str, Any]) -> bytes:
    body = {**payload, "p": _PADDING[: 1 + len(event_type) % len(_PADDING)]}
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, orjson.dumps(body))


def exception_frame(exception_type: str, payload: dict[str, Any]) -> bytes:
    headers = {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}
    return encode_message(headers, orjson.dumps(payload))


# ---------------------------------------------------------------------------------------
# Request authentication
# ---------------------------------------------------------------------------------------


def sigv4_problem(method: str, url: str, headers: Any, body: bytes, access_key: str, secret_key: str) -> tuple[str, str] | None:
    """None if the request carries a valid SigV4 signature; else (error type, message) as AWS says it."""
    match = _SIGV4.match(headers.get("Authorization", ""))
    if match is None:
        return "MissingAuthenticationTokenException", "Missing Authentication Token"
    if match["key"] != access_key:
        return "UnrecognizedClientException", "The security token included in the request is invalid."
    if match["service"] != "bedrock":
        return "InvalidSignatureException", f"Credential should be scoped to correct service: 'bedrock', not {match['service']}"
    signed_names = match["signed"].split(";")
    if "host" not in signed_names or "x-amz-date" not in signed_names:
        return "IncompleteSignatureException", "host and x-amz-date must be signed"
    request = AWSRequest(method=method, url=url, data=body, headers={name: headers.get(name, "") for name in signed_names})
    request.context["timestamp"] = headers.get("X-Amz-Date", "")
    signer = SigV4Auth(Credentials(access_key, secret_key), match["service"], match["region"])
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, match["signature"]):
        return "InvalidSignatureException", "The request signature we calculated does not match the signature you provided."
    return None


@dataclass
class ReceivedRequest:
    operation: str  # "converse" or "converse-stream"
    model_id: str
    body: dict[str, Any]
    auth_scheme: str  # "sigv4" or "bearer"
    region: str | None  # the SigV4 credential scope's region


# ---------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------


class BedrockUpstream:
    def __init__(self, access_key: str, secret_key: str, bearer_token: str | None = None) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.bearer_token = bearer_token
        self.requests: list[ReceivedRequest] = []
        self.counts: Counter[str] = Counter()
        self.disconnects: Counter[str] = Counter()
        self.runner: web.AppRunner | None = None

    async def start(self, port: int, ssl_context: ssl.SSLContext | None = None) -> BedrockUpstream:
        app = web.Application()
        app.router.add_post("/model/{model_id}/converse", self.converse)
        app.router.add_post("/model/{model_id}/converse-stream", self.converse_stream)
        # Cancel a handler when its client goes away, so a dropped stream is noticed at once.
        self.runner = await serve_aiohttp(app, port, ssl_context=ssl_context, handler_cancellation=True)
        return self

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def last(self, behaviour: str) -> ReceivedRequest:
        return next(r for r in reversed(self.requests) if _behaviour(r.model_id) == behaviour)

    async def _receive(self, request: web.Request, operation: str) -> tuple[ReceivedRequest | None, web.Response | None]:
        raw = await request.read()
        model_id = unquote(request.match_info["model_id"])
        authorization = request.headers.get("Authorization", "")
        region = None
        if self.bearer_token is not None and authorization.startswith("Bearer "):
            if not hmac.compare_digest(authorization[7:], self.bearer_token):
                return None, error_response(403, "UnrecognizedClientException", "The API key is not valid.")
            scheme = "bearer"
        else:
            url = f"{request.scheme}://{request.host}{request.raw_path}"
            problem = sigv4_problem(request.method, url, request.headers, raw, self.access_key, self.secret_key)
            if problem is not None:
                return None, error_response(403, *problem)
            scheme = "sigv4"
            match = _SIGV4.match(authorization)
            region = match["region"] if match else None
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None, error_response(400, "SerializationException", "Request body is not valid JSON.")
        received = ReceivedRequest(operation, model_id, body, scheme, region)
        self.requests.append(received)
        self.counts[_behaviour(model_id)] += 1
        return received, None

    async def converse(self, request: web.Request) -> web.Response:
        received, failure = await self._receive(request, "converse")
        if failure is not None or received is None:
            return failure or error_response(500, "InternalServerException", "no request")
        behaviour = _behaviour(received.model_id)
        if behaviour in _ERRORS:
            return error_response(*_ERRORS[behaviour])
        if behaviour == "slow":
            await self._sleep(behaviour, 5)
        if behaviour == "tools":
            content: list[dict[str, Any]] = [
                {"text": TOOL_TEXT},
                {"toolUse": {"toolUseId": TOOL_USE_ID, "name": "get_weather", "input": orjson.loads("".join(TOOL_ARGUMENT_PIECES))}},
            ]
            stop_reason = "tool_use"
        elif behaviour == "echo":
            content, stop_reason = [{"text": orjson.dumps(received.body).decode()}], "end_turn"
        elif behaviour == "truncated":
            content, stop_reason = [{"text": "Hello"}], "max_tokens"
        else:
            content, stop_reason = [{"text": "".join(OK_TEXT_PIECES)}], "end_turn"
        return web.json_response(
            {
                "output": {"message": {"role": "assistant", "content": content}},
                "stopReason": stop_reason,
                "usage": OK_USAGE,
                "metrics": {"latencyMs": 42},
            },
            headers={"x-amzn-RequestId": "00000000-0000-4000-8000-000000000001"},
        )

    async def converse_stream(self, request: web.Request) -> web.StreamResponse:
        received, failure = await self._receive(request, "converse-stream")
        if failure is not None or received is None:
            return failure or error_response(500, "InternalServerException", "no request")
        behaviour = _behaviour(received.model_id)
        if behaviour in _ERRORS:
            return error_response(*_ERRORS[behaviour])
        if behaviour == "slow":
            await self._sleep(behaviour, 5)
        response = web.StreamResponse(
            headers={"Content-Type": EVENTSTREAM_CONTENT_TYPE, "x-amzn-RequestId": "00000000-0000-4000-8000-000000000002"}
        )
        await response.prepare(request)
        try:
            await self._write_events(request, response, behaviour, received.body)
        except (ConnectionResetError, asyncio.CancelledError):
            self.disconnects[behaviour] += 1
            raise
        return response

    async def _write_events(self, request: web.Request, response: web.StreamResponse, behaviour: str, body: dict[str, Any]) -> None:
        if behaviour == "stream-throttle":
            await response.write(exception_frame("throttlingException", {"message": "Too many requests, please wait before trying again."}))
            return
        await response.write(event_frame("messageStart", {"role": "assistant"}))
        if behaviour == "tools":
            await self._write_tool_call(response)
            await response.write(event_frame("messageStop", {"stopReason": "tool_use"}))
            await response.write(event_frame("metadata", {"usage": OK_USAGE, "metrics": {"latencyMs": 42}}))
            return
        text = orjson.dumps(body).decode() if behaviour == "echo" else ("Hello" if behaviour == "truncated" else "".join(OK_TEXT_PIECES))
        pieces = OK_TEXT_PIECES if behaviour not in ("echo", "truncated") else [text[i : i + 40] for i in range(0, len(text), 40)]
        for index, piece in enumerate(pieces):
            await response.write(event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}}))
            if behaviour == "stall":
                await self._sleep(behaviour, 30)
            if behaviour == "midstream" and index == 1:
                request.transport.close()  # type: ignore[union-attr]
                return
            if behaviour == "midstream-error" and index == 1:
                await response.write(
                    exception_frame(
                        "modelStreamErrorException",
                        {"message": "scripted model stream error", "originalStatusCode": 500, "originalMessage": "boom"},
                    )
                )
                return
        await response.write(event_frame("contentBlockStop", {"contentBlockIndex": 0}))
        stop_reason = "max_tokens" if behaviour == "truncated" else "end_turn"
        await response.write(event_frame("messageStop", {"stopReason": stop_reason}))
        await response.write(event_frame("metadata", {"usage": OK_USAGE, "metrics": {"latencyMs": 42}}))

    async def _write_tool_call(self, response: web.StreamResponse) -> None:
        await response.write(event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": TOOL_TEXT}}))
        await response.write(event_frame("contentBlockStop", {"contentBlockIndex": 0}))
        start = {"toolUse": {"toolUseId": TOOL_USE_ID, "name": "get_weather"}}
        await response.write(event_frame("contentBlockStart", {"contentBlockIndex": 1, "start": start}))
        for piece in TOOL_ARGUMENT_PIECES:
            await response.write(event_frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": piece}}}))
        await response.write(event_frame("contentBlockStop", {"contentBlockIndex": 1}))

    async def _sleep(self, behaviour: str, seconds: float) -> None:
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            if behaviour == "slow":
                self.disconnects[behaviour] += 1
            raise


def error_response(status: int, error_type: str, message: str) -> web.Response:
    """An error as Bedrock sends it: status, x-amzn-ErrorType (with its namespace suffix), JSON message."""
    return web.json_response(
        {"message": message},
        status=status,
        headers={
            "x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/",
            "x-amzn-RequestId": "00000000-0000-4000-8000-0000000000ee",
        },
    )


def _behaviour(model_id: str) -> str:
    match = _MODEL_ID.match(model_id)
    return match["behaviour"] if match else "ok"
