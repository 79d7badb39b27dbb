"""Markings in their spellings, 秘 only in marking positions, content cues."""

from __future__ import annotations

import pytest

from gennai.policy.detection import detect


def labels(text: str) -> list[tuple[str, int]]:
    return [(m.label, m.proposed_class) for m in detect(text).markings]


@pytest.mark.parametrize(
    "text, label, cls",
    [
        ("機密性3", "機密性3", 3),
        ("機密性２情報", "機密性2", 2),
        ("機密性 2", "機密性2", 2),
        ("機 密 性 ２", "機密性2", 2),
        ("機密性　１", "機密性1", 1),
        ("【取扱注意】", "取扱注意", 2),
        ("取り扱い注意", "取扱注意", 2),
        ("取 扱 注 意", "取扱注意", 2),
        ("部外秘", "部外秘", 2),
        ("省外秘", "省外秘", 2),
        ("関係者限り", "関係者限り", 2),
        ("課内限り", "課内限り", 2),
        ("省内限り", "省内限り", 2),
        ("省 内 限 り", "省内限り", 2),
        ("総務課内限り", "総務課内限り", 2),
        ("極秘", "極秘", 3),
        ("ＣＯＰＹ 複製禁止", "複製禁止", 2),
        ("配付禁止", "配付禁止", 2),
        ("転送禁止", "転送禁止", 2),
        ("外部提供禁止", "外部提供禁止", 2),
        ("暗号化必須", "暗号化必須", 2),
        ("【秘】", "秘", 3),
        ("〔秘〕 会議資料", "秘", 3),
        ("（秘）", "秘", 3),
        ("「秘」扱いとする", "秘", 3),
        ("会議資料\n秘\n本文", "秘", 3),
    ],
)
def test_markings(text: str, label: str, cls: int) -> None:
    assert (label, cls) in labels(text)
    assert detect(text).proposed_class == cls


@pytest.mark.parametrize(
    "text",
    [
        "秘書の方に連絡する。",
        "秘密保持契約を締結した。",
        "神秘的な景色",
        "便秘の相談",
        "黙秘権の告知",
        "今回限りの措置",
        "本日限り有効",
        "会員限りの特典",
        "在庫限りで終了",
        "極秘裏に進められた計画の報道",
    ],
)
def test_not_markings(text: str) -> None:
    assert labels(text) == []
    assert detect(text).proposed_class == 1


def test_marking_class_is_maximum() -> None:
    d = detect("機密性1\n【極秘】")
    assert d.proposed_class == 3
    assert [m.label for m in d.markings] == ["機密性1", "極秘"]


def test_explicit_class_1_does_not_hide_personal_data() -> None:
    assert detect("機密性1 個人番号 123456789018").proposed_class == 2


def test_marking_offsets_point_to_original() -> None:
    text = "ﾃｽﾄ 機密性２情報です"
    (m,) = detect(text).markings
    assert text[m.start : m.end] == "機密性２情報"


@pytest.mark.parametrize("text", ["これは未定稿です", "検討中の案として", "内部検討用資料", "予定価格は 1,000万円"])
def test_content_cues(text: str) -> None:
    d = detect(text)
    assert d.proposed_class == 2
    assert any("機密性2" in r for r in d.reasons)


def test_bid_words_in_public_notice_are_not_cues() -> None:
    assert detect("入札公告\n予定価格は事前に公表する。").proposed_class == 1


def test_circled_hi_is_a_marking() -> None:
    text = "㊙ 会議資料"
    d = detect(text)
    assert [(m.label, text[m.start : m.end]) for m in d.markings] == [("秘", "㊙")]
    assert d.proposed_class == 3


@pytest.mark.parametrize("text", ["秘　取扱注意\n警備計画（案）", "秘 関係者限り\n会議資料", "資料\n秘　複製禁止"])
def test_hi_stamp_next_to_another_marking(text: str) -> None:
    d = detect(text)
    assert d.proposed_class == 3
    assert "秘" in [m.label for m in d.markings]


@pytest.mark.parametrize("text", ["秘書 取扱注意の書類", "神秘 取扱注意"])
def test_hi_inside_a_word_next_to_a_marking_is_not_a_stamp(text: str) -> None:
    assert detect(text).proposed_class == 2


@pytest.mark.parametrize(
    "text",
    [
        "課長への報告がまだのため、取扱いに注意すること。",
        "本資料の取り扱いに注意願います。",
        "庁内協議用\n・案A\n・案B",
        "市長への説明前のため資料は回収する。",
        "起案用紙\n件名：補助金交付要綱の改正について",
        "件名：備品の購入について\n起案者：会計課 主事",
        "決裁前の案であり変更がありうる。",
        "開札前のため入札書は金庫に保管する。",
        "事業の規模は未公表である。",
    ],
)
def test_deliberation_and_draft_cues(text: str) -> None:
    d = detect(text)
    assert d.proposed_class == 2
    assert d.entities == ()
    assert any("機密性2" in r for r in d.reasons)
