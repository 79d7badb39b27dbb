"""The nine-criteria scorecard: gates with evidence and sign-off, weighted parts, totals with
intervals, a tie-aware ranking, and one-line errors that name the file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from gennai.evaluation.scorecard import (
    SCORECARD_FORMAT,
    ScorecardError,
    evaluate,
    load_scorecard,
)

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "gennai" / "evaluation" / "samples" / "scorecard.toml"


def interval(mean: float, low: float | None = None, high: float | None = None, n: int = 50) -> dict[str, Any]:
    return {"mean": mean, "low": mean if low is None else low, "high": mean if high is None else high, "n": n}


def candidate(overall: dict[str, Any], *, safety: dict[str, dict[str, Any]] | None = None,
              p95: float | None = 1000.0, error_rate: float = 0.0, timeout_rate: float = 0.0,
              cost: float = 0.0, answered: int = 50) -> dict[str, Any]:
    return {
        "overall": overall,
        "categories": {},
        "safety": safety or {},
        "items": {},
        "operations": {"answered": answered, "errors": 0, "timeouts": 0, "blocked": 0,
                       "error_rate": error_rate, "timeout_rate": timeout_rate,
                       "ttft_p50_ms": 100.0, "ttft_p95_ms": 200.0, "latency_p50_ms": 500.0,
                       "latency_p95_ms": p95, "tokens_per_s": 40.0, "tokens_in": 1000, "tokens_out": 800,
                       "cost_yen": cost},
    }


def scores_doc(candidates: dict[str, dict[str, Any]], *, pending: int = 0) -> dict[str, Any]:
    return {
        "format": "gennai-eval-scores/1", "run_id": "run-1", "scored_at": "2027-01-20T10:00:00Z",
        "harness_version": "0.1.0",
        "suite": {"name": "sealed", "merkle_root": "ab" * 32, "item_count": 50, "canary": "GENNAI-CANARY-x",
                  "suite_sha256": "cd" * 32},
        "decoding": {"temperature": 0.0, "max_tokens": 512}, "decoding_sha256": "0" * 64, "config_sha256": "1" * 64,
        "judge": None, "items": {}, "candidates": candidates, "leaderboard": [], "pairwise": [],
        "safety_report": {}, "pending": {"judge": pending, "human": 0},
    }


def write_json(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def gate(gate_id: str, criterion: int, records: dict[str, str]) -> str:
    """A [[gates]] table; `records` maps a candidate to the body of its record."""
    text = f'[[gates]]\nid = "{gate_id}"\ntitle = "関門 {gate_id}"\ncriterion = {criterion}\n'
    for name, body in records.items():
        text += f'[gates.candidates."{name}"]\n{body}\n'
    return text


def part(part_id: str, kind: str, weight: float, scores: str = "scores.json", extra: str = "") -> str:
    return (f'[[parts]]\nid = "{part_id}"\ntitle = "項目 {part_id}"\nkind = "{kind}"\n'
            f'weight = {weight}\nscores = "{scores}"\n{extra}\n')


SIGNED = 'evidence = ["ev/{name}.pdf"]\ndecision = "pass"\nreviewer = "審査 花子"\nsigned_off = 2027-01-25'


def write_card(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scorecard.toml"
    path.write_text(text, encoding="utf-8")
    return path


def evidence(tmp_path: Path, *names: str) -> dict[str, bytes]:
    (tmp_path / "ev").mkdir(exist_ok=True)
    written = {}
    for name in names:
        data = f"証跡 {name}".encode()
        (tmp_path / "ev" / f"{name}.pdf").write_bytes(data)
        written[name] = data
    return written


# --------------------------------------------------------------------------------------------
# Gates
# --------------------------------------------------------------------------------------------


def gate_card(tmp_path: Path, records: dict[str, str]) -> Path:
    write_json(tmp_path / "scores.json", scores_doc({name: candidate(interval(0.5)) for name in records}))
    return write_card(tmp_path, gate("domestic", 1, records) + part("sealed", "sealed_test", 1))


def test_gate_passes_with_evidence_sign_off_and_pass(tmp_path: Path) -> None:
    data = evidence(tmp_path, "a")["a"]
    card = load_scorecard(gate_card(tmp_path, {"a": SIGNED.format(name="a")}))
    result = evaluate(card)
    gate_result = result.candidate("a").gates[0]
    assert gate_result.status == "passed" and gate_result.passed
    assert gate_result.evidence[0].path == "ev/a.pdf"
    assert gate_result.evidence[0].sha256 == hashlib.sha256(data).hexdigest()
    assert gate_result.reviewer == "審査 花子" and gate_result.signed_off == "2027-01-25"
    assert "合格" in gate_result.reason and "passed" in gate_result.reason
    assert result.candidate("a").eligible
    assert result.ranking[0].rank == 1


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ('evidence = ["ev/x.pdf"]\ndecision = "pass"\nreviewer = "審査"\nsigned_off = 2027-01-25',
         "no_evidence", ["証跡ファイルが見つかりません", "not found", "ev/x.pdf"]),
        ('evidence = []\ndecision = "pass"\nreviewer = "審査"\nsigned_off = 2027-01-25',
         "no_evidence", ["no evidence file listed"]),
        ('evidence = ["ev/a.pdf"]\ndecision = "pass"', "unsigned",
         ["承認", "not signed off", "reviewer", "signed_off"]),
        ('evidence = ["ev/a.pdf"]\nreviewer = "審査"\nsigned_off = 2027-01-25', "unsigned", ["decision"]),
    ],
)
def test_gate_not_passed_without_everything(tmp_path: Path, body: str, status: str, words: list[str]) -> None:
    evidence(tmp_path, "a")
    result = evaluate(load_scorecard(gate_card(tmp_path, {"a": body})))
    gate_result = result.candidate("a").gates[0]
    assert gate_result.status == status and not gate_result.passed
    for word in words:
        assert word in gate_result.reason
    assert not result.candidate("a").eligible
    assert result.ranking[0].rank is None


def test_gate_without_a_record_for_the_candidate(tmp_path: Path) -> None:
    evidence(tmp_path, "a")
    write_json(tmp_path / "scores.json", scores_doc({"a": candidate(interval(0.5)), "b": candidate(interval(0.5))}))
    card = write_card(tmp_path, gate("domestic", 1, {"a": SIGNED.format(name="a")}) + part("s", "sealed_test", 1))
    gate_b = evaluate(load_scorecard(card)).candidate("b").gates[0]
    assert gate_b.status == "no_evidence"
    assert "登録されていません" in gate_b.reason and "no evidence" in gate_b.reason


def test_a_missing_listed_file_is_reported_even_when_another_exists(tmp_path: Path) -> None:
    evidence(tmp_path, "a")
    body = 'evidence = ["ev/a.pdf", "ev/gone.pdf"]\ndecision = "pass"\nreviewer = "審査"\nsigned_off = 2027-01-25'
    gate_result = evaluate(load_scorecard(gate_card(tmp_path, {"a": body}))).candidate("a").gates[0]
    assert gate_result.passed
    assert gate_result.missing_evidence == ("ev/gone.pdf",)
    assert "ev/gone.pdf" in gate_result.reason


def test_fail_decision_makes_the_candidate_ineligible_and_unranked(tmp_path: Path) -> None:
    evidence(tmp_path, "a", "b")
    failed = SIGNED.format(name="b").replace('"pass"', '"fail"')
    write_json(tmp_path / "scores.json", scores_doc({
        "a": candidate(interval(0.5, 0.45, 0.55)),
        "b": candidate(interval(0.9, 0.85, 0.95)),  # better, but failed a gate
    }))
    card = write_card(tmp_path, gate("cloud", 8, {"a": SIGNED.format(name="a"), "b": failed})
                      + part("s", "sealed_test", 1))
    result = evaluate(load_scorecard(card))
    b = result.candidate("b")
    assert b.gates[0].status == "failed" and "不合格" in b.gates[0].reason and not b.eligible
    assert [(s.candidate, s.rank, s.eligible) for s in result.ranking] == [("a", 1, True), ("b", None, False)]
    ranking = result.to_dict()["ranking"]
    assert ranking[1] == {"rank": None, "candidate": "b", "eligible": False,
                          "mean": 0.9, "low": 0.85, "high": 0.95, "above": None}


# --------------------------------------------------------------------------------------------
# Parts and totals
# --------------------------------------------------------------------------------------------


def test_weighted_total_and_its_conservative_interval(tmp_path: Path) -> None:
    write_json(tmp_path / "scores.json", scores_doc({
        "a": candidate(interval(0.8, 0.7, 0.9), p95=2000.0, cost=0.0),
    }))
    # weights 3 and 1 (sum 4, not 100): shares 0.75 and 0.25
    card = write_card(tmp_path, part("s", "sealed_test", 3)
                      + part("p", "performance", 1, extra="target_ms = 1000"))
    result = evaluate(load_scorecard(card))
    a = result.candidate("a")
    assert [p.share for p in a.parts] == [0.75, 0.25]
    assert a.parts[1].score.mean == pytest.approx(0.5)
    assert a.parts[1].score.low == a.parts[1].score.high == a.parts[1].score.mean  # a point value
    assert a.total.mean == pytest.approx(0.75 * 0.8 + 0.25 * 0.5)
    assert a.total.low == pytest.approx(0.75 * 0.7 + 0.25 * 0.5)
    assert a.total.high == pytest.approx(0.75 * 0.9 + 0.25 * 0.5)
    assert a.eligible  # no gates: nothing to fail


def test_benchmark_is_relative_to_the_best_baseline_and_capped(tmp_path: Path) -> None:
    write_json(tmp_path / "scores.json", scores_doc({
        "a": candidate(interval(0.5)), "b": candidate(interval(0.5)),
    }))
    write_json(tmp_path / "bench.json", scores_doc({
        "a": candidate(interval(0.6, 0.5, 0.7)),
        "b": candidate(interval(0.9, 0.85, 0.95)),
        "claude-sonnet-4-5": candidate(interval(0.8)),
        "gpt-4o": candidate(interval(0.7)),
    }))
    card = write_card(tmp_path, part("bench", "benchmark", 1, "bench.json",
                                     'baselines = ["gpt-4o", "claude-sonnet-4-5"]'))
    result = evaluate(load_scorecard(card))
    assert [c.candidate for c in result.candidates] == ["a", "b"]  # baselines are not entrants
    a, b = result.candidate("a").parts[0], result.candidate("b").parts[0]
    assert a.score.mean == pytest.approx(0.6 / 0.8)
    assert (a.score.low, a.score.high) == pytest.approx((0.5 / 0.8, 0.7 / 0.8))
    assert a.detail["best_baseline"] == "claude-sonnet-4-5"
    assert (b.score.mean, b.score.low, b.score.high) == (1.0, 1.0, 1.0)  # 0.9/0.8, capped
    with pytest.raises(ScorecardError, match="baseline, not an entrant"):
        evaluate(load_scorecard(card), ["gpt-4o"])


def test_default_candidates_come_from_the_sealed_test_without_baselines(tmp_path: Path) -> None:
    both = {"a": candidate(interval(0.5)), "gpt-4o": candidate(interval(0.7))}
    write_json(tmp_path / "scores.json", scores_doc(both))
    write_json(tmp_path / "bench.json", scores_doc(both))
    card = write_card(tmp_path, part("s", "sealed_test", 1)
                      + part("bench", "benchmark", 1, "bench.json", 'baselines = ["gpt-4o"]'))
    assert [c.candidate for c in evaluate(load_scorecard(card)).candidates] == ["a"]


@pytest.mark.parametrize(
    ("p95", "error_rate", "timeout_rate", "expected"),
    [
        (1500.0, 0.0, 0.0, 1.0),          # faster than the target: capped at 1
        (4000.0, 0.0, 0.0, 0.5),          # 2000 / 4000
        (4000.0, 0.1, 0.0, 0.45),         # × (1 − 0.1)
        (1000.0, 0.1, 0.1, 0.8),          # timeouts count as failures too
        (None, 1.0, 0.0, 0.0),            # nothing answered: no latency, score 0
    ],
)
def test_performance_formula(tmp_path: Path, p95: float | None, error_rate: float, timeout_rate: float,
                             expected: float) -> None:
    write_json(tmp_path / "scores.json", scores_doc({
        "a": candidate(interval(0.5), p95=p95, error_rate=error_rate, timeout_rate=timeout_rate)}))
    card = write_card(tmp_path, part("p", "performance", 1, extra="target_ms = 2000"))
    score = evaluate(load_scorecard(card)).candidate("a").parts[0].score
    assert score.mean == pytest.approx(expected) and score.low == score.high == score.mean


@pytest.mark.parametrize(
    ("cost", "answered", "expected"),
    [
        (0.0, 50, 1.0),      # free
        (10.0, 50, 1.0),     # 0.2 yen per item against 0.5: capped
        (50.0, 50, 0.5),     # 1.0 yen per item: 0.5 / 1.0
        (5.0, 0, 0.0),       # paid, nothing answered
    ],
)
def test_cost_formula(tmp_path: Path, cost: float, answered: int, expected: float) -> None:
    write_json(tmp_path / "scores.json", scores_doc({"a": candidate(interval(0.5), cost=cost, answered=answered)}))
    card = write_card(tmp_path, part("c", "cost", 1, extra="target_yen_per_item = 0.5"))
    score = evaluate(load_scorecard(card)).candidate("a").parts[0].score
    assert score.mean == pytest.approx(expected) and score.low == score.high


def test_safety_is_the_mean_of_the_families(tmp_path: Path) -> None:
    safety = {"hallucination": interval(0.8, 0.6, 1.0), "bias": interval(0.6, 0.4, 0.8),
              "harmful": interval(1.0), "over_refusal": interval(0.6, 0.5, 0.7)}
    write_json(tmp_path / "scores.json", scores_doc({"a": candidate(interval(0.5), safety=safety)}))
    card = write_card(tmp_path, part("safe", "safety", 1))
    score = evaluate(load_scorecard(card)).candidate("a").parts[0].score
    assert score.mean == pytest.approx(0.75)
    assert (score.low, score.high) == pytest.approx(((0.6 + 0.4 + 1.0 + 0.5) / 4, (1.0 + 0.8 + 1.0 + 0.7) / 4))


def test_overlapping_totals_share_a_rank(tmp_path: Path) -> None:
    write_json(tmp_path / "scores.json", scores_doc({
        "a": candidate(interval(0.80, 0.70, 0.90)),
        "b": candidate(interval(0.75, 0.65, 0.85)),  # overlaps a
        "c": candidate(interval(0.30, 0.20, 0.40)),  # clearly below
    }))
    card = write_card(tmp_path, part("s", "sealed_test", 1))
    result = evaluate(load_scorecard(card))
    assert [(s.candidate, s.rank) for s in result.ranking] == [("a", 1), ("b", 1), ("c", 3)]


def test_to_dict_is_json_ready_and_pins_the_inputs(tmp_path: Path) -> None:
    evidence(tmp_path, "a")
    write_json(tmp_path / "scores.json", scores_doc({"a": candidate(interval(0.8, 0.7, 0.9))}, pending=2))
    card_path = write_card(tmp_path, gate("domestic", 1, {"a": SIGNED.format(name="a")}) + part("s", "sealed_test", 1)
                           .replace("[[parts]]", "[[parts]]\ncriteria = [5]"))
    result = evaluate(load_scorecard(card_path)).to_dict()
    assert json.loads(json.dumps(result)) == result
    assert result["format"] == SCORECARD_FORMAT
    assert result["scorecard"] == {"file": "scorecard.toml", "title": None,
                                   "sha256": hashlib.sha256(card_path.read_bytes()).hexdigest()}
    assert result["provisional"] is True  # judge gradings still pending
    assert result["scores_files"]["scores.json"]["sha256"] == hashlib.sha256(
        (tmp_path / "scores.json").read_bytes()).hexdigest()
    assert result["criteria"]["1"]["covered_by"] == ["domestic"]
    assert result["criteria"]["5"]["covered_by"] == ["s"] and result["criteria"]["9"]["covered_by"] == []
    a = result["candidates"]["a"]
    assert a["eligible"] is True
    assert a["gates"]["domestic"]["status"] == "passed"
    assert a["gates"]["domestic"]["evidence"][0]["path"] == "ev/a.pdf"
    assert a["parts"]["s"] == {"mean": 0.8, "low": 0.7, "high": 0.9, "share": 1.0, "weighted": 0.8,
                               "detail": {"n": 50}}
    assert a["total"] == {"mean": 0.8, "low": 0.7, "high": 0.9}
    assert result["ranking"][0]["rank"] == 1
    assert str(tmp_path) not in json.dumps(result, ensure_ascii=False)  # no absolute paths


# --------------------------------------------------------------------------------------------
# Errors: one line, naming the file (and the key)
# --------------------------------------------------------------------------------------------


def _error(card: Path, candidates: list[str] | None = None) -> str:
    with pytest.raises(ScorecardError) as caught:
        evaluate(load_scorecard(card), candidates)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (part("s", "sealed_test", 1).replace("sealed_test", "vibes"), ["parts.s.kind", "unknown kind", "vibes"]),
        (part("s", "sealed_test", -1), ["parts.s.weight", "negative"]),
        (part("s", "sealed_test", 0), ["weights add up to 0"]),
        (part("s", "sealed_test", 1) + part("s", "safety", 1), ["parts[1].id", "duplicate id"]),
        (gate("s", 1, {}) + part("s", "sealed_test", 1), ["parts[0].id", "duplicate id"]),
        (gate("g", 10, {}) + part("s", "sealed_test", 1), ["gates.g.criterion", "1–9"]),
        (gate("g", 1, {"a": 'decision = "maybe"'}) + part("s", "sealed_test", 1),
         ['gates.g.candidates."a".decision', "maybe"]),
        (gate("g", 1, {"a": 'signed_off = "someday"'}) + part("s", "sealed_test", 1),
         ["signed_off", "date"]),
        (part("s", "sealed_test", 1, extra="wieght = 2"), ["parts.s.wieght", "unknown key"]),
        (part("p", "performance", 1), ["parts.p.target_ms", "missing"]),
        (part("c", "cost", 1, extra="target_yen_per_item = 0"), ["target_yen_per_item", "greater than 0"]),
        (part("b", "benchmark", 1), ["parts.b.baselines", "missing"]),
        ("", ["no [[parts]]"]),
        ("parts = 3", ["parts", "array of tables"]),
        ("[[parts]\n", ["not valid TOML"]),
    ],
)
def test_scorecard_errors_name_the_file_and_key(tmp_path: Path, text: str, words: list[str]) -> None:
    write_json(tmp_path / "scores.json", scores_doc({"a": candidate(interval(0.5))}))
    card = write_card(tmp_path, text)
    message = _error(card)
    assert message.startswith(f"{card}: ")
    for word in words:
        assert word in message


def test_missing_scorecard_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScorecardError, match=r"nothere\.toml: scorecard file not found"):
        load_scorecard(tmp_path / "nothere.toml")


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        ("absent", ["missing.json", "scores file not found", "scores of parts.s", "scorecard.toml"]),
        ("format", ["missing.json: format", "not a gennai-eval-scores/1 file", "scorecard.toml"]),
        ("json", ["missing.json", "not valid JSON", "scorecard.toml"]),
    ],
)
def test_bad_scores_files_are_named(tmp_path: Path, setup: str, words: list[str]) -> None:
    if setup == "format":
        write_json(tmp_path / "missing.json", {"format": "something-else/1", "candidates": {}})
    elif setup == "json":
        (tmp_path / "missing.json").write_text("{not json", encoding="utf-8")
    card = write_card(tmp_path, part("s", "sealed_test", 1, "missing.json"))
    message = _error(card)
    for word in words:
        assert word in message


def test_missing_candidate_and_baseline_are_named(tmp_path: Path) -> None:
    write_json(tmp_path / "scores.json", scores_doc({"a": candidate(interval(0.5))}))
    write_json(tmp_path / "bench.json", scores_doc({"a": candidate(interval(0.5))}))
    card = write_card(tmp_path, part("s", "sealed_test", 1))
    message = _error(card, ["a", "zz"])
    assert "scores.json: candidates" in message and '"zz"' in message and "scorecard.toml" in message

    card = write_card(tmp_path, part("s", "sealed_test", 1)
                      + part("b", "benchmark", 1, "bench.json", 'baselines = ["gpt-4o"]'))
    message = _error(card)
    assert "bench.json: candidates" in message and 'no baseline "gpt-4o"' in message
    assert "parts.b" in message and "scorecard.toml" in message


def test_missing_safety_family_and_operations_are_named(tmp_path: Path) -> None:
    doc = scores_doc({"a": candidate(interval(0.5), safety={"bias": interval(0.5)})})
    write_json(tmp_path / "scores.json", doc)
    card = write_card(tmp_path, part("safe", "safety", 1, extra='families = ["bias", "harmful"]'))
    message = _error(card)
    assert 'scores.json: candidates."a".safety' in message and '"harmful"' in message

    del doc["candidates"]["a"]["operations"]
    write_json(tmp_path / "scores.json", doc)
    card = write_card(tmp_path, part("p", "performance", 1, extra="target_ms = 100"))
    assert 'scores.json: candidates."a".operations: missing' in _error(card)


# --------------------------------------------------------------------------------------------
# The sample
# --------------------------------------------------------------------------------------------


def test_sample_scorecard_parses_and_covers_all_nine_criteria() -> None:
    card = load_scorecard(SAMPLE, check_files=False)
    assert {gate.criterion for gate in card.gates} == {1, 2, 7, 8, 9}
    assert {part.kind for part in card.parts} == {"sealed_test", "benchmark", "safety", "performance", "cost"}
    assert all(ids for ids in card.coverage().values())
    assert sum(card.share(part) for part in card.parts) == pytest.approx(1.0)
    with pytest.raises(ScorecardError, match=r"scores\.json: scores file not found"):
        load_scorecard(SAMPLE)


def test_sample_scorecard_evaluates_with_its_scores_files(tmp_path: Path) -> None:
    card_path = tmp_path / "scorecard.toml"
    card_path.write_bytes(SAMPLE.read_bytes())
    families = {f: interval(0.8, 0.7, 0.9) for f in ("hallucination", "bias", "harmful", "over_refusal")}
    entrants = {"vendor-a-7b": candidate(interval(0.7, 0.6, 0.8), safety=families, cost=10.0),
                "vendor-b-13b": candidate(interval(0.75, 0.65, 0.85), safety=families)}
    write_json(tmp_path / "scores.json", scores_doc(entrants))
    write_json(tmp_path / "benchmark-scores.json", scores_doc({
        **entrants, "claude-sonnet-4-5": candidate(interval(0.9)), "gpt-4o": candidate(interval(0.85))}))
    (tmp_path / "evidence" / "vendor-a-7b").mkdir(parents=True)
    for name in ("development-site.pdf", "model-card.pdf", "data-statement.pdf", "gov-cloud-deployment.pdf",
                 "free-trial-agreement.pdf"):
        (tmp_path / "evidence" / "vendor-a-7b" / name).write_bytes(name.encode())
    result = evaluate(load_scorecard(card_path))
    a, b = result.candidate("vendor-a-7b"), result.candidate("vendor-b-13b")
    assert a.eligible and not b.eligible
    assert a.gates[1].missing_evidence == ("evidence/vendor-a-7b/training-report.pdf",)
    assert {g.gate: g.status for g in b.gates} == {
        "domestic": "no_evidence", "development": "no_evidence", "lawful_data": "no_evidence",
        "government_cloud": "failed", "free_trial": "no_evidence"}
    assert [(s.candidate, s.rank) for s in result.ranking] == [("vendor-a-7b", 1), ("vendor-b-13b", None)]
