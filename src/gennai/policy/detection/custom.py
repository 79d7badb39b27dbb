"""Per-team dictionaries and patterns (project code names, internal terms) → entity CUSTOM.

    rules = CustomRules.from_mapping({
        "terms": ["プロジェクト青嵐", {"term": "KASUMI-X", "class": 3}],
        "patterns": [{"pattern": "PRJ-[0-9]{4}", "class": 2, "name": "project id"}],
    })

Terms and patterns match the NFKC-normalised text (so full-width ＰＲＪ－１２３４ matches
PRJ-[0-9]{4}); terms match case-insensitively. Each rule has a class (default 2).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from gennai.policy.detection.identifiers import Item


@dataclass(frozen=True, slots=True)
class CustomRule:
    pattern: str
    cls: int = 2
    name: str = ""
    regex: bool = False

    def __post_init__(self) -> None:
        if self.cls not in (1, 2, 3):
            raise ValueError(f"custom rule class must be 1, 2 or 3, not {self.cls!r}")
        if not self.pattern:
            raise ValueError("custom rule pattern is empty")
        if self.regex:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"custom pattern {self.pattern!r}: {exc}") from None


@dataclass(frozen=True)
class CustomRules:
    rules: tuple[CustomRule, ...] = ()

    @classmethod
    def from_lists(cls, terms: Iterable[str | tuple[str, int]] = (), patterns: Iterable[str | tuple[str, int]] = (), default_class: int = 2) -> CustomRules:
        rules = []
        for items, regex in ((terms, False), (patterns, True)):
            for item in items:
                value, klass = (item, default_class) if isinstance(item, str) else item
                rules.append(CustomRule(value, klass, regex=regex))
        return cls(tuple(rules))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CustomRules:
        """From configuration: {"terms": [str | {"term", "class", "name"}], "patterns": [str | {"pattern", "class", "name"}], "default_class": 2}."""
        default = int(data.get("default_class", 2))
        rules = []
        for key, field, regex in (("terms", "term", False), ("patterns", "pattern", True)):
            for item in data.get(key, ()) or ():
                if isinstance(item, str):
                    rules.append(CustomRule(item, default, regex=regex))
                elif isinstance(item, Mapping):
                    rules.append(CustomRule(str(item[field]), int(item.get("class", default)), str(item.get("name", "")), regex))
                else:
                    raise ValueError(f"custom {key}: each entry is a string or a table, not {item!r}")
        return cls(tuple(rules))

    def __bool__(self) -> bool:
        return bool(self.rules)

    @cached_property
    def _compiled(self) -> list[tuple[re.Pattern[str], CustomRule]]:
        out = []
        for rule in self.rules:
            if rule.regex:
                out.append((re.compile(rule.pattern), rule))
            else:
                term = unicodedata.normalize("NFKC", rule.pattern)
                out.append((re.compile(r"[ \t]*".join(re.escape(ch) for ch in term if not ch.isspace()), re.I), rule))
        return out

    def find(self, text: str) -> list[Item]:
        items = []
        for pattern, rule in self._compiled:
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    label = rule.name or ("登録語 / team term" if not rule.regex else "登録パターン / team pattern")
                    items.append(Item("CUSTOM", m.start(), m.end(), rule.cls, f"チーム定義: {label} / custom rule (class {rule.cls})"))
        return items
