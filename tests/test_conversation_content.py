"""Conversation content at rest: encryption, owner-only access, auditor access, retention,
key rotation and the `gennai content` commands, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select, text, update
from sqlalchemy.orm import Session

from gennai.conversations import (
    AuditorAccessDenied,
    AuditUnavailable,
    ContentIntegrityError,
    ContentKeyError,
    ConversationNotFound,
    ConversationStore,
    MasterKeyMissing,
    MasterKeys,
    ReasonRequired,
    RetentionJob,
    append_master_key,
    ensure_master_key_file,
    master_key_id,
    read_master_keys,
    rewrap_data_keys,
    rotate_data_key,
)
from gennai.conversations.keys import generate_master_key
from gennai.store.database import migrate
from gennai.store.tables import (
    COMMON_TEAM_ID,
    Conversation,
    ConversationMessage,
    DataKey,
    Membership,
    Team,
    User,
)
from tests.support.databases import database_engine

GENNAI = [sys.executable, "-m", "gennai"]
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
TITLE = "人事異動案の相談 TITLE-7f3a"
SECRET_TEXT = "取扱注意：山田太郎さんの異動は十二月一日付 MSG-91c2"
ANSWER_TEXT = "承知しました。内示は来週です ANSWER-55d0"
REASON = "監査請求 2026-041 に基づく確認"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with database_engine(request.param, tmp_path) as engine:
        migrate(engine)
        seed(engine)
        yield engine


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class AuditSpy:
    """Records entries; has the signature of AuditLog.append, so a wrong argument fails."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.entries: list[dict[str, Any]] = []
        self.on_call: Any = None

    def __call__(
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
        detail: dict[str, object] | None = None,
        ip: str | None = None,
    ) -> int:
        if self.on_call is not None:
            self.on_call()
        if self.fail:
            raise RuntimeError("audit trail unavailable")
        self.entries.append(
            {"action": action, "outcome": outcome, "actor_user_id": actor_user_id, "team_id": team_id,
             "target_type": target_type, "target_id": target_id, "detail": detail}
        )
        return len(self.entries)


TEAM = "11111111-1111-1111-1111-111111111111"
SHORT_TEAM = "22222222-2222-2222-2222-222222222222"
ALICE, BOB, ROOT, TEAM_ADMIN, AUDITOR, OLD_AUDITOR = (f"{n}0000000-0000-0000-0000-000000000000" for n in "abcdef")


def seed(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.add(Team(id=TEAM, name="jinji", display_name="人事課", retention_days=30, created_at=T0, policy={}))
        session.add(Team(id=SHORT_TEAM, name="short", display_name="短期", retention_days=7, created_at=T0, policy={}))
        for user_id, name, admin, roles, disabled in (
            (ALICE, "alice", False, [], False),
            (BOB, "bob", False, [], False),
            (ROOT, "root", True, [], False),
            (TEAM_ADMIN, "teamadmin", False, [], False),
            (AUDITOR, "auditor", False, ["auditor"], False),
            (OLD_AUDITOR, "former-auditor", False, ["auditor"], True),
        ):
            session.add(User(id=user_id, username=name, display_name=name, kind="person", is_system_admin=admin,
                             disabled=disabled, created_at=T0, roles=roles))
        session.flush()
        session.add(Membership(team_id=TEAM, user_id=TEAM_ADMIN, is_admin=True, created_at=T0))
        session.add(Membership(team_id=TEAM, user_id=ALICE, is_admin=False, created_at=T0))


def new_keys(*keys: bytes) -> MasterKeys:
    return MasterKeys.from_keys(*(keys or (os.urandom(32),)))


def conversation(store: ConversationStore, owner: str = ALICE, team: str = TEAM) -> str:
    cid = store.create(owner, team, TITLE)
    store.append(cid, owner, "user", SECRET_TEXT)
    store.append(cid, owner, "assistant", ANSWER_TEXT, model_id="tsuzumi-2", max_class=2)
    return cid


def every_stored_byte(engine: Engine) -> list[bytes]:
    values: list[bytes] = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        values.append(bytes(value))
                    elif value is not None:
                        values.append(str(value).encode("utf-8"))
    return values


def test_the_database_holds_no_plaintext(engine: Engine, tmp_path: Path) -> None:
    store = ConversationStore(engine, new_keys(), clock=Clock())
    cid = conversation(store)
    assert store.read(cid, ALICE).messages[0].content == SECRET_TEXT
    stored = every_stored_byte(engine)
    assert stored  # the dump did see the rows
    for plain in (TITLE, SECRET_TEXT, ANSWER_TEXT, "TITLE-7f3a", "MSG-91c2", "ANSWER-55d0", "山田太郎"):
        needle = plain.encode("utf-8")
        assert not any(needle in value for value in stored), plain
    if engine.dialect.name == "sqlite":  # and not in the database files either (WAL included)
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("gennai.db*"))
        assert raw and b"MSG-91c2" not in raw and "山田太郎".encode() not in raw and b"TITLE-7f3a" not in raw
    with engine.connect() as connection:
        nonces = connection.execute(select(ConversationMessage.nonce)).scalars().all()
    assert len(nonces) == 2 and all(len(n) == 12 for n in nonces) and len(set(nonces)) == 2


def test_round_trip_classes_and_listing(engine: Engine) -> None:
    clock = Clock()
    store = ConversationStore(engine, new_keys(), clock=clock)
    first = conversation(store)
    clock.advance(minutes=5)
    second = store.create(ALICE, TEAM, "", max_class=3)
    assert store.append(second, ALICE, "user", "絵文字 🎌 and\x00nul") == 1
    content = store.read(first, ALICE)
    assert content.title == TITLE and content.owner_id == ALICE and content.team_id == TEAM
    assert [(m.seq, m.role, m.content, m.model_id) for m in content.messages] == [
        (1, "user", SECRET_TEXT, None),
        (2, "assistant", ANSWER_TEXT, "tsuzumi-2"),
    ]
    assert content.max_class == 2
    clock.advance(minutes=1)
    store.append(first, ALICE, "user", "もう一度", max_class=1)  # never lowers
    assert store.read(first, ALICE).max_class == 2
    assert store.read(second, ALICE).messages[0].content == "絵文字 🎌 and\x00nul"
    listed = store.list(ALICE)
    assert [(c.id, c.title, c.max_class) for c in listed] == [(first, TITLE, 2), (second, "", 3)]  # latest activity first
    assert listed[0].expires_at == T0 + timedelta(minutes=6, days=30)  # from the last activity
    with pytest.raises(ValueError):
        store.create(ALICE, TEAM, "x", max_class=4)
    with pytest.raises(ValueError):
        store.create(ALICE, "no-such-team", "x")
    with pytest.raises(ValueError):
        store.append(first, ALICE, "", "x")


def test_a_ciphertext_is_bound_to_its_row(engine: Engine) -> None:
    store = ConversationStore(engine, new_keys(), clock=Clock())
    a = conversation(store)
    b = store.create(ALICE, TEAM, "other")
    store.append(b, ALICE, "user", "harmless")
    store.append(b, ALICE, "user", "also harmless")
    with engine.begin() as connection:
        source = connection.execute(
            select(ConversationMessage.nonce, ConversationMessage.ciphertext).where(
                ConversationMessage.conversation_id == a, ConversationMessage.seq == 1
            )
        ).one()
        # Same data key, same role: only the associated data tells the rows apart.
        connection.execute(
            update(ConversationMessage)
            .where(ConversationMessage.conversation_id == b, ConversationMessage.seq == 1)
            .values(nonce=source.nonce, ciphertext=source.ciphertext)
        )
    with pytest.raises(ContentIntegrityError, match=f"conversation {b} message 1"):
        store.read(b, ALICE)

    with engine.begin() as connection:  # swap two messages of one conversation
        rows = connection.execute(
            select(ConversationMessage.seq, ConversationMessage.nonce, ConversationMessage.ciphertext).where(
                ConversationMessage.conversation_id == a
            )
        ).all()
        first, second = rows[0], rows[1]
        for target, values in ((first.seq, second), (second.seq, first)):
            connection.execute(
                update(ConversationMessage)
                .where(ConversationMessage.conversation_id == a, ConversationMessage.seq == target)
                .values(nonce=values.nonce, ciphertext=values.ciphertext, role="user")
            )
    with pytest.raises(ContentIntegrityError):
        store.read(a, ALICE)

    c = conversation(store)
    with engine.begin() as connection:  # a database administrator hands the conversation to bob
        connection.execute(update(Conversation).where(Conversation.id == c).values(owner_id=BOB))
    with pytest.raises(ContentIntegrityError):
        store.read(c, BOB)
    with pytest.raises(ContentIntegrityError):
        store.list(BOB)


def test_only_the_owner_reads_lists_and_deletes(engine: Engine) -> None:
    audit = AuditSpy()
    store = ConversationStore(engine, new_keys(), audit=audit, clock=Clock())
    cid = conversation(store)
    for other in (BOB, ROOT, TEAM_ADMIN, AUDITOR):
        with pytest.raises(ConversationNotFound) as denied:
            store.read(cid, other)
        assert str(denied.value) == "conversation not found"
        assert store.list(other) == []
        with pytest.raises(ConversationNotFound):
            store.append(cid, other, "user", "injected")
        with pytest.raises(ConversationNotFound):
            store.delete(cid, other)
    with pytest.raises(ConversationNotFound) as missing:
        store.read(str(uuid.uuid4()), ALICE)
    assert str(missing.value) == "conversation not found"  # the same answer: existence is not revealed
    assert not audit.entries
    # No method gives content to an administrator.
    public = {name for name in dir(store) if not name.startswith("_")}
    assert public == {"append", "apply_team_retention", "audit", "auditor_open", "clock", "create", "data_keys",
                      "delete", "engine", "list", "purge_batch_size", "purge_expired", "read", "rename"}

    store.delete(cid, ALICE)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Conversation)).scalar() == 0
        assert connection.execute(select(func.count()).select_from(ConversationMessage)).scalar() == 0
    assert audit.entries == [
        {"action": "content.deleted", "outcome": "ok", "actor_user_id": ALICE, "team_id": TEAM,
         "target_type": "conversation", "target_id": cid, "detail": {"messages": 2}}
    ]
    with pytest.raises(ConversationNotFound):
        store.read(cid, ALICE)
    with pytest.raises(ConversationNotFound):
        store.delete(cid, ALICE)


def test_auditor_access_is_reasoned_and_audited_first(engine: Engine) -> None:
    store = ConversationStore(engine, new_keys(), clock=Clock())
    cid = conversation(store)
    decrypted: list[str] = []
    real_cipher = store.data_keys.cipher

    def spying_cipher(data_key_id: str):  # type: ignore[no-untyped-def]
        decrypted.append(data_key_id)
        return real_cipher(data_key_id)

    store.data_keys.cipher = spying_cipher  # type: ignore[method-assign]
    audit = AuditSpy()
    seen_before_audit: list[int] = []
    audit.on_call = lambda: seen_before_audit.append(len(decrypted))

    content = store.auditor_open(cid, AUDITOR, f"  {REASON}  ", audit)
    assert [m.content for m in content.messages] == [SECRET_TEXT, ANSWER_TEXT] and content.title == TITLE
    assert seen_before_audit == [0] and decrypted  # the entry came before any decryption
    assert audit.entries == [
        {"action": "content.auditor_access", "outcome": "ok", "actor_user_id": AUDITOR, "team_id": TEAM,
         "target_type": "conversation", "target_id": cid, "detail": {"reason": REASON}}
    ]

    # The audit trail cannot be written: no content.
    decrypted.clear()
    with pytest.raises(AuditUnavailable):
        store.auditor_open(cid, AUDITOR, REASON, AuditSpy(fail=True))
    assert decrypted == []
    with pytest.raises(AuditUnavailable):
        store.auditor_open(cid, AUDITOR, REASON)  # no audit log at all

    # Only auditors, and only with a reason; refusals are audited.
    for user in (ROOT, TEAM_ADMIN, ALICE, BOB, OLD_AUDITOR, "nobody"):
        refusals = AuditSpy()
        with pytest.raises(AuditorAccessDenied):
            store.auditor_open(cid, user, REASON, refusals)
        assert [(e["action"], e["outcome"]) for e in refusals.entries] == [("content.auditor_access", "denied")]
    for reason in ("", "   ", "because", "  short   "):
        refusals = AuditSpy()
        with pytest.raises(ReasonRequired):
            store.auditor_open(cid, AUDITOR, reason, refusals)
        assert refusals.entries[0]["outcome"] == "denied"
    # A refused attempt is refused even when the audit trail is down.
    with pytest.raises(AuditorAccessDenied):
        store.auditor_open(cid, BOB, REASON, AuditSpy(fail=True))
    refusals = AuditSpy()
    with pytest.raises(ConversationNotFound):
        store.auditor_open(str(uuid.uuid4()), AUDITOR, REASON, refusals)
    assert refusals.entries[0]["outcome"] == "not_found"
    assert decrypted == []


def test_purge_deletes_exactly_the_expired(engine: Engine) -> None:
    clock = Clock()
    store = ConversationStore(engine, new_keys(), clock=clock)
    kept = conversation(store, team=TEAM)  # 30 days
    short = conversation(store, team=SHORT_TEAM)  # 7 days
    active = conversation(store, team=SHORT_TEAM)
    clock.advance(days=5)
    store.append(active, ALICE, "user", "still working on it")  # retention restarts: day 12
    assert store.purge_expired(T0 + timedelta(days=7) - timedelta(seconds=1)) == 0
    assert store.purge_expired(T0 + timedelta(days=8)) == 1
    assert {c.id for c in store.list(ALICE)} == {kept, active}
    with engine.connect() as connection:
        assert connection.execute(
            select(func.count()).select_from(ConversationMessage).where(ConversationMessage.conversation_id == short)
        ).scalar() == 0
    clock.advance(days=8)  # day 13
    assert store.purge_expired() == 1
    assert [c.id for c in store.list(ALICE)] == [kept]
    assert store.read(kept, ALICE).messages[0].content == SECRET_TEXT

    # A shorter retention period applies to existing conversations once re-applied.
    with engine.begin() as connection:
        connection.execute(update(Team).where(Team.id == TEAM).values(retention_days=1))
    assert store.apply_team_retention(TEAM) == 1
    assert store.purge_expired() == 1 and store.list(ALICE) == []


def test_purge_is_safe_from_two_workers_at_once(engine: Engine) -> None:
    clock = Clock()
    store = ConversationStore(engine, new_keys(), clock=clock, purge_batch_size=7)
    for _ in range(40):
        conversation(store, team=SHORT_TEAM)
    survivor = conversation(store, team=TEAM)
    later = T0 + timedelta(days=10)
    counts: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            counts.append(store.purge_expired(later))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and sum(counts) == 40
    assert [c.id for c in store.list(ALICE)] == [survivor]
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ConversationMessage)).scalar() == 2


def test_concurrent_appends_get_consecutive_numbers(engine: Engine) -> None:
    store = ConversationStore(engine, new_keys())
    cid = store.create(ALICE, TEAM, "busy")
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for index in range(8):
                store.append(cid, ALICE, "user", f"{name}-{index}")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    messages = store.read(cid, ALICE).messages
    assert [m.seq for m in messages] == list(range(1, 17))
    assert sorted(m.content for m in messages) == sorted(f"{n}-{i}" for n in "xy" for i in range(8))


def test_master_key_rotation_then_the_old_key_is_removed(engine: Engine, tmp_path: Path) -> None:
    key_file = tmp_path / "content.keys"
    assert ensure_master_key_file(key_file)
    old = read_master_keys(key_file, None)
    store = ConversationStore(engine, old, clock=Clock())
    cid = conversation(store)
    rotate_data_key(engine, old)  # two data keys, both under the old master key
    store.data_keys.forget_current()
    second = conversation(store)

    new = append_master_key(key_file)
    keys = read_master_keys(key_file, None)
    assert keys.ids == (old.current.id, new.id) and keys.current.id == new.id
    result = rewrap_data_keys(engine, keys)
    assert (result.rewrapped, result.total, result.master_key_id) == (2, 2, new.id)
    assert rewrap_data_keys(engine, keys).rewrapped == 0  # idempotent

    key_file.write_text(key_file.read_text().splitlines()[-1] + "\n")  # the old line goes
    fresh = ConversationStore(engine, read_master_keys(key_file, None))  # as a restarted server
    assert fresh.read(cid, ALICE).messages[0].content == SECRET_TEXT
    assert fresh.read(second, ALICE).title == TITLE
    with engine.connect() as connection:
        assert set(connection.execute(select(DataKey.master_key_id)).scalars()) == {new.id}
    # The running store had the old key only: it picks the new one up from the file.
    store.data_keys._ciphers.clear()
    assert store.read(cid, ALICE).messages[1].content == ANSWER_TEXT


def test_a_missing_master_key_is_named(engine: Engine) -> None:
    first = os.urandom(32)
    store = ConversationStore(engine, new_keys(first))
    cid = conversation(store)
    with engine.connect() as connection:
        data_key_id = connection.execute(select(Conversation.data_key_id)).scalar_one()
    other = ConversationStore(engine, new_keys(os.urandom(32)))
    with pytest.raises(MasterKeyMissing) as missing:
        other.read(cid, ALICE)
    message = str(missing.value)
    assert master_key_id(first) in message and data_key_id in message and "\n" not in message
    with pytest.raises(MasterKeyMissing):
        rewrap_data_keys(engine, new_keys(os.urandom(32)))
    with engine.connect() as connection:  # nothing was changed
        assert connection.execute(select(DataKey.master_key_id)).scalar_one() == master_key_id(first)


def test_data_key_rotation(engine: Engine) -> None:
    clock = Clock()
    keys = new_keys()
    store = ConversationStore(engine, keys, clock=clock, data_key_max_age_days=30)
    old_conversation = conversation(store)
    with engine.connect() as connection:
        first_key = connection.execute(select(Conversation.data_key_id)).scalar_one()

    new_key, retired = rotate_data_key(engine, keys, now=clock())
    assert retired == 1 and new_key != first_key
    store.data_keys.forget_current()  # (a running server re-reads it within a minute)
    new_conversation = conversation(store)

    def key_of(cid: str) -> str:
        with engine.connect() as connection:
            return connection.execute(select(Conversation.data_key_id).where(Conversation.id == cid)).scalar_one()

    assert key_of(new_conversation) == new_key and key_of(old_conversation) == first_key
    assert store.read(old_conversation, ALICE).messages[0].content == SECRET_TEXT  # old content still decrypts
    # The next message moves the old conversation to the current key, title and messages.
    store.append(old_conversation, ALICE, "user", "続きです")
    assert key_of(old_conversation) == new_key
    fresh = ConversationStore(engine, keys)
    assert [m.content for m in fresh.read(old_conversation, ALICE).messages] == [SECRET_TEXT, ANSWER_TEXT, "続きです"]
    assert fresh.read(old_conversation, ALICE).title == TITLE

    clock.advance(days=31)  # the current key is now too old: rotated on use
    aged = store.create(ALICE, TEAM, "after a month")
    assert key_of(aged) not in (first_key, new_key)
    with engine.connect() as connection:
        current = connection.execute(select(DataKey.id).where(DataKey.retired_at.is_(None))).scalars().all()
    assert current == [key_of(aged)]


def test_master_key_files_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "nested" / "content.keys"
    assert ensure_master_key_file(path) and not ensure_master_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    before = path.read_text()
    append_master_key(path)
    assert path.read_text().startswith(before) and path.stat().st_mode & 0o777 == 0o600
    keys = read_master_keys(path, None)
    assert len(keys.keys) == 2 and all(len(k) == 16 for k in keys.ids)
    assert keys.ids[0] != keys.ids[1] and "key=" not in repr(keys.current)

    bad = tmp_path / "bad.keys"
    secret_line = generate_master_key()
    bad.write_text(f"# operator's note\n{secret_line}\nnot base64!\n")
    with pytest.raises(ContentKeyError, match=r"bad.keys:3: not a base64-encoded key") as error:
        read_master_keys(bad, None)
    assert secret_line not in str(error.value)
    bad.write_text("c2hvcnQ=\n")
    with pytest.raises(ContentKeyError, match="must be 32 bytes"):
        read_master_keys(bad, None)
    with pytest.raises(ContentKeyError, match="not found"):
        read_master_keys(tmp_path / "missing.keys", None)

    first, second = generate_master_key(), generate_master_key()
    monkeypatch.setenv("TEST_CONTENT_KEYS", f"{first},{second}")
    from_env = read_master_keys(path, "TEST_CONTENT_KEYS")  # the variable wins over the file
    assert from_env.env_name == "TEST_CONTENT_KEYS" and len(from_env.keys) == 2
    monkeypatch.delenv("TEST_CONTENT_KEYS")
    with pytest.raises(ContentKeyError, match="TEST_CONTENT_KEYS is not set"):
        read_master_keys(path, "TEST_CONTENT_KEYS")


def test_retention_job_runs_logs_and_survives_failures(caplog: pytest.LogCaptureFixture) -> None:
    class FlakyStore:
        def __init__(self) -> None:
            self.calls = 0

        def purge_expired(self, now: datetime | None = None, *, stop: threading.Event | None = None) -> int:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("database is down\nsecond line")
            return 3

    store = FlakyStore()

    async def scenario() -> RetentionJob:
        job = RetentionJob(store, interval_s=0.05, first_delay_s=0.01)  # type: ignore[arg-type]
        await job.start()
        for _ in range(200):
            await asyncio.sleep(0.01)
            if store.calls >= 3:
                break
        await job.stop()
        assert not job.running
        return job

    with caplog.at_level(logging.INFO, logger="gennai.retention"):
        job = asyncio.run(scenario())
    assert store.calls >= 3 and job.failures == 1 and job.deleted == 3 * (store.calls - 1)
    assert "purge failed (RuntimeError: database is down)" in caplog.text
    assert "deleted 3 expired conversation(s)" in caplog.text

    async def stopped_before_first_run() -> None:
        idle = RetentionJob(store, interval_s=3600, first_delay_s=3600)  # type: ignore[arg-type]
        await idle.start()
        await asyncio.wait_for(idle.stop(), 2)

    calls = store.calls
    asyncio.run(stopped_before_first_run())
    assert store.calls == calls


def test_retention_job_purges_a_real_store(engine: Engine) -> None:
    clock = Clock()
    store = ConversationStore(engine, new_keys(), clock=clock)
    conversation(store, team=SHORT_TEAM)
    kept = conversation(store, team=TEAM)
    clock.advance(days=8)

    async def scenario() -> int:
        job = RetentionJob(store, interval_s=3600, first_delay_s=0)
        await job.start()
        for _ in range(500):
            await asyncio.sleep(0.01)
            if job.runs and job.deleted:
                break
        await job.stop()
        return job.deleted

    assert asyncio.run(scenario()) == 1
    assert [c.id for c in store.list(ALICE)] == [kept]


# -- the command line, on a `gennai init`-ed folder --------------------------------------


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GENNAI, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_content_commands_on_an_initialised_folder(tmp_path: Path) -> None:
    from gennai.config import load_config
    from gennai.conversations import load_master_keys
    from gennai.store.database import create_database_engine

    site = tmp_path / "site"
    init = run("init", "--dir", str(site))
    assert init.returncode == 0, init.stderr
    key_file = site / "data" / "content.keys"
    assert key_file.stat().st_mode & 0o077 == 0 and len(key_file.read_text().split()) == 1
    assert "content master key" in init.stdout
    original = key_file.read_text()
    assert run("init", "--dir", str(site)).returncode == 0 and key_file.read_text() == original  # kept
    config = str(site / "gennai.toml")

    loaded = load_config(config)
    engine = create_database_engine(loaded.database_url)
    with Session(engine) as session, session.begin():
        session.add(User(id=ALICE, username="alice", display_name="alice", kind="person", is_system_admin=False,
                         disabled=False, created_at=T0, roles=[]))
    store = ConversationStore(engine, load_master_keys(loaded))
    live = conversation(store, team=COMMON_TEAM_ID)
    old_store = ConversationStore(engine, load_master_keys(loaded), clock=Clock(datetime.now(UTC) - timedelta(days=400)))
    expired = conversation(old_store, team=COMMON_TEAM_ID)  # the common team keeps 365 days

    rotated = run("content", "rotate-data-key", "--config", config)
    assert rotated.returncode == 0, rotated.stderr
    assert "new data key" in rotated.stdout and "retired 1 data key(s)" in rotated.stdout

    old_id = load_master_keys(loaded).current.id
    master = run("content", "rotate-master-key", "--config", config)
    assert master.returncode == 0, master.stderr
    assert "re-wrapped 2 of 2 data key(s)" in master.stdout and old_id in master.stdout
    lines = key_file.read_text().splitlines()
    assert len(lines) == 2 and key_file.stat().st_mode & 0o777 == 0o600
    key_file.write_text(lines[-1] + "\n")  # the operator removes the old line

    fresh = ConversationStore(engine, load_master_keys(load_config(config)))
    assert fresh.read(live, ALICE).messages[0].content == SECRET_TEXT
    assert fresh.read(expired, ALICE).title == TITLE
    rewrap = run("content", "rewrap", "--config", config)
    assert rewrap.returncode == 0 and "re-wrapped 0 of 2" in rewrap.stdout

    purged = run("content", "purge", "--config", config)
    assert purged.returncode == 0, purged.stderr
    assert "deleted 1 expired conversation(s)" in purged.stdout
    assert [c.id for c in fresh.list(ALICE)] == [live]

    # Keys from the environment: rotation is refused with what to do instead.
    env = {"GENNAI_CONTENT__MASTER_KEY_ENV": "SITE_CONTENT_KEYS", "SITE_CONTENT_KEYS": lines[-1]}
    refused = one_line_error(run("content", "rotate-master-key", "--config", config, env=env))
    assert "SITE_CONTENT_KEYS" in refused and "gennai content rewrap" in refused
    assert run("content", "rewrap", "--config", config, env=env).returncode == 0

    # A key file that lacks the data keys' master key: the error names it.
    current_id = load_master_keys(loaded).current.id
    key_file.write_text(generate_master_key() + "\n")
    for command in (["rewrap"], ["rotate-master-key"]):
        line = one_line_error(run("content", *command, "--config", config))
        assert current_id in line
    assert len(key_file.read_text().splitlines()) == 1  # rotation refused before adding a key
    key_file.unlink()
    assert "content master key file not found" in one_line_error(run("content", "rotate-data-key", "--config", config))
    engine.dispose()


def test_rename_is_owner_only_and_sealed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gennai.conversations import ConversationNotFound, ConversationStore, MasterKeys
    from gennai.store.database import create_database_engine, migrate
    from gennai.store.tables import User
    from datetime import UTC, datetime
    from sqlalchemy.orm import Session
    import os
    import pytest

    engine = create_database_engine(f"sqlite:///{tmp_path / 'r.db'}")
    migrate(engine)
    with Session(engine) as session, session.begin():
        for uid in ("owner", "other"):
            session.add(User(id=uid, username=uid, display_name=uid, kind="person", is_system_admin=False,
                             disabled=False, created_at=datetime.now(UTC), roles=[], failed_sign_ins=0))
    store = ConversationStore(engine, MasterKeys.from_keys(os.urandom(32)))
    conversation = store.create("owner", "00000000-0000-0000-0000-000000000000", "古い題名")
    store.rename(conversation, "owner", "  新しい   題名 ")
    assert store.list("owner")[0].title == "新しい 題名"
    with pytest.raises(ConversationNotFound):
        store.rename(conversation, "other", "乗っ取り")
    with engine.connect() as connection:
        raw = b"".join(bytes(v) for v in connection.exec_driver_sql("SELECT title_ciphertext FROM conversations").scalars())
    assert "新しい".encode() not in raw
    engine.dispose()
