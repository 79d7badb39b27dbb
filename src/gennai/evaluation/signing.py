"""Signed evaluation results (Ed25519): a result can be checked by anyone holding the
agency's public key, and any change to a score, the config hash or the suite hash shows.

A signed result is ``{"payload": {...}, "signature": {"algorithm": "Ed25519",
"public_key": base64 raw 32 bytes, "key_id": first 16 hex of sha256(raw public key),
"value": base64 signature}}``; the signature is over the canonical JSON of the payload
(sort_keys, separators ``(",", ":")``, ensure_ascii false, no NaN/Infinity, UTF-8).

The embedded public key only says who signed; authenticity comes from comparing it with the
key the agency published, so pass that key to `verify_result`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gennai.evaluation.files import write_new

ALGORITHM = "Ed25519"
RESULT_FORMAT = "gennai-eval-result/1"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class SigningError(Exception):
    """A signing key or payload problem; the message is one line and names the file."""


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of `verify_result`: `ok` when there is no problem."""

    problems: tuple[str, ...]
    key_id: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def canonical_json(value: object) -> bytes:
    """The bytes that are signed: canonical UTF-8 JSON (NaN and Infinity are refused)."""
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise SigningError(f"the payload is not plain JSON: {exc}") from None
    return text.encode("utf-8")


def key_id(public_key: bytes) -> str:
    """A short name for a raw public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_path(path: Path) -> Path:
    """Where `generate_signing_key` puts the public key: the private key's name plus `.pub`."""
    path = Path(path)
    return path.with_name(path.name + ".pub")


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create a key file in one step, never over an existing one."""
    try:
        write_new(path, data, mode)
    except FileExistsError:
        raise SigningError(f"{path}: already exists (refusing to overwrite a key)") from None


def generate_signing_key(path: Path) -> Ed25519PrivateKey:
    """Create a new Ed25519 key: PEM (PKCS#8) private key at `path` (mode 600) and the PEM
    public key at `public_key_path(path)`. Refuses when either file exists."""
    path = Path(path)
    pub_path = public_key_path(path)
    for existing in (path, pub_path):
        if os.path.lexists(existing):
            raise SigningError(f"{existing}: already exists (refusing to overwrite a key)")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_new(path, private_pem, 0o600)
    _write_new(pub_path, public_pem, 0o644)
    return key


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """Read a PEM Ed25519 private key written by `generate_signing_key`."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise SigningError(f"{path}: signing key not found") from None
    except OSError as exc:
        raise SigningError(f"{path}: cannot read the signing key: {exc}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise SigningError(f"{path}: not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> bytes:
    """Read a PEM Ed25519 public key (the `.pub` file) and return its raw 32 bytes."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise SigningError(f"{path}: public key not found") from None
    except OSError as exc:
        raise SigningError(f"{path}: cannot read the public key: {exc}") from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise SigningError(f"{path}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{path}: not an Ed25519 public key")
    return _raw_public(key)


def current_harness_version() -> str:
    """This harness's version: the installed distribution's, else `gennai.__version__`."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gennai")
    except PackageNotFoundError:
        from gennai import __version__

        return __version__


def result_payload(
    harness_version: str,
    config: Mapping[str, Any],
    suite_hash: str,
    scores: Mapping[str, Any],
    *,
    created_at: str | None = None,
) -> dict[str, Any]:
    """The fields a signed result must carry, so that it can be re-scored and compared:

    * ``format``: ``gennai-eval-result/1``;
    * ``harness_version``: the harness that produced it (see `current_harness_version()`);
    * ``config_sha256``: SHA-256 of the canonical JSON of the run config (decoding settings,
      candidates, judges) — the config itself is published beside the result, not in it,
      since it may name private endpoints;
    * ``suite_sha256``: the suite hash (`sealing.canonical_hash`);
    * ``scores``: the scores (plain JSON);
    * ``created_at``: UTC time, ISO 8601 with a ``Z``.
    """
    if not isinstance(suite_hash, str) or not _HEX64.fullmatch(suite_hash):
        raise SigningError(f"suite hash {suite_hash!r} is not a 64-character lowercase hex SHA-256")
    if not harness_version:
        raise SigningError("the harness version is empty")
    payload = {
        "format": RESULT_FORMAT,
        "harness_version": harness_version,
        "config_sha256": hashlib.sha256(canonical_json(dict(config))).hexdigest(),
        "suite_sha256": suite_hash,
        "scores": dict(scores),
        "created_at": created_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    canonical_json(payload)  # refuse scores that are not plain JSON now, not at signing
    return payload


def sign_result(payload: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """Sign the canonical JSON of `payload`; returns ``{"payload", "signature"}``."""
    if not isinstance(payload, dict):
        raise SigningError("a result payload must be a JSON object")
    message = canonical_json(payload)
    public = _raw_public(key.public_key())
    return {
        "payload": payload,
        "signature": {
            "algorithm": ALGORITHM,
            "public_key": base64.b64encode(public).decode("ascii"),
            "key_id": key_id(public),
            "value": base64.b64encode(key.sign(message)).decode("ascii"),
        },
    }


def _b64(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def verify_result(signed: Mapping[str, Any], public_key: bytes | None = None) -> VerifyResult:
    """Check a signed result: the signature must be Ed25519 over the canonical payload, by the
    embedded key, and — when `public_key` (raw 32 bytes) is given — that key must be it."""
    if not isinstance(signed, Mapping):
        return VerifyResult(("not a signed result (expected a JSON object)",))
    payload, signature = signed.get("payload"), signed.get("signature")
    if not isinstance(payload, dict):
        return VerifyResult(("the signed result has no 'payload' object",))
    if not isinstance(signature, Mapping):
        return VerifyResult(("the result is not signed (no 'signature' object)",))
    if signature.get("algorithm") != ALGORITHM:
        return VerifyResult((f"signature algorithm {signature.get('algorithm')!r} is not {ALGORITHM!r}",))
    embedded = _b64(signature.get("public_key"))
    value = _b64(signature.get("value"))
    if embedded is None or len(embedded) != 32:
        return VerifyResult(("the signature's 'public_key' is not a base64 32-byte Ed25519 key",))
    if value is None or len(value) != 64:
        return VerifyResult(("the signature's 'value' is not a base64 64-byte Ed25519 signature",), key_id(embedded))
    problems: list[str] = []
    signer = key_id(embedded)
    if signature.get("key_id") != signer:
        problems.append(f"the signature's key_id {signature.get('key_id')!r} does not name its public key ({signer})")
    if public_key is not None and bytes(public_key) != embedded:
        problems.append(f"signed by key {signer}, not by the expected key {key_id(bytes(public_key))}")
    try:
        message = canonical_json(payload)
        Ed25519PublicKey.from_public_bytes(embedded).verify(value, message)
    except SigningError as exc:
        problems.append(str(exc))
    except (InvalidSignature, ValueError):
        problems.append(f"the signature by key {signer} does not match the payload (the payload was changed)")
    problems.extend(_unsigned_copies_differ(signed, payload))
    return VerifyResult(tuple(problems), signer)


def _unsigned_copies_differ(signed: Mapping[str, Any], payload: Mapping[str, Any]) -> list[str]:
    """A report's JSON shows the signed figures again outside `payload` (what people read):
    each such copy must be the signed one, or the result does not verify."""
    problems: list[str] = []
    scores = payload.get("scores")
    scores = scores if isinstance(scores, Mapping) else {}
    suite = signed.get("suite")
    copies: list[tuple[str, object, object]] = [
        ("harness_version", signed.get("harness_version", payload.get("harness_version")), payload.get("harness_version")),
        ("suite.suite_sha256", (suite.get("suite_sha256", payload.get("suite_sha256")) if isinstance(suite, Mapping)
                                else payload.get("suite_sha256")), payload.get("suite_sha256")),
    ]
    for key in ("leaderboard", "scorecard"):
        if key in signed or key in scores:
            copies.append((key, signed.get(key), scores.get(key)))
    if "candidates" in signed or "candidates" in scores:
        shown, signed_candidates = signed.get("candidates"), scores.get("candidates")
        shown = shown if isinstance(shown, Mapping) else {}
        signed_candidates = signed_candidates if isinstance(signed_candidates, Mapping) else {}
        for name in sorted({*map(str, shown), *map(str, signed_candidates)}):
            entry, truth = shown.get(name), signed_candidates.get(name)
            for part in ("overall", "categories"):
                copies.append((
                    f"candidates.{name}.{part}",
                    entry.get(part) if isinstance(entry, Mapping) else None,
                    truth.get(part) if isinstance(truth, Mapping) else None,
                ))
    for where, copy, truth in copies:
        if copy != truth:
            problems.append(f"'{where}' outside the payload differs from the signed value (changed after signing)")
    return problems
