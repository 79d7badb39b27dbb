"""The names finder takes each morpheme's offsets from the lengths of the surfaces before it
(SudachiPy's morphemes cover the text end to end); on the corpus they are SudachiPy's own."""

from __future__ import annotations

import json
from pathlib import Path

from gennai.policy.detection import names
from gennai.policy.detection.normalize import normalize

CORPUS = Path(__file__).resolve().parents[1] / "bench" / "data" / "classification" / "corpus.jsonl"


def test_offsets_from_surfaces_are_sudachis_offsets() -> None:
    texts = [json.loads(line)["text"] for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    texts = texts[::4] + ["山田(やまだ)花子さん　ＡＢＣ１２３ー４５", "ﾃｽﾄ㈱の件\r\n担当：佐藤", "", " "]
    tokenizer = names._tokenizer()
    for text in texts:
        ntext = normalize(text).text
        for offset, chunk in names._chunks(ntext):
            tokens = tokenizer.tokenize(chunk)
            morphemes, candidates = names._morphemes(tokens, offset)
            assert [(m[0], m[1]) for m in morphemes] == [(t.begin() + offset, t.end() + offset) for t in tokens]
            assert candidates == sorted(candidates)


def test_the_word_before_an_honorific_is_a_candidate() -> None:
    tokenizer = names._tokenizer()
    morphemes, candidates = names._morphemes(tokenizer.tokenize("あのヤマダさんが来た"), 0)
    honorific = next(k for k, m in enumerate(morphemes) if m[3] == "さん")
    assert honorific - 1 in candidates
