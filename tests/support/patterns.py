"""Helpers for tests of the detectors' regular expressions."""

from __future__ import annotations

import re

_GUARD = re.compile(r"\(\?=\[[^\]]*\]\)\(\?:")


def unguarded(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The pattern without the look-ahead compile_guarded put in front of it (the pattern
    itself where it has none)."""
    match = _GUARD.match(pattern.pattern)
    if match is None:
        return pattern
    return re.compile(pattern.pattern[match.end() : -1], pattern.flags)
