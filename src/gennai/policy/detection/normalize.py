"""Unicode normalisation (NFKC plus dash folding) that remembers where each character came from.

Detection runs on the normalised text (full-width digits and letters become ASCII, half-width
katakana become full-width, ㈱ becomes (株), U+3000 becomes a space, dash variants become
"-"), but every span it reports must point into the ORIGINAL text. `Normalized` keeps, for
each normalised character, the original span it came from, and `to_original()` maps a
normalised span back.

Fast path: characters in ranges that NFKC leaves alone (ASCII, hiragana, katakana, CJK
unified ideographs, common punctuation) are copied in bulk; only the rest are normalised
one by one (cached), with combining marks (half-width ﾞ/ﾟ, U+3099/309A) composed onto the
character before them, so "ｶﾞ" (2 characters) becomes "ガ" (1 character) mapped to both.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Characters that NFKC maps to themselves and that we do not fold: copied as they are.
_UNSTABLE = re.compile(
    r"[^\x00-\x7f\u3001\u3002\u3005\u300c-\u3011\u3041-\u3096\u30a1-\u30fa\u30fb\u30fc\u4e00-\u9fff]+"
)
# Dash-like characters folded to "-" after NFKC (not ー, which is part of words).
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u2500\u2501"), "-")


@lru_cache(maxsize=4096)
def _char(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).translate(_DASHES)


@dataclass(frozen=True, slots=True)
class Normalized:
    original: str
    text: str
    # starts[i], ends[i]: the original span of normalised character i; None when identical.
    starts: list[int] | None
    ends: list[int] | None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the normalised span [start, end) to the original text."""
        if self.starts is None or self.ends is None:
            return start, end
        if end <= start:
            pos = self.starts[start] if start < len(self.starts) else len(self.original)
            return pos, pos
        return self.starts[start], self.ends[end - 1]


class _OneToOne(dict[int, str]):
    """A str.translate table of the characters NFKC (+ dash folding) maps to exactly one
    character, filled as characters are met; the others are listed in `irregular`."""

    def __init__(self) -> None:
        super().__init__()
        self.irregular: set[str] = set()

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        out = _char(ch)
        if len(out) != 1 or unicodedata.combining(out):
            self.irregular.add(ch)  # ㈱ → (株), a combining mark: the offsets need a map
            out = ch
        self[code] = out
        return out


_ONE_TO_ONE = _OneToOne()


def normalize(text: str) -> Normalized:
    if not _UNSTABLE.search(text):
        return Normalized(text, text, None, None)
    # The usual case: every character folds to one character (全角 → 半角), so offsets are
    # the same in both texts and need no map.
    folded = text.translate(_ONE_TO_ONE)
    if _ONE_TO_ONE.irregular.isdisjoint(text):
        return Normalized(text, folded, None, None)
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for match in _UNSTABLE.finditer(text):
        a, b = match.span()
        if a > pos:
            pieces.append(text[pos:a])
            starts.extend(range(pos, a))
            ends.extend(range(pos + 1, a + 1))
        for i in range(a, b):
            out = _char(text[i])
            if not out:
                continue
            if len(out) == 1 and unicodedata.combining(out) and pieces and starts:
                last = pieces[-1]
                composed = unicodedata.normalize("NFC", last[-1] + out)
                if len(composed) == 1:
                    pieces[-1] = last[:-1] + composed
                    ends[-1] = i + 1
                    continue
            pieces.append(out)
            starts.extend([i] * len(out))
            ends.extend([i + 1] * len(out))
        pos = b
    if pos < len(text):
        pieces.append(text[pos:])
        starts.extend(range(pos, len(text)))
        ends.extend(range(pos + 1, len(text) + 1))
    return Normalized(text, "".join(pieces), starts, ends)
