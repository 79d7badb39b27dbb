"""The Bedrock provider (Converse / ConverseStream through boto3), exercised with the official
openai SDK against a real gennai on loopback in front of a Bedrock Runtime on loopback that
speaks the real wire protocol (REST-JSON, SigV4, binary event streams)."""

from __future__ import annotations

import asyncio
import base64
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from urllib3.exceptions import ProtocolError

from gennai.config import ConfigError, ModelConfig, load_config
from gennai.gateway.errors import InvalidRequest, UpstreamError, UpstreamRejected, UpstreamTimeout
from gennai.gateway.providers.bedrock import (
    BedrockProvider,
    StreamTranslator,
    bedrock_error,
    chat_completion,
    converse_request,
)
from tests.support.bedrock_upstream import (
    OK_TEXT_PIECES,
    TOOL_TEXT,
    TOOL_USE_ID,
    BedrockUpstream,
    encode_message,
    event_frame,
    exception_frame,
)
from tests.support.servers import GennaiServer, admit, running_asyncio_server, running_gennai

ACCESS_KEY = "AKIDGENNAITESTKEY01"
SECRET_KEY = "gennai-test-secret-access-key"
BEARER_TOKEN = "ABSKgennai-test-bedrock-api-key"
REGION = "ap-northeast-1"
MESSAGES = [{"role": "user", "content": "こんにちは"}]
# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def upstream_id(behaviour: str) -> str:
    return f"jp.test.{behaviour}-v1:0"


def bedrock_model_toml(model_id: str, behaviour: str, base_url: str, *, timeout_s: float = 3.0,
                       fallback: list[str] | None = None) -> str:
    return f"""
[[models]]
id = "{model_id}"
display_name = "Bedrock テスト {model_id}"
provider = "bedrock"
base_url = "{base_url}"
region = "{REGION}"
upstream_model = "{upstream_id(behaviour)}"
origin = "foreign"
hosting = "domestic-region"
clearance = 1
capabilities = ["chat", "tools", "vision"]
timeout_s = {timeout_s}
max_concurrency = 4
fallback = {orjson.dumps(fallback or []).decode()}
"""


def isolate_aws_environment(patch: pytest.MonkeyPatch, home: Path) -> None:
    """Only the test credentials: no profile, no config file, no instance role, no proxy."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK",
                 "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", *_PROXY_VARIABLES):
        patch.delenv(name, raising=False)
    patch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    patch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    patch.setenv("AWS_CONFIG_FILE", str(home / "aws-config-absent"))
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "aws-credentials-absent"))


@pytest.fixture(scope="module")
def aws_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        isolate_aws_environment(patch, tmp_path_factory.mktemp("aws"))
        yield


@pytest.fixture(scope="module")
def bedrock_upstream(aws_environment: None) -> Iterator[tuple[BedrockUpstream, str]]:
    upstream = BedrockUpstream(ACCESS_KEY, SECRET_KEY)
    with running_asyncio_server(upstream.start) as port:
        yield upstream, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, bedrock_upstream: tuple[BedrockUpstream, str]) -> Iterator[GennaiServer]:
    _, base = bedrock_upstream
    models = "".join(
        [
            bedrock_model_toml("br-ok", "ok", base),
            bedrock_model_toml("br-echo", "echo", base),
            bedrock_model_toml("br-tools", "tools", base),
            bedrock_model_toml("br-truncated", "truncated", base),
            bedrock_model_toml("br-throttle", "throttle", base),
            bedrock_model_toml("br-throttle-fallback", "throttle", base, fallback=["br-ok"]),
            bedrock_model_toml("br-stream-throttle", "stream-throttle", base),
            bedrock_model_toml("br-broken", "fail-500", base, fallback=["br-ok"]),
            bedrock_model_toml("br-unavailable", "unavailable-503", base),
            bedrock_model_toml("br-bad", "bad-400", base, fallback=["br-ok"]),
            bedrock_model_toml("br-denied", "denied-403", base),
            bedrock_model_toml("br-slow", "slow", base, timeout_s=0.5),
            bedrock_model_toml("br-stall", "stall", base, timeout_s=10.0),
            bedrock_model_toml("br-midstream", "midstream", base),
            bedrock_model_toml("br-midstream-error", "midstream-error", base),
        ]
    )
    with running_gennai(tmp_path_factory.mktemp("gw-bedrock"), models, circuit_threshold=1000) as server:
        yield server


@pytest.fixture()
def client(gateway: GennaiServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.base_url, api_key=gateway.api_key, max_retries=0)


# ---------------------------------------------------------------------------------------
# Through gennai, with the openai SDK
# ---------------------------------------------------------------------------------------


def test_plain_answer(client: openai.OpenAI, bedrock_upstream: tuple[BedrockUpstream, str]) -> None:
    upstream, _ = bedrock_upstream
    response = client.chat.completions.create(model="br-ok", messages=MESSAGES)
    assert response.choices[0].message.content == "Hello from Bedrock"
    assert response.choices[0].finish_reason == "stop"
    assert response.model == "br-ok"
    assert response.usage is not None
    assert (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.total_tokens) == (13, 5, 18)
    received = upstream.last("ok")
    assert received.operation == "converse" and received.model_id == "jp.test.ok-v1:0"
    assert received.auth_scheme == "sigv4" and received.region == REGION  # the signature was verified
    assert received.body["messages"] == [{"role": "user", "content": [{"text": "こんにちは"}]}]


def test_translation_details_reach_bedrock(client: openai.OpenAI, bedrock_upstream: tuple[BedrockUpstream, str]) -> None:
    upstream, _ = bedrock_upstream
    image_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    messages: list[Any] = [
        {"role": "system", "content": "あなたは行政職員を支援します。"},
        {"role": "developer", "content": [{"type": "text", "text": "簡潔に答えてください。"}]},
        {"role": "user", "content": [{"type": "text", "text": "この画像と天気は？"}, {"type": "image_url", "image_url": {"url": image_url}}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "東京"}'}},
                {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "大阪"}'}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "晴れ"},
        {"role": "tool", "tool_call_id": "call_2", "content": "雨"},
        {"role": "user", "content": "まとめてください"},
    ]
    tools: list[Any] = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "天気を調べる",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ]
    response = client.chat.completions.create(
        model="br-echo",
        messages=messages,
        temperature=0.3,
        top_p=0.9,
        max_tokens=256,
        stop=["\n\n", "END"],
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        seed=7,
    )
    echoed = orjson.loads(response.choices[0].message.content or "{}")
    sent = upstream.last("echo").body
    assert echoed == sent
    assert sent["system"] == [{"text": "あなたは行政職員を支援します。"}, {"text": "簡潔に答えてください。"}]
    assert sent["inferenceConfig"] == {"maxTokens": 256, "temperature": 0.3, "topP": 0.9, "stopSequences": ["\n\n", "END"]}
    assert sent["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "天気を調べる",
                    "inputSchema": {"json": tools[0]["function"]["parameters"]},
                }
            }
        ],
        "toolChoice": {"tool": {"name": "get_weather"}},
    }
    turns = sent["messages"]
    assert [turn["role"] for turn in turns] == ["user", "assistant", "user"]
    assert turns[0]["content"] == [
        {"text": "この画像と天気は？"},
        {"image": {"format": "png", "source": {"bytes": base64.b64encode(PNG).decode()}}},
    ]
    assert turns[1]["content"] == [
        {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "東京"}}},
        {"toolUse": {"toolUseId": "call_2", "name": "get_weather", "input": {"city": "大阪"}}},
    ]
    # Both tool results and the next user message merge into one user turn.
    assert turns[2]["content"] == [
        {"toolResult": {"toolUseId": "call_1", "content": [{"text": "晴れ"}]}},
        {"toolResult": {"toolUseId": "call_2", "content": [{"text": "雨"}]}},
        {"text": "まとめてください"},
    ]
    assert "seed" not in sent and "modelId" not in sent  # the model id travels in the URL


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("auto", {"auto": {}}), ("required", {"any": {}}), ("none", None)],
)
def test_tool_choice(client: openai.OpenAI, bedrock_upstream: tuple[BedrockUpstream, str], choice: Any, expected: Any) -> None:
    upstream, _ = bedrock_upstream
    tools: list[Any] = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    client.chat.completions.create(model="br-echo", messages=MESSAGES, tools=tools, tool_choice=choice)
    sent = upstream.last("echo").body
    if expected is None:
        assert "toolConfig" not in sent
    else:
        assert sent["toolConfig"]["toolChoice"] == expected
        assert sent["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"] == {"json": {"type": "object"}}


def test_tool_call_answer(client: openai.OpenAI) -> None:
    tools: list[Any] = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    response = client.chat.completions.create(model="br-tools", messages=MESSAGES, tools=tools)
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == TOOL_TEXT
    assert choice.message.tool_calls is not None and len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.id == TOOL_USE_ID and call.type == "function"
    assert call.function.name == "get_weather"
    assert orjson.loads(call.function.arguments) == {"city": "東京"}


def test_max_tokens_is_length(client: openai.OpenAI) -> None:
    assert client.chat.completions.create(model="br-truncated", messages=MESSAGES).choices[0].finish_reason == "length"
    chunks = list(client.chat.completions.create(model="br-truncated", messages=MESSAGES, stream=True))
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["length"]


def test_streaming_text_with_usage(client: openai.OpenAI, bedrock_upstream: tuple[BedrockUpstream, str]) -> None:
    upstream, _ = bedrock_upstream
    stream = client.chat.completions.create(
        model="br-ok", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].delta.content for c in chunks[1:4]] == OK_TEXT_PIECES
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from Bedrock"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert all(c.model == "br-ok" for c in chunks)
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (13, 5)
    assert upstream.last("ok").operation == "converse-stream"


def test_streaming_without_usage_hides_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="br-ok", messages=MESSAGES, stream=True))
    assert all(c.usage is None and c.choices for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello from Bedrock"


def test_streaming_tool_call(client: openai.OpenAI) -> None:
    tools: list[Any] = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    chunks = list(client.chat.completions.create(model="br-tools", messages=MESSAGES, tools=tools, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    calls: dict[int, dict[str, str]] = {}
    for item in chunks:
        for delta in (item.choices[0].delta.tool_calls or []) if item.choices else []:
            entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += delta.id or ""
            if delta.function is not None:
                entry["name"] += delta.function.name or ""
                entry["arguments"] += delta.function.arguments or ""
    assert text == TOOL_TEXT
    assert list(calls) == [0]
    assert calls[0]["id"] == TOOL_USE_ID and calls[0]["name"] == "get_weather"
    assert orjson.loads(calls[0]["arguments"]) == {"city": "東京"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]


def test_async_sdk(gateway: GennaiServer) -> None:
    async def run() -> tuple[str, str, int]:
        async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key=gateway.api_key, max_retries=0) as client:
            stream = await client.chat.completions.create(
                model="br-ok", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
            streamed = ""
            completion_tokens = 0
            async for item in stream:
                if item.choices:
                    streamed += item.choices[0].delta.content or ""
                if item.usage is not None:
                    completion_tokens = item.usage.completion_tokens
            plain = await client.chat.completions.create(model="br-ok", messages=MESSAGES)
            return streamed, plain.choices[0].message.content or "", completion_tokens

    assert asyncio.run(run()) == ("Hello from Bedrock", "Hello from Bedrock", 5)


@pytest.mark.parametrize("model", ["br-midstream", "br-midstream-error"])
def test_mid_stream_failure_ends_with_error(client: openai.OpenAI, model: str) -> None:
    stream = client.chat.completions.create(model=model, messages=MESSAGES, stream=True)
    received = []
    with pytest.raises(openai.APIError):
        for item in stream:
            received.append(item)
    text = "".join(c.choices[0].delta.content or "" for c in received if c.choices)
    assert text == "Hello from", "the chunks before the failure reach the client"


def test_timeout_is_504(client: openai.OpenAI) -> None:
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="br-slow", messages=MESSAGES)
    assert info.value.status_code == 504
    assert time.monotonic() - started < 3.5


def test_throttle_is_429_without_retry(client: openai.OpenAI, bedrock_upstream: tuple[BedrockUpstream, str]) -> None:
    upstream, _ = bedrock_upstream
    before = upstream.counts["throttle"]
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="br-throttle", messages=MESSAGES)
    assert info.value.status_code == 429 and info.value.code == "upstream_rate_limited"
    assert "ThrottlingException" in info.value.message
    assert upstream.counts["throttle"] - before == 1


def test_throttle_falls_back_at_once(client: openai.OpenAI, bedrock_upstream: tuple[BedrockUpstream, str]) -> None:
    upstream, _ = bedrock_upstream
    before = upstream.counts["throttle"]
    response = client.chat.completions.with_raw_response.create(model="br-throttle-fallback", messages=MESSAGES)
    assert response.headers["x-gennai-model"] == "br-ok"
    assert upstream.counts["throttle"] - before == 1  # not retried, the fallback answered


def test_throttle_event_at_stream_start_is_429(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="br-stream-throttle", messages=MESSAGES, stream=True)
    assert info.value.status_code == 429
    assert info.value.code == "upstream_rate_limited"


def test_5xx_is_502_after_one_retry(client: openai.OpenAI, bedrock_upstream: tuple[BedrockUpstream, str]) -> None:
    upstream, _ = bedrock_upstream
    before = upstream.counts["unavailable-503"]
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="br-unavailable", messages=MESSAGES)
    assert info.value.status_code == 502
    assert "ServiceUnavailableException" in info.value.message
    assert upstream.counts["unavailable-503"] - before == 2


@pytest.mark.parametrize("stream", [False, True])
def test_5xx_falls_back(client: openai.OpenAI, bedrock_upstream: tuple[BedrockUpstream, str], stream: bool) -> None:
    upstream, _ = bedrock_upstream
    before = upstream.counts["fail-500"]
    response = client.chat.completions.with_raw_response.create(model="br-broken", messages=MESSAGES, stream=stream)
    assert response.headers["x-gennai-model"] == "br-ok"
    parsed = response.parse()
    if stream:
        text = "".join(c.choices[0].delta.content or "" for c in parsed if c.choices)  # type: ignore[union-attr]
    else:
        text = parsed.choices[0].message.content  # type: ignore[union-attr]
    assert text == "Hello from Bedrock"
    assert upstream.counts["fail-500"] - before == 2  # one try plus one retry, then the fallback


def test_400_passes_through_without_retry_or_fallback(client: openai.OpenAI,
                                                      bedrock_upstream: tuple[BedrockUpstream, str]) -> None:
    upstream, _ = bedrock_upstream
    before = upstream.counts["bad-400"]
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="br-bad", messages=MESSAGES)
    assert "scripted validation failure" in info.value.message
    assert upstream.counts["bad-400"] - before == 1


def test_access_denied_is_not_retried(client: openai.OpenAI, bedrock_upstream: tuple[BedrockUpstream, str]) -> None:
    upstream, _ = bedrock_upstream
    before = upstream.counts["denied-403"]
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="br-denied", messages=MESSAGES)
    assert info.value.status_code == 502 and info.value.code == "upstream_auth_failed"
    assert upstream.counts["denied-403"] - before == 1


def test_unsupported_image_url_is_refused_before_bedrock(client: openai.OpenAI,
                                                         bedrock_upstream: tuple[BedrockUpstream, str]) -> None:
    upstream, _ = bedrock_upstream
    before = len(upstream.requests)
    content: list[Any] = [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="br-ok", messages=[{"role": "user", "content": content}])
    assert info.value.code == "unsupported"
    assert len(upstream.requests) == before


def test_client_disconnect_drops_the_bedrock_stream(client: openai.OpenAI,
                                                    bedrock_upstream: tuple[BedrockUpstream, str]) -> None:
    # The upstream stalls after one delta; the model's timeout is 10 s. Closing the client's
    # stream must drop the Bedrock connection at once, not when a timeout fires.
    upstream, _ = bedrock_upstream
    before = upstream.disconnects["stall"]
    stream = client.chat.completions.create(model="br-stall", messages=MESSAGES, stream=True)
    iterator = iter(stream)
    assert next(iterator).choices[0].delta.role == "assistant"
    assert next(iterator).choices[0].delta.content == "Hello"
    closed_at = time.monotonic()
    stream.close()
    while upstream.disconnects["stall"] == before and time.monotonic() - closed_at < 8:
        time.sleep(0.02)
    assert upstream.disconnects["stall"] == before + 1
    assert time.monotonic() - closed_at < 3


# ---------------------------------------------------------------------------------------
# The provider directly: credentials, bearer tokens, probe
# ---------------------------------------------------------------------------------------


def direct_model(base_url: str, behaviour: str = "ok", **extra: Any) -> ModelConfig:
    return ModelConfig(
        id="direct",
        display_name="direct",
        provider="bedrock",
        base_url=base_url,
        region=REGION,
        upstream_model=upstream_id(behaviour),
        origin="foreign",
        hosting="domestic-region",
        clearance=1,
        max_concurrency=2,
        **{"timeout_s": 3.0, **extra},
    )


def test_closing_the_generator_drops_the_connection(bedrock_upstream: tuple[BedrockUpstream, str]) -> None:
    # Closed while it waits at a `yield` (the client left between two chunks), not while it
    # waits for Bedrock: the worker thread is blocked on the stalled socket all the same.
    upstream, base = bedrock_upstream
    before = upstream.disconnects["stall"]

    async def run() -> float:
        provider = BedrockProvider(direct_model(base, "stall", timeout_s=10.0))
        await provider.start()
        try:
            stream = provider.stream_chat({"messages": MESSAGES}, admit(provider))
            assert (await anext(stream))["choices"][0]["delta"]["role"] == "assistant"
            assert (await anext(stream))["choices"][0]["delta"]["content"] == "Hello"
            await asyncio.sleep(0.1)  # the worker is now blocked reading the stalled stream
            closed_at = time.monotonic()
            await stream.aclose()
            while upstream.disconnects["stall"] == before and time.monotonic() - closed_at < 8:
                await asyncio.sleep(0.02)
            return time.monotonic() - closed_at
        finally:
            await provider.close()

    elapsed = asyncio.run(run())
    assert upstream.disconnects["stall"] == before + 1 and elapsed < 3


def test_calls_do_not_block_the_event_loop(bedrock_upstream: tuple[BedrockUpstream, str]) -> None:
    _, base = bedrock_upstream

    async def run() -> tuple[int, UpstreamError | None]:
        provider = BedrockProvider(direct_model(base, "slow", timeout_s=1.0))
        await provider.start()
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        ticker = asyncio.ensure_future(tick())
        try:
            await provider.chat({"messages": MESSAGES}, admit(provider))
        except UpstreamError as exc:
            return ticks, exc
        finally:
            ticker.cancel()
            await provider.close()
        return ticks, None

    ticks, error = asyncio.run(run())
    assert isinstance(error, UpstreamTimeout)  # botocore's read timeout, mapped
    assert ticks >= 10  # the loop kept running for the whole second


def test_probe_reports_endpoint_and_credentials(bedrock_upstream: tuple[BedrockUpstream, str]) -> None:
    upstream, base = bedrock_upstream
    before = len(upstream.requests)

    async def run() -> tuple[bool, str]:
        provider = BedrockProvider(direct_model(base))
        await provider.start()
        try:
            result = await provider.probe()
        finally:
            await provider.close()
        return result.reachable, result.detail

    reachable, detail = asyncio.run(run())
    assert reachable, detail
    assert f"endpoint {base} answered" in detail and REGION in detail and "AWS credentials found (env)" in detail
    assert len(upstream.requests) == before  # no model call


def test_probe_without_credentials(bedrock_upstream: tuple[BedrockUpstream, str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, base = bedrock_upstream
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    async def run() -> tuple[bool, str, Exception | None]:
        provider = BedrockProvider(direct_model(base))
        await provider.start()
        try:
            result = await provider.probe()
            try:
                await provider.chat({"messages": MESSAGES}, admit(provider))
            except UpstreamError as exc:
                return result.reachable, result.detail, exc
            return result.reachable, result.detail, None
        finally:
            await provider.close()

    reachable, detail, error = asyncio.run(run())
    assert not reachable and "AWS credentials not found" in detail
    assert isinstance(error, UpstreamError) and error.code == "upstream_auth_failed" and not error.retry_same


def test_bearer_token_needs_https(bedrock_upstream: tuple[BedrockUpstream, str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, base = bedrock_upstream
    monkeypatch.setenv("GENNAI_TEST_BEDROCK_KEY", BEARER_TOKEN)

    async def run() -> UpstreamError:
        provider = BedrockProvider(direct_model(base, api_key_env="GENNAI_TEST_BEDROCK_KEY"))
        await provider.start()
        try:
            await provider.chat({"messages": MESSAGES}, admit(provider))
        except UpstreamError as exc:
            return exc
        finally:
            await provider.close()
        raise AssertionError("a bearer token went out over plain HTTP")

    error = asyncio.run(run())
    assert error.code == "upstream_misconfigured" and "HTTPS" in error.message


@pytest.fixture()
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a loopback TLS certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_bedrock_api_key_is_sent_as_bearer_token(tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    cert, key = tls_files
    isolate_aws_environment(monkeypatch, tmp_path)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")  # the API key alone must be enough
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
    key_file = tmp_path / "bedrock.key"
    key_file.write_text(BEARER_TOKEN + "\n", encoding="utf-8")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    upstream = BedrockUpstream(ACCESS_KEY, SECRET_KEY, bearer_token=BEARER_TOKEN)

    async def run(base: str) -> tuple[str, str, UpstreamError | None, bool]:
        provider = BedrockProvider(direct_model(base, api_key_file="bedrock.key"), base_dir=tmp_path)
        await provider.start()
        try:
            answer = await provider.chat({"messages": MESSAGES}, admit(provider))
            streamed = "".join(
                [c["choices"][0]["delta"].get("content", "") async for c in provider.stream_chat({"messages": MESSAGES}, admit(provider)) if c["choices"]]
            )
            key_file.write_text("rotated-but-wrong", encoding="utf-8")  # read again on every request
            rejected: UpstreamError | None = None
            try:
                await provider.chat({"messages": MESSAGES}, admit(provider))
            except UpstreamError as exc:
                rejected = exc
            probe = await provider.probe()
            return answer["choices"][0]["message"]["content"], streamed, rejected, probe.reachable
        finally:
            await provider.close()

    with running_asyncio_server(upstream.start, context) as port:
        answer, streamed, rejected, reachable = asyncio.run(run(f"https://127.0.0.1:{port}"))
    assert answer == streamed == "Hello from Bedrock"
    assert [r.auth_scheme for r in upstream.requests] == ["bearer", "bearer"]
    assert rejected is not None and rejected.code == "upstream_auth_failed"
    assert reachable  # the probe trusts the same CA bundle as botocore


# ---------------------------------------------------------------------------------------
# Unit tests: translation, errors, event-stream encoding
# ---------------------------------------------------------------------------------------


def test_converse_request_minimal() -> None:
    request = converse_request({"model": "x", "messages": MESSAGES}, "jp.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert request == {
        "modelId": "jp.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "messages": [{"role": "user", "content": [{"text": "こんにちは"}]}],
    }


def test_converse_request_parameters() -> None:
    request = converse_request(
        {"messages": MESSAGES, "max_completion_tokens": 50, "max_tokens": 10, "stop": "。", "temperature": 0},
        "jp.m",
    )
    assert request["inferenceConfig"] == {"maxTokens": 50, "temperature": 0, "stopSequences": ["。"]}


def test_converse_request_images_are_bytes() -> None:
    url = "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8jpeg").decode()
    request = converse_request(
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url, "detail": "low"}}]}]}, "jp.m"
    )
    assert request["messages"][0]["content"] == [{"image": {"format": "jpeg", "source": {"bytes": b"\xff\xd8jpeg"}}}]


def test_tool_choice_none_keeps_tools_when_history_has_tool_calls() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "r"},
        ],
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "tool_choice": "none",
    }
    request = converse_request(body, "jp.m")
    assert request["toolConfig"] == {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object", "properties": {}}}}}]}
    assert request["messages"][1]["content"] == [{"toolUse": {"toolUseId": "c1", "name": "f", "input": {}}}]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/bmp;base64,AAAA"}}]}]},
         "messages[0].content[0]"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,%%%"}}]}]},
         "messages[0].content[0]"),
        ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]}, "messages[0].content[0]"),
        ({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{oops"}}]}]},
         "messages[0].tool_calls[0].function.arguments"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        ({"messages": [{"role": "function", "name": "f", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "system", "content": "only a system message"}]}, "messages"),
        ({"messages": MESSAGES, "tools": [{"type": "code_interpreter"}]}, "tools[0]"),
        ({"messages": MESSAGES, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "sometimes"}, "tool_choice"),
        ({"messages": MESSAGES, "response_format": {"type": "json_object"}}, "response_format"),
    ],
)
def test_converse_request_refuses_what_bedrock_cannot_take(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        converse_request(body, "jp.m")
    assert info.value.param == param and info.value.status == 400


@pytest.mark.parametrize(
    ("stop_reason", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("content_filtered", "content_filter"),
        ("guardrail_intervened", "content_filter"),
    ],
)
def test_chat_completion_finish_reasons(stop_reason: str, expected: str) -> None:
    response = {"output": {"message": {"role": "assistant", "content": [{"text": "x"}]}}, "stopReason": stop_reason,
                "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}}
    result = chat_completion(response, "gennai-id")
    assert result["choices"][0]["finish_reason"] == expected
    assert result["model"] == "gennai-id" and result["object"] == "chat.completion"


def test_chat_completion_tool_only_answer_and_cached_tokens() -> None:
    response = {
        "output": {"message": {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "f", "input": {"a": "日本"}}}]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 10, "outputTokens": 2, "totalTokens": 112, "cacheReadInputTokens": 100},
    }
    result = chat_completion(response, "m")
    message = result["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a":"日本"}'}}]
    assert result["usage"] == {"prompt_tokens": 110, "completion_tokens": 2, "total_tokens": 112}


def test_stream_translator_orders_chunks() -> None:
    translator = StreamTranslator("m")
    events: list[dict[str, Any]] = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "hi"}}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"contentBlockStart": {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t1", "name": "f"}}}},
        {"contentBlockDelta": {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"a":'}}}},
        {"contentBlockDelta": {"contentBlockIndex": 1, "delta": {"toolUse": {"input": "1}"}}}},
        {"contentBlockStart": {"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "t2", "name": "g"}}}},
        {"messageStop": {"stopReason": "tool_use"}},
        {"metadata": {"usage": {"inputTokens": 7, "outputTokens": 3}}},
    ]
    chunks = [item for event in events for item in translator.feed(event)] + translator.finish()
    deltas = [c["choices"][0]["delta"] if c["choices"] else None for c in chunks]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert deltas[1] == {"content": "hi"}
    assert deltas[2] == {"tool_calls": [{"index": 0, "id": "t1", "type": "function", "function": {"name": "f", "arguments": ""}}]}
    assert deltas[3] == {"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}
    assert deltas[4] == {"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}
    assert deltas[5]["tool_calls"][0]["index"] == 1  # type: ignore[index]
    assert chunks[6]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[7]["choices"] == [] and chunks[7]["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    assert len(chunks) == 8 and len({c["id"] for c in chunks}) == 1


def test_stream_translator_needs_message_stop() -> None:
    translator = StreamTranslator("m")
    translator.feed({"messageStart": {"role": "assistant"}})
    translator.feed({"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "partial"}}})
    with pytest.raises(UpstreamError):
        translator.finish()


def client_error(code: str, status: int | None, message: str = "scripted", **extra: Any) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": message}, **extra}
    if status is not None:
        response["ResponseMetadata"] = {"HTTPStatusCode": status, "HTTPHeaders": {}}
    return ClientError(response, "Converse")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "kind", "status", "retry_same", "fallback", "code"),
    [
        (client_error("ThrottlingException", 429), UpstreamError, 429, False, True, "upstream_rate_limited"),
        (client_error("ServiceQuotaExceededException", 400), UpstreamError, 429, False, True, "upstream_rate_limited"),
        (client_error("throttlingException", None), UpstreamError, 429, False, True, "upstream_rate_limited"),
        (client_error("ServiceUnavailableException", 503), UpstreamError, 502, True, True, "upstream_error"),
        (client_error("InternalServerException", 500), UpstreamError, 502, True, True, "upstream_error"),
        (client_error("ModelNotReadyException", 429), UpstreamError, 502, True, True, "upstream_error"),
        (client_error("modelStreamErrorException", None), UpstreamError, 502, True, True, "upstream_error"),
        (client_error("internalServerException", None), UpstreamError, 502, True, True, "upstream_error"),
        (client_error("ModelTimeoutException", 408), UpstreamTimeout, 504, True, True, "upstream_timeout"),
        (client_error("SomethingNew", 502), UpstreamError, 502, True, True, "upstream_error"),
        (client_error("ValidationException", 400), UpstreamRejected, 400, False, False, None),
        (client_error("validationException", None), UpstreamRejected, 400, False, False, None),
        (client_error("ModelErrorException", 424, originalStatusCode=400), UpstreamRejected, 400, False, False, None),
        (client_error("ModelErrorException", 424, originalStatusCode=500), UpstreamError, 502, True, True, "upstream_error"),
        (client_error("AccessDeniedException", 403), UpstreamError, 502, False, True, "upstream_auth_failed"),
        (client_error("UnrecognizedClientException", 403), UpstreamError, 502, False, True, "upstream_auth_failed"),
        (client_error("ResourceNotFoundException", 404), UpstreamError, 502, False, True, "upstream_model_not_found"),
        (ReadTimeoutError(endpoint_url="https://x"), UpstreamTimeout, 504, True, True, "upstream_timeout"),
        (ConnectTimeoutError(endpoint_url="https://x"), UpstreamTimeout, 504, True, True, "upstream_timeout"),
        (EndpointConnectionError(endpoint_url="https://x"), UpstreamError, 502, True, True, None),
        (ProtocolError("Response ended prematurely"), UpstreamError, 502, True, True, None),
        (NoCredentialsError(), UpstreamError, 502, False, True, "upstream_auth_failed"),
        (ParamValidationError(report="bad"), UpstreamRejected, 400, False, False, None),
    ],
)
def test_error_mapping(error: Exception, kind: type, status: int, retry_same: bool, fallback: bool, code: str | None) -> None:
    mapped = bedrock_error("m", error)
    assert type(mapped) is kind
    assert (mapped.status, mapped.retry_same, mapped.fallback, mapped.code) == (status, retry_same, fallback, code)  # type: ignore[attr-defined]


def test_eventstream_encoder_round_trips_through_botocore() -> None:
    frames = [
        event_frame("messageStart", {"role": "assistant"}),
        event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "日本語"}}),
        exception_frame("modelStreamErrorException", {"message": "boom"}),
        encode_message({":event-type": "empty"}, b""),
    ]
    buffer = EventStreamBuffer()
    data = b"".join(frames)
    for start in range(0, len(data), 7):  # arrive in awkward pieces, as from a socket
        buffer.add_data(data[start : start + 7])
    messages = list(buffer)
    assert len(messages) == 4
    assert messages[0].headers == {":event-type": "messageStart", ":content-type": "application/json", ":message-type": "event"}
    payload = orjson.loads(messages[1].payload)
    assert payload["delta"] == {"text": "日本語"} and "p" in payload
    assert messages[2].headers[":message-type"] == "exception"
    assert messages[2].headers[":exception-type"] == "modelStreamErrorException"
    assert messages[2].to_response_dict()["status_code"] == 400
    assert messages[3].payload == b"" and messages[3].prelude.total_length == len(frames[3])


def test_eventstream_encoder_crc_is_checked_by_botocore() -> None:
    frame = bytearray(event_frame("messageStop", {"stopReason": "end_turn"}))
    frame[-6] ^= 0xFF  # corrupt the payload
    buffer = EventStreamBuffer()
    buffer.add_data(bytes(frame))
    with pytest.raises(Exception, match="[Cc]hecksum"):
        list(buffer)


# ---------------------------------------------------------------------------------------
# The data-residency rule in config.py for bedrock models
# ---------------------------------------------------------------------------------------


def write_bedrock_config(tmp_path: Path, *, region: str, upstream_model: str, hosting: str, clearance: int) -> Path:
    path = tmp_path / "gennai.toml"
    path.write_text(
        f"""
[[models]]
id = "claude"
display_name = "Claude"
provider = "bedrock"
region = "{region}"
upstream_model = "{upstream_model}"
origin = "foreign"
hosting = "{hosting}"
clearance = {clearance}
""",
        encoding="utf-8",
    )
    return path


CLAUDE = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def test_domestic_hosting_outside_japan_is_refused(tmp_path: Path) -> None:
    path = write_bedrock_config(tmp_path, region="us-east-1", upstream_model=f"jp.{CLAUDE}", hosting="domestic-region", clearance=1)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    message = str(info.value)
    assert f"{path}:2: models[0]:" in message
    assert "region 'us-east-1'" in message and "ap-northeast-1" in message


APPLICATION_PROFILE = "arn:aws:bedrock:ap-northeast-1:123456789012:application-inference-profile/a1b2c3"


@pytest.mark.parametrize("profile", [f"apac.{CLAUDE}", f"global.{CLAUDE}", f"us.{CLAUDE}", APPLICATION_PROFILE])
def test_domestic_hosting_refuses_profiles_that_may_leave_japan(tmp_path: Path, profile: str) -> None:
    path = write_bedrock_config(tmp_path, region="ap-northeast-1", upstream_model=profile, hosting="domestic-region", clearance=1)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    message = str(info.value)
    assert "models[0]" in message and "'jp.'" in message and profile in message


@pytest.mark.parametrize("region", ["ap-northeast-1", "ap-northeast-3"])
@pytest.mark.parametrize("upstream_model", [f"jp.{CLAUDE}", CLAUDE])  # a jp. profile, or in-region invocation
def test_japanese_region_with_jp_profile_or_base_model_is_accepted(tmp_path: Path, region: str, upstream_model: str) -> None:
    path = write_bedrock_config(tmp_path, region=region, upstream_model=upstream_model, hosting="domestic-region", clearance=2)
    model = load_config(path, environ={}).config.models[0]
    assert (model.region, model.upstream_model) == (region, upstream_model)


def test_overseas_hosting_may_use_any_region_at_clearance_1(tmp_path: Path) -> None:
    path = write_bedrock_config(tmp_path, region="us-east-1", upstream_model=f"global.{CLAUDE}", hosting="overseas", clearance=1)
    assert load_config(path, environ={}).config.models[0].hosting == "overseas"


def test_overseas_hosting_above_clearance_1_is_refused(tmp_path: Path) -> None:
    path = write_bedrock_config(tmp_path, region="us-east-1", upstream_model=f"global.{CLAUDE}", hosting="overseas", clearance=2)
    with pytest.raises(ConfigError, match="clearance = 1"):
        load_config(path, environ={})
