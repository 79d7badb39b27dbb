"""General patterns found weak on a blind set of administrative texts: names in labelled fields,
readings and signatures, household lists, full address spans, dates of birth in rosters,
ゆうちょ account numbers, public notices and contact points, classification fields.

All names, addresses and numbers here are invented for these tests."""

from __future__ import annotations

import pytest

from gennai.policy.detection import detect


def found(text: str) -> list[tuple[str, str]]:
    return [(e.type, text[e.start : e.end]) for e in detect(text).entities]


def of_type(text: str, kind: str) -> list[str]:
    return [value for t, value in found(text) if t == kind]


# --- bank accounts vs corporate numbers ------------------------------------------------------


def test_yucho_symbol_number_is_a_bank_account_not_a_corporate_number() -> None:
    text = "還付金の振込先：ゆうちょ銀行 記号番号 12340-45678901\n電話：0258-00-1234"
    assert of_type(text, "BANK_ACCOUNT") == ["12340-45678901"]
    assert of_type(text, "CORPORATE_NUMBER") == []
    assert detect(text).proposed_class == 2


def test_labelled_corporate_number_still_wins() -> None:
    assert of_type("法人番号：12340-45678901", "CORPORATE_NUMBER") == ["12340-45678901"]


# --- dates of birth -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, date",
    [
        ("同一世帯：夫 森 健太郎（昭和62年9月14日）", "昭和62年9月14日"),
        ("長男 森 陸（平成30年1月5日、7歳）", "平成30年1月5日"),
        ("2　青山 トメ　大正13年6月2日　市内在住　要介護2", "大正13年6月2日"),
        ("No. 氏名 生年月日 備考\n1 川辺 一樹 2011/03/04 小学生", "2011/03/04"),
    ],
)
def test_birth_dates_next_to_names(text: str, date: str) -> None:
    assert of_type(text, "BIRTH_DATE") == [date]


@pytest.mark.parametrize(
    "text",
    [
        "山田 太郎　平成20年4月1日 入庁　総務課",  # an event date in a staff list
        "1 佐藤 花子　令和6年5月1日　申請受付",  # a recent date without a 生年月日 column
        "申請者：田中 一郎（令和7年4月1日受付）",
    ],
)
def test_other_dates_next_to_names_are_not_birth_dates(text: str) -> None:
    assert of_type(text, "BIRTH_DATE") == []


# --- addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, address",
    [
        ("住所：岐阜県大垣市林町5丁目12番地 林団地3棟204号\n", "岐阜県大垣市林町5丁目12番地 林団地3棟204号"),
        ("居住地：広島県呉市中央3丁目4-15 2階\n", "広島県呉市中央3丁目4-15 2階"),
        ("住所：富山県高岡市末広町7-2 末広ハイツ5F\n", "富山県高岡市末広町7-2 末広ハイツ5F"),
        ("住所：静岡市駿河区南町2丁目8番地の4\n", "静岡市駿河区南町2丁目8番地の4"),
        ("住所：豊橋市花田町3-9 コーポ花田 C-102\n", "豊橋市花田町3-9 コーポ花田 C-102"),
        ("住所：福井県敦賀市本町1丁目3番7号 本町ハイツ2-A\n", "福井県敦賀市本町1丁目3番7号 本町ハイツ2-A"),
        ("住居地：大阪府堺市北区中町2-104 なかまちハイツ3階\n", "大阪府堺市北区中町2-104 なかまちハイツ3階"),
    ],
)
def test_address_spans_run_through_building_and_room(text: str, address: str) -> None:
    assert of_type(text, "ADDRESS") == [address]


@pytest.mark.parametrize(
    "text, address",
    [
        ("あおき はな\nむつ市新町４－５\n", "むつ市新町４－５"),  # a city written in hiragana, no prefecture
        ("住所：あきる野市秋川1丁目2番地の5\n", "あきる野市秋川1丁目2番地の5"),
        ("住所：柏崎市東本町3-4\n", "柏崎市東本町3-4"),
    ],
)
def test_addresses_starting_at_a_city(text: str, address: str) -> None:
    assert of_type(text, "ADDRESS") == [address]


@pytest.mark.parametrize(
    "text, address",
    [
        ("住所：長野県上田市大字岩下882\n", "長野県上田市大字岩下882"),
        ("被災住家の所在地：新潟県長岡市大字宮内1290\n", "新潟県長岡市大字宮内1290"),
        ("譲渡人：大森 ハツ（鳥取県倉吉市大字小田456）\n", "鳥取県倉吉市大字小田456"),
    ],
)
def test_lot_number_alone_after_an_address_label_or_a_person(text: str, address: str) -> None:
    assert of_type(text, "ADDRESS") == [address]


@pytest.mark.parametrize(
    "text",
    [
        "市内2か所で実施します。",
        "集合場所：市立北小学校 体育館（山口県防府市新町118）",
        "会場：市民交流センター ホールA（〒747-0000 防府市新町1-2-3）",
    ],
)
def test_lot_numbers_and_venues_without_a_person_are_not_addresses(text: str) -> None:
    assert of_type(text, "ADDRESS") == []


def test_venue_in_parentheses_of_a_public_announcement_is_class_1() -> None:
    text = (
        "企画展「港町の記憶」\n会期：令和7年9月1日（月）～10月31日（金）\n"
        "会場：市立郷土資料館 展示室（〒900-0000 那覇市泉崎1-2-3）\n観覧料：無料\n問い合わせ：市立郷土資料館 098-000-1234"
    )
    d = detect(text)
    assert of_type(text, "ADDRESS") == []
    assert d.proposed_class == 1


# --- person names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, names",
    [
        ("世帯主：北 由紀子　生年月日 1980/02/03", ["北 由紀子"]),
        ("世帯員：次男 北 大翔　生年月日 2012/04/05", ["北 大翔"]),
        ("被害者：元妻 石井 真理\n", ["石井 真理"]),
        ("父：竹内 拓海（自営業）　母：竹内 美咲（パート）", ["竹内 拓海", "竹内 美咲"]),
        ("相談者：タナカ ミホさん（40代）", ["タナカ ミホ"]),
        ("氏名：ヤマグチ タロウ", ["ヤマグチ タロウ"]),
        ("氏名（ローマ字）：SANTOS Maria Clara\n国籍：ブラジル", ["SANTOS Maria Clara"]),
        ("氏名(英字)：LEE Min Jun", ["LEE Min Jun"]),
    ],
)
def test_names_in_labelled_fields(text: str, names: list[str]) -> None:
    assert of_type(text, "PERSON") == names
    assert detect(text).proposed_class == 2


def test_relation_word_is_not_part_of_the_name() -> None:
    spans = of_type("加害者：元夫 村井 健\n現住所：不明", "PERSON")
    assert spans == ["村井 健"]


@pytest.mark.parametrize(
    "text, names",
    [
        ("申請者：松田 陽翔（まつだ はると）", ["松田 陽翔", "まつだ はると"]),
        ("氏名：中島 悠斗（ナカジマ ユウト）", ["中島 悠斗", "ナカジマ ユウト"]),
    ],
)
def test_reading_of_a_name_in_parentheses(text: str, names: list[str]) -> None:
    assert of_type(text, "PERSON") == names


def test_household_member_with_a_surname_already_found() -> None:
    text = "世帯主：秋元 恵子　生年月日 1975/06/07\n世帯員：長女 秋元 彩花\n　　　　長男 秋元 蒼空　生年月日 2014/08/09"
    assert of_type(text, "PERSON") == ["秋元 恵子", "秋元 彩花", "秋元 蒼空"]


@pytest.mark.parametrize(
    "text, names",
    [
        ("息子（坂口 蓮、H27.3.2生まれ）と娘（坂口 結衣）の件", ["坂口 蓮", "坂口 結衣"]),
        ("娘（大川 ひまり）が同じクラスの児童から", ["大川 ひまり"]),
        ("氏名：笹井 優斗\n", ["笹井 優斗"]),  # a given name the dictionary splits (優 + 斗)
        ("対象は水道局の岡本 大樹主査です。", ["岡本 大樹"]),  # a title glued to the name
    ],
)
def test_given_names_the_dictionary_does_not_know(text: str, names: list[str]) -> None:
    assert of_type(text, "PERSON") == names


@pytest.mark.parametrize(
    "text, name",
    [
        ("はじめまして。小金井と申します。", "小金井"),
        ("Hello. My name is Anna Kowalski. I lived in 大阪市 until May.", "Anna Kowalski"),
    ],
)
def test_self_introductions(text: str, name: str) -> None:
    assert of_type(text, "PERSON") == [name]


@pytest.mark.parametrize(
    "text, name",
    [
        ("書類を送ってください。\nふじた はるこ\nかすみがうら市下稲吉1234-5\nでんわ 029-000-0000", "ふじた はるこ"),
        ("よろしくお願いします。\n北村 真一\n電話 090-0000-2222", "北村 真一"),
        ("ご確認ください。\nヤマシタ ハルミ\n090-0000-2222", "ヤマシタ ハルミ"),
    ],
)
def test_signature_above_an_address_or_a_phone(text: str, name: str) -> None:
    assert name in of_type(text, "PERSON")


@pytest.mark.parametrize(
    "text",
    [
        "人事 異動\nTEL 03-0000-5678",
        "カスタマー サポート\nTEL 03-0000-5678",
        "総務 課長\n電話 03-0000-5678",
    ],
)
def test_words_above_a_phone_are_not_a_signature(text: str) -> None:
    assert of_type(text, "PERSON") == []


@pytest.mark.parametrize(
    "text",
    ["長女 出産のため休暇", "長男 東京 在住", "娘（小学生）が", "母（80代）の介護", "父：自営業", "相談者：匿名希望", "世帯員：なし"],
)
def test_relation_words_alone_are_not_names(text: str) -> None:
    assert of_type(text, "PERSON") == []


@pytest.mark.parametrize(
    "text",
    [
        "第5回 ○○市景観審議会 会議録（要旨）\n出席委員：会長 川口 洋一（学識経験者）、委員 石田 久美子ほか8名\n傍聴者：2名",
        "○○市男女共同参画審議会 委員名簿\n会長　山下 和夫（○○大学 教授）\n副会長　中村 聡子（弁護士）",
        "第1回 まちづくり懇談会（公開）要旨\n回答：市民協働課長 平田 修 から説明があった。",
    ],
)
def test_committee_members_in_public_minutes_and_rosters_are_not_flagged(text: str) -> None:
    d = detect(text)
    assert of_type(text, "PERSON") == []
    assert d.proposed_class == 1


def test_closed_meeting_minutes_are_not_public() -> None:
    text = "第2回 景観懇談会 議事要旨（非公開部分）\n委員 森田 浩二（○○大学）から、職員 高井 誠 の処分について意見があった。"
    assert detect(text).proposed_class == 2


# --- public notices and contact points ------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "市民農園の利用者の募集\n募集区画：20区画\n申込み：農政課\n電話：0120-000-000\n〒900-0000 那覇市役所 農政課あて",
        "市長への提案の受付について\n受付時間：平日 9時～17時\n電話：098-000-1111",
        "入札結果の公表\n件名：庁舎外壁改修工事\n予定価格：12,300,000円\n落札金額：11,800,000円",
        "文化講座 受講者を募集します\n会場：公民館\n参加費：無料\n電話 098-000-2222",
    ],
)
def test_public_pages_are_class_1(text: str) -> None:
    assert detect(text).proposed_class == 1


@pytest.mark.parametrize(
    "text",
    [
        # a phone on the line below an office's contact line
        "提出・問い合わせ先：〒089-0000 ○○町役場 経済課\n電話 0156-00-0000\n受付は平日のみ",
        # an office number marked （代表） or with an extension
        "問い合わせ：市民課 03-0000-5678（内線 210）",
        "ご意見は、〒860-0000 ○○市役所 広報課あてにお送りください。",
    ],
)
def test_office_contact_points_are_not_private(text: str) -> None:
    assert detect(text).proposed_class == 1


def test_a_residents_landline_stays_private() -> None:
    assert detect("折返し先：03-0000-5678").proposed_class == 2


# --- markings and internal cues -------------------------------------------------------------


@pytest.mark.parametrize("text", ["取扱区分：秘\n避難計画の検討", "秘密区分 ： 秘\n本文"])
def test_secret_as_the_value_of_a_classification_field(text: str) -> None:
    d = detect(text)
    assert d.proposed_class == 3
    assert [m.label for m in d.markings] == ["秘"]


@pytest.mark.parametrize("text", ["秘書課の区分：秘書", "秘密区分：極秘"])
def test_classification_field_other_values(text: str) -> None:
    labels = [m.label for m in detect(text).markings]
    assert "秘" not in labels


@pytest.mark.parametrize(
    "text",
    [
        "【内部検討】体育館2館の再編について",
        "公園再整備の方針（たたき台）",
        "説明会の日程が決まるまでは、この資料を課外に出さないでください。",
        "候補地は現時点では対外的には出さないこと。",
    ],
)
def test_internal_deliberation_cues(text: str) -> None:
    assert detect(text).proposed_class == 2


@pytest.mark.parametrize("text", ["市の取組を外部に発信します。", "たたき台を市民と一緒につくるワークショップです。"])
def test_not_internal_cues(text: str) -> None:
    assert detect(text).proposed_class == 1


# --- offsets --------------------------------------------------------------------------------


def test_new_patterns_map_to_original_offsets_in_full_width_text() -> None:
    text = "住所：秋田県にかほ市平沢１２３－４　コーポ平沢　Ｂ－１０２\n世帯主：ツジ　ケンタ　生年月日　昭和４０年１月２日"
    got = found(text)
    assert ("ADDRESS", "秋田県にかほ市平沢１２３－４　コーポ平沢　Ｂ－１０２") in got
    assert ("PERSON", "ツジ　ケンタ") in got
    assert ("BIRTH_DATE", "昭和４０年１月２日") in got


def test_reception_log_time_is_not_a_public_page() -> None:
    text = "電話受付記録\n受付時間：10:15\n相手：イシダ様\n折返し先：03-0000-1111"
    d = detect(text)
    assert d.proposed_class == 2
    assert any(e.type == "PHONE" and e.proposed_class == 2 for e in d.entities)


def test_internal_committee_minutes_are_not_public() -> None:
    text = "庁内情報化推進協議会 議事録\n出席：情報政策課長 ほか\n職員 川村 拓也 の異動について協議した。"
    assert of_type(text, "PERSON") == ["川村 拓也"]


def test_a_common_word_before_a_given_name_is_not_a_surname() -> None:
    assert of_type("本日 美香さんから電話があった。", "PERSON") == ["美香"]


def test_names_on_two_lines_are_two_people() -> None:
    assert of_type("山田 太郎\n鈴木 花子\n", "PERSON") == ["山田 太郎", "鈴木 花子"]
    assert of_type("申請者：山田 太郎\n山田 方に送付", "PERSON") == ["山田 太郎"]
