"""The one invariant on real content: for generated conversations, declared classes, model
sets, fallbacks, routing rules, block/reroute/pseudonymise policies, retries, streaming and
embeddings, every text a model receives is — judged by the same detector — within that
model's clearance, and so is the class the client declared."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gennai.config import GatewayConfig, ModelConfig, PolicyConfig, RoutingRule
from gennai.gateway.dispatch import Dispatcher, Outcome
from gennai.gateway.errors import GatewayError, PolicyViolation
from gennai.gateway.providers.base import ProbeResult, Provider, chunk
from gennai.gateway.registry import ModelRegistry, RegisteredModel
from gennai.gateway.resilience import CircuitBreaker, ConcurrencyLimiter
from gennai.policy.decision import Policy, PolicyRequest, TeamPolicy
from gennai.policy.detection import default_detector
from gennai.policy.pseudonymise import pseudonymise_request
from gennai.policy.texts import input_texts, message_texts

DETECT = default_detector().detect

SNIPPETS = [
    "今日の天気を教えてください。",
    "Summarise the attached public notice in English.",
    "申請者の佐藤花子様（携帯 090-1234-5678）への返信文を作ってください。",
    "個人番号 1234 5678 9018 の確認をお願いします。",
    "【取扱注意】来年度予算の内部検討用資料です。",
    "極秘：人事異動案",
    "山田太郎さんの住所は東京都千代田区神田一丁目2番3号です。",
    "令和6年法律第123号の概要を教えて。",
    "文書番号 123456789012 の件",
    "生年月日：昭和45年3月2日",
]


class RecordingProvider(Provider):
    kind = "recording"

    def __init__(self, model: ModelConfig, fails: bool, received: list[tuple[int, dict[str, Any]]]) -> None:
        super().__init__(model)
        self.fails = fails
        self.received = received

    def _take(self, body: dict[str, Any]) -> None:
        self.received.append((self.model.clearance, {**body, "_model": self.model.id}))
        if self.fails:
            raise_error()

    async def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        self._take(body)
        return {"choices": [{"message": {"role": "assistant", "content": "了解"}}], "usage": {}}

    async def _stream_chat(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        self._take(body)
        yield chunk("id", self.model.id, 0, {"content": "了解"})

    async def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        self._take(body)
        return {"data": [], "usage": {}}

    async def probe(self) -> ProbeResult:
        return ProbeResult(True, "recording")


def raise_error() -> None:
    from gennai.gateway.errors import UpstreamError

    raise UpstreamError("scripted failure")


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 5))
    ids = [f"m{i}" for i in range(count)]
    models = []
    for model_id in ids:
        hosting = draw(st.sampled_from(["government-cloud", "domestic-region", "overseas", "on-premises"]))
        top = {"overseas": 1, "domestic-region": 2}.get(hosting, 3)
        others = [i for i in ids if i != model_id]
        models.append(
            {
                "id": model_id,
                "hosting": hosting,
                "clearance": draw(st.integers(1, top)),
                "capabilities": ["chat", "embeddings"],
                "fallback": draw(st.lists(st.sampled_from(others), unique=True)) if others else [],
                "fails": draw(st.booleans()),
            }
        )
    rules = [
        RoutingRule(
            name=f"r{index}",
            classes=draw(st.none() | st.lists(st.integers(1, 3), min_size=1, unique=True)),
            models=draw(st.lists(st.sampled_from(ids), min_size=1, unique=True)),
        )
        for index in range(draw(st.integers(0, 2)))
    ]
    texts = draw(st.lists(st.sampled_from(SNIPPETS), min_size=1, max_size=4))
    return {
        "models": models,
        "policy": PolicyConfig(
            on_not_cleared=draw(st.sampled_from(["block", "reroute"])),
            pseudonymise=draw(st.booleans()),
            rules=rules,
        ),
        "texts": texts,
        "declared": draw(st.integers(1, 3)),
        "requested": draw(st.sampled_from([*ids, "auto"])),
        "kind": draw(st.sampled_from(["chat", "stream", "embeddings"])),
        "retries": draw(st.integers(0, 1)),
    }


def build(scenario: dict[str, Any], received: list[tuple[int, dict[str, Any]]]) -> ModelRegistry:
    registered = []
    for spec in scenario["models"]:
        config = ModelConfig(
            id=spec["id"], display_name=spec["id"], provider="openai", base_url="http://127.0.0.1:9/v1",
            origin="domestic", hosting=spec["hosting"], clearance=spec["clearance"],
            capabilities=spec["capabilities"], fallback=spec["fallback"],
        )
        registered.append(
            RegisteredModel(config, RecordingProvider(config, spec["fails"], received), CircuitBreaker(3, 30), ConcurrencyLimiter(spec["id"], 4, 4))
        )
    return ModelRegistry(registered)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_no_model_receives_text_above_its_clearance(scenario: dict[str, Any]) -> None:
    received: list[tuple[int, dict[str, Any]]] = []
    registry = build(scenario, received)
    policy = Policy(registry, scenario["policy"], detect=DETECT)
    kind = scenario["kind"]
    if kind == "embeddings":
        body: dict[str, Any] = {"model": scenario["requested"], "input": list(scenario["texts"])}
        texts, capabilities = input_texts(body["input"]), ("embeddings",)
    else:
        roles = ["user", "assistant"]
        messages = [{"role": roles[i % 2], "content": t} for i, t in enumerate(scenario["texts"])]
        body = {"model": scenario["requested"], "messages": messages}
        texts, capabilities = message_texts(messages), ("chat",)

    async def run() -> None:
        try:
            decision = policy.decide(
                PolicyRequest(scenario["requested"], texts, scenario["declared"], capabilities)
            )
            event(f"action={decision.action}")
            if decision.action == "pseudonymised":
                pseudonymise_request(body, DETECT, decision.effective_class)
            dispatcher = Dispatcher(registry, GatewayConfig(retries=scenario["retries"], retry_backoff_s=0))
            outcome = Outcome()
            if kind == "stream":
                async for _ in await dispatcher.stream_chat(decision, body, outcome):
                    pass
            elif kind == "chat":
                await dispatcher.chat(decision, body, outcome)
            else:
                await dispatcher.embeddings(decision, body, outcome)
        except PolicyViolation:
            raise  # the provider guard fired: the policy admitted a model it must not
        except GatewayError as error:
            event(f"error={type(error).__name__}")

    asyncio.run(run())
    event(f"models reached={len(received) > 0}")
    for clearance, sent in received:
        assert scenario["declared"] <= clearance
        sent_texts = input_texts(sent["input"]) if kind == "embeddings" else message_texts(sent["messages"])
        for text in sent_texts:
            assert DETECT(text).proposed_class <= clearance, f"class-{DETECT(text).proposed_class} text reached a clearance-{clearance} model: {DETECT(text).reasons}"


@st.composite
def with_attachments(draw: st.DrawFn) -> dict[str, Any]:
    scenario = draw(scenarios())
    scenario["kind"] = draw(st.sampled_from(["chat", "stream"]))
    scenario["attachments"] = draw(
        st.lists(st.tuples(st.sampled_from(SNIPPETS), st.integers(1, 3)), min_size=1, max_size=3)
    )
    scenario["tool_text"] = draw(st.none() | st.sampled_from(SNIPPETS))
    scenario["app_class"] = draw(st.integers(1, 3))
    ids = [spec["id"] for spec in scenario["models"]]
    scenario["team"] = draw(st.none() | st.builds(
        TeamPolicy,
        name=st.just("team"),
        default_class=st.integers(1, 3),
        allowed_models=st.none() | st.frozensets(st.sampled_from(ids)),
        on_not_cleared=st.sampled_from([None, "block", "reroute"]),
        pseudonymise=st.sampled_from([None, True, False]),
        rules=st.lists(st.builds(RoutingRule, name=st.just("team-rule"), models=st.lists(st.sampled_from(ids), min_size=1)), max_size=2).map(tuple),
    ))
    for spec in scenario["models"]:
        spec["capabilities"] = ["chat", "embeddings", "tools"]
    return scenario


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(with_attachments())
def test_attachments_and_tool_definitions_stay_within_clearance(scenario: dict[str, Any]) -> None:
    """Documents attached as file parts (each with a declared class), tool definitions and an
    app's declared minimum class: read and classified through the same content reader the
    API uses."""
    import base64

    from gennai.policy.content import chat_content
    from gennai.policy.texts import definition_texts

    received: list[tuple[int, dict[str, Any]]] = []
    registry = build(scenario, received)
    policy = Policy(registry, scenario["policy"], detect=DETECT)
    parts: list[dict[str, Any]] = [{"type": "text", "text": scenario["texts"][0]}]
    for index, (text, declared) in enumerate(scenario["attachments"]):
        data = "data:text/plain;base64," + base64.b64encode(text.encode("cp932")).decode()
        parts.append({"type": "file", "file": {"filename": f"doc{index}.txt", "file_data": data, "classification": declared}})
    body: dict[str, Any] = {"model": scenario["requested"], "messages": [{"role": "user", "content": parts}]}
    if scenario["tool_text"]:
        body["tools"] = [{"type": "function", "function": {"name": "f", "description": scenario["tool_text"]}}]
    content = chat_content(body, max_attachment_chars=10_000)
    team = scenario["team"]
    floor = max([scenario["declared"], scenario["app_class"], team.default_class if team else 1,
                 *(declared for _, declared in scenario["attachments"])])

    async def run() -> None:
        try:
            decision = policy.decide(
                PolicyRequest(
                    scenario["requested"], content.texts, scenario["declared"], content.capabilities,
                    attachment_classes=content.attachment_classes, app="app", app_class=scenario["app_class"],
                    team="team" if team else None, team_policy=team,
                )
            )
            if decision.action == "pseudonymised":
                pseudonymise_request(body, DETECT, decision.effective_class)
            dispatcher = Dispatcher(registry, GatewayConfig(retries=scenario["retries"], retry_backoff_s=0))
            if scenario["kind"] == "stream":
                async for _ in await dispatcher.stream_chat(decision, body, Outcome()):
                    pass
            else:
                await dispatcher.chat(decision, body, Outcome())
        except PolicyViolation:
            raise
        except GatewayError as error:
            event(f"error={type(error).__name__}")

    asyncio.run(run())
    event(f"models reached={len(received) > 0}")
    for clearance, sent in received:
        assert floor <= clearance, "a declared attachment class above the model's clearance"
        if team is not None and team.allowed_models is not None:
            assert sent["_model"] in team.allowed_models, "a model the team may not use was called"
        assert "file_data" not in str(sent), "a file part reached a model unread"
        for text in message_texts(sent["messages"]) + definition_texts(sent):
            assert DETECT(text).proposed_class <= clearance
