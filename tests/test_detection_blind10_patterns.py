"""From the tenth blind set ('blind10', now a development set): romanised names introducing
their bearer (…FERNANDESです, I am Rahul SHARMA), romanised names in bulleted rows, a surname
alone with a phone number on its line, staff and volunteers named with a title in a personal
matter (早川課長補佐, 桑田民生委員, 乙部（道路課）), a place-name surname with a hiragana given name
after a label, and occupations before さん that are not names.

All names, addresses and numbers here are invented for these tests."""

from __future__ import annotations

import pytest

from gennai.policy.detection import detect


def found(text: str) -> list[tuple[str, str]]:
    return [(e.type, text[e.start : e.end]) for e in detect(text).entities]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("こんにちは。Maria Luisa FERNANDESです。ブラジル出身です。", "PERSON", "Maria Luisa FERNANDES"),
        ("Dear Madam,\nI am Rahul SHARMA, living in Kobe.", "PERSON", "Rahul SHARMA"),
        ("・Hoang Thi Mai　1996.05.03生", "PERSON", "Hoang Thi Mai"),
        ("予約はいりますか。\n西田　０７０－４１２３－５６７８", "PERSON", "西田"),
        ("健康診断結果\n乙部（道路課）／血圧 要治療", "PERSON", "乙部"),
        ("※早川課長補佐への指導について、本人の休職", "PERSON", "早川"),
        ("見守り協力員（近隣2名）に桑田民生委員から声をかける。", "PERSON", "桑田"),
        ("相手方：新城 ひかり（茨城県つくば市）", "PERSON", "新城 ひかり"),
    ],
)
def test_found(text: str, kind: str, value: str) -> None:
    assert (kind, value) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "センターで栄養士さんや保健師さんに相談できます。",
        "健康推進課の田中課長が説明した。",
        "This is Tokyo Station.",
        "I am Tokyo Station staff.",
        "場所：新宿 あたり（駅前）",
        "早川課長が説明した。",
    ],
)
def test_not_a_person(text: str) -> None:
    assert not [value for kind, value in found(text) if kind == "PERSON"]
