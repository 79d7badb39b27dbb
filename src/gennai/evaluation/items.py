"""One evaluation item: the shared data model of suites, runs, scorers and reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Scoring = Literal["exact", "choice", "char_f1", "judge", "refusal", "decline"]
SCORINGS: tuple[str, ...] = ("exact", "choice", "char_f1", "judge", "refusal", "decline")


@dataclass(frozen=True)
class Item:
    """One question of a suite, as read from one JSONL line.

    Exactly one of `input` (a single user message) and `turns` (user messages of a multi-turn
    item, asked in order with the candidate's earlier answers as history) is set.
    `answer` is the correct choice's text or its 0-based index into `choices`.
    `publishable` marks items a public report may show (default: not publishable).
    `extra` keeps unknown keys of the line so that sealing and verification see the item
    exactly as written.
    """

    id: str
    category: str
    scoring: Scoring
    input: str | None = None
    turns: tuple[str, ...] = ()
    system: str | None = None
    choices: tuple[str, ...] = ()
    answer: str | int | None = None
    reference: str | None = None
    eval_aspect: str | None = None
    classification: int = 1  # the line's `class` (機密性 1/2/3)
    publishable: bool = False
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def messages(self) -> tuple[str, ...]:
        """The user messages to send, in order (one for a single-turn item)."""
        return (self.input,) if self.input is not None else self.turns
