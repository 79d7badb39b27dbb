"""Public API: custom rules, the Detector protocol, caching, the plugin registry, to_json."""

from __future__ import annotations

import threading
from importlib.metadata import EntryPoint

import pytest

import gennai.policy.detection.detector as detector_module
from gennai.policy.detection import (
    CustomRules,
    Detection,
    Detector,
    Entity,
    default_detector,
    detect,
    load_detector,
)


def test_custom_terms_and_patterns() -> None:
    rules = CustomRules.from_mapping(
        {"terms": ["青嵐", {"term": "KASUMI-X", "class": 3}], "patterns": [{"pattern": r"PRJ-\d{4}", "name": "案件番号"}]}
    )
    text = "青 嵐 計画、kasumi-x と PRJ-0042"
    d = detect(text, rules)
    assert [(e.type, text[e.start : e.end], e.proposed_class) for e in d.entities] == [
        ("CUSTOM", "青 嵐", 2),
        ("CUSTOM", "kasumi-x", 3),
        ("CUSTOM", "PRJ-0042", 2),
    ]
    assert d.proposed_class == 3
    assert detect(text).entities == ()


def test_custom_rules_validation() -> None:
    with pytest.raises(ValueError):
        CustomRules.from_lists(patterns=["(unclosed"])
    with pytest.raises(ValueError):
        CustomRules.from_lists(terms=[("x", 4)])


def test_default_detector_is_cached_and_a_detector() -> None:
    rules = CustomRules.from_lists(terms=["青嵐"])
    assert default_detector() is default_detector()
    assert default_detector(rules) is default_detector(CustomRules.from_lists(terms=["青嵐"]))
    assert isinstance(default_detector(), Detector)
    assert load_detector("default") is default_detector()


def test_detector_is_thread_safe() -> None:
    text = "山田太郎さん 090-1234-5678 【秘】"
    expected = detect(text)
    results: list[Detection] = []

    def work() -> None:
        for _ in range(20):
            results.append(default_detector().detect(text))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80 and all(r == expected for r in results)


class FakeDetector:
    name = "fake"

    def detect(self, text: str) -> Detection:
        return Detection(2, (Entity("PERSON", 0, len(text), "*", 2, "fake"),), (), ("fake",))


def test_load_detector_from_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint(name="fake", value=f"{__name__}:FakeDetector", group="gennai.detectors")
    monkeypatch.setattr(detector_module, "entry_points", lambda group: [ep] if group == "gennai.detectors" else [])
    monkeypatch.setattr(detector_module, "_plugins", {})
    loaded = load_detector("fake")
    assert loaded.name == "fake"
    assert load_detector("fake") is loaded
    assert loaded.detect("abc").proposed_class == 2
    with pytest.raises(LookupError, match="no detector 'ginza'"):
        load_detector("ginza")


def test_to_json_shape() -> None:
    d = detect("【秘】 山田太郎さん")
    out = d.to_json("doc-1")
    assert out == {
        "id": "doc-1",
        "class": 3,
        "entities": [{"type": "PERSON", "start": 4, "end": 8}],
        "markings": [{"label": "秘", "start": 1, "end": 2, "class": 3}],
        "reasons": list(d.reasons),
    }


def test_empty_text() -> None:
    d = detect("")
    assert d.proposed_class == 1 and d.entities == () and d.markings == ()
