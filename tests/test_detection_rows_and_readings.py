"""Names in rows of tables with no header, readings written in the next cell, a name with its
age, and a name before an address in a ward whose name begins like a title (神戸市長田区): misses
left from the blind sets blind19-blind28, fixed by general rules."""

from __future__ import annotations

import pytest

from tests.support.findings import found


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # a row with a phone number, a row with a My-Number-like reference and a date
        ("521-20-118052,Tran Thi Mai,チャン ティ マイ,7,\"102,200\",080-2281-6430", "Tran Thi Mai"),
        ("847748448349,Chen Yu-ting,080-9034-1276,2025/11/09", "Chen Yu-ting"),
        # the same column holds a person found in another row
        ("14｜丸岡 蒼（桜丘中2年）｜母・本児・妹｜ネグレクト傾向\n22｜ワン・ハオ（若葉台小1年）｜父母・本児・妹｜給食", "ワン・ハオ"),
        # the same row holds a person found already
        ("R8-0031,SANTOS Lucas 様,2025/01/04,SANTOS Ana,88,無,若葉保育所", "SANTOS Ana"),
    ],
)
def test_a_name_in_a_row_of_a_table_with_no_header(text: str, value: str) -> None:
    assert value in found(text, "PERSON")


@pytest.mark.parametrize(
    "text",
    [
        "カスタマー・サポート,0120-123-456,平日9時から",  # katakana words of a phrase
        "総務課,03-5253-5111,代表",  # an office and its switchboard
        "会場,市民会館 大ホール,2025/11/09",  # no person, nothing personal in the row
    ],
)
def test_a_row_with_no_name_in_it_names_no_one(text: str) -> None:
    assert found(text, "PERSON") == []


def test_a_row_in_a_public_notice_is_not_read_as_a_record_of_people() -> None:
    text = "お知らせ\n表彰者一覧\n1,Anna Schmidt,国際交流功労,ドイツ\n2,山田 太郎,地域福祉功労,東区"
    assert found(text, "PERSON") == []


@pytest.mark.parametrize(
    ("text", "name", "reading"),
    [
        ("納税義務者：上田 葵　ウエダ アオイ\n住所：神戸市西区玉津町今津2丁目3-4", "上田 葵", "ウエダ アオイ"),
        ("学生：矢島 百花（ヤジマ モモカ）、2006年1月9日生", "矢島 百花", "ヤジマ モモカ"),
        ("523-18-230981,杉浦 なつみ,スギウラ ナツミ,2,\"27,000\",070-1234-5678", "杉浦 なつみ", "スギウラ ナツミ"),
    ],
)
def test_a_name_and_its_reading_are_two_mentions(text: str, name: str, reading: str) -> None:
    people = found(text, "PERSON")
    assert name in people and reading in people


def test_a_katakana_given_name_after_a_kanji_surname_stays_one_name() -> None:
    # an old woman's name (菅野 ツル), not a kanji name and the start of its reading
    assert found("1　菅野 ツル　大正15年3月8日　福島県いわき市平字童子町4-2", "PERSON") == ["菅野 ツル"]


def test_a_common_noun_with_a_reading_is_not_a_name() -> None:
    assert found("市民 会館（シミン カイカン）の使い方", "PERSON") == []


def test_a_name_with_an_age_in_brackets() -> None:
    # 勇気 is also a common noun; the age says it is a given name here
    assert found("1　浜口 勇気（42）　単身、稼働年齢層", "PERSON") == ["浜口 勇気"]


def test_a_name_before_an_address_in_nagata_ward_is_not_a_mayor() -> None:
    # 神戸市長田区 begins 神戸市長 (the mayor), but it is 神戸市 + 長田区
    text = "2　門田 由美子　神戸市長田区日吉町5丁目3番2号　名義人は施設入所中。"
    assert found(text, "PERSON") == ["門田 由美子"]


def test_a_name_before_a_mayors_title_is_still_an_official() -> None:
    assert found("お知らせ\n神戸市長 久元 喜造", "PERSON") == []


def test_a_childs_kana_name_the_dictionary_cuts_before_kun() -> None:
    assert "ゆいと" in found("9/30 園庭、ぞう組（4歳）。\nゆいとくん（小林 結翔）が滑り台の階段から落ちた。", "PERSON")


@pytest.mark.parametrize("text", ["あかちゃんが泣いている。", "おばちゃんに挨拶した。", "みんなちゃんと座って。"])
def test_kana_words_before_chan_that_are_not_names(text: str) -> None:
    assert found(text, "PERSON") == []
