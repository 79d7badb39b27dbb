"""The one invariant, as a property: whatever the models, clearances, fallback lists and
failures, no model ever receives content above its clearance — directly, by retry or by
fallback, streaming or not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gennai.config import GatewayConfig, ModelConfig
from gennai.gateway.dispatch import Dispatcher, Outcome
from gennai.gateway.errors import Forbidden, GatewayError, UpstreamError, UpstreamRejected
from gennai.gateway.providers.base import ProbeResult, Provider, chunk
from gennai.gateway.registry import ModelRegistry, RegisteredModel
from gennai.gateway.resilience import CircuitBreaker, ConcurrencyLimiter
from gennai.policy.decision import decide

BEHAVIOURS = ("ok", "fail", "reject", "rate_limited")


class ScriptedProvider(Provider):
    """Records every body it receives; behaves as scripted."""

    kind = "scripted"

    def __init__(self, model: ModelConfig, behaviour: str, received: list[tuple[str, int]], declared: int) -> None:
        super().__init__(model)
        self.behaviour = behaviour
        self.received = received
        self.declared = declared

    def _receive(self) -> None:
        self.received.append((self.model.id, self.model.clearance))
        if self.behaviour == "fail":
            raise UpstreamError("scripted failure")
        if self.behaviour == "reject":
            raise UpstreamRejected("scripted rejection")
        if self.behaviour == "rate_limited":
            raise UpstreamError("scripted 429", status=429, retry_same=False)

    async def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        self._receive()
        return {"choices": [{"message": {"role": "assistant", "content": "ok"}}], "usage": {}}

    async def _stream_chat(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        self._receive()
        yield chunk("id", self.model.id, 0, {"content": "ok"})

    async def probe(self) -> ProbeResult:
        return ProbeResult(True, "scripted")


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 6))
    ids = [f"m{i}" for i in range(count)]
    models = []
    for model_id in ids:
        hosting = draw(st.sampled_from(["on-premises", "government-cloud", "domestic-region", "overseas"]))
        max_clearance = {"overseas": 1, "domestic-region": 2}.get(hosting, 3)
        others = [i for i in ids if i != model_id]
        models.append(
            {
                "id": model_id,
                "hosting": hosting,
                "clearance": draw(st.integers(1, max_clearance)),
                "fallback": draw(st.lists(st.sampled_from(others), unique=True, max_size=len(others)) if others else st.just([])),
                "behaviour": draw(st.sampled_from(BEHAVIOURS)),
            }
        )
    return {
        "models": models,
        "requested": draw(st.sampled_from(ids)),
        "declared": draw(st.integers(1, 3)),
        "retries": draw(st.integers(0, 2)),
        "stream": draw(st.booleans()),
    }


def build(scenario: dict[str, Any], received: list[tuple[str, int]]) -> ModelRegistry:
    registered = []
    for spec in scenario["models"]:
        config = ModelConfig(
            id=spec["id"],
            display_name=spec["id"],
            provider="openai",
            base_url="http://127.0.0.1:9/v1",
            origin="domestic",
            hosting=spec["hosting"],
            clearance=spec["clearance"],
            fallback=spec["fallback"],
        )
        registered.append(
            RegisteredModel(
                config=config,
                provider=ScriptedProvider(config, spec["behaviour"], received, scenario["declared"]),
                breaker=CircuitBreaker(3, 30),
                limiter=ConcurrencyLimiter(spec["id"], 4, 4),
            )
        )
    return ModelRegistry(registered)


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_no_model_receives_content_above_its_clearance(scenario: dict[str, Any]) -> None:
    received: list[tuple[str, int]] = []
    registry = build(scenario, received)
    declared = scenario["declared"]
    requested = registry.get(scenario["requested"])
    assert requested is not None
    try:
        decision = decide(registry, scenario["requested"], declared_class=declared)
    except Forbidden:
        assert requested.config.clearance < declared
        assert received == []
        return
    assert decision.effective_class >= declared
    assert all(registry.get(c).config.clearance >= declared for c in decision.candidates)  # type: ignore[union-attr]
    dispatcher = Dispatcher(registry, GatewayConfig(retries=scenario["retries"], retry_backoff_s=0))

    async def run() -> None:
        outcome = Outcome()
        try:
            if scenario["stream"]:
                async for _ in await dispatcher.stream_chat(decision, {"messages": []}, outcome):
                    pass
            else:
                await dispatcher.chat(decision, {"messages": []}, outcome)
        except GatewayError:
            pass
        if outcome.model is not None:
            assert outcome.model.id in decision.candidates

    asyncio.run(run())
    for model_id, clearance in received:
        assert clearance >= declared, f"{model_id} (clearance {clearance}) received class-{declared} content"
        assert model_id in decision.candidates


def test_provider_guard_refuses_text_without_a_valid_admission() -> None:
    """The last line of defence: a caller that skips the policy, or passes an admission for
    a higher class or for other models, is stopped before the backend is touched."""
    from gennai.gateway.errors import PolicyViolation
    from gennai.policy.decision import Decision

    received: list[tuple[str, int]] = []
    config = ModelConfig(
        id="abroad", display_name="abroad", provider="openai", base_url="http://127.0.0.1:9/v1",
        origin="foreign", hosting="overseas", clearance=1,
    )
    provider = ScriptedProvider(config, "ok", received, 1)

    async def attempt(admission: object, streaming: bool) -> None:
        if streaming:
            async for _ in provider.stream_chat({"messages": []}, admission):  # type: ignore[arg-type]
                pass
        else:
            await provider.chat({"messages": []}, admission)  # type: ignore[arg-type]

    for admission in (None, Decision(2, ["abroad"]), Decision(1, ["someone-else"]), object()):
        for streaming in (False, True):
            with pytest.raises(PolicyViolation):
                asyncio.run(attempt(admission, streaming))
    assert received == []
    asyncio.run(attempt(Decision(1, ["abroad"]), False))
    assert received == [("abroad", 1)]
