"""Person names through SudachiPy (人名/姓/名 part-of-speech tags) plus context.

A run of 人名 tokens counts as a person when it is a full name (姓 + 名), is followed by an
honorific (さん/様/氏/殿/君 …), follows a label (氏名, 申請者, 相談者, 相手方 …) or introduces
itself (鈴木です, 佐藤と申します). Tokens that are not in the dictionary count too when an
honorific follows (ヤマダさん). A surname followed by a space and a short token shaped like a
given name (kana, one kanji, or kanji with a usual given-name ending: 中川 さくら, 高橋 楓) is a
full name when the name ends there (line end, punctuation, です …). Romanised names in passport
order (GARCIA Maria) count after a name label.

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
    r"契約者|受給者|対象者|連絡者|通報者|依頼者|送付先|宛先|宛名|相手方|(?<![A-Za-z])name)[ \t]*(?:名)?[ \t]*[:：は]?[ \t]*(?:\(|（)?$",
    re.I,
)
# A self-introduction after the name: 鈴木です。 / 佐藤と申します / 田中と言います
_SELF_INTRO_AFTER = re.compile(r"[ \t]*(?:です|と申します|と申し|と言います|といいます)")
# A given name written after the surname with a space, where SudachiPy does not know it as a
# given name (中川 さくら, 高橋 楓): a short token, then the end of the name (line end, space,
# punctuation, honorific or self-introduction).
_NOT_GIVEN_NAMES = frozenset(("以下", "以上", "他", "外", "等", "宛", "宛て", "各位", "一同", "両名", "名", "ほか", "など", "まで", "から"))
_NAME_END = re.compile(r"(?:[ \t\n\r、,，。（(「]|$|です|と申|と言|といい|さん|様|さま|氏|殿|君|くん|ちゃん)")
_NAME_END_STRICT = re.compile(r"(?:[\n\r、,，。（(「]|[ \t]*$|です|と申|と言|といい|さん|様|さま|氏|殿|君|くん|ちゃん)")
_PLACE_WORD = re.compile(r".*(?:駅|県|市|町|村|区|港|空港|方面|付近|周辺|近く|線|通り|公園|城)$")
# Romanised names after a name label, passport order: GARCIA Maria, WANG Fang
_HAS_UPPER = re.compile(r"[A-Z]{2}")
_LATIN_NAME = re.compile(r"(?<![A-Za-z])[A-Z][A-Z'\-]+(?:[ \t]+[A-Z][a-z'\-]+){1,2}(?![A-Za-z])")
_HIGH_TITLES = (
    r"(?:代表取締役(?:社長|会長)?|代表執行役|危機管理監|技監|総監|副?大臣|大臣政務官|政務官|副?長官|副?知事|副?市長|副?町長|副?村長|区長|総理大臣|首相|議長|副議長|委員長|大使|総裁|"
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
            is_name = cat in _NAME_CATS or (
                # a word that is also a place name (上野, 石川) followed by a space and a given name
                cat == "proper"
                and _is_kanji(surface)
                and i + 2 < count
                and morphemes[i + 1][2] == "space"
                and len(morphemes[i + 1][3]) <= 2
                and morphemes[i + 2][2] == "mei"
            )
            if (
                not is_name
                and cat == "proper"
                and _is_kanji(surface)
                and i + 3 < count
                and morphemes[i + 1][2] == "space"
                and len(morphemes[i + 1][3]) <= 2
                and "\n" not in morphemes[i + 1][3]
                and morphemes[i + 2][2] in ("noun", "proper")
                and _given_name_shape(morphemes[i + 2][3], morphemes[i + 2][2] == "proper")
                and not _PLACE_WORD.match(morphemes[i + 2][3])
                and (_SELF_INTRO_AFTER.match(text, morphemes[i + 2][1]) or morphemes[i + 3][3] in _HONORIFICS)
            ):
                is_name = True  # 上野 舞です: a place-name word as a surname, given name, self-introduction
            if is_name and cat == "proper":
                cat = "sei"
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
                    if (
                        cats == {"sei"}
                        and j == i + 2
                        and len(morphemes[j][3]) == 1
                        and "\n" not in nxt[3]
                        and _NAME_END_STRICT.match(text, morphemes[j][1])
                    ):
                        cats.add("mei")  # 石川 楓: a one-character given name that is also a surname
                        break
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
                elif (
                    cats == {"sei"}
                    and j == i
                    and nxt[2] == "space"
                    and len(nxt[3]) <= 2
                    and "\n" not in nxt[3]
                    and j + 2 < count
                    and morphemes[j + 2][2] in ("noun", "proper")
                    and _given_name_shape(morphemes[j + 2][3], morphemes[j + 2][2] == "proper")
                    and not _TITLE_WORD.fullmatch(morphemes[j + 2][3])
                    and not _PLACE_WORD.match(morphemes[j + 2][3])
                    and _NAME_END.match(text, morphemes[j + 2][1])
                ):
                    j += 2  # 姓 + space + a given name not in the dictionary: 中川 さくら
                    cats.add("mei")
                    break
                else:
                    break
            span_start, span_end = start, morphemes[j][1]
            k = j + 1
            while k < count and morphemes[k][2] == "space":
                k += 1
            honorific = k < count and morphemes[k][3] in _HONORIFICS
            intro = not honorific and "sei" in cats and bool(_SELF_INTRO_AFTER.match(text, span_end))
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
            if not (honorific or labelled or full or unknown_before_honorific or intro):
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
            elif intro and not (labelled or full):
                reason = "名乗り（〜です／〜と申します）/ self-introduction"
            elif labelled:
                reason = "氏名欄の氏名 / personal name after a name label"
            else:
                reason = "氏名（姓名）/ personal name (family and given name)"
            items.append(Item("PERSON", span_start, span_end, 2, reason))
    if _HAS_UPPER.search(text):
        for m in _LATIN_NAME.finditer(text):
            start = m.start()
            line_start = text.rfind("\n", 0, start) + 1
            if _LABEL.search(text[max(line_start, start - 30) : start]) and all(
                m.end() <= it.start or start >= it.end for it in items
            ):
                items.append(Item("PERSON", start, m.end(), 2, "氏名欄の氏名 / personal name after a name label"))
    return items


_GIVEN_KANA = re.compile(r"[ぁ-ん]{2,4}|[ァ-ヴ]{2,3}")
# Common endings of given names (花子, 由美, 明日香, 太郎, 健介, 翔太 …).
_GIVEN_FINAL = frozenset("子美香奈恵代江枝郎夫雄男太介助也哉樹斗翔人輝菜乃花音希実佳里理紀織彦之吾治平蔵")
# One-character nouns that follow a name without being a given name (田中 案, 富士 山, 森 家).
_NOT_GIVEN_ONE = frozenset("案山川駅城町市村区外他等宛名氏様殿係課班組家邸宅側分用内前後中下上方派版号")


def _given_name_shape(surface: str, proper: bool) -> bool:
    """Could this token be a given name that the dictionary does not tag as one?"""
    if surface in _NOT_GIVEN_NAMES:
        return False
    if _GIVEN_KANA.fullmatch(surface):
        return True
    if not _is_kanji(surface):
        return False
    if len(surface) == 1:
        return surface not in _NOT_GIVEN_ONE
    return proper or surface[-1] in _GIVEN_FINAL


def _is_kanji(value: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" or ch == "々" for ch in value)
