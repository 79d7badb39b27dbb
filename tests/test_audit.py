"""The tamper-evident audit trail on SQLite and PostgreSQL: the chain, concurrent appenders,
tampering of every kind, checkpoints, export and the `gennai audit` commands."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert, select, text, update

from gennai.records.audit import (
    GENESIS_HASH,
    HASHED_FIELDS,
    AuditLog,
    AuditVerification,
    Checkpoint,
    entry_hash,
    verify_export,
)
from gennai.store.database import create_database_engine, migrate
from gennai.store.tables import AuditEntry
from tests.support.databases import database_engine

TABLE = AuditEntry.__table__
GENNAI = [sys.executable, "-m", "gennai"]
T0 = datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with database_engine(request.param, tmp_path) as engine:
        migrate(engine)
        yield engine


class Clock:
    """A controllable clock: each reading moves on by `step`."""

    def __init__(self, start: datetime = T0, step: timedelta = timedelta(seconds=1, microseconds=7)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        value = self.now
        self.now += self.step
        return value


def fill(log: AuditLog, n: int) -> list[int]:
    seqs = []
    for i in range(n):
        seqs.append(
            log.append(
                ["auth.sign_in", "key.create", "team.member_add", "conversation.delete"][i % 4],
                outcome="ok" if i % 3 else "denied",
                actor_user_id=f"u-{i}",
                actor_key_id=None if i % 2 else f"k-{i}",
                actor_name=f"利用者{i}",
                team_id="t-1",
                target_type="team" if i % 2 else "key",
                target_id=f"target-{i}",
                detail={"reason": "policy", "count": i, "kinds": ["phone", "name"]},
                ip="192.0.2.10",
            )
        )
    return seqs


def rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(TABLE).order_by(TABLE.c.seq))]


def row(engine: Engine, seq: int) -> dict[str, Any]:
    return next(r for r in rows(engine) if r["seq"] == seq)


def set_fields(engine: Engine, at: int, /, **values: Any) -> None:
    with engine.begin() as connection:
        connection.execute(update(TABLE).where(TABLE.c.seq == at).values(**values))


def delete_seqs(engine: Engine, *seqs: int) -> None:
    with engine.begin() as connection:
        connection.execute(delete(TABLE).where(TABLE.c.seq.in_(seqs)))


def insert_row(engine: Engine, values: dict[str, Any]) -> None:
    with engine.begin() as connection:
        connection.execute(insert(TABLE).values(**values))


def swap_contents(engine: Engine, a: int, b: int) -> None:
    """Exchange everything but seq between two entries (a reordering)."""
    first, second = row(engine, a), row(engine, b)
    set_fields(engine, a, **{k: v for k, v in second.items() if k != "seq"})
    set_fields(engine, b, **{k: v for k, v in first.items() if k != "seq"})


def forge_inside(engine: Engine, at: int) -> None:
    """Shift entries at..end up by one and insert a well-formed forged entry at `at`."""
    for existing in reversed([r["seq"] for r in rows(engine) if r["seq"] >= at]):
        set_fields(engine, existing, seq=existing + 1)
    prev = row(engine, at - 1)["hash"] if at > 1 else GENESIS_HASH
    forged = forged_entry(at, prev)
    insert_row(engine, forged)


def forged_entry(seq: int, prev_hash: str, *, correct_hash: bool = True) -> dict[str, Any]:
    created = T0 + timedelta(days=30)
    entry = {
        "seq": seq,
        "created_at": created.isoformat(timespec="microseconds"),
        "action": "key.create",
        "outcome": "ok",
        "actor_user_id": "intruder",
        "actor_key_id": None,
        "actor_name": "forger",
        "team_id": None,
        "target_type": None,
        "target_id": None,
        "detail": None,
        "ip": None,
        "prev_hash": prev_hash,
    }
    digest = entry_hash(entry) if correct_hash else "f" * 64
    return {**entry, "created_at": created, "hash": digest}


def rehash(stored: dict[str, Any]) -> str:
    """The hash a forger with database access would compute for a row (SQLite reads naive UTC)."""
    created = stored["created_at"]
    created = (created.replace(tzinfo=UTC) if created.tzinfo is None else created).astimezone(UTC)
    return entry_hash({**stored, "created_at": created.isoformat(timespec="microseconds")})


def independent_hash(line: dict[str, Any]) -> str:
    """What an auditor would write from the documented algorithm, without gennai."""
    payload = {k: v for k, v in line.items() if k != "hash"}
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def broken(result: AuditVerification, seq: int) -> bool:
    return (
        not result.ok
        and result.first_bad_seq == seq
        and result.problem is not None
        and f"entry {seq}" in result.problem
        and f"第{seq}項目" in result.problem
        and "\n" not in result.problem
    )


# -- the chain ------------------------------------------------------------------------------


def test_appending_builds_a_valid_chain(engine: Engine, tmp_path: Path) -> None:
    log = AuditLog(engine, tmp_path / "cp", checkpoint_every=0)
    assert log.verify() == AuditVerification(True, 0, None, None)
    assert fill(log, 6) == [1, 2, 3, 4, 5, 6]
    stored = rows(engine)
    assert [r["seq"] for r in stored] == [1, 2, 3, 4, 5, 6]
    assert stored[0]["prev_hash"] == GENESIS_HASH
    for before, after in zip(stored, stored[1:], strict=False):
        assert after["prev_hash"] == before["hash"]
    assert len({r["hash"] for r in stored}) == 6
    assert log.verify() == AuditVerification(True, 6, None, None)
    assert stored[2]["detail"] == {"count": 2, "kinds": ["phone", "name"], "reason": "policy"}


def test_created_at_round_trips_exactly(engine: Engine, tmp_path: Path) -> None:
    jst = timezone(timedelta(hours=9))
    times = iter(
        [
            datetime(2026, 11, 2, 9, 30, 0, 1, tzinfo=jst),  # not UTC, one microsecond
            datetime(2026, 11, 2, 0, 30, 0, 999999),  # naive: taken as UTC
            datetime(2026, 11, 2, 0, 30, 1, tzinfo=UTC),  # whole second
        ]
    )
    log = AuditLog(engine, clock=lambda: next(times))
    for _ in range(3):
        log.append("test.clock")
    assert log.verify().ok
    out = io.StringIO()
    log.export(out)
    stamps = [json.loads(line)["created_at"] for line in out.getvalue().splitlines()]
    assert stamps == [
        "2026-11-02T00:30:00.000001+00:00",
        "2026-11-02T00:30:00.999999+00:00",
        "2026-11-02T00:30:01.000000+00:00",
    ]


def test_append_refuses_what_the_columns_cannot_hold(engine: Engine) -> None:
    log = AuditLog(engine)
    with pytest.raises(ValueError, match="action"):
        log.append("x" * 61)
    with pytest.raises(ValueError, match="action"):
        log.append("")
    with pytest.raises(ValueError, match="detail"):
        log.append("test", detail={"when": datetime.now(UTC)})
    with pytest.raises(ValueError, match="detail"):
        log.append("test", detail={"x": float("nan")})
    assert log.append("test", actor_name="名" * 300) == 1  # a display name is cut, not refused
    assert len(rows(engine)[0]["actor_name"]) == 200
    assert log.verify().ok


# -- concurrent appenders -------------------------------------------------------------------


def test_concurrent_threads_and_engines_never_fork_the_chain(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    second = create_database_engine(engine.url.render_as_string(hide_password=False))
    try:
        logs = [AuditLog(engine), AuditLog(engine), AuditLog(second)]  # separate locks, separate pools
        returned: list[int] = []
        failures: list[BaseException] = []
        barrier = threading.Barrier(9)

        def work(worker: int) -> None:
            barrier.wait()
            try:
                for i in range(20):
                    returned.append(logs[worker % 3].append("test.concurrent", target_id=f"{worker}-{i}"))
            except BaseException as exc:  # noqa: BLE001
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(9)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures
        assert not [r for r in caplog.records if r.name == "gennai.audit"]  # the lock held: no retries
        assert sorted(returned) == list(range(1, 181))
        stored = rows(engine)
        assert [r["seq"] for r in stored] == list(range(1, 181))
        assert len({r["prev_hash"] for r in stored}) == 180  # no two entries share a parent
        assert {r["target_id"] for r in stored} == {f"{w}-{i}" for w in range(9) for i in range(20)}
        assert logs[2].verify() == AuditVerification(True, 180, None, None)
    finally:
        second.dispose()


_APPENDER = """
import sys
from gennai.records.audit import AuditLog
from gennai.store.database import create_database_engine
engine = create_database_engine(sys.argv[1])
log = AuditLog(engine)
for i in range(int(sys.argv[3])):
    log.append("test.process", target_id=sys.argv[2] + "-" + str(i))
engine.dispose()
"""


def test_concurrent_processes_never_fork_the_chain(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    workers = [
        subprocess.Popen([sys.executable, "-c", _APPENDER, url, f"p{n}", "40"], stderr=subprocess.PIPE, text=True)
        for n in range(2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    assert [r["seq"] for r in rows(engine)] == list(range(1, 81))
    assert AuditLog(engine).verify() == AuditVerification(True, 80, None, None)


# -- tampering ------------------------------------------------------------------------------

EDITS: dict[str, Any] = {
    "created_at": T0 - timedelta(microseconds=1),
    "action": "key.revoke",
    "outcome": "failed",
    "actor_user_id": "someone-else",
    "actor_key_id": "k-other",
    "actor_name": "別人",
    "team_id": None,
    "target_type": "user",
    "target_id": "target-x",
    "detail": {"reason": "policy", "count": 99, "kinds": ["phone", "name"]},
    "ip": "198.51.100.1",
    "prev_hash": "a" * 64,
    "hash": "b" * 64,
}


def test_verify_detects_an_edit_of_any_field(engine: Engine) -> None:
    log = AuditLog(engine)
    fill(log, 5)
    original = row(engine, 3)
    assert set(EDITS) | {"seq"} == set(HASHED_FIELDS) | {"hash"}
    for field, value in EDITS.items():
        assert original[field] != value
        set_fields(engine, 3, **{field: value})
        assert broken(log.verify(), 3), field
        set_fields(engine, 3, **{field: original[field]})
        assert log.verify().ok, field  # put back exactly: intact again
    set_fields(engine, 3, seq=99)  # renumbered: entry 3 is gone
    result = log.verify()
    assert broken(result, 3) and "missing" in (result.problem or "")


def test_verify_detects_a_raw_sql_update(engine: Engine, tmp_path: Path) -> None:
    log = AuditLog(engine)
    fill(log, 4)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET outcome = 'ok' WHERE seq = 1"))  # was 'denied'
    result = log.verify()
    assert broken(result, 1)
    assert result.problem == "第1項目のハッシュが一致しません（改ざんの可能性） / entry 1: hash mismatch (edited?)"


def test_edit_with_recomputed_hash_breaks_the_next_link(engine: Engine) -> None:
    log = AuditLog(engine)
    fill(log, 5)
    entry = {**row(engine, 2), "target_id": "rewritten"}
    set_fields(engine, 2, target_id="rewritten", hash=rehash(entry))
    assert broken(log.verify(), 3)


def test_verify_detects_a_deleted_middle_entry(engine: Engine) -> None:
    log = AuditLog(engine)
    fill(log, 5)
    delete_seqs(engine, 3)
    result = log.verify()
    assert broken(result, 3) and result.entries == 3


def test_verify_detects_a_deleted_first_entry(engine: Engine) -> None:
    log = AuditLog(engine)
    fill(log, 3)
    delete_seqs(engine, 1)
    result = log.verify()
    assert broken(result, 1) and "first entry deleted" in (result.problem or "")


def test_verify_detects_a_renumbered_chain_without_its_first_entry(engine: Engine) -> None:
    log = AuditLog(engine)
    fill(log, 3)
    delete_seqs(engine, 1)
    for seq in (2, 3):
        set_fields(engine, seq, seq=seq - 1)
    assert broken(log.verify(), 1)


def test_checkpoints_reveal_a_deleted_tail(engine: Engine, tmp_path: Path) -> None:
    log = AuditLog(engine, tmp_path / "cp", checkpoint_every=5)
    fill(log, 12)
    assert [p.seq for p in log.checkpoints()] == [5, 10]
    assert log.verify().ok
    delete_seqs(engine, 10, 11, 12)
    result = log.verify()
    assert broken(result, 10) and "tail deleted" in (result.problem or "")
    assert "the chain ends at entry 9 but a checkpoint names entry 10" in (result.problem or "")
    # Without a checkpoint past the new end, a deleted tail is invisible: that is what
    # checkpoints (on storage the database administrator cannot rewrite) are for.
    assert AuditLog(engine).verify().ok


def test_checkpoint_catches_a_recomputed_chain(engine: Engine, tmp_path: Path) -> None:
    log = AuditLog(engine, tmp_path / "cp", checkpoint_every=0)
    fill(log, 6)
    assert log.checkpoint() is not None
    # Rewrite entry 3 and recompute every hash after it, as a database administrator could.
    prev = row(engine, 2)["hash"]
    for entry in rows(engine)[2:]:
        if entry["seq"] == 3:
            entry["target_id"] = "rewritten"
        digest = rehash({**entry, "prev_hash": prev})
        set_fields(engine, entry["seq"], target_id=entry["target_id"], prev_hash=prev, hash=digest)
        prev = digest
    assert AuditLog(engine).verify().ok  # the chain alone cannot tell
    result = log.verify()
    assert broken(result, 6) and "checkpoint" in (result.problem or "")


def test_verify_detects_swapped_entries(engine: Engine) -> None:
    log = AuditLog(engine)
    fill(log, 5)
    swap_contents(engine, 2, 4)
    assert broken(log.verify(), 2)


def test_verify_detects_forged_entries(engine: Engine) -> None:
    log = AuditLog(engine)
    fill(log, 5)
    insert_row(engine, forged_entry(6, row(engine, 5)["hash"], correct_hash=False))
    assert broken(log.verify(), 6)
    delete_seqs(engine, 6)
    insert_row(engine, forged_entry(7, row(engine, 5)["hash"]))  # after a gap
    assert broken(log.verify(), 6)
    delete_seqs(engine, 7)
    insert_row(engine, forged_entry(0, GENESIS_HASH))  # before the first
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 0 and "unexpected sequence number" in (result.problem or "")
    delete_seqs(engine, 0)
    forge_inside(engine, 3)  # well-formed itself, but the entry it displaced no longer fits
    assert broken(log.verify(), 4)


def test_verify_reports_an_unreadable_entry_on_sqlite(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'a.db'}")
    migrate(engine)
    log = AuditLog(engine)
    fill(log, 3)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET detail = '{broken' WHERE seq = 2"))
    result = log.verify()
    assert broken(result, 2) and "detail" in (result.problem or "")
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET detail = NULL, created_at = 'yesterday' WHERE seq = 2"))
    assert broken(log.verify(), 2)
    engine.dispose()


# -- checkpoints ----------------------------------------------------------------------------


def test_checkpoint_file(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "cp" / "nested"
    log = AuditLog(engine, folder, checkpoint_every=3)
    assert log.checkpoint() is None  # nothing to checkpoint yet
    fill(log, 7)
    point = log.checkpoint()
    assert isinstance(point, Checkpoint) and point.seq == 7 and point.hash == row(engine, 7)["hash"]
    lines = (folder / "checkpoints.jsonl").read_text(encoding="utf-8").splitlines()
    parsed = [json.loads(line) for line in lines]
    assert [p["seq"] for p in parsed] == [3, 6, 7]
    assert all(set(p) == {"seq", "hash", "created_at"} for p in parsed)
    assert parsed[0]["hash"] == row(engine, 3)["hash"]
    assert [p.seq for p in log.checkpoints()] == [3, 6, 7]
    assert log.verify().ok
    with pytest.raises(ValueError):
        AuditLog(engine).checkpoint()


def test_a_damaged_checkpoint_file_is_reported(engine: Engine, tmp_path: Path) -> None:
    log = AuditLog(engine, tmp_path / "cp", checkpoint_every=2)
    fill(log, 4)
    path = tmp_path / "cp" / "checkpoints.jsonl"
    with path.open("a", encoding="utf-8") as out:
        out.write('{"seq": 4, "hash": "short"}\n')
    result = log.verify()
    assert not result.ok and result.first_bad_seq is None and f"{path}:3" in (result.problem or "")


def test_a_checkpoint_that_disagrees_is_reported(engine: Engine, tmp_path: Path) -> None:
    log = AuditLog(engine, tmp_path / "cp", checkpoint_every=0)
    fill(log, 4)
    path = tmp_path / "cp" / "checkpoints.jsonl"
    path.parent.mkdir()
    path.write_text(json.dumps({"seq": 2, "hash": "c" * 64, "created_at": T0.isoformat()}) + "\n")
    assert broken(log.verify(), 2)


# -- export ---------------------------------------------------------------------------------


def test_export_writes_jsonl_that_reverifies(engine: Engine) -> None:
    log = AuditLog(engine, clock=Clock())
    fill(log, 7)
    out = io.StringIO()
    assert log.export(out) == 7
    lines = out.getvalue().splitlines()
    assert len(lines) == 7
    parsed = [json.loads(line) for line in lines]
    assert list(parsed[0]) == [*HASHED_FIELDS, "hash"]
    assert [p["seq"] for p in parsed] == list(range(1, 8))
    assert parsed[0]["prev_hash"] == GENESIS_HASH and parsed[0]["actor_name"] == "利用者0"
    for line in parsed:  # re-verified from the documented algorithm alone
        assert independent_hash(line) == line["hash"]
    for before, after in zip(parsed, parsed[1:], strict=False):
        assert after["prev_hash"] == before["hash"]
    assert verify_export(lines) == AuditVerification(True, 7, None, None)

    edited = json.loads(lines[4])
    edited["outcome"] = "ok" if edited["outcome"] != "ok" else "denied"
    assert broken(verify_export([*lines[:4], json.dumps(edited, ensure_ascii=False), *lines[5:]]), 5)
    assert broken(verify_export([*lines[:2], *lines[3:]]), 3)
    assert not verify_export([*lines[:2], "not json", *lines[3:]]).ok


def test_export_filters_by_time_in_batches(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gennai.records.audit._BATCH", 4)
    log = AuditLog(engine, clock=Clock(T0, timedelta(hours=1)))
    fill(log, 30)  # 12:00 on 1 November, then hourly
    out = io.StringIO()
    assert log.export(out) == 30
    since = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # entry 13 (00:00:00.123456 on the 2nd)
    until = datetime(2026, 11, 2, 3, 0, 0, 123456, tzinfo=UTC)  # exclusive: entry 16 is out
    out = io.StringIO()
    assert log.export(out, since=since, until=until) == 3
    lines = out.getvalue().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [13, 14, 15]
    assert verify_export(lines).ok  # a slice from the middle still chains
    out = io.StringIO()
    jst = timezone(timedelta(hours=9))
    assert log.export(out, since=datetime(2026, 11, 2, 9, 0, tzinfo=jst)) == 18  # same instant in JST
    out = io.StringIO()
    assert log.export(out, since=datetime(2026, 11, 2, 0, 0)) == 18  # naive: UTC


# -- property: any single tampering is detected --------------------------------------------


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit-template") / "template.db"
    engine = create_database_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


_short = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_entry = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["auth.sign_in", "key.create", "key.revoke", "team.update"]),
        "outcome": st.sampled_from(["ok", "denied", "failed"]),
        "actor_user_id": st.none() | st.uuids().map(str),
        "actor_name": st.none() | _short,
        "target_id": st.none() | _short,
        "detail": st.none() | st.dictionaries(st.sampled_from(["reason", "count", "kind"]), st.integers(-5, 5) | _short, max_size=3),
    }
)
_hex = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


def _tamper(data: st.DataObject, engine: Engine, n: int) -> str:
    kinds = ["edit", "delete"] + (["swap"] if n >= 2 else []) + ["forge_tail", "forge_inside", "forge_head"]
    kind = data.draw(st.sampled_from(kinds), label="kind")
    if kind == "edit":
        seq = data.draw(st.integers(1, n), label="seq")
        field = data.draw(st.sampled_from([*HASHED_FIELDS, "hash"]), label="field")
        current = row(engine, seq)[field]
        if field == "seq":
            value: Any = data.draw(st.integers(-3, n + 5).filter(lambda v: v < 1 or v > n), label="new seq")
        elif field == "created_at":
            value = current + timedelta(microseconds=data.draw(st.integers(1, 10**9) | st.integers(-(10**9), -1)))
        elif field in ("hash", "prev_hash"):
            value = data.draw(_hex.filter(lambda v: v != current), label="value")
        elif field == "detail":
            value = data.draw(st.dictionaries(_short, st.integers(), max_size=2).filter(lambda v: v != current))
        elif field in ("action", "outcome"):  # NOT NULL columns
            value = data.draw(_short.filter(lambda v: v != current), label="value")
        else:
            value = data.draw((st.none() | _short).filter(lambda v: v != current), label="value")
        set_fields(engine, seq, **{field: value})
    elif kind == "delete":
        delete_seqs(engine, data.draw(st.integers(1, n), label="seq"))
    elif kind == "swap":
        a = data.draw(st.integers(1, n), label="a")
        b = data.draw(st.integers(1, n).filter(lambda v: v != a), label="b")
        swap_contents(engine, a, b)
    elif kind == "forge_tail":
        correct = data.draw(st.booleans(), label="correct hash")
        gap = data.draw(st.integers(1, 3), label="at")
        # A well-formed entry right after the head is the one thing no keyless chain can
        # notice (until the next checkpoint); a forged tail must be malformed or misplaced.
        if correct and gap == 1:
            gap = 2
        insert_row(engine, forged_entry(n + gap, row(engine, n)["hash"], correct_hash=correct))
    elif kind == "forge_inside":
        forge_inside(engine, data.draw(st.integers(1, n), label="at"))
    else:
        insert_row(engine, forged_entry(0, GENESIS_HASH, correct_hash=data.draw(st.booleans())))
    return kind


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(entries=st.lists(_entry, min_size=1, max_size=8), data=st.data())
def test_any_single_tampering_is_detected(template_db: Path, entries: list[dict[str, Any]], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "audit.db"
        shutil.copy(template_db, path)
        engine = create_database_engine(f"sqlite:///{path}")
        try:
            log = AuditLog(engine, Path(folder) / "cp", checkpoint_every=0, clock=Clock())
            for fields in entries:
                log.append(fields.pop("action"), **fields)
            log.checkpoint()
            assert log.verify().ok
            kind = _tamper(data, engine, len(entries))
            result = log.verify()
            assert not result.ok, kind
            assert result.problem and "/" in result.problem and "\n" not in result.problem
        finally:
            engine.dispose()


# -- the command line -----------------------------------------------------------------------


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GENNAI, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, Engine, AuditLog]:
    config = tmp_path / "gennai.toml"
    config.write_text(
        '[database]\nurl = "sqlite:///data/gennai.db"\n\n[audit]\ncheckpoint_dir = "data/checkpoints"\ncheckpoint_every = 0\n',
        encoding="utf-8",
    )
    engine = create_database_engine(f"sqlite:///{tmp_path / 'data' / 'gennai.db'}")
    migrate(engine)
    return config, engine, AuditLog(engine, tmp_path / "data" / "checkpoints", 0)


def test_cli_verify(site: tuple[Path, Engine, AuditLog]) -> None:
    config, engine, log = site
    fill(log, 3)
    result = run("audit", "verify", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OK: 3 entries, chain intact"

    checkpoint = run("audit", "checkpoint", "--config", str(config))
    assert checkpoint.returncode == 0, checkpoint.stderr
    assert "entry 3" in checkpoint.stdout and row(engine, 3)["hash"] in checkpoint.stdout
    assert [p.seq for p in log.checkpoints()] == [3]

    set_fields(engine, 2, target_id="changed")
    result = run("audit", "verify", "--config", str(config))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.strip() == "第2項目のハッシュが一致しません（改ざんの可能性） / entry 2: hash mismatch (edited?)"

    delete_seqs(engine, 2, 3)
    result = run("audit", "verify", "--config", str(config))
    assert result.returncode == 1 and "entry 2" in result.stdout and "tail deleted" in result.stdout
    engine.dispose()


def test_cli_export(site: tuple[Path, Engine, AuditLog], tmp_path: Path) -> None:
    config, engine, _ = site
    log = AuditLog(engine, clock=Clock(datetime(2026, 10, 30, 12, 0, tzinfo=UTC), timedelta(days=1)))
    fill(log, 6)  # 30 Oct … 4 Nov, noon UTC: a day apart, whatever the local time zone

    everything = run("audit", "export", "--config", str(config))
    assert everything.returncode == 0, everything.stderr
    assert verify_export(everything.stdout.splitlines()) == AuditVerification(True, 6, None, None)
    assert "exported 6 entries" in everything.stderr

    target = tmp_path / "export.jsonl"
    since = run("audit", "export", "--config", str(config), "--since", "2026-11-01", "--output", str(target))
    assert since.returncode == 0, since.stderr
    assert since.stdout == "" and "exported 4 entries" in since.stderr
    lines = target.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [3, 4, 5, 6]
    assert verify_export(lines).ok

    window = run(
        "audit", "export", "--config", str(config), "--since", "2026-11-01T00:00:00+00:00", "--until", "2026-11-03T00:00Z"
    )
    assert [json.loads(line)["seq"] for line in window.stdout.splitlines()] == [3, 4]

    for option in ("--since", "--until"):
        bad = run("audit", "export", "--config", str(config), option, "last tuesday")
        assert bad.returncode == 2 and "Traceback" not in bad.stderr
        lines = [line for line in bad.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and option in lines[0] and "last tuesday" in lines[0]
    engine.dispose()
