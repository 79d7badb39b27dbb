"""From the fifth blind set ('blind5', now a development set): a request to an AI with a
paper pasted in, or a text that only says お知らせします in its body, is not a published
notice, so the residents named in it stay personal; internal status words (非公表, 査定中,
議会議決前) make a paper class 2 without any personal data.

All names and addresses here are invented for these tests."""

from __future__ import annotations

import pytest

from gennai.policy.detection import detect


def test_residents_in_a_pasted_record_are_personal() -> None:
    text = (
        "以下は住民説明会の記録（担当者のメモ書き）です。これを、発言者の名前と住所を伏せた議事要旨に直してください。\n"
        "---\n"
        "鴨志田 浩（船橋市三山6-22-1）：道路拡幅で自宅の生垣が削られると聞いた。\n"
        "市：次回は1か月前に回覧でお知らせします。\n"
    )
    result = detect(text)
    assert result.proposed_class == 2
    assert ("PERSON", "鴨志田 浩") in [(e.type, text[e.start : e.end]) for e in result.entities]


@pytest.mark.parametrize(
    "text",
    [
        "令和8年度当初予算 一次査定メモ（財政課）　※査定中・非公表\n| 事業 | 要求額 |\n|---|---|\n| 市民プール運営費 | 38,900 |",
        "起案（指定管理者候補者の決定について）　※議会議決前\n1位 一般社団法人かわうち観光協会　78.5点",
    ],
)
def test_internal_status_words_make_class_2(text: str) -> None:
    assert detect(text).proposed_class == 2
