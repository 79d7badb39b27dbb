"""Identifiers with validation: My Number, corporate number, phone, postal code, e-mail,
passport, driver's licence, bank account and dates of birth.

Runs on NFKC-normalised text (digits are ASCII). Digits may be split by spaces or hyphens.
Hard negatives are rejected by the check digits and by context: a 12-digit number that fails
the My Number check is a document/order number, never a My Number entity (when the text
says マイナンバー/個人番号 next to it, that is a class-2 reason only); a number after +81 is a
phone number; statute numbers (令和6年法律第123号), page ranges, amounts of money and dates
that are not dates of birth are never matched. A ゆうちょ 記号番号 written as one hyphenated
number (NNNNN-NNNNNNNN) is a bank account, not a 13-digit corporate number. Dates of birth are
also taken right after a person's name in parentheses (妻 山田 花子（昭和58年1月30日）), in
roster rows (name, perhaps 続柄/性別 columns, date; separated by spaces, commas, /, | or 、)
when the date is old (明治/大正/昭和), the text has a 生年月日 column or a relation column stands
between, and under a table's 生年月日 column; kanji-numeral dates (昭和十五年六月十日) count.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from gennai.policy.detection.prefilter import compile_guarded


class Item(NamedTuple):
    type: str
    start: int  # normalised offsets
    end: int
    cls: int
    reason: str


def my_number_is_valid(number: str) -> bool:
    """Check digit of a 12-digit 個人番号 (design note: weights n+1 for n ≤ 6, n−5 for n ≥ 7,
    n counted from the right over the first 11 digits)."""
    digits = _digits(number)
    if len(digits) != 12:
        return False
    body = digits[:11]
    total = 0
    for n in range(1, 12):
        p = int(body[11 - n])
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    r = total % 11
    check = 0 if r <= 1 else 11 - r
    return check == int(digits[11])


def corporate_number_is_valid(number: str) -> bool:
    """Check digit (the FIRST digit) of a 13-digit 法人番号."""
    digits = _digits(number)
    if len(digits) != 13:
        return False
    body = digits[1:]
    total = 0
    for n in range(1, 13):
        p = int(body[12 - n])
        total += p * (1 if n % 2 else 2)
    return 9 - (total % 9) == int(digits[0])


_NOT_DIGIT = re.compile(r"[^0-9]+")


def _digits(value: str) -> str:
    return _NOT_DIGIT.sub("", value)


_SEP = r"(?:[ \t]?[-ー][ \t]?|[ \t])"
_NB = r"(?<![0-9])(?<![0-9][-ー.,])"  # not after a digit (or digit + separator)
_NA = r"(?![0-9])(?![-ー.,]?[0-9])"  # not before one


def _near(text: str, start: int, words: re.Pattern[str], before: int = 30, after: int = 0, end: int | None = None) -> bool:
    if words.search(text, max(0, start - before), start):
        return True
    if after and end is not None:
        return bool(words.search(text, end, min(len(text), end + after)))
    return False


# --- 12 and 13 digit numbers -------------------------------------------------------------
# Not after "+" either: +81 80 1234 5678 is an international phone number, never a My Number.
# After a digit and a comma only as a CSV field of 12 or 13 digits in a row (…,1976-02-11,218362852612,…),
# never inside an amount (1,234,567,890,123).
_D12_13 = compile_guarded(
    r"(?<![0-9])(?:(?<![0-9][-ー.,])|(?<=[0-9],)(?=[0-9]{12,13}(?![0-9])))"
    r"(?<!\+)(?<!\+[ \t])[0-9](?:" + _SEP + r"?[0-9]){11,12}" + r"(?![0-9])(?![-ー]?[0-9])"
)
_MYNUMBER_WORDS = compile_guarded(r"マイ[ \t]*ナンバー|個[ \t]*人[ \t]*番[ \t]*号|my[ \t]*number", re.I)
_LICENCE_WORDS = compile_guarded(r"免[ \t]*許")
# A whole phone number (0 + area code, hyphens) ending a run of digits that passes the My Number
# check only by chance: the digits before it are something else (a block number)
_PHONE_TAIL = compile_guarded(r"[ \t]0[0-9]{1,4}-[0-9]{1,4}-[0-9]{4}$")  # (the text is NFKC-folded: 　 is a space)
_NEAR_MY_NUMBER = compile_guarded(
    r"(?:マイ[ \t]*ナンバー|個[ \t]*人[ \t]*番[ \t]*号)[ \t]*(?:欄)?[ \t]*[:：は]?[ \t]*[「『(（]?[ \t]*(?P<n>[0-9](?:[ \t\-]?[0-9]){9,12})(?![0-9])"
)
_CORP_WORDS = compile_guarded(r"法[ \t]*人[ \t]*番[ \t]*号")
_OTHER_NUMBER_WORDS = compile_guarded(
    r"(?:文書|注文|受付|管理|整理|伝票|会員|契約|案件|請求|問合せ|申請|登録|受理|発注|製造|シリアル|識別|証券|保険証)[ \t]*(?:番号|No\.?|ID)",
    re.I,
)

# --- phone numbers -----------------------------------------------------------------------
_PSEP = r"(?:[ \t]?[-ー.][ \t]?|[ \t])"
_PHONE = compile_guarded(
    r"(?<![0-9+\-_@])(?<![0-9][.])(?<![A-Za-z0-9._%+\-]@[A-Za-z0-9.\-])(?:"
    r"\+[ \t]?81[ \t-]?(?:\(0\)[ \t]?)?[1-9][0-9]{0,3}" + _PSEP + r"[0-9]{1,4}" + _PSEP + r"[0-9]{4}"
    r"|\+[ \t]?81[ \t-]?[1-9][0-9]{8,9}"
    r"|\(0[0-9]{1,4}\)[ \t]?[0-9]{1,4}" + _PSEP + r"?[0-9]{4}"
    r"|0[0-9]{1,4}[ \t]?\([0-9]{1,4}\)[ \t]?[0-9]{4}"
    r"|0[0-9]{1,4}" + _PSEP + r"[0-9]{1,4}" + _PSEP + r"[0-9]{3,4}"
    # toll-free and navigation-dial numbers written in two groups: 0570-013904, 0800-1234567
    r"|0(?:120|570|990)" + _PSEP + r"[0-9]{6}|0800" + _PSEP + r"[0-9]{7}"
    r"|0[0-9]{9,10}"
    r")(?![0-9])(?![-ー][0-9])"
)


def phone_is_valid(value: str) -> bool:
    digits = _digits(value)
    if value.lstrip().startswith("+"):
        rest = digits[2:]
        if rest.startswith("0"):
            rest = rest[1:]
        digits = "0" + rest
    if not digits.startswith("0"):
        return False
    if digits[:3] in ("070", "080", "090", "050") or digits[:4] == "0800":
        return len(digits) == 11
    if digits[:4] in ("0120", "0570", "0990"):
        return len(digits) == 10
    return len(digits) == 10 and digits[1] != "0"


def phone_is_mobile(value: str) -> bool:
    digits = _digits(value)
    if value.lstrip().startswith("+"):
        digits = "0" + digits[2:].lstrip("0")
    return digits[:3] in ("070", "080", "090") and digits[:4] != "0800"  # 0800: toll-free


def phone_is_business(value: str) -> bool:
    """Toll-free (0120, 0800) and navigation-dial (0570) numbers are contracted by
    businesses and offices, never a private person's line."""
    digits = _digits(value)
    if value.lstrip().startswith("+"):
        digits = "0" + digits[2:].lstrip("0")
    return digits[:4] in ("0120", "0800", "0570")


# --- postal codes, e-mail, passport ------------------------------------------------------
_PREFS = (
    "北海道|青森県|岩手県|宮城県|秋田県|山形県|福島県|茨城県|栃木県|群馬県|埼玉県|千葉県|東京都|神奈川県|"
    "新潟県|富山県|石川県|福井県|山梨県|長野県|岐阜県|静岡県|愛知県|三重県|滋賀県|京都府|大阪府|兵庫県|"
    "奈良県|和歌山県|鳥取県|島根県|岡山県|広島県|山口県|徳島県|香川県|愛媛県|高知県|福岡県|佐賀県|長崎県|"
    "熊本県|大分県|宮崎県|鹿児島県|沖縄県"
)
_ASCII_LETTERS = compile_guarded(r"[A-Za-z]{3}")
_PREFS_ROMAN = (
    "Hokkaido|Aomori|Iwate|Miyagi|Akita|Yamagata|Fukushima|Ibaraki|Tochigi|Gunma|Saitama|Chiba|Tokyo|Kanagawa|"
    "Niigata|Toyama|Ishikawa|Fukui|Yamanashi|Nagano|Gifu|Shizuoka|Aichi|Mie|Shiga|Kyoto|Osaka|Hyogo|Nara|Wakayama|"
    "Tottori|Shimane|Okayama|Hiroshima|Yamaguchi|Tokushima|Kagawa|Ehime|Kochi|Fukuoka|Saga|Nagasaki|Kumamoto|Oita|"
    "Miyazaki|Kagoshima|Okinawa|Japan|JAPAN"
)
_POSTAL = compile_guarded(
    r"〒[ \t]*(?P<a>[0-9]{3}[ \t]?[-ー]?[ \t]?[0-9]{4})(?![0-9])"
    r"|郵[ \t]*便[ \t]*番[ \t]*号[ \t]*(?:は|[:：])?[ \t]*(?P<b>[0-9]{3}[-ー]?[0-9]{4})(?![0-9])"
    r"|" + _NB + r"(?P<c>[0-9]{3}-[0-9]{4})(?![0-9])(?=[ \t]*(?:" + _PREFS + r"))"
)
# A postal code ending an address written in English order (…, Toyohashi-shi, Aichi 440-0016;
# Nagano, 386-0018) or after ZIP / CEP / Código postal: the code is found first, then the few
# characters before it are read (the words would make every Latin letter a place to start).
_POSTAL_DIGITS = compile_guarded(r"(?<![0-9\-])[0-9]{3}-?[0-9]{4}(?![0-9\-])")
_POSTAL_ENGLISH_BEFORE = compile_guarded(
    r"(?:(?:" + _PREFS_ROMAN + r")(?:-(?:ken|fu|to))?,?[ \t]+"
    r"|(?:ZIP|Zip|zip|Postal [Cc]ode|Post [Cc]ode|[Pp]ostcode|CEP|[Cc]ódigo [Pp]ostal|[Kk]ode [Pp]os)[ \t]*[:：]?[ \t]*)$"
)
_EMAIL = compile_guarded(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}"
)
_PASSPORT = compile_guarded(r"(?<![A-Za-z0-9])[A-Za-z]{2}[ \t]?[0-9]{7}(?![0-9])")
_PASSPORT_WORDS = compile_guarded(r"旅[ \t]*券|パ[ \t]*ス[ \t]*ポ[ \t]*ー[ \t]*ト|passport|passaporte|pasaporte|paspor|hộ chiếu", re.I)

# --- bank accounts -----------------------------------------------------------------------
_BANK_WORDS = compile_guarded(r"口[ \t]*座|普[ \t]*通|当[ \t]*座|支[ \t]*店|銀[ \t]*行|信[ \t]*用[ \t]*金[ \t]*庫|信[ \t]*金|振[ \t]*込|ゆうちょ|貯[ \t]*金|預[ \t]*金")
_BANK = compile_guarded(
    # ゆうちょ銀行 記号(5)-番号(8)
    r"(?P<jp>" + _NB + r"1[0-9]{4}" + _SEP + r"?[0-9]{7,8})" + _NA +
    # bank 4 + branch 3 + account 7
    r"|(?P<full>" + _NB + r"[0-9]{4}" + _SEP + r"[0-9]{3}" + _SEP + r"[0-9]{7})" + _NA +
    # branch 3 + account 7 / account 7 alone (with context)
    r"|(?P<acct>" + _NB + r"(?:[0-9]{3}" + _SEP + r")?[0-9]{7})" + _NA
)
_JP_BANK = compile_guarded(r"記[ \t]*号[ \t]*[:：]?[ \t]*(1[0-9]{4})[ \t]*[,、]?[ \t]*番[ \t]*号[ \t]*[:：]?[ \t]*([0-9]{7,8})(?![0-9])")
# ゆうちょ銀行 記号(5)-番号(8) as one hyphenated number; corporate numbers are not written so.
_JP_BANK_SHAPE = compile_guarded(r"1[0-9]{4}[ \t]?[-ー][ \t]?[0-9]{8}")
_JP_BANK_WORDS = compile_guarded(r"ゆうちょ|記[ \t]*号|貯[ \t]*金|郵[ \t]*便[ \t]*貯")
_NOT_MONEY_AFTER = compile_guarded(r"[ \t]*(?:円|万|千|億|人|件|年|号|日|回|個|枚|名(?!義)|%|ページ|頁|kg|km|m)")

# --- dates of birth ----------------------------------------------------------------------
_KNUM = r"[一二三四五六七八九十〇]{1,3}"
_DATE = (
    r"(?:(?:明治|大正|昭和|平成|令和|[MTSHR]\.?)[ \t]*(?:元|[0-9]{1,2})[ \t]*年[ \t]*[0-9]{1,2}[ \t]*月[ \t]*[0-9]{1,2}[ \t]*日"
    r"|(?:明治|大正|昭和|平成|令和)[ \t]*(?:元|" + _KNUM + r")[ \t]*年[ \t]*" + _KNUM + r"[ \t]*月[ \t]*" + _KNUM + r"[ \t]*日"
    # 1988（昭和63）年7月7日, 昭和63（1988）年7月7日
    r"|(?:18|19|20)[0-9]{2}[ \t]*[(（][ \t]*(?:明治|大正|昭和|平成|令和)[ \t]*(?:元|[0-9]{1,2})[ \t]*[)）][ \t]*年[ \t]*[0-9]{1,2}[ \t]*月[ \t]*[0-9]{1,2}[ \t]*日"
    r"|(?:明治|大正|昭和|平成|令和)[ \t]*(?:元|[0-9]{1,2})[ \t]*[(（][ \t]*(?:18|19|20)[0-9]{2}[ \t]*[)）][ \t]*年[ \t]*[0-9]{1,2}[ \t]*月[ \t]*[0-9]{1,2}[ \t]*日"
    r"|(?:[MTSHR]\.?|明治|大正|昭和|平成|令和)[ \t]?[0-9]{1,2}[./][0-9]{1,2}[./][0-9]{1,2}(?![0-9])"
    r"|(?:18|19|20)[0-9]{2}[ \t]*年[ \t]*[0-9]{1,2}[ \t]*月[ \t]*[0-9]{1,2}[ \t]*日"
    r"|(?:18|19|20)[0-9]{2}[/.\-][0-9]{1,2}[/.\-][0-9]{1,2}"
    r"|[0-9]{1,2}/[0-9]{1,2}/(?:18|19|20)[0-9]{2}(?![0-9]))"  # 15/03/1990 (day or month first)
)
# 14 May 1983, May 14, 1983 (only after an English birth label)
_EN_DATE = (
    r"(?:[0-9]{1,2}[ \t]+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?[ \t]+(?:18|19|20)[0-9]{2}"
    r"|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?[ \t]+[0-9]{1,2},?[ \t]+(?:18|19|20)[0-9]{2})"
)
_BIRTH_ENGLISH = compile_guarded(r"(?:date of birth|birth ?date|DOB|born(?: on)?)(?:[ \t]+is)?[ \t]*[:：]?[ \t]*(?P<a>" + _EN_DATE + ")", re.I)
# 14 de septiembre de 2016, 22 de maio de 1996 (only after a birth label)
_ES_PT_DATE = (
    r"[0-9]{1,2}[ \t]+de[ \t]+(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre"
    r"|janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|novembro|dezembro)[ \t]+de[ \t]+(?:18|19|20)[0-9]{2}"
)
# Birth labels in the languages of foreign residents' letters: nasci em, nacido el, lahir, ipinanganak
_BIRTH_FOREIGN = r"|nasci em|nascid[oa] em|data de nascimento|nacid[oa] el|fecha de nacimiento|tanggal lahir|lahir(?: pada)?|ipinanganak(?: noong)?|kapanganakan"
_BIRTH = compile_guarded(
    r"(?:生[ \t]*年[ \t]*月[ \t]*日|誕[ \t]*生[ \t]*日|生まれ|出生日|出生の年月日|date of birth|birth ?date|DOB|born(?: on)?|sinh ngày" + _BIRTH_FOREIGN + r")"
    r"(?:[ \t]+is)?[ \t]*(?:[(（](?:西暦|和暦|[A-Za-z /.]{2,16})[)）])?[ \t]*[:：はが]?[ \t]*"
    r"(?:\r?\n[ \t]*)?(?:\(|（)?[ \t]*(?P<a>" + _DATE + "|" + _ES_PT_DATE + r")"
    r"|(?P<b>" + _DATE + r")[ \t]*(?:\([0-9]{1,3}歳\))?[ \t]*(?:生まれ|うまれ|生(?![活産徒命成涯協き])|出生)",
    re.I,
)
_RANGE_BEFORE = compile_guarded(r"[～~〜][ \t]*$")
_ANIMAL_BEFORE = compile_guarded(r"(?:犬|猫|ペット|動物|飼い犬|飼い猫|愛犬|愛猫)[ \t]*の?[ \t]*$")
# A date standing alone after a person's name at the end of a line of a form or roster:
# "申請者 山田 花子　昭和50年1月2日", "鈴木一郎（総務課）　1980/04/01".
_DATE_AFTER_NAME = compile_guarded(
    r"(?:[ \t]*[（(][^）)\n]{1,15}[）)])?[ \t]*[ \t、,][ \t]*(?P<d>" + _DATE + r")[ \t]*(?:[（(][0-9]{1,3}歳[）)])?[ \t]*(?=\r?\n|$)"
)
# A date in parentheses right after a person's name: "妻 山田 花子（昭和60年1月2日）",
# "（平成3年4月5日、33歳）".
_DATE_IN_PARENS_AFTER_NAME = compile_guarded(
    r"[ \t]*[（(][ \t]*(?P<d>" + _DATE + r")[ \t]*(?:生まれ|生)?[ \t]*(?:[、,][ \t]*[0-9]{1,3}[ \t]*歳)?[ \t]*[）)]"
)
# A roster row: name, then perhaps a short column or two (続柄, 性別, age), the date, then the end
# of the line or more columns; columns separated by spaces, commas, 、, / or | ("1 山田 花子 昭和10年1月2日
# 市内…", "山田 花子／妻／H5.1.29／パート", "| 山田 花子 | 1990年1月2日 | …", "山田 陽菜　長女　2015/08/03"):
# a date of birth when the text has a 生年月日 column, the date is old (明治/大正/昭和) or a
# relation or sex column stands between.
_CELL_SEP = r"(?:[ \t]*[,、/|][ \t]*|[ \t]+)"
_DATE_IN_ROW_AFTER_NAME = compile_guarded(
    r"(?:[ \t]*[（(][^）)\n]{1,15}[）)])?"
    r"(?P<cells>(?:" + _CELL_SEP + r"(?:[^\s,、/|0-9()（）]{1,6}|[0-9]{1,3}[ \t]?歳)){0,2})"
    + _CELL_SEP + r"(?P<d>" + _DATE + r")"
    r"(?:(?P<eol>[ \t]*(?:[（(][0-9]{1,3}歳[）)])?[ \t]*(?:[,、/|][ \t]*)?(?=\r?\n|$))|" + _CELL_SEP + r"(?=\S))"
)
_ROW_RELATION = compile_guarded(
    r"(?:夫|妻|配偶者|長男|長女|次男|次女|三男|三女|四男|四女|子|父|母|祖父|祖母|孫|兄|姉|弟|妹|本人|世帯主|男|女|男性|女性|[0-9]{1,3}[ \t]?歳)"
)
_OLD_ERA = compile_guarded(r"明治|大正|昭和|[MTS]")
_BIRTH_HEADER = compile_guarded(r"生[ \t]*年[ \t]*月[ \t]*日")
_EVENT_AFTER = compile_guarded(r"[ \t]*(?:付|から|まで|より|に|採用|入庁|入社|退職|死亡|転入|転出|受付|受理|届出|開始|終了|現在|時点|以降)")
_ANY_DIGIT = compile_guarded(r"[0-9]")
_BIRTH_EN = compile_guarded(r"birth|DOB|born|sinh ngày|nasci|nacid|nascimento|lahir|ipinanganak|kapanganakan", re.I)
_NUMBERS = compile_guarded(r"[0-9]+")


_KANJI_ERA = compile_guarded(r"(?:明治|大正|昭和|平成|令和)[ \t]*(?:元|" + _KNUM + r")[ \t]*年")
_CELL_SPLIT = compile_guarded(r"[ \t,、/|]+")
_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_NUMBER = compile_guarded(_KNUM)


def _kanji_number(value: str) -> str:
    """十五 → 15, 二十三 → 23, 六 → 6 (numbers up to 99)."""
    if "十" in value:
        tens, _, ones = value.partition("十")
        return str(_KANJI_DIGITS.get(tens, 1) * 10 + (_KANJI_DIGITS.get(ones, 0) if ones else 0))
    return "".join(str(_KANJI_DIGITS[ch]) for ch in value)


_LATIN_LETTER = compile_guarded(r"[A-Za-z]{3}")
_NUMBER_LIST_LINE = compile_guarded(r"[ \t]*[0-9]{3,6}(?:[ \t]+[0-9]{3,6})+[ \t]*")


def _in_number_list(text: str, raw: str, start: int, end: int) -> bool:
    """Twelve digits in groups separated only by spaces, inside a list of numbers (exam or
    reception numbers: "1003　1017　1024 …" over several lines): not one number. A My Number
    written with spaces counts only when nothing around it is such a list."""
    if "-" in raw or " " not in raw and "\t" not in raw:
        return False
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    if text[line_start:start].strip(" \t0123456789") == "" and text[line_start:start].strip() or text[end:line_end].strip(" \t0123456789") == "" and text[end:line_end].strip():
        return True  # more numbers on the same line
    lines = text[max(0, line_start - 200) : line_end + 200].split("\n")
    here = text[line_start:line_end]
    return sum(1 for line in lines if line != here and _NUMBER_LIST_LINE.fullmatch(line)) >= 1


def _valid_date(value: str) -> bool:
    if not _ANY_DIGIT.search(value):
        value = _KANJI_NUMBER.sub(lambda k: _kanji_number(k.group()), value)
    numbers = _NUMBERS.findall(value)
    if _LATIN_LETTER.search(value):  # 14 May 1983, May 14, 1983: the day is the short number
        return any(len(n) <= 2 and 1 <= int(n) <= 31 for n in numbers)
    if len(numbers) < 2:
        return False
    if len(numbers) == 3 and len(numbers[-1]) == 4:  # 15/03/1990, 03/15/1990
        a, b = int(numbers[0]), int(numbers[1])
        return (1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31)
    month, day = int(numbers[-2]), int(numbers[-1])
    return 1 <= month <= 12 and 1 <= day <= 31


def _says_my_number(text: str, start: int) -> bool:
    """マイナンバー/個人番号 stands just before the number, and no other number's label
    (受付番号, 文書番号 …) stands between it and the number."""
    window_start = max(0, start - 25)
    last = None
    for last in _MYNUMBER_WORDS.finditer(text, window_start, start):
        pass
    if last is None:
        return False
    return _OTHER_NUMBER_WORDS.search(text, last.end(), start) is None


def find_identifiers(
    text: str, cues: list[tuple[int, int, str]] | None = None, my_number_cells: tuple[tuple[int, int], ...] = ()
) -> list[Item]:
    """Identifiers in text. A 12-digit number labelled マイナンバー/個人番号 (before it, or as
    its table column: `my_number_cells`) that fails the check digit is not a My Number (design
    note); it is appended to `cues` (if given) as a class-2 reason without an entity."""
    items: list[Item] = []
    taken: list[tuple[int, int]] = []

    def add(item: Item) -> None:
        items.append(item)
        taken.append((item.start, item.end))

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    if not _ANY_DIGIT.search(text):
        # dates of birth in kanji numerals (昭和十五年六月十日生まれ), e-mail addresses
        for m in _BIRTH.finditer(text) if ("生" in text or "誕" in text) and _KANJI_ERA.search(text) else ():
            group = "a" if m.group("a") else "b"
            if _valid_date(m.group(group)):
                add(Item("BIRTH_DATE", *m.span(group), 2, "生年月日 / date of birth"))
        for m in _EMAIL.finditer(text) if "@" in text else ():
            add(Item("EMAIL", m.start(), m.end(), 1, "メールアドレス / e-mail address"))
        return items

    for m in _D12_13.finditer(text):
        raw = m.group()
        digits = _digits(raw)
        start, end = m.span()
        if len(digits) == 13:
            if _JP_BANK_SHAPE.fullmatch(raw) and not _near(text, start, _CORP_WORDS) and _near(text, start, _JP_BANK_WORDS):
                continue  # ゆうちょ 記号番号 NNNNN-NNNNNNNN: a bank account (below), never a corporate number
            if corporate_number_is_valid(digits):
                add(Item("CORPORATE_NUMBER", start, end, 1, "法人番号（検査数字一致）/ corporate number with valid check digit (public)"))
            elif _near(text, start, _CORP_WORDS):
                add(Item("CORPORATE_NUMBER", start, end, 1, "法人番号の記載 / labelled corporate number (public)"))
            continue
        says_my_number = _says_my_number(text, start) or any(a <= start and end <= b for a, b in my_number_cells)
        if _near(text, start, _LICENCE_WORDS, before=25) and not says_my_number:
            add(Item("DRIVERS_LICENSE", start, end, 2, "運転免許証番号 / driver's licence number"))
        elif says_my_number:
            if my_number_is_valid(digits):
                add(Item("MY_NUMBER", start, end, 2, "マイナンバー（検査数字一致）/ My Number with valid check digit"))
            else:
                # Fails the check digit: not a My Number, but the text says マイナンバー.
                taken.append((start, end))
                if cues is not None:
                    cues.append((start, end, "マイナンバーの記載（検査数字不一致）/ number labelled as My Number (check digit fails)"))
        elif (
            my_number_is_valid(digits)
            and not _near(text, start, _OTHER_NUMBER_WORDS, before=15)
            and not _in_number_list(text, raw, start, end)
            and not _PHONE_TAIL.search(raw)  # 桜口町4丁目2-1　078-843-5902: a block number, then a phone number
        ):
            add(Item("MY_NUMBER", start, end, 2, "マイナンバー（検査数字一致）/ My Number with valid check digit"))

    # 個人番号 97378382480: a number of 10-13 digits written as a My Number but not 12 digits
    # (a mistyped one) is no My Number, but the text says it is one
    for m in _NEAR_MY_NUMBER.finditer(text) if cues is not None and _MYNUMBER_WORDS.search(text) else ():
        if free(*m.span("n")) and len(_digits(m.group("n"))) in (10, 11, 13):
            taken.append(m.span("n"))
            cues.append((m.start("n"), m.end("n"), "マイナンバーの記載（桁数不一致）/ number labelled as My Number (wrong length)"))

    for m in _PASSPORT.finditer(text) if _PASSPORT_WORDS.search(text) else ():
        if free(*m.span()) and _near(text, m.start(), _PASSPORT_WORDS, before=30):
            add(Item("PASSPORT", m.start(), m.end(), 2, "旅券番号 / passport number"))

    for m in _BIRTH.finditer(text) if ("生" in text or "誕" in text or "うまれ" in text or _BIRTH_EN.search(text)) else ():
        group = "a" if m.group("a") else "b"
        start, end = m.span(group)
        if _RANGE_BEFORE.search(text, max(0, start - 3), start):
            continue  # 昭和35年4月2日～昭和36年4月1日生まれ: a range of birth dates (who is eligible), not someone's
        if _ANIMAL_BEFORE.search(text, max(0, text.rfind("\n", 0, m.start()) + 1, m.start() - 12), m.start()):
            continue  # 犬の生年月日: a pet's
        if free(start, end) and _valid_date(m.group(group)):
            add(Item("BIRTH_DATE", start, end, 2, "生年月日 / date of birth"))
    for m in _BIRTH_ENGLISH.finditer(text) if _BIRTH_EN.search(text) else ():
        if free(*m.span("a")) and _valid_date(m.group("a")):
            add(Item("BIRTH_DATE", *m.span("a"), 2, "生年月日 / date of birth"))

    bank_words = bool(_BANK_WORDS.search(text))
    for m in _JP_BANK.finditer(text) if "記" in text else ():
        start, end = m.start(1), m.end(2)
        if free(start, end):
            add(Item("BANK_ACCOUNT", start, end, 2, "ゆうちょ銀行の記号・番号 / Japan Post Bank account"))

    for m in _BANK.finditer(text) if bank_words else ():
        start, end = m.span()
        if not free(start, end):
            continue
        if m.group("jp") and not re.search(r"ゆうちょ|記[ \t]*号|貯[ \t]*金", text[max(0, start - 30) : start]):
            if not _near(text, start, _BANK_WORDS):
                continue
        elif not _near(text, start, _BANK_WORDS, before=30):
            continue
        if _NOT_MONEY_AFTER.match(text, end) or text[max(0, start - 1) : start] in ("¥", "\\", "$"):
            continue
        if re.search(r"郵[ \t]*便[ \t]*番[ \t]*号|〒|電[ \t]*話|TEL|FAX", text[max(0, start - 12) : start], re.I):
            continue
        add(Item("BANK_ACCOUNT", start, end, 2, "口座番号 / bank account number"))

    for m in _EMAIL.finditer(text) if "@" in text else ():
        if free(*m.span()):
            add(Item("EMAIL", m.start(), m.end(), 1, "メールアドレス / e-mail address"))

    for m in _PHONE.finditer(text):
        start, end = m.span()
        if free(start, end) and phone_is_valid(m.group()):
            add(Item("PHONE", start, end, 1, "電話番号 / phone number"))

    for m in _POSTAL.finditer(text) if ("〒" in text or "郵" in text or "-" in text) else ():
        group = next(g for g in ("a", "b", "c") if m.group(g))
        start, end = m.span(group)
        if free(start, end):
            add(Item("POSTAL_CODE", start, end, 1, "郵便番号 / postal code"))
    for m in _POSTAL_DIGITS.finditer(text) if _ASCII_LETTERS.search(text) else ():
        if _POSTAL_ENGLISH_BEFORE.search(text, max(0, m.start() - 40), m.start()) and free(*m.span()):
            add(Item("POSTAL_CODE", m.start(), m.end(), 1, "郵便番号 / postal code"))

    return items


def birth_dates_in_cells(text: str, cells: tuple[tuple[int, int], ...]) -> list[Item]:
    """Dates in the cells of a table's 生年月日 column."""
    out: list[Item] = []
    for start, end in cells:
        m = _CELL_DATE.fullmatch(text, start, end)
        if m and _valid_date(m.group("d")):
            out.append(Item("BIRTH_DATE", m.start("d"), m.end("d"), 2, "生年月日欄の日付 / date in a date-of-birth column"))
    return out


_CELL_DATE = compile_guarded(r"(?P<d>" + _DATE + r")[ \t]*(?:生まれ|生)?[ \t]*(?:[(（][0-9]{1,3}[ \t]?歳[)）])?")


def birth_dates_after_people(text: str, people: list[Item]) -> list[Item]:
    """Dates that stand alone right after a person's name at the end of a line (a form or a
    roster of people): dates of birth, though no 生年月日 label is written."""
    out: list[Item] = []
    header: bool | None = None
    for person in people:
        if person.type != "PERSON":
            continue
        m = _DATE_AFTER_NAME.match(text, person.end) or _DATE_IN_PARENS_AFTER_NAME.match(text, person.end)
        if m is None:
            m = _DATE_IN_ROW_AFTER_NAME.match(text, person.end)
            if m is not None:
                cells = [c for c in _CELL_SPLIT.split(m.group("cells")) if c]
                if header is None:
                    header = bool(_BIRTH_HEADER.search(text))
                if _EVENT_AFTER.match(text, m.end("d")):
                    m = None
                elif not (
                    (m.group("eol") is not None and not cells)
                    or header
                    or (not cells and _OLD_ERA.match(m.group("d")))
                    or (cells and all(_ROW_RELATION.fullmatch(c) for c in cells))
                ):
                    m = None
        if m and _valid_date(m.group("d")):
            out.append(Item("BIRTH_DATE", m.start("d"), m.end("d"), 2, "氏名に続く生年月日 / date of birth next to a name"))
    return out
