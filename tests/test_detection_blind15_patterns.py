"""From the fifteenth blind set ('blind15', now a development set): internal papers whose only
sign is their wording (a readership limited to the committee, a section's own deliberation, a
内示 still to come, a draft before circulation, a nomination committee, a matter nobody else
knows yet), public texts read as sensitive (a notice in easy Japanese, an election result, a
petition notice with the assembly office's address), and names and addresses the rules did not
reach (Iwate's 地割, Okinawa's 字 with a bare lot number, romanised addresses in Japanese order)."""

from __future__ import annotations

import pytest

from gennai.policy.detection import detect
from tests.support.findings import found


@pytest.mark.parametrize(
    "text",
    [
        "施設案内業務プロポーザル 審査結果（速報・委員のみ）\n| 1 | Ａ社 | 70 |\n| 2 | Ｂ社 | 66 |",
        "滞納整理 係内検討（メモ）\n・差押えの前倒しを検討。\n※決まるまでは係外に出さないこと。",
        "課長各位\n異動の内示を3/24に行います。\n正式発表は3/27の予定です。それまでは課内でも話題にしないようお願いします。",
        "【起案中・回議前】\n件名 指定管理者の選定方針について\n１ 公募とする。",
        "指名審査会 会議録\n議題 配水管布設工事の指名業者選定\n・予定価格は事後公表。",
        "副町長が年度末での退任を考えているとのこと。町長以外はまだ誰も知らない話なので、当面は私だけで準備します。",
    ],
)
def test_internal_wording_makes_class_2(text: str) -> None:
    assert detect(text).proposed_class == 2


@pytest.mark.parametrize(
    "text",
    [
        "【やさしい にほんご】\nがいこくじん の みなさんへ\nそうだん が できます。\nでんわ：0997-52-1114",
        "町長選挙 投票結果（確定）\n得票数 平野 隆 3,102票 当選\n町選挙管理委員会 0193-42-8710",
        "請願の提出について\n提出先：〒027-0595 岩手県下閉伊郡岩泉町岩泉字惣畑59番地5 岩泉町議会事務局\n電話 0194-22-2130",
        "2 佐田岬半島部の陸路が途絶した場合の避難経路を示します。",
    ],
)
def test_public_or_general_texts_stay_class_1(text: str) -> None:
    assert detect(text).proposed_class == 1


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("住宅係さま\n葛巻町江刈第５地割　町営江刈団地２号棟１０３号室の小野寺です。", "ADDRESS", "葛巻町江刈第５地割　町営江刈団地２号棟１０３号室"),
        ("住民票は今帰仁村字仲宗根２０３のままです。", "ADDRESS", "今帰仁村字仲宗根２０３"),
        ("場所は宮崎県西臼杵郡日之影町大字岩井川３８６２－１（自宅の離れ）です。", "ADDRESS", "宮崎県西臼杵郡日之影町大字岩井川３８６２－１"),
        ("納税義務者　畑中 和雄　（一関市大東町摺沢字新右エ門町８９）", "ADDRESS", "一関市大東町摺沢字新右エ門町８９"),
        ("Address: Miyakojima-shi Hirara Aza Nishizato 283, Coral Heights 102\nTel: 080-3300-0000", "ADDRESS",
         "Miyakojima-shi Hirara Aza Nishizato 283, Coral Heights 102"),
        ("I moved last month (Motobu-cho Aza Toguchi 455-1, Sea Breeze Apt. 201).", "ADDRESS",
         "Motobu-cho Aza Toguchi 455-1, Sea Breeze Apt. 201"),
        ("上の子は玉城 陽向で、いま保育園の年中です。", "PERSON", "玉城 陽向"),
        ("臨戸。長男金城 勝也と同居、年金のみの収入。", "PERSON", "金城 勝也"),
    ],
)
def test_found(text: str, kind: str, value: str) -> None:
    assert value in found(text, kind)
