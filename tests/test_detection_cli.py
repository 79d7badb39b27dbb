"""`gennai classify` as a subprocess: text, JSONL (auto and --jsonl), custom rules, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "gennai", "classify", *args], input=stdin, capture_output=True, timeout=120)


def records(out: bytes) -> list[dict]:
    return [json.loads(line) for line in out.decode("utf-8").splitlines()]


def test_plain_text_file(tmp_path: Path) -> None:
    path = tmp_path / "memo.txt"
    text = "【取扱注意】\n山田太郎さんの携帯は０９０－１２３４－５６７８です。\n"
    path.write_text(text, encoding="utf-8")
    result = run(str(path))
    assert result.returncode == 0, result.stderr
    (record,) = records(result.stdout)
    assert record["id"] == str(path)
    assert record["class"] == 2
    assert {(e["type"], text[e["start"] : e["end"]]) for e in record["entities"]} == {
        ("PERSON", "山田太郎"),
        ("PHONE", "０９０－１２３４－５６７８"),
    }
    assert record["markings"] == [{"label": "取扱注意", "start": 1, "end": 5, "class": 2}]
    assert record["reasons"]
    assert set(record) == {"id", "class", "entities", "markings", "reasons"}
    assert "1234" not in result.stdout.decode() and "山田" not in result.stdout.decode()


def test_stdin_plain_text_has_null_id() -> None:
    result = run("-", stdin="極秘".encode())
    assert result.returncode == 0
    assert records(result.stdout) == [
        {"id": None, "class": 3, "entities": [], "markings": [{"label": "極秘", "start": 0, "end": 2, "class": 3}], "reasons": records(result.stdout)[0]["reasons"]}
    ]


def test_jsonl_auto_detected(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    lines = [{"id": "a", "text": "本日は晴天なり。"}, {"id": 2, "text": "個人番号 123456789018"}]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n", encoding="utf-8")
    result = run(str(path))
    assert result.returncode == 0, result.stderr
    out = records(result.stdout)
    assert [(r["id"], r["class"]) for r in out] == [("a", 1), (2, 2)]
    assert out[1]["entities"] == [{"type": "MY_NUMBER", "start": 5, "end": 17}]


def test_json_lines_without_text_are_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_text('{"id": 1}\n', encoding="utf-8")
    out = records(run(str(path)).stdout)
    assert len(out) == 1 and out[0]["id"] == str(path)


def test_jsonl_flag_reports_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "text": "a"}\n{not json\n', encoding="utf-8")
    result = run("--jsonl", str(path))
    assert result.returncode == 2
    err = result.stderr.decode()
    assert f"{path}:2:" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_jsonl_flag_requires_text(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "body": "a"}\n', encoding="utf-8")
    result = run("--jsonl", str(path))
    assert result.returncode == 2
    assert f"{path}:1:" in result.stderr.decode()


def test_missing_file() -> None:
    result = run("/nonexistent/file.txt")
    assert result.returncode == 2
    assert "no such file" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "sjis.txt"
    path.write_bytes("機密性２情報".encode("shift_jis"))
    result = run(str(path))
    assert result.returncode == 2
    assert "not UTF-8" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


def test_custom_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('terms = ["プロジェクト青嵐"]\n[[patterns]]\npattern = "PRJ-[0-9]{4}"\nclass = 3\n', encoding="utf-8")
    result = run("--rules", str(rules), "-", stdin="ﾌﾟﾛｼﾞｪｸﾄ青嵐 と ＰＲＪ－１２３４".encode())
    assert result.returncode == 0, result.stderr
    (record,) = records(result.stdout)
    assert record["class"] == 3
    assert [e["type"] for e in record["entities"]] == ["CUSTOM", "CUSTOM"]
