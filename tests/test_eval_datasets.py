"""Loaders of the public Japanese sets: counts and fields on the real files (read from the
offline copies, never from the repository), folder-or-file paths, limits, and one-line errors."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from gennai.evaluation.datasets import (
    DATASETS,
    DatasetError,
    load_dataset,
    load_elyza_tasks_100,
    load_ja_mt_bench,
    load_jcommonsenseqa,
    load_jsquad,
    load_lawqa_jp,
)
from gennai.evaluation.items import Item
from gennai.evaluation.suites import item_to_record, parse_records

DATASETS_ENV = "GENNAI_EVAL_DATASETS"
DEFAULT_DATASETS = Path("/work/shared/datasets")


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """The folder with the offline copies of the public sets (override with GENNAI_EVAL_DATASETS)."""
    folder = Path(os.environ.get(DATASETS_ENV, DEFAULT_DATASETS))
    if not folder.is_dir():
        pytest.skip(f"the public evaluation sets are not at {folder}; set {DATASETS_ENV} to their folder")
    return folder


def dataset_folder(datasets_dir: Path, name: str) -> Path:
    folder = datasets_dir / name
    if not (folder / DATASETS[name].file).is_file():
        pytest.skip(f"{folder / DATASETS[name].file} is missing from the shared datasets")
    return folder


def assert_valid_suite(items: tuple[Item, ...]) -> None:
    """What a loader returns can be written as a suite and read back unchanged."""
    records = [item_to_record(item) for item in items]
    assert parse_records(enumerate(records, start=1), "loaded") == items


def test_every_dataset_is_described() -> None:
    assert set(DATASETS) == {"jsquad", "jcommonsenseqa", "ja-mt-bench", "elyza-tasks-100", "lawqa-jp"}
    for name, info in DATASETS.items():
        assert info.name == name and info.description and info.licence and info.file.endswith(".jsonl")


def test_jsquad(datasets_dir: Path) -> None:
    items = load_jsquad(dataset_folder(datasets_dir, "jsquad"))
    assert len(items) == 4442
    assert len({item.id for item in items}) == 4442
    first = items[0]
    assert first.id == "jsquad-a10336p0q0" and first.scoring == "char_f1"
    assert first.reference == "小笠原諸島"
    assert first.extra == {"alternative_references": ["小笠原諸島を除く日本"]}
    assert first.input is not None and "[SEP]" not in first.input
    assert "梅雨（つゆ、ばいう）は" in first.input and first.input.endswith("質問：日本で梅雨がないのは北海道とどこか。")
    assert all(item.reference and item.input for item in items)
    assert_valid_suite(items)


def test_jcommonsenseqa(datasets_dir: Path) -> None:
    items = load_jcommonsenseqa(dataset_folder(datasets_dir, "jcommonsenseqa"))
    assert len(items) == 1119
    assert all(item.scoring == "choice" and len(item.choices) == 5 for item in items)
    assert all(isinstance(item.answer, int) and 0 <= item.answer < 5 for item in items)
    assert Counter(item.answer for item in items) == {0: 216, 1: 237, 2: 240, 3: 228, 4: 198}
    assert items[0].id == "jcommonsenseqa-8939" and items[0].choices[items[0].answer] == "マザーボード"  # type: ignore[index]
    assert_valid_suite(items)


def test_ja_mt_bench_with_references(datasets_dir: Path) -> None:
    items = load_ja_mt_bench(dataset_folder(datasets_dir, "ja-mt-bench"))
    assert len(items) == 80
    assert Counter(item.category for item in items) == {category: 10 for category in (
        "writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities")}
    assert all(item.scoring == "judge" and len(item.turns) == 2 and item.input is None for item in items)
    assert items[0].id == "ja-mt-bench-1"
    for item in items:
        assert item.extra["reference_model"] == "base-gpt4o-with-human-annotation"
        turns = item.extra["reference_turns"]
        assert isinstance(turns, list) and len(turns) == 2 and item.reference == turns[0]
    assert_valid_suite(items)


def test_ja_mt_bench_without_reference_folder(datasets_dir: Path, tmp_path: Path) -> None:
    """Given the question file alone (no reference_answer/ beside it), items have no reference."""
    shutil.copy(dataset_folder(datasets_dir, "ja-mt-bench") / "question.jsonl", tmp_path / "question.jsonl")
    items = load_ja_mt_bench(tmp_path / "question.jsonl", 3)
    assert [item.id for item in items] == ["ja-mt-bench-1", "ja-mt-bench-2", "ja-mt-bench-3"]
    assert all(item.reference is None and item.extra == {} for item in items)


def test_elyza_tasks_100(datasets_dir: Path) -> None:
    items = load_elyza_tasks_100(dataset_folder(datasets_dir, "elyza-tasks-100"))
    assert len(items) == 100
    assert items[0].id == "elyza-tasks-100-001" and items[-1].id == "elyza-tasks-100-100"
    assert items[0].input == "仕事の熱意を取り戻すためのアイデアを5つ挙げてください。"
    assert all(item.scoring == "judge" and item.reference and item.eval_aspect for item in items)
    assert_valid_suite(items)


def test_lawqa_jp(datasets_dir: Path) -> None:
    items = load_lawqa_jp(dataset_folder(datasets_dir, "lawqa-jp"))
    assert len(items) == 140
    assert Counter(item.answer for item in items) == {0: 23, 1: 37, 2: 48, 3: 32}
    assert Counter(item.extra["statute"] for item in items) == {"金商法": 80, "薬機法": 39, "借地借家法": 21}
    first = items[0]
    assert first.id == "lawqa-jp-金商法_第2章_選択式_関連法令_問題番号57"
    assert first.choices[2] == "第5条第1項の届出書に類する書類であって、英語で記載されているもの"
    assert all(len(item.choices) == 4 and not item.choices[0].startswith("a ") for item in items)
    assert first.input is not None and "## 金融商品取引法" in first.input and "<following_context>" not in first.input
    assert_valid_suite(items)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_folder_or_file_and_limit(datasets_dir: Path, name: str) -> None:
    folder = dataset_folder(datasets_dir, name)
    from_folder = load_dataset(name, folder, limit=5)
    assert len(from_folder) == 5
    assert load_dataset(name, folder / DATASETS[name].file, limit=5) == from_folder
    assert load_dataset(name, folder, limit=0) == ()
    assert load_dataset(name, folder)[:5] == from_folder


# --- errors --------------------------------------------------------------------------------

def test_unknown_dataset_and_bad_limit(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown dataset 'glue'; known: jsquad, "):
        load_dataset("glue", tmp_path)
    (tmp_path / "test.jsonl").write_text('{"input": "a", "output": "b", "eval_aspect": "c"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="limit must be a non-negative integer or None, not -1"):
        load_dataset("elyza-tasks-100", tmp_path, limit=-1)


def test_a_wrong_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=rf"^{re.escape(str(tmp_path))}/nowhere: no such file or folder$"):
        load_dataset("jsquad", tmp_path / "nowhere")
    with pytest.raises(DatasetError, match=rf"^{re.escape(str(tmp_path))}: no valid-v1.3\.jsonl in this folder; is it the JSQuAD folder\?$"):
        load_dataset("jsquad", tmp_path)


def test_the_wrong_dataset_file_is_named_with_its_line(datasets_dir: Path) -> None:
    file = dataset_folder(datasets_dir, "jcommonsenseqa") / "valid-v1.3.jsonl"
    with pytest.raises(DatasetError) as caught:
        load_dataset("jsquad", file)
    assert str(caught.value) == f"{file}:1: no 'id' field; is this a JSQuAD file?"


@pytest.mark.parametrize(("name", "file", "lines", "reason"), [
    ("jcommonsenseqa", "valid-v1.3.jsonl",
     [{"q_id": 1, "question": "q", "choice0": "a", "choice1": "b", "choice2": "c", "choice3": "d", "choice4": "e", "label": 5}],
     ":1: 'label' 5 is not an index of the 5 choices"),
    ("jcommonsenseqa", "valid-v1.3.jsonl",
     [{"q_id": "x", "question": "q", "choice0": "a", "choice1": "b", "choice2": "c", "choice3": "d", "choice4": "e", "label": 0}],
     ":1: 'q_id' should be an integer, not 'x'"),
    ("elyza-tasks-100", "test.jsonl", [{"input": "a", "output": "b", "eval_aspect": "c"}, {"input": "a", "output": ""}],
     ":2: 'output' should be a non-empty string, not ''"),
    ("jsquad", "valid-v1.3.jsonl", [{"id": "x", "context": "t [SEP] c", "question": "q", "answers": []}],
     ":1: 'answers' should be a non-empty list, not []"),
    ("ja-mt-bench", "question.jsonl", [{"question_id": 1, "category": "math", "turns": ["a", 2]}],
     ":1: 'turns' should hold non-empty strings only"),
    ("lawqa-jp", "selection.jsonl",
     [{"ファイル名": "x", "コンテキスト": "c", "問題文": "q", "選択肢": "a p\nb q\nc r", "output": "a"}],
     ":1: '選択肢' has 3 lines, expected 4 options a–d"),
    ("lawqa-jp", "selection.jsonl",
     [{"ファイル名": "x", "コンテキスト": "c", "問題文": "q", "選択肢": "a p\nb q\nd r\nc s", "output": "a"}],
     ":1: '選択肢' line 3 should start with 'c '"),
    ("lawqa-jp", "selection.jsonl",
     [{"ファイル名": "x", "コンテキスト": "c", "問題文": "q", "選択肢": "a p\nb q\nc r\nd s", "output": "e"}],
     ":1: 'output' 'e' is not one of the letters a–d"),
])
def test_unexpected_format_is_reported_with_file_and_line(
        tmp_path: Path, name: str, file: str, lines: list[dict[str, object]], reason: str) -> None:
    path = tmp_path / file
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    with pytest.raises(DatasetError) as caught:
        load_dataset(name, tmp_path)
    assert str(caught.value) == f"{path}{reason}"


def test_bad_json_and_empty_files_are_dataset_errors(tmp_path: Path) -> None:
    path = tmp_path / "test.jsonl"
    path.write_text('{"input": "a", "output": "b", "eval_aspect": "c"}\n{oops\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=rf"^{re.escape(str(path))}:2: not valid JSON: "):
        load_dataset("elyza-tasks-100", path)
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=rf"^{re.escape(str(path))}: the file has no records$"):
        load_dataset("elyza-tasks-100", path)
