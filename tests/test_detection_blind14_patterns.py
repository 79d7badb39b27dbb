"""From the fourteenth blind set ('blind14', now a development set): internal papers (a record
kept from publication, a bullying record, a staff member's family illness, a scheme not yet out),
public texts read as sensitive (a security policy naming all three levels, a quiz quoting
「取扱注意」, warnings and notices with office numbers, a mayor named in a speech request), and
names, dates and addresses the rules did not reach."""

from __future__ import annotations

import pytest

from gennai.policy.detection import detect
from tests.support.findings import found


@pytest.mark.parametrize(
    "text",
    [
        "建設工事 指名業者選考委員会 会議録\n※本会議録は、入札終了後も公表しない。",
        "生徒指導記録（学年会報告用）\n対象生徒 2年3組\n・10/1、関係生徒から個別に聞き取り。",
        "実家の父が先週脳梗塞で倒れて、しばらく入院になりそうです。来月から週1回休むことになると思います。",
        "制度はまだ議会にも出していなくて、2月の予算発表までは外に出せない内容ですが、概要を貼ります。",
    ],
)
def test_internal_wording_makes_class_2(text: str) -> None:
    assert detect(text).proposed_class == 2


@pytest.mark.parametrize(
    "text",
    [
        "情報セキュリティポリシー（公開版）\n(1) 機密性3情報 秘密文書に相当する情報\n(2) 機密性2情報 漏えいにより支障を及ぼすおそれがある情報\n"
        "(3) 機密性1情報 前2号以外の情報\n機密性3情報を記録した文書には「秘」の表示を行う。",
        "研修用の○×クイズを作って。\n・「取扱注意」と書かれた文書を庁外のコピー機で複写してよいか",
        "【注意】市役所の職員をかたる還付金詐欺の電話が多発しています\n電話をかけてきた番号の一例：03-6824-5519",
        "ごみの だしかたが かわります。\n小山市役所 かんきょうか （しやくしょ の ２かい）\nでんわ：0285-22-1917",
        "Free Japanese Classes\nMito International Association\nTel: 029-224-8120",
        "式辞の下書きを作ってください。\n・市長は鶴田 恭平、今年が就任2年目",
        "いじめ防止基本方針のお知らせ\nいじめの重大事態への対応を定めました。\n問い合わせ：教育委員会 学校教育課 0123-45-6789",
    ],
)
def test_public_or_general_texts_stay_class_1(text: str) -> None:
    assert detect(text).proposed_class == 1


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("続柄  氏名\n本人  ロドリゲス・アナ・ルシア  1987年9月3日  工場（派遣）", "PERSON", "ロドリゲス・アナ・ルシア"),
        ("振込先 ゆうちょ銀行 名義 ロドリゲス アナ ルシア", "PERSON", "ロドリゲス アナ ルシア"),
        ("-----\n大橋 美千代 様\n\n先日ご相談いただいた件です。", "PERSON", "大橋 美千代"),
        ("氏名,ふりがな,生年月日\n青木 颯,あおき はやて,2018/05/09", "PERSON", "あおき はやて"),
        ("入所を希望しています。\n娘は さとう りん、令和６年３月２９日生まれです。", "PERSON", "さとう りん"),
        ("My date of birth is 14 March 1988, if you need it.", "BIRTH_DATE", "14 March 1988"),
        ("私は大阪府堺市北区中百舌鳥町5丁745番地 グランパレス中百舌鳥705号に住んでいます。", "ADDRESS",
         "大阪府堺市北区中百舌鳥町5丁745番地 グランパレス中百舌鳥705号"),
        ("現住所 鹿児島県鹿児島市荒田一丁目15番6-402\n電話 099-000-0000", "ADDRESS", "鹿児島県鹿児島市荒田一丁目15番6-402"),
    ],
)
def test_found(text: str, kind: str, value: str) -> None:
    assert value in found(text, kind)


def test_a_kana_label_is_not_part_of_the_name() -> None:
    text = "氏名 大城 勇気\nフリガナ オオシロ ユウキ\n生年月日 平成3年10月17日"
    assert "オオシロ ユウキ" in found(text, "PERSON")
    assert not any(name.startswith("フリガナ") for name in found(text, "PERSON"))
