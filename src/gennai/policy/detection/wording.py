"""The wording model: does a text read like an internal, unpublished paper?

Many class-2 papers carry no marking and no personal data; only their wording says they are
internal (課長判断を仰ぐ, まだ表に出さないでほしい, 案としては…と思っています). The content cues
(markings.py) catch the phrases seen so far; every new author brings new ones. This model
generalises from the labelled corpus instead: a logistic regression over the text's words and
word pairs (SudachiPy surfaces, digits folded to '#'), trained by `bench/wording_model.py`
and shipped as `data/wording_model.json` (a few thousand weights).

It can only raise a text's class to 2, never lower one, and it costs a dictionary lookup per
word: the text is tokenized once, for the names rules and for this model alike.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Any

from gennai.policy.detection.prefilter import compile_guarded

MODEL_RESOURCE = "policy/detection/data/wording_model.json"


def features(surfaces: Iterable[str]) -> set[str]:
    """The words of a text and each pair of neighbouring words ("a b"); spaces are dropped and
    every number becomes '#' (a date or an amount says nothing of the paper's kind)."""
    words = ["#" if w.isdigit() else w for w in surfaces if not w.isspace() and not _MARKING_WORD.search(w)]
    out = set(words)
    out.update(f"{a} {b}" for a, b in zip(words, words[1:]))
    return out


@dataclass(frozen=True)
class WordingModel:
    """weights: feature → weight; the probability is the logistic of bias + the weights of
    the features present; a text at or above threshold reads as internal. A text shorter
    than min_chars gives the model too little to read (a one-line prompt): the rules alone
    judge it."""

    weights: dict[str, float]
    bias: float
    threshold: float
    min_chars: int = 80
    about: dict[str, Any] = field(default_factory=dict)

    def judges(self, text: str) -> bool:
        """Whether the model has anything to say of this (normalised) text: min_chars or more,
        and more Japanese characters than Latin letters (it was trained on Japanese)."""
        return len(text) >= self.min_chars and len(_JAPANESE_CHAR.findall(text)) > len(_LATIN_LETTER.findall(text))

    def probability(self, surfaces: Iterable[str]) -> float:
        return self.probability_of(features(surfaces))

    def probability_of(self, present: set[str]) -> float:
        """The probability for a text's features (as `features` gives them)."""
        weights = self.weights
        z = self.bias + sum(weights.get(f, 0.0) for f in present)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_json(self) -> dict[str, Any]:
        return {"about": self.about, "threshold": self.threshold, "min_chars": self.min_chars, "bias": self.bias, "weights": self.weights}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WordingModel:
        return cls(
            weights={str(k): float(v) for k, v in data["weights"].items()},
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            min_chars=int(data["min_chars"]),
            about=dict(data.get("about", {})),
        )


# Words of handling markings (機密性, 秘, 取扱注意 …) are the rules' business: the model reads the
# wording around them, so a text that explains the marking scheme is not read as a marked paper.
_MARKING_WORD = compile_guarded(r"機密|秘|取扱|部外|限り|複製禁止|転送禁止|配付禁止|配布禁止")
_JAPANESE_CHAR = compile_guarded(r"[ぁ-ゖァ-ヺ一-龥々]")
_LATIN_LETTER = compile_guarded(r"[A-Za-z]")


@lru_cache(maxsize=1)
def shipped_model() -> WordingModel:
    """The model shipped with gennai (bench/wording_model.py trains it)."""
    resource = files("gennai").joinpath(MODEL_RESOURCE)
    return WordingModel.from_json(json.loads(resource.read_text(encoding="utf-8")))
