"""Person names and addresses: private people vs officials and government buildings in notices."""

from __future__ import annotations

import pytest

from gennai.policy.detection import detect


def found(text: str) -> list[tuple[str, str]]:
    return [(e.type, text[e.start : e.end]) for e in detect(text).entities]


@pytest.mark.parametrize(
    "text, name",
    [
        ("山田太郎さんから電話があった。", "山田太郎"),
        ("佐藤様へ回答する。", "佐藤"),
        ("鈴木氏の意見", "鈴木"),
        ("田中 一郎 殿", "田中 一郎"),
        ("申請者：高橋花子", "高橋花子"),
        ("氏名 伊藤 健", "伊藤 健"),
        ("ヤマダさんの件", "ヤマダ"),
        ("相談者の渡辺 美咲は市内在住である。", "渡辺 美咲"),
    ],
)
def test_people(text: str, name: str) -> None:
    assert ("PERSON", name) in found(text)
    assert detect(text).proposed_class == 2


@pytest.mark.parametrize("text", ["皆さん、おはようございます。", "お客様各位", "秘書課に連絡する。", "担当者様へ"])
def test_not_people(text: str) -> None:
    assert [t for t, _ in found(text)] == []


@pytest.mark.parametrize(
    "text",
    [
        "総務大臣 山田太郎",
        "山田太郎総務大臣は記者会見で述べた。",
        "東京都知事 佐藤花子",
        "横浜市長 鈴木一郎",
    ],
)
def test_high_officials_are_not_flagged(text: str) -> None:
    assert "PERSON" not in {t for t, _ in found(text)}


def test_officials_in_a_public_notice_are_not_flagged() -> None:
    text = "お知らせ\n総務省告示第1号\n担当：総務課 佐藤\n情報政策局長 田中一郎"
    assert "PERSON" not in {t for t, _ in found(text)}
    assert detect(text).proposed_class == 1


def test_honorific_in_a_notice_still_counts() -> None:
    text = "お知らせ\n落とし物の財布は、拾った山田太郎さんから届けられました。"
    assert ("PERSON", "山田太郎") in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "お知らせ\n受賞者の山田太郎さんに表彰状を授与しました。",
        "大会の結果をお知らせします。\nチャンプ本：『海』（紹介者：城東高校2年 藤本 遥さん）\n藤本さんは全国大会に出場します。",
        "プレスリリース\n理学部の村井 悠斗 准教授、大学院生の石黒 彩花さんらの研究グループは遺伝子を特定しました。",
        "理事長の交代について\n当研究所の理事長に、4月1日付で小笠原 直樹（おがさわら なおき）が就任します。\n問い合わせ：広報課 03-1234-5678",
        "受賞者が決まりました\n受賞者（敬称略・50音順）\n・今井 源次郎（郡上市）　郡上踊り保存会 顧問\n・河合 千鶴子（高山市）",
        "副市長の選任についてお知らせします。\n氏名：砂田 裕介（すなだ ゆうすけ）\n就任日：令和7年4月1日",
    ],
)
def test_people_a_notice_names_in_a_public_role_are_not_flagged(text: str) -> None:
    assert "PERSON" not in {t for t, _ in found(text)}


def test_a_sample_form_names_nobody() -> None:
    text = "【記入例】\n申請者の住所：○○市○○町1丁目2番3号\n申請者の氏名：山田 太郎\n電話番号：000-0000-0000"
    assert "PERSON" not in {t for t, _ in found(text)}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("氏名：西脇 春香（ふりがな：にしわき はるか）", "にしわき はるか"),
        ("氏名：工藤 楓　ローマ字：KUDO Kaede", "KUDO Kaede"),
        ("旅券の氏名：NGUYEN THI HOA（グエン・ティ・ホア）さん", "グエン・ティ・ホア"),
        ("氏名：CHEN Yuting（陳 雨婷）", "陳 雨婷"),
        ("2　Maria SANTOS（1990-12-04生）", "Maria SANTOS"),
        ("娘のMei Tanaka-Brownが受験します。", "Mei Tanaka-Brown"),
        ("I am worried about my son Anish's health.", "Anish"),
        ("| 氏名 | 金額 |\n|---|---|\n| Pham Duc Minh | 3,000円 |", "Pham Duc Minh"),
        ("調査対象者：工学研究科 助教 篠原 圭吾", "篠原 圭吾"),
    ],
)
def test_names_in_other_scripts_and_fields(text: str, name: str) -> None:
    assert ("PERSON", name) in found(text)


@pytest.mark.parametrize("text", ["※申立人からDV被害の申出あり。", "【関係者限り】林道奥三面線 改良工事"])
def test_words_cut_like_names_are_not_names(text: str) -> None:
    assert "PERSON" not in {t for t, _ in found(text)}


def test_private_address() -> None:
    text = "相談者の住所は横浜市中区本町1-2-3 です。"
    assert ("ADDRESS", "横浜市中区本町1-2-3") in found(text)
    text = "現住所：東京都世田谷区桜丘３丁目２番１号"
    assert ("ADDRESS", "東京都世田谷区桜丘３丁目２番１号") in found(text)
    assert detect(text).proposed_class == 2


def test_city_alone_is_not_an_address() -> None:
    assert "ADDRESS" not in {t for t, _ in found("東京都千代田区で開催された会議")}


def test_government_building_in_a_notice_is_not_flagged() -> None:
    text = "報道発表\n所在地：〒100-8926 東京都千代田区霞が関1-3-1 中央合同庁舎"
    assert "ADDRESS" not in {t for t, _ in found(text)}
    assert detect(text).proposed_class == 1
    assert detect("会場：東京都千代田区霞が関1-3-1（総務省）").proposed_class == 1


def test_private_address_in_a_notice_is_still_flagged() -> None:
    text = "お知らせ\n申請者の住所 東京都世田谷区桜丘3-2-1"
    assert ("ADDRESS", "東京都世田谷区桜丘3-2-1") in found(text)


@pytest.mark.parametrize(
    "text, value",
    [
        ("札幌市中央区北1条西2丁目1番地 に住む", "札幌市中央区北1条西2丁目1番地"),
        ("住所：大阪市北区梅田1丁目2番3号", "大阪市北区梅田1丁目2番3号"),
        ("自宅はさいたま市浦和区高砂３－１－４です", "さいたま市浦和区高砂３－１－４"),
    ],
)
def test_address_forms(text: str, value: str) -> None:
    assert ("ADDRESS", value) in found(text)


@pytest.mark.parametrize(
    "text, cls",
    [
        # a resident's inquiry
        ("市民課御中\n先日転入した山本と申します。住所は川崎市中原区小杉町1-403、電話は080-9876-5432です。", 2),
        # a public notice with officials, an office address and contact numbers
        (
            "報道発表資料\n令和7年4月1日\nデジタル庁\n\nデジタル大臣 山田太郎は、下記のとおり記者会見を行います。\n"
            "会場：東京都千代田区紀尾井町1-3 東京ガーデンテラス紀尾井町\n"
            "問い合わせ先：デジタル庁 広報担当 佐藤 電話 03-4477-6775",
            1,
        ),
        # minutes without personal data
        ("議事録\n1. 令和6年法律第123号の施行準備について説明があった。\n2. 資料pp. 12-34の修正を了承した。", 1),
        # a chat prompt with a deliberation draft
        ("以下は内部検討用の資料です。要約してください。", 2),
    ],
)
def test_documents(text: str, cls: int) -> None:
    assert detect(text).proposed_class == cls


@pytest.mark.parametrize(
    "text, name",
    [("グエン・ヴァン・アンさんから相談があった。", "グエン・ヴァン・アン"), ("ジョン・スミス様", "ジョン・スミス"), ("山田翔琉さん", "山田翔琉")],
)
def test_names_outside_the_dictionary(text: str, name: str) -> None:
    assert ("PERSON", name) in found(text)


@pytest.mark.parametrize("text", ["田中角栄内閣の政策を調べて。", "長谷川町子美術館の開館時間", "坂本龍馬の生涯", "田中部長さんに確認する"])
def test_names_inside_other_names_and_titles(text: str) -> None:
    assert "PERSON" not in {t for t, _ in found(text)}


@pytest.mark.parametrize(
    "text, name",
    [
        ("はじめまして。\n村上 ひかりです。図書館について伺います。", "村上 ひかり"),
        ("私は前田 翼と申します。", "前田 翼"),
        ("届出人：松井　蘭\n", "松井\u3000蘭"),
        ("私は佐々木と申します。", "佐々木"),
        ("お世話になります。岡田です。", "岡田"),
        ("相手方：原田 智子（〒100-0001）", "原田 智子"),
        ("Name: LOPEZ Ana / 旅券 TK1234567", "LOPEZ Ana"),
        ("氏名：NGUYEN Van An\n", "NGUYEN Van An"),
    ],
)
def test_people_in_letters_and_forms(text: str, name: str) -> None:
    assert ("PERSON", name) in found(text)


@pytest.mark.parametrize(
    "text", ["田中 以下3名が出席した。", "東京 駅です", "NHK Radio の放送について", "大阪 本社です", "田中 案です", "山本 センターに連絡"]
)
def test_not_given_names(text: str) -> None:
    assert "PERSON" not in {t for t, _ in found(text)}


@pytest.mark.parametrize(
    "text",
    [
        "人事異動（4月1日付）\n企画課長　森 一郎\n財政課主査　林 由美",
        "各課長 殿\n情報推進課長 堀 直子\n問い合わせ先：情報推進課 03-1111-2222",
        "研修の開催について\n講師：人事課係長 北村 舞\n問い合わせ先：人事課 045-111-2222",
    ],
)
def test_officials_in_announcements_and_circulars(text: str) -> None:
    d = detect(text)
    assert "PERSON" not in {e.type for e in d.entities}
    assert d.proposed_class == 1


def test_company_representative_is_not_flagged() -> None:
    text = "協定には株式会社みなと物流の代表取締役 森山 健二 氏が署名した。"
    assert "PERSON" not in {t for t, _ in found(text)}


def test_address_with_building_and_room() -> None:
    text = "住所：静岡県静岡市葵区追手町9-6 ハイツ駿府302\n"
    assert ("ADDRESS", "静岡県静岡市葵区追手町9-6 ハイツ駿府302") in found(text)
