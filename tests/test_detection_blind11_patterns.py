"""From the eleventh blind set ('blind11', now a development set): internal papers whose only
signal is their wording — a subject marked （内部）, a budget before its assessment (市長査定前), a
memo for an oral briefing, an instruction to keep it among those involved — and public texts
with the same words that stay class 1."""

from __future__ import annotations

import pytest

from gennai.policy.detection import detect


@pytest.mark.parametrize(
    "text",
    [
        "Subject: Re: 来年度予算 一次査定の件（内部）\n復活要求を出したいと考えています。",
        "まだ市長査定前の段階ですので、問合せには「検討中」とだけお答えください。",
        "課長へ（口頭説明用メモ）\n保育所の再編の件、副市長と話した内容のまとめです。",
        "保護者への説明は予算内示後。それまで職員にも広げない。",
        "以上、まだ何も決まっていない前提で扱ってください。",
        "【内部】来年度の方針",
    ],
)
def test_internal_wording_makes_class_2(text: str) -> None:
    assert detect(text).proposed_class == 2


@pytest.mark.parametrize(
    "text",
    [
        "内部統制の強化について（お知らせ）",
        "一次査定の結果を公表します。",
        "市長への説明は来週です。",
    ],
)
def test_public_uses_of_the_same_words_stay_class_1(text: str) -> None:
    assert detect(text).proposed_class == 1
