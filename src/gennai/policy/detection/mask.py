"""Masked previews: enough to recognise an item, never the raw value."""

from __future__ import annotations

import re

_SEPARATORS = set(" \t-ー()+.@/:：")
_CITY = re.compile(r"^.{1,10}?[市区町村郡]")


def mask(kind: str, value: str) -> str:
    if kind == "EMAIL":
        local, _, domain = value.partition("@")
        return (local[:1] + "***" if len(local) > 1 else "*") + "@" + _mask_chars(domain, keep_first=1, keep_last=0, keep=set("."))
    if kind in ("PERSON", "CUSTOM"):
        if len(value) <= 1:
            return "*"
        return "".join(ch if i % 2 == 0 and not (i == len(value) - 1 and i > 0 and len(value) <= 2) else "*" for i, ch in enumerate(value))
    if kind == "ADDRESS":
        city = _CITY.match(value)
        keep = city.end() if city and city.end() < len(value) else min(3, len(value) - 1)
        return value[:keep] + _mask_chars(value[keep:], 0, 0)
    if kind == "BIRTH_DATE":
        return "".join("*" if ch.isdigit() or ch == "元" else ch for ch in value)
    digits = sum(ch.isdigit() for ch in value)
    if digits >= 7:
        return _mask_chars(value, keep_first=1, keep_last=2)
    return _mask_chars(value, keep_first=0, keep_last=1)


def _mask_chars(value: str, keep_first: int, keep_last: int, keep: set[str] | None = None) -> str:
    keep = _SEPARATORS if keep is None else keep
    positions = [i for i, ch in enumerate(value) if ch not in keep]
    visible = set(positions[:keep_first]) | set(positions[len(positions) - keep_last :] if keep_last else ())
    if len(visible) >= len(positions):
        visible = set(positions[-1:]) if len(positions) > 2 else set()
    return "".join(ch if (ch in keep or i in visible) else "*" for i, ch in enumerate(value))
