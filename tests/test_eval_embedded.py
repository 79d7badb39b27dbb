"""The whole lifecycle from the CLI on a shipped sample suite against the embedded model (a
real llama.cpp generation, no network): seal → run → score → report → reveal → verify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gennai.cli import app

pytestmark = pytest.mark.slow
RUNNER = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    result = RUNNER.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_sample_suite_against_the_embedded_model(tmp_path: Path) -> None:
    invoke("init", "--dir", str(tmp_path / "site"))
    config = tmp_path / "site" / "gennai.toml"
    suite, sealed, key, run_dir = tmp_path / "law.jsonl", tmp_path / "sealed", tmp_path / "law.key", tmp_path / "run"
    invoke("eval", "samples", "law_reading", "--out", str(suite))
    suite.write_text("".join(suite.read_text(encoding="utf-8").splitlines(keepends=True)[:3]), encoding="utf-8")  # 3 items: quick
    eval_toml = tmp_path / "eval.toml"
    eval_toml.write_text(f'gennai_config = "{config}"\n[decoding]\nmax_tokens = 8\n[run]\nconcurrency = 1\n', encoding="utf-8")

    invoke("eval", "seal", str(suite), "--out", str(sealed), "--key-out", str(key))
    invoke("eval", "run", str(sealed), "--key", str(key), "--models", "smollm2-135m", "--out", str(run_dir), "--config", str(eval_toml))
    invoke("eval", "score", str(run_dir), "--config", str(eval_toml))
    scores = json.loads((run_dir / "scores.json").read_text(encoding="utf-8"))
    result = scores["candidates"]["smollm2-135m"]
    items = len(suite.read_text(encoding="utf-8").splitlines())
    assert result["operations"]["answered"] == items  # a real answer to every item
    assert result["operations"]["ttft_p50_ms"] is not None and result["operations"]["tokens_out"] > 0
    assert 0.0 <= result["overall"]["mean"] <= 1.0 and result["overall"]["n"] == items

    invoke("eval", "report", str(run_dir), "--out", str(tmp_path / "public.html"), "--public")
    revealed = tmp_path / "revealed.jsonl"
    invoke("eval", "reveal", str(sealed), "--key", str(key), "--out", str(revealed))
    assert "ok" in invoke("eval", "verify", str(sealed), str(revealed)).output
