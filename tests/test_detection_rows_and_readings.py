"""Names in rows of tables with no header, readings written in the next cell, a name with its
age, and a name before an address in a ward whose name begins like a title (神戸市長田区): misses
left from the blind sets blind19-blind28, fixed by general rules."""

from __future__ import annotations

import pytest

from gennai.policy.detection import DefaultDetector
from tests.support.findings import found

RULES = DefaultDetector(wording=None)


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


# From blind29/blind30 (scored once, then development sets): surnames the dictionary does not
# know after a label, names with a date of birth, and public texts read as private.


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("申請者氏名　一戸 湊斗\nフリガナ　　イチノヘ ミナト", "一戸 湊斗"),  # 一戸 read as 一 + 戸
        ("申出者　神 美由紀（1989/04/17生）\n同一住所の子　神 蒼空（2018/09/02生）", "神 蒼空"),  # 神 a common noun
        ("対象者：髙橋 ハツヱ様（昭和１１年１月２９日生）", "髙橋 ハツヱ"),
        ("・地権者：一戸 源太郎（017-788-1301）", "一戸 源太郎"),
        ("お客さま　釜萢 一徹\n給水場所　岩手県盛岡市津志田", "釜萢 一徹"),
        ("借受人　SILVA Pedro Kenji（三重県津市大門7-15）", "SILVA Pedro Kenji"),
        ("保護者：母附田 絵里奈、内縁の夫（氏名不詳）", "附田 絵里奈"),  # the relation is not part of the name
    ],
)
def test_a_name_after_a_label_whatever_the_dictionary_reads(text: str, value: str) -> None:
    assert value in found(text, "PERSON")


@pytest.mark.parametrize(
    "text",
    [
        "担当者：総務課 山田\n電話 03-1234-5678",  # staff who wrote the paper
        "作成者　企画課 佐藤",
        "親子 教室 参加",
        "通告者：近隣住民 横田（匿名希望）",
    ],
)
def test_a_label_with_no_private_name_after_it(text: str) -> None:
    assert not any(" " in value for value in found(text, "PERSON"))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("母の宇佐美 八重（昭和１１年９月８日生、要介護２）について相談です。", "宇佐美 八重"),  # 八重 also a noun
        ("本人 根来 ふさ江（昭和9年5月2日生）。", "根来 ふさ江"),
        ("蝦名 颯 様\n青森市桜川二丁目17番6号", "蝦名 颯"),
        ("はじめて手紙を書きます。苫米地 篤と申します。", "苫米地 篤"),  # 篤と read as one word
        ("交通事故について\n・嵯峨 篤志教諭（37）が9月8日朝、通勤途中に追突事故を起こした。", "嵯峨 篤志"),
        ("Olá, meu nome é Rodrigo Higa Matsumoto, moro no Japão.", "Rodrigo Higa Matsumoto"),
    ],
)
def test_a_name_the_dictionary_misreads_with_evidence_around_it(text: str, value: str) -> None:
    assert found(text, "PERSON") == [value]


def test_surnames_before_dates_written_with_an_era_letter_are_people_with_birth_dates() -> None:
    text = "住基で確認（欠格事由チェック用）：漆原 S23.4.17、鎌田 S34.11.2"
    assert found(text, "PERSON") == ["漆原", "鎌田"] and found(text, "BIRTH_DATE") == ["S23.4.17", "S34.11.2"]


@pytest.mark.parametrize(
    "text",
    [
        # an ordinance promulgated, signed by the fire chief
        "高崎市火災予防条例の一部を改正する条例の公布について\n高崎市火災予防条例の一部を改正する条例（令和7年高崎市条例第38号）を令和7年9月30日に公布しました。\n高崎市等広域消防局 予防課　電話 027-322-4119\n高崎市等広域消防局長　新堀 和雄",
        # a press handout whose presenter is the public enterprise manager
        "報道提供資料　令和7年4月24日\n群馬県企業局\n\n売電実績について\n発表者　公営企業管理者 湯浅 聡\n問い合わせ　発電課　電話 027-226-4321",
        # a guideline's title that mentions bullying
        "文部科学省の「いじめの重大事態の調査に関するガイドライン」のポイントを箇条書きで整理してください。",
        # an office's number with the office in brackets
        "「水道の使用開始の手続き」をやさしい日本語で書いて。申込みの電話は 011-211-7770（札幌市水道局 水道料金お客さまセンター）。",
        # the companies on duty for repairs, each with its number
        "夜間・休日の漏水修理\n| 日付 | 当番店 | 電話 |\n|---|---|---|\n| 11月1日（土） | 有限会社 湊設備工業 | 093-561-4402 |",
        # a call for volunteers with the office's contact
        "消防団員を募集しています\n申込み・問い合わせ　延岡市消防本部 総務課 消防団係\n〒882-0856　電話 0982-34-1191",
        # an office's name, postal code, address and number on one line
        "選挙公報の配布について\n届かない場合はご連絡ください。\n北見市選挙管理委員会事務局　〒090-8501 北見市大通西2丁目1番地　電話 0157-25-1164",
    ],
)
def test_public_texts_from_blind30_stay_class_1(text: str) -> None:
    assert RULES.detect(text).proposed_class == 1


def test_staff_named_in_an_internal_transfer_plan_are_personal_data() -> None:
    text = "人事異動内示前の調整\n・小松原 遥　市民課 → 税務課（本人希望）\n・佐久間　福祉課　育休から4月復帰予定"
    assert found(text, "PERSON") == ["小松原 遥", "佐久間"]


def test_staff_named_with_their_section_outside_a_personnel_paper_are_not() -> None:
    text = "打合せメモ\n・佐久間　福祉課　資料を準備する\n・次回は10月"
    assert found(text, "PERSON") == []


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("還付先：Lê Văn Thành（レ ヴァン タイン）様\n還付金額：18,600円", ["Lê Văn Thành", "レ ヴァン タイン"]),
        ("Xin chào, tôi là Nguyễn Thị Hương, sống ở phường Tân Định.", ["Nguyễn Thị Hương"]),
        ("氏名：José MÜLLER", ["José MÜLLER"]),
        ("안녕하세요. 저는 박서연（朴 緒妍、パク ソヨン）です。", ["박서연", "朴 緒妍", "パク ソヨン"]),
        ("您好。我是住在川口市的王 建华（ワン・ジェンホア）。", ["王 建华", "ワン・ジェンホア"]),
        ("こんにちは。わたしは Rahman Md Habibur です。バングラデシュから来ました。", ["Rahman Md Habibur"]),
    ],
)
def test_foreign_names_with_diacritics_or_in_other_scripts(text: str, values: list[str]) -> None:
    assert found(text, "PERSON") == values


@pytest.mark.parametrize("text", ["我是日本人。", "Café Lumière のランチ", "わたしは Google Cloud です"])
def test_foreign_words_that_are_not_names(text: str) -> None:
    assert found(text, "PERSON") == []


# From blind31 (scored once, then a development set)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("近所の一人暮らしの高齢者 常松 ハル さん（87歳）を数日見かけない。", ["常松 ハル"]),  # not 高齢者 as a surname
        ("　妻 静枝 さんは11/28に退院", ["静枝"]),  # the relation is not part of the name
        ("4年生の岩成 颯くんの左頬にあざ。", ["岩成 颯"]),
        ("ケース1　渡部 琉生（小5・男）\n　一時保護中", ["渡部 琉生"]),  # 琉生 read as a noun; the school year says who
        ("相談者の妹 さやか は細田と連絡を取り合っている。", ["さやか"]),
        ("むすこの Lucas（10さい）の学校から、手紙が来ました。", ["Lucas"]),
    ],
)
def test_names_from_blind31(text: str, values: list[str]) -> None:
    assert found(text, "PERSON") == values


# From blind32 (foreign residents; scored once, then a development set)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("Bom dia. わたしは Ana Paula dos SANTOS OLIVEIRA です。", ["Ana Paula dos SANTOS OLIVEIRA"]),
        ("・QUISPE MAMANI, Carlos Alberto（父、ペルー）の長男", ["QUISPE MAMANI, Carlos Alberto"]),
        ("児童氏名（ローマ字）：FERREIRA DA SILVA, Lucas Kenji\n児童氏名（カタカナ）：フェレイラ ダ シルバ ルーカス ケンジ",
         ["FERREIRA DA SILVA, Lucas Kenji", "フェレイラ ダ シルバ ルーカス ケンジ"]),
        ("Nama saya Dewi Lestari Putri. Saya tinggal di Toyohashi.", ["Dewi Lestari Putri"]),
        ("Ako po si Jonalyn Mae B. Reyes, nakatira sa Iwata-cho.", ["Jonalyn Mae B. Reyes"]),
        ("Dear Office,\nI am Michael J. O'Brien, an assistant language teacher.", ["Michael J. O'Brien"]),
        ("Soy Rosa Elena Quispe de Mamani, madre de Diego Quispe.", ["Rosa Elena Quispe de Mamani", "Diego Quispe"]),
        ("Permisi, saya Agus Setiawan, pekerja toko.", ["Agus Setiawan"]),
        ("KURODA Sandra Tiemi／ポルトガル語／090-1234-6637／岩田校区", ["KURODA Sandra Tiemi"]),
    ],
)
def test_foreign_residents_names_in_many_forms(text: str, values: list[str]) -> None:
    assert found(text, "PERSON") == values


@pytest.mark.parametrize(
    "text",
    [
        "Hello, Maria. Tokyo, Japan is nice. Soy de Perú.",
        "Permisi, alamat saya Nishikocho Aza Hamaike 33-1, Toyohashi.",  # "my address", not "I am"
        "会議日程 2025/11/09 / 2025/11/16 / 2025/11/23",
    ],
)
def test_foreign_phrases_that_name_no_one(text: str) -> None:
    assert found(text, "PERSON") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Olá, nasci em 22/05/1996. Cheguei ao Japão em 2019.", "22/05/1996"),
        ("madre de Diego Quispe (nacido el 14 de septiembre de 2016). Vivimos en Toyohashi.", "14 de septiembre de 2016"),
        ("Saya lahir pada 3/4/1999 di Bandung.", "3/4/1999"),
    ],
)
def test_dates_of_birth_in_foreign_residents_letters(text: str, value: str) -> None:
    assert found(text, "BIRTH_DATE") == [value]


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("対象：市営高師住宅 2棟307号室 ペレス ビジャヌエバ パトリシアさん世帯", ["ペレス ビジャヌエバ パトリシア"]),
        ("My daughter Princess Joy V. Santos was born in Manila.", ["Princess Joy V. Santos"]),
        (" ・4年 サントス ケヴィン（ブラジル）：取り出し指導\n ・3年 Aiko Dela Cruz（フィリピン）：欠席が月8日。",
         ["サントス ケヴィン", "Aiko Dela Cruz"]),
        ("\"您好，我是王丽华，住在丰桥市。\"", ["王丽华"]),
        ("上田市常田に住んでいる百目鬼（どうめき）と申します。", ["百目鬼", "どうめき"]),
        ("受験者一覧（内部用）\nS-0117　四十物 琴音　1990/01/16\nS-0105　石動 陽翔　　　　412.5", ["四十物 琴音", "石動 陽翔"]),
    ],
)
def test_names_from_blind32_and_blind33(text: str, values: list[str]) -> None:
    assert found(text, "PERSON") == values


@pytest.mark.parametrize(
    "text",
    [
        "我是日本人，住在东京。",
        "令和7年度 3年 サッカー部 の練習日程",
        "R7-001 防災 訓練　2025/10/01",
    ],
)
def test_rows_and_phrases_from_blind32_and_blind33_that_name_no_one(text: str) -> None:
    assert found(text, "PERSON") == []


@pytest.mark.parametrize(
    "text",
    [
        # a council's published minutes and a committee's record: members named in their role
        "令和７年３月上田市議会定例会会議録（第４号）抜粋\n○議長（山浦 義光君）　日程第1、一般質問を行います。\n　15番　西沢 朋子議員。\n○15番（西沢 朋子君）　おはようございます。",
        "上田市議会 総務委員会記録（令和7年3月10日）\n出席委員　委員長 塩入 久美子、委員 滝澤 一郎、依田 美和\n○委員（依田 美和）　件数は。",
        # a review board's summary for publication, with closed items in it
        "審査会 会議の概要（公表用）\n出席委員　春日 雅彦（会長）、坂口 由紀子\n議事\n1 諮問第29号について調査審議を行った。（非公開）",
    ],
)
def test_published_council_and_board_records_name_members_in_their_role(text: str) -> None:
    assert found(text, "PERSON") == []


def test_a_contract_for_writing_council_minutes_is_not_the_minutes() -> None:
    text = (
        "予定価格書（非公表）\n件名：区議会 会議録作成業務委託（令和8年度～令和10年度）\n\n予定価格：14,370,000円\n"
        "参考見積：株式会社議事録センター（法人番号 7657990451166、担当 桜田 恵、03-5820-4412）\n"
        "※入札執行まで区議会事務局 総務係長が保管する。"
    )
    assert found(text, "PERSON") == ["桜田 恵"]


# From blind34 (a town after a disaster; scored once, then a development set)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        # the label on the next line is no honorific (ケンジ⏎氏 名), and 氏 名 spaced out is a label
        ("　フリガナ　ハマグチ　ケンジ\n　氏　名　濵口　健二\n　生年月日　昭和46年3月2日", ["ハマグチ　ケンジ", "濵口　健二"]),
        # the bank's name after a second space is not a third part of the name
        ("1　相賀 辰夫　東紀州信用金庫 相賀支店 普通 1234567", ["相賀 辰夫"]),
        ("・中川 莉愛（5）：てんかん、発作時の座薬あり\n・ソン・ミンジュ（68）：韓国出身", ["中川 莉愛", "ソン・ミンジュ"]),
        ("被災者：TRAN VAN DUC（技能実習2号、耕種農業）", ["TRAN VAN DUC"]),
    ],
)
def test_names_from_blind34(text: str, values: list[str]) -> None:
    assert found(text, "PERSON") == values


@pytest.mark.parametrize("text", ["・サッカー クラブ（12）", "・総務 課（3）"])
def test_a_list_item_with_a_count_in_brackets_is_not_a_person(text: str) -> None:
    assert found(text, "PERSON") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Address: 3-5-22 Matsuba-cho, Toyohashi-shi, Aichi 440-0016\nCelular: 080-1234-5678", "440-0016"),
        ("I live at 1-2-3 Chuo, Ueda-shi, Nagano, 386-0018. I would like to ask.", "386-0018"),
        ("CEP: 440-0016", "440-0016"),
    ],
)
def test_a_postal_code_in_an_address_written_in_english_order(text: str, value: str) -> None:
    assert found(text, "POSTAL_CODE") == [value]


def test_a_year_range_after_a_place_name_is_no_postal_code() -> None:
    assert found("Tokyo 2023-2024 report", "POSTAL_CODE") == []


# From blind36 (urban planning and infrastructure; scored once, then a development set)


def test_a_deceased_relative_is_no_name() -> None:
    text = "・長男（故人）の子　粂 拓真　平成2年3月4日生"
    assert found(text, "PERSON") == ["粂 拓真"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("・大地さんは現在越谷市千間台東2-9-6 ルミエール千間台101に賃貸居住", "越谷市千間台東2-9-6 ルミエール千間台101"),
        ("1\t嶋田 ツル\t春日部市大枝５１２番地\t１２０２番\t２１５㎡", "春日部市大枝５１２番地"),  # not into the next cell
    ],
)
def test_an_address_starts_after_a_time_word_and_ends_at_its_cell(text: str, value: str) -> None:
    assert found(text, "ADDRESS") == [value]


@pytest.mark.parametrize("text", ["Meu passaporte é FX5128043.", "Mi pasaporte es TK2819304.", "Nomor paspor saya AB1234567."])
def test_a_passport_number_named_in_portuguese_spanish_or_indonesian(text: str) -> None:
    assert len(found(text, "PASSPORT")) == 1


# From blind35 (Ministry of Justice field offices; scored once, then a development set)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("相談内容：亡兄煙山 孝名義の山林の相続。", ["煙山 孝"]),
        ("いつも隼人がお世話になっております。畠山 隼人の母の畠山 智恵です。\n最近、隼人が夜遅くまで出歩き", ["畠山 隼人", "畠山 智恵", "隼人"]),
        ("昨年3月に交通事故で亡くなった栗林 陽向の父、栗林 翔真です。", ["栗林 陽向", "栗林 翔真"]),
    ],
)
def test_names_from_blind35(text: str, values: list[str]) -> None:
    assert found(text, "PERSON") == values


def test_decorated_volunteers_in_a_published_list_are_named_in_that_role() -> None:
    text = (
        "保護司の受章について\n\n令和6年秋の叙勲・褒章において、県内の保護司から次の方々が受章されました。\n\n"
        "・瑞宝双光章　大平 忠夫（盛岡地区保護司会、保護司歴32年）\n・藍綬褒章　　佐藤 真知子（一関地区保護司会、保護司歴21年）\n\n"
        "問合せ先：盛岡保護観察所 企画調整課　電話 019-622-4327"
    )
    assert found(text, "PERSON") == []


def test_a_date_after_the_birth_label_of_a_family_register() -> None:
    assert found("氏名：富樫 ミツ\n出生の年月日：昭和１５年１２月２３日", "BIRTH_DATE") == ["昭和１５年１２月２３日"]
