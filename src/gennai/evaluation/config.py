"""The evaluation configuration (`eval.toml`): decoding settings every candidate gets, the
run's concurrency, retries and timeout, the judges and the statistics.

Every field has a default, so a run needs no file at all. The settings that decide what the
candidates were asked (decoding) are recorded in run.json with their SHA-256, so that two
runs, or a published result, can be shown to have used identical settings.

    gennai_config = "gennai.toml"   # optional; default: $GENNAI_CONFIG or ./gennai.toml

    [decoding]                      # sent with every call, to every candidate
    temperature = 0.0
    max_tokens = 512
    # top_p = 1.0
    # seed = 0

    [run]
    concurrency = 8                 # calls in flight per candidate
    retries = 2                     # extra attempts after an error or a timeout
    retry_backoff_s = 1.0           # doubled after each attempt
    timeout_s = 120                 # per item, all turns together
    # team = "<team id>"            # whose policy applies (default: the common team)

    [judge]
    models = []                     # fixed judge models (gateway ids); none: judge items stay pending
    disagreement = 2                # judges this many points apart: queued for human graders
    pairwise = false                # also compare every two candidates' answers side by side
    both_orders = true              # pairwise comparisons asked in both answer orders
    concurrency = 4

    [statistics]
    resamples = 2000
    seed = 0
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gennai.config import locate_line


class EvalConfigError(Exception):
    """An evaluation configuration problem, phrased for a person: file, line, key, reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Decoding(_Strict):
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] = 0.0
    max_tokens: Annotated[int, Field(ge=1, le=65536)] = 512
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    seed: int | None = None

    def body_fields(self) -> dict[str, Any]:
        """The chat completions fields every call carries (unset ones left out)."""
        return {key: value for key, value in self.model_dump().items() if value is not None}

    def sha256(self) -> str:
        return hashlib.sha256(canonical_json(self.body_fields())).hexdigest()


class RunSettings(_Strict):
    concurrency: Annotated[int, Field(ge=1, le=256)] = 8
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    retry_backoff_s: Annotated[float, Field(ge=0.0, le=600.0)] = 1.0
    timeout_s: Annotated[float, Field(gt=0.0, le=3600.0)] = 120.0
    team: str | None = None


class JudgeSettings(_Strict):
    models: tuple[str, ...] = ()
    disagreement: Annotated[int, Field(ge=1, le=4)] = 2
    both_orders: bool = True
    pairwise: bool = False
    concurrency: Annotated[int, Field(ge=1, le=64)] = 4


class StatisticsSettings(_Strict):
    resamples: Annotated[int, Field(ge=100, le=100_000)] = 2000
    seed: int = 0


class EvalConfig(_Strict):
    gennai_config: str | None = None
    decoding: Decoding = Decoding()
    run: RunSettings = RunSettings()
    judge: JudgeSettings = JudgeSettings()
    statistics: StatisticsSettings = StatisticsSettings()

    def sha256(self) -> str:
        """The hash of the whole configuration as used (defaults included)."""
        return hashlib.sha256(canonical_json(self.model_dump(mode="json"))).hexdigest()


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def load_eval_config(path: Path | None) -> tuple[EvalConfig, Path | None]:
    """The configuration in `path` (defaults when None) and the folder its relative paths
    are resolved against. Raises EvalConfigError with one line naming file, line and key."""
    if path is None:
        return EvalConfig(), None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvalConfigError(f"{path}: evaluation configuration not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalConfigError(f"{path}: cannot read: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EvalConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return EvalConfig.model_validate(raw), path.resolve().parent
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        key = ".".join(str(part) for part in loc) or "configuration"
        line = locate_line(text, loc)
        where = f"{path}:{line}" if line else str(path)
        message = first["msg"].removeprefix("Value error, ")
        raise EvalConfigError(f"{where}: {key}: {message}") from None
