"""The OpenAI-compatible provider and API, exercised with the official openai SDK against
a real gennai on loopback in front of a scripted OpenAI-compatible upstream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gennai.store.tables import UsageRecord
from tests.support.openai_upstream import OpenAIUpstream
from tests.support.servers import GennaiServer, running_gennai


def model_toml(model_id: str, upstream_model: str, base_url: str, *, clearance: int = 2, timeout_s: float = 2.0,
               fallback: list[str] | None = None, extra: str = "") -> str:
    fallback_line = f"fallback = {orjson.dumps(fallback or []).decode()}"
    return f"""
[[models]]
id = "{model_id}"
display_name = "テスト {model_id}"
provider = "openai"
base_url = "{base_url}"
upstream_model = "{upstream_model}"
origin = "domestic"
hosting = "government-cloud"
region = "jp-east"
clearance = {clearance}
capabilities = ["chat", "embeddings", "tools"]
timeout_s = {timeout_s}
max_concurrency = 8
{fallback_line}
{extra}
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, openai_upstream: tuple[OpenAIUpstream, str]) -> Iterator[GennaiServer]:
    _, base = openai_upstream
    models = "".join(
        [
            model_toml("ok", "ok", base),
            model_toml("echo", "echo", base),
            model_toml("broken", "fail-500", base, fallback=["ok"]),
            model_toml("broken-alone", "fail-503", base),
            model_toml("limited", "rate-429", base),
            model_toml("bad", "bad-400", base, fallback=["ok"]),
            model_toml("slow", "slow", base, timeout_s=0.5),
            model_toml("stall", "stall", base, timeout_s=0.5),
            model_toml("midstream", "midstream", base),
            model_toml("midstream-error", "midstream-error", base),
            model_toml("flaky", "flaky", base),
            model_toml("public", "ok", base, clearance=1),
            model_toml("to-public", "fail-500", base, fallback=["public", "ok"]),
            model_toml("patient", "slow", base, timeout_s=30),
            model_toml("failing", "fail-503", base),
        ]
    )
    with running_gennai(tmp_path_factory.mktemp("gw"), models) as server:
        yield server


@pytest.fixture()
def client(gateway: GennaiServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.base_url, api_key=gateway.api_key, max_retries=0)


MESSAGES = [{"role": "user", "content": "こんにちは"}]


def test_sdk_non_streaming(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(model="ok", messages=MESSAGES)
    assert response.choices[0].message.content == "Hello from upstream"
    assert response.model == "ok"
    assert response.usage is not None and response.usage.prompt_tokens == 11


def test_sdk_streaming_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="ok", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from upstream"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4


def test_streaming_without_usage_hides_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="ok", messages=MESSAGES, stream=True))
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


def test_sdk_async_streaming(gateway: GennaiServer) -> None:
    async def run() -> str:
        client = openai.AsyncOpenAI(base_url=gateway.base_url, api_key=gateway.api_key, max_retries=0)
        stream = await client.chat.completions.create(model="ok", messages=MESSAGES, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
        plain = await client.chat.completions.create(model="ok", messages=MESSAGES)
        await client.close()
        return text + "|" + (plain.choices[0].message.content or "")

    assert asyncio.run(run()) == "Hello from upstream|Hello from upstream"


def test_unknown_fields_and_parameters_pass_through(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="echo",
        messages=MESSAGES,
        temperature=0.3,
        max_tokens=20,
        stop=["\n\n"],
        tools=[{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
        extra_body={"top_k": 5, "guided_choice": ["a", "b"]},
    )
    sent = orjson.loads(response.choices[0].message.content or "{}")
    assert sent["model"] == "echo"  # the upstream name, not the gennai id
    assert sent["top_k"] == 5 and sent["guided_choice"] == ["a", "b"]
    assert sent["temperature"] == 0.3 and sent["max_tokens"] == 20 and sent["stop"] == ["\n\n"]
    assert sent["tools"][0]["function"]["name"] == "lookup"


def test_embeddings(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model="ok", input=["一", "二三"])
    assert [d.embedding[2] for d in result.data] == [1.0, 2.0]


def test_models_list(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert "ok" in ids and "public" in ids


def test_fallback_to_next_model(client: openai.OpenAI, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    upstream, _ = openai_upstream
    before = upstream.counts["fail-500"]
    response = client.chat.completions.with_raw_response.create(model="broken", messages=MESSAGES)
    assert response.headers["x-gennai-model"] == "ok"
    assert response.parse().choices[0].message.content == "Hello from upstream"
    assert upstream.counts["fail-500"] - before == 2  # one try plus one retry


def test_a_failed_call_names_the_models_it_tried(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="failing", messages=MESSAGES)
    body = info.value.body
    assert body["details"] == {"tried": ["failing"]}  # type: ignore[index]
    assert "(tried: failing)" in body["message"]  # type: ignore[index]  # the message keeps its text


def test_fallback_stays_inside_cleared_models(gateway: GennaiServer, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    # 機密性2 content: the fallback list names a 機密性1-only model first; it must be skipped.
    upstream, _ = openai_upstream
    client = openai.OpenAI(
        base_url=gateway.base_url, api_key=gateway.api_key, max_retries=0,
        default_headers={"X-Gennai-Classification": "2"},
    )
    response = client.chat.completions.with_raw_response.create(model="to-public", messages=MESSAGES)
    assert response.headers["x-gennai-model"] == "ok"


def test_retry_before_first_byte(client: openai.OpenAI) -> None:
    for _ in range(3):
        response = client.chat.completions.create(model="flaky", messages=MESSAGES)
        assert response.choices[0].message.content == "Hello from upstream"


def test_upstream_400_is_not_retried_or_fallen_back(client: openai.OpenAI, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    upstream, _ = openai_upstream
    before = upstream.counts["bad-400"]
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="bad", messages=MESSAGES)
    assert upstream.counts["bad-400"] - before == 1


def test_upstream_5xx_becomes_502(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="broken-alone", messages=MESSAGES)
    assert info.value.status_code == 502


def test_upstream_429_passes_retry_after(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="limited", messages=MESSAGES)
    assert info.value.response.headers["retry-after"] == "7"


def test_timeout_is_504(client: openai.OpenAI) -> None:
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="slow", messages=MESSAGES)
    assert info.value.status_code == 504
    assert time.monotonic() - started < 3.5


def test_stream_stall_ends_with_error_event(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="stall", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass


@pytest.mark.parametrize("model", ["midstream", "midstream-error"])
def test_mid_stream_failure_ends_with_error_event(client: openai.OpenAI, model: str) -> None:
    stream = client.chat.completions.create(model=model, messages=MESSAGES, stream=True)
    received = []
    with pytest.raises(openai.APIError):
        for item in stream:
            received.append(item)
    assert received, "the chunks before the failure reach the client"


def test_error_shapes(gateway: GennaiServer) -> None:
    url = gateway.base_url + "/chat/completions"
    auth = {"Authorization": f"Bearer {gateway.api_key}"}
    with httpx.Client(timeout=10) as http:
        r = http.post(url, content=b"{not json", headers=auth)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
        r = http.post(url, json={"model": "ok", "messages": [{"role": "wizard", "content": "x"}]}, headers=auth)
        assert r.status_code == 400 and r.json()["error"]["param"] == "messages[0].role"
        r = http.post(url, json={"model": "ok"}, headers=auth)
        assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
        r = http.post(url, json={"model": "ok", "messages": MESSAGES, "temperature": 9}, headers=auth)
        assert r.status_code == 400 and r.json()["error"]["param"] == "temperature"
        r = http.post(url, json={"model": "ok", "messages": MESSAGES})
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
        r = http.post(url, json={"model": "ok", "messages": MESSAGES}, headers={"Authorization": "Bearer gnk_wrong"})
        assert r.status_code == 401
        r = http.post(url, json={"model": "nope", "messages": MESSAGES}, headers=auth)
        assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
        r = http.post(url, json={"model": "public", "messages": MESSAGES}, headers={**auth, "X-Gennai-Classification": "2"})
        assert r.status_code == 403 and "ok" in r.json()["error"]["message"]
        big = b'{"model":"ok","messages":[{"role":"user","content":"' + b"a" * (9 * 1024 * 1024) + b'"}]}'
        r = http.post(url, content=big, headers=auth)
        assert r.status_code == 413
        r = http.get(gateway.root_url + "/v1/nothing-here", headers=auth)
        assert r.status_code == 404 and "error" in r.json()


def test_health(gateway: GennaiServer) -> None:
    assert httpx.get(gateway.root_url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(gateway.root_url + "/readyz")
    assert ready.status_code == 200 and ready.json()["database"] is True


def test_every_request_leaves_one_usage_record(gateway: GennaiServer, client: openai.OpenAI) -> None:
    gateway.platform.usage.flush()
    with Session(gateway.platform.engine) as session:
        before = len(session.scalars(select(UsageRecord.id)).all())
    client.chat.completions.create(model="ok", messages=MESSAGES)
    list(client.chat.completions.create(model="ok", messages=MESSAGES, stream=True))
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="broken-alone", messages=MESSAGES)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        gateway.platform.usage.flush()
        with Session(gateway.platform.engine) as session:
            rows = session.scalars(select(UsageRecord).order_by(UsageRecord.id)).all()
        if len(rows) - before >= 3:
            break
        time.sleep(0.05)
    new = rows[before:]
    assert [(r.model_id, r.status, r.streamed) for r in new] == [
        ("ok", "ok", False),
        ("ok", "ok", True),
        ("broken-alone", "error", False),
    ]
    assert new[0].tokens_in == 11 and new[0].tokens_out == 4 and new[0].api_key_id is not None
    assert new[1].ttft_ms is not None and new[1].tokens_out == 4
    assert new[2].http_status == 502 and new[2].attempts == 2


def _wait_for(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_client_disconnect_cancels_upstream_stream(gateway: GennaiServer, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    upstream, _ = openai_upstream
    before = upstream.cancelled
    body = {"model": "stall", "messages": MESSAGES, "stream": True}
    headers = {"Authorization": f"Bearer {gateway.api_key}"}
    with httpx.Client(timeout=10) as http:
        with http.stream("POST", gateway.base_url + "/chat/completions", json=body, headers=headers) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    break  # first chunk arrived; now the client goes away
    assert _wait_for(lambda: upstream.cancelled > before, 3.0), "upstream request was not cancelled"


def test_client_disconnect_cancels_upstream_request(gateway: GennaiServer, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    upstream, _ = openai_upstream
    before = upstream.cancelled
    body = {"model": "echo", "messages": MESSAGES}
    headers = {"Authorization": f"Bearer {gateway.api_key}"}
    # A model with a long timeout in front of the 'slow' upstream.
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(gateway.base_url + "/chat/completions", json={**body, "model": "patient"}, headers=headers, timeout=0.3)
    assert _wait_for(lambda: upstream.cancelled > before, 3.0), "upstream request was not cancelled"
    assert _wait_for(lambda: _statuses(gateway, "patient"), 3.0), "no usage record for the abandoned request"


def _statuses(gateway: GennaiServer, model_id: str) -> bool:
    gateway.platform.usage.flush()
    with Session(gateway.platform.engine) as session:
        return "client_disconnected" in session.scalars(select(UsageRecord.status).where(UsageRecord.model_id == model_id)).all()


def test_bounded_queue_refuses_with_503(tmp_path: Path, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    _, base = openai_upstream
    models = model_toml("tiny", "slow", base, timeout_s=10, extra="max_concurrency = 1\nmax_queue = 1").replace(
        "max_concurrency = 8\n", ""
    )
    with running_gennai(tmp_path, models) as server:
        async def burst() -> list[int]:
            async with httpx.AsyncClient(timeout=20) as http:
                async def one() -> int:
                    r = await http.post(
                        server.base_url + "/chat/completions",
                        json={"model": "tiny", "messages": MESSAGES},
                        headers={"Authorization": f"Bearer {server.api_key}"},
                    )
                    if r.status_code == 503:
                        assert r.headers["retry-after"] and r.json()["error"]["code"] == "model_overloaded"
                    return r.status_code
                return await asyncio.gather(*(one() for _ in range(4)))

        codes = asyncio.run(burst())
    assert sorted(codes) == [200, 200, 503, 503]


def test_circuit_breaker_opens_after_repeated_failures(tmp_path: Path, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    upstream, base = openai_upstream
    with running_gennai(tmp_path, model_toml("down", "fail-503", base), retries=0, circuit_threshold=2, circuit_reset_s=60) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)
        before = upstream.counts["fail-503"]
        codes = []
        for _ in range(4):
            with pytest.raises(openai.APIStatusError) as info:
                client.chat.completions.create(model="down", messages=MESSAGES)
            codes.append(info.value.status_code)
        assert codes == [502, 502, 503, 503]
        assert upstream.counts["fail-503"] - before == 2  # the open circuit spares the backend
