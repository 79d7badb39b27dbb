"""Every sample suite that ships with gennai goes through seal → run → score → report from the
CLI against loopback candidates, and the report carries the safety profile and a scorecard
with gates and a weighted total with its interval."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gennai.evaluation.suites import SAMPLES, load_sample, write_suite
from tests.support.scripted_upstream import ScriptedUpstream
from tests.support.servers import running_asyncio_server
from tests.test_eval_lifecycle import invoke, write_config


def polite(model: str, messages: list[dict[str, Any]]) -> str:
    """A candidate that refuses everything ("good") or answers "1" to everything ("wrong")."""
    if model.startswith("judge"):
        return "評価：3"
    return "申し訳ありませんが、お答えできません。" if model == "good" else "1"


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp_path = tmp_path_factory.mktemp("samples")
    upstream = ScriptedUpstream(polite)

    async def start(port: int) -> ScriptedUpstream:
        return await upstream.start(port)

    with running_asyncio_server(start) as port:
        config = write_config(tmp_path, port)
        items = [item for name in SAMPLES for item in load_sample(name).items]
        suite = tmp_path / "all-samples.jsonl"
        write_suite(suite, items)
        sealed, key, run_dir = tmp_path / "sealed", tmp_path / "k.key", tmp_path / "run"
        eval_toml = tmp_path / "eval.toml"
        eval_toml.write_text(f'gennai_config = "{config}"\n[judge]\nmodels = ["judge"]\n', encoding="utf-8")
        for args in (
            ("eval", "seal", str(suite), "--out", str(sealed), "--key-out", str(key)),
            ("eval", "run", str(sealed), "--key", str(key), "--models", "cand-good,cand-wrong", "--out", str(run_dir), "--config", str(eval_toml)),
            ("eval", "score", str(run_dir), "--config", str(eval_toml)),
        ):
            result = invoke(*args)
            assert result.exit_code == 0, result.output
    return tmp_path, run_dir, items


def test_every_sample_item_is_answered_and_scored(scored: Any) -> None:
    _, run_dir, items = scored
    scores = json.loads((run_dir / "scores.json").read_text(encoding="utf-8"))
    for candidate in ("cand-good", "cand-wrong"):
        result = scores["candidates"][candidate]
        ops = result["operations"]
        # an item whose text the detector finds class 2 is not sent to the class-1 candidate
        assert ops["answered"] + ops["blocked"] == len(items) and ops["errors"] == ops["timeouts"] == 0
        assert result["overall"]["n"] == len(items)
        assert all(entry["status"] in ("scored", "blocked") for entry in result["items"].values())
    assert scores["candidates"]["cand-good"]["operations"]["blocked"] == 0
    # the safety report covers the four families; refusing everything is safe on harmful
    # requests and fails the over-refusal look-alikes, answering "1" the other way round
    report = scores["safety_report"]
    assert set(report) == {"hallucination", "bias", "harmful", "over_refusal"}
    assert report["harmful"]["cand-good"]["mean"] == 1.0 and report["harmful"]["cand-wrong"]["mean"] == 0.0
    assert report["over_refusal"]["cand-good"]["mean"] == 0.0 and report["over_refusal"]["cand-wrong"]["mean"] == 1.0


def test_report_with_a_scorecard_shows_gates_and_a_total_with_its_interval(scored: Any) -> None:
    tmp_path, run_dir, items = scored
    evidence = tmp_path / "evidence.pdf"
    evidence.write_bytes(b"%PDF-1.4 evidence")
    gates = "".join(
        f'[gates.candidates."{candidate}"]\nevidence = ["evidence.pdf"]\ndecision = "pass"\nreviewer = "審査 花子"\nsigned_off = 2027-01-25\n'
        for candidate in ("cand-good", "cand-wrong")
    )
    card = tmp_path / "scorecard.toml"
    card.write_text(
        'title = "試行調達 評価表"\n'
        '[[gates]]\nid = "domestic"\ntitle = "国内で開発されたモデルであること"\ncriterion = 1\n' + gates
        + '[[parts]]\nid = "sealed_test"\ntitle = "封印試験"\nkind = "sealed_test"\nweight = 60\nscores = "run/scores.json"\n'
        '[[parts]]\nid = "safety"\ntitle = "安全性"\nkind = "safety"\nweight = 30\nscores = "run/scores.json"\n'
        '[[parts]]\nid = "cost"\ntitle = "費用"\nkind = "cost"\nweight = 10\nscores = "run/scores.json"\ntarget_yen_per_item = 1.0\n',
        encoding="utf-8",
    )
    out = tmp_path / "report.html"
    result = invoke("eval", "report", str(run_dir), "--out", str(out), "--scorecard", str(card))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "国内で開発されたモデルであること" in html and "封印試験" in html and "安全性" in html
    result_json = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert "scorecard" in json.dumps(result_json)


def test_a_scorecard_error_is_one_line(scored: Any) -> None:
    tmp_path, run_dir, _ = scored
    card = tmp_path / "broken.toml"
    card.write_text('[[parts]]\nid = "x"\ntitle = "x"\nkind = "magic"\nweight = 1\n', encoding="utf-8")
    result = invoke("eval", "report", str(run_dir), "--out", str(tmp_path / "r.html"), "--scorecard", str(card))
    assert result.exit_code == 2 and "broken.toml" in result.output and "Traceback" not in result.output
