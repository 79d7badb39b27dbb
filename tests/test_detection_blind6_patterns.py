"""From the sixth blind set ('blind6', now a development set): names given with a family
relation, Chinese and Korean names (one-character surnames) before an honorific, long katakana
names in a 氏名 column, a pet's name column, staff named as an office's contact, authors
written as one word, rosters of attending staff, 5丁663 and C棟215 addresses, a person's
address in parentheses after their name, public venues in English.

All names, addresses and numbers here are invented for these tests."""

from __future__ import annotations

import pytest

from gennai.policy.detection import detect


def found(text: str) -> list[tuple[str, str]]:
    return [(e.type, text[e.start : e.end]) for e in detect(text).entities]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("対象児童\n　黄 晨曦（長女）　2025年12月", "PERSON", "黄 晨曦"),
        ("　ヘレラ 小暮 ルシア（同配偶者）", "PERSON", "ヘレラ 小暮 ルシア"),
        ("王 俊傑様\nお子様の王 子涵さん（平成31年4月3日生）", "PERSON", "王 俊傑"),
        ("王 俊傑様\nお子様の王 子涵さん（平成31年4月3日生）", "PERSON", "王 子涵"),
        ("| 番号 | 氏名 | 生年月日 |\n|---|---|---|\n| A-0209 | トラン・ミン・ドゥック | 1999/05/01 |", "PERSON", "トラン・ミン・ドゥック"),
        ("氏名：ウォン ジアハオ（黄 家豪）", "PERSON", "黄 家豪"),
        ("（三反田 智也、34歳、堺市北区中百舌鳥町5丁663在住）", "ADDRESS", "堺市北区中百舌鳥町5丁663"),
        ("窓口で飯塚 正義氏（東京都八王子市北野町562-9）から申出があった。", "ADDRESS", "東京都八王子市北野町562-9"),
        ("| 氏名 | 住所 |\n|---|---|\n| 那須 陸 | 大分県大分市旦野原700番地 学生寮C棟215 |", "ADDRESS", "大分県大分市旦野原700番地 学生寮C棟215"),
    ],
)
def test_found(text: str, kind: str, value: str) -> None:
    assert (kind, value) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "| 犬の名前 | |\n|---|---|\n| 変更事項 | □所在地 |\n| 変更年月日 | 年 月 日 |",
        "感染症対策課\n課長補佐 石動 誠（内線 2373）",
        "報道資料\n人材対策室\n　室長補佐 柊 康介、係長 丹後 みなみ\n　電話 03-3595-0000",
        "夏目漱石の『坊っちゃん』の舞台になった町です。",
        "会議録\n出席した職員：教育部長 水谷 隆之、学校教育課長 堀内 忍",
        "本日 美香さんから電話があった。1位 秋山 千晴（福祉課 主任）",
    ],
)
def test_not_private_people(text: str) -> None:
    people = [v for t, v in found(text) if t == "PERSON"]
    assert people in ([], ["美香", "秋山 千晴"]), people


@pytest.mark.parametrize(
    "text",
    [
        # from the seventh blind set (scored once, now a development set)
        "技術提案書 評価結果（審査委員会限り）",
        "検討メモ（R7.9.2 財政課）\n・歳出削減案",
        "「個人番号 97378382480」って書かれた申請書が来たんだけど、どうすればいい？",
    ],
)
def test_class_2_signals(text: str) -> None:
    assert detect(text).proposed_class == 2


def test_a_short_reception_number_is_no_my_number_signal() -> None:
    assert detect("受付番号 1234567890 でお受けしました。").proposed_class == 1
