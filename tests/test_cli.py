"""The gennai command line, run as a person would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GENNAI = [sys.executable, "-m", "gennai"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GENNAI, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_init_keys_and_models(tmp_path: Path) -> None:
    result = run("init", "--dir", str(tmp_path / "site"))
    assert result.returncode == 0, result.stderr
    config = tmp_path / "site" / "gennai.toml"
    assert config.exists() and (tmp_path / "site" / "data" / "secret.key").stat().st_mode & 0o077 == 0
    assert "gennai keys create" in result.stdout

    original = config.read_text()
    config.write_text(original + "\n# edited by the operator\n")
    assert run("init", "--dir", str(tmp_path / "site")).returncode == 0
    assert config.read_text().endswith("# edited by the operator\n")  # never overwritten

    created = run("keys", "create", "--name", "admin", "--admin", "--config", str(config))
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("gnk_") and len(key) == 44 and key not in created.stderr

    listed = run("keys", "list", "--config", str(config))
    assert key[:10] in listed.stdout and key not in listed.stdout and "active" in listed.stdout

    models = run("models", "--config", str(config))
    assert models.returncode == 0, models.stderr
    assert "smollm2-135m" in models.stdout and "yes" in models.stdout

    revoked = run("keys", "revoke", key[:10], "--config", str(config))
    assert revoked.returncode == 0 and "revoked" in run("keys", "list", "--config", str(config)).stdout


def test_bad_config_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "gennai.toml"
    config.write_text("[server]\nport = 99999\n")
    for command in (["serve"], ["models"], ["keys", "list"]):
        result = run(*command, "--config", str(config))
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) <= 2 and f"{config}:2: server.port" in " ".join(lines)


def test_unreachable_model_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "gennai.toml"
    config.write_text(
        """
[[models]]
id = "remote"
display_name = "遠隔"
provider = "openai"
base_url = "http://127.0.0.1:9/v1"
origin = "domestic"
hosting = "government-cloud"
clearance = 2
timeout_s = 2
"""
    )
    result = run("models", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "remote" in result.stdout and "no" in result.stdout
