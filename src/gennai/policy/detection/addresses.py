"""Street addresses: (都道府県) + 市区町村 + town + 丁目/番地/号 or N-N-N, through the building
name and room (コーポ高林305, 保見団地14棟507号, 長岡ハイツ6F, 2階, ハイツ豊四季 B-204, 学園ハイツ3-B).
Cities written in hiragana (つがる市, あきる野市) start an address without a prefecture. A lot
number alone (小田中1320) is an address only after a 住所/居住地 label or in parentheses after
a labelled person (譲渡人：宇野 キヨ（…）).

A room may be written as a fourth number (太子堂3-18-4-202). An address followed by 在住 or in a
table's 住所 column is a person's; a place followed by 地内/地先/付近 (road works) is no address.

A bare city ("東京都千代田区") is not an address of anyone and is not flagged; a street-level
address is. Government buildings and other organisations' addresses in a public notice
(所在地, 庁舎, 会場, 問い合わせ先 … or any address in a 公示/告示/お知らせ text that is not
labelled as someone's 住所) are not personal data and are not flagged.
"""

from __future__ import annotations

import re

from gennai.policy.detection.identifiers import _PREFS, Item
from gennai.policy.detection.prefilter import compile_guarded
from gennai.policy.detection.tables import NO_COLUMNS, Columns

_W = r"[一-龥々〆ヶケがのノぁ-んァ-ヴー]"
_C = r"[一-龥々ヶケァ-ヴー]"
_NUM = r"(?:[0-9]+|[一二三四五六七八九十]+)"
# Cities and towns written in hiragana (a kanji/katakana name is matched by _C).
_KANA_CITIES = (
    "さいたま|つくばみらい|つくば|いわき|ひたちなか|かすみがうら|みどり|いちき串木野|つがる|むつ|あきる野|ふじみ野|"
    "あわら|新ひだか|かほく|にかほ|みやま|うきは|えびの|さくら|いなべ|みよし|たつの|うるま|いすみ|あま|ときがわ|みなかみ|おいらせ|"
    "せたな|むかわ|みやこ|つるぎ|きほく|かつらぎ|みなべ|うるま|まんのう|えりも"
)
# A building: a katakana name (コーポ城西, サンハイツ上田) or a kanji name with a building word
# (保見団地, 長岡ハイツ).
_BUILDING_WORDS = r"(?:グループホーム|ケアホーム|シェアハウス|ハイツ|ハイム|マンション|コーポ|レジデンス|アパート|メゾン|パレス|ヒルズ|タワー|ハウス|コート|ビル|荘|団地|住宅|寮)"
_BUILDING = (
    r"(?:[ァ-ヴ](?:[ァ-ヴーヶ一-龥A-Za-z・ぁ-ゖ]|(?<=[一-龥])の(?=[一-龥])|[0-9]{1,3}(?=条|番館)){1,14}|[一-龥々ヶぁ-ゖァ-ヴー]{1,8}" + _BUILDING_WORDS + r"[ァ-ヴーヶ一-龥]{0,6}"
    r"|" + _BUILDING_WORDS + r"[一-龥々ヶぁ-ゖァ-ヴー]{1,8})"  # コーポみどり
)
# A room: 203, 507号, 801号室, 6F, 2階, B-204, 3-B, 14棟507号
_ROOM = (
    r"(?:(?:[0-9]{1,3}|[A-Z])[ \t]?号?棟[ \t]?)?"
    r"(?:[0-9]{1,2}F-?[A-Z](?![A-Za-z])|[0-9]{1,4}[ \t]?(?:号室|号|階|F)|[A-Z][ \t]?-?[ \t]?[0-9]{1,4}|[0-9]{1,4}[ \t]?-[ \t]?[A-Z0-9]{1,4}|[0-9]{2,4})"
    r"(?![0-9A-Za-z])"
)
_ADDRESS = compile_guarded(
    r"(?=[一-龥々ヶケァ-ヴーさついひかみむあにうえたふとおせきま])"  # fail fast where no place name can start
    r"(?:" + _PREFS + r")?"
    r"(?:" + _C + r"{1,6}?郡)?"
    r"(?:" + _KANA_CITIES + r"|" + _C + r"{1,6}?)[市区町村]"
    r"(?:" + _C + r"{1,5}?区)?"
    r"(?:" + _W + r"|[0-9]+(?:条|線|地割|部)[東西南北]?|第[0-9]+号){0,16}?"
    r"(?:(?P<chome_only>" + _NUM + r"[ \t]?丁目)(?: ?" + _NUM + r"(?: ?番地? ?の? ?" + _NUM + r"? ?号?(?:[-ー][0-9]{1,4}(?![0-9])(?:号室?)?)?|[-ー][0-9]+(?:[-ー][0-9]+(?:F|階)?)?)?)?"
    r"|[0-9]+[ \t]?番地?(?: ?の?[0-9]+(?:号|[-ー][0-9]{1,4}(?![0-9]))?)?"  # (not across a tab: the next cell)
    r"|[一二三四五六七八九十百千]+番地(?:の[一二三四五六七八九十]+)?"  # 母衣町五十八番地
    r"|[0-9]+[ \t]?丁[ \t]?[0-9]+(?:番地?|(?:[-ー][0-9]{1,4}){0,2})"  # 中百舌鳥町5丁663, 5丁745番地, 5丁8-2-607 (the room last)
    r"|[0-9]+[-ー][0-9]+(?:[-ー][0-9]+(?:[-ー][0-9]{1,4}(?![0-9]))?)?"  # 3-18-4, 3-18-4-202 (the room last)
    r"|[0-9]+[ \t]?地割(?![ \t]?[0-9])"  # 江刈第5地割 町営江刈団地2号棟103号室: an Iwate 地割 with no lot number
    r"|(?P<bare>[0-9]{1,5}(?=[ \t]|\r?\n|$|[)）、,。]|のまま|に住|にお住|在住))"  # a lot number alone (小田中1320): only where the context says it is an address
    r")"
    # building and room: "メゾン緑ヶ丘701号室", "コーポ城西203", "保見団地14棟507号", "長岡ハイツ6F", "2階"
    r"(?:[ \t]?(?:[ァ-ヴーヶ一-龥A-Za-z]{1,15})?[ \t]?[0-9]{1,4}[ \t]?号室"
    r"|[ \t]?" + _BUILDING + r"[ \t]?" + _ROOM +
    r"|[ \t]?[0-9]{1,2}[ \t]?(?:階|F)(?![A-Za-z0-9])"
    r"|[ \t]?[一-龥々ヶぁ-ゖァ-ヴー]{0,8}" + _BUILDING_WORDS + r"(?=[ \t]*(?:\r?\n|$|[)）、,。]))"
    r")?"
)
_STREET = compile_guarded(r"[市区町村郡][^\n]{0,24}?(?:[0-9]|[一二三四五六七八九十]+丁目|[一二三四五六七八九十百千]+番地)")
_LABEL_PREFIX = compile_guarded(r"(?:現住所|住所|所在地|居所|本籍|送付先|自宅|住居|連絡先|は|の|在住|現在|実家)+")  # (used with match(): at the start)
_PRIVATE_LABEL = compile_guarded(
    r"(?:現住所|住所|居所|本籍|自宅|住居|住居地|居住地|お住まい|在住|転居先|転入先|転出先|実家[ \t]*[（(]?|帰省先|申請地|住民票"
    r"|(?:住家|住宅|自宅|家屋|家|空き家|空家|土地|物件|建物)(?:等)?[ \t]*[（(]?[ \t]*の?所在地)[ \t]*[:：は]?[ \t]*$"
    r"|(?:申請者|届出人|相談者|世帯主|本人)[^\n。]{0,10}$"
    # 住所：〒000-0000 ○○市…: the postal code between the label and the address
    r"|(?:現住所|住所|居所|自宅|住居|居住地|お住まい|転居先|転入先|実家|帰省先)[ \t]*[:：]?[ \t]*〒?[ \t]*[0-9]{3}-?[0-9]{4}[ \t]*$"
)
# the line above names a company after a short label (4 落札者：株式会社…（法人番号 …）)
_COMPANY_LINE = compile_guarded(r"[ \t]*(?:[0-9]{1,2}[ \t.)]*)?[^\n。:：]{0,12}[:：][^\n。]{0,40}(?:株式会社|有限会社|合同会社|\(株\)|法人番号)[^\n。]{0,30}")
# A public notice that an office moves: its 新住所 / 移転先 is the office's.
_OFFICE_MOVE = compile_guarded(r"(?:事務所|庁舎|窓口|センター|出張所|支所|分室|分庁舎|局|署|役場|支店|営業所|相談室)(?:の|を)?[ \t]*(?:移転|移設)")
_NEW_PLACE_LABEL = compile_guarded(r"(?:新住所|新所在地|移転先|新庁舎)[ \t]*[:：]?[ \t]*(?:〒?[ \t]*[0-9]{3}-?[0-9]{4})?[ \t]*$")
# "譲渡人：山田 花子（市内の住所）": an address in parentheses after a labelled person.
# 飯塚 正義氏（東京都八王子市…）: a person's address in parentheses after their name
_HONORIFIC_PAREN_BEFORE = compile_guarded(r"(?:様|さん|氏|殿)[ \t]*[（(][ \t]*$")
_PERSON_ROW_PAREN = compile_guarded(
    r"(?:[:：]|^)[ \t]*[^\n:：()（）]{1,9}[（(][ \t]*$|(?:様|さん|氏|殿)[ \t]*[（(][ \t]*$"
    # 納税義務者　畑中 和雄　（…）: a role and a name, the address in parentheses
    r"|(?:者|人|主)[ \t]+[^\n:：()（）]{1,9}[（(][ \t]*$"
)
_PUBLIC_BEFORE = compile_guarded(
    r"(?:所在地|庁舎|本庁|合同庁舎|役所|役場|会場|開催場所|(?<![一-龥])場所|事務局|問い?合わ?せ先?|お問い合わせ|窓口|提出先|郵送先|申込先|"
    r"(?<![帰反])省(?!先)|(?<![来登退出在])庁|(?:館|学校|ホール|公園|病院|施設|(?<!住)所|駅)[ \t]*[（(]|局|課|センター|事務所|本社|本店|支社|営業所)[^\n。]{0,12}$"
)
# Someone lives there: "津市大門14-8在住", "…にお住まい"
_PRIVATE_AFTER = compile_guarded(r"[ \t]*(?:在住|に在住|に住(?:む|んで)|にお住まい|の(?:ご)?自宅|[（(][ \t]*(?:自宅|実家|住居))")
# A place, not an address: "紙屋町一丁目地内" (road works), "…地先"
_AREA_AFTER = compile_guarded(r"[ \t]*(?:地内|地先|付近|周辺|一帯|沿い|[～~〜])")
# A venue or office with its address in parentheses: "会場：市民会館 大ホール（〒000-0000 ○○市…）"
_PUBLIC_PAREN = compile_guarded(
    r"(?:所在地|庁舎|会場|開催場所|場所|事務局|問い?合わ?せ先?|お問い合わせ|窓口|提出先|郵送先|申込先)[ \t]*[:：][^\n。:：]{1,30}[（(][ \t]*"
    r"(?:〒?[ \t]*[0-9]{3}-?[0-9]{4})?[ \t]*$"
)
# A table row of an organisation's name and its address: | 高橋内科クリニック | 伊勢市岩渕2丁目4-8 |
_ORG_CELL_BEFORE = compile_guarded(r"(?:クリニック|医院|病院|薬局|歯科|診療所|店|会社|センター|事務所|館|園|学校|協会|組合)[ \t]*[|｜\t,][ \t]*$")
_PUBLIC_AFTER = compile_guarded(r"^[ \t]*(?:[（(]?[^\n。]{0,12}(?:合同庁舎|庁舎|号館|省|庁|役所|役場|センター|会館|ホール|本社|事務所))")


# A Japanese address written in English: "Room 402, Sunny Heights, 3-15-9 Okubo, Shinjuku-ku, Tokyo"
# (a block number N-N(-N) and a ward, city, town or village in romaji: -ku, -shi, -cho, -machi, -mura, -gun).
_ROMAJI_ADDRESS = compile_guarded(
    r"(?<![A-Za-z0-9])(?:(?:Room|Rm\.?|Apt\.?|Unit|No\.)[ \t]*[0-9]{1,4}[A-Z]?,?[ \t]+)?"
    r"(?:[A-Z][A-Za-z\-]+(?:[ \t]+[A-Z][A-Za-z\-]+){0,3}[ \t]*[0-9]{0,4},?[ \t]+)?"
    r"[0-9]{1,2}(?:-[0-9]{1,4}){1,3},?[ \t]+(?!Room)[A-Z][a-z]+(?:[ \t\-][A-Z0-9][a-z0-9]*)?"
    r"(?:,[ \t]*[A-Z][a-z]+(?:-[a-z]+)?){1,3}"
)
# … or in Japanese order: "Miyakojima-shi Hirara Aza Nishizato 283, Coral Heights 102",
# "Motobu-cho Aza Toguchi 455-1, Sea Breeze Apt. 201"
_ROMAJI_ADDRESS_JP_ORDER = compile_guarded(
    r"(?<![A-Za-z0-9\-])(?:[A-Z][a-z]+-(?:ken|fu|to)[ \t]+)?(?:[A-Z][a-z]+-gun[ \t]+)?[A-Z][a-z]+-(?:shi|cho|machi|mura|son|ku)"
    r"(?:[ \t]+[A-Z][a-z]+(?:-[a-z]+)?){1,4}[ \t]+[0-9]{1,5}(?:-[0-9]{1,4}){0,3}(?![0-9])"
    r"(?:,?[ \t]+(?:[A-Z][A-Za-z]*\.?[ \t]+){1,4}(?:No\.[ \t]*)?[0-9]{1,4}(?![0-9]))?"
)
_ROMAJI_MUNICIPALITY = compile_guarded(r"-(?:ku|shi|cho|machi|mura|gun|son)\b|\b(?:Tokyo|Osaka|Kyoto|Hokkaido)\b|-(?:ken|fu)\b")
_ROMAJI_PUBLIC_BEFORE = compile_guarded(
    r"(?i:venue|office|city hall|ward office|headquarters|located at|address of the|kaikan|hall|cent(?:er|re)|library|station|floor|"
    r"building|plaza|museum|school|hospital|gymnasium|park)[^\n.]{0,20}$"
)


def _romaji_addresses(text: str, public_notice: bool) -> list[Item]:
    out: list[Item] = []
    matches = [m for m in _ROMAJI_ADDRESS.finditer(text) if _ROMAJI_MUNICIPALITY.search(m.group())]
    matches += [m for m in _ROMAJI_ADDRESS_JP_ORDER.finditer(text) if all(m.end() <= o.start() or m.start() >= o.end() for o in matches)]
    for m in matches:
        line_start = text.rfind("\n", 0, m.start()) + 1
        if public_notice or _ROMAJI_PUBLIC_BEFORE.search(text, max(line_start, m.start() - 40), m.start()):
            continue
        out.append(Item("ADDRESS", m.start(), m.end(), 2, "個人の住所 / street address of a person"))
    return out


def find_addresses(text: str, public_notice: bool, columns: Columns = NO_COLUMNS) -> list[Item]:
    items: list[Item] = []
    if _ROMAJI_MUNICIPALITY.search(text):
        items += _romaji_addresses(text, public_notice)
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
        if _AREA_AFTER.match(text, end):
            continue
        private = bool(
            _PRIVATE_LABEL.search(before)
            or _PRIVATE_AFTER.match(text, end)
            or (columns.addresses and columns.in_address_cell(start, end))
            or _addressee_above(text, line_start, start)
            or bool(_HONORIFIC_PAREN_BEFORE.search(before))
        )
        if private and public_notice and _NEW_PLACE_LABEL.search(before) and _OFFICE_MOVE.search(text):
            private = False  # 事務所移転のお知らせ … 新住所：〒… : the office's new address, not a person's
        if private and public_notice and line_start >= 2 and _COMPANY_LINE.fullmatch(text, text.rfind("\n", 0, line_start - 1) + 1, line_start - 1):
            private = False  # 落札者：株式会社…⏎住所：… in a published result: the company's address
        if m.group("bare") is not None and not (
            private
            or (not public_notice and (_PERSON_ROW_PAREN.search(before) or _alone_on_line(text, line_start, start, end)))
        ):
            continue  # a bare lot number is an address only after a 住所 label, a person, or alone on its line
        if not private and (
            public_notice
            or _PUBLIC_BEFORE.search(before)
            or _PUBLIC_PAREN.search(text, max(line_start, start - 45), start)
            or _PUBLIC_AFTER.match(after)
            or _ORG_CELL_BEFORE.search(before)
            or (m.group("chome_only") is not None and end == m.end("chome_only"))
        ):
            continue
        items.append(Item("ADDRESS", start, end, 2, "個人の住所 / street address of a person"))
    return items


def _alone_on_line(text: str, line_start: int, start: int, end: int) -> bool:
    """The address is the whole line (a letter's signature block: name, address, phone)."""
    return not text[line_start:start].strip() and (end == len(text) or text[end] in "\r\n")


_ADDRESSEE_LINE = compile_guarded(r"[^\n]{1,30}?[ \t]*(?:様|殿)[ \t]*\r?$")


def _addressee_above(text: str, line_start: int, start: int) -> bool:
    """A letter's addressee block: the line above names the person (グエン・ティ・ホア 様)
    and the address starts this line."""
    if line_start < 2 or text[line_start:start].strip():
        return False
    prev_start = text.rfind("\n", 0, line_start - 1) + 1
    return _ADDRESSEE_LINE.fullmatch(text, prev_start, line_start - 1) is not None and "御中" not in text[prev_start:line_start]
