"""Routing through the API: `model: "auto"`, rerouting, declared classes in the body, the
policy headers and the policy fields of the usage record."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gennai.store.tables import UsageRecord
from tests.support.openai_upstream import OpenAIUpstream
from tests.support.servers import GennaiServer, running_gennai
from tests.test_gateway_openai import MESSAGES, model_toml

RULES = """
[policy]
on_not_cleared = "{mode}"
[[policy.rules]]
name = "translation"
tasks = ["translation"]
models = ["translator"]
[[policy.rules]]
name = "class-2-domestic"
classes = [2, 3]
models = ["abroad", "domestic"]
[[policy.rules]]
name = "general"
classes = [1]
models = ["abroad", "domestic"]
"""


def models(base: str) -> str:
    abroad = model_toml("abroad", "echo", base, clearance=1).replace('hosting = "government-cloud"', 'hosting = "overseas"')
    translator = model_toml("translator", "echo", base).replace('["chat", "embeddings", "tools"]', '["translation"]')
    return abroad + model_toml("domestic", "echo", base) + translator


def start(tmp_path_factory: pytest.TempPathFactory, base: str, mode: str) -> Iterator[GennaiServer]:
    with running_gennai(tmp_path_factory.mktemp(mode), models(base), extra_toml=RULES.format(mode=mode)) as server:
        yield server


@pytest.fixture(scope="module")
def blocking(tmp_path_factory: pytest.TempPathFactory, openai_upstream: tuple[OpenAIUpstream, str]) -> Iterator[GennaiServer]:
    yield from start(tmp_path_factory, openai_upstream[1], "block")


@pytest.fixture(scope="module")
def rerouting(tmp_path_factory: pytest.TempPathFactory, openai_upstream: tuple[OpenAIUpstream, str]) -> Iterator[GennaiServer]:
    yield from start(tmp_path_factory, openai_upstream[1], "reroute")


def client(server: GennaiServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)


def test_auto_follows_the_rules(blocking: GennaiServer) -> None:
    c = client(blocking)
    general = c.chat.completions.with_raw_response.create(model="auto", messages=MESSAGES)
    assert general.headers["x-gennai-model"] == "abroad"
    assert general.headers["x-gennai-classification"] == "1"
    assert general.headers["x-gennai-policy"] == "action=routed; rule=general; requested=auto"
    secret = c.chat.completions.with_raw_response.create(
        model="auto", messages=MESSAGES, extra_body={"gennai": {"classification": 2}}
    )
    assert secret.headers["x-gennai-model"] == "domestic"
    assert "rule=class-2-domestic" in secret.headers["x-gennai-policy"]
    translation = c.chat.completions.with_raw_response.create(
        model="auto", messages=MESSAGES, extra_body={"gennai": {"task": "translation"}}
    )
    assert translation.headers["x-gennai-model"] == "translator"


def test_gennai_fields_never_reach_the_model(blocking: GennaiServer) -> None:
    response = client(blocking).chat.completions.create(
        model="domestic", messages=MESSAGES, extra_body={"gennai": {"classification": "機密性2", "task": "drafting"}}
    )
    sent = orjson.loads(response.choices[0].message.content or "{}")
    assert "gennai" not in sent


def test_class_3_has_no_route(blocking: GennaiServer) -> None:
    with pytest.raises(openai.PermissionDeniedError) as info:
        client(blocking).chat.completions.create(model="auto", messages=MESSAGES, extra_body={"gennai": {"classification": 3}})
    assert info.value.body["code"] == "no_eligible_model"  # type: ignore[index]


def test_block_mode_refuses_and_records_it(blocking: GennaiServer) -> None:
    with pytest.raises(openai.PermissionDeniedError) as info:
        client(blocking).chat.completions.create(
            model="abroad", messages=MESSAGES, extra_body={"gennai": {"classification": 2}}
        )
    assert "domestic" in info.value.message and "送れません" in info.value.message
    blocking.platform.usage.flush()
    with Session(blocking.platform.engine) as session:
        row = session.scalars(select(UsageRecord).where(UsageRecord.error_type == "classification_not_cleared")).first()
    assert row is not None and row.policy_action == "blocked" and row.effective_class == 2


def test_reroute_mode_sends_to_an_eligible_model_and_says_so(rerouting: GennaiServer) -> None:
    response = client(rerouting).chat.completions.with_raw_response.create(
        model="abroad", messages=MESSAGES, extra_body={"gennai": {"classification": 2}}
    )
    assert response.headers["x-gennai-model"] == "domestic"
    assert response.headers["x-gennai-policy"] == "action=rerouted; rule=class-2-domestic; requested=abroad"
    rerouting.platform.usage.flush()
    with Session(rerouting.platform.engine) as session:
        row = session.scalars(select(UsageRecord).where(UsageRecord.policy_action == "rerouted")).first()
    assert row is not None and row.model_id == "domestic" and row.policy_rule == "class-2-domestic"


def test_bad_gennai_options_are_a_400(blocking: GennaiServer) -> None:
    for extra, param in (({"gennai": {"classification": 5}}, "gennai.classification"), ({"gennai": {"colour": 1}}, "gennai.colour")):
        with pytest.raises(openai.BadRequestError) as info:
            client(blocking).chat.completions.create(model="domestic", messages=MESSAGES, extra_body=extra)
        assert info.value.body["param"] == param  # type: ignore[index]


def test_detected_personal_data_is_refused_for_a_foreign_model(blocking: GennaiServer) -> None:
    prompt = [{"role": "user", "content": "個人番号 1234 5678 9018 の山田太郎さん（090-1234-5678）への回答案を作って"}]
    with pytest.raises(openai.PermissionDeniedError) as info:
        client(blocking).chat.completions.create(model="abroad", messages=prompt)
    message = info.value.message
    assert "MY_NUMBER" in message and "domestic" in message
    assert "1234 5678 9018" not in message and "山田太郎" not in message  # masked, never the value


def test_a_refusal_carries_structured_details(blocking: GennaiServer) -> None:
    prompt = [{"role": "user", "content": "個人番号 1234 5678 9018 の山田太郎さん（090-1234-5678）への回答案を作って"}]
    response = httpx.post(
        blocking.base_url + "/chat/completions", json={"model": "abroad", "messages": prompt},
        headers={"Authorization": f"Bearer {blocking.api_key}"}, timeout=30,
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "classification_not_cleared" and "送れません" in error["message"]  # the message stays
    details = error["details"]
    assert details["class"] == 2 and details["model"] == "abroad" and details["model_clearance"] == 1
    assert details["found"]["MY_NUMBER"] == 1 and details["found"]["PERSON"] == 1 and details["found"]["PHONE"] == 1
    assert details["allowed_models"] == ["domestic", "translator"] and details["rule"] is None
    assert {p["type"] for p in details["previews"]} == {"MY_NUMBER", "PERSON", "PHONE"}
    assert all(p["preview"] in error["message"] for p in details["previews"])  # the message's masked previews
    raw = response.text
    assert "1234 5678 9018" not in raw and "山田太郎" not in raw and "090-1234-5678" not in raw
    # an OpenAI client still reads it as a permission error
    with pytest.raises(openai.PermissionDeniedError) as info:
        client(blocking).chat.completions.create(model="abroad", messages=prompt)
    assert info.value.body["details"]["allowed_models"] == ["domestic", "translator"]  # type: ignore[index]


def test_no_eligible_model_carries_details_too(blocking: GennaiServer) -> None:
    with pytest.raises(openai.PermissionDeniedError) as info:
        client(blocking).chat.completions.create(model="auto", messages=MESSAGES, extra_body={"gennai": {"classification": 3}})
    details = info.value.body["details"]  # type: ignore[index]
    assert details["class"] == 3 and details["allowed_models"] == [] and details["rule"] == "class-2-domestic"


def test_detection_covers_the_whole_conversation_and_auto_stays_domestic(blocking: GennaiServer) -> None:
    conversation = [
        {"role": "user", "content": "申請者は東京都千代田区神田一丁目2番3号の佐藤花子様です。"},
        {"role": "assistant", "content": "承知しました。"},
        {"role": "user", "content": "では返信文を作ってください。"},
    ]
    response = client(blocking).chat.completions.with_raw_response.create(model="auto", messages=conversation)
    assert response.headers["x-gennai-model"] == "domestic"
    assert response.headers["x-gennai-classification"] == "2"
    policy = response.headers["x-gennai-policy"]
    assert "found=" in policy and "PERSON:1" in policy and "佐藤" not in policy


def test_long_documents_are_classified_too(blocking: GennaiServer) -> None:
    document = "公開資料の本文です。" * 600 + "【取扱注意】内部検討用"
    with pytest.raises(openai.PermissionDeniedError):
        client(blocking).chat.completions.create(model="abroad", messages=[{"role": "user", "content": document}])


@pytest.fixture(scope="module")
def pseudonymising(tmp_path_factory: pytest.TempPathFactory, openai_upstream: tuple[OpenAIUpstream, str]) -> Iterator[GennaiServer]:
    extra = '[policy]\non_not_cleared = "block"\npseudonymise = true\n'
    with running_gennai(tmp_path_factory.mktemp("pseudo"), models(openai_upstream[1]), extra_toml=extra) as server:
        yield server


PERSONAL = "申請者の佐藤花子様（携帯 090-1234-5678）に、佐藤花子様あての返信文を作ってください。"


@pytest.mark.parametrize("stream", [False, True])
def test_pseudonymisation_round_trip(
    pseudonymising: GennaiServer, openai_upstream: tuple[OpenAIUpstream, str], stream: bool
) -> None:
    upstream, _ = openai_upstream
    c = client(pseudonymising)
    messages = [{"role": "user", "content": PERSONAL}]
    if stream:
        raw = c.chat.completions.with_raw_response.create(model="abroad", messages=messages, stream=True)
        headers = raw.headers
        text = "".join(chunk.choices[0].delta.content or "" for chunk in raw.parse() if chunk.choices)
    else:
        raw = c.chat.completions.with_raw_response.create(model="abroad", messages=messages)
        headers = raw.headers
        text = raw.parse().choices[0].message.content or ""
    sent = upstream.requests[-1]["messages"][0]["content"]
    assert "佐藤" not in sent and "090" not in sent  # what left the gateway
    assert sent.count("〔氏名1〕") == 2 and "〔電話1〕" in sent
    assert orjson.loads(text)["messages"][0]["content"] == PERSONAL  # what came back, restored
    assert headers["x-gennai-model"] == "abroad" and headers["x-gennai-classification"] == "1"
    assert headers["x-gennai-policy"].startswith("action=pseudonymised")


def test_markings_are_never_pseudonymised_away(pseudonymising: GennaiServer) -> None:
    with pytest.raises(openai.PermissionDeniedError):
        client(pseudonymising).chat.completions.create(
            model="abroad", messages=[{"role": "user", "content": "【取扱注意】" + PERSONAL}]
        )


def test_a_conversation_never_goes_back_to_a_lower_class(blocking: GennaiServer) -> None:
    c = client(blocking)
    first = [{"role": "user", "content": PERSONAL}]
    c.chat.completions.create(model="domestic", messages=first, extra_body={"gennai": {"conversation_id": "conv-1"}})
    # The client no longer resends the personal data, but the conversation carried it.
    later = [{"role": "user", "content": "ありがとうございます。もう少し短くしてください。"}]
    with pytest.raises(openai.PermissionDeniedError) as info:
        c.chat.completions.create(model="abroad", messages=later, extra_body={"gennai": {"conversation_id": "conv-1"}})
    assert "会話" in info.value.message or "conversation" in info.value.message
    routed = c.chat.completions.with_raw_response.create(
        model="auto", messages=later, extra_body={"gennai": {"conversation_id": "conv-1"}}
    )
    assert routed.headers["x-gennai-model"] == "domestic" and routed.headers["x-gennai-classification"] == "2"
    # Another conversation starts afresh.
    fresh = c.chat.completions.with_raw_response.create(
        model="abroad", messages=later, extra_body={"gennai": {"conversation_id": "conv-2"}}
    )
    assert fresh.headers["x-gennai-model"] == "abroad"


def test_refused_content_still_marks_the_conversation(blocking: GennaiServer) -> None:
    c = client(blocking)
    with pytest.raises(openai.PermissionDeniedError):
        c.chat.completions.create(
            model="abroad", messages=[{"role": "user", "content": PERSONAL}], extra_body={"gennai": {"conversation_id": "conv-3"}}
        )
    with pytest.raises(openai.PermissionDeniedError):
        c.chat.completions.create(
            model="abroad", messages=[{"role": "user", "content": "別の話です。"}], extra_body={"gennai": {"conversation_id": "conv-3"}}
        )


def test_deployment_dictionary_terms_count(tmp_path_factory: pytest.TempPathFactory, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    extra = '[policy]\nterms = ["プロジェクト青嵐"]\npatterns = ["PRJ-[0-9]{4}"]\n'
    with running_gennai(tmp_path_factory.mktemp("terms"), models(openai_upstream[1]), extra_toml=extra) as server:
        c = client(server)
        for text in ("プロジェクト青嵐の進捗をまとめて", "PRJ-2026 の件"):
            with pytest.raises(openai.PermissionDeniedError) as info:
                c.chat.completions.create(model="abroad", messages=[{"role": "user", "content": text}])
            assert "CUSTOM" in info.value.message
        assert c.chat.completions.create(model="abroad", messages=MESSAGES).choices
