"""Pseudonymisation: stable placeholders out, values back in — however the answer is split."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from gennai.policy.detection import detect
from gennai.policy.pseudonymise import PlaceholderTable


@dataclass(frozen=True)
class Span:
    type: str
    start: int
    end: int


def test_replace_is_stable_and_restorable() -> None:
    text = "山田太郎さん（090-1234-5678）と山田太郎さんの件。"
    table = PlaceholderTable()
    spans = [Span("PERSON", 0, 4), Span("PHONE", 7, 20), Span("PERSON", 22, 26)]
    sent = table.replace(text, spans)
    assert sent == "〔氏名1〕さん（〔電話1〕）と〔氏名1〕さんの件。"
    assert table.restore(sent) == text
    # The same number written differently is the same placeholder.
    assert table.placeholder("PHONE", "090 1234 5678") == "〔電話1〕"
    assert table.placeholder("PERSON", "佐藤花子") == "〔氏名2〕"


def test_with_the_detector() -> None:
    text = "申請者 佐藤花子様（携帯 090-1234-5678、東京都千代田区神田一丁目2番3号）"
    detection = detect(text)
    table = PlaceholderTable()
    sent = table.replace(text, detection.entities)
    assert "佐藤" not in sent and "090" not in sent and "〔氏名1〕" in sent
    assert detect(sent).proposed_class == 1  # what leaves carries no personal data any more
    assert table.restore(sent) == text


def test_unknown_or_broken_placeholders_pass_through() -> None:
    table = PlaceholderTable()
    table.placeholder("PERSON", "山田")
    restorer = table.restorer()
    out = restorer.feed("〔注意〕と〔氏名9〕と〔氏") + restorer.feed("名1") + restorer.feed("〕と〔氏名") + restorer.flush()
    assert out == "〔注意〕と〔氏名9〕と山田と〔氏名"


PIECES = st.sampled_from(["〔氏名1〕", "〔電話1〕", "〔住所2〕", "さん", "、", "〔", "〕", "氏名", "1", "様へ。", "abc", "〔メール1〕"])


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(PIECES, max_size=20), data=st.data())
def test_streaming_restoration_equals_whole_restoration(parts: list[str], data: st.DataObject) -> None:
    table = PlaceholderTable()
    table.placeholder("PERSON", "山田太郎")
    table.placeholder("PHONE", "090-1234-5678")
    table.placeholder("ADDRESS", "x")
    table.placeholder("ADDRESS", "東京都千代田区霞が関1-3-1")
    table.placeholder("EMAIL", "a@example.jp")
    answer = "".join(parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(answer)), max_size=8)))
    pieces = [answer[a:b] for a, b in zip([0, *cuts], [*cuts, len(answer)], strict=True)]
    restorer = table.restorer()
    streamed = "".join(restorer.feed(piece) for piece in pieces) + restorer.flush()
    assert streamed == table.restore(answer)
