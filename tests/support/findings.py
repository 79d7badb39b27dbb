"""Helpers for tests of what the default detector finds."""

from __future__ import annotations

from gennai.policy.detection import detect


def found(text: str, kind: str) -> list[str]:
    """The values of the entities of one type that detect() finds in text, in order."""
    return [text[e.start : e.end] for e in detect(text).entities if e.type == kind]
