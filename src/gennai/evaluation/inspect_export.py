"""Export a scored run to Inspect AI's eval log format, one log per candidate.

We do not run evaluations on Inspect AI (decision 0018), but its log format is widely read:
evaluators can open these files in Inspect's log viewer (`inspect view --log-dir OUT`) and
load them with its analysis functions (`read_eval_log`, `evals_df`, `samples_df`). The files
are written in Inspect's JSON log format (`.json`, `EvalLog` schema version 2, fields as in
inspect_ai's `log/_log.py`, `model/_chat_message.py`, `model/_model_output.py` and
`scorer/_metric.py`), not the zipped `.eval` format, so that they need nothing but the
standard library to write; inspect-ai itself is not a dependency of gennai.

What maps to what, per candidate (one `EvalLog`):

- `eval`: task = the suite name, model = ``gennai/<candidate id>``, run_id = our run id,
  created = the run's `started_at`, dataset = the suite (name, item count, item ids),
  `model_generate_config` and `plan.config` = the run's decoding settings (fields Inspect
  has a name for, the rest as `extra_body`), `packages` = the gennai harness version;
  our suite identity (Merkle root, canary, hashes) and scoring provenance go to `metadata`.
  `task_id` and `eval_id` are derived from the run id and candidate, so exporting again
  writes the same file names.
- `samples`: one per item, id = our item id, epoch 1. `input` = the item's own messages
  (the question text alone, or, for a multi-turn item or one with a system prompt, the list
  of its system and user messages); `choices` = a choice item's choices and `target` = the
  correct choice's letter ("A", "B", …, as Inspect's multiple-choice scorers expect); other
  targets are the expected answer or reference (refusal items: "refuse"/"answer", decline
  items: "decline"). `messages` = the conversation as the candidate saw it (user messages as
  the runner sent them, choices included) with its answers; `output` = its last answer with
  the turns' token usage. `scores` = ``{"gennai": Score}`` with our 0..1 score as `value`,
  the answer (for choice items the letter of the choice it gave) and our scorer's detail as
  `explanation`; an item still waiting for its judges has no score (Inspect's "unscored").
  Items the candidate did not answer keep score 0, as in scores.json: errors, timeouts and
  items never asked (an unfinished run) also carry a sample `error`, items the policy blocked
  an `output.error`. Every item is a sample, so the log's status is "success". `metadata` =
  category, scoring, status, ttft_ms, latency_ms and the transcript's operational figures.
- `results`: one `EvalScore` "gennai" with the metric "mean" (the overall mean of
  scores.json) and one metric per category (group "category"), their 95 % bootstrap
  intervals in the metric's metadata.
- `stats`: started and completed times from the transcripts, token usage summed.

The export contains every item's text and every answer: it is INTERNAL, like the decrypted
suite itself. Never publish it or put it where a vendor can read it before the suite is
revealed; the public report (`gennai eval report --public`) is what may be published.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gennai.evaluation.files import write_atomic
from gennai.evaluation.items import Item
from gennai.evaluation.runner import item_messages
from gennai.evaluation.scorers import choice_labels, normalise, resolve_choice
from gennai.evaluation.transcripts import RUN_FILE, RunFolderError, TranscriptLine, read_transcript

__all__ = [
    "INSPECT_LOG_VERSION",
    "MODEL_PREFIX",
    "SCORER",
    "InspectExportError",
    "build_inspect_log",
    "export_inspect_logs",
    "inspect_log_name",
]

INSPECT_LOG_VERSION = 2
"""The `EvalLog.version` we write (Inspect's LOG_SCHEMA_VERSION since 2024)."""
SCORER = "gennai"
"""The scorer name under which every sample's score and the results appear."""
MODEL_PREFIX = "gennai/"
"""Inspect model names are ``<provider>/<model>``: every candidate answered through gennai."""
EXPORT_FORMAT = "gennai-inspect-export/1"
SCORES_FILE = "scores.json"

# Decoding fields (chat completions body) that have a GenerateConfig field of their own, with
# the type Inspect validates; anything else goes to GenerateConfig.extra_body.
_GENERATE_FIELDS: dict[str, tuple[str, type]] = {
    "temperature": ("temperature", float),
    "max_tokens": ("max_tokens", int),
    "top_p": ("top_p", float),
    "top_k": ("top_k", int),
    "seed": ("seed", int),
    "frequency_penalty": ("frequency_penalty", float),
    "presence_penalty": ("presence_penalty", float),
    "n": ("num_choices", int),
}
# shortuuid's alphabet, which Inspect uses for its ids (no 0/O, 1/I/l).
_BASE57 = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_UNANSWERED_ERRORS = frozenset({"error", "timeout"})


class InspectExportError(ValueError):
    """The run cannot be exported; the message is one line and names the file concerned."""


# -- public API ------------------------------------------------------------------------------


def export_inspect_logs(
    run_dir: Path, run: Mapping[str, Any], scores: Mapping[str, Any], items: Sequence[Item], out_dir: Path
) -> list[Path]:
    """Write one Inspect AI eval log (JSON) per candidate of the run into `out_dir`.

    `run` is the run's run.json, `scores` its scores.json (`gennai eval score`), `items` the
    suite's items (decrypted in memory); transcripts are read from `run_dir`. Files are named
    as Inspect names its logs (``<created>_<task>_<task id>.json``) so that `inspect view`
    lists them, and each is written atomically; existing logs of the same run and candidate
    are replaced. Returns the paths in the run's candidate order. Raises
    `InspectExportError` (one line, naming the file) for inconsistent inputs or a failed write.

    The logs hold item text and answers: they are internal (see the module docstring).
    """
    run_dir = Path(run_dir)
    out_dir = Path(out_dir)
    candidates = _candidates(run_dir, run)
    _check_scores(run_dir, run, scores)
    _check_items(_suite_source(run_dir, run), items)
    logs = [(candidate, build_inspect_log(run_dir, run, scores, items, candidate)) for candidate in candidates]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InspectExportError(f"{out_dir}: cannot create the output folder: {_reason(exc)}") from None
    paths: list[Path] = []
    for candidate, log in logs:
        path = out_dir / inspect_log_name(log)
        if path in paths:
            raise InspectExportError(f"{path}: two candidates map to the same log file (candidate {candidate!r})")
        try:
            data = json.dumps(log, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
        except ValueError as exc:
            raise InspectExportError(f"{path}: cannot encode the log as JSON: {exc}") from None
        _write_atomic(path, data.encode("utf-8"))
        paths.append(path)
    return paths


def build_inspect_log(
    run_dir: Path, run: Mapping[str, Any], scores: Mapping[str, Any], items: Sequence[Item], candidate: str
) -> dict[str, Any]:
    """The `EvalLog` document (a JSON-ready dict, keys in Inspect's order) of one candidate."""
    run_dir = Path(run_dir)
    if candidate not in _candidates(run_dir, run):
        raise InspectExportError(f"{run_dir / RUN_FILE}: {candidate!r} is not a candidate of this run")
    _check_scores(run_dir, run, scores)
    _check_items(_suite_source(run_dir, run), items)
    run_file = run_dir / RUN_FILE
    scores_file = run_dir / SCORES_FILE
    run_id = str(run["run_id"])
    suite = _mapping(run.get("suite"), run_file, "suite")
    task = str(suite.get("name") or "suite")
    model = MODEL_PREFIX + candidate
    candidate_scores = _candidate_scores(scores_file, scores, candidate)
    item_results = _mapping(candidate_scores.get("items"), scores_file, f"candidates.{candidate}.items")
    try:
        lines = read_transcript(run_dir, candidate)
    except RunFolderError as exc:
        raise InspectExportError(str(exc)) from None

    generate_config = _generate_config(run_file, run.get("decoding"))
    started = _iso(run.get("started_at")) or _earliest(lines.values()) or _iso(scores.get("scored_at"))
    if started is None:
        raise InspectExportError(f"{run_file}: no valid started_at (UTC ISO 8601) to date the Inspect log")
    created = datetime.fromisoformat(started).isoformat(timespec="seconds")  # as Inspect's iso_now()

    samples = []
    for item in items:
        result = item_results.get(item.id)
        if not isinstance(result, Mapping):
            raise InspectExportError(
                f"{scores_file}: no score for item {item.id!r} of {candidate!r}; score the run again (gennai eval score)"
            )
        line = lines.get(item.id)
        samples.append(_sample(run_id, candidate, item, line, result, scores_file, _suite_source(run_dir, run)))

    used = [lines[item.id] for item in items if item.id in lines]
    total_usage = _usage(used)
    completed_at = _latest(used)
    missing = [item.id for item in items if item.id not in lines]
    settings = run.get("settings") if isinstance(run.get("settings"), Mapping) else {}
    scorings = sorted({item.scoring for item in items})

    spec: dict[str, Any] = {
        "eval_id": _short_id(run_id, candidate, "eval"),
        "run_id": run_id,
        "created": created,
        "task": task,
        "task_id": _short_id(run_id, candidate, "task"),
        "task_version": 0,
        "task_attribs": {},
        "task_args": {},
        "solver": "gennai_eval_run",
        "tags": ["gennai", "internal"],
        "dataset": {
            "name": task,
            "location": suite.get("sealed_dir"),
            "samples": len(items),
            "sample_ids": [item.id for item in items],
            "shuffled": False,
        },
        "model": model,
        "model_generate_config": generate_config,
        "model_args": {},
        "config": {"epochs": 1, "epochs_reducer": ["mean"], "fail_on_error": False, "log_samples": True},
        "packages": {"gennai": str(run.get("harness_version") or scores.get("harness_version") or "")},
        "metadata": {
            "gennai": {
                "export_format": EXPORT_FORMAT,
                "internal": True,
                "notice": "Contains the suite's item text and the candidate's answers: internal, never publish.",
                "run_id": run_id,
                "candidate": candidate,
                "suite": {key: suite.get(key) for key in ("name", "merkle_root", "item_count", "canary", "suite_sha256")},
                "decoding": dict(run.get("decoding") or {}),
                "decoding_sha256": run.get("decoding_sha256"),
                "settings": dict(settings),
                "scored_at": scores.get("scored_at"),
                "config_sha256": scores.get("config_sha256"),
                "judge": scores.get("judge"),
                "overall": candidate_scores.get("overall"),
                "rank": _rank(scores, candidate),
                "operations": candidate_scores.get("operations"),
                "never_asked": missing,
            }
        },
        "scorers": [{"name": SCORER, "options": {"scorings": scorings}, "metrics": [{"name": "mean"}]}],
    }
    plan = {
        "name": "plan",
        "steps": [{
            "solver": "gennai_eval_run",
            "params": {key: settings[key] for key in ("concurrency", "retries", "timeout_s") if key in settings},
        }],
        "config": generate_config,
    }
    scored = sum(1 for sample in samples if sample["scores"])
    completed = sum(1 for sample in samples if sample.get("error") is None)
    results = {
        "total_samples": len(items),
        "completed_samples": completed,
        "scores": [{
            "name": SCORER,
            "scorer": SCORER,
            "scored_samples": scored,
            "unscored_samples": len(samples) - scored,
            "params": {},
            "metrics": _metrics(scores_file, candidate_scores),
        }],
    }
    log: dict[str, Any] = {
        "version": INSPECT_LOG_VERSION,
        # every item is a sample (unanswered ones with their error), so the log is complete in
        # Inspect's sense; "error" would make its readers expect missing samples
        "status": "success",
        "eval": spec,
        "plan": plan,
        "results": results,
        "stats": {
            "started_at": _earliest(used) or started,
            "completed_at": completed_at or "",
            "model_usage": {model: total_usage} if used else {},
        },
    }
    log["samples"] = samples  # last: Inspect's header reader stops at "samples"
    return log


def inspect_log_name(log: Mapping[str, Any]) -> str:
    """The file name Inspect gives a log: ``<created>_<task>_<task id>.json`` with each part
    cleaned as Inspect cleans it ("_", "/", ":" and "+" become "-"). `inspect view` lists
    JSON logs only when the name starts with the timestamp."""
    spec = log["eval"]
    return f"{_clean(spec['created'])}_{_clean(spec['task'])}_{_clean(spec['task_id'])}.json"


# -- one sample ---------------------------------------------------------------------------------


def _sample(
    run_id: str,
    candidate: str,
    item: Item,
    line: TranscriptLine | None,
    result: Mapping[str, Any],
    scores_file: Path,
    suite_source: Path,
) -> dict[str, Any]:
    """The `EvalSample` of one item: its input and target, the conversation, the score."""
    counter = itertools.count()

    def message(role: str, content: str, source: str, **extra: Any) -> dict[str, Any]:
        ident = _short_id(run_id, candidate, item.id, "message", str(next(counter)))
        return {"id": ident, "content": content, "source": source, "role": role, **extra}

    status = str(result.get("status") or ("missing" if line is None else line.status))
    answered_by = (line.model if line is not None else None) or candidate

    # input: the item itself, the same for every candidate (choices are a separate field)
    inputs: list[dict[str, Any]] = []
    if item.system:
        inputs.append(message("system", item.system, "input"))
    inputs.extend(message("user", text, "input") for text in item.messages if text is not None)
    sample_input: str | list[dict[str, Any]]
    if len(inputs) == 1 and inputs[0]["role"] == "user":
        sample_input = inputs[0]["content"]
    else:
        sample_input = inputs

    # messages: what the candidate was sent (the runner's wording) and what it answered
    answers = line.answers if line is not None else ()
    messages: list[dict[str, Any]] = []
    if line is not None:
        if item.system:
            messages.append(message("system", item.system, "input"))
        for turn in range(len(item.messages)):
            answered = turn < len(answers)
            if not answered and not (line.status in _UNANSWERED_ERRORS and turn == len(answers)):
                break  # blocked turns were never sent
            messages.append(message("user", item_messages(item, turn), "input"))
            if answered:
                messages.append(message("assistant", answers[turn], "generate", model=answered_by))
            else:
                break

    usage = _usage([line]) if line is not None else None
    output: dict[str, Any] = {"model": answered_by, "choices": [], "completion": ""}
    if answers and line is not None and line.status == "ok":
        last = next(m for m in reversed(messages) if m["role"] == "assistant")
        output["choices"] = [{"message": last, "stop_reason": "unknown"}]
        output["completion"] = answers[-1]
    if line is not None:
        output["usage"] = usage
        output["time"] = round(line.latency_ms / 1000, 6)
    if line is not None and line.status == "blocked":
        output["error"] = line.error or "blocked by the policy"

    sample: dict[str, Any] = {
        "id": item.id,
        "epoch": 1,
        "input": sample_input,
    }
    if item.scoring == "choice":
        sample["choices"] = list(item.choices)
    sample["target"] = _target(item, suite_source)
    sample["messages"] = messages
    sample["output"] = output
    sample["scores"] = _score(item, line, result, scores_file, candidate)
    metadata: dict[str, Any] = {
        "category": item.category,
        "scoring": item.scoring,
        "status": status,
        "ttft_ms": line.ttft_ms if line is not None else None,
        "latency_ms": line.latency_ms if line is not None else None,
        "answered_by": line.model if line is not None else None,
        "attempts": line.attempts if line is not None else 0,
        "tokens_in": line.tokens_in if line is not None else 0,
        "tokens_out": line.tokens_out if line is not None else 0,
        "cost_yen": line.cost_yen if line is not None else 0.0,
        "error": line.error if line is not None else None,
        "class": item.classification,
        "publishable": item.publishable,
    }
    if item.scoring == "choice":
        try:
            metadata["choice_labels"] = list(choice_labels(item.choices))  # the labels the candidate saw
        except ValueError:
            pass  # no unambiguous labels: such an item cannot have been asked either
    if item.eval_aspect:
        metadata["eval_aspect"] = item.eval_aspect
    sample["metadata"] = metadata
    sample["store"] = {}
    sample["events"] = []
    sample["model_usage"] = {MODEL_PREFIX + candidate: usage} if usage is not None else {}
    if line is not None:
        started, finished = _iso(line.started_at), _iso(line.finished_at)
        sample["started_at"] = started
        sample["completed_at"] = finished
        sample["total_time"] = _seconds_between(started, finished) or round(line.latency_ms / 1000, 6)
        sample["working_time"] = round(line.latency_ms / 1000, 6)
    sample["uuid"] = _short_id(run_id, candidate, item.id, "sample")
    if line is None:
        sample["error"] = _error("not asked: the run did not finish (resume it with gennai eval run)")
    elif line.status in _UNANSWERED_ERRORS:
        sample["error"] = _error(f"{line.status}: {line.error or line.status}")
    sample["attachments"] = {}
    return sample


def _error(message: str) -> dict[str, str]:
    """Inspect's EvalError for a sample that got no answer (no traceback: nothing raised here)."""
    return {"message": message, "traceback": "", "traceback_ansi": ""}


def _score(
    item: Item, line: TranscriptLine | None, result: Mapping[str, Any], scores_file: Path, candidate: str
) -> dict[str, Any] | None:
    """``{"gennai": Score}``, or None for an item without a score yet (judges pending)."""
    value = result.get("score")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InspectExportError(f"{scores_file}: item {item.id!r} of {candidate!r} has a score that is not a number: {value!r}")
    answer: str | None = None
    if line is not None and line.status == "ok" and line.answers:
        answer = line.answers[-1]
        if item.scoring == "choice":
            index = resolve_choice(answer, item.choices)
            answer = _letter(index) if index is not None else None
    detail = result.get("detail")
    return {
        SCORER: {
            "value": float(value),
            "answer": answer,
            "explanation": str(detail) if detail is not None else None,
            "metadata": {"status": result.get("status"), "passed": result.get("passed")},
        }
    }


def _target(item: Item, suite_source: Path) -> str:
    """What Inspect shows as the sample's target (see the module docstring)."""
    if item.scoring == "choice":
        if len(item.choices) > 26:
            raise InspectExportError(f"{suite_source}: item {item.id!r} has more than 26 choices; Inspect labels them A–Z")
        index = _correct_index(item)
        if index is None:
            raise InspectExportError(f"{suite_source}: choice item {item.id!r}: answer {item.answer!r} is not one of its choices")
        return _letter(index)
    if item.scoring == "refusal":
        return "refuse" if item.answer is None else str(item.answer)
    if item.scoring == "decline":
        return "decline"
    if item.scoring == "char_f1" or item.scoring == "judge":
        first, second = item.reference, item.answer
    else:
        first, second = item.answer, item.reference
    expected = first if first is not None else second
    return "" if expected is None else str(expected)


def _correct_index(item: Item) -> int | None:
    answer = item.answer
    if isinstance(answer, bool) or answer is None:
        return None
    if isinstance(answer, int):
        return answer if 0 <= answer < len(item.choices) else None
    texts = [normalise(choice) for choice in item.choices]
    target = normalise(answer)
    return texts.index(target) if texts.count(target) == 1 else None


def _letter(index: int) -> str:
    return chr(ord("A") + index)


# -- results, config, usage ------------------------------------------------------------------


def _metrics(scores_file: Path, candidate_scores: Mapping[str, Any]) -> dict[str, Any]:
    """The EvalScore metrics: "mean" overall, then one per category (group "category")."""
    metrics: dict[str, Any] = {}
    overall = candidate_scores.get("overall")
    if isinstance(overall, Mapping) and _number(overall.get("mean")) is not None:
        metrics["mean"] = {"name": "mean", "value": _number(overall["mean"]), "params": {}, "metadata": _interval(overall)}
    categories = candidate_scores.get("categories", {})
    if not isinstance(categories, Mapping):
        raise InspectExportError(f"{scores_file}: candidate categories are not an object")
    for category, interval in categories.items():
        if not isinstance(interval, Mapping) or _number(interval.get("mean")) is None:
            continue
        key = _unique_key(str(category), metrics)
        metrics[key] = {
            "name": str(category), "group": "category", "value": _number(interval["mean"]), "params": {},
            "metadata": _interval(interval),
        }
    return metrics


def _interval(interval: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "low": _number(interval.get("low")), "high": _number(interval.get("high")), "n": interval.get("n"),
        "interval": "95% percentile bootstrap over items",
    }


def _unique_key(key: str, existing: Mapping[str, Any]) -> str:
    """Inspect's rule for colliding metric keys: "mean", then "mean2", "mean3", …"""
    if key not in existing:
        return key
    index = 2
    while f"{key}{index}" in existing:
        index += 1
    return f"{key}{index}"


def _generate_config(run_file: Path, decoding: object) -> dict[str, Any]:
    """The run's decoding settings as an Inspect GenerateConfig (unknown fields in extra_body)."""
    if decoding is None:
        return {}
    if not isinstance(decoding, Mapping):
        raise InspectExportError(f"{run_file}: decoding is not an object")
    config: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in decoding.items():
        if value is None:
            continue
        if key == "stop" and (isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
            config["stop_seqs"] = [value] if isinstance(value, str) else list(value)
            continue
        mapped = _GENERATE_FIELDS.get(key)
        if mapped is not None and not isinstance(value, bool):
            name, kind = mapped
            if kind is int and isinstance(value, int):
                config[name] = value
                continue
            if kind is float and isinstance(value, int | float) and math.isfinite(value):
                config[name] = float(value)
                continue
        extra[key] = value
    if extra:
        config["extra_body"] = extra
    return config


def _usage(lines: Sequence[TranscriptLine]) -> dict[str, int]:
    """Inspect's ModelUsage for transcript lines (all turns). Cost stays in metadata: Inspect's
    total_cost is in dollars and ours is in yen."""
    tokens_in = sum(line.tokens_in for line in lines)
    tokens_out = sum(line.tokens_out for line in lines)
    return {"input_tokens": tokens_in, "output_tokens": tokens_out, "total_tokens": tokens_in + tokens_out}


def _rank(scores: Mapping[str, Any], candidate: str) -> int | None:
    for row in scores.get("leaderboard") or ():
        if isinstance(row, Mapping) and row.get("candidate") == candidate:
            rank = row.get("rank")
            return rank if isinstance(rank, int) else None
    return None


# -- checks --------------------------------------------------------------------------------------


def _candidates(run_dir: Path, run: Mapping[str, Any]) -> list[str]:
    run_file = run_dir / RUN_FILE
    if not isinstance(run.get("run_id"), str) or not run["run_id"]:
        raise InspectExportError(f"{run_file}: no run_id")
    _mapping(run.get("suite"), run_file, "suite")
    candidates = run.get("candidates")
    if not isinstance(candidates, list) or not all(isinstance(c, str) and c for c in candidates):
        raise InspectExportError(f"{run_file}: candidates must be a list of model ids")
    if not candidates:
        raise InspectExportError(f"{run_file}: the run has no candidates to export")
    return list(candidates)


def _check_scores(run_dir: Path, run: Mapping[str, Any], scores: Mapping[str, Any]) -> None:
    scores_file = run_dir / SCORES_FILE
    if not isinstance(scores, Mapping) or not isinstance(scores.get("candidates"), Mapping):
        raise InspectExportError(f"{scores_file}: not a gennai scores document (no candidates); run gennai eval score")
    if scores.get("run_id") != run["run_id"]:
        raise InspectExportError(
            f"{scores_file}: scores of run {scores.get('run_id')!r}, not of this run {run['run_id']!r}"
        )
    for candidate in run["candidates"]:
        _candidate_scores(scores_file, scores, candidate)


def _suite_source(run_dir: Path, run: Mapping[str, Any]) -> Path:
    """The file to name for a problem with an item: the sealed suite, else run.json."""
    suite = run.get("suite")
    sealed = suite.get("sealed_dir") if isinstance(suite, Mapping) else None
    return Path(sealed) if isinstance(sealed, str) and sealed else run_dir / RUN_FILE


def _check_items(suite_source: Path, items: Sequence[Item]) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise InspectExportError(
                f"{suite_source}: item id {item.id!r} appears twice in the suite; Inspect sample ids must be unique"
            )
        seen.add(item.id)


def _candidate_scores(scores_file: Path, scores: Mapping[str, Any], candidate: str) -> Mapping[str, Any]:
    found = scores["candidates"].get(candidate)
    if not isinstance(found, Mapping):
        raise InspectExportError(
            f"{scores_file}: no scores for candidate {candidate!r} (added after scoring?); run gennai eval score again"
        )
    return found


def _mapping(value: object, path: Path, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InspectExportError(f"{path}: {key} is missing or not an object")
    return value


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


# -- times, ids, names, writing ------------------------------------------------------------------


def _iso(value: object) -> str | None:
    """A UTC ISO 8601 time as Inspect writes it (``2027-01-20T10:00:00.123456+00:00``), or
    None when the value is not a time (Inspect would refuse the log)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _earliest(lines: Any) -> str | None:
    times = [t for t in (_iso(line.started_at) for line in lines) if t is not None]
    return min(times, key=datetime.fromisoformat) if times else None


def _latest(lines: Any) -> str | None:
    times = [t for t in (_iso(line.finished_at) for line in lines) if t is not None]
    return max(times, key=datetime.fromisoformat) if times else None


def _seconds_between(started: str | None, finished: str | None) -> float | None:
    if started is None or finished is None:
        return None
    seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    return round(seconds, 6) if seconds >= 0 else None


def _short_id(*parts: str) -> str:
    """A 22-character id in Inspect's alphabet, derived from `parts` (so exports are stable)."""
    number = int.from_bytes(hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()[:16], "big")
    chars = []
    for _ in range(22):
        number, digit = divmod(number, len(_BASE57))
        chars.append(_BASE57[digit])
    return "".join(chars)


def _clean(component: str) -> str:
    """A file name part as Inspect cleans it, plus anything that is not a letter, digit, "."
    or "-" (path separators, spaces) made "-" so that the name stays one file in `out_dir`."""
    cleaned = component.replace("_", "-").replace("/", "-").replace(":", "-").replace("+", "-")
    cleaned = re.sub(r"[^\w.\-]", "-", cleaned).replace("_", "-")
    return cleaned.strip(".") or "log"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _write_atomic(path: Path, data: bytes) -> None:
    """Atomic and private (0600: the log holds the items), one-line error."""
    try:
        write_atomic(path, data, 0o600)
    except OSError as exc:
        raise InspectExportError(f"{path}: cannot write the Inspect log: {_reason(exc)}") from None
