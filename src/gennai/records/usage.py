"""Usage records (利用実績): one per request, written in batches off the request path.

`UsageWriter.add()` only appends to a deque: the request path never waits for the database.
A background thread writes batches. When the database is unreachable, records stay in
memory (up to a bound) and then go to a spool file on disk; spooled records are replayed
when the database is back and on the next start, so a database restart loses nothing.
On graceful shutdown `close()` writes what is pending, or spools it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, bindparam, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from gennai.store.tables import UsageRecord

log = logging.getLogger("gennai.records")

_TABLE = UsageRecord.__table__


@dataclass(slots=True)
class UsageEntry:
    request_id: str
    created_at: datetime
    endpoint: str
    status: str
    http_status: int
    api_key_id: str | None = None
    user_id: str | None = None
    team_id: str | None = None
    model_id: str | None = None
    provider: str | None = None
    streamed: bool = False
    error_type: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    cost_yen: float = 0.0
    attempts: int = 1
    detail: str | None = None
    effective_class: int | None = None
    policy_action: str | None = None
    policy_rule: str | None = None
    # Kinds of items the detector found and how many (never the values).
    findings: dict[str, int] | None = None

    def to_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}


_FIELDS = tuple(field.name for field in fields(UsageEntry))


def _row_to_json(row: dict[str, Any]) -> bytes:
    return orjson.dumps(row)


def _row_from_json(line: bytes) -> dict[str, Any]:
    row = orjson.loads(line)
    row["created_at"] = datetime.fromisoformat(row["created_at"])
    for name in _FIELDS:  # spooled by an older version: columns added since are empty
        row.setdefault(name, None)
    return row


class UsageWriter:
    def __init__(
        self,
        engine: Engine,
        spool_dir: Path,
        *,
        flush_interval_s: float = 0.5,
        batch_size: int = 500,
        max_in_memory: int = 50_000,
    ) -> None:
        self._engine = engine
        self._spool_dir = spool_dir
        self._interval = flush_interval_s
        self._batch_size = batch_size
        self._max_in_memory = max_in_memory
        self._pending: deque[UsageEntry] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._fast: _DriverInsert | None = None
        self.written = 0
        self.spooled = 0

    # -- request path ------------------------------------------------------------------
    def add(self, entry: UsageEntry) -> None:
        self._pending.append(entry)
        if len(self._pending) >= self._batch_size:
            self._wake.set()

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self.replay_spool()
        self._thread = threading.Thread(target=self._run, name="gennai-usage-writer", daemon=True)
        self._thread.start()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the thread and write (or spool) everything pending."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        if not self.flush():
            self._spool_all()

    @property
    def pending(self) -> int:
        return len(self._pending)

    # -- writing -----------------------------------------------------------------------
    def flush(self) -> bool:
        """Write everything pending now. False if the database refused (records are kept)."""
        with self._write_lock:
            while self._pending:
                batch = self._take(self._batch_size)
                try:
                    self._insert_entries(batch)
                except SQLAlchemyError as exc:
                    self._pending.extendleft(reversed(batch))
                    log.warning("usage records not written (%s); %d pending", type(exc).__name__, len(self._pending))
                    if len(self._pending) > self._max_in_memory:
                        self._spool_all()
                    return False
                self.written += len(batch)
            return True

    def _take(self, count: int) -> list[UsageEntry]:
        batch: list[UsageEntry] = []
        pending = self._pending
        while pending and len(batch) < count:
            batch.append(pending.popleft())
        return batch

    def _insert_entries(self, entries: list[UsageEntry]) -> None:
        """The hot batch insert: one executemany through the driver, no per-row ORM work."""
        if self._fast is None:
            self._fast = _DriverInsert(self._engine)
        with self._engine.begin() as connection:
            connection.exec_driver_sql(self._fast.sql, self._fast.parameters(entries))

    def _insert(self, rows: list[dict[str, Any]], *, ignore_duplicates: bool = False) -> None:
        if not rows:
            return
        statement: Any = insert(_TABLE)
        if ignore_duplicates:
            dialect = self._engine.dialect.name
            if dialect == "postgresql":
                statement = pg_insert(_TABLE).on_conflict_do_nothing(index_elements=["request_id"])
            elif dialect == "sqlite":
                statement = sqlite_insert(_TABLE).on_conflict_do_nothing(index_elements=["request_id"])
        with self._engine.begin() as connection:
            connection.execute(statement, rows)

    def _run(self) -> None:
        backoff = self._interval
        while not self._stop.is_set():
            self._wake.wait(backoff)
            self._wake.clear()
            if self._stop.is_set():
                break
            if self.flush():
                backoff = self._interval
                if self.spooled:
                    self.replay_spool()
            else:
                backoff = min(backoff * 2, 10.0)

    # -- spool -------------------------------------------------------------------------
    def _spool_all(self) -> None:
        if not self._pending:
            return
        self._spool_dir.mkdir(parents=True, exist_ok=True)
        path = self._spool_dir / f"usage-{int(time.time() * 1000)}-{os.getpid()}.jsonl"
        entries = self._take(len(self._pending))
        with path.open("ab") as handle:
            for entry in entries:
                handle.write(_row_to_json(entry.to_row()) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.spooled += len(entries)
        log.warning("database unavailable: %d usage records spooled to %s", len(entries), path)

    def replay_spool(self) -> int:
        """Insert spooled records (duplicates ignored) and delete the files that made it."""
        if not self._spool_dir.exists():
            return 0
        replayed = 0
        for path in sorted(self._spool_dir.glob("usage-*.jsonl")):
            try:
                rows = [_row_from_json(line) for line in path.read_bytes().splitlines() if line.strip()]
                for start in range(0, len(rows), self._batch_size):
                    self._insert(rows[start : start + self._batch_size], ignore_duplicates=True)
            except SQLAlchemyError:
                return replayed
            except (ValueError, KeyError, orjson.JSONDecodeError):
                bad = path.with_suffix(".bad")
                path.rename(bad)
                log.error("unreadable spool file kept as %s", bad)
                continue
            path.unlink()
            replayed += len(rows)
        if replayed:
            self.spooled = max(0, self.spooled - replayed)
            self.written += replayed
        return replayed


class _DriverInsert:
    """INSERT compiled once for the engine's dialect; rows converted with SQLAlchemy's own
    bind processors (e.g. datetimes on SQLite), then handed to the driver's executemany."""

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        compiled = insert(_TABLE).values({name: bindparam(name) for name in _FIELDS}).compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        self.order: tuple[str, ...] = tuple(compiled.positiontup or ()) if self.positional else _FIELDS
        self.processors = {
            name: processor
            for name in _FIELDS
            if (processor := _TABLE.c[name].type._cached_bind_processor(dialect)) is not None  # noqa: SLF001
        }

    def parameters(self, entries: list[UsageEntry]) -> list[Any]:
        order = self.order
        processors = self.processors
        rows: list[Any] = []
        for entry in entries:
            values = [getattr(entry, name) for name in order]
            for index, name in enumerate(order):
                processor = processors.get(name)
                if processor is not None and values[index] is not None:
                    values[index] = processor(values[index])
            rows.append(tuple(values) if self.positional else dict(zip(order, values, strict=True)))
        return rows


def now_utc() -> datetime:
    return datetime.now(UTC)
