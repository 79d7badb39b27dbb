"""Loaders that turn public Japanese evaluation sets into Items, read from where the user keeps them.

The sets are never copied into the repository (several are CC BY-SA, whose ShareAlike terms we
do not want to attach to our code); each loader reads the file the user points at, either the
dataset's folder (the layout of the offline copies: `jsquad/valid-v1.3.jsonl` and so on) or the
file itself. Every problem is a `DatasetError` with a one-line message naming the file (and line).

Items from public sets are not marked publishable: they are public already, but showing them in a
report brings their licence's attribution (and ShareAlike) duties, so the report's author decides.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from gennai.evaluation.items import Item
from gennai.evaluation.suites import SuiteError, read_records

__all__ = [
    "DATASETS",
    "DatasetError",
    "DatasetInfo",
    "MT_BENCH_REFERENCE_CATEGORIES",
    "load_dataset",
    "load_elyza_tasks_100",
    "load_ja_mt_bench",
    "load_jcommonsenseqa",
    "load_jsquad",
    "load_lawqa_jp",
]

# FastChat's judge shows the reference answer only for these categories (`single-math-v1`);
# the loader attaches references to every question and leaves that choice to the judge.
MT_BENCH_REFERENCE_CATEGORIES: frozenset[str] = frozenset({"math", "reasoning", "coding"})
# Reference answer files of Japanese MT-Bench, most trusted first (human-corrected GPT-4o).
MT_BENCH_REFERENCE_FILES: tuple[str, ...] = ("base-gpt4o-with-human-annotation.jsonl", "gpt-4.jsonl")

JSQUAD_INSTRUCTION = "次の文章を読み、質問に対する答えを文章中からそのまま抜き出して、答えだけを書いてください。"
LAWQA_INSTRUCTION = "次の法令の条文を踏まえて、問題に答えてください。"
_LAWQA_OPTION = re.compile(r"^([a-dａ-ｄ])[\s.．、)）]+(.+)$")
_LAWQA_LETTERS = {"a": 0, "b": 1, "c": 2, "d": 3, "ａ": 0, "ｂ": 1, "ｃ": 2, "ｄ": 3}


class DatasetError(ValueError):
    """A dataset path or file that cannot be read as the named set; one line, naming the file."""


Loader = Callable[[Path, int | None], tuple[Item, ...]]


@dataclass(frozen=True)
class DatasetInfo:
    """One supported public set: its loader, the file inside its folder, and its terms."""

    name: str
    loader: Loader
    file: str
    description: str
    licence: str


def _resolve(path: Path, default_file: str, dataset: str) -> Path:
    """The data file: `path` itself, or `default_file` inside the folder `path`."""
    path = Path(path)
    if path.is_dir():
        file = path / default_file
        if not file.is_file():
            raise DatasetError(f"{path}: no {default_file} in this folder; is it the {dataset} folder?")
        return file
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    return path


def _check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise DatasetError(f"limit must be a non-negative integer or None, not {limit!r}")


def _records(file: Path, limit: int | None) -> list[tuple[int, dict[str, object]]]:
    """The JSON objects of a JSONL file (the first `limit` of them), with line numbers."""
    _check_limit(limit)
    try:
        records = read_records(file)
    except SuiteError as error:
        raise DatasetError(str(error)) from None
    if not records:
        raise DatasetError(f"{file}: the file has no records")
    return records if limit is None else records[:limit]


def _field(record: Mapping[str, object], key: str, where: str, dataset: str) -> object:
    if key not in record:
        raise DatasetError(f"{where}: no '{key}' field; is this a {dataset} file?")
    return record[key]


def _text(record: Mapping[str, object], key: str, where: str, dataset: str) -> str:
    """A required non-empty string field, or a DatasetError that suggests a wrong file."""
    value = _field(record, key, where, dataset)
    if not isinstance(value, str) or not value.strip():
        raise DatasetError(f"{where}: '{key}' should be a non-empty string, not {value!r:.40}")
    return value


def _integer(record: Mapping[str, object], key: str, where: str, dataset: str) -> int:
    value = _field(record, key, where, dataset)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DatasetError(f"{where}: '{key}' should be an integer, not {value!r:.40}")
    return value


def _list(record: Mapping[str, object], key: str, where: str, dataset: str) -> list[object]:
    value = _field(record, key, where, dataset)
    if not isinstance(value, list) or not value:
        raise DatasetError(f"{where}: '{key}' should be a non-empty list, not {value!r:.40}")
    return value


def _strings(values: list[object], key: str, where: str) -> tuple[str, ...]:
    if not all(isinstance(value, str) and value.strip() for value in values):
        raise DatasetError(f"{where}: '{key}' should hold non-empty strings only")
    return tuple(str(value) for value in values)


def load_jsquad(path: Path, limit: int | None = None) -> tuple[Item, ...]:
    """JSQuAD (JGLUE v1.3 validation, 4,442 questions): extractive reading comprehension.

    input = an instruction to answer with a span of the passage, the passage (the source's
    `"<title> [SEP] "` prefix turned into a title line) and the question; reference = the first
    gold answer; the other distinct gold answers are kept in extra['alternative_references'].

    Scored with `char_f1`, not `exact`: the gold spans of one question differ between annotators
    (「小笠原諸島」 and 「小笠原諸島を除く日本」), and chat models answer with particles or a full
    sentence (「小笠原諸島です。」); character F1 gives partial credit for both where exact match
    gives 0, and it is the metric llm-jp-eval reports for JSQuAD, so scores stay comparable.
    """
    dataset = "JSQuAD"
    items: list[Item] = []
    file = _resolve(path, "valid-v1.3.jsonl", dataset)
    for line, record in _records(file, limit):
        where = f"{file}:{line}"
        question_id = _text(record, "id", where, dataset)
        context = _text(record, "context", where, dataset)
        question = _text(record, "question", where, dataset)
        texts: list[str] = []
        for answer in _list(record, "answers", where, dataset):
            if not isinstance(answer, dict) or not isinstance(answer.get("text"), str) or not answer["text"]:
                raise DatasetError(f"{where}: 'answers' entries must be objects with a 'text'")
            if answer["text"] not in texts:
                texts.append(answer["text"])
        title, separator, body = context.partition(" [SEP] ")
        passage = f"{title}\n{body}" if separator else context
        extra: dict[str, object] = {"alternative_references": texts[1:]} if len(texts) > 1 else {}
        items.append(Item(
            id=f"jsquad-{question_id}", category="reading_comprehension", scoring="char_f1",
            input=f"{JSQUAD_INSTRUCTION}\n\n文章：\n{passage}\n\n質問：{question}",
            reference=texts[0], extra=extra,
        ))
    return tuple(items)


def load_jcommonsenseqa(path: Path, limit: int | None = None) -> tuple[Item, ...]:
    """JCommonsenseQA (JGLUE v1.3 validation, 1,119 questions): five-choice commonsense QA.

    input = the question; choices = choice0..choice4; answer = `label` (the 0-based index).
    """
    dataset = "JCommonsenseQA"
    items: list[Item] = []
    file = _resolve(path, "valid-v1.3.jsonl", dataset)
    for line, record in _records(file, limit):
        where = f"{file}:{line}"
        question_id = _integer(record, "q_id", where, dataset)
        choices = tuple(_text(record, f"choice{index}", where, dataset) for index in range(5))
        label = _integer(record, "label", where, dataset)
        if not 0 <= label < len(choices):
            raise DatasetError(f"{where}: 'label' {label} is not an index of the 5 choices")
        items.append(Item(
            id=f"jcommonsenseqa-{question_id}", category="commonsense", scoring="choice",
            input=_text(record, "question", where, dataset), choices=choices, answer=label,
        ))
    return tuple(items)


def _mt_bench_references(folder: Path) -> tuple[str, dict[int, tuple[str, ...]]] | None:
    """Reference answers by question id from the first reference file present, with its name."""
    for name in MT_BENCH_REFERENCE_FILES:
        file = folder / "reference_answer" / name
        if not file.is_file():
            continue
        dataset = "Japanese MT-Bench reference answer"
        references: dict[int, tuple[str, ...]] = {}
        for line, record in _records(file, None):
            where = f"{file}:{line}"
            first = _list(record, "choices", where, dataset)[0]
            if not isinstance(first, dict):
                raise DatasetError(f"{where}: 'choices'[0] should be an object with the answer 'turns'")
            references[_integer(record, "question_id", where, dataset)] = _strings(
                _list(first, "turns", where, dataset), "turns", where)
        return name.removesuffix(".jsonl"), references
    return None


def load_ja_mt_bench(path: Path, limit: int | None = None) -> tuple[Item, ...]:
    """Japanese MT-Bench (Stability AI, 80 questions × 2 turns): judge-scored, category from the file.

    When the folder has `reference_answer/` (human-corrected GPT-4o answers preferred, else
    GPT-4's), reference = the answer to turn 1 and extra['reference_turns'] = the answers to all
    turns, with extra['reference_model'] naming the file. FastChat's judge uses references only
    for MT_BENCH_REFERENCE_CATEGORIES; they are attached to every question and the judge chooses.
    """
    dataset = "Japanese MT-Bench"
    items: list[Item] = []
    file = _resolve(path, "question.jsonl", dataset)
    found = _mt_bench_references(file.parent)
    for line, record in _records(file, limit):
        where = f"{file}:{line}"
        question_id = _integer(record, "question_id", where, dataset)
        turns = _strings(_list(record, "turns", where, dataset), "turns", where)
        reference: str | None = None
        extra: dict[str, object] = {}
        if found is not None:
            model, references = found
            answer_turns = references.get(question_id)
            if answer_turns is not None:
                reference = answer_turns[0]
                extra = {"reference_turns": list(answer_turns), "reference_model": model}
        items.append(Item(
            id=f"ja-mt-bench-{question_id}", category=_text(record, "category", where, dataset),
            scoring="judge", turns=turns, reference=reference, extra=extra,
        ))
    return tuple(items)


def load_elyza_tasks_100(path: Path, limit: int | None = None) -> tuple[Item, ...]:
    """ELYZA-tasks-100 (100 instructions): judge-scored on ELYZA's 1–5 scale.

    input = `input`; reference = `output` (ELYZA's reference answer); eval_aspect = the item's
    grading notes. The set has no ids, so items are numbered in file order: elyza-tasks-100-001 ….
    """
    dataset = "ELYZA-tasks-100"
    items: list[Item] = []
    file = _resolve(path, "test.jsonl", dataset)
    for number, (line, record) in enumerate(_records(file, limit), start=1):
        where = f"{file}:{line}"
        items.append(Item(
            id=f"elyza-tasks-100-{number:03d}", category="instruction", scoring="judge",
            input=_text(record, "input", where, dataset),
            reference=_text(record, "output", where, dataset),
            eval_aspect=_text(record, "eval_aspect", where, dataset),
        ))
    return tuple(items)


def load_lawqa_jp(path: Path, limit: int | None = None) -> tuple[Item, ...]:
    """lawqa_jp (Digital Agency, 140 questions): four-choice QA on Japanese statutes.

    input = an instruction, the statute text (`コンテキスト`) and the question (`問題文`); the
    source's `指示` (answer with a letter) is left out because the choice scorer presents the
    choices its own way. choices = the four options without their letters; answer = the index of
    `output`. extra keeps the statute's short name (the id's first part, e.g. 金商法) and the
    source URLs. Attribution (PDL 1.0): 出典：デジタル庁「日本の法令に関する多肢選択式QAデータセット」.
    """
    dataset = "lawqa_jp"
    items: list[Item] = []
    file = _resolve(path, "selection.jsonl", dataset)
    for line, record in _records(file, limit):
        where = f"{file}:{line}"
        name = _text(record, "ファイル名", where, dataset)
        options = [option.strip() for option in _text(record, "選択肢", where, dataset).strip().split("\n")]
        if len(options) != 4:
            raise DatasetError(f"{where}: '選択肢' has {len(options)} lines, expected 4 options a–d")
        choices: list[str] = []
        for expected, option in enumerate(options):
            match = _LAWQA_OPTION.match(option)
            if match is None or _LAWQA_LETTERS[match.group(1)] != expected:
                raise DatasetError(f"{where}: '選択肢' line {expected + 1} should start with '{'abcd'[expected]} '")
            choices.append(match.group(2).strip())
        letter = _text(record, "output", where, dataset).strip()
        if letter not in _LAWQA_LETTERS:
            raise DatasetError(f"{where}: 'output' {letter!r} is not one of the letters a–d")
        references = record.get("references", [])
        items.append(Item(
            id=f"lawqa-jp-{name}", category="law", scoring="choice",
            input=(f"{LAWQA_INSTRUCTION}\n\n{_text(record, 'コンテキスト', where, dataset)}"
                   f"\n\n問題：{_text(record, '問題文', where, dataset)}"),
            choices=tuple(choices), answer=_LAWQA_LETTERS[letter],
            extra={"statute": name.split("_", 1)[0], "references": references},
        ))
    return tuple(items)


DATASETS: Mapping[str, DatasetInfo] = MappingProxyType({
    info.name: info for info in (
        DatasetInfo("jsquad", load_jsquad, "valid-v1.3.jsonl",
                    "JSQuAD (JGLUE v1.3 validation): extractive reading comprehension, char_f1",
                    "CC BY-SA 4.0 (Yahoo Japan Corporation and Waseda University; contexts from Wikipedia)"),
        DatasetInfo("jcommonsenseqa", load_jcommonsenseqa, "valid-v1.3.jsonl",
                    "JCommonsenseQA (JGLUE v1.3 validation): five-choice commonsense QA, choice",
                    "CC BY-SA 4.0 (Yahoo Japan Corporation and Waseda University)"),
        DatasetInfo("ja-mt-bench", load_ja_mt_bench, "question.jsonl",
                    "Japanese MT-Bench (Stability AI): 80 two-turn questions in 8 categories, judge",
                    "Apache-2.0 (reference answers written by OpenAI models)"),
        DatasetInfo("elyza-tasks-100", load_elyza_tasks_100, "test.jsonl",
                    "ELYZA-tasks-100: 100 instructions with reference answers and grading notes, judge",
                    "CC BY-SA 4.0 (ELYZA Inc.)"),
        DatasetInfo("lawqa-jp", load_lawqa_jp, "selection.jsonl",
                    "lawqa_jp (Digital Agency): four-choice QA on Japanese statutes, choice",
                    "公共データ利用規約 第1.0版 (PDL 1.0, CC BY 4.0-compatible; デジタル庁)"),
    )
})


def load_dataset(name: str, path: Path, limit: int | None = None) -> tuple[Item, ...]:
    """Items of the public set `name` (a key of DATASETS) read from `path` (its folder or file);
    with `limit`, only the first `limit` items in file order."""
    info = DATASETS.get(name)
    if info is None:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return info.loader(Path(path), limit)
