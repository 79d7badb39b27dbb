"""Quotas: both backends behind the same tests, two workers sharing Redis, Redis down."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gennai.accounts.quotas import (
    JST,
    Limits,
    MemoryQuotaBackend,
    QuotaExceeded,
    QuotaLimits,
    QuotaService,
    QuotaUnavailable,
    RedisQuotaBackend,
    Reservation,
    Subject,
    build_quota_service,
    windows_at,
)
from gennai.api.errors import error_response
from gennai.config import QuotaConfig
from gennai.store.database import create_database_engine, migrate
from gennai.store.tables import Quota

REDIS_URL = os.environ.get("GENNAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def jst(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=JST).timestamp()


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def user(limits: Limits, subject_id: str = "u1") -> Subject:
    return Subject("user", subject_id, limits)


def team(limits: Limits, subject_id: str = "t1") -> Subject:
    return Subject("team", subject_id, limits)


def redis_prefix() -> str:
    return f"gennai-test:{uuid.uuid4().hex}"


def delete_prefix(prefix: str, url: str = REDIS_URL) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="session")
def shared_redis() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is not usable ({type(exc).__name__}); run ./scripts/services")
    finally:
        client.close()
    return REDIS_URL


Run = Callable[[Clock, Callable[[QuotaService, Clock], Awaitable[None]]], None]


@pytest.fixture(params=["memory", "redis"])
def run(request: pytest.FixtureRequest) -> Iterator[Run]:
    """run(clock, scenario): the scenario gets a fresh service on this backend, in its own loop."""
    prefix = redis_prefix()
    if request.param == "redis":
        request.getfixturevalue("shared_redis")

    def runner(clock: Clock, scenario: Callable[[QuotaService, Clock], Awaitable[None]]) -> None:
        async def main() -> None:
            backend = MemoryQuotaBackend() if request.param == "memory" else RedisQuotaBackend(REDIS_URL, prefix=prefix)
            service = QuotaService(backend, clock=clock)
            try:
                await scenario(service, clock)
            finally:
                await service.aclose()

        asyncio.run(main())

    yield runner
    if request.param == "redis":
        delete_prefix(prefix)


async def refused(service: QuotaService, subjects: list[Subject], tokens: int = 0, yen: float = 0.0) -> QuotaExceeded:
    with pytest.raises(QuotaExceeded) as caught:
        await service.reserve(subjects, tokens, yen)
    return caught.value


# --- the limits, on both backends -------------------------------------------------------------


def test_requests_per_minute_is_a_sliding_window(run: Run) -> None:
    async def scenario(service: QuotaService, clock: Clock) -> None:
        me = [user(Limits(requests_per_minute=3))]
        for _ in range(3):
            await service.reserve(me, 0, 0)
            clock.advance(10)  # requests at t, t+10, t+20
        error = await refused(service, me)  # at t+30: the first leaves the window at t+60
        assert error.status == 429 and error.code == "quota_exceeded"
        assert error.limit_kind == "requests_per_minute" and error.scope == "user"
        assert error.retry_after == 30
        assert (await service.usage(me[0]))["requests_per_minute"]["used"] == 3  # the refusal counted nothing
        clock.advance(30.001)
        await service.reserve(me, 0, 0)
        error = await refused(service, me)
        assert error.retry_after == 10  # the second (t+10) leaves at t+70

    run(Clock(jst(2024, 11, 20, 10, 0, 0)), scenario)


def test_tokens_per_day_reset_at_midnight_japan_time(run: Run) -> None:
    async def scenario(service: QuotaService, clock: Clock) -> None:
        me = [user(Limits(tokens_per_day=1000))]
        await service.reserve(me, 600, 0)
        error = await refused(service, me, tokens=500)  # 600 + 500 > 1000
        assert error.limit_kind == "tokens_per_day"
        assert error.retry_after == 3600  # 23:00 → 0:00 JST
        assert "1日のトークン数の上限（1,000トークン）の残り400トークン" in error.message
        await service.reserve(me, 400, 0)  # exactly the limit
        error = await refused(service, me, tokens=0)  # nothing left: refused even with no estimate
        assert "あなたの1日のトークン数の上限（1,000トークン）に達しました" in error.message
        assert "12月1日 0:00（日本時間）にリセットされます" in error.message
        usage = await service.usage(me[0])
        assert usage["tokens_per_day"]["used"] == 1000 and usage["tokens_per_day"]["remaining"] == 0
        assert usage["tokens_per_day"]["resets_at"] == "2024-12-01T00:00:00+09:00"
        clock.advance(3600)  # midnight in Tokyo (15:00 UTC)
        await service.reserve(me, 1000, 0)

    run(Clock(jst(2024, 11, 30, 23, 0, 0)), scenario)


def test_tokens_per_month_span_days_and_reset_on_the_first(run: Run) -> None:
    async def scenario(service: QuotaService, clock: Clock) -> None:
        me = [user(Limits(tokens_per_month=10_000))]
        for _ in range(5):
            await service.reserve(me, 2000, 0)
            clock.advance(86400)  # a new day does not reset the month
        error = await refused(service, me, tokens=1)
        assert error.limit_kind == "tokens_per_month"
        assert error.resets_at == datetime(2024, 12, 1, tzinfo=JST)
        assert error.retry_after == jst(2024, 12, 1) - clock.now
        assert "今月のトークン数の上限（10,000トークン）に達しました。12月1日 0:00（日本時間）にリセットされます" in error.message
        clock.now = jst(2024, 12, 1)
        await service.reserve(me, 10_000, 0)

    run(Clock(jst(2024, 11, 10, 12, 0, 0)), scenario)


def test_team_budget_message_and_retry_after(run: Run) -> None:
    async def scenario(service: QuotaService, clock: Clock) -> None:
        ours = [team(Limits(budget_yen_per_month=50_000))]
        reservation = await service.reserve(ours, 1000, 49_999.5)
        await service.settle(reservation, 1000, 50_000)
        error = await refused(service, ours, yen=0.01)
        assert error.message == (
            "チームの今月の予算（50,000円）に達しました。12月1日 0:00（日本時間）にリセットされます"
            " / The team's monthly budget (¥50,000) is used up; it resets on 1 December 00:00 JST"
        )
        assert error.retry_after == 2 * 86400 + 12 * 3600  # 28 Nov 12:00 → 1 Dec 0:00 JST
        response = error_response(error)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == str(2 * 86400 + 12 * 3600)
        usage = await service.usage(ours[0])
        assert usage["budget_yen_per_month"] == {
            "used": 50_000.0,
            "limit": 50_000,
            "remaining": 0,
            "resets_at": "2024-12-01T00:00:00+09:00",
        }

    run(Clock(jst(2024, 11, 28, 12, 0, 0)), scenario)


def test_user_and_team_limits_together_refusal_reserves_nothing(run: Run) -> None:
    async def scenario(service: QuotaService, clock: Clock) -> None:
        shared_team = team(Limits(tokens_per_day=1000, budget_yen_per_month=100))
        alice = user(Limits(requests_per_minute=10, tokens_per_day=700), "alice")
        bob = user(Limits(requests_per_minute=1), "bob")
        await service.reserve([alice, shared_team], 600, 40)
        # Bob is under his own limits but the team's day is nearly used up.
        error = await refused(service, [bob, shared_team], tokens=500, yen=1)
        assert (error.scope, error.limit_kind) == ("team", "tokens_per_day")
        assert error.message.startswith("チームの1日のトークン数の上限")
        bob_usage = await service.usage(bob)
        assert bob_usage["requests_per_minute"]["used"] == 0 and bob_usage["tokens_per_day"]["used"] == 0
        # Alice's own limit blocks: the team is not charged either.
        error = await refused(service, [alice, shared_team], tokens=200, yen=1)
        assert (error.scope, error.limit_kind) == ("user", "tokens_per_day")
        assert error.message.startswith("あなたの1日のトークン数の上限")
        team_usage = await service.usage(shared_team)
        assert team_usage["tokens_per_day"]["used"] == 600 and team_usage["budget_yen_per_month"]["used"] == 40
        assert (await service.usage(alice))["requests_per_minute"]["used"] == 1
        # Both block: Retry-After is the longer wait (the month's budget, not the minute).
        await service.reserve([bob, shared_team], 100, 0)
        error = await refused(service, [bob, shared_team], tokens=0, yen=61)
        assert error.limit_kind == "budget_yen_per_month"
        assert error.retry_after > 60
        # Duplicated subjects are counted once.
        await service.reserve([alice, alice], 10, 0)
        assert (await service.usage(alice))["tokens_per_day"]["used"] == 610

    run(Clock(jst(2024, 11, 20, 9, 0, 0)), scenario)


def test_settle_replaces_the_estimate(run: Run) -> None:
    async def scenario(service: QuotaService, clock: Clock) -> None:
        me = user(Limits(requests_per_minute=100, tokens_per_day=10_000, tokens_per_month=20_000, budget_yen_per_month=10))
        reservation = await service.reserve([me], 4000, 4.0)
        usage = await service.usage(me)
        assert usage["tokens_per_day"]["used"] == 4000 and usage["budget_yen_per_month"]["used"] == 4.0
        await service.settle(reservation, 250, 0.125)
        usage = await service.usage(me)
        assert usage["tokens_per_day"]["used"] == 250 and usage["tokens_per_month"]["used"] == 250
        assert usage["budget_yen_per_month"]["used"] == 0.125
        await service.settle(reservation, 9999, 9.0)  # a second settle does nothing
        assert (await service.usage(me))["tokens_per_day"]["used"] == 250
        # A failed upstream call settles with zero: the request still counts for the minute.
        failed = await service.reserve([me], 3000, 3.0)
        await service.settle(failed, 0, 0.0)
        usage = await service.usage(me)
        assert usage["tokens_per_day"]["used"] == 250 and usage["requests_per_minute"]["used"] == 2
        # Real usage may go over the limit after the fact; the next request is refused.
        over = await service.reserve([me], 100, 1.0)
        await service.settle(over, 12_000, 11.0)
        usage = await service.usage(me)
        assert usage["tokens_per_day"]["used"] == 12_250 and usage["tokens_per_day"]["remaining"] == 0
        error = await refused(service, [me], tokens=1)
        assert error.limit_kind == "budget_yen_per_month"  # blocks longest (tokens/day blocks too)

    run(Clock(jst(2024, 11, 20, 9, 0, 0)), scenario)


def test_a_settlement_after_its_window_closed_does_not_touch_the_new_one(run: Run) -> None:
    async def scenario(service: QuotaService, clock: Clock) -> None:
        me = user(Limits(tokens_per_day=1000, tokens_per_month=100_000))
        reservation = await service.reserve([me], 100, 0)
        clock.advance(2)  # the answer arrives after midnight
        await service.settle(reservation, 900, 0)
        usage = await service.usage(me)
        assert usage["tokens_per_day"]["used"] == 0  # the new day starts clean
        assert usage["tokens_per_month"]["used"] == 900  # same month: replaced by the real usage

    run(Clock(jst(2024, 11, 20, 23, 59, 59)), scenario)


def test_month_and_day_reset_together_at_new_year(run: Run) -> None:
    async def scenario(service: QuotaService, clock: Clock) -> None:
        me = [team(Limits(tokens_per_day=100, tokens_per_month=100, budget_yen_per_month=1))]
        await service.reserve(me, 100, 1)
        error = await refused(service, me, tokens=1)
        assert error.retry_after == 30
        assert error.resets_at == datetime(2025, 1, 1, tzinfo=JST)
        assert "1月1日 0:00（日本時間）にリセットされます" in error.message and "1 January 00:00 JST" in error.message
        clock.advance(30)
        await service.reserve(me, 100, 1)

    run(Clock(jst(2024, 12, 31, 23, 59, 30)), scenario)


def test_requests_per_minute_message(run: Run) -> None:
    async def scenario(service: QuotaService, clock: Clock) -> None:
        me = [user(Limits(requests_per_minute=1))]
        await service.reserve(me, 10, 0)
        clock.advance(15)
        error = await refused(service, me)
        assert error.message == (
            "あなたの1分あたりのリクエスト数の上限（1回）に達しました。14:03:27（日本時間）以降に再び送信できます（あと45秒）"
            " / Your limit of requests per minute (1 requests) is reached; you can send again after 14:03:27 JST (in 45 s)"
        )
        assert error_response(error).headers["Retry-After"] == "45"
        assert error.to_payload()["error"]["type"] == "rate_limit_error"

    run(Clock(jst(2024, 11, 20, 14, 2, 27)), scenario)


def test_subjects_without_limits_never_reach_the_backend() -> None:
    class Exploding:
        async def reserve(self, *_: Any) -> Any:
            raise AssertionError("backend touched")

        settle = usage = reserve

        async def aclose(self) -> None:
            return None

    service = QuotaService(Exploding())  # type: ignore[arg-type]

    async def scenario() -> None:
        reservation = await service.reserve([user(Limits()), team(Limits())], 10_000, 100.0)
        await service.settle(reservation, 20_000, 200.0)
        usage = await service.usage(team(Limits()))
        assert usage["tracked"] is False and usage["tokens_per_day"]["limit"] is None

    asyncio.run(scenario())


def test_memory_backend_is_thread_and_asyncio_safe() -> None:
    backend = MemoryQuotaBackend()
    service = QuotaService(backend)
    subjects = [user(Limits(requests_per_minute=1000)), team(Limits(tokens_per_day=150 * 7))]
    admitted: list[int] = []

    def worker() -> None:
        async def burst() -> int:
            results = await asyncio.gather(*(service.reserve(subjects, 7, 0) for _ in range(100)), return_exceptions=True)
            return sum(isinstance(r, Reservation) for r in results)

        admitted.append(asyncio.run(burst()))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(admitted) == 150


# --- two workers sharing Redis ------------------------------------------------------------------


def _worker(url: str, prefix: str, limits: dict[str, Any], count: int, tokens: int, ready: Any, go: Any, out: Any) -> None:
    """One worker process: its own event loop and backend, `count` concurrent reservations."""

    async def main() -> tuple[int, float, float]:
        backend = RedisQuotaBackend(url, prefix=prefix)
        service = QuotaService(backend)
        subjects = [user(Limits(), "w-user"), team(Limits(**limits), "w-team")]
        # Open the connections before the start signal, so both workers fire at once.
        await asyncio.gather(*(backend.usage(subjects[1], windows_at(time.time())) for _ in range(32)))
        ready.set()
        while not go.is_set():
            await asyncio.sleep(0.001)

        async def one() -> bool:
            try:
                await service.reserve(subjects, tokens, 0)
            except QuotaExceeded:
                return False
            return True

        started = time.time()
        results = await asyncio.gather(*(one() for _ in range(count)))
        finished = time.time()
        await service.aclose()
        return sum(results), started, finished

    out.put(asyncio.run(main()))


def _two_workers(prefix: str, limits: dict[str, Any], count: int, tokens: int) -> list[int]:
    """Two spawned processes fire `count` reservations each; returns what each admitted."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    go = context.Event()
    readies = [context.Event(), context.Event()]
    processes = [
        context.Process(target=_worker, args=(REDIS_URL, prefix, limits, count, tokens, ready, go, out))
        for ready in readies
    ]
    for process in processes:
        process.start()
    try:
        for ready in readies:
            assert ready.wait(180), "a worker did not start"
        go.set()
        results = [out.get(timeout=180) for _ in processes]
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
    return [admitted for admitted, _started, _finished in results]


def test_two_workers_sharing_redis_never_exceed_the_limit(shared_redis: str) -> None:
    # Each worker alone fires fewer requests than the limit, the two together far more: the
    # limit is reached only if both were admitted, and never exceeded.
    prefix = redis_prefix()
    try:
        per_worker = _two_workers(prefix, {"requests_per_minute": 500}, count=400, tokens=0)
        assert sum(per_worker) == 500, per_worker
    finally:
        delete_prefix(prefix)

    prefix = redis_prefix()
    try:
        per_worker = _two_workers(prefix, {"tokens_per_day": 20_000}, count=200, tokens=70)
        assert sum(per_worker) == 20_000 // 70, per_worker
        service = QuotaService(RedisQuotaBackend(REDIS_URL, prefix=prefix))

        async def usage() -> dict[str, Any]:
            try:
                return await service.usage(team(Limits(tokens_per_day=20_000), "w-team"))
            finally:
                await service.aclose()

        assert asyncio.run(usage())["tokens_per_day"]["used"] == (20_000 // 70) * 70
    finally:
        delete_prefix(prefix)


# --- Redis down ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_redis_down_fails_closed_for_subjects_with_limits(caplog: pytest.LogCaptureFixture) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    async def scenario() -> None:
        backend = RedisQuotaBackend(url, prefix=redis_prefix(), retry_interval_s=0, unavailable_retry_after_s=7)
        service = QuotaService(backend)
        limited = team(Limits(budget_yen_per_month=1000))
        for _ in range(3):
            with pytest.raises(QuotaUnavailable) as caught:
                await service.reserve([user(Limits()), limited], 100, 1.0)
        error = caught.value
        assert error.status == 503 and error.code == "quota_unavailable"
        assert error.message.startswith("利用量を確認できないため一時的に受け付けを停止しています")
        response = error_response(error)
        assert response.status_code == 503 and response.headers["Retry-After"] == "7"
        with pytest.raises(QuotaUnavailable):
            await service.usage(limited)
        # No limits: passes without Redis.
        reservation = await service.reserve([user(Limits()), team(Limits())], 100, 1.0)
        await service.settle(reservation, 50, 0.5)
        assert not backend.available
        await service.aclose()

    with caplog.at_level(logging.ERROR, logger="gennai.quotas"):
        asyncio.run(scenario())
    outage_logs = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outage_logs) == 1  # once per outage, not per request


class OwnRedis:
    """A redis-server of our own on a free port, restartable, persisting to `directory`."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--dbfilename", "quota.rdb", "--logfile", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        """SHUTDOWN SAVE: the counters survive into the next start, like a persistent Redis."""
        if self.process is None:
            return
        client = redis.Redis.from_url(self.url)
        try:
            client.shutdown(save=True)
        except redis.ConnectionError:
            pass
        client.close()
        self.process.wait(10)
        self.process = None

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def test_settlements_during_an_outage_are_replayed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = OwnRedis(tmp_path)
    server.start()
    try:

        async def scenario() -> None:
            backoff = Clock(0.0)
            backend = RedisQuotaBackend(server.url, prefix=redis_prefix(), retry_interval_s=1, monotonic=backoff)
            service = QuotaService(backend)
            me = user(Limits(tokens_per_day=10_000, budget_yen_per_month=100))
            first = await service.reserve([me], 100, 1.0)
            second = await service.reserve([me], 100, 1.0)
            server.stop()
            await service.settle(first, 300, 3.0)  # queued, not lost, no exception
            await service.settle(second, 0, 0.0)  # the failed call: its estimate must go too
            for _ in range(1200):  # more than one replay batch
                await service.settle(Reservation(uuid.uuid4().hex, (me,), 0, 0, windows_at(time.time())), 1, 0.0)
            assert backend.pending_settlements == 1202
            with pytest.raises(QuotaUnavailable):
                await service.reserve([me], 100, 1.0)
            await service.reserve([user(Limits(), "other")], 100, 1.0)  # no limits: unaffected
            server.start()
            with pytest.raises(QuotaUnavailable):  # within the back-off: refused without trying
                await service.reserve([me], 50, 0.5)
            backoff.advance(1)
            await service.reserve([me], 50, 0.5)  # replays the queue first
            assert backend.pending_settlements == 0 and backend.available
            usage = await service.usage(me)
            assert usage["tokens_per_day"]["used"] == 300 + 50 + 1200
            assert usage["budget_yen_per_month"]["used"] == 3.5
            await service.aclose()

        with caplog.at_level(logging.INFO, logger="gennai.quotas"):
            asyncio.run(scenario())
        messages = [r.getMessage() for r in caplog.records]
        assert sum("unreachable" in m for m in messages) == 1
        assert any("replayed 1202 queued quota settlements" in m for m in messages)
        assert any("reachable again" in m for m in messages)
    finally:
        server.kill()


def test_the_settlement_queue_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        backend = RedisQuotaBackend(f"redis://127.0.0.1:{free_port()}/0", prefix=redis_prefix(), max_pending=3)
        service = QuotaService(backend)
        me = user(Limits(tokens_per_day=10))
        for _ in range(5):
            reservation = Reservation(uuid.uuid4().hex, (me,), 1, 0, windows_at(time.time()))
            await service.settle(reservation, 2, 0)
        assert backend.pending_settlements == 3
        await service.aclose()

    with caplog.at_level(logging.ERROR, logger="gennai.quotas"):
        asyncio.run(scenario())
    assert sum("queue full" in r.getMessage() for r in caplog.records) == 1


# --- limits from the database, and the factory ---------------------------------------------------


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'gennai.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def test_limits_come_from_the_quotas_table_and_are_cached(engine: Engine) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(Quota(scope="user", subject_id="u1", requests_per_minute=30, updated_at=now))
        session.add(Quota(scope="team", subject_id="t1", tokens_per_month=5_000_000, budget_yen_per_month=50_000.0, updated_at=now))
        session.commit()
    clock = Clock(1000.0)
    limits = QuotaLimits(engine, ttl_s=10, clock=clock)
    subjects = asyncio.run(limits.subjects("u1", "t1"))
    assert subjects == [
        Subject("user", "u1", Limits(requests_per_minute=30)),
        Subject("team", "t1", Limits(tokens_per_month=5_000_000, budget_yen_per_month=50_000.0)),
    ]
    assert asyncio.run(limits.subjects("u2", None)) == [Subject("user", "u2", Limits())]
    with Session(engine) as session:
        row = session.get(Quota, ("user", "u1"))
        assert row is not None
        row.requests_per_minute = 60
        session.commit()
    assert limits.get("user", "u1").requests_per_minute == 30  # cached
    clock.advance(10.5)
    assert limits.get("user", "u1").requests_per_minute == 60  # within the TTL
    limits.invalidate()


def test_build_quota_service(engine: Engine) -> None:
    memory = build_quota_service(QuotaConfig(), engine)
    assert isinstance(memory.backend, MemoryQuotaBackend)
    assert memory.limits is not None
    shared = build_quota_service(QuotaConfig(backend="redis", redis_url=REDIS_URL, limits_cache_ttl_s=5), engine)
    assert isinstance(shared.backend, RedisQuotaBackend)

    async def scenario() -> None:
        with Session(engine) as session:
            session.add(Quota(scope="team", subject_id="t9", requests_per_minute=1, updated_at=datetime.now(UTC)))
            session.commit()
        subjects = await memory.subjects("u9", "t9")
        await memory.reserve(subjects, 1, 0)
        with pytest.raises(QuotaExceeded):
            await memory.reserve(subjects, 1, 0)
        await memory.aclose()
        await shared.aclose()

    asyncio.run(scenario())


def test_concurrent_requests_share_one_limits_query(engine: Engine) -> None:
    """When the cached limits expire under load, one query runs and the others wait for it."""
    from sqlalchemy import event

    queries: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: queries.append(args[2]))
    limits = QuotaLimits(engine, ttl_s=10.0)

    async def burst() -> None:
        results = await asyncio.gather(*(limits.subjects("u1", "t1") for _ in range(50)))
        assert all(len(r) == 2 for r in results)

    asyncio.run(burst())
    assert len([q for q in queries if "quotas" in q]) == 1
