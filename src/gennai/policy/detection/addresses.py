"""Street addresses: (都道府県) + 市区町村 + town + 丁目/番地/号 or N-N-N.

A bare city ("東京都千代田区") is not an address of anyone and is not flagged; a street-level
address is. Government buildings and other organisations' addresses in a public notice
(所在地, 庁舎, 会場, 問い合わせ先 … or any address in a 公示/告示/お知らせ text that is not
labelled as someone's 住所) are not personal data and are not flagged.
"""

from __future__ import annotations

import re

from gennai.policy.detection.identifiers import _PREFS, Item

_W = r"[一-龥々〆ヶケがのノぁ-んァ-ヴー]"
_C = r"[一-龥々ヶケァ-ヴー]"
_NUM = r"(?:[0-9]+|[一二三四五六七八九十]+)"
_ADDRESS = re.compile(
    r"(?=[一-龥々ヶケァ-ヴーさついひかみ])"  # fail fast where no place name can start
    r"(?:" + _PREFS + r")?"
    r"(?:" + _C + r"{1,6}?郡)?"
    r"(?:さいたま|つくば|いわき|ひたちなか|かすみがうら|つくばみらい|みどり|いちき串木野|" + _C + r"{1,6}?)[市区町村]"
    r"(?:" + _C + r"{1,5}?区)?"
    r"(?:" + _W + r"|[0-9]+(?:条|線)[東西南北]?)" + r"{0,10}?"
    r"(?:" + _NUM + r"[ \t]?丁目(?:[ \t]?" + _NUM + r"(?:[ \t]?番地?[ \t]?" + _NUM + r"?[ \t]?号?|[-ー][0-9]+)?)?"
    r"|[0-9]+[ \t]?番地?(?:[ \t]?の?[0-9]+(?:号)?)?"
    r"|[0-9]+[-ー][0-9]+(?:[-ー][0-9]+)?)"
    # building and room: "メゾン緑ヶ丘701号室", "コーポ城西203" (a katakana building name + room number)
    r"(?:[ \t]?(?:[ァ-ヴーヶ一-龥A-Za-z]{1,15})?[ \t]?[0-9]{1,4}[ \t]?号室"
    r"|[ \t]?[ァ-ヴ][ァ-ヴーヶ一-龥]{1,14}[ \t]?[0-9]{2,4}(?![0-9階F]))?"
)
_STREET = re.compile(r"[市区町村郡][^\n]{0,24}?(?:[0-9]|[一二三四五六七八九十]+丁目)")
_LABEL_PREFIX = re.compile(r"^(?:現住所|住所|所在地|居所|本籍|送付先|自宅|住居|連絡先|は|の|在住)+")
_PRIVATE_LABEL = re.compile(r"(?:現住所|住所|居所|本籍|自宅|住居|お住まい|在住|転居先|転入先|転出先|実家)[ \t]*[:：は]?[ \t]*$|(?:申請者|届出人|相談者|世帯主|本人)[^\n。]{0,10}$")
_PUBLIC_BEFORE = re.compile(
    r"(?:所在地|庁舎|本庁|合同庁舎|役所|役場|会場|開催場所|場所|事務局|問い?合わ?せ先?|お問い合わせ|窓口|提出先|郵送先|申込先|"
    r"省|庁|局|課|センター|事務所|本社|本店|支社|営業所)[^\n。]{0,12}$"
)
_PUBLIC_AFTER = re.compile(r"^[ \t]*(?:[（(]?[^\n。]{0,12}(?:合同庁舎|庁舎|号館|省|庁|役所|役場|センター|会館|ホール|本社|事務所))")


def find_addresses(text: str, public_notice: bool) -> list[Item]:
    items: list[Item] = []
    if not _STREET.search(text):
        return items
    for m in _ADDRESS.finditer(text):
        start, end = m.span()
        while end > start and text[end - 1] in " \t-ー":
            end -= 1
        lead = _LABEL_PREFIX.match(text, start, end)
        if lead and lead.end() > start:
            start = lead.end()
            if not re.match(_W + r"{1,6}?[市区町村郡]|" + _PREFS, text[start:end]):
                continue
        line_start = text.rfind("\n", 0, start) + 1
        before = text[max(line_start, start - 25) : start]
        after = text[end : end + 20]
        private = bool(_PRIVATE_LABEL.search(before))
        if not private and (_PUBLIC_BEFORE.search(before) or _PUBLIC_AFTER.match(after) or public_notice):
            continue
        items.append(Item("ADDRESS", start, end, 2, "個人の住所 / street address of a person"))
    return items
