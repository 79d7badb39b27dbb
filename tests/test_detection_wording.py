"""The wording model (policy/detection/wording.py): its features, how the detector uses it (it
can only raise a text to class 2, with a reason), and the shipped model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from gennai.policy.detection import detect
from gennai.policy.detection.detector import DefaultDetector
from gennai.policy.detection.names import analyse
from gennai.policy.detection.wording import MODEL_RESOURCE, WordingModel, features, shipped_model

ROOT = Path(__file__).resolve().parents[1]


def test_features_are_words_and_word_pairs_with_numbers_folded() -> None:
    assert features(["予算", " ", "2025", "年度", "案"]) == {"予算", "#", "年度", "案", "予算 #", "# 年度", "年度 案"}
    assert features([]) == set()


def toy_model() -> WordingModel:
    return WordingModel({"検討": 4.0, "検討 中": 1.0, "お知らせ": -6.0}, -2.0, 0.6, min_chars=0)


def test_a_text_that_reads_as_internal_is_raised_to_class_2_with_a_reason() -> None:
    result = DefaultDetector(wording=toy_model()).detect("この件はこれから検討する。")
    assert result.proposed_class == 2
    assert result.entities == ()
    assert any(r.startswith("文面:") and "class 2" in r for r in result.reasons)


def test_a_short_text_is_left_to_the_rules() -> None:
    model = WordingModel({"検討": 4.0}, -2.0, 0.6, min_chars=80)
    assert DefaultDetector(wording=model).detect("この件はこれから検討する。").proposed_class == 1
    longer = "この件はこれから検討する。" + "日程は追って連絡します。" * 6
    assert len(longer) >= 80 and DefaultDetector(wording=model).detect(longer).proposed_class == 2


def test_the_model_stays_quiet_below_its_threshold_and_when_turned_off() -> None:
    assert DefaultDetector(wording=toy_model()).detect("検討結果のお知らせ").proposed_class == 1
    assert DefaultDetector(wording=None).detect("この件はこれから検討する。").proposed_class == 1


def test_the_model_never_lowers_a_class_nor_adds_its_reason_to_one_already_at_2() -> None:
    strongly_public = WordingModel({"秘": -50.0, "電話": -50.0}, -50.0, 0.6)
    detector = DefaultDetector(wording=strongly_public)
    assert detector.detect("【秘】\n人事案").proposed_class == 3
    result = DefaultDetector(wording=toy_model()).detect("これから検討する。申請者の携帯は090-1234-5678です。")
    assert result.proposed_class == 2
    assert not any(r.startswith("文面:") for r in result.reasons)


def test_the_probability_is_the_logistic_of_the_weights_present() -> None:
    model = toy_model()
    assert model.probability([]) == pytest.approx(1 / (1 + math.exp(2.0)))
    assert model.probability(["検討"]) == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert model.probability(["検討", "中"]) == pytest.approx(1 / (1 + math.exp(-3.0)))
    assert model.probability(["検討", "検討"]) == model.probability(["検討"])  # presence, not counts


def test_the_detector_feeds_the_model_the_words_it_tokenized() -> None:
    words = [m[3] for chunk in analyse("この件はこれから検討する。") for m in chunk.morphemes]
    assert "検討" in words


def test_the_shipped_model_is_packaged_and_describes_its_training() -> None:
    data = json.loads((ROOT / "src" / "gennai" / MODEL_RESOURCE).read_text(encoding="utf-8"))
    assert 1000 <= len(data["weights"]) <= 10000
    assert 0.5 <= data["threshold"] < 1.0
    assert "corpus.jsonl" in data["about"]["trained_on"]
    model = shipped_model()
    assert model.threshold == data["threshold"]
    assert len(model.weights) == len(data["weights"])


@pytest.mark.parametrize(
    "text",
    [
        "来年度の組織改編の件、まだ案の段階ですが部長と相談した内容を共有します。係の統合については職員団体への説明が終わるまで伏せておいてください。統合後の係名と席の配置も、決まり次第共有します。",
        "来週の課内会議の議題案です。\n1 予算執行状況（上半期の実績と下半期の見込み）\n2 人事評価の進め方（面談の日程調整）\n3 その他\nご意見があれば金曜までに担当の私まで返信をお願いします。",
    ],
)
def test_the_shipped_model_reads_internal_papers_the_rules_miss(text: str) -> None:
    assert DefaultDetector(wording=None).detect(text).proposed_class == 1
    assert detect(text).proposed_class == 2


@pytest.mark.parametrize(
    "text",
    [
        "道路工事に伴う通行止めのお知らせ\n令和7年9月8日から9月26日まで、市道本町線を通行止めにします。ご協力をお願いします。",
        "Excelで重複を削除する方法を教えてください。",
        "市民文化祭の出演団体を募集します。申込みは7月31日まで。詳しくは市ホームページをご覧ください。",
    ],
)
def test_the_shipped_model_leaves_public_and_general_texts_at_class_1(text: str) -> None:
    assert detect(text).proposed_class == 1


def test_instructions_to_the_model_are_read_by_the_rules_alone(tmp_path: Path) -> None:
    """A system prompt or a tool definition is an instruction, not a paper: the wording model
    does not judge it (the rules still do), so an app's own prompt does not send every run of
    the app to a domestic model."""
    from gennai.config import GatewayConfig, ModelConfig
    from gennai.gateway.registry import ModelRegistry
    from gennai.policy.content import chat_content
    from gennai.policy.decision import Policy, PolicyRequest
    from gennai.policy.detection import instructions_detector

    def model(model_id: str, clearance: int, hosting: str) -> ModelConfig:
        return ModelConfig(id=model_id, display_name=model_id, provider="openai", base_url="http://127.0.0.1:9/v1",
                           origin="domestic", hosting=hosting, clearance=clearance, capabilities=["chat"])  # type: ignore[arg-type]

    registry = ModelRegistry.from_config([model("domestic", 2, "government-cloud"), model("abroad", 1, "overseas")], GatewayConfig(), tmp_path)
    detector = DefaultDetector(wording=toy_model())
    policy = Policy(registry, detect=detector.detect, detect_instructions=instructions_detector(detector).detect)

    def decided(messages: list[dict[str, object]]) -> int:
        content = chat_content({"model": "auto", "messages": messages}, max_attachment_chars=10_000)
        return policy.decide(PolicyRequest(model="auto", texts=content.texts, instructions=content.instructions)).effective_class

    internal_style = "これから検討する。"
    assert decided([{"role": "system", "content": internal_style}, {"role": "user", "content": "こんにちは"}]) == 1
    assert decided([{"role": "developer", "content": internal_style}, {"role": "user", "content": "こんにちは"}]) == 1
    assert decided([{"role": "user", "content": internal_style}]) == 2
    # the rules still read a system prompt: a marking there is a marking
    assert decided([{"role": "system", "content": "【取扱注意】" + internal_style}, {"role": "user", "content": "要約して"}]) == 2


def test_the_instructions_detector_is_the_rules_of_the_same_dictionary() -> None:
    from gennai.policy.detection import CustomRules, default_detector, instructions_detector

    custom = CustomRules.from_lists(["青嵐プロジェクト"])
    rules = instructions_detector(default_detector(custom))
    assert isinstance(rules, DefaultDetector) and rules.wording is None and rules.custom == custom
    assert rules.detect("青嵐プロジェクトの件").proposed_class == 2
    plugin_like = DefaultDetector(wording=None)
    assert instructions_detector(plugin_like) is plugin_like


def test_chat_content_marks_system_messages_and_definitions_as_instructions() -> None:
    from gennai.policy.content import chat_content

    body = {
        "model": "auto",
        "messages": [
            {"role": "system", "content": "あなたは要約アシスタントです。"},
            {"role": "user", "content": [{"type": "text", "text": "要約して"}, {"type": "text", "text": "本文"}]},
            {"role": "assistant", "content": "はい"},
        ],
        "tools": [{"type": "function", "function": {"name": "lookup", "description": "検索"}}],
    }
    content = chat_content(body, max_attachment_chars=10_000)
    assert content.texts[:4] == ("あなたは要約アシスタントです。", "要約して", "本文", "はい")
    assert content.instructions == frozenset({0, 4})


def test_an_english_text_is_left_to_the_rules() -> None:
    model = WordingModel({"plan": 5.0, "計画": 5.0}, -2.0, 0.6, min_chars=0)
    detector = DefaultDetector(wording=model)
    assert detector.detect("Please summarise this plan for the committee members. " * 2).proposed_class == 1
    assert detector.detect("この計画を委員向けに要約してください。").proposed_class == 2


def test_the_wording_model_leaves_marking_words_to_the_rules() -> None:
    from gennai.policy.detection.wording import features

    present = features(["機密性", "2", "情報", "を", "課長", "に", "説明", "取扱注意", "秘"])
    assert not any("機密" in f or "取扱" in f or "秘" in f for f in present)
    assert "課長" in present and "# 情報" in present
