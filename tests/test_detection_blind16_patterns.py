"""From the sixteenth blind set ('blind16', now a development set): ministry papers whose only
sign is their wording (a matter not yet taken to the director, figures not to be shown
outside, a briefing paper for the director-general, an answer that cannot be given yet, a
decision asked of the section chief, options before a call for applications opens), public
texts read as sensitive (a bid result with its publication date, an office's number under its
address, the Diet's published minutes), and names the rules did not reach."""

from __future__ import annotations

import pytest

from gennai.policy.detection import detect
from tests.support.findings import found


@pytest.mark.parametrize(
    "text",
    [
        "課長\n審査の進め方についてご相談です。\n案としては、点数上位50件を先に確定し、残りを地域枠で。\n公募開始（4月）前に一度お時間ください。",
        "【論点整理】開示請求への対応\n・選任理由のメモが審議検討情報に当たるか、意見が割れている。\n→ 課長判断を仰ぐ。",
        "・財務省：所要額の試算は、まだ表に出さないでほしい。",
        "局長にはまだ上げていないので、局議前に課長と認識合わせさせてください。業界団体に漏れると騒ぎになります。",
        "部長説明用（1枚）\n予算の復活折衝に向けた整理\n内示額は報道に出ていない。関係課以外には話さないでください。",
        "【参考】（答弁では触れない）\n・報告書の公表は4月予定で、まだ言えない。",
    ],
)
def test_internal_wording_makes_class_2(text: str) -> None:
    assert detect(text).proposed_class == 2


@pytest.mark.parametrize(
    "text",
    [
        "登記所の事務の移管について\n本局所在地：〒602-8577 京都府京都市上京区荒神口通河原町東入上生洲町197\n電話：075-231-0137",
        "第217回国会 衆議院 国土交通委員会議録 第5号（抄）\n○委員長 順次これを許します。桑野健太郎君。\n○桑野委員 伺います。",
        "一般競争入札（総合評価落札方式）の結果\n| 業者名 | 入札価格（円） |\n| 株式会社関東建設技研 | 38,940,000 |\n公表日：令和7年1月10日",
        "住民説明会の想定問答を作ってください。テーマは家庭ごみの有料化です。",
    ],
)
def test_public_or_general_texts_stay_class_1(text: str) -> None:
    assert detect(text).proposed_class == 1


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ('From: "Nguyen Thi Hoa" <hoa.nguyen@example.com>\n件名：在留資格の更新について', "PERSON", "Nguyen Thi Hoa"),
        ("━━━━\n真田 圭吾 / Keigo Sanada\n株式会社北辰ソリューションズ", "PERSON", "Keigo Sanada"),
        ("|請求者|寺尾 俊和　福岡県福岡市早良区西新4丁目6-33-502|", "PERSON", "寺尾 俊和"),
        ("・対応者：国税徴収官（50代男性、宇野）\n・事案：滞納者からの苦情", "PERSON", "宇野"),
        ("私は孫の楢崎 千里で、父も既に亡くなっています。", "PERSON", "楢崎 千里"),
        ("同行者：Sarah Whitfield博士（東亜経済研究所 客員研究員）", "PERSON", "Sarah Whitfield"),
        ("「ナビダイヤル 0570-013904」におかけください。", "PHONE", "0570-013904"),
    ],
)
def test_found(text: str, kind: str, value: str) -> None:
    assert value in found(text, kind)


def test_a_public_speaker_called_by_the_chair_is_not_flagged() -> None:
    text = "第217回国会 衆議院 国土交通委員会議録 第5号（抄）\n○委員長 順次これを許します。桑野健太郎君。"
    assert found(text, "PERSON") == []
