"""From the thirteenth blind set ('blind13', now a development set): internal papers whose only
signal is their wording (publication comes later, a closed session, ここだけの話 …), a child
protection case conference that is no public meeting, children named in katakana, a CSV with
a 個人番号 column, and office numbers that are no private person's; with the public texts
that use the same words."""

from __future__ import annotations

import pytest

from gennai.policy.detection import detect
from tests.support.findings import found


@pytest.mark.parametrize(
    "text",
    [
        "報道資料の案を作って。まだ議会にも説明前なので、外には一切出ていない話です。",
        "東山小学区の住民説明は、アンケートの結果を見てから。現時点で地域には一切示していない。",
        "※2位と3位の差が僅少のため再確認する。結果の公表は契約締結後。",
        "・発表は文化団体への個別説明後（10月上旬予定）",
        "学校規模適正化に関する庁内検討（第4回）の論点整理",
        "幹部会議メモ（7/7）※会議後回収",
        "公募型プロポーザル 技術提案書評価結果（審査委員会用・非公開）",
        "教育委員会 会議（秘密会部分）要旨",
        "副市長から口頭で指示のあった件です。メモなので、ここだけの話にしておいてください。",
        "建設部長は3月で退職の意向。内示は3月16日の予定。",
    ],
)
def test_internal_wording_makes_class_2(text: str) -> None:
    assert detect(text).proposed_class == 2


@pytest.mark.parametrize(
    "text",
    [
        "入札結果のお知らせ\n結果の公表は契約締結後に行います。\n問い合わせ：契約課 0123-45-6789",
        "審議会の開催について（お知らせ）\n議題3（非公開）\n問い合わせ：企画課 0123-45-6789",
        "サッカー（男子）の結果をお知らせします。",
        "相談窓口は消費生活センター（188）です。",
    ],
)
def test_public_wording_stays_class_1(text: str) -> None:
    assert detect(text).proposed_class == 1


def test_a_case_conference_is_no_public_meeting() -> None:
    text = (
        "要保護児童対策地域協議会 個別ケース検討会議 記録\n"
        "出席 こども家庭課（2）、小学校 教頭\n\n"
        "対象児童：ユウト（小2）、妹 ミオ（年中）\n"
    )
    assert found(text, "PERSON") == ["ユウト", "ミオ"]


def test_children_named_in_katakana() -> None:
    text = "2年3組 ヒロセ（男子）が、同じクラスの男子3名（タカハシ、モリ、イシイ）からSNSで書き込みをされた。"
    assert found(text, "PERSON") == ["ヒロセ", "タカハシ", "モリ", "イシイ"]


def test_a_csv_column_of_my_numbers() -> None:
    text = "受付番号,氏名,生年月日,個人番号,電話\nR7-0091,滝沢 秋人,1976-02-11,218362852612,090-2287-6614\n"
    assert found(text, "MY_NUMBER") == ["218362852612"]


def test_an_amount_with_commas_is_no_my_number() -> None:
    assert found("総額は1,218,362,852,612円です。", "MY_NUMBER") == []
    assert found("総額 1,218362852612", "MY_NUMBER") == ["218362852612"]  # a CSV field after an amount


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("生年月日（Date of birth）：1999/04/18\n国籍：ベトナム", "BIRTH_DATE", "1999/04/18"),
        ("住所：〒030-0845 青森市緑三丁目9番11号 コーポみどり203\n電話：070-1294-0000", "ADDRESS", "青森市緑三丁目9番11号 コーポみどり203"),
        ("〒690-0886 松江市母衣町五十八番地\n細川 キヨ", "ADDRESS", "松江市母衣町五十八番地"),
        ("内容：隣家（表札「木暮」）の庭木が越境している。", "PERSON", "木暮"),
        ("Please check my letter.\n\nThank you for your help.\nAna", "PERSON", "Ana"),
    ],
)
def test_found(text: str, kind: str, value: str) -> None:
    assert value in found(text, kind)


@pytest.mark.parametrize(
    "text",
    [
        "【断水のお知らせ】\nお問合せ　上下水道局 お客さまセンター　0120-044-618／ 携帯電話からは 0296-22-6180",
        "If you need help, call the multilingual line of the International Association: 088-875-0022",
        "Write a notice about the new bus route. Inquiries: Transport Policy Division, 0857-20-3273.",
    ],
)
def test_office_numbers_are_no_private_persons(text: str) -> None:
    assert detect(text).proposed_class == 1
