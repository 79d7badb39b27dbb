"""The tamper-evident audit trail (監査ログ): an append-only hash chain in `audit_entries`.

Every entry carries `prev_hash` (the hash of the entry before; 64 zeros for entry 1) and
`hash` = SHA-256 of the canonical serialisation of all its other fields:

    canonical = json.dumps(
        {"seq", "created_at", "action", "outcome", "actor_user_id", "actor_key_id",
         "actor_name", "team_id", "target_type", "target_id", "detail", "ip", "prev_hash"},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
    ).encode("utf-8")

with `created_at` written as ISO 8601 in UTC with microseconds
(`2026-11-22T10:00:00.123456+00:00`). `export` writes exactly these fields plus `hash`, one
JSON object per line, so anyone can re-check an export with a few lines of code (or with
`verify_export`) without access to the database.

Sequence numbers are contiguous from 1. Appends are serialised so that concurrent appenders
(threads, workers, processes) never fork the chain: PostgreSQL takes a transaction-scoped
advisory lock before reading the head, SQLite takes the write lock with `BEGIN IMMEDIATE`;
the primary key on `seq` is the backstop.

`verify` walks the whole chain in batches and finds an edited entry (hash mismatch), a
deleted or inserted entry (gap in `seq`, or a `prev_hash` that does not match), reordered
entries, a deleted first entry, and — against the checkpoints — a deleted tail or a chain
recomputed from some point on. Checkpoints (`{"seq", "hash", "created_at"}` of the head, one
JSON line each, appended and fsynced to `checkpoint_dir/checkpoints.jsonl`) are what bounds
a rewrite by someone who controls the database: keep that folder where the database
administrator cannot rewrite it (WORM storage, another host's mount). Entries after the
latest checkpoint can be truncated or appended by such a person without detection; that is
the limit of a keyless hash chain, and why `checkpoint_every` exists.

**What goes into an entry.** Callers pass only identifiers, kinds, counts and reasons:
ids of users, keys, teams and targets, the action and its outcome, a reason code, numbers.
Never secrets (API keys, passwords, tokens, key material) and never content (prompts,
answers, document text, personal data found by the detector): the audit trail is kept for
years, is read by auditors and exported, and cannot be edited afterwards by design.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, Text, cast, insert, select, text, type_coerce
from sqlalchemy import String as SAString
from sqlalchemy.exc import IntegrityError

from gennai.store.tables import AuditEntry

log = logging.getLogger("gennai.audit")

GENESIS_HASH = "0" * 64
CHECKPOINT_FILE = "checkpoints.jsonl"

# The fields covered by `hash`, in the order an export writes them (`hash` comes last).
HASHED_FIELDS = (
    "seq",
    "created_at",
    "action",
    "outcome",
    "actor_user_id",
    "actor_key_id",
    "actor_name",
    "team_id",
    "target_type",
    "target_id",
    "detail",
    "ip",
    "prev_hash",
)

# Appenders on one PostgreSQL take this advisory lock (transaction-scoped) before the head.
_AUDIT_LOCK_ID = 0x67656E6E6175  # "gennau": distinct from the migration lock
_BATCH = 1000
_TABLE = AuditEntry.__table__
_C = _TABLE.c
# Column widths of audit_entries: a longer value is a caller's bug, refused the same way on
# SQLite (which would store it) and PostgreSQL (which would refuse it).
_LIMITS = {
    "action": 60,
    "outcome": 20,
    "actor_user_id": 36,
    "actor_key_id": 36,
    "team_id": 36,
    "target_type": 40,
    "target_id": 200,
    "ip": 64,
}
_ACTOR_NAME_MAX = 200


# -- hashing ---------------------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of an entry: every field of HASHED_FIELDS, `created_at` as ISO text."""
    payload = {name: entry.get(name) for name in HASHED_FIELDS}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def normalise_time(value: datetime) -> datetime:
    """UTC with microseconds; a naive datetime (SQLite reads them back so) is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_time(value: datetime) -> str:
    return normalise_time(value).isoformat(timespec="microseconds")


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditVerification:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    # One line, Japanese then English, e.g.
    # "第12項目のハッシュが一致しません（改ざんの可能性） / entry 12: hash mismatch (edited?)"
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str
    # When the checkpoint was written (not when the entry was).
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "created_at": format_time(self.created_at)}


class AuditReadError(Exception):
    """An entry could not be read back (its stored text is not what the audit log wrote)."""

    def __init__(self, seq: int, field: str) -> None:
        super().__init__(_msg_unreadable(seq, field))
        self.seq = seq
        self.field = field


class _CheckpointFileError(Exception):
    pass


# -- messages (one line, Japanese / English) -------------------------------------------------


def _msg_missing(seq: int) -> str:
    if seq == 1:
        return "第1項目がありません（先頭の削除の可能性） / entry 1: missing (first entry deleted?)"
    return f"第{seq}項目がありません（削除の可能性） / entry {seq}: missing (deleted?)"


def _msg_unexpected(seq: int, expected: int) -> str:
    return (
        f"第{seq}項目は想定外の番号です（第{expected}項目のはず、挿入の可能性） / "
        f"entry {seq}: unexpected sequence number, expected {expected} (inserted?)"
    )


def _msg_hash(seq: int) -> str:
    return f"第{seq}項目のハッシュが一致しません（改ざんの可能性） / entry {seq}: hash mismatch (edited?)"


def _msg_prev(seq: int) -> str:
    if seq == 1:
        return (
            "第1項目の直前ハッシュが初期値ではありません（先頭の削除・差し替えの可能性） / "
            "entry 1: prev_hash is not the genesis value (first entry deleted or replaced?)"
        )
    return (
        f"第{seq}項目の直前ハッシュが第{seq - 1}項目と一致しません（削除・並べ替え・挿入の可能性） / "
        f"entry {seq}: prev_hash does not match entry {seq - 1} (deleted, reordered or inserted?)"
    )


def _msg_checkpoint(seq: int) -> str:
    return (
        f"第{seq}項目のハッシュがチェックポイントと一致しません（記録の書き換えの可能性） / "
        f"entry {seq}: hash differs from the checkpoint (chain rewritten?)"
    )


def _msg_truncated(checkpoint_seq: int, last: int) -> str:
    first = last + 1
    return (
        f"第{first}項目以降がありません（末尾の削除の可能性。チェックポイントは第{checkpoint_seq}項目を記録） / "
        f"entry {first}: missing, the chain ends at entry {last} but a checkpoint names entry {checkpoint_seq} "
        "(tail deleted?)"
    )


def _msg_unreadable(seq: int, field: str) -> str:
    return f"第{seq}項目の{field}が読めません（改ざんの可能性） / entry {seq}: unreadable {field} (edited?)"


def _msg_checkpoint_file(path: Path, line: int) -> str:
    return f"チェックポイントファイル {path} の{line}行目が読めません / {path}:{line}: unreadable checkpoint line"


# -- the chain walker (shared by verify and verify_export) -----------------------------------


class _Walk:
    """Feeds entries in order; remembers the first problem."""

    def __init__(self, checkpoints: Mapping[int, set[str]] | None = None, *, first_seq: int | None = 1) -> None:
        self.checkpoints = checkpoints or {}
        self.expected = first_seq
        self.prev_hash: str | None = GENESIS_HASH if first_seq == 1 else None
        self.entries = 0
        self.last_seq = 0
        self.bad_seq: int | None = None
        self.problem: str | None = None

    def fail(self, seq: int | None, problem: str) -> None:
        if self.problem is None:
            self.bad_seq, self.problem = seq, problem

    def feed(self, entry: Mapping[str, Any], stored_hash: str) -> bool:
        """False once a problem is found (the walk can stop)."""
        seq = entry["seq"]
        self.entries += 1
        if self.expected is None:  # an export that starts somewhere in the chain
            self.expected = seq
            if seq == 1:
                self.prev_hash = GENESIS_HASH
        if seq != self.expected:
            if seq > self.expected:
                self.fail(self.expected, _msg_missing(self.expected))
            else:
                self.fail(seq, _msg_unexpected(seq, self.expected))
            return False
        if entry_hash(entry) != stored_hash:
            self.fail(seq, _msg_hash(seq))
            return False
        if self.prev_hash is not None and entry["prev_hash"] != self.prev_hash:
            self.fail(seq, _msg_prev(seq))
            return False
        known = self.checkpoints.get(seq)
        if known and any(value != stored_hash for value in known):
            self.fail(seq, _msg_checkpoint(seq))
            return False
        self.expected = seq + 1
        self.prev_hash = stored_hash
        self.last_seq = seq
        return True

    def finish(self) -> AuditVerification:
        if self.problem is None and self.checkpoints:
            beyond = max(self.checkpoints)
            if beyond > self.last_seq:
                self.fail(self.last_seq + 1, _msg_truncated(beyond, self.last_seq))
        return AuditVerification(self.problem is None, self.entries, self.bad_seq, self.problem)


# -- the log ---------------------------------------------------------------------------------


class AuditLog:
    """Appends to, verifies, checkpoints and exports the audit trail. Synchronous: async
    callers run it in a thread (`asyncio.to_thread`)."""

    def __init__(
        self,
        engine: Engine,
        checkpoint_dir: Path | None = None,
        checkpoint_every: int = 1000,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.checkpoint_every = checkpoint_every
        self._clock = clock or (lambda: datetime.now(UTC))
        # One appender at a time in this process; the database lock covers the others.
        self._lock = threading.Lock()

    @property
    def checkpoint_path(self) -> Path | None:
        return self.checkpoint_dir / CHECKPOINT_FILE if self.checkpoint_dir is not None else None

    # -- appending -------------------------------------------------------------------------
    def append(
        self,
        action: str,
        *,
        outcome: str = "ok",
        actor_user_id: str | None = None,
        actor_key_id: str | None = None,
        actor_name: str | None = None,
        team_id: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        detail: dict | None = None,  # type: ignore[type-arg]
        ip: str | None = None,
    ) -> int:
        """Append one entry and return its seq.

        Pass only ids, kinds, counts and reasons — never secrets or content (see the module
        docstring). `detail` must be JSON (it is stored exactly as it is hashed)."""
        fields: dict[str, Any] = {
            "action": action,
            "outcome": outcome,
            "actor_user_id": actor_user_id,
            "actor_key_id": actor_key_id,
            "actor_name": actor_name[:_ACTOR_NAME_MAX] if actor_name is not None else None,
            "team_id": team_id,
            "target_type": target_type,
            "target_id": target_id,
            "ip": ip,
        }
        for name, limit in _LIMITS.items():
            value = fields[name]
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                raise ValueError(f"audit {name} must be a string of at most {limit} characters")
        if not action:
            raise ValueError("audit action must not be empty")
        if detail is not None:
            if not isinstance(detail, dict):
                raise ValueError("audit detail must be a dict (ids, kinds, counts, reasons)")
            try:
                detail = json.loads(canonical_json(detail))  # what is stored is what is hashed
            except (TypeError, ValueError) as exc:
                raise ValueError(f"audit detail must be plain JSON: {exc}") from None
        fields["detail"] = detail

        with self._lock:
            for attempt in range(3):
                try:
                    seq, digest = self._append_once(fields)
                    break
                except IntegrityError:  # another writer took the seq without the lock
                    if attempt == 2:
                        raise
                    log.warning("audit entry seq taken by a writer that did not lock; retrying")
        if self.checkpoint_dir is not None and self.checkpoint_every > 0 and seq % self.checkpoint_every == 0:
            try:
                self._write_checkpoint(seq, digest)
            except OSError as exc:  # the entry is committed; the operator must see this
                log.error("audit checkpoint for entry %d not written to %s: %s", seq, self.checkpoint_dir, exc)
        return seq

    def _append_once(self, fields: dict[str, Any]) -> tuple[int, str]:
        with self._engine.connect() as connection:
            self._take_write_lock(connection)
            head_query = select(_C.seq, _C.hash).order_by(_C.seq.desc()).limit(1)
            if self._dialect not in ("postgresql", "sqlite"):
                head_query = head_query.with_for_update()
            head = connection.execute(head_query).first()
            seq = head.seq + 1 if head is not None else 1
            prev_hash = head.hash if head is not None else GENESIS_HASH
            created_at = normalise_time(self._clock())
            entry = {**fields, "seq": seq, "created_at": format_time(created_at), "prev_hash": prev_hash}
            digest = entry_hash(entry)
            connection.execute(insert(_TABLE).values(**{**entry, "created_at": created_at, "hash": digest}))
            connection.commit()
        return seq, digest

    def _take_write_lock(self, connection: Connection) -> None:
        """Serialise appenders across processes before the head is read."""
        if self._dialect == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _AUDIT_LOCK_ID})
        elif self._dialect == "sqlite":
            # pysqlite begins lazily (and only DEFERRED): take the write lock now, so two
            # appenders cannot both read the same head. COMMIT/ROLLBACK end it as usual.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    # -- reading ---------------------------------------------------------------------------
    def _columns(self) -> list[Any]:
        created = type_coerce(_C.created_at, SAString) if self._dialect == "sqlite" else _C.created_at
        return [
            _C.seq,
            created.label("created_at"),
            _C.action,
            _C.outcome,
            _C.actor_user_id,
            _C.actor_key_id,
            _C.actor_name,
            _C.team_id,
            _C.target_type,
            _C.target_id,
            cast(_C.detail, Text).label("detail"),
            _C.ip,
            _C.prev_hash,
            _C.hash,
        ]

    def _entries(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[tuple[dict[str, Any], str]]:
        """(entry with ISO created_at and parsed detail, stored hash) in seq order, batched."""
        last: int | None = None
        while True:
            query = select(*self._columns()).order_by(_C.seq).limit(_BATCH)
            if last is not None:
                query = query.where(_C.seq > last)
            if since is not None:
                query = query.where(_C.created_at >= normalise_time(since))
            if until is not None:
                query = query.where(_C.created_at < normalise_time(until))
            with self._engine.connect() as connection:
                rows = connection.execute(query).all()
            for row in rows:
                yield self._row_entry(row._mapping), row.hash
            if len(rows) < _BATCH:
                return
            last = rows[-1].seq

    @staticmethod
    def _row_entry(row: Mapping[str, Any]) -> dict[str, Any]:
        entry = {name: row[name] for name in HASHED_FIELDS}
        seq = entry["seq"]
        created = entry["created_at"]
        try:
            if isinstance(created, str):
                created = datetime.fromisoformat(created)
            if not isinstance(created, datetime):
                raise ValueError
            entry["created_at"] = format_time(created)
        except ValueError:
            raise AuditReadError(seq, "created_at") from None
        raw = entry["detail"]
        try:
            entry["detail"] = json.loads(raw) if raw is not None else None
        except ValueError:
            raise AuditReadError(seq, "detail") from None
        return entry

    def head(self) -> tuple[int, str] | None:
        """(seq, hash) of the last entry, or None for an empty trail."""
        with self._engine.connect() as connection:
            row = connection.execute(select(_C.seq, _C.hash).order_by(_C.seq.desc()).limit(1)).first()
        return (row.seq, row.hash) if row is not None else None

    # -- verifying -------------------------------------------------------------------------
    def verify(self) -> AuditVerification:
        """Walk the whole chain (batched) and check it against every checkpoint."""
        # Checkpoints first: each names an entry committed before it was written, so a walk
        # that starts afterwards sees that entry.
        file_problem: str | None = None
        try:
            checkpoints = self.checkpoints()
        except _CheckpointFileError as exc:
            file_problem, checkpoints = str(exc), []
        by_seq: dict[int, set[str]] = {}
        for point in checkpoints:
            by_seq.setdefault(point.seq, set()).add(point.hash)
        walk = _Walk(by_seq)
        try:
            for entry, stored_hash in self._entries():
                if not walk.feed(entry, stored_hash):
                    break
        except AuditReadError as exc:
            walk.entries += 1
            walk.fail(exc.seq, str(exc))
        result = walk.finish()
        if result.ok and file_problem is not None:
            return AuditVerification(False, result.entries, None, file_problem)
        return result

    # -- checkpoints -----------------------------------------------------------------------
    def checkpoint(self) -> Checkpoint | None:
        """Append the current head to checkpoint_dir/checkpoints.jsonl (None: no entries yet)."""
        if self.checkpoint_dir is None:
            raise ValueError("no audit checkpoint_dir is configured")
        head = self.head()
        if head is None:
            return None
        return self._write_checkpoint(*head)

    def _write_checkpoint(self, seq: int, digest: str) -> Checkpoint:
        assert self.checkpoint_dir is not None
        point = Checkpoint(seq, digest, normalise_time(datetime.now(UTC)))
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        path = self.checkpoint_dir / CHECKPOINT_FILE
        created = not path.exists()
        data = (json.dumps(point.to_json(), separators=(",", ":")) + "\n").encode("utf-8")
        # One write of one short line with O_APPEND: writers in several processes do not mix.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self.checkpoint_dir)
        return point

    def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint written so far (oldest first); [] when there is no file."""
        path = self.checkpoint_path
        if path is None or not path.exists():
            return []
        points: list[Checkpoint] = []
        with path.open("r", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    raw = json.loads(line)
                    seq, digest = raw["seq"], raw["hash"]
                    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
                        raise ValueError
                    if not isinstance(digest, str) or len(digest) != 64:
                        raise ValueError
                    created = normalise_time(datetime.fromisoformat(raw["created_at"]))
                except (ValueError, KeyError, TypeError):
                    raise _CheckpointFileError(_msg_checkpoint_file(path, number)) from None
                points.append(Checkpoint(seq, digest, created))
        return points

    # -- exporting -------------------------------------------------------------------------
    def export(self, out: IO[str], since: datetime | None = None, until: datetime | None = None) -> int:
        """Write entries with since <= created_at < until as JSONL (every field, `hash` and
        `prev_hash` included), in seq order; return how many. Naive datetimes are UTC."""
        count = 0
        for entry, stored_hash in self._entries(since, until):
            out.write(json.dumps({**entry, "hash": stored_hash}, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
        return count


def verify_export(lines: Iterable[str]) -> AuditVerification:
    """Check a JSONL export without the database: every hash, and that consecutive entries
    chain (an export from `--since` starts anywhere; one from entry 1 starts at genesis)."""
    walk = _Walk(first_seq=None)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict) or not isinstance(raw.get("seq"), int) or not isinstance(raw.get("hash"), str):
                raise ValueError
            entry = {name: raw[name] for name in HASHED_FIELDS}
        except (ValueError, KeyError):
            walk.entries += 1
            walk.fail(None, f"{number}行目が監査記録として読めません / line {number}: not an audit entry")
            break
        if not walk.feed(entry, raw["hash"]):
            break
    return walk.finish()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
