"""Configuration: the default file, validation messages with file and line, env overrides."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from gennai.config import ConfigError, load_config

TEMPLATE = files("gennai").joinpath("templates/gennai.toml").read_text(encoding="utf-8")

MODEL = """
[[models]]
id = "{id}"
display_name = "モデル"
provider = "openai"
base_url = "http://127.0.0.1:9/v1"
origin = "domestic"
hosting = "government-cloud"
clearance = {clearance}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gennai.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=environ or {})
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_default_template_is_valid(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, TEMPLATE), environ={})
    (model,) = loaded.config.models
    assert model.provider == "llamacpp" and model.clearance == 2
    assert loaded.database_url == f"sqlite:///{tmp_path / 'data' / 'gennai.db'}"
    assert loaded.data_dir == tmp_path / "data"


def test_missing_file(tmp_path: Path) -> None:
    assert "not found" in error_of(tmp_path / "nope.toml")


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 80\nhost = \n")
    message = error_of(path)
    assert str(path) in message and "line 3" in message


def test_bad_value_names_file_line_and_key(tmp_path: Path) -> None:
    text = MODEL.format(id="a", clearance=2) + MODEL.format(id="b", clearance=7)
    path = write(tmp_path, text)
    message = error_of(path)
    bad_line = text.splitlines().index("clearance = 7") + 1
    assert message.startswith(f"{path}:{bad_line}: models[1].clearance:")


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nprot = 80\n")
    assert error_of(path).startswith(f"{path}:2: server.prot: Extra inputs are not permitted")


def test_secrets_in_the_file_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, MODEL.format(id="a", clearance=2) + 'api_key = "sk-123"\n')
    message = error_of(path)
    assert "models[0].api_key" in message and "api_key_env" in message and "sk-123" not in message


def test_cross_field_rules(tmp_path: Path) -> None:
    overseas = MODEL.format(id="a", clearance=2).replace("government-cloud", "overseas")
    assert "機密性1" in error_of(write(tmp_path, overseas))
    dup = MODEL.format(id="a", clearance=2) * 2
    assert "appears twice" in error_of(write(tmp_path, dup))
    fallback = MODEL.format(id="a", clearance=2) + 'fallback = ["ghost"]\n'
    assert "unknown model 'ghost'" in error_of(write(tmp_path, fallback))
    no_url = MODEL.format(id="a", clearance=2).replace('base_url = "http://127.0.0.1:9/v1"\n', "")
    assert "base_url" in error_of(write(tmp_path, no_url))
    secret3 = MODEL.format(id="a", clearance=3).replace("government-cloud", "domestic-region")
    assert "機密性3" in error_of(write(tmp_path, secret3))
    rule = MODEL.format(id="a", clearance=2) + '[[policy.rules]]\nname = "r"\nmodels = ["ghost"]\n'
    message = error_of(write(tmp_path, rule))
    assert "unknown model 'ghost'" in message
    assert "auto" in error_of(write(tmp_path, MODEL.format(id="auto", clearance=2)))
    bad_pattern = MODEL.format(id="a", clearance=2) + '[policy]\npatterns = ["PRJ-[0-9"]\n'
    assert "not a valid regular expression" in error_of(write(tmp_path, bad_pattern))
    embedded = TEMPLATE.replace("max_concurrency = 1", "max_concurrency = 4")
    assert "one answer at a time" in error_of(write(tmp_path, embedded))


def test_environment_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, TEMPLATE)
    loaded = load_config(path, environ={"GENNAI_SERVER__PORT": "9001", "GENNAI_DATABASE__URL": "postgresql+psycopg://db/x"})
    assert loaded.config.server.port == 9001
    assert loaded.database_url == "postgresql+psycopg://db/x"
    message = error_of(path, {"GENNAI_SERVER__PORT": "not-a-port"})
    assert message.startswith("GENNAI_SERVER__PORT (environment): server.port:")
