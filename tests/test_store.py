"""Storage: migrations, keys and usage records on SQLite and on PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from gennai.accounts.keys import KeyVerifier, create_key, hash_key, list_keys, revoke_key
from gennai.records.usage import UsageEntry, UsageWriter
from gennai.store.database import create_database_engine, migrate
from gennai.store.tables import ApiKey, UsageRecord
from tests.support.databases import database_engine

SECRET = b"s" * 40


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with database_engine(request.param, tmp_path) as engine:
        migrate(engine)
        yield engine


def entry(request_id: str, **overrides: object) -> UsageEntry:
    values: dict[str, object] = {
        "request_id": request_id,
        "created_at": datetime.now(UTC),
        "endpoint": "chat.completions",
        "status": "ok",
        "http_status": 200,
        "api_key_id": "k1",
        "model_id": "m",
        "tokens_in": 10,
        "tokens_out": 5,
        "cost_yen": 0.25,
    }
    values.update(overrides)
    return UsageEntry(**values)  # type: ignore[arg-type]


def test_migrations_create_schema_and_are_idempotent(engine: Engine) -> None:
    migrate(engine)  # again: nothing to do
    inspector = inspect(engine)
    assert {"users", "api_keys", "usage_records", "alembic_version"} <= set(inspector.get_table_names())
    indexes = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("usage_records")}
    assert indexes["ix_usage_key_day"] == ["api_key_id", "created_at"]


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_keys_are_stored_only_as_keyed_hashes(engine: Engine) -> None:
    created = create_key(engine, SECRET, name="ops", admin=True)
    with Session(engine) as session:
        row = session.scalars(select(ApiKey)).one()
    assert created.key not in (row.key_hash, row.prefix)
    assert row.key_hash == hash_key(SECRET, created.key)
    assert row.key_hash != hash_key(b"t" * 40, created.key)
    assert created.key.startswith(row.prefix) and "admin" in row.scopes


def test_verify_revoke_and_expiry(engine: Engine) -> None:
    verifier = KeyVerifier(engine, SECRET, ttl_s=0)
    live = create_key(engine, SECRET, name="live")
    expired = create_key(engine, SECRET, name="old", expires_at=datetime.now(UTC) - timedelta(seconds=1))
    principal = verifier.verify(live.key)
    assert principal is not None and principal.key_name == "live" and not principal.is_system_admin
    assert verifier.verify(expired.key) is None
    assert verifier.verify(live.key + "x") is None
    assert revoke_key(engine, live.prefix)
    assert verifier.verify(live.key) is None
    assert not revoke_key(engine, live.prefix)  # already revoked
    assert [k.name for k in list_keys(engine)] == ["live", "old"]


def test_cache_keeps_a_revoked_key_only_for_its_ttl(engine: Engine) -> None:
    verifier = KeyVerifier(engine, SECRET, ttl_s=0.2)
    created = create_key(engine, SECRET, name="cached")
    assert verifier.verify(created.key) is not None
    revoke_key(engine, created.record_id)
    hit, principal = verifier.cached(created.key)
    assert hit and principal is not None  # still trusted within the TTL
    time.sleep(0.25)
    assert verifier.verify(created.key) is None


def test_usage_writer_batches_and_flushes_on_close(engine: Engine, tmp_path: Path) -> None:
    writer = UsageWriter(engine, tmp_path / "spool", flush_interval_s=60, batch_size=1000)
    writer.start()
    for index in range(250):
        writer.add(entry(f"r{index}"))
    writer.close()
    with Session(engine) as session:
        rows = session.scalars(select(UsageRecord)).all()
    assert len(rows) == 250 and writer.written == 250
    assert rows[0].cost_yen == pytest.approx(0.25) and rows[0].tokens_in == 10


def test_usage_records_survive_an_unreachable_database(engine: Engine, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    down = create_database_engine("postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=1")
    writer = UsageWriter(down, spool, flush_interval_s=60)
    for index in range(30):
        writer.add(entry(f"lost-{index}"))
    assert writer.flush() is False and writer.pending == 30
    writer.close()  # graceful shutdown while the database is down: spool to disk
    down.dispose()
    assert writer.pending == 0 and len(list(spool.glob("usage-*.jsonl"))) == 1

    # The database is back: the next start replays the spool, ignoring duplicates.
    duplicate = UsageWriter(engine, tmp_path / "elsewhere")
    duplicate.add(entry("lost-0"))  # one of them already made it to the database
    assert duplicate.flush()
    recovered = UsageWriter(engine, spool, flush_interval_s=60)
    recovered.start()
    recovered.close()
    with Session(engine) as session:
        ids = sorted(session.scalars(select(UsageRecord.request_id)).all())
    assert len(ids) == 30 and ids[0] == "lost-0"
    assert not list(spool.glob("usage-*.jsonl"))


def test_per_key_per_day_query(engine: Engine, tmp_path: Path) -> None:
    writer = UsageWriter(engine, tmp_path / "spool")
    day = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    for index in range(5):
        writer.add(entry(f"a{index}", api_key_id="alpha", created_at=day + timedelta(hours=index)))
    writer.add(entry("b0", api_key_id="beta", created_at=day))
    writer.add(entry("a-next", api_key_id="alpha", created_at=day + timedelta(days=1)))
    assert writer.flush()
    with Session(engine) as session:
        count = len(
            session.scalars(
                select(UsageRecord.id).where(
                    UsageRecord.api_key_id == "alpha",
                    UsageRecord.created_at >= day,
                    UsageRecord.created_at < day + timedelta(days=1),
                )
            ).all()
        )
    assert count == 5


def test_policy_fields_round_trip(engine: Engine, tmp_path: Path) -> None:
    writer = UsageWriter(engine, tmp_path / "spool")
    writer.add(entry("p1", effective_class=2, policy_action="rerouted", policy_rule="domestic", findings={"PERSON": 2, "PHONE": 1}))
    writer.add(entry("p2"))
    assert writer.flush()
    with Session(engine) as session:
        rows = {r.request_id: r for r in session.scalars(select(UsageRecord)).all()}
    assert rows["p1"].findings == {"PERSON": 2, "PHONE": 1} and rows["p1"].policy_action == "rerouted"
    assert rows["p1"].effective_class == 2 and rows["p2"].findings is None


def test_conversation_class_never_goes_down(engine: Engine) -> None:
    from gennai.policy.conversations import ConversationClasses

    conversations = ConversationClasses(engine)
    assert conversations.get("alice", "c1") == 1
    conversations.raise_to("alice", "c1", 2)
    conversations.raise_to("alice", "c1", 1)
    assert conversations.get("alice", "c1") == 2
    conversations.raise_to("alice", "c1", 3)
    conversations.raise_to("alice", "c1", 2)
    assert conversations.get("alice", "c1") == 3
    assert conversations.get("bob", "c1") == 1  # scoped to its owner
