"""Content cues are only looked for where one of their anchor words occurs (spaces and tabs
taken out): every text a cue's pattern matches holds one of its anchors, checked on texts
generated from each pattern."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gennai.policy.detection import detect, markings
from tests.support.patterns import unguarded


@pytest.mark.parametrize(("word", "anchors", "pattern"), [(w, a, p) for w, a, p, _ in markings._CUE_RULES], ids=lambda v: str(v)[:12])
def test_every_match_holds_an_anchor(word: str, anchors: tuple[str, ...], pattern: re.Pattern[str]) -> None:
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(unguarded(pattern), fullmatch=True))
    def check(text: str) -> None:
        compact = text.replace(" ", "").replace("\t", "")
        assert any(anchor in compact for anchor in anchors), (word, text)

    check()


def test_each_cue_gives_its_reason_once_in_order() -> None:
    text = "【内部】検討メモ\n予定価格は未公表。予 定 価 格 の件。"
    cues = [reason.split(" → ")[0] for reason in detect(text).reasons if reason.startswith("内容")]
    assert cues == ["内容: 内部資料 / internal paper", "内容: 検討メモ / deliberation memo",
                    "内容: 予定価格 / estimated contract price", "内容: 未公表 / not yet published"]
