"""From the seventeenth blind set ('blind17', now a development set; the first set scored with
the wording model, which found all its class-2 papers): a 機密性3 marking followed by 以下の…,
public texts read as sensitive (a published audit report, a sports meet's 開催要項, a plant's
visiting hours, an English press release's contact line), and names and an address the rules
did not reach."""

from __future__ import annotations

import pytest

from gennai.policy.detection import DefaultDetector, detect
from tests.support.findings import found

RULES = DefaultDetector(wording=None)


def test_a_level_followed_by_the_next_sentence_is_a_marking() -> None:
    assert detect("機密性３　以下の内容を３行で要約して。\n県警からの情報提供：警備配置を増強する。").proposed_class == 3
    assert detect("機密性2以下の情報は、庁内のシステムで扱えます。").proposed_class == 1  # a threshold, not a marking


@pytest.mark.parametrize(
    "text",
    [
        "仙台市監査公表第９号\n定期監査の結果を公表する。\n　　仙台市監査委員　高野 正則\n　　同　　　　　　菅井 康夫",
        "市民スポーツ大会 開催要項\n申込先：市スポーツ協会 事務局　〒982-0032　仙台市太白区富沢一丁目４－１　022-243-3100",
        "清掃工場の見学について\n受付時間　平日９時～１６時\n今泉工場　仙台市若林区今泉字上新田１０３　022-289-6141",
        "Press Release\nSendai launches a stamp rally.\nContact: Tourism Division, Culture and Tourism Bureau  Tel +81-22-214-8259",
    ],
)
def test_public_texts_stay_class_1(text: str) -> None:
    result = RULES.detect(text)
    assert result.proposed_class == 1, result.reasons


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("主治医　泉中央内科クリニック　斎藤医師\n申請代行　長女", "PERSON", "斎藤"),
        ("はじめて連絡します。宮城野区に住むファム・ティ・ホアです。", "PERSON", "ファム・ティ・ホア"),
        ("こども：ファム・ジア・バオ（2022年9月14日うまれ）", "PERSON", "ファム・ジア・バオ"),
        ("申込者\n　氏名　MENDOZA, Jose Ricardo（メンドーサ ホセ リカルド）\n　妻　MENDOZA, Liza　1983/04/19", "PERSON", "MENDOZA, Jose Ricardo"),
        ("申込者\n　氏名　MENDOZA, Jose Ricardo\n　妻　MENDOZA, Liza　1983/04/19", "BIRTH_DATE", "1983/04/19"),
        ("渋谷と申します。\n母（渋谷 トシ、昭和１２年４月２日生まれ）の介護保険の件です。", "PERSON", "渋谷 トシ"),
        ("行為者とされる者　同課 高城課長補佐\n内容　係内の打合せで大声で叱責。ハラスメントの申立てあり。", "PERSON", "高城"),
        ("１　対象者\n　Emily Clarke（英国籍、４年目）　現住所は市内", "PERSON", "Emily Clarke"),
        ("住所　仙台市若林区六丁の目中町１２番２７号　グランパレス六丁の目３０５", "ADDRESS", "仙台市若林区六丁の目中町１２番２７号　グランパレス六丁の目３０５"),
    ],
)
def test_found(text: str, kind: str, value: str) -> None:
    assert value in found(text, kind)
