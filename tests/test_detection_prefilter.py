"""compile_guarded: the look-ahead it puts in front of a pattern never changes what the
pattern finds, for every pattern the detectors use, on generated texts and on the corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gennai.policy.detection import addresses, detector, identifiers, markings, names, tables
from gennai.policy.detection.prefilter import compile_guarded, first_char_class
from tests.support.patterns import unguarded

CORPUS = Path(__file__).resolve().parents[1] / "bench" / "data" / "classification" / "corpus.jsonl"


def _detection_patterns() -> list[tuple[str, re.Pattern[str]]]:
    found = []
    for module in (addresses, detector, identifiers, markings, names, tables):
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                found.append((f"{module.__name__.rsplit('.', 1)[-1]}.{name}", value))
    found += [(f"markings._CUE_RULES[{word}]", pattern) for word, _, pattern, _ in markings._CUE_RULES]
    return found


PATTERNS = _detection_patterns()
# Characters that start or end the detectors' patterns, so that generated texts hit them.
ALPHABET = (
    "0123456789-()+ \t\n:：@.〒〜～年月日生まれ昭和平成令和明治大正市区町村郡都道府県丁目番地号"
    "様さん氏殿君田中山本花子太郎佐藤一郎課長係主事委員株式会社電話番号口座普通当座マイナンバー個人法人"
    "秘極取扱注意部外関係者限り機密性１２３ⅠⅡ内々外に出さない検討中心療内科抑うつ診断療養"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzアイウエオカキクケコヤマダタロウあいうえおかきくけこ"
)


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int, tuple[str | None, ...]]]:
    return [(m.start(), m.end(), m.groups()) for m in pattern.finditer(text)]


def test_most_detection_patterns_are_guarded() -> None:
    guarded = [name for name, p in PATTERNS if unguarded(p) is not p]
    assert len(guarded) >= 0.8 * len(PATTERNS)
    for name in ("identifiers._BIRTH", "identifiers._PHONE", "identifiers._D12_13", "markings._CUE_RULES[公表後]", "detector._NOTICE"):
        assert name in guarded


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=120))
def test_guard_never_changes_matches_on_generated_text(text: str) -> None:
    for name, pattern in PATTERNS:
        plain = unguarded(pattern)
        if plain is not pattern:
            assert _spans(pattern, text) == _spans(plain, text), name
            for start in (1, len(text) // 2):
                m1, m2 = pattern.match(text, start), plain.match(text, start)
                assert (m1 and m1.span()) == (m2 and m2.span()), name


def test_guard_never_changes_matches_on_the_corpus() -> None:
    texts = [json.loads(line)["text"] for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    guarded = [(name, p, unguarded(p)) for name, p in PATTERNS if unguarded(p) is not p]
    for text in texts[::3]:
        for name, pattern, plain in guarded:
            assert _spans(pattern, text) == _spans(plain, text), name


@pytest.mark.parametrize(
    ("pattern", "flags", "starts"),
    [
        (r"(?<![0-9])(?:ab|c[de]+)x?", 0, "ac"),
        (r"(?:^|\n)[ \t]*人事", re.M, "\n \t人"),
        (r"(?i:regards|best)", 0, "rRbB"),
        (r"x*(?:y|z)", 0, "xyz"),
    ],
)
def test_first_characters_are_worked_out(pattern: str, flags: int, starts: str) -> None:
    char_class = first_char_class(pattern, flags)
    assert char_class is not None
    allowed = re.compile(f"[{char_class}]", flags)
    for ch in starts:
        assert allowed.fullmatch(ch), ch
    assert allowed.fullmatch("q") is None


@pytest.mark.parametrize(
    "pattern",
    [
        r"a*",  # can match the empty string
        r".b",  # any character first
        r"[^a]b",  # a negated class first
        r"(a?)\1b",  # a back-reference before the first character is known
        r"(?:x|)y?",  # empty alternative, then optional
        r"(?s:.)",
    ],
)
def test_nothing_is_guarded_where_the_first_character_is_open(pattern: str) -> None:
    assert first_char_class(pattern) is None
    assert compile_guarded(pattern).pattern == pattern


def test_bad_patterns_still_raise() -> None:
    with pytest.raises(re.error):
        compile_guarded(r"(unclosed")
