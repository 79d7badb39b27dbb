"""From the eighteenth blind set ('blind18', now a development set; mostly prompts typed into an
AI assistant, the second set scored with the wording model, which again found all its class-2
papers): names in prompts (a Vietnamese self-introduction, a Japanese 差出人 line, a name tag in
kana, children listed or glued to their relation, a hyphenated Korean given name, a bullet
before a katakana name) and public texts read as sensitive (a training example of a 起案, a
tourist centre by a station, a company's number under its department)."""

from __future__ import annotations

import pytest

from gennai.policy.detection import DefaultDetector, detect
from tests.support.findings import found

RULES = DefaultDetector(wording=None)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("Xin chào, tôi là NGUYEN Thi Hoa. Tôi sống ở Osaka.", "PERSON", "NGUYEN Thi Hoa"),
        ("Con trai tôi 4 tuổi, sinh ngày 2020/06/17.", "BIRTH_DATE", "2020/06/17"),
        ("▼届いたメール\n差出人：Kenji Ogura <ogura.k@example.jp>", "PERSON", "Kenji Ogura"),
        ("窓口で対応した担当の方の名札は「はやし」でした。", "PERSON", "はやし"),
        ("小学生の子どもが2人います（陽斗、結菜）。", "PERSON", "結菜"),
        ("世帯：本人、長女心愛（小2）", "PERSON", "心愛"),
        ("長男湊（1歳）を預けられないと働けません。", "PERSON", "湊"),
        ("| 氏名 | 職 |\n|---|---|\n| Lee Ji-won | 主事（任期付） |", "PERSON", "Lee Ji-won"),
        ("・アンドウ タケシさん：家賃滞納で退去の話が出ている", "PERSON", "アンドウ タケシ"),
        ("氏名：岡崎　優斗　　（フリガナ：オカザキ ユウト）", "PERSON", "岡崎　優斗"),
        ("濃厚接触の可能性がある大西主任は、本人の希望により在宅勤務とする。", "PERSON", "大西"),
    ],
)
def test_found(text: str, kind: str, value: str) -> None:
    assert value in found(text, kind)


def test_a_couple_named_in_parentheses_is_not_a_child_called_fuufu() -> None:
    assert "夫婦" not in found("娘夫婦（高橋 亮・真由）と同居するため転入しました。", "PERSON")


@pytest.mark.parametrize(
    "text",
    [
        "【新規採用職員研修用】起案文の例\n起案日　令和○年○月○日　起案者　○○課　○○ ○○\n件名　○○事業に係る講師謝礼の支出について（伺い）",
        "Please proofread: contact the Tourist Information Center in front of JR Takayama Station (TEL 0577-32-5328).",
        "件名：入札参加資格の追加申請について\n株式会社クリーンワークス北関東 総務部\nTEL 027-255-3190",
    ],
)
def test_public_texts_stay_class_1(text: str) -> None:
    result = RULES.detect(text)
    assert result.proposed_class == 1, result.reasons
