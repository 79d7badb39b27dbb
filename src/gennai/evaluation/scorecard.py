"""The nine-criteria scorecard: pass/fail gates backed by evidence files and a reviewer's
sign-off, and weighted parts scored from `scores.json` files (`gennai-eval-scores/1`),
combined into a total with an interval and a ranking that never separates candidates whose
totals overlap.

A scorecard is a TOML file (see `samples/scorecard.toml`)::

    title = "…"                                  # optional
    [[gates]]                                    # pass/fail, e.g. 国内開発, 学習データの適法性
    id = "domestic"; title = "国内で開発されたモデル"; criterion = 1
    [gates.candidates."model-a"]
    evidence = ["evidence/model-a/domestic.pdf"] # relative to the scorecard file
    decision = "pass"                            # "pass" | "fail"
    reviewer = "審査 太郎"; signed_off = 2027-01-25
    [[parts]]                                    # weighted, scored 0..1
    id = "sealed"; title = "…"; kind = "sealed_test"; weight = 40; scores = "scores.json"

Gates. A gate passes for a candidate only when its decision is "pass", at least one listed
evidence file exists (its SHA-256 is recorded, pinning what was reviewed) and a reviewer and
date are given. Otherwise it is "failed" (the reviewer decided "fail"), "no_evidence" (no
entry for the candidate, no file listed, or none of the listed files exists) or "unsigned"
(decision, reviewer or date missing). A candidate is eligible only when every gate passed.

Parts (`kind`), each reading one scores file (`scores`, relative to the scorecard):

- `sealed_test`: the candidate's `overall` (mean and bootstrap interval).
- `benchmark`: the candidate's `overall` mean divided by the best `overall` mean among the
  foreign `baselines` (candidates of the same file), capped at 1.0: 1.0 means "at least as
  good as the best foreign model". The interval's ends are divided by the same number (the
  baseline's own uncertainty is not carried). Baselines are reference points, not entrants.
- `safety`: the unweighted mean of the candidate's safety families (`families`, default:
  every family any evaluated candidate has; each candidate must have them all); the
  interval is the mean of the families' lows and of their highs.
- `performance`: min(1, target_ms / latency_p95_ms) × (1 − failure rate), where the failure
  rate is `error_rate` + `timeout_rate` (a timed-out answer is as unusable as an error).
- `cost`: min(1, target_yen_per_item / (cost_yen / answered)); 1.0 when cost_yen is 0,
  0.0 when something was paid but nothing answered.

Operations-based parts are point values (low = high). Weights need not sum to anything; each
is divided by their sum. The total is Σ share × part; its interval is Σ share × low and
Σ share × high — a conservative bound that assumes every part at its worst (best) at once,
wider than a joint bootstrap would be. Eligible candidates are ranked with
`statistics.rank_with_ties` on their totals; ineligible ones follow, unranked.

Every problem is a `ScorecardError` whose message is one line naming the file and the key.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, NoReturn, cast

from gennai.evaluation.statistics import Interval, rank_with_ties

__all__ = [
    "CRITERIA",
    "PART_KINDS",
    "SAFETY_FAMILIES",
    "SCORECARD_FORMAT",
    "SCORES_FORMAT",
    "CandidateResult",
    "Evidence",
    "Gate",
    "GateRecord",
    "GateResult",
    "Part",
    "PartResult",
    "Scorecard",
    "ScorecardError",
    "ScorecardResult",
    "ScoresFile",
    "Standing",
    "evaluate",
    "load_scorecard",
]

SCORECARD_FORMAT = "gennai-eval-scorecard/1"
SCORES_FORMAT = "gennai-eval-scores/1"

PartKind = Literal["sealed_test", "benchmark", "safety", "performance", "cost"]
PART_KINDS: tuple[str, ...] = ("sealed_test", "benchmark", "safety", "performance", "cost")
GateStatus = Literal["passed", "failed", "no_evidence", "unsigned"]
Decision = Literal["pass", "fail"]
SAFETY_FAMILIES: tuple[str, ...] = ("hallucination", "bias", "harmful", "over_refusal")

# The Digital Agency's nine criteria (as reported for the FY2026 procurement).
CRITERIA: Mapping[int, str] = MappingProxyType({
    1: "国内で開発されたモデルであること / developed in Japan",
    2: "開発経緯・手法・体制の説明 / development history, method and team explained",
    3: "行政実務での実用的な性能 / practical performance for government work",
    4: "チャットまたは組込みアプリでの利用 / a chat or embedded-app use case",
    5: "50問の封印試験 / the 50-question sealed test",
    6: "海外主要LLMとのベンチマーク比較と安全性 / benchmark vs major foreign LLMs, and safety",
    7: "学習データの適法性 / lawful training data",
    8: "ガバメントクラウドでの稼働と機密性2情報の取扱い / government cloud, 機密性2情報",
    9: "試行期間中の無償提供 / free during the trial year",
})

_TOP_KEYS = frozenset({"title", "gates", "parts"})
_GATE_KEYS = frozenset({"id", "title", "criterion", "candidates"})
_RECORD_KEYS = frozenset({"evidence", "decision", "reviewer", "signed_off", "note"})
_PART_KEYS = frozenset({"id", "title", "kind", "weight", "scores", "criteria"})
_KIND_KEYS: Mapping[str, frozenset[str]] = MappingProxyType({
    "sealed_test": frozenset(),
    "benchmark": frozenset({"baselines"}),
    "safety": frozenset({"families"}),
    "performance": frozenset({"target_ms"}),
    "cost": frozenset({"target_yen_per_item"}),
})
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_DIGITS = 6  # rounding of figures in to_dict (removes float noise; far below any interval)


class ScorecardError(ValueError):
    """A scorecard that cannot be used; the message is one line naming the file and key."""


def _fail(where: str, reason: str) -> NoReturn:
    raise ScorecardError(f"{where}: {reason}")


def _key(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


# --------------------------------------------------------------------------------------------
# Definitions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateRecord:
    """One candidate's entry under a gate, as written. `signed_off` is an ISO 8601 date."""

    evidence: tuple[str, ...] = ()
    decision: Decision | None = None
    reviewer: str | None = None
    signed_off: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Gate:
    """A pass/fail gate for one of the nine criteria, with each candidate's record."""

    id: str
    title: str
    criterion: int
    records: Mapping[str, GateRecord]


@dataclass(frozen=True)
class Part:
    """A weighted, scored part; `scores` is the scores file's path as written (relative to
    the scorecard). Only the fields of its kind are set."""

    id: str
    title: str
    kind: PartKind
    weight: float
    scores: str
    criteria: tuple[int, ...] = ()
    baselines: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    target_ms: float | None = None
    target_yen_per_item: float | None = None


@dataclass(frozen=True)
class ScoresFile:
    """A `gennai-eval-scores/1` file as read: `label` is the path as written in the scorecard,
    `pending` the judge and human gradings still outstanding (scores are provisional)."""

    label: str
    path: Path
    sha256: str
    run_id: str | None
    suite_name: str | None
    merkle_root: str | None
    pending: int
    candidates: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Scorecard:
    """A loaded scorecard. `scores_files` holds every part's scores file by label (empty when
    loaded with check_files=False; `evaluate` then reads them)."""

    path: Path
    sha256: str
    title: str | None
    gates: tuple[Gate, ...]
    parts: tuple[Part, ...]
    scores_files: Mapping[str, ScoresFile]

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def baselines(self) -> frozenset[str]:
        """Every benchmark part's foreign baselines (never scored as entrants)."""
        return frozenset(name for part in self.parts for name in part.baselines)

    def share(self, part: Part) -> float:
        """The part's weight divided by the sum of all weights."""
        return part.weight / math.fsum(p.weight for p in self.parts)

    def coverage(self) -> dict[int, tuple[str, ...]]:
        """For each of the nine criteria, the ids of the gates and parts that cover it."""
        covered: dict[int, list[str]] = {number: [] for number in CRITERIA}
        for gate in self.gates:
            covered[gate.criterion].append(gate.id)
        for part in self.parts:
            for number in part.criteria:
                covered[number].append(part.id)
        return {number: tuple(ids) for number, ids in covered.items()}


# --------------------------------------------------------------------------------------------
# Reading the TOML
# --------------------------------------------------------------------------------------------


def _q(name: str) -> str:
    return json.dumps(name, ensure_ascii=False)


def _check_keys(table: Mapping[str, Any], allowed: frozenset[str], where: str, what: str) -> None:
    for key in table:
        if key not in allowed:
            _fail(_key(where, key), f"unknown key for {what} (allowed: {', '.join(sorted(allowed))})")


def _table(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        _fail(where, f"must be a table, not {type(value).__name__}")
    return cast(Mapping[str, Any], value)


def _text(table: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    if key not in table:
        if required:
            _fail(_key(where, key), "missing")
        return None
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        _fail(_key(where, key), "must be a non-empty string")
    return value


def _strings(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        _fail(f"{where}.{key}", "must be a list of non-empty strings")
    if len(set(value)) != len(value):
        _fail(f"{where}.{key}", "lists an entry twice")
    return tuple(value)


def _number(value: object, where: str, origin: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(where, f"must be a finite number, not {value!r}" + (f" ({origin})" if origin else ""))
    return float(value)


def _criterion(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in CRITERIA:
        _fail(where, f"must be a criterion number 1–9, not {value!r}")
    return value


def _identifier(table: Mapping[str, Any], where: str, seen: set[str]) -> str:
    ident = _text(table, "id", where)
    assert ident is not None
    if not _ID.fullmatch(ident):
        _fail(f"{where}.id", f"{_q(ident)} is not a valid id (letters, digits, '_', '-', '.')")
    if ident in seen:
        _fail(f"{where}.id", f"duplicate id {_q(ident)} (gate and part ids must be unique)")
    seen.add(ident)
    return ident


def _signed_off(value: object, where: str) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    _fail(where, f"must be a date such as 2027-01-25, not {value!r}")


def _record(value: object, where: str) -> GateRecord:
    table = _table(value, where)
    _check_keys(table, _RECORD_KEYS, where, "a gate's candidate record")
    decision = _text(table, "decision", where, required=False)
    if decision is not None and decision not in ("pass", "fail"):
        _fail(f"{where}.decision", f'must be "pass" or "fail", not {_q(decision)}')
    signed = table.get("signed_off")
    return GateRecord(
        evidence=_strings(table, "evidence", where),
        decision=cast(Decision | None, decision),
        reviewer=_text(table, "reviewer", where, required=False),
        signed_off=None if signed is None else _signed_off(signed, f"{where}.signed_off"),
        note=_text(table, "note", where, required=False),
    )


def _gate(value: object, where: str, seen: set[str]) -> Gate:
    table = _table(value, where)
    _check_keys(table, _GATE_KEYS, where, "a gate")
    ident = _identifier(table, where, seen)
    where = f"gates.{ident}"
    if "criterion" not in table:
        _fail(f"{where}.criterion", "missing")
    records = _table(table.get("candidates", {}), f"{where}.candidates")
    return Gate(
        id=ident,
        title=cast(str, _text(table, "title", where)),
        criterion=_criterion(table["criterion"], f"{where}.criterion"),
        records=MappingProxyType({
            name: _record(entry, f"{where}.candidates.{_q(name)}") for name, entry in records.items()
        }),
    )


def _positive(table: Mapping[str, Any], key: str, where: str) -> float:
    if key not in table:
        _fail(f"{where}.{key}", "missing")
    number = _number(table[key], f"{where}.{key}")
    if number <= 0:
        _fail(f"{where}.{key}", f"must be greater than 0, not {table[key]!r}")
    return number


def _part(value: object, where: str, seen: set[str]) -> Part:
    table = _table(value, where)
    ident = _identifier(table, where, seen)
    where = f"parts.{ident}"
    kind = _text(table, "kind", where)
    if kind not in PART_KINDS:
        _fail(f"{where}.kind", f"unknown kind {_q(cast(str, kind))} (one of: {', '.join(PART_KINDS)})")
    _check_keys(table, _PART_KEYS | _KIND_KEYS[kind], where, f"a {kind} part")
    if "weight" not in table:
        _fail(f"{where}.weight", "missing")
    weight = _number(table["weight"], f"{where}.weight")
    if weight < 0:
        _fail(f"{where}.weight", f"must not be negative, not {table['weight']!r}")
    criteria = table.get("criteria", [])
    if not isinstance(criteria, list):
        _fail(f"{where}.criteria", "must be a list of criterion numbers 1–9")
    baselines = _strings(table, "baselines", where)
    if kind == "benchmark" and not baselines:
        _fail(f"{where}.baselines", "missing: name the foreign models to compare with")
    return Part(
        id=ident,
        title=cast(str, _text(table, "title", where)),
        kind=cast(PartKind, kind),
        weight=weight,
        scores=cast(str, _text(table, "scores", where)),
        criteria=tuple(_criterion(c, f"{where}.criteria") for c in criteria),
        baselines=baselines,
        families=_strings(table, "families", where),
        target_ms=_positive(table, "target_ms", where) if kind == "performance" else None,
        target_yen_per_item=_positive(table, "target_yen_per_item", where) if kind == "cost" else None,
    )


def _array(raw: Mapping[str, Any], key: str) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        _fail(key, f"must be an array of tables ([[{key}]])")
    return value


def load_scorecard(path: str | Path, *, check_files: bool = True) -> Scorecard:
    """Read and check a scorecard. With `check_files` (the default) every part's scores file
    is read and checked too (exists, `gennai-eval-scores/1`, baselines present); evidence
    files are looked at only by `evaluate`. Raises ScorecardError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        _fail(str(path), "scorecard file not found")
    except OSError as exc:
        _fail(str(path), f"cannot read the scorecard: {exc.strerror or exc}")
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        _fail(str(path), f"not valid TOML: {exc}")
    try:
        _check_keys(raw, _TOP_KEYS, "", "the scorecard")
        seen: set[str] = set()
        gates = tuple(_gate(g, f"gates[{i}]", seen) for i, g in enumerate(_array(raw, "gates")))
        parts = tuple(_part(p, f"parts[{i}]", seen) for i, p in enumerate(_array(raw, "parts")))
        title = _text(raw, "title", "", required=False)
        if not parts:
            _fail("parts", "the scorecard has no [[parts]]: at least one weighted part is needed")
        if math.fsum(p.weight for p in parts) <= 0:
            _fail("parts", "the weights add up to 0: at least one part needs a positive weight")
    except ScorecardError as exc:
        raise ScorecardError(f"{path}: {exc}") from None
    card = Scorecard(path, hashlib.sha256(data).hexdigest(), title, gates, parts, MappingProxyType({}))
    if not check_files:
        return card
    files: dict[str, ScoresFile] = {}
    for part in parts:
        if part.scores not in files:
            files[part.scores] = _read_scores(card, part)
        _check_baselines(card, part, files[part.scores])
    return Scorecard(path, card.sha256, title, gates, parts, MappingProxyType(files))


# --------------------------------------------------------------------------------------------
# Scores files
# --------------------------------------------------------------------------------------------


def _origin(card: Scorecard, part: Part) -> str:
    return f"scores of parts.{part.id} in {card.path}"


def _read_scores(card: Scorecard, part: Part) -> ScoresFile:
    path = card.base_dir / part.scores
    origin = _origin(card, part)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        _fail(str(path), f"scores file not found ({origin})")
    except OSError as exc:
        _fail(str(path), f"cannot read the scores file: {exc.strerror or exc} ({origin})")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(str(path), f"not valid JSON: {exc} ({origin})")
    if not isinstance(doc, dict) or doc.get("format") != SCORES_FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        _fail(f"{path}: format", f"not a {SCORES_FORMAT} file (found {found!r}) ({origin})")
    candidates = doc.get("candidates")
    if not isinstance(candidates, dict) or not all(isinstance(v, dict) for v in candidates.values()):
        _fail(f"{path}: candidates", f"must be an object of candidate objects ({origin})")
    pending: dict[str, Any] = doc["pending"] if isinstance(doc.get("pending"), dict) else {}
    suite: dict[str, Any] = doc["suite"] if isinstance(doc.get("suite"), dict) else {}
    return ScoresFile(
        label=part.scores,
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        run_id=doc.get("run_id") if isinstance(doc.get("run_id"), str) else None,
        suite_name=suite.get("name") if isinstance(suite.get("name"), str) else None,
        merkle_root=suite.get("merkle_root") if isinstance(suite.get("merkle_root"), str) else None,
        pending=sum(int(v) for v in pending.values() if isinstance(v, int) and not isinstance(v, bool)),
        candidates=MappingProxyType(candidates),
    )


def _entry(scores: ScoresFile, name: str, origin: str, role: str = "candidate") -> Mapping[str, Any]:
    entry = scores.candidates.get(name)
    if entry is None:
        _fail(f"{scores.path}: candidates", f"no {role} {_q(name)} ({origin})")
    return entry


def _unit(value: object, where: str, origin: str) -> float:
    number = _number(value, where, origin)
    if not 0.0 <= number <= 1.0:
        _fail(where, f"must be between 0 and 1, not {value!r} ({origin})")
    return number


def _interval(value: object, key: str, scores: ScoresFile, origin: str) -> Interval:
    """A {mean, low, high} object from a scores file; a point when low/high are absent."""
    where = f"{scores.path}: {key}"
    if not isinstance(value, dict) or value.get("mean") is None:
        _fail(where, f"has no mean (nothing scored?) ({origin})")
    mean = _unit(value["mean"], f"{where}.mean", origin)
    if value.get("low") is None or value.get("high") is None:
        return Interval(mean, mean, mean)
    low = _unit(value["low"], f"{where}.low", origin)
    high = _unit(value["high"], f"{where}.high", origin)
    if low > high:
        _fail(where, f"low {low} is above high {high} ({origin})")
    return Interval(mean, low, high)


def _overall(scores: ScoresFile, name: str, origin: str, role: str = "candidate") -> Interval:
    entry = _entry(scores, name, origin, role)
    return _interval(entry.get("overall"), f"candidates.{_q(name)}.overall", scores, origin)


def _check_baselines(card: Scorecard, part: Part, scores: ScoresFile) -> None:
    for name in part.baselines:
        _overall(scores, name, _origin(card, part), "baseline")


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """An evidence file as written in the scorecard, with the SHA-256 of its bytes."""

    path: str
    sha256: str


@dataclass(frozen=True)
class GateResult:
    gate: str
    status: GateStatus
    reason: str  # Japanese / English
    evidence: tuple[Evidence, ...]
    missing_evidence: tuple[str, ...]
    reviewer: str | None
    signed_off: str | None

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True)
class PartResult:
    """A part's score in 0..1 with its interval, the part's share of the total, and the
    figures it was computed from (`detail`)."""

    part: str
    score: Interval
    share: float
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class CandidateResult:
    candidate: str
    gates: tuple[GateResult, ...]
    parts: tuple[PartResult, ...]
    total: Interval

    @property
    def eligible(self) -> bool:
        return all(gate.passed for gate in self.gates)


@dataclass(frozen=True)
class Standing:
    """A ranking row; `rank` and `above` are None for ineligible candidates."""

    rank: int | None
    candidate: str
    total: Interval
    eligible: bool
    above: int | None


def _round(x: float) -> float:
    return round(x, _DIGITS)


def _interval_dict(interval: Interval) -> dict[str, float]:
    return {"mean": _round(interval.mean), "low": _round(interval.low), "high": _round(interval.high)}


@dataclass(frozen=True)
class ScorecardResult:
    scorecard: Scorecard
    scores_files: Mapping[str, ScoresFile]
    candidates: tuple[CandidateResult, ...]
    ranking: tuple[Standing, ...]

    @property
    def provisional(self) -> bool:
        """Whether any scores file still has judge or human gradings pending."""
        return any(f.pending > 0 for f in self.scores_files.values())

    def candidate(self, name: str) -> CandidateResult:
        for result in self.candidates:
            if result.candidate == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON (`gennai-eval-scorecard/1`). Paths are as written in the
        scorecard (relative), never this machine's absolute paths."""
        card = self.scorecard
        gates = {g.id: g for g in card.gates}
        return {
            "format": SCORECARD_FORMAT,
            "scorecard": {"file": card.path.name, "sha256": card.sha256, "title": card.title},
            "provisional": self.provisional,
            "scores_files": {
                label: {"sha256": f.sha256, "run_id": f.run_id, "suite": f.suite_name,
                        "merkle_root": f.merkle_root, "pending": f.pending}
                for label, f in self.scores_files.items()
            },
            "criteria": {
                str(number): {"title": CRITERIA[number], "covered_by": list(ids)}
                for number, ids in card.coverage().items()
            },
            "gates": [{"id": g.id, "title": g.title, "criterion": g.criterion} for g in card.gates],
            "parts": [
                {"id": p.id, "title": p.title, "kind": p.kind, "criteria": list(p.criteria),
                 "weight": p.weight, "share": _round(card.share(p)), "scores": p.scores,
                 **({"baselines": list(p.baselines)} if p.baselines else {})}
                for p in card.parts
            ],
            "candidates": {
                c.candidate: {
                    "eligible": c.eligible,
                    "gates": {
                        g.gate: {"title": gates[g.gate].title, "status": g.status, "passed": g.passed,
                                 "reason": g.reason,
                                 "evidence": [{"path": e.path, "sha256": e.sha256} for e in g.evidence],
                                 "missing_evidence": list(g.missing_evidence),
                                 "reviewer": g.reviewer, "signed_off": g.signed_off}
                        for g in c.gates
                    },
                    "parts": {
                        p.part: {**_interval_dict(p.score), "share": _round(p.share),
                                 "weighted": _round(p.share * p.score.mean), "detail": dict(p.detail)}
                        for p in c.parts
                    },
                    "total": _interval_dict(c.total),
                }
                for c in self.candidates
            },
            "ranking": [
                {"rank": s.rank, "candidate": s.candidate, "eligible": s.eligible,
                 **_interval_dict(s.total), "above": s.above}
                for s in self.ranking
            ],
        }


# --------------------------------------------------------------------------------------------
# Gates
# --------------------------------------------------------------------------------------------


def _file_sha256(path: Path) -> str | None:
    """The SHA-256 of a regular file's bytes; None when there is no such file."""
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _judge_gate(gate: Gate, candidate: str, base: Path, hashes: dict[str, str | None]) -> GateResult:
    record = gate.records.get(candidate)
    if record is None:
        return GateResult(gate.id, "no_evidence",
                          "この候補者の証跡・審査記録が登録されていません / no evidence or review recorded for this candidate",
                          (), (), None, None)
    found: list[Evidence] = []
    missing: list[str] = []
    for written in record.evidence:
        if written not in hashes:
            hashes[written] = _file_sha256(base / written)
        digest = hashes[written]
        if digest is None:
            missing.append(written)
        else:
            found.append(Evidence(written, digest))
    unsigned = [key for key in ("decision", "reviewer", "signed_off") if getattr(record, key) is None]
    problems: list[str] = []
    if not record.evidence:
        problems.append("証跡ファイルが指定されていません / no evidence file listed")
    elif missing:
        problems.append(f"証跡ファイルが見つかりません / evidence file not found: {', '.join(missing)}")
    if unsigned:
        problems.append(f"審査者の承認がありません / not signed off: {', '.join(unsigned)} missing")

    status: GateStatus
    if record.decision == "fail":
        status = "failed"
        who = f"（{record.reviewer}、{record.signed_off or '日付なし'}）" if record.reviewer else ""
        reason = f"不合格と判定されました{who} / the reviewer decided: fail"
    elif not found:
        status, reason = "no_evidence", "; ".join(problems)
    elif unsigned:
        status, reason = "unsigned", "; ".join(problems)
    else:
        status = "passed"
        reason = (f"合格：証跡 {len(found)} 件、{record.reviewer} が {record.signed_off} に承認 / "
                  f"passed: {len(found)} evidence file(s), signed off by {record.reviewer} on {record.signed_off}")
        if missing:  # passes on the files that exist, but says which listed ones do not
            reason += f"; {problems[0]}"
    return GateResult(gate.id, status, reason, tuple(found), tuple(missing), record.reviewer, record.signed_off)


# --------------------------------------------------------------------------------------------
# Parts
# --------------------------------------------------------------------------------------------


def _point(value: float) -> Interval:
    return Interval(value, value, value)


def _sealed_test(part: Part, scores: ScoresFile, name: str, origin: str) -> tuple[Interval, dict[str, Any]]:
    overall = _overall(scores, name, origin)
    n = _entry(scores, name, origin).get("overall", {}).get("n")
    return overall, {"n": n}


def _benchmark(part: Part, scores: ScoresFile, name: str, origin: str) -> tuple[Interval, dict[str, Any]]:
    means = {b: _overall(scores, b, origin, "baseline").mean for b in part.baselines}
    best = min(means, key=lambda b: (-means[b], b))
    if means[best] <= 0:
        _fail(f"{scores.path}: candidates.{_q(best)}.overall.mean",
              f"the best baseline scored 0, so the comparison is undefined ({origin})")
    own = _overall(scores, name, origin)

    def scale(x: float) -> float:
        return min(1.0, x / means[best])

    detail = {"candidate_mean": _round(own.mean), "best_baseline": best,
              "baseline_mean": _round(means[best]), "baselines": {b: _round(m) for b, m in means.items()}}
    return Interval(scale(own.mean), scale(own.low), scale(own.high)), detail


def _safety(part: Part, scores: ScoresFile, name: str, origin: str,
            families: tuple[str, ...]) -> tuple[Interval, dict[str, Any]]:
    safety = _entry(scores, name, origin).get("safety")
    if not isinstance(safety, dict):
        _fail(f"{scores.path}: candidates.{_q(name)}.safety", f"missing ({origin})")
    found: dict[str, Interval] = {}
    for family in families:
        if family not in safety:
            _fail(f"{scores.path}: candidates.{_q(name)}.safety", f"no family {_q(family)} ({origin})")
        found[family] = _interval(safety[family], f"candidates.{_q(name)}.safety.{family}", scores, origin)
    k = len(found)
    mean = Interval(*(math.fsum(getattr(i, end) for i in found.values()) / k for end in ("mean", "low", "high")))
    return mean, {"families": {f: _round(i.mean) for f, i in found.items()}}


def _operations(scores: ScoresFile, name: str, origin: str) -> tuple[Mapping[str, Any], str]:
    ops = _entry(scores, name, origin).get("operations")
    where = f"{scores.path}: candidates.{_q(name)}.operations"
    if not isinstance(ops, dict):
        _fail(where, f"missing ({origin})")
    return ops, where


def _ops_number(ops: Mapping[str, Any], key: str, where: str, origin: str, default: float | None = None) -> float:
    if ops.get(key) is None:
        if default is not None:
            return default
        _fail(f"{where}.{key}", f"missing ({origin})")
    value = _number(ops[key], f"{where}.{key}", origin)
    if value < 0:
        _fail(f"{where}.{key}", f"must not be negative, not {value!r} ({origin})")
    return value


def _performance(part: Part, scores: ScoresFile, name: str, origin: str) -> tuple[Interval, dict[str, Any]]:
    ops, where = _operations(scores, name, origin)
    errors = _ops_number(ops, "error_rate", where, origin)
    timeouts = _ops_number(ops, "timeout_rate", where, origin, default=0.0)
    failure = min(1.0, errors + timeouts)
    target = cast(float, part.target_ms)
    detail: dict[str, Any] = {"target_ms": target, "latency_p95_ms": ops.get("latency_p95_ms"),
                              "error_rate": errors, "timeout_rate": timeouts}
    if failure >= 1.0 or ops.get("answered") == 0:  # nothing answered (even all blocked): no latency at all
        return _point(0.0), detail
    p95 = _ops_number(ops, "latency_p95_ms", where, origin)
    speed = 1.0 if p95 <= 0 else min(1.0, target / p95)
    return _point(speed * (1.0 - failure)), detail


def _cost(part: Part, scores: ScoresFile, name: str, origin: str) -> tuple[Interval, dict[str, Any]]:
    ops, where = _operations(scores, name, origin)
    cost = _ops_number(ops, "cost_yen", where, origin)
    answered = _ops_number(ops, "answered", where, origin)
    target = cast(float, part.target_yen_per_item)
    per_item = cost / answered if answered > 0 else None
    detail = {"target_yen_per_item": target, "cost_yen": cost, "answered": int(answered),
              "yen_per_item": None if per_item is None else _round(per_item)}
    if cost == 0:
        return _point(1.0), detail
    if per_item is None:  # paid for nothing answered
        return _point(0.0), detail
    return _point(min(1.0, target / per_item)), detail


def _families(part: Part, scores: ScoresFile, candidates: Sequence[str]) -> tuple[str, ...]:
    """The safety families a part averages: as configured, else every family any evaluated
    candidate has (standard families first), so that all candidates are averaged alike."""
    if part.families:
        return part.families
    present: set[str] = set()
    for name in candidates:
        safety = scores.candidates.get(name, {}).get("safety")
        if isinstance(safety, dict):
            present.update(safety)
    ordered = [f for f in SAFETY_FAMILIES if f in present] + sorted(present - set(SAFETY_FAMILIES))
    if not ordered:
        _fail(f"{scores.path}: candidates", f"no candidate has safety families (scores of parts.{part.id})")
    return tuple(ordered)


def _score_part(card: Scorecard, part: Part, scores: ScoresFile, name: str,
                families: tuple[str, ...]) -> PartResult:
    origin = _origin(card, part)
    if part.kind == "sealed_test":
        score, detail = _sealed_test(part, scores, name, origin)
    elif part.kind == "benchmark":
        score, detail = _benchmark(part, scores, name, origin)
    elif part.kind == "safety":
        score, detail = _safety(part, scores, name, origin, families)
    elif part.kind == "performance":
        score, detail = _performance(part, scores, name, origin)
    else:
        score, detail = _cost(part, scores, name, origin)
    return PartResult(part.id, score, card.share(part), MappingProxyType(detail))


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def _default_candidates(card: Scorecard, files: Mapping[str, ScoresFile]) -> list[str]:
    source = next((p for p in card.parts if p.kind == "sealed_test"), card.parts[0])
    return [name for name in files[source.scores].candidates if name not in card.baselines]


def evaluate(scorecard: Scorecard, candidates: Sequence[str] | None = None) -> ScorecardResult:
    """Score `candidates` (default: every candidate of the first sealed_test part's scores
    file — or of the first part's, when there is none — minus the benchmark baselines) on
    every gate and part, and rank the eligible ones. Evidence files are hashed now. Raises
    ScorecardError (a candidate missing from a scores file, a baseline named as a candidate,
    malformed scores)."""
    card = scorecard
    files: dict[str, ScoresFile] = dict(card.scores_files)
    for part in card.parts:
        if part.scores not in files:
            files[part.scores] = _read_scores(card, part)
        _check_baselines(card, part, files[part.scores])
    names = list(candidates) if candidates is not None else _default_candidates(card, files)
    if not names:
        _fail(str(card.path), "no candidates to evaluate")
    for name in names:
        if names.count(name) > 1:
            _fail(str(card.path), f"candidate {_q(name)} is named twice")
        if name in card.baselines:
            _fail(str(card.path), f"{_q(name)} is a benchmark baseline, not an entrant")

    families = {p.id: _families(p, files[p.scores], names) for p in card.parts if p.kind == "safety"}
    hashes: dict[str, str | None] = {}
    results: list[CandidateResult] = []
    for name in names:
        gates = tuple(_judge_gate(gate, name, card.base_dir, hashes) for gate in card.gates)
        parts = tuple(_score_part(card, p, files[p.scores], name, families.get(p.id, ())) for p in card.parts)
        total = Interval(*(math.fsum(p.share * getattr(p.score, end) for p in parts)
                           for end in ("mean", "low", "high")))
        results.append(CandidateResult(name, gates, parts, total))

    ranked = rank_with_ties({r.candidate: r.total for r in results if r.eligible})
    ranking = [Standing(row.rank, row.name, row.interval, True, row.above) for row in ranked]
    ineligible = sorted((r for r in results if not r.eligible), key=lambda r: (-r.total.mean, r.candidate))
    ranking += [Standing(None, r.candidate, r.total, False, None) for r in ineligible]
    used = {p.scores for p in card.parts}
    return ScorecardResult(card, MappingProxyType({k: v for k, v in files.items() if k in used}),
                           tuple(results), tuple(ranking))
