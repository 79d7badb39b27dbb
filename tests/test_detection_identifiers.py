"""Identifiers: check digits, positives, hard negatives, full-width and split digits."""

from __future__ import annotations

import pytest

from gennai.policy.detection import corporate_number_is_valid, detect, my_number_is_valid


def found(text: str) -> list[tuple[str, str]]:
    return [(e.type, text[e.start : e.end]) for e in detect(text).entities]


def types(text: str) -> set[str]:
    return {e.type for e in detect(text).entities}


@pytest.mark.parametrize("number", ["123456789018", "621498320257"])
def test_my_number_check_digit_valid(number: str) -> None:
    assert my_number_is_valid(number)


@pytest.mark.parametrize("number", ["123456789019", "123456789017", "621498320258", "12345678901", "1234567890180"])
def test_my_number_check_digit_invalid(number: str) -> None:
    assert not my_number_is_valid(number)


def test_corporate_number_check_digit() -> None:
    assert corporate_number_is_valid("8000012010038")
    assert not corporate_number_is_valid("7000012010038")
    assert not corporate_number_is_valid("9000012010038")
    assert not corporate_number_is_valid("800001201003")


@pytest.mark.parametrize(
    "text, value",
    [
        ("番号は123456789018です", "123456789018"),
        ("1234-5678-9018 を確認", "1234-5678-9018"),
        ("１２３４ ５６７８ ９０１８ を確認", "１２３４ ５６７８ ９０１８"),
        ("申請書の 621498320257 を受理", "621498320257"),
    ],
)
def test_my_number_found(text: str, value: str) -> None:
    assert ("MY_NUMBER", value) in found(text)
    assert detect(text).proposed_class == 2


def test_my_number_context_counts_even_when_check_fails() -> None:
    # Design note: a 12-digit number failing the check is not a My Number, but text that
    # says マイナンバー next to it still deserves class 2 (a reason, no entity).
    text = "マイナンバー：123456789019"
    d = detect(text)
    assert found(text) == []
    assert d.proposed_class == 2
    assert any("マイナンバー" in r for r in d.reasons)


def test_other_number_label_between_my_number_word_and_number() -> None:
    # 個人番号 mentioned earlier; the number itself is labelled 整理番号.
    text = "個人番号の提出は不要です。整理番号 621498320257"
    assert "MY_NUMBER" not in types(text)


@pytest.mark.parametrize("value", ["+81-90-2345-6789", "+81 80 3456 7890", "+81 70-1111-2222"])
def test_plus_81_is_a_phone_never_a_my_number(value: str) -> None:
    text = f"携帯：{value}（平日のみ）"
    assert found(text) == [("PHONE", value)]


@pytest.mark.parametrize("value", ["0570-012-345", "0120-987-654", "0800-123-4567"])
def test_business_only_numbers_are_not_private(value: str) -> None:
    text = f"ご相談は {value} までお電話ください。"
    assert found(text) == [("PHONE", value)]
    assert detect(text).proposed_class == 1


@pytest.mark.parametrize(
    "text, value",
    [
        ("生年月日が平成3年7月9日の方", "平成3年7月9日"),
        ("氏名 木村 花子　平成３年７月９日\n住所 …", "平成３年７月９日"),
        ("対象者一覧\n1. 小林 一郎（福祉課）　S55.2.14\n", "S55.2.14"),
        ("受講者 森田恵美、1992/10/03\n", "1992/10/03"),
    ],
)
def test_birth_date_after_ga_or_after_a_name(text: str, value: str) -> None:
    assert ("BIRTH_DATE", value) in found(text)


@pytest.mark.parametrize("text", ["山田太郎さん 令和7年4月1日から着任します。", "会議 2025年4月1日\n"])
def test_dates_after_names_that_are_not_birth_dates(text: str) -> None:
    assert "BIRTH_DATE" not in types(text)


@pytest.mark.parametrize(
    "text",
    [
        "文書番号 123456789019 で通知した。",
        "注文番号123456789017の商品",
        "令和6年法律第123号の施行について",
        "詳細は pp. 12-34 を参照。",
        "会議は2024年3月15日に開催する。",
        "契約金額は1,234,567円です。",
        "地方自治法（昭和22年法律第67号）第252条の17",
        "予算額 12,345,678,901円",
    ],
)
def test_hard_negatives(text: str) -> None:
    d = detect(text)
    assert d.entities == ()
    assert d.proposed_class == 1


def test_corporate_number_alone_is_class_1() -> None:
    text = "法人番号 8000012010038 の事業者"
    assert found(text) == [("CORPORATE_NUMBER", "8000012010038")]
    assert detect(text).proposed_class == 1


def test_invalid_13_digits_not_corporate() -> None:
    assert found("管理コード 7000012010038") == []


@pytest.mark.parametrize(
    "value",
    [
        "03-1234-5678",
        "0312345678",
        "03 1234 5678",
        "(03)1234-5678",
        "03(1234)5678",
        "045-123-4567",
        "0466-12-3456",
        "090-1234-5678",
        "080 1234 5678",
        "07012345678",
        "050-1234-5678",
        "0120-123-456",
        "0800-123-4567",
        "+81-3-1234-5678",
        "+81 90 1234 5678",
        "+81(0)3-1234-5678",
        "０９０－１２３４－５６７８",
        "（０３）１２３４－５６７８",
    ],
)
def test_phone_forms(value: str) -> None:
    text = f"連絡先は{value}です。"
    assert ("PHONE", value) in found(text)


@pytest.mark.parametrize("text", ["番号 090-1234-567 は誤り", "03-1234-56789", "0120-123-4567-8", "1234-5678"])
def test_phone_negatives(text: str) -> None:
    assert "PHONE" not in types(text)


def test_mobile_is_private_class_2_and_office_phone_in_notice_class_1() -> None:
    assert detect("携帯 090-1234-5678").proposed_class == 2
    notice = "お知らせ\n問い合わせ先：総務課 電話 03-5253-5111"
    d = detect(notice)
    assert [e.type for e in d.entities] == ["PHONE"]
    assert d.proposed_class == 1


@pytest.mark.parametrize(
    "text, value",
    [
        ("〒100-8926 東京都千代田区", "100-8926"),
        ("〒１００－８９２６", "１００－８９２６"),
        ("郵便番号 1000013", "1000013"),
        ("郵便番号：100-0013", "100-0013"),
        ("100-8926 東京都千代田区霞が関", "100-8926"),
    ],
)
def test_postal_codes(text: str, value: str) -> None:
    assert ("POSTAL_CODE", value) in found(text)


def test_postal_code_negative() -> None:
    assert "POSTAL_CODE" not in types("資料 100-8926 ページ")


@pytest.mark.parametrize("value", ["taro.yamada@example.co.jp", "a_b+c@mail.example.com"])
def test_email(value: str) -> None:
    assert ("EMAIL", value) in found(f"メール: {value} まで")


def test_full_width_email() -> None:
    text = "連絡はｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍへ"
    assert ("EMAIL", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ") in found(text)


def test_passport_needs_context() -> None:
    assert ("PASSPORT", "TK1234567") in found("旅券番号：TK1234567")
    assert ("PASSPORT", "ＴＫ１２３４５６７") in found("パスポート ＴＫ１２３４５６７")
    assert "PASSPORT" not in types("型番 TK1234567 の部品")


def test_drivers_licence_needs_context() -> None:
    assert found("運転免許証番号 123456789012") == [("DRIVERS_LICENSE", "123456789012")]
    assert found("免許証の番号は 1234 5678 9012") == [("DRIVERS_LICENSE", "1234 5678 9012")]
    assert found("整理番号 123456789012") == []


@pytest.mark.parametrize(
    "text, value",
    [
        ("みずほ銀行 渋谷支店 普通 1234567", "1234567"),
        ("振込先口座：0001-123-1234567", "0001-123-1234567"),
        ("当座預金 口座番号 7654321", "7654321"),
        ("ゆうちょ銀行 記号 12345 番号 12345678", "12345 番号 12345678"),
        ("ゆうちょ銀行 12345-12345678", "12345-12345678"),
    ],
)
def test_bank_accounts(text: str, value: str) -> None:
    assert ("BANK_ACCOUNT", value) in found(text)


@pytest.mark.parametrize("text", ["普通預金の残高は 1234567円", "口座の件で 1234567 人が", "番号 1234567"])
def test_bank_negatives(text: str) -> None:
    assert "BANK_ACCOUNT" not in types(text)


@pytest.mark.parametrize(
    "text, value",
    [
        ("昭和45年3月2日生", "昭和45年3月2日"),
        ("1970年3月2日生まれ", "1970年3月2日"),
        ("生年月日：1970/03/02", "1970/03/02"),
        ("生年月日 平成元年1月8日", "平成元年1月8日"),
        ("生年月日：Ｓ４５．３．２", "Ｓ４５．３．２"),
        ("昭和 ４５ 年 ３ 月 ２ 日生まれ", "昭和 ４５ 年 ３ 月 ２ 日"),
    ],
)
def test_birth_dates(text: str, value: str) -> None:
    assert ("BIRTH_DATE", value) in found(text)


@pytest.mark.parametrize("text", ["令和6年4月1日から施行する。", "2024年3月15日に開催", "生年月日：1970年13月2日"])
def test_dates_that_are_not_birth_dates(text: str) -> None:
    assert "BIRTH_DATE" not in types(text)


@pytest.mark.parametrize("text, value", [("TEL.03-1234-5678", "03-1234-5678"), ("TEL03-1234-5678", "03-1234-5678"), ("Tel:090-1234-5678", "090-1234-5678")])
def test_phone_after_label_letters(text: str, value: str) -> None:
    assert ("PHONE", value) in found(text)


def test_email_wins_over_phone_inside_it() -> None:
    assert found("a03-1234-5678@example.com") == [("EMAIL", "a03-1234-5678@example.com")]
