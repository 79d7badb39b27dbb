"""From the eighth blind set ('blind8', now a development set): a given name the dictionary knows
only in part (陽向), a label written before a name with a family relation, a title glued to the
name (係長村松), a roster row of name and date of birth, a person spoken of by surname
(大谷という人), romanised names in roster rows and before a phone number — and what must stay
unflagged next to them.

All names, addresses and numbers here are invented for these tests."""

from __future__ import annotations

import pytest

from gennai.policy.detection import detect


def found(text: str) -> list[tuple[str, str]]:
    return [(e.type, text[e.start : e.end]) for e in detect(text).entities]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("支給対象児童\n　篠原 陽向（令和7年4月30日生）", "PERSON", "篠原 陽向"),
        ("保護者　藤崎 麻衣（母）　勤務先：株式会社ABC", "PERSON", "藤崎 麻衣"),
        ("当課の係長村松 恵美子さんから連絡があった。", "PERSON", "村松 恵美子"),
        ("No.　氏名　生年月日\n2　丸尾 勇　昭和15年7月30日　新町3丁目6番1号", "PERSON", "丸尾 勇"),
        ("No.　氏名　生年月日\n2　丸尾 勇　昭和15年7月30日　新町3丁目6番1号", "BIRTH_DATE", "昭和15年7月30日"),
        ("上の階は 大谷 という人です。", "PERSON", "大谷"),
        ("調整役は志村という人で、", "PERSON", "志村"),
        ("No.　氏名　生年月日\n3　LEE Soo-jin　1988/11/04　新町3丁目9番5号", "PERSON", "LEE Soo-jin"),
        ("連絡先一覧\nPham Van Long　080-1234-5678", "PERSON", "Pham Van Long"),
    ],
)
def test_found(text: str, kind: str, value: str) -> None:
    assert (kind, value) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "委員 田中 勇 令和6年4月1日付で就任",  # a date that is not a date of birth
        "Tokyo Big Sight 03-5530-1111",  # a venue before its phone number
        "Help Desk 03-1234-5678",
        "東京という町",
        "会場：Grand Hall 2026/5/1",
    ],
)
def test_not_a_person(text: str) -> None:
    assert not [value for kind, value in found(text) if kind == "PERSON"]


def test_a_title_glued_to_the_name_is_not_part_of_it_and_an_honorific_is_not_a_given_name() -> None:
    assert ("PERSON", "田中 太郎") in found("田中 太郎様")
    assert ("PERSON", "山田 花子") in found("山田 花子氏")
    assert ("PERSON", "長村 松子") in found("課長 長村 松子さん")
