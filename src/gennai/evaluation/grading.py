"""Blind human grading of answers the judges disagreed on (or any answers an evaluator queues).

Two append-only files under `RUNDIR/grading/` (docs/evaluation.md):

- `queue.jsonl`, one task per line: `task_id`, `item_id`, `candidates` (real model ids),
  `labels` (the anonymised label of each candidate, aligned with `candidates`: `labels[i]` is
  what graders see for `candidates[i]`; a random permutation of 回答A, 回答B, … drawn from
  `random.Random(seed)`), `seed` (that task's RNG seed), `reason`, `created_at`.
- `grades.jsonl`, one mark per line: `task_id`, `grader`, `label`, `score` (1–5, the ELYZA
  rubric), `comment`, `graded_at`. A grader may mark a task again: per (task, grader, label)
  the last line wins. Each task needs two different graders.

Graders only ever see labels; candidates are resolved from labels in `results` alone.
"""

from __future__ import annotations

import hashlib
import os
import random
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gennai.evaluation.files import append_json_lines, read_json_lines
from gennai.evaluation.statistics import cohen_kappa
from gennai.evaluation.transcripts import read_transcript, transcript_path

__all__ = [
    "COMMENT_MAX_CHARS",
    "GRADERS_PER_TASK",
    "KAPPA_MIN_PAIRS",
    "LABELS",
    "RUBRIC",
    "RUBRIC_ADJUSTMENTS",
    "RUBRIC_FLOOR",
    "SCORES",
    "Agreement",
    "AnswerGrade",
    "Grade",
    "GradingError",
    "GradingFormatError",
    "GradingResults",
    "GradingTask",
    "Mark",
    "TaskFull",
    "TranscriptAnswer",
    "assignments",
    "check_grader_name",
    "grades_path",
    "graded_by",
    "grader_marks",
    "load_grades",
    "load_queue",
    "queue_path",
    "queue_tasks",
    "read_answers",
    "results",
    "submit_grades",
    "transcript_path",
]

GRADERS_PER_TASK = 2
SCORES: tuple[int, ...] = (1, 2, 3, 4, 5)
LABELS: tuple[str, ...] = tuple(f"回答{letter}" for letter in string.ascii_uppercase)
COMMENT_MAX_CHARS = 2000
GRADER_MAX_CHARS = 100
KAPPA_MIN_PAIRS = 10
"""Below this many paired marks, kappa is reported with a note that it is only indicative."""

# The ELYZA-tasks-100 rubric, worded as in the judge prompt (scorers._JUDGE_TEMPLATE).
RUBRIC: tuple[tuple[int, str], ...] = (
    (1, "誤っている、または指示に従っていない"),
    (2, "誤っているが、方向性は合っている"),
    (3, "部分的に誤っている、または部分的に合っている"),
    (4, "合っている"),
    (5, "合っており、かつ役に立つ（期待以上に有用である）"),
)
RUBRIC_ADJUSTMENTS: tuple[str, ...] = (
    "不自然な日本語: 1点減点",
    "部分的に事実と異なる内容を含む: 1点減点",
    "答えるべき質問への不必要な回答拒否: 2点とする",
)
RUBRIC_FLOOR = "減点の結果が1点を下回る場合は1点とします。"


class GradingError(ValueError):
    """A grading request the files cannot take (unknown task, bad mark …)."""


class TaskFull(GradingError):
    """The task already has its two graders and this grader is not one of them."""


class GradingFormatError(GradingError):
    """A line of queue.jsonl or grades.jsonl that is not in the documented format."""


# --------------------------------------------------------------------------------------------
# Paths and JSONL
# --------------------------------------------------------------------------------------------


def queue_path(run_dir: str | os.PathLike[str]) -> Path:
    return Path(run_dir) / "grading" / "queue.jsonl"


def grades_path(run_dir: str | os.PathLike[str]) -> Path:
    return Path(run_dir) / "grading" / "grades.jsonl"


def _utc_now(now: datetime | None) -> str:
    moment = now if now is not None else datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) per non-blank line (a torn last line skipped); any other bad line
    raises."""
    records = read_json_lines(path, GradingFormatError)
    for number, value in records:
        if not isinstance(value, dict):
            raise GradingFormatError(f"{path}:{number}: a line must be a JSON object")
    return records


def _field(path: Path, number: int, record: Mapping[str, Any], key: str, kind: type) -> Any:
    value = record.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise GradingFormatError(f"{path}:{number}: `{key}` must be a {kind.__name__}")
    return value


# --------------------------------------------------------------------------------------------
# The queue
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradingTask:
    """One item's answers from several candidates, to be graded blind. `labels[i]` is the
    anonymised label of `candidates[i]`; graders see the answers in label order (回答A first)."""

    task_id: str
    item_id: str
    candidates: tuple[str, ...]
    labels: tuple[str, ...]
    seed: int
    reason: str
    created_at: str

    @property
    def shown(self) -> tuple[str, ...]:
        """The labels in the order graders see them."""
        return tuple(sorted(self.labels, key=LABELS.index))

    def candidate_of(self, label: str) -> str:
        """The real model id behind a label (for results only, never for graders)."""
        return self.candidates[self.labels.index(label)]

    def to_json(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "item_id": self.item_id,
            "candidates": list(self.candidates),
            "labels": list(self.labels),
            "seed": self.seed,
            "reason": self.reason,
            "created_at": self.created_at,
        }

    @classmethod
    def from_json(cls, path: Path, number: int, record: Mapping[str, Any]) -> GradingTask:
        candidates = _field(path, number, record, "candidates", list)
        labels = _field(path, number, record, "labels", list)
        if not candidates or not all(isinstance(c, str) and c for c in candidates):
            raise GradingFormatError(f"{path}:{number}: `candidates` must be non-empty strings")
        if len(set(candidates)) != len(candidates):
            raise GradingFormatError(f"{path}:{number}: `candidates` repeats a model")
        if len(labels) != len(candidates) or not all(isinstance(label, str) for label in labels) \
                or set(labels) != set(LABELS[: len(candidates)]):
            raise GradingFormatError(f"{path}:{number}: `labels` must be 回答A… one per candidate")
        return cls(
            task_id=_field(path, number, record, "task_id", str),
            item_id=_field(path, number, record, "item_id", str),
            candidates=tuple(candidates),
            labels=tuple(labels),
            seed=_field(path, number, record, "seed", int),
            reason=str(record.get("reason") or ""),
            created_at=str(record.get("created_at") or ""),
        )


def load_queue(run_dir: str | os.PathLike[str]) -> list[GradingTask]:
    """The queued tasks in file order (an empty list when nothing was queued)."""
    path = queue_path(run_dir)
    tasks: list[GradingTask] = []
    seen: set[str] = set()
    for number, record in _read_jsonl(path):
        task = GradingTask.from_json(path, number, record)
        if task.task_id in seen:
            raise GradingFormatError(f"{path}:{number}: task_id {task.task_id!r} repeats")
        seen.add(task.task_id)
        tasks.append(task)
    return tasks


def _task_seed(seed: int | str, task_id: str, item_id: str) -> int:
    digest = hashlib.sha256(f"{seed}\0{task_id}\0{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _labels_for(count: int, task_seed: int) -> tuple[str, ...]:
    labels = list(LABELS[:count])
    random.Random(task_seed).shuffle(labels)
    return tuple(labels)


def queue_tasks(
    run_dir: str | os.PathLike[str],
    tasks: Iterable[tuple[str, Sequence[str], str]],
    seed: int | str,
    *,
    now: datetime | None = None,
) -> int:
    """Append (item_id, candidates, reason) tasks to the queue and return how many were added.

    A task whose item and set of candidates (in any order) is already queued, or repeats an
    earlier one in `tasks`, is skipped. Each new task gets an id `t00001`, … and its labels: a
    permutation of 回答A, 回答B, … drawn from a per-task seed derived from `seed`, recorded in
    the task so the assignment can be reproduced."""
    existing = load_queue(run_dir)
    queued = {(t.item_id, frozenset(t.candidates)) for t in existing}
    next_number = 1 + max((int(t.task_id[1:]) for t in existing
                           if t.task_id.startswith("t") and t.task_id[1:].isdigit()), default=0)
    created_at = _utc_now(now)
    records: list[dict[str, Any]] = []
    for item_id, candidates, reason in tasks:
        models = tuple(candidates)
        if not isinstance(item_id, str) or not item_id:
            raise GradingError(f"a task needs an item id, not {item_id!r}")
        if not models or not all(isinstance(c, str) and c for c in models):
            raise GradingError(f"task for item {item_id!r} needs at least one candidate model id")
        if len(set(models)) != len(models):
            raise GradingError(f"task for item {item_id!r} names a candidate twice")
        if len(models) > len(LABELS):
            raise GradingError(f"task for item {item_id!r} has more than {len(LABELS)} candidates")
        key = (item_id, frozenset(models))
        if key in queued:
            continue
        queued.add(key)
        task_id = f"t{next_number:05d}"
        next_number += 1
        task_seed = _task_seed(seed, task_id, item_id)
        task = GradingTask(task_id, item_id, models, _labels_for(len(models), task_seed), task_seed,
                           str(reason), created_at)
        records.append(task.to_json())
    append_json_lines(queue_path(run_dir), records)
    return len(records)


# --------------------------------------------------------------------------------------------
# Grades
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """One grader's mark for one answer of a task, as submitted."""

    label: str
    score: int
    comment: str = ""


@dataclass(frozen=True)
class Grade:
    """One line of grades.jsonl."""

    task_id: str
    grader: str
    label: str
    score: int
    comment: str
    graded_at: str

    def to_json(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "grader": self.grader, "label": self.label, "score": self.score,
                "comment": self.comment, "graded_at": self.graded_at}


def load_grades(run_dir: str | os.PathLike[str]) -> list[Grade]:
    """Every mark in file order (later lines override earlier ones for the same grader, task
    and label)."""
    path = grades_path(run_dir)
    grades: list[Grade] = []
    for number, record in _read_jsonl(path):
        score = _field(path, number, record, "score", int)
        if score not in SCORES:
            raise GradingFormatError(f"{path}:{number}: `score` must be 1-5")
        grades.append(Grade(
            task_id=_field(path, number, record, "task_id", str),
            grader=_field(path, number, record, "grader", str),
            label=_field(path, number, record, "label", str),
            score=score,
            comment=str(record.get("comment") or ""),
            graded_at=str(record.get("graded_at") or ""),
        ))
    return grades


@dataclass(frozen=True)
class _State:
    """The queue and the latest marks, read once."""

    tasks: tuple[GradingTask, ...]
    # task_id → graders in the order they first marked it
    graders: Mapping[str, tuple[str, ...]]
    # (task_id, grader) → label → latest grade
    marks: Mapping[tuple[str, str], Mapping[str, Grade]]

    def task(self, task_id: str) -> GradingTask | None:
        return next((t for t in self.tasks if t.task_id == task_id), None)


def _state(run_dir: str | os.PathLike[str]) -> _State:
    tasks = load_queue(run_dir)
    by_id = {t.task_id: t for t in tasks}
    graders: dict[str, list[str]] = {}
    marks: dict[tuple[str, str], dict[str, Grade]] = {}
    for grade in load_grades(run_dir):
        task = by_id.get(grade.task_id)
        if task is None:
            raise GradingFormatError(f"{grades_path(run_dir)}: grade for unknown task {grade.task_id!r}")
        if grade.label not in task.labels:
            raise GradingFormatError(f"{grades_path(run_dir)}: task {task.task_id} has no label {grade.label!r}")
        order = graders.setdefault(grade.task_id, [])
        if grade.grader not in order:
            order.append(grade.grader)
        marks.setdefault((grade.task_id, grade.grader), {})[grade.label] = grade
    return _State(tuple(tasks), {k: tuple(v) for k, v in graders.items()}, marks)


def _complete_graders(state: _State, task: GradingTask) -> tuple[str, ...]:
    """The graders who marked every answer of the task, in the order they first marked it."""
    return tuple(g for g in state.graders.get(task.task_id, ())
                 if set(state.marks.get((task.task_id, g), {})) >= set(task.labels))


def check_grader_name(grader: str) -> None:
    """Raise GradingError unless the name is 1–100 printable characters."""
    if not isinstance(grader, str) or not grader.strip() or len(grader) > GRADER_MAX_CHARS \
            or any(ch < " " or ch == "\x7f" for ch in grader):
        raise GradingError(f"a grader's name is 1-{GRADER_MAX_CHARS} printable characters, not {grader!r}")


def submit_grades(
    run_dir: str | os.PathLike[str],
    task_id: str,
    grader: str,
    marks: Sequence[Mark],
    *,
    now: datetime | None = None,
) -> None:
    """Record one grader's marks for every answer of a task (all in one append). A grader who
    already graded the task replaces their marks; anyone else is refused with `TaskFull` once
    the task has two graders. Raises GradingError for an unknown task, a missing or unknown
    label, a score outside 1–5 or an over-long comment; nothing is written then."""
    check_grader_name(grader)
    state = _state(run_dir)
    task = state.task(task_id)
    if task is None:
        raise GradingError(f"no task {task_id!r} in the queue")
    given = [m.label for m in marks]
    if sorted(given) != sorted(task.labels):
        raise GradingError(f"task {task_id} needs exactly one mark for each of {list(task.shown)}, got {given}")
    for mark in marks:
        if isinstance(mark.score, bool) or not isinstance(mark.score, int) or mark.score not in SCORES:
            raise GradingError(f"a score is an integer 1-5, not {mark.score!r}")
        if not isinstance(mark.comment, str) or len(mark.comment) > COMMENT_MAX_CHARS:
            raise GradingError(f"a comment is a string of at most {COMMENT_MAX_CHARS} characters")
    others = [g for g in state.graders.get(task_id, ()) if g != grader]
    if grader not in state.graders.get(task_id, ()) and len(others) >= GRADERS_PER_TASK:
        raise TaskFull(f"task {task_id} already has {GRADERS_PER_TASK} graders")
    graded_at = _utc_now(now)
    append_json_lines(grades_path(run_dir), [
        Grade(task_id, grader, m.label, m.score, m.comment, graded_at).to_json()
        for m in sorted(marks, key=lambda m: LABELS.index(m.label))
    ])


def _order_key(grader: str, task: GradingTask) -> str:
    """A per-grader shuffle that stays stable as tasks come and go."""
    return hashlib.sha256(f"{grader}\0{task.task_id}".encode()).hexdigest()


def assignments(run_dir: str | os.PathLike[str], grader: str) -> list[GradingTask]:
    """The tasks this grader has not marked and that have fewer than two graders, in an order
    of the grader's own (seeded by the grader's name, so graders see items in different orders
    and one grader's order does not change as others finish tasks)."""
    state = _state(run_dir)
    open_tasks = [t for t in state.tasks
                  if grader not in state.graders.get(t.task_id, ())
                  and len(state.graders.get(t.task_id, ())) < GRADERS_PER_TASK]
    return sorted(open_tasks, key=lambda t: _order_key(grader, t))


def graded_by(run_dir: str | os.PathLike[str], grader: str) -> list[GradingTask]:
    """The tasks this grader has marked, in the order of the grader's assignments."""
    state = _state(run_dir)
    done = [t for t in state.tasks if grader in state.graders.get(t.task_id, ())]
    return sorted(done, key=lambda t: _order_key(grader, t))


def grader_marks(run_dir: str | os.PathLike[str], task_id: str, grader: str) -> dict[str, Grade]:
    """This grader's latest mark per label of a task (empty when they have not graded it)."""
    return dict(_state(run_dir).marks.get((task_id, grader), {}))


# --------------------------------------------------------------------------------------------
# Transcripts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TranscriptAnswer:
    """A candidate's answer to one item, as its transcript records it."""

    item_id: str
    status: str
    answers: tuple[str, ...]


def read_answers(run_dir: str | os.PathLike[str], candidate: str) -> dict[str, TranscriptAnswer]:
    """item_id → the candidate's answer (the last line for an item wins); empty when the
    candidate has no transcript."""
    return {
        item_id: TranscriptAnswer(item_id, line.status, line.answers)
        for item_id, line in read_transcript(Path(run_dir), candidate).items()
    }


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerGrade:
    """The human grade of one candidate's answer to one item: the mean of every grader's
    latest score over every task that showed it. `complete` when each of those tasks has its
    two graders."""

    item_id: str
    candidate: str
    mean: float
    scores: tuple[int, ...]
    complete: bool


@dataclass(frozen=True)
class Agreement:
    """Cohen's kappa between the first two graders of each complete task, over every answer
    of those tasks (scores 1–5 as categories). `kappa` is None when there is nothing to pair."""

    kappa: float | None
    n: int
    note: str | None


@dataclass(frozen=True)
class GradingResults:
    answers: tuple[AnswerGrade, ...]
    complete: tuple[str, ...]  # task ids with two graders
    incomplete: tuple[str, ...]  # task ids still waiting for a grader
    agreement: Agreement

    def score(self, item_id: str, candidate: str) -> float | None:
        """The mean human score of a candidate's answer, or None when nobody graded it."""
        return next((a.mean for a in self.answers if a.item_id == item_id and a.candidate == candidate), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "answers": [{"item_id": a.item_id, "candidate": a.candidate, "mean": a.mean,
                         "scores": list(a.scores), "complete": a.complete} for a in self.answers],
            "tasks": {"complete": len(self.complete), "incomplete": len(self.incomplete),
                      "incomplete_ids": list(self.incomplete)},
            "agreement": {"kappa": self.agreement.kappa, "n": self.agreement.n, "note": self.agreement.note},
        }


def _agreement(pairs: list[tuple[int, int]]) -> Agreement:
    if not pairs:
        return Agreement(None, 0, "2人の採点がそろった課題がないため、一致度（κ）は計算できません。")
    kappa = cohen_kappa(pairs)
    note = None
    if len(pairs) < KAPPA_MIN_PAIRS:
        note = f"採点の組が{len(pairs)}件（{KAPPA_MIN_PAIRS}件未満）と少ないため、κは参考値です。"
    return Agreement(kappa, len(pairs), note)


def results(run_dir: str | os.PathLike[str]) -> GradingResults:
    """De-anonymised human grades, the tasks complete and incomplete, and the graders'
    agreement (Cohen's kappa, pairing the first two complete graders' marks per answer)."""
    state = _state(run_dir)
    scores: dict[tuple[str, str], list[int]] = {}
    all_complete: dict[tuple[str, str], bool] = {}
    complete: list[str] = []
    incomplete: list[str] = []
    pairs: list[tuple[int, int]] = []
    for task in state.tasks:
        finished = _complete_graders(state, task)
        is_complete = len(finished) >= GRADERS_PER_TASK
        (complete if is_complete else incomplete).append(task.task_id)
        if is_complete:
            first, second = (state.marks[(task.task_id, g)] for g in finished[:GRADERS_PER_TASK])
            pairs.extend((first[label].score, second[label].score) for label in task.shown)
        for label in task.shown:
            key = (task.item_id, task.candidate_of(label))
            given = [state.marks[(task.task_id, g)][label].score
                     for g in state.graders.get(task.task_id, ())
                     if label in state.marks.get((task.task_id, g), {})]
            scores.setdefault(key, []).extend(given)
            all_complete[key] = all_complete.get(key, True) and is_complete
    answers = tuple(
        AnswerGrade(item_id, candidate, sum(values) / len(values), tuple(values), all_complete[(item_id, candidate)])
        for (item_id, candidate), values in sorted(scores.items()) if values
    )
    return GradingResults(answers, tuple(complete), tuple(incomplete), _agreement(pairs))
