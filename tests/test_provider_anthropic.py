"""The Anthropic provider: pure translation functions, then the provider itself against a
loopback server speaking the real Messages API wire protocol, and finally a real gennai in
front of it, exercised with the official openai SDK."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import orjson
import pytest
from anthropic.types import (
    Message,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
)

from gennai.config import ModelConfig
from gennai.gateway.errors import UpstreamError, UpstreamRejected, UpstreamTimeout
from gennai.gateway.providers.anthropic import (
    DEFAULT_MAX_TOKENS,
    AnthropicProvider,
    StreamTranslator,
    finish_reason,
    image_block,
    map_sdk_error,
    sdk_arguments,
    sdk_base_url,
    to_chat_completion,
    to_messages_request,
    translate_messages,
    translate_tool_choice,
    translate_tools,
)
from tests.support.anthropic_upstream import API_KEY, OK_TEXT, AnthropicUpstream, presented_key
from tests.support.servers import GennaiServer, admit, free_port, running_asyncio_server, running_gennai

KEY_ENV = "GENNAI_TEST_ANTHROPIC_KEY"
UNSET_KEY_ENV = "GENNAI_TEST_ANTHROPIC_KEY_UNSET"
MESSAGES = [{"role": "user", "content": "こんにちは"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME_TOOL = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
PNG_DATA_URL = "data:image/png;base64,iVBORw0KGgo="


# ---------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def anthropic_upstream() -> Iterator[tuple[AnthropicUpstream, str]]:
    """A scripted Anthropic Messages API server on loopback: (server, base_url)."""
    upstream = AnthropicUpstream()
    with running_asyncio_server(upstream.start) as port:
        yield upstream, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def api_key_in_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, API_KEY)
        patch.delenv(UNSET_KEY_ENV, raising=False)
        yield


def model_toml(
    model_id: str,
    upstream_model: str,
    base_url: str,
    *,
    timeout_s: float = 2.0,
    fallback: list[str] | None = None,
    key_env: str = KEY_ENV,
) -> str:
    return f"""
[[models]]
id = "{model_id}"
display_name = "Claude {model_id}"
provider = "anthropic"
base_url = "{base_url}"
upstream_model = "{upstream_model}"
api_key_env = "{key_env}"
origin = "foreign"
hosting = "domestic-region"
region = "ap-northeast-1"
clearance = 1
capabilities = ["chat", "tools", "vision"]
timeout_s = {timeout_s}
max_concurrency = 8
fallback = {orjson.dumps(fallback or []).decode()}
"""


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory,
    anthropic_upstream: tuple[AnthropicUpstream, str],
    api_key_in_env: None,
) -> Iterator[GennaiServer]:
    _, base = anthropic_upstream
    models = "".join(
        [
            model_toml("claude", "ok", base),
            # The configured URL may name /v1 or not: the SDK adds it.
            model_toml("claude-echo", "echo", base + "/v1"),
            model_toml("claude-tools", "tool-call", base),
            model_toml("claude-length", "length", base),
            model_toml("claude-broken", "fail-500", base, fallback=["claude"]),
            model_toml("claude-broken-alone", "fail-500", base),
            model_toml("claude-overloaded", "overloaded-529", base),
            model_toml("claude-flaky", "flaky", base),
            model_toml("claude-limited", "rate-429", base),
            model_toml("claude-bad", "bad-400", base, fallback=["claude"]),
            model_toml("claude-slow", "slow", base, timeout_s=0.5),
            model_toml("claude-drip", "drip", base),
            model_toml("claude-midstream", "midstream", base),
            model_toml("claude-midstream-error", "midstream-error", base),
            model_toml("claude-nokey", "ok", base, key_env=UNSET_KEY_ENV),
        ]
    )
    with running_gennai(tmp_path_factory.mktemp("anthropic-gw"), models) as server:
        yield server


@pytest.fixture()
def client(gateway: GennaiServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.base_url, api_key=gateway.api_key, max_retries=0)


def provider_for(
    base_url: str, upstream_model: str = "ok", *, key_env: str | None = KEY_ENV, key_file: Path | None = None
) -> AnthropicProvider:
    config = ModelConfig(
        id="claude-direct",
        display_name="Claude direct",
        provider="anthropic",
        base_url=base_url,
        upstream_model=upstream_model,
        api_key_env=key_env if key_file is None else None,
        api_key_file=str(key_file) if key_file is not None else None,
        origin="foreign",
        hosting="domestic-region",
        region="ap-northeast-1",
        clearance=1,
        capabilities=["chat", "tools", "vision"],
        timeout_s=2.0,
    )
    return AnthropicProvider(config, Path.cwd())


# ---------------------------------------------------------------------------
# Pure translation: request


def test_system_and_developer_messages_become_the_system_prompt() -> None:
    system, turns = translate_messages(
        [
            {"role": "system", "content": "あなたは行政文書の校正者です。"},
            {"role": "developer", "content": [{"type": "text", "text": "敬語で"}, {"type": "text", "text": "簡潔に"}]},
            {"role": "user", "content": "確認してください"},
        ]
    )
    assert system == "あなたは行政文書の校正者です。\n\n敬語で\n簡潔に"
    assert turns == [{"role": "user", "content": [{"type": "text", "text": "確認してください"}]}]


def test_consecutive_turns_of_one_role_are_merged() -> None:
    _, turns = translate_messages(
        [
            {"role": "user", "content": "一"},
            {"role": "user", "content": "二"},
            {"role": "assistant", "content": "三"},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": "四"},
        ]
    )
    assert [turn["role"] for turn in turns] == ["user", "assistant", "user"]
    assert turns[0]["content"] == [{"type": "text", "text": "一"}, {"type": "text", "text": "二"}]


def test_tool_calls_and_tool_results() -> None:
    _, turns = translate_messages(
        [
            {"role": "user", "content": "東京と大阪の天気は？"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"東京"}'}},
                    {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"大阪"}'}},
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "晴れ"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "雨"}]},
            {"role": "user", "content": "ありがとう"},
        ]
    )
    assert [turn["role"] for turn in turns] == ["user", "assistant", "user"]
    assert turns[1]["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "東京"}},
        {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "大阪"}},
    ]
    assert turns[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "晴れ"},
        {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "雨"}]},
        {"type": "text", "text": "ありがとう"},
    ]


def test_image_parts() -> None:
    assert image_block(PNG_DATA_URL) == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }
    assert image_block("https://example.go.jp/a.jpg") == {
        "type": "image",
        "source": {"type": "url", "url": "https://example.go.jp/a.jpg"},
    }
    with pytest.raises(UpstreamRejected):
        image_block("file:///etc/passwd")
    _, turns = translate_messages(
        [{"role": "user", "content": [{"type": "text", "text": "何の図？"}, {"type": "image_url", "image_url": {"url": PNG_DATA_URL}}]}]
    )
    assert [block["type"] for block in turns[0]["content"]] == ["text", "image"]


def test_pdf_file_part_becomes_a_document_block() -> None:
    part = {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}}
    _, turns = translate_messages([{"role": "user", "content": [part]}])
    assert turns[0]["content"] == [
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}}
    ]
    with pytest.raises(UpstreamRejected):
        translate_messages([{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-1"}}]}])


def test_unsupported_content_is_rejected_before_sending() -> None:
    with pytest.raises(UpstreamRejected) as info:
        translate_messages([{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}])
    assert info.value.param == "messages[0].content[0].type" and info.value.status == 400
    with pytest.raises(UpstreamRejected):
        translate_messages([{"role": "function", "name": "f", "content": "x"}])
    with pytest.raises(UpstreamRejected) as info:
        translate_messages(
            [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "not json"}}]}]
        )
    assert info.value.param == "messages[0].tool_calls[0].function.arguments"


def test_request_fields() -> None:
    body = {
        "model": "claude",
        "messages": [{"role": "system", "content": "S"}, *MESSAGES],
        "stop": "\n\n",
        "max_completion_tokens": 77,
        "max_tokens": 5,
        "temperature": 1.6,
        "top_p": 0.9,
        "user": "staff-42",
        "seed": 3,
        "frequency_penalty": 0.5,
        "stream_options": {"include_usage": True},
        "response_format": {"type": "text"},
        "n": 1,
    }
    request = to_messages_request(body, "claude-sonnet-upstream")
    assert request == {
        "model": "claude-sonnet-upstream",
        "max_tokens": 77,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "こんにちは"}]}],
        "system": "S",
        "stop_sequences": ["\n\n"],
        "temperature": 1.0,  # Anthropic's range is 0..1
        "top_p": 0.9,
        "metadata": {"user_id": "staff-42"},
    }
    assert to_messages_request({"messages": MESSAGES, "stop": ["a", "b"]}, "m")["stop_sequences"] == ["a", "b"]
    assert to_messages_request({"messages": MESSAGES}, "m")["max_tokens"] == DEFAULT_MAX_TOKENS


def test_sdk_arguments_put_sampling_fields_in_extra_body() -> None:
    arguments = sdk_arguments({"model": "m", "max_tokens": 1, "messages": [], "temperature": 0.2, "top_p": 0.5})
    assert arguments == {"model": "m", "max_tokens": 1, "messages": [], "extra_body": {"temperature": 0.2, "top_p": 0.5}}
    assert "extra_body" not in sdk_arguments({"model": "m", "max_tokens": 1, "messages": []})


def test_tools_and_tool_choice() -> None:
    assert translate_tools([WEATHER_TOOL, TIME_TOOL]) == [
        {
            "name": "get_weather",
            "input_schema": WEATHER_TOOL["function"]["parameters"],
            "description": "Weather for a city",
        },
        {"name": "get_time", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert translate_tool_choice("auto") == {"type": "auto"}
    assert translate_tool_choice("none") == {"type": "none"}
    assert translate_tool_choice("required") == {"type": "any"}
    assert translate_tool_choice({"type": "function", "function": {"name": "get_time"}}) == {"type": "tool", "name": "get_time"}
    assert translate_tool_choice(None) is None
    assert translate_tool_choice(None, False) == {"type": "auto", "disable_parallel_tool_use": True}
    assert translate_tool_choice("required", False) == {"type": "any", "disable_parallel_tool_use": True}
    with pytest.raises(UpstreamRejected):
        translate_tool_choice("sometimes")
    with pytest.raises(UpstreamRejected):
        translate_tools([{"type": "custom", "custom": {"name": "x"}}])
    # tool_choice without tools is left out (Anthropic would reject it).
    assert "tool_choice" not in to_messages_request({"messages": MESSAGES, "tool_choice": "auto"}, "m")


def test_base_url() -> None:
    assert sdk_base_url(None) == "https://api.anthropic.com"
    assert sdk_base_url("http://127.0.0.1:9/v1/") == "http://127.0.0.1:9"
    assert sdk_base_url("https://proxy.example.go.jp/anthropic") == "https://proxy.example.go.jp/anthropic"


# ---------------------------------------------------------------------------
# Pure translation: response


def test_message_to_chat_completion() -> None:
    message = Message.model_validate(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "upstream",
            "content": [
                {"type": "text", "text": "調べます。"},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "東京"}},
            ],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "cache_creation_input_tokens": 4, "cache_read_input_tokens": 6, "output_tokens": 7},
        }
    )
    completion = to_chat_completion(message, "claude")
    assert completion["object"] == "chat.completion" and completion["model"] == "claude"
    assert completion["id"] == "chatcmpl-msg_1"
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "調べます。"
    assert choice["message"]["tool_calls"] == [
        {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"東京"}'}}
    ]
    assert completion["usage"]["prompt_tokens"] == 20
    assert completion["usage"]["completion_tokens"] == 7 and completion["usage"]["total_tokens"] == 27


def test_finish_reasons() -> None:
    assert [finish_reason(r) for r in ("end_turn", "stop_sequence", "max_tokens", "tool_use", "refusal")] == [
        "stop",
        "stop",
        "length",
        "tool_calls",
        "content_filter",
    ]
    assert finish_reason(None) is None


def test_stream_translator_sequence() -> None:
    usage = {"input_tokens": 9, "cache_read_input_tokens": 1, "output_tokens": 1}
    events = [
        RawMessageStartEvent.model_validate(
            {
                "type": "message_start",
                "message": {
                    "id": "msg_s", "type": "message", "role": "assistant", "model": "u", "content": [],
                    "stop_reason": None, "stop_sequence": None, "usage": usage,
                },
            }
        ),
        RawContentBlockStartEvent.model_validate({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        RawContentBlockDeltaEvent.model_validate({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "はい"}}),
        RawContentBlockStopEvent.model_validate({"type": "content_block_stop", "index": 0}),
        RawContentBlockStartEvent.model_validate(
            {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_9", "name": "f", "input": {}}}
        ),
        RawContentBlockDeltaEvent.model_validate(
            {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"a":'}}
        ),
        RawContentBlockDeltaEvent.model_validate(
            {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "1}"}}
        ),
        RawContentBlockStopEvent.model_validate({"type": "content_block_stop", "index": 1}),
        RawMessageDeltaEvent.model_validate(
            {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None}, "usage": {"output_tokens": 8}}
        ),
        RawMessageStopEvent.model_validate({"type": "message_stop"}),
    ]
    translator = StreamTranslator("claude")
    chunks = [item for event in events for item in translator.translate(event)]
    assert translator.finished
    assert all(c["model"] == "claude" and c["id"] == "chatcmpl-msg_s" for c in chunks)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert deltas[1] == {"content": "はい"}
    assert deltas[2] == {"tool_calls": [{"index": 0, "id": "toolu_9", "type": "function", "function": {"name": "f", "arguments": ""}}]}
    assert [d["tool_calls"][0]["function"]["arguments"] for d in deltas[3:5]] == ['{"a":', "1}"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18}


def _status_error(cls: type[anthropic.APIStatusError], status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> anthropic.APIStatusError:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/messages")
    response = httpx2.Response(status, headers=headers or {}, request=request)
    return cls(f"Error code: {status}", response=response, body=body)


def test_sdk_error_mapping() -> None:
    def body(kind: str, message: str) -> dict[str, Any]:
        return {"type": "error", "error": {"type": kind, "message": message}}

    limited = map_sdk_error("c", _status_error(anthropic.RateLimitError, 429, body("rate_limit_error", "slow down"), {"retry-after": "7"}), 2)
    assert (limited.status, limited.retry_same, limited.code, limited.retry_after) == (429, False, "upstream_rate_limited", 7.0)
    overloaded = map_sdk_error("c", _status_error(anthropic.InternalServerError, 529, body("overloaded_error", "Overloaded")), 2)
    assert (overloaded.status, overloaded.retry_same, overloaded.fallback) == (502, True, True)
    auth = map_sdk_error("c", _status_error(anthropic.AuthenticationError, 401, body("authentication_error", "bad key")), 2)
    assert (auth.status, auth.retry_same, auth.code) == (502, False, "upstream_auth_failed")
    rejected = map_sdk_error("c", _status_error(anthropic.BadRequestError, 400, body("invalid_request_error", "too long")), 2)
    assert isinstance(rejected, UpstreamRejected) and "too long" in rejected.message
    # An `error` event inside a 200 stream: mapped by its type.
    in_stream = map_sdk_error("c", _status_error(anthropic.APIStatusError, 200, body("overloaded_error", "Overloaded")), 2, mid_stream=True)
    assert in_stream.status == 502 and "mid-stream" in in_stream.message
    request = httpx2.Request("POST", "http://127.0.0.1/v1/messages")
    assert isinstance(map_sdk_error("c", anthropic.APITimeoutError(request), 2), UpstreamTimeout)
    connection = map_sdk_error("c", anthropic.APIConnectionError(request=request), 2)
    assert type(connection) is UpstreamError and connection.status == 502


# ---------------------------------------------------------------------------
# The provider itself, against the loopback Messages API


def test_probe(anthropic_upstream: tuple[AnthropicUpstream, str], api_key_in_env: None, tmp_path: Path) -> None:
    _, base = anthropic_upstream
    wrong_key = tmp_path / "wrong.key"
    wrong_key.write_text("sk-ant-wrong\n", encoding="utf-8")

    async def probe(provider: AnthropicProvider) -> tuple[bool, str]:
        await provider.start()
        try:
            result = await provider.probe()
        finally:
            await provider.close()
        return result.reachable, result.detail

    assert asyncio.run(probe(provider_for(base))) == (True, "ok")
    assert asyncio.run(probe(provider_for(base, key_file=wrong_key))) == (False, "credential rejected (HTTP 401)")
    reachable, detail = asyncio.run(probe(provider_for(base, key_env=UNSET_KEY_ENV)))
    assert not reachable and "no credential" in detail
    reachable, detail = asyncio.run(probe(provider_for(f"http://127.0.0.1:{free_port()}")))
    assert not reachable and detail.startswith("unreachable")


def test_rotated_key_file_is_used(anthropic_upstream: tuple[AnthropicUpstream, str], tmp_path: Path) -> None:
    _, base = anthropic_upstream
    key_file = tmp_path / "anthropic.key"
    key_file.write_text("sk-ant-old\n", encoding="utf-8")
    provider = provider_for(base, key_file=key_file)

    async def run() -> str:
        await provider.start()
        try:
            with pytest.raises(UpstreamError) as info:
                await provider.chat({"model": "claude-direct", "messages": MESSAGES}, admit(provider))
            assert info.value.code == "upstream_auth_failed"
            key_file.write_text(API_KEY + "\n", encoding="utf-8")
            answer = await provider.chat({"model": "claude-direct", "messages": MESSAGES}, admit(provider))
            return str(answer["choices"][0]["message"]["content"])
        finally:
            await provider.close()

    assert asyncio.run(run()) == OK_TEXT


def test_closing_the_stream_cancels_the_upstream_request(
    anthropic_upstream: tuple[AnthropicUpstream, str], api_key_in_env: None
) -> None:
    upstream, base = anthropic_upstream
    before = upstream.cancelled
    provider = provider_for(base, "drip")

    async def run() -> None:
        await provider.start()
        try:
            stream = provider.stream_chat({"model": "claude-direct", "messages": MESSAGES, "stream": True}, admit(provider))
            received = [await anext(stream) for _ in range(3)]
            assert received[0]["choices"][0]["delta"]["role"] == "assistant"
            await stream.aclose()  # type: ignore[attr-defined]
        finally:
            await provider.close()

    started = time.monotonic()
    asyncio.run(run())
    while upstream.cancelled == before and time.monotonic() - started < 5:
        time.sleep(0.05)
    assert upstream.cancelled == before + 1
    assert time.monotonic() - started < 5  # far less than the 8 s the whole stream takes


# ---------------------------------------------------------------------------
# Through gennai, with the openai SDK as the client


def test_plain_answer(client: openai.OpenAI, anthropic_upstream: tuple[AnthropicUpstream, str]) -> None:
    upstream, _ = anthropic_upstream
    response = client.chat.completions.create(model="claude", messages=MESSAGES)
    assert response.choices[0].message.content == OK_TEXT
    assert response.choices[0].finish_reason == "stop"
    assert response.model == "claude"
    assert response.usage is not None
    assert (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.total_tokens) == (15, 5, 20)
    sent = upstream.last_request("ok")
    assert sent["max_tokens"] == DEFAULT_MAX_TOKENS and "stream" not in sent
    headers = upstream.headers[-1]
    assert presented_key(headers) == API_KEY and headers["anthropic-version"]


def test_async_client_plain_and_streaming(gateway: GennaiServer) -> None:
    async def run() -> tuple[str, str]:
        client = openai.AsyncOpenAI(base_url=gateway.base_url, api_key=gateway.api_key, max_retries=0)
        try:
            plain = await client.chat.completions.create(model="claude", messages=MESSAGES)
            stream = await client.chat.completions.create(model="claude", messages=MESSAGES, stream=True)
            text = "".join([c.choices[0].delta.content or "" async for c in stream])
        finally:
            await client.close()
        return plain.choices[0].message.content or "", text

    assert asyncio.run(run()) == (OK_TEXT, OK_TEXT)


def test_translation_on_the_wire(client: openai.OpenAI, anthropic_upstream: tuple[AnthropicUpstream, str]) -> None:
    upstream, _ = anthropic_upstream
    messages: list[Any] = [
        {"role": "system", "content": "行政文書として回答してください。"},
        {"role": "user", "content": [{"type": "text", "text": "この図と天気を"}, {"type": "image_url", "image_url": {"url": PNG_DATA_URL}}]},
        {
            "role": "assistant",
            "content": "確認します。",
            "tool_calls": [{"id": "toolu_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"札幌"}'}}],
        },
        {"role": "tool", "tool_call_id": "toolu_a", "content": "雪"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.go.jp/map.png", "detail": "high"}}]},
    ]
    response = client.chat.completions.create(
        model="claude-echo",
        messages=messages,
        max_tokens=64,
        stop=["。", "END"],
        temperature=0.2,
        top_p=0.8,
        user="staff-7",
        tools=[WEATHER_TOOL],
        tool_choice="required",
        parallel_tool_calls=False,
        seed=11,
        extra_body={"frequency_penalty": 0.1, "guided_choice": ["a"]},
    )
    echoed = orjson.loads(response.choices[0].message.content or "{}")
    sent = upstream.last_request("echo")
    assert echoed == sent
    assert sent["model"] == "echo"
    assert sent["system"] == "行政文書として回答してください。"
    assert sent["max_tokens"] == 64 and sent["stop_sequences"] == ["。", "END"]
    assert sent["temperature"] == 0.2 and sent["top_p"] == 0.8
    assert sent["metadata"] == {"user_id": "staff-7"}
    assert sent["tools"] == [
        {"name": "get_weather", "input_schema": WEATHER_TOOL["function"]["parameters"], "description": "Weather for a city"}
    ]
    assert sent["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert not {"seed", "frequency_penalty", "guided_choice", "parallel_tool_calls", "user", "stop", "stream_options"} & set(sent)
    assert [turn["role"] for turn in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][0]["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }
    assert sent["messages"][1]["content"] == [
        {"type": "text", "text": "確認します。"},
        {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "札幌"}},
    ]
    assert sent["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_a", "content": "雪"},
        {"type": "image", "source": {"type": "url", "url": "https://example.go.jp/map.png"}},
    ]


def test_max_completion_tokens(client: openai.OpenAI, anthropic_upstream: tuple[AnthropicUpstream, str]) -> None:
    upstream, _ = anthropic_upstream
    client.chat.completions.create(model="claude-echo", messages=MESSAGES, max_completion_tokens=99)
    assert upstream.last_request("echo")["max_tokens"] == 99


def test_tool_calls_round_trip(client: openai.OpenAI, anthropic_upstream: tuple[AnthropicUpstream, str]) -> None:
    upstream, _ = anthropic_upstream
    first = client.chat.completions.create(model="claude-tools", messages=MESSAGES, tools=[WEATHER_TOOL, TIME_TOOL])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me check."
    calls = choice.message.tool_calls or []
    assert [(c.id, c.function.name, orjson.loads(c.function.arguments)) for c in calls] == [  # type: ignore[union-attr]
        ("toolu_00", "get_weather", {"city": "東京", "n": 0}),
        ("toolu_01", "get_time", {"city": "東京", "n": 1}),
    ]
    follow_up: list[Any] = [
        *MESSAGES,
        choice.message.model_dump(exclude_none=True),
        *({"role": "tool", "tool_call_id": c.id, "content": f"result {i}"} for i, c in enumerate(calls)),
    ]
    # The loopback server checks that each tool_result answers a tool_use of the turn before.
    second = client.chat.completions.create(model="claude", messages=follow_up, tools=[WEATHER_TOOL, TIME_TOOL])
    assert second.choices[0].message.content == OK_TEXT
    sent = upstream.last_request("ok")
    assert [block["type"] for block in sent["messages"][1]["content"]] == ["text", "tool_use", "tool_use"]
    assert sent["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_00", "content": "result 0"},
        {"type": "tool_result", "tool_use_id": "toolu_01", "content": "result 1"},
    ]


def test_streamed_tool_calls(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="claude-tools", messages=MESSAGES, tools=[WEATHER_TOOL, TIME_TOOL], stream=True
    )
    calls: dict[int, dict[str, str]] = {}
    text = ""
    finish = None
    for item in stream:
        if not item.choices:
            continue
        delta = item.choices[0].delta
        text += delta.content or ""
        for call in delta.tool_calls or []:
            entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += call.id or ""
            if call.function is not None:
                entry["name"] += call.function.name or ""
                entry["arguments"] += call.function.arguments or ""
        finish = item.choices[0].finish_reason or finish
    assert text == "Let me check."
    assert finish == "tool_calls"
    assert [(c["id"], c["name"], orjson.loads(c["arguments"])) for _, c in sorted(calls.items())] == [
        ("toolu_00", "get_weather", {"city": "東京", "n": 0}),
        ("toolu_01", "get_time", {"city": "東京", "n": 1}),
    ]


def test_streaming_text_with_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(model="claude", messages=MESSAGES, stream=True, stream_options={"include_usage": True})
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == OK_TEXT
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (15, 5)
    assert all(c.model == "claude" for c in chunks)


def test_streaming_without_usage_hides_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="claude", messages=MESSAGES, stream=True))
    assert all(c.usage is None and c.choices for c in chunks)


def test_length_finish_reason(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(model="claude-length", messages=MESSAGES, max_tokens=1)
    assert response.choices[0].finish_reason == "length"


@pytest.mark.parametrize("model", ["claude-midstream", "claude-midstream-error"])
def test_mid_stream_failure_ends_with_error_event(client: openai.OpenAI, model: str) -> None:
    stream = client.chat.completions.create(model=model, messages=MESSAGES, stream=True)
    received = []
    with pytest.raises(openai.APIError) as info:
        for item in stream:
            received.append(item)
    assert received, "the chunks before the failure reach the client"
    expected = "Overloaded" if model == "claude-midstream-error" else "stream broken"
    assert expected in info.value.message


def test_timeout_is_504(client: openai.OpenAI) -> None:
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="claude-slow", messages=MESSAGES)
    assert info.value.status_code == 504
    assert time.monotonic() - started < 3.5


def test_rate_limit_passes_retry_after(client: openai.OpenAI, anthropic_upstream: tuple[AnthropicUpstream, str]) -> None:
    upstream, _ = anthropic_upstream
    before = upstream.counts["rate-429"]
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="claude-limited", messages=MESSAGES)
    assert info.value.response.headers["retry-after"] == "7"
    assert upstream.counts["rate-429"] - before == 1  # not retried: the upstream asked to wait


@pytest.mark.parametrize("model", ["claude-broken-alone", "claude-overloaded"])
def test_upstream_5xx_becomes_502(client: openai.OpenAI, model: str) -> None:
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model=model, messages=MESSAGES)
    assert info.value.status_code == 502


def test_fallback_to_another_model(client: openai.OpenAI, anthropic_upstream: tuple[AnthropicUpstream, str]) -> None:
    upstream, _ = anthropic_upstream
    before = upstream.counts["fail-500"]
    response = client.chat.completions.with_raw_response.create(model="claude-broken", messages=MESSAGES)
    assert response.headers["x-gennai-model"] == "claude"
    assert response.parse().choices[0].message.content == OK_TEXT
    assert upstream.counts["fail-500"] - before == 2  # one try plus one retry


def test_streaming_fallback_before_first_byte(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="claude-broken", messages=MESSAGES, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == OK_TEXT


def test_retry_before_first_byte(client: openai.OpenAI) -> None:
    for _ in range(3):
        response = client.chat.completions.create(model="claude-flaky", messages=MESSAGES)
        assert response.choices[0].message.content == OK_TEXT


def test_upstream_400_passes_through(client: openai.OpenAI, anthropic_upstream: tuple[AnthropicUpstream, str]) -> None:
    upstream, _ = anthropic_upstream
    before = upstream.counts["bad-400"]
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="claude-bad", messages=MESSAGES)
    assert "scripted: prompt is too long" in info.value.message
    assert upstream.counts["bad-400"] - before == 1  # neither retried nor fallen back


def test_unsupported_content_is_400_without_upstream_call(
    client: openai.OpenAI, anthropic_upstream: tuple[AnthropicUpstream, str]
) -> None:
    upstream, _ = anthropic_upstream
    before = len(upstream.requests)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="claude",
            messages=[{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}],
        )
    assert info.value.body["param"] == "messages[0].content[0].type"  # type: ignore[index]
    assert len(upstream.requests) == before


def test_missing_credential_is_an_auth_failure(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="claude-nokey", messages=MESSAGES)
    assert info.value.status_code == 502
    assert info.value.body["code"] == "upstream_auth_failed"  # type: ignore[index]


def test_client_disconnect_cancels_the_upstream_stream(
    gateway: GennaiServer, anthropic_upstream: tuple[AnthropicUpstream, str]
) -> None:
    upstream, _ = anthropic_upstream
    before = upstream.cancelled
    started = time.monotonic()
    with httpx.Client(timeout=10) as http:
        with http.stream(
            "POST",
            gateway.base_url + "/chat/completions",
            json={"model": "claude-drip", "messages": MESSAGES, "stream": True},
            headers={"Authorization": f"Bearer {gateway.api_key}"},
        ) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            data_lines = [line for line in (next(lines) for _ in range(6)) if line.startswith("data:")]
            assert data_lines
    while upstream.cancelled == before and time.monotonic() - started < 6:
        time.sleep(0.05)
    assert upstream.cancelled == before + 1
