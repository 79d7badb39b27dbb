"""Offsets map to the ORIGINAL text after NFKC changes lengths; previews never hold raw values."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from gennai.policy.detection import detect
from gennai.policy.detection.normalize import normalize


def test_normalize_maps_length_changes() -> None:
    text = "ｶﾞｲﾄﾞ㈱０３"
    norm = normalize(text)
    assert norm.text == "ガイド(株)03"
    assert norm.to_original(0, 1) == (0, 2)  # ガ ← ｶﾞ
    assert norm.to_original(3, 6) == (5, 6)  # (株) ← ㈱
    assert norm.to_original(6, 8) == (6, 8)


def test_entities_after_length_changing_characters() -> None:
    text = "ｶﾞｲﾄﾞ㈱ﾃｽﾄの山田太郎さん、電話０９０－１２３４－５６７８、〒１００－８９２６"
    d = detect(text)
    got = {(e.type, text[e.start : e.end]) for e in d.entities}
    assert ("PERSON", "山田太郎") in got
    assert ("PHONE", "０９０－１２３４－５６７８") in got
    assert ("POSTAL_CODE", "１００－８９２６") in got


def test_previews_are_masked_and_reprs_hold_no_raw_value() -> None:
    text = (
        "個人番号 123456789018、山田太郎さん、携帯 090-1234-5678、taro.yamada@example.com、"
        "住所 横浜市中区本町1-2-3、旅券番号 TK1234567、昭和45年3月2日生、普通 1234567"
    )
    d = detect(text)
    assert len(d.entities) >= 8
    for e in d.entities:
        raw = text[e.start : e.end]
        assert e.preview != raw
        assert raw not in e.preview
        assert raw not in repr(e)
        assert "*" in e.preview
    assert "123456789018" not in repr(d)
    assert "0**-****-**78" in {e.preview for e in d.entities}
    assert "山*太*" in {e.preview for e in d.entities}


_FILLER = st.text(alphabet="あいうえおかきくけこ、。 ｱｲｳｶﾞﾊﾟ㈱㍿ＡＢａｂ秘【】機密性山田様\n", max_size=30)
_ITEMS = st.sampled_from(
    [
        ("PHONE", "03-1234-5678"),
        ("PHONE", "０３－１２３４－５６７８"),
        ("PHONE", "090 1234 5678"),
        ("MY_NUMBER", "123456789018"),
        ("MY_NUMBER", "１２３４ ５６７８ ９０１８"),
        ("CORPORATE_NUMBER", "8000012010038"),
        ("EMAIL", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
        ("EMAIL", "hanako@example.jp"),
    ]
)


@settings(max_examples=150, deadline=None)
@given(before=_FILLER, item=_ITEMS, after=_FILLER)
def test_offsets_slice_the_original_text(before: str, item: tuple[str, str], after: str) -> None:
    kind, value = item
    text = before + " " + value + " " + after
    d = detect(text)
    spans = {(e.type, e.start, e.end) for e in d.entities}
    start = len(before) + 1
    assert (kind, start, start + len(value)) in spans
    for e in d.entities:
        assert 0 <= e.start < e.end <= len(text)
    for m in d.markings:
        assert 0 <= m.start < m.end <= len(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_normalized_characters_come_from_their_original_span(text: str) -> None:
    norm = normalize(text)
    for i, ch in enumerate(norm.text):
        a, b = norm.to_original(i, i + 1)
        assert 0 <= a < b <= len(text)
        source = unicodedata.normalize("NFKC", text[a:b])
        assert ch in source or ch == "-"
