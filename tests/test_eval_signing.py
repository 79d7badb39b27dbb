"""Signed evaluation results (src/gennai/evaluation/signing.py)."""

from __future__ import annotations

import copy
import hashlib
import json
import stat
from pathlib import Path

import pytest

from gennai.evaluation.signing import (
    SigningError,
    current_harness_version,
    generate_signing_key,
    key_id,
    load_public_key,
    load_signing_key,
    public_key_path,
    result_payload,
    sign_result,
    verify_result,
)

SUITE_HASH = hashlib.sha256(b"suite").hexdigest()


def _payload() -> dict[str, object]:
    return result_payload(
        current_harness_version(),
        {"temperature": 0.0, "max_tokens": 1024, "candidates": ["a", "b"]},
        SUITE_HASH,
        {"candidate-a": {"sealed": 3.9, "safety": 0.92}, "candidate-b": {"sealed": 3.1, "safety": 0.88}},
        created_at="2026-03-01T00:00:00Z",
    )


def test_key_files(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing.pem"
    key = generate_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_key_path(path).read_text().startswith("-----BEGIN PUBLIC KEY-----")
    loaded = load_signing_key(path)
    assert load_public_key(public_key_path(path)) == load_public_key(public_key_path(path))
    assert loaded.sign(b"x") == key.sign(b"x")  # Ed25519 is deterministic
    with pytest.raises(SigningError, match="already exists"):
        generate_signing_key(path)
    with pytest.raises(SigningError, match="not found"):
        load_signing_key(tmp_path / "missing.pem")


def test_payload_fields() -> None:
    payload = _payload()
    config = {"temperature": 0.0, "max_tokens": 1024, "candidates": ["a", "b"]}
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert payload["config_sha256"] == hashlib.sha256(canonical).hexdigest()
    assert payload["suite_sha256"] == SUITE_HASH
    assert payload["harness_version"]
    with pytest.raises(SigningError, match="suite hash"):
        result_payload("0.1.0", {}, "nothex", {})
    with pytest.raises(SigningError, match="not plain JSON"):
        result_payload("0.1.0", {}, SUITE_HASH, {"a": float("nan")})


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    key = generate_signing_key(path)
    signed = json.loads(json.dumps(sign_result(_payload(), key)))  # through a file and back
    public = load_public_key(public_key_path(path))
    assert signed["signature"]["key_id"] == key_id(public)
    result = verify_result(signed, public)
    assert result.ok, result.problems
    assert result.key_id == key_id(public)


def test_tampered_score_is_detected(tmp_path: Path) -> None:
    key = generate_signing_key(tmp_path / "signing.pem")
    signed = sign_result(_payload(), key)
    tampered = copy.deepcopy(signed)
    tampered["payload"]["scores"]["candidate-b"]["sealed"] = 3.2
    result = verify_result(tampered)
    assert not result.ok
    assert "does not match the payload" in result.problems[0]
    tampered = copy.deepcopy(signed)
    tampered["payload"]["config_sha256"] = "0" * 64
    assert not verify_result(tampered).ok


def test_other_key_is_detected(tmp_path: Path) -> None:
    agency = generate_signing_key(tmp_path / "agency.pem")
    other = generate_signing_key(tmp_path / "other.pem")
    agency_public = load_public_key(public_key_path(tmp_path / "agency.pem"))
    signed_by_other = sign_result(_payload(), other)
    assert verify_result(signed_by_other).ok  # consistent on its own ...
    result = verify_result(signed_by_other, agency_public)  # ... but not the agency's key
    assert not result.ok
    assert result.problems == (f"signed by key {key_id(load_public_key(public_key_path(tmp_path / 'other.pem')))}, "
                               f"not by the expected key {key_id(agency_public)}",)
    # A signature value swapped in from another key's signing does not verify either.
    signed = sign_result(_payload(), agency)
    signed["signature"]["value"] = signed_by_other["signature"]["value"]
    assert not verify_result(signed, agency_public).ok


def test_missing_or_malformed_signature() -> None:
    assert verify_result({"payload": _payload()}).problems == ("the result is not signed (no 'signature' object)",)
    assert not verify_result({"signature": {}}).ok
    bad = {"payload": _payload(), "signature": {"algorithm": "RSA", "public_key": "", "value": ""}}
    assert "is not 'Ed25519'" in verify_result(bad).problems[0]
