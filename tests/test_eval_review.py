"""Review of the evaluation area: one test per bug found, each failing before its fix."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from gennai.cli import app
from gennai.evaluation import grading, signing
from gennai.evaluation.config import EvalConfig, JudgeSettings, StatisticsSettings
from gennai.evaluation.items import Item
from gennai.evaluation.report import build_report, write_report
from gennai.evaluation.scorecard import evaluate, load_scorecard
from gennai.evaluation.scoring import JUDGEMENTS_FILE, read_judgements, score_run
from gennai.evaluation.suites import SuiteError, load_suite
from gennai.evaluation.transcripts import TranscriptLine, TranscriptWriter
from tests.test_eval_report import _items, _run, _scorecard, _scores
from tests.test_eval_scorecard import candidate, interval, part, scores_doc, write_card, write_json

# -- helpers ---------------------------------------------------------------------------------

JUDGE_ITEM = Item(id="j1", category="drafting", scoring="judge", input="通知文を書いてください。")


def _judge_run(tmp_path: Path) -> tuple[Path, dict[str, Any], EvalConfig]:
    run_dir = tmp_path / "run"
    writer = TranscriptWriter(run_dir, "cand")
    writer.write(TranscriptLine(item_id="j1", status="ok", answers=("拝啓 …",)))
    writer.close()
    run = {
        "run_id": "r1", "candidates": ["cand"], "decoding": {}, "decoding_sha256": "0" * 64,
        "suite": {"name": "s", "merkle_root": "a" * 64, "item_count": 1, "canary": "c", "suite_sha256": "b" * 64},
    }
    config = EvalConfig(judge=JudgeSettings(models=("judge",)), statistics=StatisticsSettings(resamples=100))
    return run_dir, run, config


def _judge_replying(reply: str):  # type: ignore[no-untyped-def]
    async def judge(model: str, item: Item, prompt: str) -> str:
        return reply

    return judge


# -- scoring ---------------------------------------------------------------------------------


def test_a_judge_reply_without_a_grade_is_asked_again_on_rescoring(tmp_path: Path) -> None:
    run_dir, run, config = _judge_run(tmp_path)
    first = asyncio.run(score_run(run_dir, run, [JUDGE_ITEM], config, judge=_judge_replying("よい回答です。")))
    assert first["candidates"]["cand"]["items"]["j1"]["status"] == "pending_judge"
    second = asyncio.run(score_run(run_dir, run, [JUDGE_ITEM], config, judge=_judge_replying("理由…\n評価：4")))
    assert second["candidates"]["cand"]["items"]["j1"]["status"] == "scored"
    assert second["pending"]["judge"] == 0


def test_a_judgement_appended_after_a_torn_line_is_kept(tmp_path: Path) -> None:
    run_dir, run, config = _judge_run(tmp_path)
    (run_dir / JUDGEMENTS_FILE).write_text('{"item_id": "j0", "candidate": "ca', encoding="utf-8")  # a crash
    asyncio.run(score_run(run_dir, run, [JUDGE_ITEM], config, judge=_judge_replying("評価：4")))
    assert ("j1", "cand", "judge") in read_judgements(run_dir)  # not glued to the torn line and lost


# -- suites ----------------------------------------------------------------------------------


def test_a_choice_answer_matching_two_choices_after_normalisation_is_refused_at_load(tmp_path: Path) -> None:
    suite = tmp_path / "suite.jsonl"
    line = {"id": "c1", "category": "law", "scoring": "choice", "input": "どれ？", "choices": ["ABC", "ａｂｃ", "xyz"],
            "answer": "ABC"}
    suite.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    # Before: accepted (and sealed), then scoring crashed after test day with a stack trace.
    with pytest.raises(SuiteError, match=r"suite\.jsonl:1: "):
        load_suite(suite)


# -- scorecard -------------------------------------------------------------------------------


def test_performance_of_a_candidate_with_nothing_answered_but_no_errors_is_zero(tmp_path: Path) -> None:
    # every item blocked by the policy (or never asked): no latency, error rate 0
    write_json(tmp_path / "scores.json", scores_doc({
        "a": candidate(interval(0.0), p95=None, answered=0),
        "b": candidate(interval(0.5)),
    }))
    card = write_card(tmp_path, part("p", "performance", 1, extra="target_ms = 2000"))
    result = evaluate(load_scorecard(card))
    assert result.candidate("a").parts[0].score.mean == 0.0
    assert result.candidate("b").parts[0].score.mean == 1.0


# -- signing ---------------------------------------------------------------------------------


def _signed_report(tmp_path: Path) -> tuple[dict[str, Any], bytes]:
    key = Ed25519PrivateKey.generate()
    report = build_report(_scores(), _run(), items=_items(), scorecard=_scorecard(), public=True)
    _, json_path = write_report(report, tmp_path / "report.html", signing_key=key)
    return json.loads(json_path.read_text(encoding="utf-8")), key.public_key().public_bytes_raw()


def test_verify_result_detects_a_changed_leaderboard_outside_the_payload(tmp_path: Path) -> None:
    document, public_key = _signed_report(tmp_path)
    assert signing.verify_result(document, public_key).ok
    tampered = copy.deepcopy(document)
    tampered["leaderboard"].reverse()  # what a reader of report.json sees
    tampered["candidates"]["model-a"]["overall"]["mean"] = 0.99
    assert not signing.verify_result(tampered, public_key).ok


def test_the_scorecard_ranking_is_covered_by_the_signature(tmp_path: Path) -> None:
    document, public_key = _signed_report(tmp_path)
    tampered = copy.deepcopy(document)
    tampered["scorecard"]["ranking"][1]["rank"] = 2
    tampered["scorecard"]["candidates"]["model-a"]["eligible"] = False
    assert not signing.verify_result(tampered, public_key).ok


# -- blind grading -----------------------------------------------------------------------------


def _cli_queue():  # type: ignore[no-untyped-def]
    from gennai.cli_eval import _grading_hooks

    queue, _ = _grading_hooks()
    return queue


def test_cli_queued_labels_cannot_be_recomputed_from_public_data(tmp_path: Path) -> None:
    # Graders see the task id (in the form's URL) and the item id; the code and the run's
    # candidate order are public. A fixed seed lets a grader recompute who is 回答A.
    queue = _cli_queue()
    queue(tmp_path, [(f"q{n}", ("model-x", "model-y"), "r") for n in range(40)])
    tasks = grading.load_queue(tmp_path)
    predicted = [grading._labels_for(2, grading._task_seed(0, t.task_id, t.item_id)) for t in tasks]  # noqa: SLF001
    assert predicted != [t.labels for t in tasks]


def test_cli_queued_task_ids_do_not_follow_the_candidate_order(tmp_path: Path) -> None:
    # scoring lists one candidate's disagreements after the other's: the lower task id of an
    # item would name the first candidate of run.json
    queue = _cli_queue()
    queue(tmp_path, [(f"q{n}", (model,), "r") for model in ("model-x", "model-y") for n in range(40)])
    first = {}
    for task in grading.load_queue(tmp_path):
        first.setdefault(task.item_id, task.candidates[0])
    assert set(first.values()) == {"model-x", "model-y"}


def test_a_bad_grading_queue_line_is_one_line_not_a_stack_trace(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    (run_dir / "grading").mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"format": "gennai-eval-run/1"}), encoding="utf-8")
    (run_dir / "grading" / "queue.jsonl").write_text("not json\n{}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "grade", str(run_dir), "--grader", "a", "--grader", "b"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "queue.jsonl:1" in result.output


def test_report_named_json_is_a_one_line_error_not_a_stack_trace(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps(_run()), encoding="utf-8")
    (run_dir / "scores.json").write_text(json.dumps(_scores()), encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "report", str(run_dir), "--out", str(tmp_path / "report.json")])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "report.json" in result.output


def test_split_pairwise_verdicts_stop_pending_once_humans_have_graded(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    for model in ("cand-a", "cand-b"):
        writer = TranscriptWriter(run_dir, model)
        writer.write(TranscriptLine(item_id="j1", status="ok", answers=(f"{model} の回答",)))
        writer.close()
    run = {
        "run_id": "r1", "candidates": ["cand-a", "cand-b"], "decoding": {}, "decoding_sha256": "0" * 64,
        "suite": {"name": "s", "merkle_root": "a" * 64, "item_count": 1, "canary": "c", "suite_sha256": "b" * 64},
    }
    config = EvalConfig(judge=JudgeSettings(models=("judge",), pairwise=True), statistics=StatisticsSettings(resamples=100))

    async def biased(model: str, item: Item, prompt: str) -> str:
        return "判定：A" if "回答A" in prompt and "判定" in prompt else "評価：3"  # position bias: a split

    def queue(run_dir: Path, tasks: Any) -> int:
        return grading.queue_tasks(run_dir, tasks, seed=1)

    def humans(run_dir: Path) -> dict[tuple[str, str], float]:
        return {(a.item_id, a.candidate): a.mean for a in grading.results(run_dir).answers if a.complete}

    first = asyncio.run(score_run(run_dir, run, [JUDGE_ITEM], config, judge=biased, queue_for_humans=queue,
                                  human_grades=humans))
    assert first["pending"]["human"] == 1
    (task,) = grading.load_queue(run_dir)
    for grader in ("佐藤", "鈴木"):
        grading.submit_grades(run_dir, task.task_id, grader, [grading.Mark(label, 4) for label in task.labels])
    again = asyncio.run(score_run(run_dir, run, [JUDGE_ITEM], config, judge=biased, queue_for_humans=queue,
                                  human_grades=humans))
    assert again["pending"]["human"] == 0  # else the scorecard stays provisional for ever


def test_a_second_run_on_the_same_folder_is_refused_while_the_first_works(tmp_path: Path) -> None:
    import fcntl

    import typer

    from gennai.cli_eval import _run_lock

    with (tmp_path / ".run.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(typer.Exit):
            with _run_lock(tmp_path):
                pass
        fcntl.flock(held, fcntl.LOCK_UN)
    with _run_lock(tmp_path):  # free again
        pass


def test_a_judgements_line_changed_by_hand_is_asked_again_not_a_stack_trace(tmp_path: Path) -> None:
    from gennai.evaluation.scoring import JUDGEMENTS_FILE, read_judgements

    (tmp_path / JUDGEMENTS_FILE).write_text('[1, 2]\n{"kind": "score"}\n"text"\n', encoding="utf-8")
    assert read_judgements(tmp_path) == {}
