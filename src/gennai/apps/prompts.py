"""The prompt templates of general apps: a deliberately tiny language, parsed once when the
app file is loaded and rendered with the validated form values.

    {field}                 the field's value (a choice field: the title of the chosen item(s);
                            a file field: the file names; a number: its digits)
    {?field} … {/field}     the part in between only when the field has a value
    {!field} … {/field}     the part in between only when the field is empty
    {?field=value} … {/field}, {!field=value} … {/field}
                            only when the field's value is (is not) `value` (a choice field:
                            when `value` is (is not) among the chosen items)
    {{  }}                  a literal brace

A section tag on a line of its own takes that line's break with it, so optional blocks leave
no blank lines. Anything else between braces (`{text.__class__}`, `{text[0]}`, `{text!r}`,
`{0}`, `{}`) is an error when the file is loaded: there is no attribute, index, format or
conversion syntax, and values are inserted once, as plain text: a value that itself holds
`{other}` stays literally that.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

NAME = r"[A-Za-z_][A-Za-z0-9_]{0,63}"
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]*)\}(\n?)|[{}]")
_PLACEHOLDER = re.compile(rf"^({NAME})$")
_SECTION = re.compile(rf"^([?!])({NAME})(?:=([^{{}}=\n]+))?$")
_CLOSE = re.compile(rf"^/({NAME})$")


class TemplateError(ValueError):
    """A template that cannot be used, phrased for the person who wrote the app file."""


@dataclass(frozen=True, slots=True)
class _Text:
    text: str


@dataclass(frozen=True, slots=True)
class _Value:
    name: str


@dataclass(frozen=True, slots=True)
class _Section:
    name: str
    positive: bool  # {?…} or {!…}
    value: str | None  # {?name=value}
    body: tuple[_Node, ...]


_Node = _Text | _Value | _Section


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    nodes: tuple[_Node, ...]

    def names(self) -> set[str]:
        """Every field the template refers to."""
        return {name for name, _ in self.references()}

    def references(self) -> list[tuple[str, str | None]]:
        """(field, compared value or None) for every reference, in order."""
        out: list[tuple[str, str | None]] = []

        def walk(nodes: Sequence[_Node]) -> None:
            for node in nodes:
                if isinstance(node, _Value):
                    out.append((node.name, None))
                elif isinstance(node, _Section):
                    out.append((node.name, node.value))
                    walk(node.body)

        walk(self.nodes)
        return out

    def render(self, text_of: Callable[[str], str], is_set: Callable[[str], bool],
               has_value: Callable[[str, str], bool]) -> str:
        """The text, with `text_of(field)` for each placeholder; sections by `is_set(field)`
        and `has_value(field, value)`. What the callables return is never parsed again."""
        out: list[str] = []

        def walk(nodes: Sequence[_Node]) -> None:
            for node in nodes:
                if isinstance(node, _Text):
                    out.append(node.text)
                elif isinstance(node, _Value):
                    out.append(text_of(node.name))
                else:
                    hit = is_set(node.name) if node.value is None else has_value(node.name, node.value)
                    if hit == node.positive:
                        walk(node.body)

        walk(self.nodes)
        return "".join(out)


def parse(source: str) -> Template:
    """Parse a template; raises TemplateError naming the first problem."""
    stack: list[tuple[str, bool, str | None, list[_Node]]] = []
    current: list[_Node] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            current.append(_Text("".join(literal)))
            literal.clear()

    position = 0
    for match in _TOKEN.finditer(source):
        literal.append(source[position:match.start()])
        position = match.end()
        token = match.group(0)
        if token == "{{":
            literal.append("{")
            continue
        if token == "}}":
            literal.append("}")
            continue
        inner = match.group(1)
        if inner is None:  # a lone brace
            raise TemplateError(
                f"unmatched '{token}' near {_around(source, match.start())!r}: write {{{{ or }}}} for a literal brace"
            )
        newline = match.group(2)
        if found := _PLACEHOLDER.match(inner):
            flush()
            current.append(_Value(found.group(1)))
            literal.append(newline)  # a placeholder keeps its line break
            continue
        # A section tag on a line of its own takes its line break with it.
        standalone = bool(newline) and (match.start() == 0 or source[match.start() - 1] == "\n")
        if found := _SECTION.match(inner):
            flush()
            stack.append((found.group(2), found.group(1) == "?", found.group(3), current))
            current = []
            if not standalone:
                literal.append(newline)
            continue
        if found := _CLOSE.match(inner):
            flush()
            if not stack:
                raise TemplateError(f"'{{/{found.group(1)}}}' closes no section")
            name, positive, value, parent = stack.pop()
            if name != found.group(1):
                raise TemplateError(f"'{{/{found.group(1)}}}' closes the section of '{name}': write {{/{name}}} first")
            parent.append(_Section(name, positive, value.strip() if value else None, tuple(current)))
            current = parent
            if not standalone:
                literal.append(newline)
            continue
        raise TemplateError(
            f"'{{{inner}}}' is not a placeholder: use {{field}}, {{?field}}…{{/field}} or {{!field}}…{{/field}} "
            "(no attributes, indexes, formats or conversions); write {{ and }} for literal braces"
        )
    literal.append(source[position:])
    flush()
    if stack:
        raise TemplateError(f"the section '{{{'?' if stack[-1][1] else '!'}{stack[-1][0]}}}' is never closed with {{/{stack[-1][0]}}}")
    return Template(source, tuple(current))


def _around(source: str, index: int) -> str:
    return source[max(0, index - 15): index + 15]


def render(template: Template, values: Mapping[str, Any], texts: Mapping[str, str]) -> str:
    """Render with `texts` (field → text to insert) and `values` (field → clean value, for
    the sections: a list of chosen values for a checkbox)."""

    def is_set(name: str) -> bool:
        value = values.get(name)
        return value not in (None, "", [], (), False)

    def has_value(name: str, wanted: str) -> bool:
        value = values.get(name)
        if isinstance(value, (list, tuple)):
            return wanted in [str(v) for v in value]
        return value is not None and _plain(value) == wanted

    return template.render(lambda name: texts.get(name, ""), is_set, has_value)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


__all__ = ["NAME", "Template", "TemplateError", "parse", "render"]
