"""From the fifth blind set ('blind5', now a development set): a request to an AI with a
paper pasted in, or a text that only says お知らせします in its body, is not a published
notice, so the residents named in it stay personal; internal status words (非公表, 査定中,
議会議決前) make a paper class 2 without any personal data.

All names and addresses here are invented for these tests."""

from __future__ import annotations

import pytest

from gennai.policy.detection import DefaultDetector, detect

RULES = DefaultDetector(wording=None)


def test_residents_in_a_pasted_record_are_personal() -> None:
    text = (
        "以下は住民説明会の記録（担当者のメモ書き）です。これを、発言者の名前と住所を伏せた議事要旨に直してください。\n"
        "---\n"
        "鴨志田 浩（船橋市三山6-22-1）：道路拡幅で自宅の生垣が削られると聞いた。\n"
        "市：次回は1か月前に回覧でお知らせします。\n"
    )
    result = detect(text)
    assert result.proposed_class == 2
    assert ("PERSON", "鴨志田 浩") in [(e.type, text[e.start : e.end]) for e in result.entities]


@pytest.mark.parametrize(
    "text",
    [
        "令和8年度当初予算 一次査定メモ（財政課）　※査定中・非公表\n| 事業 | 要求額 |\n|---|---|\n| 市民プール運営費 | 38,900 |",
        "起案（指定管理者候補者の決定について）　※議会議決前\n1位 一般社団法人かわうち観光協会　78.5点",
    ],
)
def test_internal_status_words_make_class_2(text: str) -> None:
    assert detect(text).proposed_class == 2


@pytest.mark.parametrize(
    "text",
    [
        # a training notice that explains the markings, quoting them as examples
        "【職員研修のご案内】情報セキュリティ研修\n・機密性3：秘密文書に相当する情報（「秘」「極秘」の表示があるもの）\n"
        "・機密性2：個人情報など（「取扱注意」「部外秘」等の表示）\n表示の方法：文書の右上に「機密性2情報」等と記載する\n"
        "機密性2以上の情報は、許可されたサービス以外に入力しない",
        # council minutes: members by seat number
        "令和7年第3回 美郷町議会定例会 会議録（第2号）\n○議長（千屋 和男 君）　一般質問を行います。7番、六郷 佳子 議員。\n"
        "○7番（六郷 佳子 君）　町内のクマ出没が過去最多となっています。",
        # a list of clinics with their addresses and numbers
        "特定健康診査 実施医療機関\n| 医療機関 | 所在地 | 電話 |\n|---|---|---|\n| 高橋内科クリニック | 伊勢市岩渕2丁目4-8 | 0596-28-3111 |",
    ],
)
def test_public_texts_stay_class_1(text: str) -> None:
    # the rules' verdict: the wording model reads a few of these as internal (a table of
    # clinics, a company's inquiry about bidding), a false alarm measured in docs/benchmarks.md
    result = RULES.detect(text)
    assert result.proposed_class == 1, result.reasons


@pytest.mark.parametrize("text", ["【秘】\n資料", "機密性：３\n会議資料", "「秘」\n警備計画"])
def test_markings_applied_to_the_text_still_count(text: str) -> None:
    assert detect(text).proposed_class == 3


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("班\t氏名\t電話\n1\tサントス ルアナ\t070-3380-9100\n2\t甲斐 美琴\t090-1111-2222", "PERSON", "サントス ルアナ"),
        ("班\t氏名\t電話\n1\tサントス ルアナ\t070-3380-9100\n2\t甲斐 美琴\t090-1111-2222", "PERSON", "甲斐 美琴"),
        ("Dear Maria Cristina DELA CRUZ 様\n国民健康保険の加入について", "PERSON", "Maria Cristina DELA CRUZ"),
        ("Kenta WAKAMATSU（若松 健太）\n+81 90-1234-5678", "PERSON", "Kenta WAKAMATSU"),
        ("児童：柏葉 ゆうと（小2）", "PERSON", "柏葉 ゆうと"),
        ("母方祖母：永松 澄子（久留米市田主丸町田主丸712、0943-72-0000）", "PERSON", "永松 澄子"),
        ("来庁者：PHAM MINH TUAN（ファム・ミン・トゥアン）", "PERSON", "ファム・ミン・トゥアン"),
        ("タン・メイリン（船橋市三山6丁目20-7 レジデンス三山102）：通学路の安全対策を", "PERSON", "タン・メイリン"),
        ("〒852-8104 長崎市茂里町5番14-301\n主治医", "ADDRESS", "長崎市茂里町5番14-301"),
        ("住所：三重県四日市市西新地7-3 コーポ西新地2F-B", "ADDRESS", "三重県四日市市西新地7-3 コーポ西新地2F-B"),
    ],
)
def test_found(text: str, kind: str, value: str) -> None:
    assert (kind, value) in [(e.type, text[e.start : e.end]) for e in detect(text).entities]


def test_companies_in_a_name_column_are_not_people() -> None:
    text = "| 申請者 | 内容 |\n|---|---|\n| 有限会社 波佐見窯元 | 出展 |"
    assert "PERSON" not in {e.type for e in detect(text).entities}


def test_a_range_of_lots_is_an_area_not_an_address() -> None:
    text = "| 地区 | 番地 |\n|---|---|\n| 岩槻区本町一丁目 | 1番地～420番地 |"
    assert "ADDRESS" not in {e.type for e in detect(text).entities}


@pytest.mark.parametrize(
    ("text", "cls"),
    [
        # from the sixth blind set (now a development set)
        ("ふるさと納税 返礼品の見直しについて（課内検討）\n・代替案：体験型返礼品を拡充する。", 2),
        ("予定価格の設定について（伺い）\n2　予定価格（税抜）　32,940,000円\n6　予定価格は事後公表とし、開札まで保管する。", 2),
        ("秘　　　　　　指定番号 第2026-007号\n（秘密の指定期間：令和13年3月31日まで）\n在外公館からの連絡", 3),
        ("入札結果\n予定価格 1,000,000円（事後公表）", 1),
    ],
)
def test_internal_papers_and_stamps(text: str, cls: int) -> None:
    assert detect(text).proposed_class == cls


def test_a_katakana_name_in_parts_before_an_honorific() -> None:
    text = "これ英訳して。「グエン・ティ・ラン様　あなたの在留カードの有効期限が近づいています。」"
    assert ("PERSON", "グエン・ティ・ラン") in [(e.type, text[e.start : e.end]) for e in detect(text).entities]
