"""From the twelfth blind set ('blind12', now a development set): internal papers whose only
signal is their wording (a staff member's diagnosis, 内々に, 外に出さない), names the rules did
not reach (a surname signing a letter, 氏名 with a family name the dictionary knows as a
common word, a child named with their age, romanised names with particles, a name in quotes
under a closing) and an address whose room number follows 丁; and the public or general texts
with the same words that stay class 1."""

from __future__ import annotations

import pytest

from gennai.policy.detection import detect


def people(text: str) -> list[str]:
    return [text[e.start : e.end] for e in detect(text).entities if e.type == "PERSON"]


@pytest.mark.parametrize(
    "text",
    [
        "・係員1名が先週から出勤できていない。心療内科で「抑うつ状態」と診断され、1か月の療養が必要とのこと。",
        "件名：来年度の保守契約の件（内々に）\nお疲れさまです。",
        "正式決定までは、この金額は外に出さないようにしてください。",
        "資料はまだ外に出さないでください。",
    ],
)
def test_internal_wording_makes_class_2(text: str) -> None:
    assert detect(text).proposed_class == 2


@pytest.mark.parametrize(
    "text",
    [
        "うつ病の診断基準について一般的に教えてください。",
        "こころの健康相談のお知らせ\nうつ病などで通院中の方やご家族の相談を受け付けます。\n問い合わせ：保健センター 0123-45-6789",
        "収集日以外に出されたごみは回収できません。",
    ],
)
def test_general_or_public_wording_stays_class_1(text: str) -> None:
    assert detect(text).proposed_class == 1


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("資料を送付します。\nよろしくお願いいたします。\n土屋", "土屋"),
        ("氏名　鳥居 ふさ　昭和１２年８月３０日\n住所　岡山県倉敷市玉島", "鳥居 ふさ"),
        ("妻 井上 静香（51）　長男 颯（17、高2）", "颯"),
        ("My name is Maria Clara dos Santos and I live in Kani.", "Maria Clara dos Santos"),
        ("my husband is Joao Pedro dos Santos (date of birth 1985-02-03)", "Joao Pedro dos Santos"),
        ('次のメールを訳して：\n"Thank you for your help.\nBest regards,\nPriya Sharma"', "Priya Sharma"),
    ],
)
def test_names_found(text: str, name: str) -> None:
    assert name in people(text)


def test_a_birth_date_after_a_name_field_counts() -> None:
    text = "氏名　鳥居 ふさ　昭和１２年８月３０日\n住所　岡山県倉敷市玉島"
    assert "BIRTH_DATE" in [e.type for e in detect(text).entities]


@pytest.mark.parametrize(
    "text",
    [
        "氏名\t住所\t滞納額\n",  # a table's header row
        "以上、よろしくお願いいたします。\n総務課",  # an office signing, not a person
        "長男 遊び(3)",
    ],
)
def test_no_name_where_none_is(text: str) -> None:
    assert people(text) == []


def test_the_room_after_cho_and_lot_is_part_of_the_address() -> None:
    text = "今の住所（大阪府堺市北区中百舌鳥町5丁8-2-607）を元夫に知られたくありません。"
    addresses = [text[e.start : e.end] for e in detect(text).entities if e.type == "ADDRESS"]
    assert addresses == ["大阪府堺市北区中百舌鳥町5丁8-2-607"]
