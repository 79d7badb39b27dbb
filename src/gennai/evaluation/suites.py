"""Suites as files: one JSONL line per item, checked strictly when read and before written.

A suite is the unit that is sealed, run and reported, so a mistake in it (a choice answer that
is not among the choices, an id used twice) must stop the work at load time with a message that
names the file and line, not surface as a wrong score after test day. Every error is a
`SuiteError` whose message is one line of the form `suite.jsonl:12: reason`.

Line keys: `id`, `category`, `input` or `turns` (exactly one), optional `system`, `choices`,
`answer`, `reference`, `scoring`, `eval_aspect`, `class` (機密性 1/2/3, default 1) and
`publishable` (default false). Any other key is kept in `Item.extra`, so sealing and
verification see the line exactly as written.

`item_to_record` writes the canonical form (defaults left out), so
`item_to_record(parse(x)) == x` holds for every valid canonical line and
`parse(item_to_record(item)) == item` for every valid item.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import cast

from gennai.evaluation.items import SCORINGS, Item, Scoring
from gennai.evaluation.scorers import normalise

__all__ = [
    "SAMPLES",
    "SuiteError",
    "Suite",
    "item_to_record",
    "load_sample",
    "load_suite",
    "parse_records",
    "read_records",
    "sample_path",
    "write_suite",
]

# Keys a line may have that map to Item fields; everything else goes to Item.extra.
LINE_KEYS: tuple[str, ...] = (
    "id", "category", "system", "input", "turns", "choices", "answer", "reference",
    "scoring", "eval_aspect", "class", "publishable",
)
REFUSAL_ANSWERS: tuple[str, ...] = ("refuse", "answer")
CLASSIFICATIONS: tuple[int, ...] = (1, 2, 3)
# How many lines' errors one SuiteError message lists (all are kept in `errors`).
MAX_REPORTED_ERRORS = 20

SAMPLES_DIR = Path(__file__).with_name("samples")
# The sample suites shipped with gennai (original text, Apache-2.0): name → what it holds.
SAMPLES: Mapping[str, str] = MappingProxyType({
    "admin_drafting": "行政文書の起案・通知文の作成 / drafting administrative documents and notices (judge)",
    "summarisation": "要約 / summarising administrative texts (char_f1 and judge)",
    "law_reading": "法令の読解 / reading well-known Japanese statutes (4-choice)",
    "safety_hallucination": "ハルシネーション / unanswerable and false-premise questions (decline)",
    "safety_bias": "バイアス / ambiguous BBQ-style questions whose answer is 判断できない (choice)",
    "safety_harmful": "有害な依頼 / harmful requests that should be refused (refusal)",
    "safety_over_refusal": "過剰拒否 / harmless look-alikes that should be answered (refusal)",
})


class SuiteError(ValueError):
    """A suite that cannot be used; the message is one line naming file and line number.

    `errors` keeps every line's first error, in line order; the message lists the first
    `MAX_REPORTED_ERRORS` of them.
    """

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors: tuple[str, ...] = tuple(errors)
        shown = "; ".join(self.errors[:MAX_REPORTED_ERRORS])
        hidden = len(self.errors) - MAX_REPORTED_ERRORS
        super().__init__(shown + (f" (and {hidden} more lines with errors)" if hidden > 0 else ""))


@dataclass(frozen=True)
class Suite:
    """A loaded suite: its name (the file's stem), where it came from, and its items in order."""

    name: str
    path: Path
    items: tuple[Item, ...]

    @cached_property
    def by_id(self) -> Mapping[str, Item]:
        """Items by id (ids are unique within a suite)."""
        return MappingProxyType({item.id: item for item in self.items})

    def __len__(self) -> int:
        return len(self.items)


class _LineError(Exception):
    """The first problem found on one line (internal; becomes part of a SuiteError)."""


def _show(value: object, limit: int = 40) -> str:
    """A short one-line rendering of a value for an error message."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _type_name(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _string(record: Mapping[str, object], key: str, *, required: bool = False) -> str | None:
    value = record.get(key)
    if value is None:
        if key in record:
            raise _LineError(f"'{key}' is null; leave the key out or give a string")
        if required:
            raise _LineError(f"missing '{key}'")
        return None
    if not isinstance(value, str):
        raise _LineError(f"'{key}' must be a string, not {_type_name(value)}")
    if not value.strip():
        raise _LineError(f"'{key}' is empty")
    return value


def _strings(record: Mapping[str, object], key: str) -> tuple[str, ...] | None:
    value = record.get(key)
    if key not in record:
        return None
    if not isinstance(value, list):
        raise _LineError(f"'{key}' must be a list of strings, not {_type_name(value)}")
    if not value:
        raise _LineError(f"'{key}' is an empty list")
    for index, entry in enumerate(value):
        if not isinstance(entry, str):
            raise _LineError(f"'{key}'[{index}] must be a string, not {_type_name(entry)}")
        if not entry.strip():
            raise _LineError(f"'{key}'[{index}] is empty")
    return tuple(value)


def _answer(record: Mapping[str, object]) -> str | int | None:
    if "answer" not in record:
        return None
    value = record["answer"]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _LineError(f"'answer' must be a string or an index, not {_type_name(value)}")
    if isinstance(value, str) and not value.strip():
        raise _LineError("'answer' is empty")
    return value


def _check_scoring(scoring: str, choices: tuple[str, ...] | None, answer: str | int | None,
                   reference: str | None) -> None:
    """The per-scoring rules: what each scorer needs, and keys it would silently ignore."""
    if choices is not None and scoring != "choice":
        raise _LineError(f"'choices' is only used by scoring 'choice', not '{scoring}'")
    if scoring == "choice":
        if choices is None:
            raise _LineError("scoring 'choice' needs 'choices'")
        if len(choices) < 2:
            raise _LineError(f"'choices' has {len(choices)} entry; a choice item needs at least 2")
        duplicates = sorted({choice for choice in choices if choices.count(choice) > 1})
        if duplicates:
            raise _LineError(f"'choices' has {_show(duplicates[0])} more than once")
        if answer is None:
            raise _LineError("scoring 'choice' needs 'answer' (a choice's text or 0-based index)")
        if isinstance(answer, int) and not 0 <= answer < len(choices):
            raise _LineError(f"'answer' {answer} is not an index of the {len(choices)} choices")
        if isinstance(answer, str) and answer not in choices:
            raise _LineError(f"'answer' {_show(answer)} is not one of the {len(choices)} choices")
        if isinstance(answer, str):  # the scorer finds the correct choice by its normalised text
            if [normalise(choice) for choice in choices].count(normalise(answer)) != 1:
                raise _LineError(f"'answer' {_show(answer)} matches more than one choice once normalised "
                                 "(width, case, punctuation); give its 0-based index instead")
    elif scoring == "exact":
        if answer is None and reference is None:
            raise _LineError("scoring 'exact' needs 'answer' or 'reference'")
    elif scoring == "char_f1":
        if reference is None:
            raise _LineError("scoring 'char_f1' needs 'reference'")
    elif scoring == "refusal":
        if answer is not None and answer not in REFUSAL_ANSWERS:
            raise _LineError(f"'answer' of a refusal item must be \"refuse\" or \"answer\", not {_show(answer)}")
    if answer is not None and scoring in ("judge", "char_f1", "decline"):
        hint = "'reference'" if scoring != "char_f1" else "'reference' (char_f1 compares with it)"
        raise _LineError(f"scoring '{scoring}' does not use 'answer'; put the expected text in {hint}")


def _parse_record(record: Mapping[str, object]) -> Item:
    """One line's object → Item, or _LineError with the first problem."""
    if "classification" in record:
        raise _LineError("unknown key 'classification'; the line key for 機密性 is 'class'")
    item_id = _string(record, "id", required=True)
    category = _string(record, "category", required=True)
    scoring = _string(record, "scoring", required=True)
    if scoring not in SCORINGS:
        raise _LineError(f"'scoring' {_show(scoring)} is not one of {', '.join(SCORINGS)}")
    text = _string(record, "input")
    turns = _strings(record, "turns")
    if (text is None) == (turns is None):
        raise _LineError("give exactly one of 'input' and 'turns'"
                         + (" (both are set)" if text is not None else ""))
    system = _string(record, "system")
    choices = _strings(record, "choices")
    answer = _answer(record)
    reference = _string(record, "reference")
    eval_aspect = _string(record, "eval_aspect")
    _check_scoring(scoring, choices, answer, reference)
    classification = record.get("class", 1)
    if type(classification) is not int or classification not in CLASSIFICATIONS:
        raise _LineError(f"'class' must be 1, 2 or 3 (機密性), not {_show(classification)}")
    publishable = record.get("publishable", False)
    if not isinstance(publishable, bool):
        raise _LineError(f"'publishable' must be true or false, not {_show(publishable)}")
    assert item_id is not None and category is not None  # required above
    return Item(
        id=item_id,
        category=category,
        scoring=cast(Scoring, scoring),  # checked against SCORINGS above
        input=text,
        turns=turns or (),
        system=system,
        choices=choices or (),
        answer=answer,
        reference=reference,
        eval_aspect=eval_aspect,
        classification=classification,
        publishable=publishable,
        extra={key: value for key, value in record.items() if key not in LINE_KEYS},
    )


LineErrors = list[tuple[int, str]]  # (line number, full message), merged in line order


def _parse(records: Iterable[tuple[int, object]], source: str) -> tuple[list[Item], LineErrors]:
    """Items of the good lines, and the first error of each bad line (ids used twice included)."""
    items: list[Item] = []
    errors: LineErrors = []
    first_line: dict[str, int] = {}
    for line, record in records:
        if not isinstance(record, dict):
            errors.append((line, f"{source}:{line}: expected a JSON object, got {_type_name(record)}"))
            continue
        try:
            item = _parse_record(record)
        except _LineError as error:
            errors.append((line, f"{source}:{line}: {error}"))
            continue
        if item.id in first_line:
            errors.append((line, f"{source}:{line}: duplicate id {_show(item.id)} (first on line {first_line[item.id]})"))
            continue
        first_line[item.id] = line
        items.append(item)
    return items, errors


def _raise_if_any(errors: LineErrors) -> None:
    if errors:
        raise SuiteError(message for _, message in sorted(errors, key=lambda error: error[0]))


def parse_records(records: Iterable[tuple[int, dict[str, object]]], source: str) -> tuple[Item, ...]:
    """Items from (line number, parsed object) pairs, as read from `source` (a file name or a
    label such as a sealed suite's name, used in messages). Raises SuiteError listing the
    first error of each bad line, including ids used twice and a suite with no items."""
    records = list(records)
    items, errors = _parse(records, source)
    if not records:
        errors.append((1, f"{source}:1: the suite is empty (no items)"))
    _raise_if_any(errors)
    return tuple(items)


def _object_without_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """json hook: a key written twice on one line is an error, not 'the last one wins' — a
    sealed item must mean one thing."""
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise _LineError(f"key {_show(key)} appears twice")
        result[key] = value
    return result


def _no_constant(name: str) -> object:
    """json hook: NaN and Infinity are not JSON and would not survive a round trip."""
    raise _LineError(f"{name} is not valid JSON")


def _read(path: Path) -> tuple[list[tuple[int, dict[str, object]]], LineErrors]:
    """The objects of a JSONL file with line numbers, and the errors of the lines that are not
    JSON objects. A file that cannot be read or decoded raises SuiteError at once."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SuiteError([f"{path}: cannot read the file: {error.strerror or error}"]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        offset = error.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data[:offset].count(b"\n") + 1
        column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
        raise SuiteError([f"{path}:{line}: not UTF-8 (byte 0x{data[offset]:02x} at byte column {column})"]) from None
    records: list[tuple[int, dict[str, object]]] = []
    errors: LineErrors = []
    # Split on "\n" only: JSON strings may hold U+2028 and friends, which splitlines() would cut.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        try:
            value = json.loads(line, object_pairs_hook=_object_without_duplicate_keys,
                               parse_constant=_no_constant)
        except json.JSONDecodeError as error:
            errors.append((number, f"{path}:{number}: not valid JSON: {error.msg} (column {error.colno})"))
            continue
        except _LineError as error:
            errors.append((number, f"{path}:{number}: {error}"))
            continue
        if not isinstance(value, dict):
            errors.append((number, f"{path}:{number}: expected a JSON object, got {_type_name(value)}"))
            continue
        records.append((number, value))
    return records, errors


def read_records(path: Path) -> list[tuple[int, dict[str, object]]]:
    """The JSON objects of a JSONL file with their 1-based line numbers; blank lines skipped.

    Raises SuiteError for an unreadable file, bytes that are not UTF-8, a line that is not
    JSON, or a line that is not a JSON object. A leading UTF-8 byte-order mark is accepted.
    """
    records, errors = _read(Path(path))
    _raise_if_any(errors)
    return records


def load_suite(path: Path) -> Suite:
    """Read and check a suite file; its name is the file's stem. Every bad line is reported,
    whether it is not JSON or not a valid item, in line order."""
    path = Path(path)
    records, errors = _read(path)
    items, item_errors = _parse(records, str(path))
    errors += item_errors
    if not records and not errors:
        errors.append((1, f"{path}:1: the suite is empty (no items)"))
    _raise_if_any(errors)
    return Suite(name=path.stem, path=path, items=tuple(items))


def item_to_record(item: Item) -> dict[str, object]:
    """The line object of an item, in canonical form: keys in the documented order, defaults
    (`class` 1, `publishable` false, unset optional keys) left out, then `extra` keys."""
    record: dict[str, object] = {"id": item.id, "category": item.category}
    if item.system is not None:
        record["system"] = item.system
    if item.input is not None:
        record["input"] = item.input
    else:
        record["turns"] = list(item.turns)
    if item.choices:
        record["choices"] = list(item.choices)
    if item.answer is not None:
        record["answer"] = item.answer
    if item.reference is not None:
        record["reference"] = item.reference
    record["scoring"] = item.scoring
    if item.eval_aspect is not None:
        record["eval_aspect"] = item.eval_aspect
    if item.classification != 1:
        record["class"] = item.classification
    if item.publishable:
        record["publishable"] = True
    clashes = sorted(set(item.extra) & {*LINE_KEYS, "classification"})
    if clashes:
        raise ValueError(f"item {item.id!r}: extra key {clashes[0]!r} clashes with a line key")
    record.update(item.extra)
    return record


def write_suite(path: Path, items: Iterable[Item]) -> None:
    """Write items as a suite file (UTF-8 JSONL, one canonical line each).

    The lines are checked with the same rules as `load_suite` before anything is written, and
    the file is replaced atomically, so a suite on disk is never invalid or half-written.
    """
    path = Path(path)
    records = [item_to_record(item) for item in items]
    parse_records(enumerate(records, start=1), str(path))
    body = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    # A temporary file next to the target, created with mode 0o666 so the umask decides the
    # permissions as for any new file (mkstemp would leave it readable by the owner only).
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as file:
            file.write(body)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def sample_path(name: str) -> Path:
    """The file of a sample suite shipped with gennai (see SAMPLES for the names)."""
    if name not in SAMPLES:
        raise KeyError(f"no sample suite {name!r}; the samples are: {', '.join(SAMPLES)}")
    return SAMPLES_DIR / f"{name}.jsonl"


def load_sample(name: str) -> Suite:
    """Load a sample suite by name."""
    return load_suite(sample_path(name))
