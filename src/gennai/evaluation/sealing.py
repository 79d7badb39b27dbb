"""The sealed-test lifecycle: seal a suite before test day, open it with the released key,
reveal it after the test, and let anyone verify the revealed suite against what was
published beforehand.

Why: the agency's own test must stay secret until test day (so that nobody can tune for
it), yet afterwards everyone must be able to check that the questions asked are exactly the
questions committed to before the call closed. Commitments are salted so that publishing
them leaks nothing, not even for short or guessable items.

Definitions (anyone can recompute them with the standard library):

* canonical bytes of a record: ``json.dumps(obj, ensure_ascii=False, sort_keys=True,
  separators=(",", ":")).encode("utf-8")``;
* commitment of item i: ``sha256(salt_i || canonical_i).hexdigest()`` with a random
  32-byte ``salt_i``;
* Merkle root over the commitments in suite order: leaves are
  ``sha256(b"\\x00" + bytes.fromhex(commitment))``; each level pairs nodes left to right
  into ``sha256(b"\\x01" + left + right)``; an odd last node is promoted to the next level
  unchanged; the root is the hex digest of the single node left (one item: its leaf)::

      import hashlib
      def merkle_root(commitments):
          level = [hashlib.sha256(b"\\x00" + bytes.fromhex(c)).digest() for c in commitments]
          while len(level) > 1:
              pairs = [hashlib.sha256(b"\\x01" + level[i] + level[i + 1]).digest()
                       for i in range(0, len(level) - 1, 2)]
              level = pairs + ([level[-1]] if len(level) % 2 else [])
          return level[0].hex()

Files of a sealed directory:

* ``manifest.json`` (public before the test): format, suite_name, item_count, commitments,
  merkle_root, algorithms, sealed_sha256, created_at, canary. No item text, ids or
  categories: ids alone can leak content.
* ``suite.sealed``: 12-byte nonce followed by the AES-256-GCM ciphertext (with its 16-byte
  tag) of the canonical JSON of ``{"records": [...], "salts": [hex, ...]}``; the associated
  data is the canonical JSON of ``{"format", "merkle_root", "suite_name"}`` so that the
  ciphertext cannot be passed off under another manifest.
* ``openings.json`` (written by `reveal`, public after the test): the ids and salts in suite
  order, enough to verify the revealed suite without the key.

The key file is kept outside the directory until test day (`seal` refuses otherwise).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gennai.evaluation.files import write_atomic, write_new

FORMAT = "gennai-sealed-suite/1"
OPENINGS_FORMAT = "gennai-suite-openings/1"
MANIFEST_NAME = "manifest.json"
SEALED_NAME = "suite.sealed"
OPENINGS_NAME = "openings.json"
SALT_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
ALGORITHMS: dict[str, str] = {
    "canonical": "json sort_keys, separators (',', ':'), ensure_ascii false, UTF-8",
    "commitment": "SHA-256(salt32 || canonical record)",
    "merkle": "SHA-256; leaf 0x00||commitment; node 0x01||left||right; odd node promoted",
    "cipher": "AES-256-GCM; 96-bit nonce; AAD canonical {format, merkle_root, suite_name}",
}

RawRecords = Sequence[tuple[int, dict[str, Any]]]
_HEX64 = re.compile(r"[0-9a-f]{64}")


class SealError(Exception):
    """A sealing step refused or failed; the message is one line and names the file."""


# -- definitions ---------------------------------------------------------------------------


def canonical_bytes(obj: dict[str, Any]) -> bytes:
    """The canonical UTF-8 JSON of one record (what commitments and hashes are taken over)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def commitment(salt: bytes, obj: dict[str, Any]) -> str:
    """SHA-256(salt || canonical bytes) as hex: hides the record until its salt is opened."""
    return hashlib.sha256(salt + canonical_bytes(obj)).hexdigest()


def merkle_root(commitments: Sequence[str]) -> str:
    """The Merkle root (hex) over hex commitments in order, as defined in the module docstring."""
    if not commitments:
        raise ValueError("a Merkle root needs at least one commitment")
    level = [hashlib.sha256(b"\x00" + bytes.fromhex(c)).digest() for c in commitments]
    while len(level) > 1:
        pairs = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        level = pairs + ([level[-1]] if len(level) % 2 else [])
    return level[0].hex()


def canonical_hash(records: RawRecords) -> str:
    """The suite hash that signed results name: SHA-256 over the canonical lines, each ending
    in a newline, in order. Equals `sha256sum` of the file `reveal` writes."""
    digest = hashlib.sha256()
    for _, obj in records:
        digest.update(canonical_bytes(obj) + b"\n")
    return digest.hexdigest()


def _is_hex64(value: object) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def _aad(format_: str, suite_name: str, root: str) -> bytes:
    fields = {"format": format_, "merkle_root": root, "suite_name": suite_name}
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


# -- data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    """The public description of a sealed suite (`manifest.json`)."""

    suite_name: str
    item_count: int
    commitments: tuple[str, ...]
    merkle_root: str
    sealed_sha256: str
    created_at: str
    canary: str
    format: str = FORMAT
    algorithms: dict[str, str] = field(default_factory=lambda: dict(ALGORITHMS), hash=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "suite_name": self.suite_name,
            "item_count": self.item_count,
            "commitments": list(self.commitments),
            "merkle_root": self.merkle_root,
            "algorithms": dict(self.algorithms),
            "sealed_sha256": self.sealed_sha256,
            "created_at": self.created_at,
            "canary": self.canary,
        }

    @classmethod
    def from_json(cls, data: object, where: str) -> Manifest:
        """Parse and check a manifest; `where` names the file in errors."""
        if not isinstance(data, dict):
            raise SealError(f"{where}: not a sealed-suite manifest (expected a JSON object)")
        if data.get("format") != FORMAT:
            raise SealError(f"{where}: unknown manifest format {data.get('format')!r} (expected {FORMAT!r})")
        for name in ("suite_name", "merkle_root", "sealed_sha256", "created_at", "canary"):
            if not isinstance(data.get(name), str):
                raise SealError(f"{where}: field {name!r} is missing or not a string")
        commitments = data.get("commitments")
        if not isinstance(commitments, list) or not all(_is_hex64(c) for c in commitments):
            raise SealError(f"{where}: 'commitments' must be a list of 64-character lowercase hex digests")
        count = data.get("item_count")
        if not isinstance(count, int) or isinstance(count, bool) or count != len(commitments) or count < 1:
            raise SealError(f"{where}: 'item_count' {count!r} does not match the {len(commitments)} commitments")
        algorithms = data.get("algorithms", {})
        if not isinstance(algorithms, dict):
            raise SealError(f"{where}: 'algorithms' must be an object")
        return cls(
            suite_name=data["suite_name"],
            item_count=count,
            commitments=tuple(commitments),
            merkle_root=data["merkle_root"],
            sealed_sha256=data["sealed_sha256"],
            created_at=data["created_at"],
            canary=data["canary"],
            format=data["format"],
            algorithms={str(k): str(v) for k, v in algorithms.items()},
        )


@dataclass(frozen=True)
class Opening:
    """What opens one commitment: the item's id and its salt."""

    id: str
    salt: bytes = field(repr=False)


@dataclass(frozen=True)
class SealedSuite:
    """A suite opened in memory with its key; nothing of it is written anywhere.

    `records` and `salts` are left out of the repr so that a stray log line does not leak the
    test.
    """

    manifest: Manifest
    records: tuple[dict[str, Any], ...] = field(repr=False)
    salts: tuple[bytes, ...] = field(repr=False)

    @property
    def openings(self) -> tuple[Opening, ...]:
        """Ids and salts in order, for `verify(..., openings=...)`."""
        return tuple(Opening(str(r["id"]), s) for r, s in zip(self.records, self.salts, strict=True))

    def raw_records(self) -> list[tuple[int, dict[str, Any]]]:
        """The records as (line, object) pairs, numbered as in the file `reveal` writes."""
        return [(i + 1, r) for i, r in enumerate(self.records)]


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of `verify`: `ok` when there is no problem; `problems` are one-line texts."""

    problems: tuple[str, ...]
    item_count: int
    matched: int
    recomputed_root: str
    differing: tuple[tuple[str, int], ...] = ()  # (id, line in the revealed file)
    missing: tuple[str, ...] = ()
    extra: tuple[tuple[str, int], ...] = ()  # (id, line in the revealed file)

    @property
    def ok(self) -> bool:
        return not self.problems


# -- files ---------------------------------------------------------------------------------


def _key_text(key: bytes, suite_name: str, root: str) -> bytes:
    return (
        "# gennai sealed-suite key (AES-256-GCM, base64). Secret until test day; never keep it in the sealed folder.\n"
        f"# suite: {suite_name}  merkle_root: {root}\n"
        f"{base64.b64encode(key).decode('ascii')}\n"
    ).encode("utf-8")


def load_key(key_path: Path) -> bytes:
    """Read a key file written by `seal` (comment lines start with '#')."""
    try:
        text = Path(key_path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SealError(f"{key_path}: key file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SealError(f"{key_path}: cannot read the key file: {exc}") from None
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    try:
        key = base64.b64decode(lines[0], validate=True) if len(lines) == 1 else b""
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise SealError(f"{key_path}: not a sealed-suite key (expected one base64 line of {KEY_BYTES} bytes)")
    return key


def load_manifest(directory: Path) -> Manifest:
    """Read and check `directory/manifest.json`."""
    path = Path(directory) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SealError(f"{path}: no manifest (is this a sealed suite folder?)") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SealError(f"{path}: cannot read the manifest: {exc}") from None
    return Manifest.from_json(data, str(path))


def load_openings(directory: Path, manifest: Manifest | None = None) -> tuple[Opening, ...]:
    """Read `directory/openings.json` (written by `reveal`)."""
    path = Path(directory) / OPENINGS_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SealError(f"{path}: no openings (run reveal first, or pass openings from the opened suite)") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SealError(f"{path}: cannot read the openings: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != OPENINGS_FORMAT or not isinstance(data.get("items"), list):
        raise SealError(f"{path}: not a suite openings file (expected format {OPENINGS_FORMAT!r} with 'items')")
    if manifest is not None and data.get("merkle_root") != manifest.merkle_root:
        raise SealError(f"{path}: the openings are for root {data.get('merkle_root')!r}, not the manifest's")
    openings = []
    for position, entry in enumerate(data["items"], start=1):
        try:
            ident, salt = entry["id"], bytes.fromhex(entry["salt"])
        except (TypeError, KeyError, ValueError):
            raise SealError(f"{path}: item {position} needs a string 'id' and a hex 'salt'") from None
        if not isinstance(ident, str) or len(salt) != SALT_BYTES:
            raise SealError(f"{path}: item {position} needs a string 'id' and a {SALT_BYTES}-byte hex 'salt'")
        openings.append(Opening(ident, salt))
    return tuple(openings)


# -- lifecycle -----------------------------------------------------------------------------


def _check_records(records: RawRecords) -> None:
    if not records:
        raise SealError("cannot seal an empty suite")
    first_line: dict[str, int] = {}
    for line, obj in records:
        ident = obj.get("id") if isinstance(obj, dict) else None
        if not isinstance(ident, str):
            raise SealError(f"line {line}: a record needs a string 'id' to be sealed")
        if ident in first_line:
            raise SealError(f"line {line}: id {ident!r} appears again (first on line {first_line[ident]})")
        first_line[ident] = line


def seal(records: RawRecords, out_dir: Path, key_out: Path, suite_name: str) -> Manifest:
    """Seal validated raw records into `out_dir` (manifest.json, suite.sealed) with a new
    random key written to `key_out` (mode 600).

    Refuses when `key_out` exists or lies inside `out_dir`, and when `out_dir` already holds
    a sealed suite. The key is written before the manifest, so a folder with a manifest
    always has a key somewhere.
    """
    out_dir, key_out = Path(out_dir), Path(key_out)
    if not suite_name or any(ch in suite_name for ch in "\r\n\t\x00") or suite_name != suite_name.strip():
        raise SealError(f"suite name {suite_name!r} must be one non-empty line without surrounding spaces")
    _check_records(records)
    resolved_dir, resolved_key = out_dir.resolve(), key_out.resolve()
    if resolved_key == resolved_dir or resolved_dir in resolved_key.parents:
        raise SealError(f"{key_out}: the key must not be inside the sealed folder {out_dir}")
    if os.path.lexists(key_out):
        raise SealError(f"{key_out}: a key file already exists there (refusing to overwrite it)")
    for name in (MANIFEST_NAME, SEALED_NAME):
        if os.path.lexists(out_dir / name):
            raise SealError(f"{out_dir / name}: the folder already holds a sealed suite")

    objects = [obj for _, obj in records]
    salts = [os.urandom(SALT_BYTES) for _ in objects]
    commitments = tuple(commitment(s, o) for s, o in zip(salts, objects, strict=True))
    root = merkle_root(commitments)
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_BYTES)
    payload = json.dumps(
        {"records": objects, "salts": [s.hex() for s in salts]},
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    ).encode("utf-8")
    sealed = nonce + AESGCM(key).encrypt(nonce, payload, _aad(FORMAT, suite_name, root))
    manifest = Manifest(
        suite_name=suite_name,
        item_count=len(objects),
        commitments=commitments,
        merkle_root=root,
        sealed_sha256=hashlib.sha256(sealed).hexdigest(),
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        canary=f"GENNAI-CANARY-{uuid.uuid4()}",
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    key_out.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_new(key_out, _key_text(key, suite_name, root), 0o600)
    except FileExistsError:
        raise SealError(f"{key_out}: a key file already exists there (refusing to overwrite it)") from None
    write_atomic(out_dir / SEALED_NAME, sealed)
    manifest_text = json.dumps(manifest.to_json(), ensure_ascii=False, indent=2) + "\n"
    write_atomic(out_dir / MANIFEST_NAME, manifest_text.encode("utf-8"))
    return manifest


def open_sealed(directory: Path, key_path: Path) -> SealedSuite:
    """Decrypt a sealed suite in memory and check it against its manifest; writes nothing."""
    directory = Path(directory)
    manifest = load_manifest(directory)
    key = load_key(key_path)
    sealed_path = directory / SEALED_NAME
    try:
        sealed = sealed_path.read_bytes()
    except FileNotFoundError:
        raise SealError(f"{sealed_path}: sealed suite file not found") from None
    except OSError as exc:
        raise SealError(f"{sealed_path}: cannot read the sealed suite: {exc}") from None
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise SealError(f"{sealed_path}: not a sealed suite file (only {len(sealed)} bytes)")
    aad = _aad(manifest.format, manifest.suite_name, manifest.merkle_root)
    try:
        payload = AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except InvalidTag:
        raise SealError(
            f"{sealed_path}: the key does not open this sealed suite (wrong key or the file was changed)"
        ) from None
    if hashlib.sha256(sealed).hexdigest() != manifest.sealed_sha256:
        raise SealError(f"{directory / MANIFEST_NAME}: 'sealed_sha256' does not match {SEALED_NAME}")
    try:
        data = json.loads(payload.decode("utf-8"))
        objects, salts = data["records"], [bytes.fromhex(s) for s in data["salts"]]
    except (ValueError, KeyError, TypeError):
        raise SealError(f"{sealed_path}: the decrypted payload is not a sealed suite") from None
    if not isinstance(objects, list) or len(objects) != manifest.item_count or len(salts) != manifest.item_count:
        raise SealError(f"{sealed_path}: holds {len(objects)} items, the manifest {manifest.item_count}")
    for position, (obj, salt, expected) in enumerate(zip(objects, salts, manifest.commitments, strict=True), 1):
        if not isinstance(obj, dict) or commitment(salt, obj) != expected:
            raise SealError(f"{directory / MANIFEST_NAME}: commitment {position} does not match the sealed item")
    if merkle_root(manifest.commitments) != manifest.merkle_root:
        raise SealError(f"{directory / MANIFEST_NAME}: 'merkle_root' does not match its commitments")
    return SealedSuite(manifest, tuple(objects), tuple(salts))


def reveal(directory: Path, key_path: Path, suite_out: Path) -> Path:
    """After the test: write the plaintext suite (one canonical record per line) to
    `suite_out` and the public `directory/openings.json`; returns the openings path.

    Both writes are atomic; an existing file is replaced only when its content is the same
    (so a second reveal is harmless and nothing else is overwritten).
    """
    directory, suite_out = Path(directory), Path(suite_out)
    suite = open_sealed(directory, key_path)
    suite_bytes = b"".join(canonical_bytes(obj) + b"\n" for obj in suite.records)
    openings = {
        "format": OPENINGS_FORMAT,
        "suite_name": suite.manifest.suite_name,
        "merkle_root": suite.manifest.merkle_root,
        "items": [{"id": o.id, "salt": o.salt.hex()} for o in suite.openings],
    }
    openings_path = directory / OPENINGS_NAME
    openings_bytes = (json.dumps(openings, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    for path, data in ((suite_out, suite_bytes), (openings_path, openings_bytes)):
        if path.exists() and path.read_bytes() != data:
            raise SealError(f"{path}: a different file already exists there (refusing to overwrite it)")
    suite_out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(suite_out, suite_bytes)
    write_atomic(openings_path, openings_bytes)
    return openings_path


def verify(
    directory: Path,
    revealed_records: RawRecords,
    published_root: str | None = None,
    *,
    openings: Sequence[Opening] | None = None,
) -> VerifyReport:
    """Check revealed records against the manifest's commitments, without the key.

    Uses `directory/openings.json`, or `openings` (e.g. `open_sealed(...).openings` when the
    key is at hand). Names each item whose text differs (id and line in the revealed file),
    each item missing from it, each extra item; checks the manifest's root against its
    commitments and against `published_root` (the root announced before the test).
    """
    directory = Path(directory)
    manifest_path = directory / MANIFEST_NAME
    manifest = load_manifest(directory)
    if openings is None:
        openings = load_openings(directory, manifest)
    problems: list[str] = []

    recomputed = merkle_root(manifest.commitments)
    if recomputed != manifest.merkle_root:
        problems.append(
            f"{manifest_path}: merkle_root {manifest.merkle_root} is not the root of its commitments ({recomputed})"
        )
    if published_root is not None and published_root.strip().lower() != recomputed:
        problems.append(
            f"{manifest_path}: the root of its commitments ({recomputed})"
            f" is not the published root {published_root.strip()}"
        )
    if len(openings) != manifest.item_count:
        problems.append(f"openings: {len(openings)} items, the manifest commits to {manifest.item_count}")

    revealed: dict[str, tuple[int, dict[str, Any]]] = {}
    for line, obj in revealed_records:
        ident = obj.get("id") if isinstance(obj, dict) else None
        if not isinstance(ident, str):
            problems.append(f"line {line}: the revealed record has no string 'id'")
        elif ident in revealed:
            problems.append(f"line {line}: id {ident!r} appears again (first on line {revealed[ident][0]})")
        else:
            revealed[ident] = (line, obj)

    differing: list[tuple[str, int]] = []
    missing: list[str] = []
    opened: set[str] = set()
    matched = 0
    for position, (opening, expected) in enumerate(zip(openings, manifest.commitments), start=1):
        if opening.id in opened:
            problems.append(f"openings: id {opening.id!r} appears again at position {position}")
            continue
        opened.add(opening.id)
        if opening.id not in revealed:
            missing.append(opening.id)
            problems.append(f"item {opening.id!r} (position {position}) is missing from the revealed suite")
            continue
        line, obj = revealed[opening.id]
        if commitment(opening.salt, obj) == expected:
            matched += 1
        else:
            differing.append((opening.id, line))
            problems.append(f"line {line}: item {opening.id!r} does not match its commitment (position {position})")

    extra = [(ident, line) for ident, (line, _) in revealed.items() if ident not in opened]
    problems.extend(f"line {line}: item {ident!r} is not in the manifest" for ident, line in extra)
    return VerifyReport(
        problems=tuple(problems),
        item_count=manifest.item_count,
        matched=matched,
        recomputed_root=recomputed,
        differing=tuple(differing),
        missing=tuple(missing),
        extra=tuple(extra),
    )
