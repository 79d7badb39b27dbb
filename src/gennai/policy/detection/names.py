"""Person names through SudachiPy (人名/姓/名 part-of-speech tags) plus context.

A run of 人名 tokens counts as a person when it is a full name (姓 + 名), is followed by an
honorific (さん/様/氏/殿/君 …) or follows a label (氏名, 申請者, 相談者 …). Tokens that are
not in the dictionary count too when an honorific follows (ヤマダさん).

Officials are not personal data where they act as officials: names next to high public
titles (大臣, 知事, 市長, 長官 …) are never flagged; names next to other titles (局長, 課長,
担当 …) are not flagged in a public-notice context (公示/告示/お知らせ/報道発表 …).

One SudachiPy tokenizer per thread (tokenizers are not shared between threads); the
dictionary loads once per thread, in about 30 ms.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from gennai.policy.detection.identifiers import Item

_local = threading.local()
_CHUNK = 4000  # characters per tokenizer call (SudachiPy limits input size)

_HONORIFICS = frozenset(("さん", "様", "さま", "氏", "殿", "君", "くん", "ちゃん", "先生"))
_LABEL = re.compile(
    r"(?:氏名|名前|お名前|申請者|届出人|相談者|申込者|申出人|請求者|被保険者|世帯主|保護者|患者|利用者|本人|代表者|"
    r"契約者|受給者|対象者|連絡者|通報者|依頼者|送付先|宛先|宛名)[ \t]*(?:名)?[ \t]*[:：は]?[ \t]*(?:\(|（)?$"
)
_HIGH_TITLES = (
    r"(?:副?大臣|大臣政務官|政務官|副?長官|副?知事|副?市長|副?町長|副?村長|区長|総理大臣|首相|議長|副議長|委員長|大使|総裁|"
    r"事務次官|次官|知事公室長|長官官房長)"
)
_TITLES = (
    r"(?:局長|部長|課長|室長|審議官|参事官|企画官|係長|主査|主事|主任|補佐|課長補佐|所長|署長|校長|理事長|会長|社長|"
    r"教授|准教授|センター長|事務局長|官房長|統括官|調整官|専門官|担当者?|広報担当|問い?合わ?せ先)"
)
_TITLE_WORD = re.compile(r"(?:" + _HIGH_TITLES + "|" + _TITLES + r"|先生|先輩|議員|委員|職員|会員|氏|様)")
_TITLE_BEFORE = re.compile(r"(?:" + _HIGH_TITLES + "|" + _TITLES + r")[ \t]*[:：]?[ \t]*$")
_HIGH_BEFORE = re.compile(_HIGH_TITLES + r"[ \t]*[:：]?[ \t]*$")
_HIGH_AFTER = re.compile(r"^[ \t]*(?:[一-龥]{1,8}?)?" + _HIGH_TITLES)
_TITLE_AFTER = re.compile(r"^[ \t]*(?:[一-龥]{1,8}?)?(?:" + _HIGH_TITLES + "|" + _TITLES + ")")
# 担当：総務課 佐藤 / 問合せ先 総務部総務課 鈴木
_INSTITUTION_AFTER = re.compile(r"^(?:内閣|政権|美術館|記念館|文学館|博物館|財団|記念|文庫|賞|通り|像|邸|旧居|生家|研究所)")
_CONTACT_BEFORE = re.compile(
    r"(?:担当|担当者|問い?合わ?せ先?|連絡先|お問い合わせ)[ \t]*[:：]?[ \t]*[^\n。]{0,20}?(?:課|室|係|部|局|班|センター|事務局|省|庁|所)[ \t]*$"
)


def _tokenizer() -> Any:
    tok = getattr(_local, "tokenizer", None)
    if tok is None:
        from sudachipy import Dictionary, SplitMode

        # No path-rewrite plugins (joining numerals and katakana OOV runs): a third faster,
        # and names do not need them.
        dictionary = Dictionary(config='{"pathRewritePlugin": []}')
        tok = dictionary.tokenizer(SplitMode.C)
        _local.tokenizer = tok
        _local.dictionary = dictionary
        _local.pos_cache = {}
    return tok


def _category(pos_id: int, morpheme: Any) -> str:
    cache: dict[int, str] = _local.pos_cache
    cat = cache.get(pos_id)
    if cat is None:
        pos = morpheme.part_of_speech()
        if pos[1] == "固有名詞" and pos[2] == "人名":
            cat = {"姓": "sei", "名": "mei"}.get(pos[3], "name")
        elif pos[1] == "固有名詞":
            cat = "proper"
        elif pos[0] == "空白":
            cat = "space"
        elif pos[0] == "名詞":
            cat = "noun"
        else:
            cat = "other"
        cache[pos_id] = cat
    return cat


def _chunks(text: str) -> list[tuple[int, str]]:
    out = []
    pos = 0
    n = len(text)
    while pos < n:
        end = min(n, pos + _CHUNK)
        if end < n:
            cut = text.rfind("\n", pos, end)
            if cut <= pos:
                cut = text.rfind("。", pos, end)
            if cut > pos:
                end = cut + 1
        out.append((pos, text[pos:end]))
        pos = end
    return out


_NAME_CATS = frozenset(("sei", "mei", "name"))
_KATAKANA = re.compile(r"[ァ-ヴー・=＝]+$")


def find_people(text: str, public_notice: bool) -> list[Item]:
    tok = _tokenizer()
    items: list[Item] = []
    for offset, chunk in _chunks(text):
        morphemes = [
            (m.begin() + offset, m.end() + offset, _category(m.part_of_speech_id(), m), m.surface(), m.is_oov())
            for m in tok.tokenize(chunk)
        ]
        count = len(morphemes)
        i = 0
        while i < count:
            start, end, cat, surface, _ = morphemes[i]
            is_name = cat in _NAME_CATS
            unknown_before_honorific = (
                not is_name
                and (cat == "proper" or morphemes[i][4])
                and i + 1 < count
                and morphemes[i + 1][3] in _HONORIFICS
            )
            if not is_name and not unknown_before_honorific:
                i += 1
                continue
            j = i
            cats = {cat}
            while j + 1 < count:
                nxt = morphemes[j + 1]
                if nxt[2] in _NAME_CATS:
                    j += 1
                    cats.add(nxt[2])
                elif nxt[2] == "space" and j + 2 < count and morphemes[j + 2][2] in _NAME_CATS and len(nxt[3]) <= 2:
                    j += 2
                    cats.add(morphemes[j][2])
                elif (
                    "sei" in cats
                    and nxt[2] in ("proper", "noun")
                    and len(nxt[3]) <= 2
                    and _is_kanji(nxt[3])
                    and not _TITLE_WORD.fullmatch(nxt[3])
                    and j + 2 < count
                    and morphemes[j + 2][3] in _HONORIFICS
                ):
                    j += 1  # 姓 + a given name not in the dictionary + honorific
                else:
                    break
            span_start, span_end = start, morphemes[j][1]
            k = j + 1
            while k < count and morphemes[k][2] == "space":
                k += 1
            honorific = k < count and morphemes[k][3] in _HONORIFICS
            if honorific and _KATAKANA.match(morphemes[i][3]):
                back = i - 1  # グエン・ヴァン・アンさん: the whole katakana name
                while back >= 0 and _KATAKANA.match(morphemes[back][3]) and (not items or morphemes[back][0] >= items[-1].end):
                    span_start = morphemes[back][0]
                    back -= 1
            line_start = text.rfind("\n", 0, span_start) + 1
            before = text[max(line_start, span_start - 30) : span_start]
            after = text[span_end : span_end + 12]
            labelled = bool(_LABEL.search(before))
            full = "sei" in cats and "mei" in cats
            i = j + 1
            if not (honorific or labelled or full or unknown_before_honorific):
                continue
            if _HIGH_BEFORE.search(before) or _HIGH_AFTER.match(after):
                continue
            if not (honorific or labelled) and _INSTITUTION_AFTER.match(after):
                continue  # 田中角栄内閣, 長谷川町子美術館: a name used as part of another name
            if public_notice and not labelled and (
                _TITLE_BEFORE.search(before) or _TITLE_AFTER.match(after) or _CONTACT_BEFORE.search(before)
            ):
                continue
            if honorific:
                reason = "敬称付きの氏名 / personal name with honorific"
            elif labelled:
                reason = "氏名欄の氏名 / personal name after a name label"
            else:
                reason = "氏名（姓名）/ personal name (family and given name)"
            items.append(Item("PERSON", span_start, span_end, 2, reason))
    return items


def _is_kanji(value: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" or ch == "々" for ch in value)
