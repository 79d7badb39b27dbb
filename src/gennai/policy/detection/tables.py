"""Columns of simple tables: a header row naming its columns (氏名, 担当者, 住所 …) and the rows
under it, with cells separated by |, a comma, a tab or /.

    | 受付番号 | 氏名 | 住所 |            氏名,生年月日,地区
    |---|---|---|                          山田 花子,S12.3.4,東地区
    | 101 | 山田 花子 | ○○市△△町12 |

A cell under a name column is a labelled name field (a surname alone counts, as after 氏名：),
a cell under an address column is a labelled 住所 field, a date under a 生年月日 column is a
date of birth. Header rows of public rosters are
treated like any other: what is done with the cells is decided by the callers.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from gennai.policy.detection.prefilter import compile_guarded

_HINT = compile_guarded(r"氏名|名前|ふりがな|フリガナ|よみがな|ヨミガナ|担当者|申請者|代表者|世帯主|相談者|利用者|対象者|住所|居住地|住居地|生年月日|誕生日|個人番号|マイナンバー")
_NAME_HEADER = compile_guarded(r"(?![^\s]{0,6}?(?:犬|猫|ペット|動物|施設|会社|団体|法人|事業所|店|商品|物件|建物|ファイル|病院|学校)の?(?:氏名|名前))[^\s]{0,6}(?:氏名|名前)|お名前|担当者名?|申請者名?|届出人|代表者名?|世帯主名?|相談者名?|利用者名?|対象者名?|児童名|契約者名?|ふりがな|フリガナ|よみがな|ヨミガナ|(?:氏名)?カナ(?:氏名)?|氏名[(（](?:ふりがな|フリガナ|カナ)[)）]")
_ADDRESS_HEADER = compile_guarded(r"現?住所|居住地|住居地|お住まい")
_BIRTH_HEADER = compile_guarded(r"生年月日(?:[(（][^)）\n]{1,6}[)）])?|誕生日")
_MY_NUMBER_HEADER = compile_guarded(r"個人番号|マイナンバー|My ?Number", re.I)
_RULE_ROW = compile_guarded(r"[ \t]*\|?[ \t:\-|]+[ \t]*")
_SEPARATORS = ("|", "\t", ",", "/")


class Columns(NamedTuple):
    names: tuple[tuple[int, int], ...]  # cell spans (stripped) under a name column
    addresses: tuple[tuple[int, int], ...]  # cell spans under an address column
    births: tuple[tuple[int, int], ...] = ()  # cell spans under a 生年月日 column
    my_numbers: tuple[tuple[int, int], ...] = ()  # cell spans under a 個人番号 column

    def in_name_cell(self, start: int, end: int) -> bool:
        return any(a <= start and end <= b for a, b in self.names)

    def in_address_cell(self, start: int, end: int) -> bool:
        return any(a <= start and end <= b for a, b in self.addresses)

    def in_my_number_cell(self, start: int, end: int) -> bool:
        return any(a <= start and end <= b for a, b in self.my_numbers)


NO_COLUMNS = Columns((), ())


def cells(text: str, start: int, end: int, sep: str) -> list[tuple[int, int]]:
    """Stripped cell spans of the line text[start:end] split on sep (a leading and trailing |
    of a Markdown row are not cells)."""
    spans = []
    pos = start
    while True:
        cut = text.find(sep, pos, end)
        stop = end if cut < 0 else cut
        a, b = pos, stop
        while a < b and text[a] in " \t\r":
            a += 1
        while b > a and text[b - 1] in " \t\r":
            b -= 1
        spans.append((a, b))
        if cut < 0:
            break
        pos = cut + 1
    if sep == "|":
        if spans and spans[0][0] == spans[0][1]:
            spans = spans[1:]
        if spans and spans[-1][0] == spans[-1][1]:
            spans = spans[:-1]
    return spans


def find_columns(text: str) -> Columns:
    if not _HINT.search(text):
        return NO_COLUMNS
    names: list[tuple[int, int]] = []
    addresses: list[tuple[int, int]] = []
    births: list[tuple[int, int]] = []
    my_numbers: list[tuple[int, int]] = []
    lines: list[tuple[int, int]] = []
    pos = 0
    n = len(text)
    while pos <= n:
        cut = text.find("\n", pos)
        stop = n if cut < 0 else cut
        lines.append((pos, stop))
        if cut < 0:
            break
        pos = cut + 1
    k = 0
    while k < len(lines):
        start, end = lines[k]
        k += 1
        if not _HINT.search(text, start, end):
            continue
        for sep in _SEPARATORS:
            if text.find(sep, start, end) < 0:
                continue
            header = cells(text, start, end, sep)
            if len(header) < 2:
                continue
            name_cols = {i for i, (a, b) in enumerate(header) if _NAME_HEADER.fullmatch(text, a, b)}
            addr_cols = {i for i, (a, b) in enumerate(header) if _ADDRESS_HEADER.fullmatch(text, a, b)}
            birth_cols = {i for i, (a, b) in enumerate(header) if _BIRTH_HEADER.fullmatch(text, a, b)}
            number_cols = {i for i, (a, b) in enumerate(header) if _MY_NUMBER_HEADER.fullmatch(text, a, b)}
            if not (name_cols or addr_cols or birth_cols or number_cols):
                continue
            while k < len(lines):
                row_start, row_end = lines[k]
                if row_start == row_end or text.find(sep, row_start, row_end) < 0:
                    break
                k += 1
                if sep == "|" and _RULE_ROW.fullmatch(text, row_start, row_end):
                    continue  # |---|---|
                row = cells(text, row_start, row_end, sep)
                if len(row) != len(header):
                    continue
                names.extend(row[i] for i in name_cols if row[i][0] < row[i][1])
                addresses.extend(row[i] for i in addr_cols if row[i][0] < row[i][1])
                births.extend(row[i] for i in birth_cols if row[i][0] < row[i][1])
                my_numbers.extend(row[i] for i in number_cols if row[i][0] < row[i][1])
            break
    if not (names or addresses or births or my_numbers):
        return NO_COLUMNS
    return Columns(tuple(names), tuple(addresses), tuple(births), tuple(my_numbers))
