"""Pseudonymisation: personal items replaced by stable placeholders before text leaves, and
put back in the answer — streaming included, where a placeholder may arrive split across
chunks.

    table = PlaceholderTable()
    sent = table.replace(text, detection.entities)      # "〔氏名1〕さんの電話は〔電話1〕です"
    restorer = table.restorer()
    for piece in answer_pieces:                          # "〔氏", "名1〕様へ"
        out += restorer.feed(piece)                      # "", "山田太郎様へ"
    out += restorer.flush()

The same value always gets the same placeholder within one table (one conversation), so a
model can still refer to "the same person". Values are compared without spaces (and numbers
without separators, after NFKC), so "090-1234-5678" and "090 1234 5678" are one number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from gennai.gateway.errors import Forbidden
from gennai.policy.texts import definition_texts, message_texts

# Placeholder labels per entity type (what a Japanese reader expects to see).
LABELS = {
    "PERSON": "氏名",
    "ADDRESS": "住所",
    "PHONE": "電話",
    "EMAIL": "メール",
    "POSTAL_CODE": "郵便番号",
    "MY_NUMBER": "個人番号",
    "BIRTH_DATE": "生年月日",
    "BANK_ACCOUNT": "口座",
    "PASSPORT": "旅券",
    "DRIVERS_LICENSE": "免許",
    "CORPORATE_NUMBER": "法人番号",
    "CUSTOM": "固有名",
}
OPEN, CLOSE = "〔", "〕"
_PLACEHOLDER = re.compile(OPEN + r"(" + "|".join(LABELS.values()) + r")(\d+)" + CLOSE)
_LONGEST = max(len(label) for label in LABELS.values()) + 6  # 〔 + label + digits + 〕


class Span(Protocol):
    """A detected item: its type and its offsets in the text (gennai.policy.detection.Entity)."""

    type: str
    start: int
    end: int


_NUMBERS = frozenset({"PHONE", "POSTAL_CODE", "MY_NUMBER", "BANK_ACCOUNT", "PASSPORT", "DRIVERS_LICENSE", "CORPORATE_NUMBER"})


def _key(kind: str, value: str) -> tuple[str, str]:
    """What makes two spellings one value: spaces never matter; for numbers, only the
    letters and digits do (090-1234-5678 = 090 1234 5678 = ０９０１２３４５６７８)."""
    value = unicodedata.normalize("NFKC", value)
    if kind in _NUMBERS:
        return kind, "".join(c for c in value if c.isalnum())
    return kind, "".join(value.split())


@dataclass
class PlaceholderTable:
    """The placeholders of one conversation: value ↔ placeholder, stable across messages."""

    _by_value: dict[tuple[str, str], str] = field(default_factory=dict)
    _by_placeholder: dict[str, str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._by_placeholder)

    def placeholder(self, kind: str, value: str) -> str:
        key = _key(kind, value)
        existing = self._by_value.get(key)
        if existing is not None:
            return existing
        label = LABELS.get(kind, LABELS["CUSTOM"])
        number = self._counts.get(label, 0) + 1
        self._counts[label] = number
        placeholder = f"{OPEN}{label}{number}{CLOSE}"
        self._by_value[key] = placeholder
        self._by_placeholder[placeholder] = value
        return placeholder

    def replace(self, text: str, spans: Iterable[Span]) -> str:
        """`text` with every span replaced by its placeholder (overlapping spans: the first wins)."""
        out: list[str] = []
        position = 0
        for span in sorted(spans, key=lambda s: (s.start, -s.end)):
            if span.start < position or span.end <= span.start:
                continue
            out.append(text[position : span.start])
            out.append(self.placeholder(span.type, text[span.start : span.end]))
            position = span.end
        out.append(text[position:])
        return "".join(out)

    def restore(self, text: str) -> str:
        """Placeholders in a whole text back to their values (unknown ones stay as they are)."""
        return _PLACEHOLDER.sub(lambda m: self._by_placeholder.get(m.group(0), m.group(0)), text)

    def restorer(self) -> StreamRestorer:
        return StreamRestorer(self)


class StreamRestorer:
    """Restores placeholders in a stream of text pieces, holding back only what could still
    be the beginning of a placeholder."""

    def __init__(self, table: PlaceholderTable) -> None:
        self.table = table
        self._pending = ""

    def feed(self, piece: str) -> str:
        text = self._pending + piece
        cut = text.rfind(OPEN)
        if cut != -1 and CLOSE not in text[cut:] and len(text) - cut < _LONGEST and _could_start(text[cut:]):
            self._pending = text[cut:]
            text = text[:cut]
        else:
            self._pending = ""
        return self.table.restore(text)

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return self.table.restore(text)


def _could_start(fragment: str) -> bool:
    """Whether `fragment` (starting with 〔, not yet closed) may grow into a placeholder."""
    body = fragment[1:]
    if not body:
        return True
    for label in LABELS.values():
        if label.startswith(body):
            return True
        if body.startswith(label):
            digits = body[len(label) :]
            return digits == "" or digits.isdigit()
    return False


# -- OpenAI-shaped requests and answers -----------------------------------------------------

class Detects(Protocol):
    def __call__(self, text: str) -> object: ...


def pseudonymise_messages(messages: list[dict[str, object]], detect: Detects, table: PlaceholderTable) -> list[dict[str, object]]:
    """Copies of chat messages with every detected personal item replaced (contents, text
    parts, tool-call arguments)."""

    def rewrite(text: str) -> str:
        return table.replace(text, getattr(detect(text), "entities", ()))

    out: list[dict[str, object]] = []
    for message in messages:
        copy = dict(message)
        content = copy.get("content")
        if isinstance(content, str):
            copy["content"] = rewrite(content)
        elif isinstance(content, list):
            copy["content"] = [_rewrite_part(part, rewrite) for part in content]
        calls = copy.get("tool_calls")
        if isinstance(calls, list):
            copy["tool_calls"] = [_rewrite_call(call, rewrite) for call in calls]
        out.append(copy)
    return out


def _rewrite_part(part: object, rewrite: Callable[[str], str]) -> object:
    if isinstance(part, dict):
        for key in ("text", "refusal"):
            if isinstance(part.get(key), str):
                return {**part, key: rewrite(part[key])}
    return part


def _rewrite_call(call: object, rewrite: object) -> object:
    if isinstance(call, dict) and isinstance(call.get("function"), dict):
        function = call["function"]
        if isinstance(function.get("arguments"), str):
            return {**call, "function": {**function, "arguments": rewrite(function["arguments"])}}  # type: ignore[operator]
    return call


def restore_completion(result: dict[str, object], table: PlaceholderTable) -> dict[str, object]:
    """A `chat.completion` with the values put back into every message."""
    for choice in result.get("choices") or ():  # type: ignore[attr-defined]
        message = choice.get("message") or {}
        if isinstance(message.get("content"), str):
            message["content"] = table.restore(message["content"])
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            if isinstance(function.get("arguments"), str):
                function["arguments"] = table.restore(function["arguments"])
    return result


class ChunkRestorer:
    """Puts values back into a stream of `chat.completion.chunk` dicts, one restorer per
    choice, releasing what was held back when that choice finishes."""

    def __init__(self, table: PlaceholderTable) -> None:
        self.table = table
        self._streams: dict[int, StreamRestorer] = {}

    def restore(self, chunk: dict[str, object]) -> dict[str, object]:
        for choice in chunk.get("choices") or ():  # type: ignore[attr-defined]
            restorer = self._streams.setdefault(choice.get("index", 0), self.table.restorer())
            delta = choice.get("delta") or {}
            text = restorer.feed(delta["content"]) if isinstance(delta.get("content"), str) else None
            if choice.get("finish_reason"):
                text = (text or "") + restorer.flush()
            if text is not None:
                delta["content"] = text
                choice["delta"] = delta
        return chunk


def pseudonymise_request(body: dict[str, object], detect: Detects | None, admitted_class: int) -> PlaceholderTable:
    """Replace the personal items in a chat body in place, then check that every text that
    will be sent is within the admitted class — the rewrite is never trusted blindly."""
    messages = body.get("messages")
    if detect is None or not isinstance(messages, list):
        raise Forbidden(
            "仮名化できない要求です / This request cannot be pseudonymised",
            code="classification_not_cleared",
            details={"admitted_class": admitted_class, "pseudonymised": False},
        )
    table = PlaceholderTable()
    body["messages"] = rewritten = pseudonymise_messages(messages, detect, table)
    for text in message_texts(rewritten) + definition_texts(body):  # type: ignore[arg-type]
        result = detect(text)
        if getattr(result, "proposed_class", 3) > admitted_class:
            raise Forbidden(
                "仮名化しても送信できない内容が残ります / Content above the model's clearance remains after pseudonymisation",
                code="classification_not_cleared",
                details=_remaining(result, admitted_class),
            )
    return table


def _remaining(result: object, admitted_class: int) -> dict[str, object]:
    """What is left above the admitted class once the personal items are replaced: its class,
    the kinds of items still found and the detector's reasons (never a value)."""
    found: dict[str, int] = {}
    for entity in getattr(result, "entities", ()):
        found[entity.type] = found.get(entity.type, 0) + 1
    return {
        "class": min(int(getattr(result, "proposed_class", 3)), 3),
        "admitted_class": admitted_class,
        "pseudonymised": True,
        "found": dict(sorted(found.items())),
        "reasons": list(getattr(result, "reasons", ()))[:4],
    }
