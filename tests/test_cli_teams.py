"""`gennai teams …` run as an operator would: create a team, members, admins, quotas,
models and policy; the last-admin rule; one-line errors; every change audited."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import run


def test_team_administration_from_the_command_line(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert run("init", "--dir", str(site)).returncode == 0
    config = str(site / "gennai.toml")
    for name in ("sato", "suzuki"):
        assert run("keys", "create", "--name", f"{name}-key", "--user", name, "--config", config).returncode == 0

    created = run("teams", "create", "soumu", "--display-name", "総務課", "--admin", "sato", "--config", config)
    assert created.returncode == 0, created.stderr
    assert run("teams", "add-member", "soumu", "suzuki", "--config", config).returncode == 0
    members = run("teams", "members", "soumu", "--config", config)
    assert "sato" in members.stdout and "suzuki" in members.stdout

    last = run("teams", "remove-member", "soumu", "sato", "--config", config)
    assert last.returncode == 1 and "最後の管理者" in last.stderr and "Traceback" not in last.stderr
    assert run("teams", "set-admin", "soumu", "suzuki", "--config", config).returncode == 0
    assert run("teams", "remove-member", "soumu", "sato", "--config", config).returncode == 0

    quotas = run("teams", "set-quotas", "soumu", "--rpm", "30", "--budget-yen", "50000", "--config", config)
    assert quotas.returncode == 0 and '"requests_per_minute": 30' in quotas.stdout
    more = run("teams", "set-quotas", "soumu", "--tokens-per-day", "100000", "--config", config)
    assert '"requests_per_minute": 30' in more.stdout and '"tokens_per_day": 100000' in more.stdout

    assert run("teams", "set-models", "soumu", "smollm2-135m", "--config", config).returncode == 0
    unknown = run("teams", "set-models", "soumu", "gpt-9", "--config", config)
    assert unknown.returncode == 1 and "gpt-9" in unknown.stderr

    policy = tmp_path / "policy.toml"
    policy.write_text('terms = ["さくら計画"]\non_not_cleared = "reroute"\n', encoding="utf-8")
    assert run("teams", "set-policy", "soumu", "--file", str(policy), "--config", config).returncode == 0
    broken = tmp_path / "broken.toml"
    broken.write_text('patterns = ["(a+)+"]\n', encoding="utf-8")
    bad = run("teams", "set-policy", "soumu", "--file", str(broken), "--config", config)
    assert bad.returncode == 1 and "patterns" in bad.stderr

    listed = run("teams", "list", "--config", config)
    assert "soumu" in listed.stdout and "common" in listed.stdout
    assert run("teams", "members", "nope", "--config", config).returncode == 1

    verified = run("audit", "verify", "--config", config)
    assert verified.returncode == 0, verified.stdout + verified.stderr
