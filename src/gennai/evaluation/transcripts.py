"""The files of a run folder: run.json and one transcript (JSONL) per candidate.

A transcript line is appended and flushed to disk as soon as an item is finished, so a crash
loses nothing that was answered; a torn last line (the crash itself) is ignored on reading
and the item is asked again. Formats: docs/evaluation.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gennai.evaluation.files import json_line, open_for_appending, read_json_lines

RUN_FORMAT = "gennai-eval-run/1"
RUN_FILE = "run.json"
TRANSCRIPTS = "transcripts"
# Statuses that are final: an item with one of them is not asked again on resume.
FINAL = frozenset({"ok", "blocked"})


def now_iso_utc() -> str:
    """The time now, UTC, ISO 8601 with microseconds and a Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class RunFolderError(Exception):
    """A run folder that cannot be used, phrased for a person (file and reason)."""


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    item_id: str
    status: str  # ok, error, timeout, blocked
    answers: tuple[str, ...] = ()
    model: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    ttft_ms: float | None = None
    latency_ms: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_yen: float = 0.0
    attempts: int = 1
    error: str | None = None
    policy: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["answers"] = list(self.answers)
        extra = data.pop("extra")
        return data | extra

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TranscriptLine:
        known = {name for name in cls.__dataclass_fields__ if name != "extra"}
        values = {key: data[key] for key in known if key in data}
        values["answers"] = tuple(str(answer) for answer in data.get("answers") or ())
        return cls(**values, extra={key: value for key, value in data.items() if key not in known})


def transcript_path(run_dir: Path, candidate: str) -> Path:
    """transcripts/<candidate>.jsonl, the model id made safe as a file name."""
    return run_dir / TRANSCRIPTS / (quote(candidate, safe="") + ".jsonl")


def read_transcript(run_dir: Path, candidate: str) -> dict[str, TranscriptLine]:
    """The latest line per item (a resumed run appends a new line for an item it asks again)."""
    path = transcript_path(run_dir, candidate)
    latest: dict[str, TranscriptLine] = {}
    for data in _lines(path):
        line = TranscriptLine.from_json(data)
        latest[line.item_id] = line
    return latest


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    for number, data in read_json_lines(path, RunFolderError, hint="the transcript was changed by hand?"):
        if not isinstance(data, dict) or not isinstance(data.get("item_id"), str):
            raise RunFolderError(f"{path}:{number}: not a transcript line")
        yield data


class TranscriptWriter:
    """Appends lines to one candidate's transcript, each one flushed and synced."""

    def __init__(self, run_dir: Path, candidate: str) -> None:
        self._file = open_for_appending(transcript_path(run_dir, candidate))

    def write(self, line: TranscriptLine) -> None:
        self._file.write(json_line(line.to_json()))
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def read_run(run_dir: Path) -> dict[str, Any]:
    path = run_dir / RUN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunFolderError(f"{path}: not found; is {run_dir} a run folder (gennai eval run --out)?") from None
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != RUN_FORMAT:
        raise RunFolderError(f"{path}: not a gennai run file (format {RUN_FORMAT})")
    return data
