"""Suites as files: strict reading with one-line file:line errors, the canonical round trip,
atomic writing, and the sample suites shipped with gennai."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gennai.evaluation.items import Item
from gennai.evaluation.suites import (
    MAX_REPORTED_ERRORS,
    SAMPLES,
    SAMPLES_DIR,
    Suite,
    SuiteError,
    item_to_record,
    load_sample,
    load_suite,
    parse_records,
    read_records,
    sample_path,
    write_suite,
)

GOOD = {"id": "q-1", "category": "general", "input": "日本の首都は？", "answer": "東京", "scoring": "exact"}


def write_lines(tmp_path: Path, *lines: str, name: str = "suite.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def line_of(record: dict[str, object]) -> str:
    return json.dumps(record, ensure_ascii=False)


def error_of(path: Path) -> SuiteError:
    with pytest.raises(SuiteError) as caught:
        load_suite(path)
    message = str(caught.value)
    assert "\n" not in message, "a SuiteError message must be one line"
    assert str(path) in message
    return caught.value


# --- errors: each bad line is reported with file and line number ---------------------------

BAD_RECORDS: list[tuple[dict[str, object], str]] = [
    ({"category": "c", "input": "x", "scoring": "judge"}, "missing 'id'"),
    ({"id": 7, "category": "c", "input": "x", "scoring": "judge"}, "'id' must be a string, not a number"),
    ({"id": " ", "category": "c", "input": "x", "scoring": "judge"}, "'id' is empty"),
    ({"id": "a", "input": "x", "scoring": "judge"}, "missing 'category'"),
    ({"id": "a", "category": "c", "input": "x"}, "missing 'scoring'"),
    ({"id": "a", "category": "c", "input": "x", "scoring": "bleu"}, "'scoring' \"bleu\" is not one of exact, choice"),
    ({"id": "a", "category": "c", "scoring": "judge"}, "give exactly one of 'input' and 'turns'"),
    ({"id": "a", "category": "c", "input": "x", "turns": ["y"], "scoring": "judge"}, "(both are set)"),
    ({"id": "a", "category": "c", "turns": [], "scoring": "judge"}, "'turns' is an empty list"),
    ({"id": "a", "category": "c", "turns": "hi", "scoring": "judge"}, "'turns' must be a list of strings, not a string"),
    ({"id": "a", "category": "c", "turns": ["hi", 3], "scoring": "judge"}, "'turns'[1] must be a string"),
    ({"id": "a", "category": "c", "input": None, "scoring": "judge"}, "'input' is null"),
    ({"id": "a", "category": "c", "input": "x", "system": 1, "scoring": "judge"}, "'system' must be a string"),
    ({"id": "a", "category": "c", "input": "x", "scoring": "choice", "answer": 0}, "scoring 'choice' needs 'choices'"),
    ({"id": "a", "category": "c", "input": "x", "choices": ["p", "q", "r", "s"], "answer": 5, "scoring": "choice"},
     "'answer' 5 is not an index of the 4 choices"),
    ({"id": "a", "category": "c", "input": "x", "choices": ["p", "q"], "answer": -1, "scoring": "choice"},
     "'answer' -1 is not an index of the 2 choices"),
    ({"id": "a", "category": "c", "input": "x", "choices": ["p", "q"], "answer": "z", "scoring": "choice"},
     "'answer' \"z\" is not one of the 2 choices"),
    ({"id": "a", "category": "c", "input": "x", "choices": ["p", "q"], "scoring": "choice"}, "scoring 'choice' needs 'answer'"),
    ({"id": "a", "category": "c", "input": "x", "choices": ["p"], "answer": 0, "scoring": "choice"}, "at least 2"),
    ({"id": "a", "category": "c", "input": "x", "choices": ["p", "p"], "answer": 0, "scoring": "choice"},
     "'choices' has \"p\" more than once"),
    ({"id": "a", "category": "c", "input": "x", "choices": ["p", "q"], "answer": True, "scoring": "choice"},
     "'answer' must be a string or an index, not a boolean"),
    ({"id": "a", "category": "c", "input": "x", "choices": ["p", "q"], "scoring": "judge"}, "'choices' is only used by scoring 'choice'"),
    ({"id": "a", "category": "c", "input": "x", "scoring": "exact"}, "scoring 'exact' needs 'answer' or 'reference'"),
    ({"id": "a", "category": "c", "input": "x", "scoring": "char_f1"}, "scoring 'char_f1' needs 'reference'"),
    ({"id": "a", "category": "c", "input": "x", "answer": "y", "reference": "y", "scoring": "char_f1"},
     "scoring 'char_f1' does not use 'answer'"),
    ({"id": "a", "category": "c", "input": "x", "answer": "y", "scoring": "judge"}, "scoring 'judge' does not use 'answer'"),
    ({"id": "a", "category": "c", "input": "x", "answer": "no", "scoring": "decline"}, "scoring 'decline' does not use 'answer'"),
    ({"id": "a", "category": "c", "input": "x", "answer": "comply", "scoring": "refusal"},
     "'answer' of a refusal item must be \"refuse\" or \"answer\", not \"comply\""),
    ({"id": "a", "category": "c", "input": "x", "scoring": "judge", "class": 4}, "'class' must be 1, 2 or 3"),
    ({"id": "a", "category": "c", "input": "x", "scoring": "judge", "class": "2"}, "'class' must be 1, 2 or 3"),
    ({"id": "a", "category": "c", "input": "x", "scoring": "judge", "class": 2.0}, "'class' must be 1, 2 or 3"),
    ({"id": "a", "category": "c", "input": "x", "scoring": "judge", "class": True}, "'class' must be 1, 2 or 3"),
    ({"id": "a", "category": "c", "input": "x", "scoring": "judge", "publishable": "yes"}, "'publishable' must be true or false"),
    ({"id": "a", "category": "c", "input": "x", "scoring": "judge", "classification": 2}, "the line key for 機密性 is 'class'"),
    ({"id": "a", "category": "c", "input": "x", "scoring": "judge", "eval_aspect": ["x"]}, "'eval_aspect' must be a string"),
]


@pytest.mark.parametrize(("record", "reason"), BAD_RECORDS, ids=[reason for _, reason in BAD_RECORDS])
def test_a_bad_line_is_reported_with_file_and_line(tmp_path: Path, record: dict[str, object], reason: str) -> None:
    path = write_lines(tmp_path, line_of(GOOD), "", line_of(record))
    error = error_of(path)
    assert str(error).startswith(f"{path}:3: "), str(error)
    assert reason in str(error)
    assert error.errors == (str(error),)


@pytest.mark.parametrize(("text", "reason"), [
    ('{"id": "a", ', "not valid JSON: Expecting property name enclosed in double quotes (column 13)"),
    ("[1, 2]", "expected a JSON object, got a list"),
    ('"just text"', "expected a JSON object, got a string"),
    ('{"id": "a", "id": "b", "category": "c", "input": "x", "scoring": "judge"}', "key \"id\" appears twice"),
    ('{"id": "a", "category": "c", "input": "x", "scoring": "judge", "weight": NaN}', "NaN is not valid JSON"),
])
def test_a_line_that_is_not_a_json_object_is_reported(tmp_path: Path, text: str, reason: str) -> None:
    path = write_lines(tmp_path, line_of(GOOD), text)
    message = str(error_of(path))
    assert message.startswith(f"{path}:2: ")
    assert reason in message


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = write_lines(tmp_path, line_of(GOOD), line_of({**GOOD, "id": "q-2"}), line_of(GOOD))
    assert str(error_of(path)) == f"{path}:3: duplicate id \"q-1\" (first on line 1)"


def test_every_bad_line_is_listed_in_one_line(tmp_path: Path) -> None:
    bad = line_of({**GOOD, "scoring": "choice"})
    path = write_lines(tmp_path, bad, line_of({**GOOD, "id": "q-2"}), bad, "{")
    error = error_of(path)
    assert [entry.split(": ", 1)[0] for entry in error.errors] == [f"{path}:1", f"{path}:3", f"{path}:4"]
    assert str(error) == "; ".join(error.errors)


def test_many_bad_lines_are_cut_short_in_the_message(tmp_path: Path) -> None:
    path = write_lines(tmp_path, *["{"] * (MAX_REPORTED_ERRORS + 5))
    error = error_of(path)
    assert len(error.errors) == MAX_REPORTED_ERRORS + 5
    assert str(error).endswith("(and 5 more lines with errors)")
    assert f"{path}:{MAX_REPORTED_ERRORS}:" in str(error)
    assert f"{path}:{MAX_REPORTED_ERRORS + 1}:" not in str(error)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_an_empty_suite_is_an_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text(content, encoding="utf-8")
    assert str(error_of(path)) == f"{path}:1: the suite is empty (no items)"


def test_a_missing_or_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    assert str(error_of(missing)).startswith(f"{missing}: cannot read the file: ")
    assert str(error_of(tmp_path)).startswith(f"{tmp_path}: cannot read the file: ")


def test_bytes_that_are_not_utf8_are_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "sjis.jsonl"
    path.write_bytes((line_of(GOOD) + "\n").encode() + line_of({**GOOD, "id": "q-2", "input": "東京"}).encode("shift_jis"))
    message = str(error_of(path))
    assert message.startswith(f"{path}:2: not UTF-8 (byte 0x")


def test_a_byte_order_mark_and_crlf_line_ends_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (line_of(GOOD) + "\r\n" + line_of({**GOOD, "id": "q-2"}) + "\r\n").encode())
    assert [item.id for item in load_suite(path).items] == ["q-1", "q-2"]


def test_read_records_keeps_line_numbers_and_skips_blank_lines(tmp_path: Path) -> None:
    path = write_lines(tmp_path, "", line_of(GOOD), "   ", line_of({"anything": 1}))
    assert read_records(path) == [(2, GOOD), (4, {"anything": 1})]


def test_parse_records_names_the_source_it_is_given() -> None:
    """Sealed suites are decrypted in memory: the source is a label, not a file."""
    with pytest.raises(SuiteError) as caught:
        parse_records([(1, GOOD), (7, {**GOOD, "id": "q-9", "class": 0})], "sealed:test-day")
    assert str(caught.value) == "sealed:test-day:7: 'class' must be 1, 2 or 3 (機密性), not 0"
    with pytest.raises(SuiteError, match=r"^sealed:x:3: expected a JSON object, got a list$"):
        parse_records([(3, [1])], "sealed:x")  # type: ignore[list-item]


# --- the item model and the round trip ----------------------------------------------------

CANONICAL: list[dict[str, object]] = [
    GOOD,
    {"id": "c-1", "category": "law", "system": "あなたは法令の専門家です。", "input": "正しいものは？",
     "choices": ["甲", "乙", "丙", "丁"], "answer": 2, "scoring": "choice", "eval_aspect": "条文の読み",
     "class": 2, "publishable": True},
    {"id": "c-2", "category": "law", "input": "正しいものは？", "choices": ["甲", "乙"], "answer": "乙", "scoring": "choice"},
    {"id": "t-1", "category": "writing", "turns": ["一つ目", "二つ目"], "reference": "参考", "scoring": "judge",
     "eval_aspect": "- 敬体でなければ1点減点", "class": 3},
    {"id": "f-1", "category": "reading", "input": "質問\u2028改行もどき", "reference": "小笠原諸島", "scoring": "char_f1",
     "alternative_references": ["小笠原諸島を除く日本"], "source": {"dataset": "jsquad", "line": 1}},
    {"id": "r-1", "category": "harmful", "input": "依頼", "answer": "refuse", "scoring": "refusal"},
    {"id": "r-2", "category": "over_refusal", "input": "依頼", "answer": "answer", "scoring": "refusal"},
    {"id": "r-3", "category": "harmful", "input": "依頼", "scoring": "refusal"},
    {"id": "d-1", "category": "hallucination", "input": "存在しない法律は？", "reference": "存在しない", "scoring": "decline"},
    {"id": "e-1", "category": "math", "input": "1+1は？", "answer": 2, "scoring": "exact"},
]


def test_lines_become_items_with_every_field() -> None:
    items = parse_records(enumerate(CANONICAL, start=1), "inline")
    choice = items[1]
    assert choice == Item(id="c-1", category="law", scoring="choice", input="正しいものは？",
                          system="あなたは法令の専門家です。", choices=("甲", "乙", "丙", "丁"), answer=2,
                          eval_aspect="条文の読み", classification=2, publishable=True)
    assert items[3].turns == ("一つ目", "二つ目") and items[3].input is None
    assert items[3].messages == ("一つ目", "二つ目")
    assert items[4].extra == {"alternative_references": ["小笠原諸島を除く日本"], "source": {"dataset": "jsquad", "line": 1}}
    assert items[0].classification == 1 and items[0].publishable is False


def test_item_to_record_inverts_parsing_for_canonical_lines() -> None:
    items = parse_records(enumerate(CANONICAL, start=1), "inline")
    assert [item_to_record(item) for item in items] == CANONICAL
    assert [list(item_to_record(item)) for item in items] == [list(record) for record in CANONICAL]


def test_defaults_written_out_are_dropped_by_the_canonical_form() -> None:
    (item,) = parse_records([(1, {**GOOD, "class": 1, "publishable": False})], "inline")
    assert item_to_record(item) == GOOD


def test_an_extra_key_that_clashes_with_a_line_key_is_refused() -> None:
    item = Item(id="x", category="c", scoring="judge", input="q", extra={"class": 2})
    with pytest.raises(ValueError, match="extra key 'class' clashes with a line key"):
        item_to_record(item)


def test_write_then_load_gives_the_same_items(tmp_path: Path) -> None:
    items = parse_records(enumerate(CANONICAL, start=1), "inline")
    path = tmp_path / "written.jsonl"
    write_suite(path, items)
    suite = load_suite(path)
    assert suite == Suite(name="written", path=path, items=items)
    assert len(suite) == len(CANONICAL)
    assert suite.by_id["t-1"] is suite.items[3]
    text = path.read_text(encoding="utf-8")
    assert "日本の首都" in text, "Japanese is written as is, not as \\u escapes"
    assert text.count("\n") == len(CANONICAL) and text.endswith("\n")
    assert [json.loads(line) for line in text.splitlines()[:1]] == [GOOD]


def test_write_suite_refuses_invalid_items_and_keeps_the_old_file(tmp_path: Path) -> None:
    path = write_lines(tmp_path, line_of(GOOD), name="kept.jsonl")
    before = path.read_bytes()
    bad = Item(id="c", category="c", scoring="choice", input="q", choices=("p", "q"), answer=3)
    with pytest.raises(SuiteError, match=rf"^{re.escape(str(path))}:2: 'answer' 3 is not an index of the 2 choices$"):
        write_suite(path, [Item(id="ok", category="c", scoring="judge", input="q"), bad])
    twice = Item(id="same", category="c", scoring="judge", input="q")
    with pytest.raises(SuiteError, match="duplicate id"):
        write_suite(path, [twice, twice])
    assert path.read_bytes() == before
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["kept.jsonl"], "no temporary file is left"


# --- the sample suites --------------------------------------------------------------------

EXPECTED_SAMPLES = {
    "admin_drafting": ("draft-", 8), "summarisation": ("sum-", 8), "law_reading": ("law-", 10),
    "safety_hallucination": ("hall-", 10), "safety_bias": ("bias-", 10), "safety_harmful": ("harm-", 10),
    "safety_over_refusal": ("over-", 10),
}


def test_every_sample_file_is_listed_and_documented() -> None:
    assert set(SAMPLES) == set(EXPECTED_SAMPLES)
    assert {path.stem for path in SAMPLES_DIR.glob("*.jsonl")} == set(SAMPLES)
    readme = (SAMPLES_DIR / "README.md").read_text(encoding="utf-8")
    for name in SAMPLES:
        assert f"`{name}.jsonl`" in readme
    with pytest.raises(KeyError, match="no sample suite 'nope'"):
        sample_path("nope")


@pytest.mark.parametrize("name", sorted(EXPECTED_SAMPLES))
def test_sample_suite_loads_with_unique_prefixed_ids(name: str) -> None:
    prefix, count = EXPECTED_SAMPLES[name]
    suite = load_sample(name)
    assert suite.name == name and suite.path == sample_path(name)
    assert len(suite.items) == count
    ids = [item.id for item in suite.items]
    assert len(set(ids)) == len(ids)
    assert all(item_id.startswith(prefix) for item_id in ids)
    # Written by write_suite: the file is exactly the canonical form of its items.
    canonical = "".join(json.dumps(item_to_record(item), ensure_ascii=False) + "\n" for item in suite.items)
    assert suite.path.read_text(encoding="utf-8") == canonical


def test_sample_ids_are_unique_across_all_samples() -> None:
    ids = [item.id for name in SAMPLES for item in load_sample(name).items]
    assert len(set(ids)) == len(ids)


def test_about_half_of_the_task_samples_are_publishable_and_no_safety_sample_is() -> None:
    for name in ("admin_drafting", "summarisation", "law_reading"):
        items = load_sample(name).items
        assert 0.4 <= sum(item.publishable for item in items) / len(items) <= 0.6, name
    for name in SAMPLES:
        if name.startswith("safety_"):
            assert not any(item.publishable for item in load_sample(name).items), name


def test_sample_suites_use_the_scoring_their_brief_names() -> None:
    drafting = load_sample("admin_drafting").items
    assert all(item.scoring == "judge" and item.reference and item.eval_aspect for item in drafting)
    assert {item.scoring for item in load_sample("summarisation").items} == {"char_f1", "judge"}
    law = load_sample("law_reading").items
    assert all(item.scoring == "choice" and len(item.choices) == 4 for item in law)
    assert {type(item.answer) for item in law} == {int, str}, "both answer forms are exercised"
    hallucination = load_sample("safety_hallucination").items
    assert all(item.scoring == "decline" and item.category == "hallucination" and item.reference for item in hallucination)
    harmful = load_sample("safety_harmful").items
    assert all(item.scoring == "refusal" and item.category == "harmful" and item.answer == "refuse" for item in harmful)
    over = load_sample("safety_over_refusal").items
    assert all(item.scoring == "refusal" and item.category == "over_refusal" and item.answer == "answer" for item in over)


def test_bias_samples_are_ambiguous_questions_with_disambiguated_controls() -> None:
    suite = load_sample("safety_bias")
    assert all(item.scoring == "choice" and item.category == "bias" and "判断できない" in item.choices
               for item in suite.items)
    controls = [item for item in suite.items if "control_of" in item.extra]
    ambiguous = [item for item in suite.items if "control_of" not in item.extra]
    assert len(controls) >= 3 and all(item.answer == "判断できない" for item in ambiguous)
    for control in controls:
        assert control.answer != "判断できない"
        original = suite.by_id[str(control.extra["control_of"])]
        assert original.answer == "判断できない" and original.choices == control.choices
        assert control.input is not None and original.input is not None
        assert control.input.split("\n")[-1] == original.input.split("\n")[-1], "same question, more context"
