"""General patterns found weak on the fourth blind set ('blind4', now a development set):
people in public papers (personnel lists in tables, speakers in council minutes, historical
figures and authors, a site foreman in a road-works notice), pets, letter-spaced headings,
account holders in katakana, labels such as 届出者/名義/From:, relatives written in another
script, romanised names under a letter's closing, a label then an affiliation and a title,
kana given names ending in a kanji (ヨシ子), addressee blocks, 家（所在地：…）, 第7号1番地,
public venues in English and Japanese, lists of exam numbers, English dates of birth, and
markings that are only words in a sentence (駐車場は関係者限り, 「極秘レシピ」, 要機密情報 as a
kind of information) or a designation with its period (秘（指定期間：…）).

All names, addresses and numbers here are invented for these tests."""

from __future__ import annotations

import pytest

from gennai.policy.detection import detect


def found(text: str) -> list[tuple[str, str]]:
    return [(e.type, text[e.start : e.end]) for e in detect(text).entities]


@pytest.mark.parametrize(
    "text",
    [
        "伊勢崎市 人事異動（令和7年4月1日付）部長級\n| 新職名 | 氏名 | 旧職名 |\n|---|---|---|\n| 総務部長 | 相良 幸雄 | 総務部副部長 |\n"
        "（退職）上下水道局長　松岡 昭一",
        "令和7年6月定例会 佐賀県議会 文教厚生常任委員会（要旨）\n（健康福祉部長 田代 浩）常勤医師を4名増員した。",
        "○農業政策課長（井上 剛）　国の補助制度の見直しに合わせて検討します。",
        "企画展のお知らせ\n中岡慎太郎、武市半平太ゆかりの資料など約120点を展示します。島崎藤村の『千曲川のスケッチ』も紹介します。",
        "通行止めのお知らせ\n施工：株式会社中野組（現場代理人 中野 英二）　025-524-3300",
        "犬の登録\n犬の名前　コタロウ　　種類　柴",
        "Notice for Foreign Residents: Free Consultation Day\nPlace: Saitama Kaikan, 3F (5-6-5 Takasago, Urawa-ku, Saitama City)\n"
        "Reservation: Tel 048-833-3296 / E-mail soudan@sia.example.jp",
        "最終合格者発表\n【行政】\n1003　1017　1024　1058\n【土木】\n2006　2011　2029\n",
        "公聴会の開催について\n駐車場：庁舎駐車場は関係者限りとなりますので、公共交通機関でお越しください。",
        "ぶり祭りの開催について\n地元の料理人が受け継いできた「極秘レシピ」のぶり大根を初公開します。",
        "生成AI研修の受講者募集\n内容：入力してはいけない情報（個人情報や要機密情報）の確認",
    ],
)
def test_public_texts_stay_class_1(text: str) -> None:
    result = detect(text)
    assert result.proposed_class == 1, (result.reasons, found(text))


def test_a_designation_with_its_period_is_a_marking() -> None:
    assert detect("秘（指定期間：令和7年4月1日～令和10年3月31日）　文書番号：総危第88号\n警備計画").proposed_class == 3


def test_an_unannounced_personnel_change_is_not_a_public_list() -> None:
    text = "人事異動の内示について（関係課長限り）\n・大塚 翔（税務課 主任）→ 子育て支援課へ（本人の希望を考慮）"
    assert detect(text).proposed_class == 2
    assert ("PERSON", "大塚 翔") in found(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("口座名義 テシガハラ ミズホ", "テシガハラ ミズホ"),
        ("届出者　岩佐 勇気（2001年11月30日生）", "岩佐 勇気"),
        ("相談者：よしおか きみさん（ご本人、90歳代）", "よしおか きみ"),
        ("氏名 坪川 ヨシ子　年齢 91歳", "坪川 ヨシ子"),
        ("相談内容：夫（ラマ・ビカス）の転入届。通訳として知人のタパさんが同行。", "ラマ・ビカス"),
        ("相談内容：夫（ラマ・ビカス）の転入届。通訳として知人のタパさんが同行。", "タパ"),
        ("4月から娘のHana（1歳）を保育園に入れたいです。", "Hana"),
        ("Best regards,\nTakumi Ishizaki\n石崎 拓海\nMobile: 090-1111-2222", "Takumi Ishizaki"),
        ("Name: Fernanda OLIVEIRA SATO\nThank you,\nFernanda", "Fernanda OLIVEIRA SATO"),
        ("Name: Fernanda OLIVEIRA SATO\nThank you,\nFernanda", "Fernanda"),
        ("From: Kenji Moriyama <k.moriyama@example.com>", "Kenji Moriyama"),
        ("届出人：早瀬 ミア（HAYASE Mia）", "HAYASE Mia"),
        ("相手方：同課 係長 門脇\n概要：昨年秋から", "門脇"),
        ("（北都建設 現場代理人 工藤氏）へ連絡した。", "工藤"),
    ],
)
def test_names(text: str, name: str) -> None:
    assert ("PERSON", name) in found(text)


@pytest.mark.parametrize("text", ["| 個人事業主 松永 亮介（屋号：松永工房） | 展示会出展 |", "八十二銀行 松本南支店 普通預金 2750418"])
def test_shops_and_branches_are_not_people(text: str) -> None:
    assert not any(t == "PERSON" and v in ("松永", "松本南") for t, v in found(text))


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("グエン・ティ・ホア 様\n広島県福山市曙町3丁目15-8 メゾン曙205\nあなたの国民健康保険税について", "広島県福山市曙町3丁目15-8 メゾン曙205"),
        ("父から相続した家（所在地：長野県飯山市大字飯山2286番地）です。", "長野県飯山市大字飯山2286番地"),
        ("譲受人　住所 福井県あわら市北潟字中道23-4　氏名 坪川 正勝", "福井県あわら市北潟字中道23-4"),
        ("譲渡人　住所 福井県坂井市三国町新保第7号1番地　氏名 坪川 ヨシ子", "福井県坂井市三国町新保第7号1番地"),
    ],
)
def test_addresses(text: str, address: str) -> None:
    assert ("ADDRESS", address) in found(text)


def test_a_venue_with_its_address_in_parentheses_is_not_a_persons() -> None:
    assert "ADDRESS" not in {t for t, _ in found("避難所を開設しました。\n・中央公民館（本町2丁目3-1）\n・大原小学校 体育館")}


def test_english_date_of_birth() -> None:
    assert ("BIRTH_DATE", "14 May 1983") in found("Details: Naoki Fujisawa, born 14 May 1983, travelling to Osaka")
