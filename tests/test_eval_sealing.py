"""The sealed-test lifecycle: seal, open, reveal, verify (src/gennai/evaluation/sealing.py)."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from gennai.evaluation.sealing import (
    MANIFEST_NAME,
    OPENINGS_NAME,
    SEALED_NAME,
    SealError,
    canonical_hash,
    merkle_root,
    open_sealed,
    reveal,
    seal,
    verify,
)

Sealed = tuple[Path, Path, list[tuple[int, dict[str, Any]]]]  # (sealed folder, key file, records)
WRONG_KEY = "the key does not open this sealed suite (wrong key or the file was changed)"


def _records(count: int = 5) -> list[tuple[int, dict[str, Any]]]:
    items = [
        {
            "id": f"q{i:02d}",
            "category": "行政文書",
            "scoring": "judge",
            "input": f"住民票の写しの交付手続きについて説明してください（設問{i}番、秘密の文言ZX{i}Q）",
            "eval_aspect": f"手数料と本人確認に触れること {i}",
        }
        for i in range(1, count + 1)
    ]
    return [(line, obj) for line, obj in enumerate(items, start=1)]


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(n, json.loads(text)) for n, text in enumerate(lines, start=1) if text.strip()]


@pytest.fixture()
def sealed(tmp_path: Path) -> Sealed:
    records = _records()
    out_dir, key = tmp_path / "sealed", tmp_path / "secret" / "suite.key"
    seal(records, out_dir, key, "gov-test-2026")
    return out_dir, key, records


def _independent_root(commitments: list[str]) -> str:
    """The module docstring's definition, written again without the library."""
    nodes = [hashlib.sha256(b"\x00" + bytes.fromhex(c)).digest() for c in commitments]
    while len(nodes) > 1:
        nxt = []
        for i in range(0, len(nodes), 2):
            if i + 1 < len(nodes):
                nxt.append(hashlib.sha256(b"\x01" + nodes[i] + nodes[i + 1]).digest())
            else:
                nxt.append(nodes[i])
        nodes = nxt
    return nodes[0].hex()


def test_round_trip(sealed: Sealed) -> None:
    out_dir, key, records = sealed
    suite = open_sealed(out_dir, key)
    assert list(suite.records) == [obj for _, obj in records]
    assert [o.id for o in suite.openings] == [obj["id"] for _, obj in records]
    assert suite.raw_records() == records
    assert suite.manifest.item_count == len(records)
    assert suite.manifest.canary.startswith("GENNAI-CANARY-")
    assert "ZX1Q" not in repr(suite)


def test_key_outside_and_no_plaintext_in_out_dir(sealed: Sealed) -> None:
    out_dir, key, records = sealed
    assert sorted(p.name for p in out_dir.iterdir()) == [MANIFEST_NAME, SEALED_NAME]
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    key_line = [line for line in key.read_text().splitlines() if not line.startswith("#")][0]
    blobs = [p.read_bytes() for p in out_dir.rglob("*") if p.is_file()]
    for blob in blobs:
        assert key_line.encode() not in blob
        for _, obj in records:
            for text in (obj["input"], obj["eval_aspect"], obj["input"][:12]):
                assert text.encode("utf-8") not in blob
                assert json.dumps(text).encode() not in blob  # nor \u-escaped
            assert f'"{obj["id"]}"'.encode() not in blob
    manifest = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert set(manifest) == {
        "format", "suite_name", "item_count", "commitments", "merkle_root", "algorithms",
        "sealed_sha256", "created_at", "canary",
    }
    assert manifest["sealed_sha256"] == hashlib.sha256((out_dir / SEALED_NAME).read_bytes()).hexdigest()


def test_seal_refusals(tmp_path: Path) -> None:
    records = _records(2)
    with pytest.raises(SealError, match="must not be inside the sealed folder"):
        seal(records, tmp_path / "d", tmp_path / "d" / "k.key", "s")
    key = tmp_path / "k.key"
    key.write_text("something else")
    with pytest.raises(SealError, match="already exists"):
        seal(records, tmp_path / "d2", key, "s")
    assert key.read_text() == "something else"
    seal(records, tmp_path / "d3", tmp_path / "k3.key", "s")
    with pytest.raises(SealError, match="already holds a sealed suite"):
        seal(records, tmp_path / "d3", tmp_path / "k4.key", "s")
    with pytest.raises(SealError, match="appears again"):
        seal([(1, {"id": "a"}), (2, {"id": "a"})], tmp_path / "d5", tmp_path / "k5.key", "s")


def test_wrong_key_is_detected(sealed: Sealed, tmp_path: Path) -> None:
    out_dir, _, records = sealed
    seal(records, tmp_path / "other", tmp_path / "other.key", "gov-test-2026")
    with pytest.raises(SealError) as caught:
        open_sealed(out_dir, tmp_path / "other.key")
    assert str(caught.value) == f"{out_dir / SEALED_NAME}: {WRONG_KEY}"
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("offset", [0, 20, -1])
def test_flipped_byte_is_detected(sealed: Sealed, offset: int) -> None:
    out_dir, key, _ = sealed
    path = out_dir / SEALED_NAME
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(SealError, match=WRONG_KEY.replace("(", r"\(").replace(")", r"\)")):
        open_sealed(out_dir, key)


def test_reveal_then_verify(sealed: Sealed, tmp_path: Path) -> None:
    out_dir, key, records = sealed
    suite_out = tmp_path / "revealed.jsonl"
    openings_path = reveal(out_dir, key, suite_out)
    assert openings_path == out_dir / OPENINGS_NAME
    revealed = _read_jsonl(suite_out)
    assert revealed == records
    assert canonical_hash(revealed) == hashlib.sha256(suite_out.read_bytes()).hexdigest()
    manifest = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    report = verify(out_dir, revealed, published_root=manifest["merkle_root"])
    assert report.ok, report.problems
    assert report.matched == len(records)
    # The same check with the key instead of openings.json.
    (out_dir / OPENINGS_NAME).unlink()
    assert verify(out_dir, revealed, openings=open_sealed(out_dir, key).openings).ok
    # A second reveal writes the same bytes and is harmless.
    reveal(out_dir, key, suite_out)


def test_changed_item_is_named_with_its_line(sealed: Sealed, tmp_path: Path) -> None:
    out_dir, key, _ = sealed
    suite_out = tmp_path / "revealed.jsonl"
    reveal(out_dir, key, suite_out)
    revealed = _read_jsonl(suite_out)
    revealed[2][1]["input"] += "。"  # q03 on line 3
    report = verify(out_dir, revealed)
    assert not report.ok
    assert report.differing == (("q03", 3),)
    assert report.problems == ("line 3: item 'q03' does not match its commitment (position 3)",)


def test_missing_and_extra_items_are_named(sealed: Sealed, tmp_path: Path) -> None:
    out_dir, key, _ = sealed
    suite_out = tmp_path / "revealed.jsonl"
    reveal(out_dir, key, suite_out)
    revealed = _read_jsonl(suite_out)
    revealed = [r for r in revealed if r[1]["id"] != "q02"] + [(9, {"id": "q99", "input": "追加"})]
    report = verify(out_dir, revealed)
    assert report.missing == ("q02",)
    assert report.extra == (("q99", 9),)
    assert any("'q02'" in p and "missing" in p for p in report.problems)
    assert any(p == "line 9: item 'q99' is not in the manifest" for p in report.problems)
    assert report.differing == ()


def test_edited_commitments_fail_the_root_check(sealed: Sealed, tmp_path: Path) -> None:
    out_dir, key, _ = sealed
    suite_out = tmp_path / "revealed.jsonl"
    reveal(out_dir, key, suite_out)
    path = out_dir / MANIFEST_NAME
    manifest = json.loads(path.read_text(encoding="utf-8"))
    original_root = manifest["merkle_root"]
    manifest["commitments"][1] = hashlib.sha256(b"forged").hexdigest()
    path.write_text(json.dumps(manifest), encoding="utf-8")
    report = verify(out_dir, _read_jsonl(suite_out))
    assert not report.ok
    assert report.recomputed_root != original_root
    assert any("is not the root of its commitments" in p for p in report.problems)
    assert report.differing == (("q02", 2),)
    with pytest.raises(SealError, match="commitment 2 does not match"):
        open_sealed(out_dir, key)


def test_published_root_mismatch(sealed: Sealed, tmp_path: Path) -> None:
    out_dir, key, _ = sealed
    suite_out = tmp_path / "revealed.jsonl"
    reveal(out_dir, key, suite_out)
    report = verify(out_dir, _read_jsonl(suite_out), published_root="ab" * 32)
    assert not report.ok
    assert len(report.problems) == 1
    assert "is not the published root " + "ab" * 32 in report.problems[0]


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13])
def test_merkle_root_is_independently_recomputable(tmp_path: Path, count: int) -> None:
    manifest = seal(_records(count), tmp_path / "d", tmp_path / "k.key", "s")
    on_disk = json.loads((tmp_path / "d" / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert _independent_root(on_disk["commitments"]) == on_disk["merkle_root"] == manifest.merkle_root
    assert merkle_root(on_disk["commitments"]) == manifest.merkle_root
