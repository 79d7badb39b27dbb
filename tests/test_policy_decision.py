"""The decision point's answers, example by example (the property test covers the invariant)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gennai.config import GatewayConfig, ModelConfig, PolicyConfig, RoutingRule
from gennai.gateway.errors import Forbidden, InvalidRequest, ModelNotFound
from gennai.gateway.registry import ModelRegistry
from gennai.policy.decision import Policy, PolicyRequest, decide, parse_declared_class
from gennai.policy.detection import default_detector


def model(model_id: str, clearance: int, capabilities: list[str], fallback: list[str] | None = None, hosting: str = "government-cloud") -> ModelConfig:
    return ModelConfig(
        id=model_id,
        display_name=model_id,
        provider="openai",
        base_url="http://127.0.0.1:9/v1",
        origin="domestic",
        hosting=hosting,  # type: ignore[arg-type]
        clearance=clearance,  # type: ignore[arg-type]
        capabilities=capabilities,  # type: ignore[arg-type]
        fallback=fallback or [],
    )


@pytest.fixture()
def registry() -> ModelRegistry:
    models = [
        model("domestic", 2, ["chat"], fallback=["abroad", "domestic-tools", "secret"]),
        model("abroad", 1, ["chat", "tools"], hosting="overseas"),
        model("domestic-tools", 2, ["chat", "tools"]),
        model("secret", 3, ["chat"], hosting="on-premises"),
        model("translator", 2, ["translation"]),
        model("embedder", 2, ["embeddings"]),
    ]
    return ModelRegistry.from_config(models, GatewayConfig(), Path("."))


def test_fallbacks_are_filtered_by_class(registry: ModelRegistry) -> None:
    assert decide(registry, "domestic", declared_class=1).candidates == ["domestic", "abroad", "domestic-tools", "secret"]
    assert decide(registry, "domestic", declared_class=2).candidates == ["domestic", "domestic-tools", "secret"]


def test_class_3_goes_only_where_cleared(registry: ModelRegistry) -> None:
    assert decide(registry, "secret", declared_class=3).candidates == ["secret"]
    with pytest.raises(Forbidden) as info:
        decide(registry, "domestic", declared_class=3)
    message = info.value.message
    assert "機密性3" in message and "secret" in message and "Allowed models: secret" in message


def test_refusal_explains_in_japanese_and_english(registry: ModelRegistry) -> None:
    with pytest.raises(Forbidden) as info:
        decide(registry, "abroad", declared_class=2)
    assert info.value.status == 403 and info.value.code == "classification_not_cleared"
    assert "送れません" in info.value.message and "may not be sent" in info.value.message
    assert "domestic" in info.value.message and "abroad" not in info.value.message.split("Allowed models:")[1]


def test_refusal_details_carry_the_facts_of_the_message(registry: ModelRegistry) -> None:
    with pytest.raises(Forbidden) as info:
        decide(registry, "abroad", declared_class=2)
    details = info.value.details
    assert details is not None
    assert details["class"] == 2 and details["model"] == "abroad" and details["model_clearance"] == 1
    assert details["found"] == {} and details["previews"] == [] and details["rule"] is None
    assert details["allowed_models"] == ["domestic", "domestic-tools", "secret", "translator"]
    assert details["reasons"] == ["申告 機密性2 / declared 2"]
    payload = info.value.to_payload()["error"]
    assert payload["details"] == details  # type: ignore[index]
    # cleared for the class, but its hosting is not allowed for it
    policy = Policy(registry, PolicyConfig(hosting_class_3=["government-cloud"]))
    with pytest.raises(Forbidden) as hosted:
        policy.decide(PolicyRequest(model="secret", declared_class=3))
    assert hosted.value.details is not None and hosted.value.details["hosting"] == "on-premises"
    assert hosted.value.details["allowed_models"] == []


def test_detected_items_are_counted_and_previewed_never_shown_raw(registry: ModelRegistry) -> None:
    policy = Policy(registry, detect=default_detector().detect)
    with pytest.raises(Forbidden) as info:
        policy.decide(PolicyRequest(model="abroad", texts=("個人番号 1234 5678 9018 の件",)))
    details = info.value.details
    assert details is not None and details["found"] == {"MY_NUMBER": 1} and details["class"] == 2
    [preview] = details["previews"]
    assert preview["type"] == "MY_NUMBER" and "*" in preview["preview"] and "1234 5678 9018" not in str(details)
    assert preview["preview"] in info.value.message  # the same masked preview as the message's


def test_no_eligible_model_names_the_rule_that_offered_none(registry: ModelRegistry) -> None:
    rule = RoutingRule(name="secret-stays-home", classes=[3], models=["domestic"])
    policy = Policy(registry, PolicyConfig(rules=[rule]))
    with pytest.raises(Forbidden) as info:
        policy.decide(PolicyRequest(model="auto", declared_class=3))
    assert info.value.code == "no_eligible_model"
    assert info.value.details is not None and info.value.details["rule"] == "secret-stays-home"
    assert info.value.details["allowed_models"] == ["secret"] and "model" not in info.value.details


def test_errors_without_details_keep_the_openai_shape() -> None:
    assert InvalidRequest("bad", param="x", code="c").to_payload() == {
        "error": {"message": "bad", "type": "invalid_request_error", "param": "x", "code": "c"}
    }


def test_tools_need_a_model_with_tools_and_so_do_fallbacks(registry: ModelRegistry) -> None:
    with pytest.raises(InvalidRequest) as info:
        decide(registry, "domestic", capabilities=("chat", "tools"))
    assert info.value.param == "tools"
    assert decide(registry, "abroad", capabilities=("chat", "tools")).candidates == ["abroad"]


def test_translation_models_answer_chat_requests(registry: ModelRegistry) -> None:
    assert decide(registry, "translator", declared_class=2).candidates == ["translator"]
    with pytest.raises(InvalidRequest):
        decide(registry, "translator", capabilities=("embeddings",))
    assert decide(registry, "embedder", capabilities=("embeddings",)).candidates == ["embedder"]


def test_unknown_model(registry: ModelRegistry) -> None:
    with pytest.raises(ModelNotFound):
        decide(registry, "ghost")


@pytest.mark.parametrize(("value", "expected"), [(None, 1), ("", 1), ("2", 2), ("２", 2), ("機密性3", 3), (" 1 ", 1)])
def test_declared_class_header(value: str | None, expected: int) -> None:
    assert parse_declared_class(value) == expected


@pytest.mark.parametrize("value", ["0", "4", "secret", "2.5"])
def test_bad_declared_class_is_a_400(value: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_declared_class(value)
    assert info.value.param == "X-Gennai-Classification"


def test_deployment_hosting_rules_narrow_what_a_class_may_use() -> None:
    from gennai.config import PolicyConfig
    from gennai.policy.decision import Policy, PolicyRequest

    models = [
        model("commercial", 2, ["chat"], fallback=["gov"], hosting="domestic-region"),
        model("gov", 2, ["chat"]),
    ]
    registry = ModelRegistry.from_config(models, GatewayConfig(), Path("."))
    strict = Policy(registry, PolicyConfig(hosting_class_2=["government-cloud", "on-premises"]))
    with pytest.raises(Forbidden) as info:
        strict.decide(PolicyRequest("commercial", declared_class=2))
    assert "domestic-region" in info.value.message and "Allowed models: gov" in info.value.message
    assert strict.decide(PolicyRequest("commercial", declared_class=1)).candidates == ["commercial", "gov"]
    assert Policy(registry).decide(PolicyRequest("commercial", declared_class=2)).candidates == ["commercial", "gov"]
