"""The default detector (markings, identifiers, names, addresses, custom rules) and the
registry that loads heavier detectors from the ``gennai.detectors`` entry-point group."""

from __future__ import annotations

import re
import threading
from bisect import bisect_left
from functools import lru_cache
from importlib.metadata import entry_points

from gennai.policy.detection.addresses import find_addresses
from gennai.policy.detection.custom import CustomRules
from gennai.policy.detection.identifiers import Item, birth_dates_after_people, birth_dates_in_cells, find_identifiers, phone_is_business, phone_is_mobile
from gennai.policy.detection.markings import find_cues, find_markings
from gennai.policy.detection.mask import mask
from gennai.policy.detection.names import analyse, find_people
from gennai.policy.detection.normalize import normalize
from gennai.policy.detection.prefilter import compile_guarded
from gennai.policy.detection.results import Detection, Detector, Entity, Marking
from gennai.policy.detection.tables import NO_COLUMNS, find_columns
from gennai.policy.detection.wording import WordingModel, shipped_model

ENTRY_POINT_GROUP = "gennai.detectors"

# Public notices and announcements (and circulars to all sections), where officials are named
# in their role and office contacts are given: 人事異動 announcements, 説明会/会議の開催 notices,
# 各課長 殿 circulars.
_NOTICE = compile_guarded(
    r"公[ \t]*示|告[ \t]*示|公[ \t]*告|お知らせ|報道発表|記者発表|プレスリリース|報道資料|報道提供|開催案内|ご案内|(?:募集|開催|実施|大会)要項|公表資料|広報"
    r"|公表第[ \t]*[0-9]+[ \t]*号"  # 仙台市監査公表第9号
    # a council's published minutes (上田市議会定例会会議録, 市議会 総務委員会記録), a summary for publication
    r"|(?:都|道|府|県|市|区|町|村)議会[^\n]{0,20}?(?:会議録|委員会記録)(?![^\n]{0,4}(?:作成|業務|反訳))"
    r"|[（(][ \t]*公表用[ \t]*[）)]|公表版"
    r"|[（(][ \t]*お詫び[ \t]*[）)]|お詫びと(?:お知らせ|ご報告|報告)"
    r"|(?:^|\n)[ \t]*人事異動|人事異動[ \t]*(?:について|のお知らせ)?[ \t]*(?:[（(][^\n）)]{0,15}[）)])?[ \t]*(?:\n|$)"
    r"|開催(?:について|します|いたします)|各[ \t]*(?:課|部|局|室|所属|担当)[ \t]*長[ \t]*(?:殿|様|各位)"
    r"|^[ \t\n]*(?:Notice|Announcement|Press Release|News Release|Public Notice|Information for)\b"
    # a warning to residents: 【注意】市役所の職員をかたる還付金詐欺の電話が多発しています
    r"|^[ \t\n]*[【\[][ \t]*(?:注意|注意喚起|重要|お知らせ|緊急)[ \t]*[】\]]|注意喚起"
    # a notice in easy Japanese, or addressed to the residents: 【やさしい にほんご】, 外国人の皆さんへ
    r"|[【\[][ \t]*やさしい[ \t]*(?:にほんご|日本語)[ \t]*[】\]]"
    r"|(?:市民|町民|村民|区民|県民|住民|外国人|がいこくじん)[ \t]*の[ \t]*(?:みなさん|皆さん|皆様|みなさま)[ \t]*(?:へ|に)"
)
# Published minutes and rosters of councils and committees (審議会 会議録（要旨）, 委員名簿,
# 懇談会（公開）), unless the text says the meeting was closed.
_PUBLIC_MEETING = compile_guarded(
    r"(?:審議会|協議会|懇談会|懇話会)[^\n]{0,20}?(?:会議録|議事録|記録|要旨|議事概要)"
    r"|(?:委員会?|検討会|部会|議会|定例会|臨時会)[^\n]{0,20}?(?:会議録|議事録|記録|議録)[^\n（(]{0,8}[（(][ \t]*(?:要旨|抄|抜粋|概要|公開部分)[ \t]*[）)]"
    # the Diet's published records: 第217回国会 衆議院 国土交通委員会議録 第5号
    r"|第[ \t]*[0-9]+[ \t]*回[ \t]*国会[^\n]{0,40}?(?:会議録|議録)"
    r"|(?:定例会|臨時会)[^\n]{0,30}?(?:委員会|議会)[ \t]*[（(][ \t]*(?:要旨|会議録|概要|抄)[ \t]*[）)]"
    r"|[（(]公開[）)]|公開(?:プレゼンテーション|ヒアリング|審査|討論)|(?:委員|役員|構成員)(?:名簿|一覧)"
)
# Other signs of a text written for the public: a contact line for enquiries naming an office
# or a number (問合せ：○○課 000-000-0000), a statement that the record is published
# (本会議録は…公開する, ホームページで公開), a headline announcing an action (…を実施します,
# …を締結しました), appointments announced (委員を委嘱しました).
_PUBLIC_FOOTER = compile_guarded(
    r"(?:^|\n)[ \t]*[・※●■◆◇○【\[(<〔]?[ \t]*(?:お?問い?合わ?せ|お問い合わせ|照会)(?:先|窓口)?[ \t]*[】\])>〕]?[ \t]*[:：]?"
    # the office on the same line, or alone on the next (【お問い合わせ先】⏎東北農政局 生産部 …課)
    r"(?:[ \t]*\n)?(?![^\n]*(?:携帯|自宅|本人|個人(?!情報)))[^\n]*?"
    r"(?:課|室|係|局|センター|役所|役場|事務局|省|庁|事務所|ヘルプデスク|コールセンター|サポートデスク|相談ダイヤル)(?:長)?(?![一-龥])"
)
_PUBLISHED = compile_guarded(
    r"(?=[ホHウ公市広会議記要概をに表が受贈])(?:(?:ホームページ|HP|ウェブサイト|公式サイト|市報|広報紙)(?:で|に|上で|へ|にて)(?:公開|掲載|公表)(?!前)"
    r"|(?:会議録|議事録|記録|要旨|概要)(?:全文)?は[^\n。]{0,30}?(?:公開|公表)(?:する|します|して|。|$)"
    r"|(?:を|に)委嘱(?:しました|します|いたしました)"
    r"|表彰(?:されました|しました|します|いたします)|(?:を|が)受賞(?:しました|されました)|受章(?:しました|されました)|贈呈(?:しました|します|いたします))"
)
_HEADLINE = compile_guarded(
    r"[ \t\n]*[^\n。]{2,60}?(?:(?:実施|公表|開設|締結|開通|開始|開催|募集|決定|発表|委嘱|策定|施行|公布|改定|改正|縦覧|出願|登録|"
    r"表彰|贈呈|選定|認定|指定|受賞|運行|運休|供用|廃止|再開|発行|刊行|設置|採択|交付|延長)"
    r"(?:します|しました|いたします|されました)|が決まりました)[ \t]*(?:\n|$)"
)
# … or a case conference about one family (要保護児童対策地域協議会 個別ケース検討会議), never published.
_CLOSED_MEETING = compile_guarded(
    r"非[ \t]*公[ \t]*開|秘密会|内部|[庁課部局省]内|(?:録|記録|要旨|メモ)[ \t]*[（(][ \t]*案[ \t]*[）)]|未定稿"
    r"|個別ケース|ケース(?:検討|会議)|要保護児童|要対協|事例検討|個別支援会議"
)
# A paper that says it is internal or not yet published is no public notice, whatever its
# footer or headline look like: a draft (（案） in the title), 公表前, a handling marking.
_NOT_PUBLIC = compile_guarded(
    r"公表前|未公表|解禁前|内示|[（(][ \t]*伺い[ \t]*[）)]|起案[ \t]*[:：]|取扱い?注意|取り扱い注意|部外秘|[課部局省庁室]外秘|関係者限り|機密性[ \t]*[:：]?[ \t]*[23]|^[ \t\n]*[^\n]{0,60}[（(][ \t]*案[ \t]*[）)]"
)
# Pages written for the public: opening hours, fees, calls for applications, published results.
_PUBLIC_PAGE = compile_guarded(
    r"(?:受付時間|開館時間|開庁時間)[ \t]*(?:[:：]|[ \t])[ \t]*(?:平日|土|日|祝|毎日|午前|[0-9]{1,2}[ \t]*(?:時|:)[^\n]{0,12}[～~〜\-])"
    r"|(?:観覧料|入館料|入場料|参加費|会期)[ \t]*[:：]|傍聴(?:自由|できます|可能|席)"
    r"|を募集します|を?募集しています|募集(?:について|のお知らせ)?[ \t]*(?:\n|$)"
    # an ordinance promulgated: 条例（令和7年高崎市条例第38号）を令和7年9月30日に公布しました
    r"|条例[^\n。]{0,60}?を[^\n。]{0,20}?公布(?:しました|します|いたしました)"
    r"|(?:入札|開札|落札)結果の?(?:公表|お知らせ)|(?:投票|開票|選挙)結果|(?<![はも])事後公表(?![ \t]*(?:とし|とする|する|の予定|予定))|[（(]公表[）)]|の公表(?:について)?[ \t]*(?:[（(][^）)\n]{1,20}[）)])?[ \t]*(?:\n|$)"
    r"|(?:^|\n)[ \t]*[【\[〔]?[ \t]*(?:一般競争|指名競争|制限付き一般競争)?(?:入札|開札|落札)結果[ \t]*[】\]〕]?[ \t]*(?:\n|$)"
    # 公表日：令和7年1月10日: the date it was published
    r"|公表日[ \t]*[:：][ \t]*(?:令和|平成|20[0-9]{2}|R[ \t]*[0-9])"
)
# Higher wins when two items overlap (CUSTOM is kept alongside everything).
_PRIORITY = {
    "MY_NUMBER": 10,
    "CORPORATE_NUMBER": 10,
    "DRIVERS_LICENSE": 10,
    "PASSPORT": 9,
    "BANK_ACCOUNT": 8,
    "BIRTH_DATE": 8,
    "EMAIL": 7,
    "PHONE": 6,
    "POSTAL_CODE": 6,
    "ADDRESS": 5,
    "PERSON": 4,
}
_PERSONAL = frozenset(("MY_NUMBER", "PASSPORT", "DRIVERS_LICENSE", "BANK_ACCOUNT", "BIRTH_DATE", "PERSON", "ADDRESS"))
# (not 携帯電話からは: the office's number for callers on a mobile phone)
_PRIVATE_CONTACT = compile_guarded(
    r"自宅|携帯(?!(?:電話)?[ \t]*(?:から|の方|をお使い|でも|・))|個人(?!情報)|私用|本人|連絡先[ \t]*[:：]?[ \t]*$|(?i:mobile|cell|home|private|personal)"
)
_PUBLIC_CONTACT = compile_guarded(
    r"(?:問い?合わ?せ|お問い合わせ|代表|窓口|担当|課|係|室|局|省|庁|役所|役場|事務所|事務局|センター|株式会社|有限会社|合同会社|\(株\)|\(有\)|FAX|ファクス|受付"
    r"|(?i:reservations?|inquir(?:y|ies)|enquir(?:y|ies)|information desk|office|division|section|department|cent(?:er|re)"
    r"|association|city hall|ward office|hotline|helpline|station)"
    r"|(?<![住場])所|署|図書館|クリニック|医院|薬局|歯科|診療所|会館|公民館|美術館|博物館|病院|学校|大学|協会|組合|公社|機構|財団|委員会|ダイヤル|ホットライン|相談電話"
    r"|提出先|申込先|申込み先)[^\n。]{0,20}$"
)
# An office's number: "03-1234-5678（代表）", "(内線 123)"
_PUBLIC_AFTER = compile_guarded(
    r"[ \t]*[（(][ \t]*(?:代表|内線|直通|平日|受付|自動音声"
    # the office it belongs to in brackets: 011-211-7770（札幌市水道局 水道料金お客さまセンター）
    r"|[^)\n]{0,30}?(?:課|係|室|局|センター|役所|役場|事務所|事務局|窓口|ダイヤル)[ \t]*\))"
)
# An office's postal code: "〒000-0000 ○○市役所 秘書課あて"
# or the office's address and name to the end of the line: "〒000-0000 ○○県○○町…59番地5　○○町議会事務局"
_POSTAL_OFFICE_AFTER = compile_guarded(
    r"[ \t]*[^\n。、0-9]{0,15}?(?:市役所|区役所|町役場|村役場|役所|役場|庁舎|庁|省|センター|事務所|事務局|課|係)(?![一-龥])"
    r"|[ \t]*[^\n。]{0,40}?[ \t](?:[^\n。 \t]{0,12}(?:市役所|区役所|町役場|村役場|役所|役場|庁舎|事務所|事務局|センター))[ \t]*(?:\n|$)"
)
# An office's name at the head of its line, then its postal code, address and number:
#   北見市選挙管理委員会事務局　〒090-8501 北見市大通西2丁目1番地　電話 0157-25-1164
_OFFICE_ADDRESS_LINE = compile_guarded(
    r"[ \t]*[^\n \t]{1,30}?(?:課|係|室|局|事務局|役所|役場|センター|委員会|事務所|本部)[ \t]+〒?[ \t]*[0-9]{3}-[0-9]{4}(?![^\n]*(?:自宅|携帯|本人|個人(?!情報)))"
)
# A number alone after its label on the line below an office's contact line:
#   問い合わせ先：〒000-0000 ○○町役場 経済課
#   電話 0000-00-0000
_LABEL_ONLY = compile_guarded(r"[ \t]*(?:電話|でんわ|TEL|Tel|FAX|ファクス|代表|直通|℡)?[ \t]*(?:番号)?[ \t]*[:：]?[ \t]*$")
_OFFICE_LINE = compile_guarded(
    r"^[ \t]*[【\[(（]?[ \t]*(?:問い?合わ?せ|お問い?合わ?せ|担当|連絡先|提出先|申込先|申込み|事務局|窓口|[^\n:：]{0,6}所在地)"
    r"|(?:課|係|室|局|部|省|庁|役所|役場|事務所|事務局|センター)[ \t]*$"
    r"|(?:市役所|区役所|町役場|村役場|株式会社|有限会社|合同会社)"  # 小山市役所 かんきょうか（しやくしょ の ２かい）
    r"|(?i:association|cent(?:er|re)|office|city hall|division|section|department)[ \t]*$"
)
_PUBLIC_EMAIL = compile_guarded(
    r"@(?:[a-z0-9\-]+\.)*(?:go\.jp|lg\.jp)$"
    # an organisation's role mailbox: info@, soudan@, press@ …
    r"|^(?:info|information|contact|inquiry|inquiries|support|office|soudan|sodan|koho|kouhou|press|pr|webmaster|"
    r"madoguchi|uketsuke|jimukyoku|secretariat|sales|eigyo|help|desk|toiawase|otoiawase|center|admin|general|somu|soumu|"
    r"kikaku|service|customer|recruit|saiyo|event|kyodo|library|museum)(?:[.\-_][a-z0-9]+)?@",
    re.I,
)


_ANY_DIGIT = compile_guarded(r"[0-9]")
_NEEDS_LOOKING = compile_guarded(
    r"[^\x00-\x7f]|[0-9@]|(?i:\bmy\b|name|from:|regards|thank|sincerely)|\bI am\b|\bI'm\b"
    # introductions in other languages written in plain ASCII: Nama saya …, Soy …, Ako po si …
    r"|(?i:\bsaya\b|\bsoy\b|\bako\b|\bllamo\b|\bchamo\b|\bsou\b|\bsuis\b|appelle)"
)
_NOTHING_FOUND = Detection(1, (), (), ())


_SHIPPED: WordingModel = WordingModel({}, 0.0, 1.0)  # stands for "the shipped model" as a default


class DefaultDetector:
    """Fast rule-based detection plus SudachiPy for names, and the wording model for internal
    papers the rules do not recognise. Thread-safe: no shared mutable state (one SudachiPy
    tokenizer per thread). `wording=None` turns the wording model off (its training and
    evaluation compare with the rules alone)."""

    name = "default"

    def __init__(self, custom: CustomRules | None = None, wording: WordingModel | None = _SHIPPED) -> None:
        self.custom = custom or CustomRules()
        self.wording = shipped_model() if wording is _SHIPPED else wording

    def __repr__(self) -> str:
        return f"DefaultDetector(custom_rules={len(self.custom.rules)}, wording_model={self.wording is not None})"

    def detect(self, text: str) -> Detection:
        if not self.custom and _NEEDS_LOOKING.search(text) is None:
            # Plain ASCII words with no digit, '@', "my", "name", a letter's closing: no
            # marking, identifier or name can be in it (the common short English prompt costs nothing).
            return _NOTHING_FOUND
        norm = normalize(text)
        ntext = norm.text
        found_markings = find_markings(ntext)
        # a paper with a handling marking is never a public notice, whatever its title says
        notice = _is_public(ntext) and not any(f.cls >= 2 for f in found_markings)

        # a table's 氏名/住所/個人番号 columns count as labelled fields, except in public rosters and lists
        columns = NO_COLUMNS if notice else find_columns(ntext)
        id_cues: list[tuple[int, int, str]] = []
        found: list[Item] = find_identifiers(ntext, id_cues, columns.my_numbers)
        found += find_addresses(ntext, notice, columns)
        if columns.births:
            found += birth_dates_in_cells(ntext, columns.births)
        analysis = analyse(ntext)
        people = find_people(ntext, notice, found, columns, titled_notice=notice and _titled_notice(ntext), analysis=analysis)
        found += people
        if people and _ANY_DIGIT.search(ntext):
            found += birth_dates_after_people(ntext, people)
        items = _resolve(found)
        private_person = any(i.type in _PERSONAL for i in items)
        items = [_contact_class(i, ntext, notice, private_person) for i in items]
        if self.custom:
            items += self.custom.find(ntext)
        items.sort(key=lambda i: (i.start, i.end))

        reasons: list[str] = []
        entities = []
        cls = 1
        for item in items:
            start, end = norm.to_original(item.start, item.end)
            entities.append(Entity(item.type, start, end, mask(item.type, ntext[item.start : item.end]), item.cls, item.reason))
            cls = max(cls, item.cls)
            if item.reason not in reasons:
                reasons.append(item.reason)
        markings = []
        for f in found_markings:
            start, end = norm.to_original(f.start, f.end)
            markings.append(Marking(f.label, start, end, f.cls))
            cls = max(cls, f.cls)
            reason = f"表示「{f.label}」→ 機密性{f.cls} / marking {f.label} → class {f.cls}"
            if reason not in reasons:
                reasons.append(reason)
        for index in (i for i, ch in enumerate(text) if ch == "㊙") if "㊙" in text else ():
            if all(m.end <= index or m.start > index for m in markings):
                markings.append(Marking("秘", index, index + 1, 3))
                markings.sort(key=lambda m: m.start)
                cls = 3
                reason = "表示「秘」→ 機密性3 / marking 秘 → class 3"
                if reason not in reasons:
                    reasons.append(reason)
        for _, _, cue in [*id_cues, *find_cues(ntext, notice)]:
            cls = max(cls, 2)
            reason = f"内容: {cue} → 機密性2 / content cue → class 2"
            if reason not in reasons:
                reasons.append(reason)
        if cls < 2 and self.wording is not None and self.wording.judges(ntext):
            p = self.wording.probability(m[3] for chunk in analysis for m in chunk.morphemes)
            if p >= self.wording.threshold:
                cls = 2
                reasons.append(f"文面: 内部の検討・未公表の文書に近い（{p:.2f}）→ 機密性2 / wording reads as an internal, unpublished paper (p={p:.2f}) → class 2")
        if not reasons:
            reasons.append("該当なし / nothing found → class 1")
        return Detection(cls, tuple(entities), tuple(markings), tuple(reasons))


def _is_public(text: str) -> bool:
    """A public notice, press release, page for the public or published minutes."""
    if (_NOTICE.search(text) or _PUBLIC_PAGE.search(text) or _personnel_list(text)) and not _NOT_YET_PUBLIC.search(text):
        return True
    if _PUBLIC_MEETING.search(text) and not _CLOSED_MEETING.search(text):
        return True
    # weaker signs: a contact line for enquiries, a headline announcing an action, a statement
    # that the record is published; not in a paper that says it is internal or a draft
    return bool(
        (_PUBLIC_FOOTER.search(text) or _headline(text) or _PUBLISHED.search(text))
        and not _CLOSED_MEETING.search(text)
        and not _NOT_PUBLIC.search(text)
    )


_TRANSLATED_TITLE = compile_guarded(r"[ \t]*[/／|｜][ \t]*[\x20-\x7e]+$")


# Even under a notice's title: a paper about what is not yet announced (内示, 公表前).
_NOT_YET_PUBLIC = compile_guarded(
    r"内示|公表前|未公表|非公表|解禁前|口外しない|[（(][ \t]*伺い[ \t]*[）)]|事後公表(?:とし|とする)"
    # a 公告 still to come, a paper kept inside the office: 入札公告前, 公告は10月6日を予定, メモ（契約課内）
    r"|公告前|公告(?:は|を)[^\n。]{0,15}(?:予定|見込み)|外(?:部)?に(?:は)?出さない|(?:メモ|資料|検討|打合せ|打ち合わせ)[ \t]*[（(][^）)\n]{0,10}[課係室班]内[）)]"
)
_PERSONNEL_TITLE = compile_guarded(r"人事異動|任免|役員の異動|幹部職員の異動")
_NOT_YET = compile_guarded(r"内示|[（(][ \t]*案[ \t]*[）)]|予定|検討|部外秘|取扱い?注意|取り扱い注意|関係者限り|機密性")


def _titled_notice(text: str) -> bool:
    """The notice says so in its title (its first two lines): a text that only says
    お知らせします somewhere in its body, or a request to an AI with a paper pasted in, is not
    published as a whole."""
    lines = [line for line in text.lstrip().split("\n", 6)[:6] if line.strip()]
    # a press release's date and issuer lines come before its title: 令和7年7月1日 / 文部科学省
    while len(lines) > 2 and _HEADER_LINE.fullmatch(lines[0].strip()):
        lines.pop(0)
    lines = lines[:2]
    head = "\n".join(lines)
    if _INSTRUCTION.search(lines[0] if lines else ""):
        return False
    return bool(_NOTICE.search(head) or _PUBLIC_PAGE.search(head) or _personnel_list(text) or _headline(text)
                or _PUBLIC_MEETING.search(head))


_HEADER_LINE = compile_guarded(
    r"(?:令和|平成|20[0-9]{2}年?)[ \t]*[0-9元]{1,4}[ \t]*[年/.\-][ \t]*[0-9]{1,2}[ \t]*[月/.\-][ \t]*[0-9]{1,2}[ \t]*日?"
    r"|[^\n]{1,20}(?:省|庁|府|局|県|都|道|市|町|村|区|委員会|機構|事務所|本部)"
)
# A request to an AI: 以下は…です。これを…直してください / 次の文章を要約して
_INSTRUCTION = compile_guarded(r"(?:して|直して|まとめて|書いて|作って|訳して)(?:ください|下さい|ほしい|欲しい)|(?:以下|次)の[^\n]{0,30}を[^\n]{0,20}(?:して|直し|まとめ|作成|要約|翻訳)")


def _personnel_list(text: str) -> bool:
    """A title line announcing personnel changes (伊勢崎市 人事異動（4月1日付）部長級): a
    published list, unless it says it is a 内示, a draft or restricted."""
    start = len(text) - len(text.lstrip())
    cut = text.find("\n", start)
    first = text[start : cut if cut >= 0 else len(text)]
    return bool(_PERSONNEL_TITLE.search(first)) and not _NOT_YET.search(text)


def _headline(text: str) -> bool:
    """The first line announces an action: …を実施します, …が決まりました."""
    start = len(text) - len(text.lstrip())
    cut = text.find("\n", start)
    first = text[start : cut if cut >= 0 else len(text)].rstrip()
    first = _TRANSLATED_TITLE.sub("", first)  # 相談窓口を開設します / Consultation Desk …
    return first.endswith(("ます", "ました")) and _HEADLINE.match(first) is not None


def _resolve(items: list[Item]) -> list[Item]:
    """Drop items overlapping a higher-priority (then longer, earlier) item."""
    ranked = sorted(items, key=lambda i: (-_PRIORITY.get(i.type, 0), -(i.end - i.start), i.start))
    kept: list[Item] = []
    if any(i.end <= i.start for i in items):  # an empty span: compare with every kept item
        for item in ranked:
            if all(item.end <= k.start or item.start >= k.end for k in kept):
                kept.append(item)
        return kept
    # The kept spans are disjoint: sorted by start, their ends are sorted too, and only the
    # last one starting before this item's end can overlap it.
    starts: list[int] = []
    ends: list[int] = []
    for item in ranked:
        index = bisect_left(starts, item.end)
        if index and ends[index - 1] > item.start:
            continue
        kept.append(item)
        starts.insert(index, item.start)
        ends.insert(index, item.end)
    return kept


def _contact_class(item: Item, text: str, notice: bool, private_person: bool) -> Item:
    """PHONE/EMAIL/POSTAL_CODE are class 2 when they belong to a private person."""
    if item.type not in ("PHONE", "EMAIL", "POSTAL_CODE"):
        return item
    line_start = text.rfind("\n", 0, item.start) + 1
    before = text[max(line_start, item.start - 30) : item.start]
    value = text[item.start : item.end]
    if _PRIVATE_CONTACT.search(before) or (item.type == "PHONE" and phone_is_mobile(value) and not notice):
        private = True
    elif (
        _PUBLIC_CONTACT.search(before)
        or _OFFICE_ADDRESS_LINE.match(text, line_start, item.start)
        or (item.type == "EMAIL" and _PUBLIC_EMAIL.search(value))
        or (item.type == "PHONE" and (phone_is_business(value) or _PUBLIC_AFTER.match(text, item.end)))
        or (item.type == "POSTAL_CODE" and _POSTAL_OFFICE_AFTER.match(text, item.end))
        or (line_start > 1 and _LABEL_ONLY.fullmatch(text, line_start, item.start) and _office_line_above(text, line_start))
    ):
        private = False
    else:
        private = private_person or not notice
    if not private:
        return item
    reason = {
        "PHONE": "個人の電話番号 / phone number of a private person",
        "EMAIL": "個人のメールアドレス / e-mail address of a private person",
        "POSTAL_CODE": "個人の郵便番号 / postal code of a private person",
    }[item.type]
    return item._replace(cls=2, reason=reason)


def _office_line_above(text: str, line_start: int) -> bool:
    """The line above (or the one above it) names an office."""
    end = line_start - 1
    for _ in range(2):
        prev_start = text.rfind("\n", 0, end) + 1
        line = text[prev_start:end]
        if _PRIVATE_CONTACT.search(line):
            return False
        if _OFFICE_LINE.search(line):
            return True
        if prev_start < 2:
            return False
        end = prev_start - 1
    return False


_lock = threading.Lock()


@lru_cache(maxsize=64)
def _cached(custom: CustomRules | None, wording: bool) -> DefaultDetector:
    return DefaultDetector(custom) if wording else DefaultDetector(custom, wording=None)


def default_detector(custom: CustomRules | None = None, *, wording: bool = True) -> Detector:
    """The default detector for these custom rules (cached; safe to share between threads);
    wording=False: without the wording model."""
    with _lock:
        return _cached(custom or None, wording)


def instructions_detector(detector: Detector) -> Detector:
    """The detector for instructions to a model (system prompts, tool definitions): the
    default detector's rules without its wording model, which was trained on papers and
    prompts and reads an instruction's imperative style as an internal memo; another
    detector as it is."""
    if isinstance(detector, DefaultDetector) and detector.wording is not None:
        return default_detector(detector.custom, wording=False)
    return detector


def detect(text: str, custom: CustomRules | None = None) -> Detection:
    return default_detector(custom).detect(text)


def available_detectors() -> list[str]:
    return ["default", *sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))]


_plugins: dict[str, Detector] = {}


def load_detector(name: str) -> Detector:
    """"default", or the name of an entry point in group ``gennai.detectors``. The entry
    point may name a Detector instance, a class, or a factory called without arguments;
    it is loaded once per process (heavy models are not loaded twice)."""
    if name == "default":
        return default_detector()
    with _lock:
        cached = _plugins.get(name)
    if cached is not None:
        return cached
    matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not matches:
        raise LookupError(f"検出器 '{name}' はありません / no detector '{name}' (available: {', '.join(available_detectors())})")
    obj = matches[0].load()
    detector = obj if isinstance(obj, Detector) and not isinstance(obj, type) else obj()
    if not isinstance(detector, Detector):
        raise TypeError(f"entry point '{name}' does not provide a Detector (name + detect(text))")
    with _lock:
        return _plugins.setdefault(name, detector)
