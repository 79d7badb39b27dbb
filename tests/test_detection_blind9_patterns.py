"""From the ninth blind set ('blind9', now a development set): a speaker named by surname at the
head of a line of an internal paper, staff whose personal matter is discussed (北川主事の病気休暇),
katakana names in a self-introduction, a relation before a kanji surname and a katakana given
name, 代筆者 as a label, うまれ after a date of birth, procurement papers kept inside the office
before the 公告, an apology notice signed by an official — and what must stay unflagged.

All names, addresses and numbers here are invented for these tests."""

from __future__ import annotations

import pytest

from gennai.policy.detection import detect


def found(text: str) -> list[tuple[str, str]]:
    return [(e.type, text[e.start : e.end]) for e in detect(text).entities]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("検討内容\n久保田：2月以降、対応を変える。", "PERSON", "久保田"),
        ("2. 北川主事の病気休暇について", "PERSON", "北川"),
        ("坂口技師にけがはなかった。", "PERSON", "坂口"),
        ("わたしは グエン・ティ・フオン です。1998/04/12 うまれ です。", "PERSON", "グエン・ティ・フオン"),
        ("わたしは グエン・ティ・フオン です。1998/04/12 うまれ です。", "BIRTH_DATE", "1998/04/12"),
        ("長男の妻 高見沢 アナ・パウラ（ブラジル国籍）", "PERSON", "高見沢 アナ・パウラ"),
        ("記のとおり申請します。\n代筆者　桑原 聡（長男）　電話 090-1234-5678", "PERSON", "桑原 聡"),
    ],
)
def test_found(text: str, kind: str, value: str) -> None:
    assert (kind, value) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "1. 開会：10時",
        "北川主事から説明があった。",  # a staff member in their role, no personal matter
        "道路工事のお知らせ\n施工：嘉瀬組　現場代理人 古賀 健吾　0952-00-0000",  # 現場代理人: a role in a notice
        "個人情報を含む書類の誤送付について（お詫び）\n再発防止に努めます。\n介護保険課長　谷口 忠雄　電話 0776-20-5713",
    ],
)
def test_not_a_person(text: str) -> None:
    assert not [value for kind, value in found(text) if kind == "PERSON"]


def test_procurement_papers_before_the_notice_are_class_2_and_an_office_in_brackets_is_not_a_memo() -> None:
    memo = "メモ（契約課内）\n配送業務の最低制限価格の設定について\n・入札公告は10月6日を予定。"
    assert detect(memo).proposed_class == 2
    chat = "予定価格を決める前に見積の妥当性を確認したい。入札公告前なので外には出さない前提で。"
    assert detect(chat).proposed_class == 2
    notice = "いすみ市選挙管理委員会告示第14号\n投票所を変更する。\n問合せ先：選挙管理委員会事務局（総務課内）"
    assert detect(notice).proposed_class == 1
