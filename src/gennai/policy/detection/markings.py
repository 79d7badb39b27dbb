"""Handling markings (機密性1/2/3, 取扱注意, 部外秘, ○○限り, 秘, 極秘, 複製禁止 …) and
conservative content cues for internal deliberations and bids.

Runs on NFKC-normalised text (full-width digits already ASCII); spaces inside the marking
words are allowed ("機密性 2", "取 扱 注 意"). The lone character 秘 is a marking only in
marking-like positions: bracketed (【秘】 〔秘〕 (秘) [秘] 「秘」 《秘》 <秘>), alone on a line,
at the start of a line followed by a space and another marking (秘　取扱注意), 秘扱い, or the value
of a classification field (取扱区分：秘); never inside ordinary words (秘書, 秘密保持, 神秘, 便秘).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from gennai.policy.detection.prefilter import compile_guarded


class Found(NamedTuple):
    label: str
    start: int  # normalised offsets
    end: int
    cls: int


def _spaced(word: str) -> str:
    """A pattern for word allowing spaces between its characters."""
    return r"[ \t]*".join(re.escape(ch) for ch in word)


_S = r"[ \t]*"
# (pattern, canonical label or None for "the matched text without spaces", class)
_RULES: list[tuple[str, str | None, int]] = [
    (_spaced("極秘") + r"(?!裏)", "極秘", 3),
    (_spaced("取扱注意") + "|" + _spaced("取り扱い注意") + "|" + _spaced("取扱い注意") + "|" + _spaced("取り扱注意"), "取扱注意", 2),
    (r"[部省庁局課社室]" + _S + "外" + _S + "秘", None, 2),
    (_spaced("複製禁止"), "複製禁止", 2),
    (_spaced("配付禁止") + "|" + _spaced("配布禁止"), "配付禁止", 2),
    (_spaced("転送禁止"), "転送禁止", 2),
    (_spaced("外部提供禁止"), "外部提供禁止", 2),
    (_spaced("持出禁止") + "|" + _spaced("持ち出し禁止"), "持出禁止", 2),
    (_spaced("暗号化必須"), "暗号化必須", 2),
]
_MARKING = compile_guarded(r"(?=[極取部省庁局課社室複配転外持暗])(?:" + "|".join(f"(?P<r{i}>{p})" for i, (p, _, _) in enumerate(_RULES)) + ")")
# ○○限り: a group of people or an organisation, not a time (今回限り, 本日限り). Found from
# 限り backwards (cheaper than trying the group pattern at every position).
_KAGIRI = compile_guarded("限" + _S + "り")
_GROUP_WORDS = ("関係者", "担当者", "出席者", "参加者", "構成員", "委員", "職員", "幹部", "関係課", "関係省庁", "関係機関", "関係部局")
_GROUP_BEFORE = compile_guarded(
    r"(?:" + "|".join(_spaced(w) for w in _GROUP_WORDS) + r"|(?:[一-龥][ \t]*){1,6}[内課部局省庁室係班者長会])" + _S + "$"
)
_LEVEL = compile_guarded(r"(?<![要])機" + _S + "密" + _S + "性" + _S + r"(?:レベル|区分)?" + _S + r"[:：=]?" + _S + r"(III|II|I|[123])" + r"(?:" + _S + "情報)?(?![0-9])")
_MARKING_CHARS = compile_guarded(r"[秘注禁必]")
_ROMAN = {"I": "1", "II": "2", "III": "3"}
_YOKIMITSU = compile_guarded(_spaced("要機密情報"))
# 秘 in a marking position.
_HI = compile_guarded(
    r"[【〔(\[「《<〈『]" + _S + "(秘)" + _S + r"[】〕)\]」》>〉』]"
    r"|(?:^|(?<=\n))[ \t]*(秘)[ \t]*(?=\r?\n|$)"
    # a stamp at the start of a line next to another handling marking: "秘　取扱注意"
    r"|(?:^|(?<=\n))[ \t]*(秘)[ \t]+(?=" + _spaced("取扱") + "|" + _spaced("取り扱") + "|" + _spaced("複製禁止") + "|"
    + _spaced("配付禁止") + "|" + _spaced("配布禁止") + "|" + _spaced("転送禁止") + "|" + _spaced("持出禁止") + "|"
    + r"(?:[一-龥][ \t]*){1,6}限" + _S + r"り|[部省庁局課]" + _S + "外" + _S + "秘)"
    r"|(?<![極外神便黙奥])(秘)(?=扱い|取扱い|文書)"
    # 秘（指定期間：…） at the start of a line: the designation and its period
    r"|(?:^|(?<=\n))[ \t]*(秘)(?=[ \t]*[（(][^）)\n]{0,30}(?:指定|期間|解除|まで)|[ \t]{2,}|[ \t]+(?:指定|文書番号))"
    # the value of a classification field: "取扱区分：秘", "秘密区分 : 秘"
    r"|(?:取[ \t]*扱[ \t]*い?[ \t]*区[ \t]*分|秘[ \t]*密[ \t]*区[ \t]*分|格[ \t]*付[ \t]*け?|指[ \t]*定[ \t]*区[ \t]*分)[ \t]*[:：][ \t]*(秘)(?=[ \t]*(?:\r?\n|$|[、,・/(（]))"
)
_HI_STAMP_PREFIX = compile_guarded(r"秘[ \t]+")
# A place or an activity restricted to a group (駐車場は関係者限りとなります): not a marking.
_PLACE_BEFORE_KAGIRI = compile_guarded(
    r"(?:駐車場|駐輪場|会場|入口|出入口|通路|エリア|区域|客席|関係者席|席|立ち?入り|入場|利用|参加|見学|施設|控室|控え室|会議室)"
    r"[^\n。]{0,6}?(?:は|も|が)[ \t]*$"
)
# 「極秘レシピ」, 極秘プロジェクト as a word in prose
_WORD_AFTER_GOKUHI = compile_guarded(r"[ァ-ヴ]")
# 個人情報や要機密情報, 要機密情報など: named as a kind of information
_LISTED_BEFORE = compile_guarded(r"[やと、・,][ \t]*$")
_LISTED_AFTER = compile_guarded(r"[ \t]*(?:や|など|等|を入力|は入力|の確認|を含む|、|・)")
_NOT_GROUPS = ("今回", "本日", "当日", "一回", "一度", "年度", "在庫", "期間", "その場", "今年", "今月", "今日", "今期", "今年度")

# Content cues (class 2, reason only). Conservative: explicit words only. (key, pattern or
# None for the spaced key itself, reason)
_CUES: list[tuple[str, str | None, str]] = [
    ("未定稿", None, "未定稿 / unfinished draft"),
    ("検討メモ", None, "検討メモ / deliberation memo"),
    ("検討中の案", None, "検討中の案 / draft under deliberation"),
    ("内部検討用", None, "内部検討用 / for internal deliberation"),
    ("内部検討資料", None, "内部検討資料 / internal deliberation material"),
    ("公表前", None, "公表前 / not yet published"),
    ("未公表", None, "未公表 / not yet published"),
    ("解禁前", None, "解禁前 / under embargo"),
    ("非公開資料", None, "非公開資料 / non-public material"),
    ("非公表", None, "非公表 / not to be published"),
    ("査定中", None, "査定中 / under budget assessment"),
    ("議決前", r"(?:議会|議)" + _S + "決" + _S + "前|" + _spaced("発表前") + "|" + _spaced("内示前"), "議決前・発表前 / before the decision or announcement"),
    # a heading that says the paper is for internal deliberation or a rough first draft
    ("内部検討", r"[【〔\[(「]" + _S + r"(?:内部|[課部局室庁省]" + _S + "内)" + _S + _spaced("検討") + _S + r"(?:中|用|資料)?" + _S + r"[】〕\])」]" + "|" + _spaced("内部検討中"),
     "内部検討 / for internal deliberation"),
    ("たたき台", r"[(【〔\[「]" + _S + r"(?:たたき台|叩き台)" + _S + r"[)】〕\]」]", "たたき台 / rough draft"),
    # an instruction not to take the paper outside the section
    ("外に出さない", r"(?:課外|部外|庁外|省外|局外|室外|係外|班外|所外|外部|対外的|(?<![一-龥々])[外表]|以外)" + _S + r"(?:に|へ)?" + _S + r"(?:は|も)?" + _S + r"(?:出さ|持ち出さ|話さ|出せ)" + _S + "ない",
     "外部に出さない / not to be taken outside"),
    # "取扱いに注意" written as a sentence rather than a stamp
    ("取扱いに注意", _spaced("取") + _S + "り?" + _S + _spaced("扱") + _S + "い?" + _S + _spaced("に注意"),
     "取扱いに注意 / handle with care"),
    # internal consultation material: 部内協議用, 庁内協議用, 内部協議資料
    ("協議用", r"(?:[部課局省庁室]" + _S + "内|" + _spaced("内部") + ")" + _S + _spaced("協議") + _S + "(?:用|資料)",
     "内部協議用 / for internal consultation"),
    # before the head of the organisation (or the assembly) has been briefed
    ("説明前", r"(?:首長|市長|町長|村長|区長|知事|大臣|幹部|議会|長官)" + _S + "(?:へ|に)" + _S + "(?:も|は)?" + _S + "の?" + _S
     + "(?:説明|報告|レク)" + _S + "前", "幹部説明前 / before briefing the head"),
    # 起案 drafts: a decision not yet taken
    ("起案用紙", _spaced("起案") + _S + "(?:用紙|書|日|者|中|[:：])|[（(]" + _S + _spaced("伺い") + _S + "[）)]|" + _spaced("回議") + _S + "(?:前|中)",
     "起案文書 / draft for decision (起案)"),
    ("決裁前", None, "決裁前 / not yet decided"),
    ("予定価格", None, "予定価格 / estimated contract price"),
    ("最低制限価格", None, "最低制限価格 / minimum bid price"),
    ("入札価格", None, "入札価格 / bid price"),
    ("開札前", None, "開札前 / bids not yet opened"),
    # a subject or heading that says the paper is internal: 件名：…（内部）, 【内部】, 内部資料
    ("内部", r"[（(【〔\[]" + _S + _spaced("内部") + _S + r"(?:用|資料|限り)?" + _S + r"[）)】〕\]]|" + _spaced("内部資料"),
     "内部資料 / internal paper"),
    # a budget before its assessment is over: 市長査定前, 一次査定
    ("査定前", r"(?:(?:市長|町長|村長|区長|知事|首長|一次|二次|最終)" + _S + ")?" + _spaced("査定") + _S + "前",
     "査定前 / before the budget assessment"),
    # a memo for an oral briefing, not for circulation
    ("口頭説明用", _spaced("口頭説明") + _S + "(?:用|のため)"
     + r"|(?:部長|局長|大臣|副大臣|政務官|次官|審議官|課長|市長|町長|村長|区長|知事|幹部)" + _S + r"(?:への)?" + _S
     + r"(?:ご?説明|レク)" + _S + r"(?:用|資料)", "口頭説明用 / for an oral briefing"),
    # an instruction to keep it among the few who know: 職員にも広げない, まだ決まっていない前提で
    # a matter not yet out: 外には一切出ていない話, 現時点で地域には一切示していない
    ("出ていない", r"(?:一切|まだ|どこにも|誰にも)[^\n。]{0,8}?(?:出ていな|出していな|示していな|話していな|公表していな|明かしていな|上げていな|伝えていな|報告していな)"
     r"|(?:報道|新聞|マスコミ|外部|表)[ \t]*(?:に|へ)[ \t]*(?:は|も)?[ \t]*(?:まだ)?[ \t]*出ていな|まだ[ \t]*(?:言えない|話せない|出せない)"
     # 業界団体に漏れると騒ぎになる
     r"|(?:外部|業界|団体|マスコミ|報道|記者|先方|相手方)[^\n。]{0,6}?に[ \t]*漏れ(?:ると|たら|れば|ては)",
     "内密 / to be kept among those involved"),
    # publication comes later: 結果の公表は契約締結後, 発表は個別説明後, 公表の時期は報告後に協議
    ("公表後", r"(?:公表|発表|公開|結果通知)(?:の[^\n。]{0,8})?(?:は|を)[^\n。]{0,25}?(?:後|以降)"
     r"|正式(?:発表|公表)[^\n。]{0,20}?は[^\n。]{0,20}?(?:予定|見込み)", "公表前 / not yet published"),
    # ※本会議録は、入札終了後も公表しない
    ("公表しない", r"(?:公表|公開)" + _S + r"(?:は|も)?" + _S + r"しない(?!よう)", "非公表 / not to be published"),
    # bullying and pupils' guidance records: いじめ … 聞き取り, 生徒指導記録
    ("生徒指導", _spaced("生徒指導記録") + "|" + _spaced("指導記録") + r"|いじめ[^\n。]{0,30}?(?:聞き取り|聴取|加害|被害(?:生徒|児童)|重大事態)"
     # not the title of a guideline or a law: 「いじめの重大事態の調査に関するガイドライン」
     r"(?![^\n。」]{0,20}?(?:ガイドライン|指針|基本方針|マニュアル|推進法|手引))",
     "児童生徒の指導記録 / a pupil's guidance or bullying record"),
    ("庁内検討", r"(?:庁内|部内|課内|局内|省内|係内|班内)" + _S + _spaced("検討"), "内部検討 / for internal deliberation"),
    ("回収", _spaced("会議後回収") + "|" + _spaced("回収資料") + r"|※" + _S + _spaced("回収"), "回収資料 / collected after the meeting"),
    # a closed session or a paper marked non-public: 秘密会, 会議録非公開, （審査委員会用・非公開）
    ("非公開", _spaced("秘密会") + r"|(?:会議録|議事録|資料|本件)" + _S + "は?" + _S + _spaced("非公開")
     + r"|[（(【][^）)】\n]{0,15}非公開[^）)】\n]{0,10}[）)】]", "非公開 / not public"),
    ("ここだけの話", r"ここだけの話|オフレコ|他言無用|口外(?:しない|無用|厳禁)|内示は[^\n。]{0,10}予定|内示を[^\n。]{0,25}?(?:行い|行う|行います|します|予定)"
     # a matter only a few know yet: 町長以外はまだ誰も知らない話, 当面課長と私だけで進めます
     r"|(?:まだ|以外は|以外に)[ \t]*(?:まだ)?[ \t]*誰も知らない|誰も知らない話|(?:と|は)私だけで(?:進め|対応|準備|話)",
     "内密 / to be kept among those involved"),
    # 内々に, 内々の意向: said in confidence
    ("内々", _spaced("内々") + _S + r"(?:に|で|の" + _S + r"(?:意向|話|打診|相談|連絡|指示))", "内々 / in confidence"),
    ("広げない", r"(?:職員|外部|他課|周囲)" + _S + "に" + _S + "も?" + _S + r"(?:広げ|漏らさ|言わ)" + _S + "ない"
     + "|" + _spaced("話題にしない")
     + "|" + _spaced("決まっていない前提"), "内密 / to be kept among those involved"),
]
# A decision asked of the superior: 課長判断を仰ぐ, 局長のご判断をいただきたい
_CUES.append((
    "判断を仰ぐ",
    r"(?:課長|部長|局長|室長|審議官|次長|所長|上司|幹部)(?:の|に)?[ \t]*(?:ご)?判断を(?:仰|いただ|お願い)",
    "上司の判断待ち / awaiting the superior's decision",
))
# Before a call for applications opens: 公募開始（4月）前に
_CUES.append((
    "公募前",
    r"(?:公募|募集|公告)(?:開始)?[ \t]*(?:[（(][^）)\n]{0,10}[）)])?[ \t]*前(?:に|の|で|まで)",
    "公募前 / before the call is published",
))
# A readership limited in a heading: 審査結果（速報・委員のみ）, 【幹部限定】
_CUES.append((
    "限定配付",
    r"[（(【〔\[][^）)】〕\]\n]{0,12}?(?:委員|関係者|幹部|課内|部内|庁内|局内|省内|担当者?|役員|審査員)(?:のみ|限定)[^）)】〕\]\n]{0,12}[）)】〕\]]",
    "配付先の限定 / for a limited readership",
))
# The records of a nomination or selection committee for contracts: 指名審査会 会議録
_CUES.append((
    "指名審査会",
    r"指名(?:審査|選考|業者選定)(?:会|委員会)",
    "指名審査会 / contractor nomination committee",
))
# A person's mental-health diagnosis or sick leave: 心療内科で「抑うつ状態」と診断され, 適応障害で療養
_CUES.append((
    "健康状態",
    r"(?:抑うつ|うつ病|適応障害|心療内科|精神科|メンタル不調)[^\n。]{0,30}?"
    r"(?:と診断|診断され|診断書|の診断(?:で|により|を受け)|受診(?:中|し)|療養|休養を要|休職|病気休暇|通院(?:中|し))"
    # 父が先週脳梗塞で倒れて、しばらく入院
    r"|(?:脳梗塞|脳出血|心筋梗塞|くも膜下出血|骨折|がん|癌)[^\n。]{0,6}?(?:で倒れ|と診断|で入院|の手術|で手術)",
    "健康状態（診断・療養）/ a person's health condition (diagnosis, sick leave)",
))
# Words one of which a cue's match holds once spaces and tabs are taken out (a cue named by a
# plain word holds the word): only the cues whose words are in the text are looked for.
_CUE_ANCHORS: dict[str, tuple[str, ...]] = {
    "議決前": ("決前", "発表前", "内示前"),
    "内部検討": ("検討",),
    "たたき台": ("たたき台", "叩き台"),
    "外に出さない": ("さない", "せない"),
    "取扱いに注意": ("に注意",),
    "協議用": ("協議",),
    "説明前": ("説明前", "報告前", "レク前"),
    "起案用紙": ("起案", "伺い", "回議"),
    "内部": ("内部",),
    "査定前": ("査定前",),
    "口頭説明用": ("口頭説明", "説明用", "説明資料", "レク用", "レク資料"),
    "広げない": ("広げない", "漏らさない", "言わない", "決まっていない前提", "話題にしない"),
    "出ていない": ("ていな", "言えない", "話せない", "出せない", "漏れ"),
    "公表後": ("公表", "発表", "公開", "結果通知"),
    "庁内検討": ("内検討",),
    "回収": ("回収",),
    "非公開": ("秘密会", "非公開"),
    "ここだけの話": ("ここだけの話", "オフレコ", "他言無用", "口外", "内示", "誰も知らない", "私だけで"),
    "内々": ("内々",),
    "健康状態": ("診断", "受診", "療養", "休養", "休職", "病気休暇", "通院", "倒れ", "入院", "手術"),
    "公表しない": ("公表しない", "公表はしない", "公表もしない", "公開しない", "公開はしない", "公開もしない"),
    "生徒指導": ("指導記録", "いじめ"),
    "限定配付": ("のみ", "限定"),
    "指名審査会": ("指名審査", "指名選考", "指名業者選定"),
    "判断を仰ぐ": ("判断を",),
    "公募前": ("公募", "募集", "公告"),
}
_CUE_RULES: list[tuple[str, tuple[str, ...], re.Pattern[str], str]] = [
    (word, _CUE_ANCHORS.get(word, (word,)), compile_guarded(pattern or _spaced(word)), reason) for word, pattern, reason in _CUES
]
_BID_WORDS = ("予定価格", "最低制限価格", "入札価格")
# Not cues in public notices: bid notices publish prices, notices say when results will be
# published or that an item is heard in closed session, health notices speak of illnesses.
_NOT_IN_NOTICES = frozenset((*_BID_WORDS, "公表後", "非公開", "健康状態", "公表しない", "生徒指導", "限定配付", "指名審査会", "公募前", "判断を仰ぐ"))
# (機密性3 以下の内容を…: after a space, 以下 begins the next sentence)
_LEVEL_EXPLAINED = compile_guarded(r"(?:[ \t]*情報)?(?:[ \t]*[:：](?![ \t]*[0-9])|以上|以下|未満|相当|に当たる|に該当|の(?:定義|例))")
# 「秘」「極秘」の表示, 「取扱注意」等の表示: a marking quoted as an example, not applied to this text
_QUOTED_FOLLOW = compile_guarded(r"」[ \t]*(?:「|の(?:表示|記載|押印|区分)|等|など|や|と(?:記載|表示|いう|押印|書かれ|書いて|記され)|という|、「|・「)")


def _quoted_example(text: str, start: int, end: int) -> bool:
    open_at = text.rfind("「", max(0, start - 3), start + 1)
    if open_at < 0 or text[open_at + 1 : start].strip(" \t【〔[(") != "":
        return False
    close = text.find("」", end, end + 6)
    return close >= 0 and _QUOTED_FOLLOW.match(text, close) is not None


def _in_quotes(text: str, start: int, end: int) -> bool:
    return text[start - 1 : start] in ("「", "『") and text[end : end + 1] in ("」", "』")


_DECIDED = compile_guarded(r"決裁済|公表済|施行済|告示済|公布済")
_EXAMPLE = compile_guarded(r"(?:起案|文書|文)(?:文|用紙)?の(?:例|記入例|ひな形|雛形|見本)|記入例")
# 機密性1・機密性2・機密性3, 機密性2や3: the levels listed or explained, not a marking.
_LEVEL_LIST_GAP = compile_guarded(r"[ \t]*(?:[・、,/／]|と|や|及び|または|又は|から|～|〜)[ \t]*")


def find_markings(text: str) -> list[Found]:
    out: list[Found] = []
    levels = list(_LEVEL.finditer(text)) if "性" in text else []
    listed: set[int] = set()
    for a, b in zip(levels, levels[1:]):
        if a.group(1) != b.group(1) and _LEVEL_LIST_GAP.fullmatch(text, a.end(), b.start()):
            listed.update((a.start(), b.start()))
    for m in levels:
        if m.start() in listed or _LEVEL_EXPLAINED.match(text, m.end()):
            continue  # 機密性3：秘密文書に相当する情報 / 機密性2以上の情報は: the level defined or used as a threshold
        level = _ROMAN.get(m.group(1), m.group(1))
        out.append(Found(f"機密性{level}", m.start(), m.end(), int(level)))
    for m in _YOKIMITSU.finditer(text) if "要" in text else ():
        if _LISTED_BEFORE.search(text, max(0, m.start() - 2), m.start()) or _LISTED_AFTER.match(text, m.end()):
            continue  # 個人情報や要機密情報: a kind of information named in a sentence, not a marking
        out.append(Found("要機密情報", m.start(), m.end(), 2))
    for m in _MARKING.finditer(text) if _MARKING_CHARS.search(text) else ():
        index = int(m.lastgroup[1:])  # type: ignore[index]
        _, label, cls = _RULES[index]
        if label == "極秘" and _WORD_AFTER_GOKUHI.match(text, m.end()):
            continue  # 「極秘レシピ」: part of a word in prose, not a marking
        surface = re.sub(r"[ \t]", "", m.group())
        out.append(Found(label or surface, m.start(), m.end(), cls))
    for m in _KAGIRI.finditer(text) if "限" in text else ():
        g = _GROUP_BEFORE.search(text, max(0, m.start() - 12), m.start())
        if g is None:
            continue
        g_start = g.start()
        stamp = _HI_STAMP_PREFIX.match(text, g_start, m.start())
        if stamp:
            g_start = stamp.end()  # "秘 関係者限り": two stamps, not a group called "秘 関係者"
        surface = re.sub(r"[ \t]", "", text[g_start : m.end()])
        if surface[:-2] in _NOT_GROUPS:
            continue
        if _PLACE_BEFORE_KAGIRI.search(text, max(0, g_start - 16), g_start):
            continue  # 駐車場は関係者限り: who may use a place, not a marking
        out.append(Found(surface, g_start, m.end(), 2))
    for m in _HI.finditer(text) if "秘" in text else ():
        group = next(g for g in (1, 2, 3, 4, 5, 6) if m.group(g) is not None)
        start, end = m.span(group)
        if group == 4 and start > 0 and text[start - 1] in "極外神便黙奥":
            continue
        out.append(Found("秘", start, end, 3))
    out = [f for f in out if not _quoted_example(text, f.start, f.end)]
    if {m.group(1) for m in levels} >= {"1", "2", "3"} or {_ROMAN.get(m.group(1)) for m in levels} >= {"1", "2", "3"}:
        # 機密性1, 2 and 3 all named: a text explaining the scheme (a security policy, a
        # training quiz), whose levels and quoted stamps (「秘」) are examples, not markings
        out = [f for f in out if not f.label.startswith("機密性") and not _in_quotes(text, f.start, f.end)]
    out.sort(key=lambda f: (f.start, -f.end))
    # Drop markings nested inside another (e.g. 秘 inside 【極秘】 cannot happen, but be safe).
    result: list[Found] = []
    for f in out:
        if result and f.start < result[-1].end:
            continue
        result.append(f)
    return result


def find_cues(text: str, public_notice: bool) -> list[tuple[int, int, str]]:
    """Content cues for internal deliberations and bids: (start, end, reason) of the first
    match of each cue, in the order they occur."""
    compact = text.replace(" ", "").replace("\t", "") if " " in text or "\t" in text else text
    out = []
    for word, anchors, pattern, reason in _CUE_RULES:
        if not any(anchor in compact for anchor in anchors):
            continue
        if public_notice and word in _NOT_IN_NOTICES:
            continue
        m = pattern.search(text)
        if m is None:
            continue
        if word == "起案用紙" and (_DECIDED.search(text) or _EXAMPLE.search(text)):
            continue  # 起案用紙（決裁済・公表済み）: the decision is taken and published; 起案文の例: a training example
        out.append((m.start(), m.end(), reason))
    out.sort()
    return out
