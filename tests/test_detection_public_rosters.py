"""General patterns found weak on the blind 'final' set: public documents without a 公示/お知らせ
header (press releases with a contact line, published minutes, appointment and award lists,
authors), attendance lists, tables and rosters (names, dates of birth and addresses by
column), relatives named after 長男の…, labelled names the dictionary does not know, kana
and romanised names, addresses (room as a fourth number, 地割, 在住, 地内), bank accounts
followed by 名義, 機密性：３.

All names, addresses and numbers here are invented for these tests."""

from __future__ import annotations

import pytest

from gennai.policy.detection import detect


def found(text: str) -> list[tuple[str, str]]:
    return [(e.type, text[e.start : e.end]) for e in detect(text).entities]


def of_type(text: str, kind: str) -> list[str]:
    return [value for t, value in found(text) if t == kind]


# --- markings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, cls",
    [("【機密性：３】\n内部連絡", 3), ("機密性レベル：2", 2), ("機密性区分 = 3", 3), ("機密性：１", 1)],
)
def test_level_marking_with_a_colon(text: str, cls: int) -> None:
    result = detect(text)
    assert result.proposed_class == cls
    assert [m.label for m in result.markings] == [f"機密性{cls}"]


def test_words_about_confidentiality_are_not_a_level() -> None:
    assert detect("機密性の高い情報は暗号化して送ること。").markings == ()


# --- public documents without a notice header -------------------------------------------------

PRESS_RELEASE = (
    "学校給食費の誤徴収についてお詫び\n"
    "令和7年5月2日　○○市 教育委員会 学務課\n"
    "　給食費の口座振替で、一部の世帯から二重に引き落としを行いました。\n"
    "問合せ　学務課長　戸田 清隆　0123-45-6789"
)


def test_contact_line_makes_a_press_release_public() -> None:
    assert of_type(PRESS_RELEASE, "PERSON") == []
    assert detect(PRESS_RELEASE).proposed_class == 1


def test_private_contact_line_is_not_a_public_footer() -> None:
    text = (
        "介護保険の住所変更について教えてください。\n"
        "母 井口 スミ（82歳）が、長野市篠ノ井布施高田1234-5 に転居しました。\n"
        "問い合わせ先：携帯 090-1111-2222（長男）"
    )
    assert of_type(text, "ADDRESS") == ["長野市篠ノ井布施高田1234-5"]
    assert detect(text).proposed_class == 2


def test_a_draft_with_a_contact_line_is_not_public() -> None:
    text = "懲戒処分の公表について（案）\n処分対象者：土木課 主任 野口 拓也（38歳）\n問合せ：人事課 0123-11-2222"
    assert of_type(text, "PERSON") == ["野口 拓也"]
    assert detect(text).proposed_class == 2


@pytest.mark.parametrize(
    "headline",
    ["総合防災訓練を実施します", "新しい相談窓口を開設しました", "市民文化賞の受賞者が決まりました", "地域連携協定を締結します"],
)
def test_headline_announcing_an_action_is_public(headline: str) -> None:
    text = f"{headline}\n　当日は、危機管理課長 真鍋 浩二 が説明します。"
    assert of_type(text, "PERSON") == []


@pytest.mark.parametrize(
    "text",
    [
        "第2回 市都市計画審議会 議事概要\n出席委員：会長 石田 和夫、委員 村上 典子、小西 豊、大野 里美",
        "市議会 文教委員会 会議録（抄）\n出席委員：委員長 谷口 雄一、委員 浅井 恵美、川村 直樹",
        "令和8年 第3回 教育委員会臨時会 会議録（公開部分）\n出席：教育長 平井 修、委員 松田 由紀、古川 弘",
        "地区防災計画 住民説明会 記録\n市側出席者：危機管理課長 中西 透、防災係長 杉本 彩ほか\n本記録は市ホームページで公開します。",
        "障害者施策推進協議会委員を委嘱しました\n委員　北村 圭介（市社会福祉協議会）、宇野 沙織（当事者団体）、堤 誠（公募委員）",
    ],
)
def test_members_of_public_councils_are_not_flagged(text: str) -> None:
    assert of_type(text, "PERSON") == []
    assert detect(text).proposed_class == 1


def test_award_winners_authors_and_speakers_in_a_notice() -> None:
    text = (
        "市民文化賞の受賞者が決まりました\n"
        "　坂下 光男 氏（書道家）\n"
        "記念講演　講師：北原 健一 氏（郷土史家）\n"
        "新刊『港町の記憶』 早川 俊介 著"
    )
    assert of_type(text, "PERSON") == []


def test_an_author_is_not_a_private_person() -> None:
    assert of_type("『海辺の町の百年史』 北川 達也 著 を要約してください。", "PERSON") == []


def test_a_resident_who_mentions_a_notice_keeps_the_names() -> None:
    text = "先日届いたお知らせについて質問です。私は隣に住む山田 花子さんの件で困っています。"
    assert of_type(text, "PERSON") == ["山田 花子"]


# --- attendance lists -------------------------------------------------------------------------


def test_a_company_contact_in_an_internal_paper() -> None:
    text = "見積比較表（内部資料）\n株式会社ヒガシ設備　1,200,000円（担当：佐藤）"
    assert of_type(text, "PERSON") == ["佐藤"]
    public = "入札結果の公表について\n落札者：株式会社ミナミ建設（担当：佐藤）"
    assert of_type(public, "PERSON") == []


def test_titled_attendants_of_an_internal_meeting_are_named_in_their_role() -> None:
    text = "庁内調整会議\n出席者：総務部長 山田 太郎、人事課長 佐藤 花子、主査 鈴木 一郎\n議題：来年度の組織改正"
    assert of_type(text, "PERSON") == []


def test_attendants_without_a_title_still_count() -> None:
    text = "ケース会議 記録\n出席：工藤 亜美（相談者）、担当職員2名\n参加者：本人、長男 山田 一郎"
    assert of_type(text, "PERSON") == ["工藤 亜美", "山田 一郎"]


def test_a_titled_name_outside_a_list_or_notice_still_counts() -> None:
    text = "職員の病気休暇について\n管理係 主事 村瀬 悠斗 は、医師の診断により休暇を取得する。"
    assert of_type(text, "PERSON") == ["村瀬 悠斗"]


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, name",
    [
        ("譲受人　氏名 三浦 幸運　年齢 40歳", "三浦 幸運"),  # a given name that is an ordinary word
        ("・職員：河野 未来（福祉課 主事）", "河野 未来"),
        ("| 10377 | 荒木 悠人 | 事務 |", "荒木 悠人"),  # 悠 + 人 split by the dictionary, in a table cell
    ],
)
def test_labelled_names_the_dictionary_does_not_know(text: str, name: str) -> None:
    assert name in of_type(text, "PERSON")


@pytest.mark.parametrize("text", ["氏名 山田 記入欄", "住所氏名 山田 記載", "相談者 田中 宅を訪問した。"])
def test_form_words_after_a_labelled_surname_are_not_given_names(text: str) -> None:
    assert of_type(text, "PERSON") == [text.split()[1]]


def test_staff_label_needs_a_colon_and_is_not_a_duty() -> None:
    assert of_type("担当職員：窓口 案内", "PERSON") == []


def test_relatives_after_no() -> None:
    text = "家族は私（西田 陽子）、夫の隆、長女の葵（4歳）、長男の翼（小学2年）です。"
    assert of_type(text, "PERSON") == ["西田 陽子", "隆", "葵", "翼"]


@pytest.mark.parametrize(
    "text",
    ["母の日にプレゼントを贈る。子の看護休暇を取得したい。", "長男の件（高校1年）で相談です。妻の実家は遠い。", "夫の進学（大学2年）について"],
)
def test_words_after_a_relation_are_not_names(text: str) -> None:
    assert of_type(text, "PERSON") == []


@pytest.mark.parametrize(
    "text, name",
    [
        ("免許証の名前はタナカ ジロウ（田中 次郎）です。", "タナカ ジロウ"),
        ("児童名（ふりがな）　しみず はると（清水 陽翔）", "しみず はると"),
    ],
)
def test_kana_name_after_a_label_without_a_colon(text: str, name: str) -> None:
    assert name in of_type(text, "PERSON")


@pytest.mark.parametrize(
    "text, name",
    [
        ("3 氏名　HERNANDEZ JOSE LUIS\n4 性別　男", "HERNANDEZ JOSE LUIS"),
        ("GARCIA Ana 様\nお住まい：群馬県太田市飯塚町1544-6", "GARCIA Ana"),
        ("お子さん（SILVA Lucas、2021年4月12日生）の保険証", "SILVA Lucas"),
        ("Hello. My name is TRAN VAN MINH. 国民健康保険に入りたいです。", "TRAN VAN MINH"),
        ("Name: Maria Santos\nDate of birth: 15/03/1990", "Maria Santos"),
    ],
)
def test_romanised_names(text: str, name: str) -> None:
    assert name in of_type(text, "PERSON")


def test_capitalised_words_without_a_label_are_not_names() -> None:
    assert of_type("The meeting with Tokyo Station staff is on Monday. 会議室A", "PERSON") == []


@pytest.mark.parametrize("text", ["交渉状況：A社は前向き、B氏は代替地を希望。", "○○様からの申出"])
def test_anonymised_parties_are_not_names(text: str) -> None:
    assert of_type(text, "PERSON") == []


def test_a_name_inside_a_word_is_not_a_name() -> None:
    assert of_type("・ローマ字氏名はヘボン式で記入します。", "PERSON") == []


# --- tables -----------------------------------------------------------------------------------

TABLE = (
    "| No | 氏名 | 生年月日 | 住所 |\n"
    "|---|---|---|---|\n"
    "| 1 | 宮本 葵 | 1999年2月3日 | 高松市番町4丁目1-10 |\n"
    "| 2 | 須藤 | 2000年9月9日 | 気仙沼市唐桑町宿浦77 |"
)


def test_table_columns() -> None:
    assert of_type(TABLE, "PERSON") == ["宮本 葵", "須藤"]  # a surname alone in a name column
    assert of_type(TABLE, "BIRTH_DATE") == ["1999年2月3日", "2000年9月9日"]
    assert of_type(TABLE, "ADDRESS") == ["高松市番町4丁目1-10", "気仙沼市唐桑町宿浦77"]  # a lot number alone in a 住所 column


def test_birth_date_column_before_the_name() -> None:
    text = "| 生年月日 | 氏名 | 性別 |\n|---|---|---|\n| 1951/03/04 | 小池 フサ | 女 |"
    assert of_type(text, "BIRTH_DATE") == ["1951/03/04"]


def test_full_width_table_offsets() -> None:
    text = "｜氏名｜生年月日｜\n｜宮本　葵｜１９９９年２月３日｜"
    assert ("BIRTH_DATE", "１９９９年２月３日") in found(text)
    assert ("PERSON", "宮本　葵") in found(text)


def test_a_public_roster_table_is_not_a_form() -> None:
    text = "委員名簿のお知らせ\n| 氏名 | 所属 |\n|---|---|\n| 須藤 | 市商工会 |"
    assert of_type(text, "PERSON") == []


# --- dates of birth ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, dates",
    [
        ("氏名,生年月日,地区\n西村 ハル,S8.4.12,北地区\n大川 勇,S10.1.2,南地区", ["S8.4.12", "S10.1.2"]),
        ("同居予定者（氏名／続柄／生年月日／職業）\n北野 彩／妻／H5.1.29／パート", ["H5.1.29"]),
        ("対象児童（氏名／続柄／生年月日）\n　北野 和也　長男　2012/05/19\n　北野 さくら　長女　2015/11/02", ["2012/05/19", "2015/11/02"]),
        ("氏名／生年月日／住所\n鈴村 真帆／1996年7月9日／京都市左京区下鴨松原町31-4", ["1996年7月9日"]),
        ("母は早川 フミ、昭和十五年六月十日生まれです。", ["昭和十五年六月十日"]),
        ("母は早川 フミ、昭和十五年六月十日生まれで、住所は岐阜市長住町5丁目14番地です。", ["昭和十五年六月十日"]),
        ("氏名：中井 真理子\n生年月日\n1988（昭和63）年7月7日", ["1988（昭和63）年7月7日"]),
        ("生年月日（西暦）：1979年12月1日", ["1979年12月1日"]),
        ("Date of birth: 15/03/1990", ["15/03/1990"]),
        ("生年月日：昭和52.8.30", ["昭和52.8.30"]),
        ("生年月日 H.5.1.29", ["H.5.1.29"]),
    ],
)
def test_dates_of_birth_in_rosters_and_forms(text: str, dates: list[str]) -> None:
    assert of_type(text, "BIRTH_DATE") == dates


@pytest.mark.parametrize(
    "text",
    [
        "山田 太郎／総務課／2024/04/01／主査",  # a staff list with no 生年月日 column
        "1 佐藤 花子 男 令和6年5月1日 採用",
        "職員名簿\n氏名,所属,採用日\n川口 翔,税務課,2019/04/01",
        "次回は令和7.5.1に開催します。",
    ],
)
def test_other_dates_in_rows_are_not_birth_dates(text: str) -> None:
    assert of_type(text, "BIRTH_DATE") == []


# --- addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, address",
    [
        ("住所　世田谷区太子堂3-18-4-202\n携帯　09031847702", "世田谷区太子堂3-18-4-202"),
        ("住所：岩手県紫波郡矢巾町大字南矢幅第6地割502番地", "岩手県紫波郡矢巾町大字南矢幅第6地割502番地"),
        ("来庁者の男性（村田 剛氏、津市大門14-8在住）が大声を出した。", "津市大門14-8"),
        ("使用場所：長野県北佐久郡軽井沢町大字長倉字鳥井原1583番地12", "長野県北佐久郡軽井沢町大字長倉字鳥井原1583番地12"),
        ("住所は札幌市北区北24条西6丁目2-15 サンライズ北24条302号室です。", "札幌市北区北24条西6丁目2-15 サンライズ北24条302号室"),
    ],
)
def test_private_addresses(text: str, address: str) -> None:
    assert of_type(text, "ADDRESS") == [address]


def test_a_place_of_works_is_not_an_address() -> None:
    text = "工事のお願い\n路線名：市道 中町線（松本市中央二丁目地内）\n期間：令和7年10月14日～10月24日"
    assert of_type(text, "ADDRESS") == []


def test_office_address_under_a_contact_line_is_not_personal() -> None:
    text = "経済センサスを実施します\n問合せ　○○県 統計課　092-000-0000\n　　　　〒812-0000　福岡市博多区東公園7番7号"
    assert of_type(text, "ADDRESS") == []
    assert detect(text).proposed_class == 1


# --- bank accounts ----------------------------------------------------------------------------


def test_account_number_followed_by_the_holder() -> None:
    text = "振込先　伊予中央銀行 道後支店 普通 0628317　名義 サクライ シゲル"
    assert of_type(text, "BANK_ACCOUNT") == ["0628317"]
    assert "サクライ シゲル" in of_type(text, "PERSON")


def test_a_count_of_people_is_not_an_account() -> None:
    assert of_type("口座振替の利用者 1234567名（令和6年度）", "BANK_ACCOUNT") == []
