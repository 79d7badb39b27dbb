"""Quotas per user and per team: requests per minute, tokens per day and per month, yen per month.

A request is checked *before* the upstream call and settled with its real usage *after* it:

    subjects = await quotas.subjects(user_id, team_id)          # limits, cached per worker
    reservation = await quotas.reserve(subjects, estimated_tokens, estimated_cost_yen)
    try:
        ...upstream call...
    finally:
        await quotas.settle(reservation, tokens_used, cost_yen)  # real usage, 0 on failure

`reserve` checks every limit of every subject (the user's and the team's) in one atomic step
and either counts the request (one request for the per-minute limit, the estimate on the
token and budget counters) or raises `QuotaExceeded` (429, Retry-After) having counted
nothing. `settle` replaces the estimate by the real usage; that may go over a limit after the
fact, and the next request is then refused.

Windows (see docs/decisions/0012-quotas.md):
- requests per minute: a sliding window of the last 60 seconds (a log of request times);
- tokens per day: the calendar day in Japan time (00:00 JST to 00:00 JST);
- tokens and yen per month: the calendar month in Japan time (1st 00:00 JST).

Backends: `MemoryQuotaBackend` (one process, the embedded default) and `RedisQuotaBackend`
(shared by every worker; one Lua script per operation, so check-and-reserve is atomic across
workers). Subjects without any limit are not tracked at all: their requests touch neither
Redis nor a lock. If Redis cannot be reached, subjects with limits are refused with 503
`quota_unavailable` (fail closed) and settlements are queued in memory and replayed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine, and_, or_, select
from sqlalchemy.orm import Session

from gennai.gateway.errors import GatewayError, RateLimited
from gennai.store.tables import Quota

if TYPE_CHECKING:
    from gennai.config import QuotaConfig

log = logging.getLogger("gennai.quotas")

# Japan has had no daylight saving time since 1951: a fixed offset is exact and needs no
# time-zone database (Windows, slim containers).
JST = timezone(timedelta(hours=9), "JST")

SCOPES = ("user", "team")
KINDS = ("requests_per_minute", "tokens_per_day", "tokens_per_month", "budget_yen_per_month")
MINUTE_MS = 60_000
# Yen are counted as integer micro-yen so that Redis (INCRBY) and memory add exactly.
MICRO_YEN = 1_000_000


# ---------------------------------------------------------------------------------------------
# Limits, subjects, windows, reservations


@dataclass(frozen=True, slots=True)
class Limits:
    """One subject's limits; None means no limit of that kind."""

    requests_per_minute: int | None = None
    tokens_per_day: int | None = None
    tokens_per_month: int | None = None
    budget_yen_per_month: float | None = None

    @property
    def any(self) -> bool:
        return (
            self.requests_per_minute is not None
            or self.tokens_per_day is not None
            or self.tokens_per_month is not None
            or self.budget_yen_per_month is not None
        )


NO_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Subject:
    """Whose limits: scope "user" or "team", the user's or team's id, and the limits."""

    scope: str
    id: str
    limits: Limits = NO_LIMITS

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"quota scope must be 'user' or 'team', not {self.scope!r}")


@dataclass(frozen=True, slots=True)
class Windows:
    """The windows a moment falls in: the current day and month in Japan time."""

    now_ms: int
    day: str  # "20241130"
    day_end_ms: int
    month: str  # "202411"
    month_end_ms: int


def windows_at(now: float) -> Windows:
    moment = datetime.fromtimestamp(now, JST)
    day_start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    day_end = day_start + timedelta(days=1)
    month_end = (day_start.replace(day=1) + timedelta(days=32)).replace(day=1)
    return Windows(
        now_ms=int(now * 1000),
        day=day_start.strftime("%Y%m%d"),
        day_end_ms=int(day_end.timestamp() * 1000),
        month=day_start.strftime("%Y%m"),
        month_end_ms=int(month_end.timestamp() * 1000),
    )


def to_micro_yen(yen: float) -> int:
    return int(round(yen * MICRO_YEN))


@dataclass(slots=True, eq=False)
class Reservation:
    """What `reserve` counted; hand it to `settle` exactly once (later calls do nothing)."""

    id: str
    subjects: tuple[Subject, ...]  # only the subjects with limits (the ones counted)
    estimated_tokens: int
    estimated_micro_yen: int
    windows: Windows | None  # None when nothing was counted
    settled: bool = False

    @property
    def estimated_cost_yen(self) -> float:
        return self.estimated_micro_yen / MICRO_YEN


@dataclass(frozen=True, slots=True)
class Blocked:
    """A limit that refuses a reservation, as a backend reports it."""

    index: int  # into reservation.subjects
    kind: str  # one of KINDS
    used: int  # requests in the last minute, tokens, or micro-yen
    free_at_ms: int | None = None  # requests per minute: when enough requests leave the window


@dataclass(frozen=True, slots=True)
class Counters:
    """A subject's counters in the current windows."""

    requests_last_minute: int = 0
    oldest_request_ms: int | None = None
    tokens_day: int = 0
    tokens_month: int = 0
    micro_yen_month: int = 0


# ---------------------------------------------------------------------------------------------
# Errors (GatewayError subclasses: api/errors.py turns them into OpenAI-shaped answers and puts
# `retry_after` into the Retry-After header)


class QuotaExceeded(RateLimited):
    """429: a user's or team's limit is reached. Nothing was counted for the refused request."""

    def __init__(
        self,
        message: str,
        *,
        scope: str,
        subject_id: str,
        limit_kind: str,
        limit: float,
        used: float,
        resets_at: datetime,
        retry_after: float,
    ) -> None:
        super().__init__(message, code="quota_exceeded", retry_after=retry_after)
        self.scope = scope
        self.subject_id = subject_id
        self.limit_kind = limit_kind
        self.limit = limit
        self.used = used
        self.resets_at = resets_at


class QuotaUnavailable(GatewayError):
    """503: the shared quota store (Redis) cannot be reached, so limits cannot be checked."""

    status = 503
    error_type = "server_error"

    def __init__(self, retry_after: float = 5.0) -> None:
        super().__init__(
            "利用量を確認できないため一時的に受け付けを停止しています。しばらくしてから再度お試しください"
            " / Usage cannot be checked right now, so requests under a quota are paused; please try again shortly",
            code="quota_unavailable",
            retry_after=retry_after,
        )


_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _amount(kind: str, value: float) -> tuple[str, str]:
    """(Japanese, English) for an amount of the limit's unit."""
    if kind == "budget_yen_per_month":
        text = f"{round(value):,}" if abs(value - round(value)) < 0.005 else f"{value:,.2f}"
        return f"{text}円", f"¥{text}"
    if kind == "requests_per_minute":
        return f"{int(value):,}回", f"{int(value):,} requests"
    return f"{int(value):,}トークン", f"{int(value):,} tokens"


def quota_message(
    scope: str, kind: str, limit: float, used: float, estimate: float, resets_at: datetime, wait_s: int
) -> str:
    """The refusal in Japanese then English: which limit, whose, and when it resets (JST)."""
    who_ja, who_en = ("チームの", "The team's") if scope == "team" else ("あなたの", "Your")
    limit_ja, limit_en = _amount(kind, limit)
    what_ja, what_en = {
        "requests_per_minute": ("1分あたりのリクエスト数の上限", "limit of requests per minute"),
        "tokens_per_day": ("1日のトークン数の上限", "daily token limit"),
        "tokens_per_month": ("今月のトークン数の上限", "monthly token limit"),
        "budget_yen_per_month": ("今月の予算", "monthly budget"),
    }[kind]
    at = resets_at.astimezone(JST)
    if kind == "requests_per_minute":
        reset_ja = f"{at:%H:%M:%S}（日本時間）以降に再び送信できます（あと{wait_s}秒）"
        reset_en = f"you can send again after {at:%H:%M:%S} JST (in {wait_s} s)"
        return f"{who_ja}{what_ja}（{limit_ja}）に達しました。{reset_ja} / {who_en} {what_en} ({limit_en}) is reached; {reset_en}"
    reset_ja = f"{at.month}月{at.day}日 {at.hour}:{at.minute:02d}（日本時間）にリセットされます"
    reset_en = f"it resets on {at.day} {_MONTHS_EN[at.month - 1]} {at:%H:%M} JST"
    if used >= limit:
        return f"{who_ja}{what_ja}（{limit_ja}）に達しました。{reset_ja} / {who_en} {what_en} ({limit_en}) is used up; {reset_en}"
    left_ja, left_en = _amount(kind, max(0.0, limit - used))
    estimate_ja, estimate_en = _amount(kind, estimate)
    return (
        f"{who_ja}{what_ja}（{limit_ja}）の残り{left_ja}では、この要求の見積もり（{estimate_ja}）に足りません"
        f"（max_tokens を小さくすると受け付けられることがあります）。{reset_ja}"
        f" / {who_en} {what_en} ({limit_en}) has {left_en} left, less than this request's estimate"
        f" ({estimate_en}; a smaller max_tokens may fit); {reset_en}"
    )


# ---------------------------------------------------------------------------------------------
# Backends


class QuotaBackend(Protocol):
    """Where counters live. Both operations are atomic for all subjects of a reservation."""

    async def reserve(self, reservation: Reservation) -> list[Blocked]:
        """Check every limit of every subject in `reservation.windows`; if none blocks, count
        the request and the estimates and return []; otherwise count nothing and return
        every limit that blocks."""
        ...

    async def settle(self, reservation: Reservation, delta_tokens: int, delta_micro_yen: int, now_ms: int) -> None:
        """Add the difference between real usage and estimate to the reservation's windows
        (if they are still open at `now_ms`)."""
        ...

    async def usage(self, subject: Subject, windows: Windows) -> Counters: ...

    async def aclose(self) -> None: ...


def _check(
    index: int, limits: Limits, requests: Sequence[int], used: tuple[int, int, int], tokens: int, micro_yen: int
) -> list[Blocked]:
    """The limits one subject's counters would break; same rules as the Redis script."""
    blocked = []
    if limits.requests_per_minute is not None:
        limit, count = limits.requests_per_minute, len(requests)
        if count >= limit:
            free_at = requests[count - limit] + MINUTE_MS if count and limit > 0 else None
            blocked.append(Blocked(index, "requests_per_minute", count, free_at))
    for kind, limit_value, current, estimate in (
        ("tokens_per_day", limits.tokens_per_day, used[0], tokens),
        ("tokens_per_month", limits.tokens_per_month, used[1], tokens),
        ("budget_yen_per_month", limits.budget_yen_per_month, used[2], micro_yen),
    ):
        if limit_value is None:
            continue
        limit = to_micro_yen(limit_value) if kind == "budget_yen_per_month" else int(limit_value)
        if current >= limit or current + estimate > limit:
            blocked.append(Blocked(index, kind, current))
    return blocked


@dataclass(slots=True)
class _MemoryState:
    requests: deque[int] = field(default_factory=deque)  # ms, oldest first
    day: str = ""
    tokens_day: int = 0
    month: str = ""
    tokens_month: int = 0
    micro_yen_month: int = 0

    def roll(self, windows: Windows) -> tuple[bool, bool]:
        """Move on to the reservation's windows. Returns whether its day and its month are the
        current ones here (not when a concurrent request has already moved past midnight)."""
        cutoff = windows.now_ms - MINUTE_MS
        while self.requests and self.requests[0] <= cutoff:
            self.requests.popleft()
        if windows.day > self.day:
            self.day, self.tokens_day = windows.day, 0
        if windows.month > self.month:
            self.month, self.tokens_month, self.micro_yen_month = windows.month, 0, 0
        return windows.day == self.day, windows.month == self.month


class MemoryQuotaBackend:
    """Counters in this process: for one worker (the embedded default) and for tests.

    One `threading.Lock` guards all counters; nothing inside it awaits or does I/O, so it is
    safe from threads and from coroutines alike and is held for microseconds.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[tuple[str, str], _MemoryState] = {}

    async def reserve(self, reservation: Reservation) -> list[Blocked]:
        windows = reservation.windows
        assert windows is not None
        tokens, micro_yen = reservation.estimated_tokens, reservation.estimated_micro_yen
        with self._lock:
            rolled = []
            blocked: list[Blocked] = []
            for index, subject in enumerate(reservation.subjects):
                state = self._states.setdefault((subject.scope, subject.id), _MemoryState())
                day_ok, month_ok = state.roll(windows)
                rolled.append((state, day_ok, month_ok))
                used = (
                    state.tokens_day if day_ok else 0,
                    state.tokens_month if month_ok else 0,
                    state.micro_yen_month if month_ok else 0,
                )
                blocked += _check(index, subject.limits, state.requests, used, tokens, micro_yen)
            if blocked:
                return blocked
            # A window that has already closed here (a race at midnight) is not counted.
            for subject, (state, day_ok, month_ok) in zip(reservation.subjects, rolled, strict=True):
                if subject.limits.requests_per_minute is not None:
                    state.requests.append(windows.now_ms)
                if day_ok:
                    state.tokens_day += tokens
                if month_ok:
                    state.tokens_month += tokens
                    state.micro_yen_month += micro_yen
        return []

    async def settle(self, reservation: Reservation, delta_tokens: int, delta_micro_yen: int, now_ms: int) -> None:
        windows = reservation.windows
        assert windows is not None
        with self._lock:
            for subject in reservation.subjects:
                state = self._states.get((subject.scope, subject.id))
                if state is None:
                    continue
                if state.day == windows.day:
                    state.tokens_day = max(0, state.tokens_day + delta_tokens)
                if state.month == windows.month:
                    state.tokens_month = max(0, state.tokens_month + delta_tokens)
                    state.micro_yen_month = max(0, state.micro_yen_month + delta_micro_yen)

    async def usage(self, subject: Subject, windows: Windows) -> Counters:
        with self._lock:
            state = self._states.get((subject.scope, subject.id))
            if state is None:
                return Counters()
            cutoff = windows.now_ms - MINUTE_MS
            recent = [t for t in state.requests if t > cutoff]
            return Counters(
                requests_last_minute=len(recent),
                oldest_request_ms=recent[0] if recent else None,
                tokens_day=state.tokens_day if state.day == windows.day else 0,
                tokens_month=state.tokens_month if state.month == windows.month else 0,
                micro_yen_month=state.micro_yen_month if state.month == windows.month else 0,
            )

    async def aclose(self) -> None:
        return None


# KEYS: four per subject: its request log (sorted set, score = time in ms), tokens of the day,
# tokens of the month, micro-yen of the month.
# ARGV: now_ms, member (reservation id), TTL ms of the day keys, TTL ms of the month keys,
# TTL ms of the request log,
# estimated tokens, estimated micro-yen, then four limits per subject ('' = no limit).
# Returns {} when the reservation is counted, else a flat list of
# (subject index, kind, used, free_at_ms) for every limit that blocks; nothing is counted then.
_RESERVE_LUA = """
local now = tonumber(ARGV[1])
local tokens = tonumber(ARGV[6])
local yen = tonumber(ARGV[7])
local blocked = {}
local n = #KEYS / 4
for i = 0, n - 1 do
  local k = i * 4
  local a = 7 + k
  local rpm = ARGV[a + 1]
  if rpm ~= '' then
    rpm = tonumber(rpm)
    redis.call('ZREMRANGEBYSCORE', KEYS[k + 1], '-inf', now - 60000)
    local count = redis.call('ZCARD', KEYS[k + 1])
    if count >= rpm then
      local free_at = 0
      if count > 0 and rpm > 0 then
        local entry = redis.call('ZRANGE', KEYS[k + 1], count - rpm, count - rpm, 'WITHSCORES')
        free_at = tonumber(entry[2]) + 60000
      end
      table.insert(blocked, i); table.insert(blocked, 'requests_per_minute')
      table.insert(blocked, count); table.insert(blocked, free_at)
    end
  end
  local kinds = {'tokens_per_day', 'tokens_per_month', 'budget_yen_per_month'}
  local estimates = {tokens, tokens, yen}
  for slot = 2, 4 do
    local limit = ARGV[a + slot]
    if limit ~= '' then
      limit = tonumber(limit)
      local used = tonumber(redis.call('GET', KEYS[k + slot]) or '0')
      if used >= limit or used + estimates[slot - 1] > limit then
        table.insert(blocked, i); table.insert(blocked, kinds[slot - 1])
        table.insert(blocked, used); table.insert(blocked, 0)
      end
    end
  end
end
if #blocked > 0 then return blocked end
for i = 0, n - 1 do
  local k = i * 4
  if ARGV[8 + k] ~= '' then
    redis.call('ZADD', KEYS[k + 1], ARGV[1], ARGV[2])
    redis.call('PEXPIRE', KEYS[k + 1], ARGV[5])
  end
  if tokens > 0 then
    redis.call('INCRBY', KEYS[k + 2], ARGV[6])
    redis.call('PEXPIRE', KEYS[k + 2], ARGV[3])
    redis.call('INCRBY', KEYS[k + 3], ARGV[6])
    redis.call('PEXPIRE', KEYS[k + 3], ARGV[4])
  end
  if yen > 0 then
    redis.call('INCRBY', KEYS[k + 4], ARGV[7])
    redis.call('PEXPIRE', KEYS[k + 4], ARGV[4])
  end
end
return {}
"""

# KEYS: three per subject: tokens of the day, tokens of the month, micro-yen of the month (the
# reservation's windows). ARGV: delta tokens, delta micro-yen, TTL ms left to the day keys
# and to the month keys ('0' or less: that window is over, leave it alone).
# A counter never goes below zero (its window may have been lost in a Redis restart).
_SETTLE_LUA = """
local function add(key, delta, ttl)
  if tonumber(delta) == 0 or tonumber(ttl) <= 0 then return end
  local value = redis.call('INCRBY', key, delta)
  if value < 0 then redis.call('SET', key, '0') end
  redis.call('PEXPIRE', key, ttl)
end
for k = 0, #KEYS - 1, 3 do
  add(KEYS[k + 1], ARGV[1], ARGV[3])
  add(KEYS[k + 2], ARGV[1], ARGV[4])
  add(KEYS[k + 3], ARGV[2], ARGV[4])
end
return 1
"""


_REPLAY_BATCH = 500


@dataclass(frozen=True, slots=True)
class _PendingSettlement:
    keys: tuple[str, ...]
    delta_tokens: int
    delta_micro_yen: int
    day_expires_ms: int  # window end + grace, on the clock of the service
    month_expires_ms: int

    def args(self, now_ms: int) -> list[str]:
        return [
            str(self.delta_tokens),
            str(self.delta_micro_yen),
            str(self.day_expires_ms - now_ms),
            str(self.month_expires_ms - now_ms),
        ]


class RedisQuotaBackend:
    """Counters in Redis, shared by every worker; each operation is one Lua script (atomic).

    Keys (`prefix` default "gennai:quota"): `<prefix>:<scope>:<id>:rpm` (sorted set of request
    times), `…:tokens:day:<YYYYMMDD>`, `…:tokens:month:<YYYYMM>`, `…:yen:month:<YYYYMM>`
    (integers; yen as micro-yen). Day and month keys expire at the end of their window (Japan
    time) plus `grace_s`, set as a TTL computed from the service's clock (so an injected clock
    and Redis agree); the request log expires a minute after its last request.

    When Redis cannot be reached: `reserve` and `usage` raise `QuotaUnavailable` (503) — the
    service only calls the backend for subjects that have limits, so nobody else notices —;
    after a failure Redis is tried again at most every `retry_interval_s` (requests in
    between are refused at once); `settle` queues the settlement in memory (at most
    `max_pending` — beyond that the oldest are dropped and counted in the log) and the queue is
    replayed before the next operation once Redis answers. The outage is logged once (error)
    when it starts and once (warning) when it ends.

    The client is bound to the event loop that first uses it; create the backend in that loop
    or at least use it from one loop only.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "gennai:quota",
        client: Any | None = None,
        timeout_s: float = 1.0,
        retry_interval_s: float = 1.0,
        unavailable_retry_after_s: float = 5.0,
        max_pending: int = 10_000,
        grace_s: float = 300.0,
        max_connections: int = 64,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        from redis.asyncio import BlockingConnectionPool, Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError

        if client is None:
            # A bounded pool that makes a burst wait for a free connection (the default pool
            # refuses at once with "Too many connections"). One retry on a fresh connection (a
            # pooled connection dies when Redis restarts); no back-off: during an outage a
            # request must be answered at once.
            pool = BlockingConnectionPool.from_url(
                url,
                max_connections=max_connections,
                timeout=2 * timeout_s,
                socket_timeout=timeout_s,
                socket_connect_timeout=timeout_s,
                retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            )
            client = Redis.from_pool(pool)
        self._redis = client
        self._url = url
        self.prefix = prefix
        self._reserve_script = client.register_script(_RESERVE_LUA)
        self._settle_script = client.register_script(_SETTLE_LUA)
        self._retry_interval_s = retry_interval_s
        self._monotonic = monotonic  # for the outage back-off; injectable for tests
        self._unavailable_retry_after_s = unavailable_retry_after_s
        self._max_pending = max_pending
        self._grace_ms = int(grace_s * 1000)
        self._pending: deque[_PendingSettlement] = deque()
        self._down_since: float | None = None
        self._next_try = 0.0
        self._dropped = 0

    # keys ------------------------------------------------------------------------------------

    def _base(self, subject: Subject) -> str:
        return f"{self.prefix}:{subject.scope}:{subject.id}"

    def _keys(self, subject: Subject, windows: Windows) -> tuple[str, str, str, str]:
        base = self._base(subject)
        return (
            f"{base}:rpm",
            f"{base}:tokens:day:{windows.day}",
            f"{base}:tokens:month:{windows.month}",
            f"{base}:yen:month:{windows.month}",
        )

    # outage handling -------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """False while Redis is believed to be down (since the last failed call)."""
        return self._down_since is None

    @property
    def pending_settlements(self) -> int:
        return len(self._pending)

    def _unavailable(self) -> QuotaUnavailable:
        return QuotaUnavailable(retry_after=self._unavailable_retry_after_s)

    def _failed(self, exc: BaseException) -> None:
        now = self._monotonic()
        self._next_try = now + self._retry_interval_s
        if self._down_since is None:
            self._down_since = now
            log.error(
                "quota store unreachable (%s: %s): requests of users and teams with limits are refused "
                "with 503 quota_unavailable until it answers again; settlements are queued in memory",
                type(exc).__name__,
                exc,
            )

    def _recovered(self) -> None:
        if self._down_since is not None:
            log.warning(
                "quota store reachable again after %.1f s (%d settlements still queued, %d dropped)",
                self._monotonic() - self._down_since,
                len(self._pending),
                self._dropped,
            )
            self._down_since = None
            self._dropped = 0

    def _errors(self) -> tuple[type[BaseException], ...]:
        from redis.exceptions import RedisError

        return (RedisError, OSError, asyncio.TimeoutError)

    async def _ready(self, now_ms: int) -> None:
        """Raise QuotaUnavailable while backing off; replay queued settlements first."""
        if self._down_since is not None and self._monotonic() < self._next_try:
            raise self._unavailable()
        if self._pending:
            await self.replay(now_ms)

    async def replay(self, now_ms: int | None = None) -> int:
        """Send the queued settlements; return how many went. Raises QuotaUnavailable.

        `now_ms`: the service's clock (settlements of windows that are over by then are
        dropped by the script); default: this machine's clock.
        """
        if now_ms is None:
            now_ms = int(time.time() * 1000)
        sent = 0
        while self._pending:
            # Taken off the queue before awaiting, so concurrent replays never send one twice;
            # pipelined in batches, so a long outage's queue costs a few round trips. A batch
            # that fails is queued again whole (some of it may have arrived: counted twice,
            # on the side of the budget).
            batch = [self._pending.popleft() for _ in range(min(_REPLAY_BATCH, len(self._pending)))]
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for item in batch:
                        await self._settle_script(keys=list(item.keys), args=item.args(now_ms), client=pipe)
                    await pipe.execute()
            except self._errors() as exc:
                self._pending.extendleft(reversed(batch))
                self._failed(exc)
                raise self._unavailable() from exc
            sent += len(batch)
        if sent:
            log.info("replayed %d queued quota settlements", sent)
        self._recovered()
        return sent

    def _queue(self, item: _PendingSettlement) -> None:
        if len(self._pending) >= self._max_pending:
            self._pending.popleft()
            if self._dropped == 0:
                log.error(
                    "quota settlement queue full (%d): dropping the oldest; the usage records keep the real usage",
                    self._max_pending,
                )
            self._dropped += 1
        self._pending.append(item)

    # operations ------------------------------------------------------------------------------

    async def reserve(self, reservation: Reservation) -> list[Blocked]:
        windows = reservation.windows
        assert windows is not None
        await self._ready(windows.now_ms)
        keys: list[str] = []
        args = [
            str(windows.now_ms),
            reservation.id,
            str(windows.day_end_ms - windows.now_ms + self._grace_ms),
            str(windows.month_end_ms - windows.now_ms + self._grace_ms),
            str(MINUTE_MS + self._grace_ms),
            str(reservation.estimated_tokens),
            str(reservation.estimated_micro_yen),
        ]
        for subject in reservation.subjects:
            keys += self._keys(subject, windows)
            limits = subject.limits
            args += [
                "" if limits.requests_per_minute is None else str(int(limits.requests_per_minute)),
                "" if limits.tokens_per_day is None else str(int(limits.tokens_per_day)),
                "" if limits.tokens_per_month is None else str(int(limits.tokens_per_month)),
                "" if limits.budget_yen_per_month is None else str(to_micro_yen(limits.budget_yen_per_month)),
            ]
        try:
            reply = await self._reserve_script(keys=keys, args=args)
        except self._errors() as exc:
            self._failed(exc)
            raise self._unavailable() from exc
        self._recovered()
        blocked = []
        for i in range(0, len(reply), 4):
            kind = reply[i + 1].decode() if isinstance(reply[i + 1], bytes) else str(reply[i + 1])
            free_at = int(reply[i + 3])
            blocked.append(Blocked(int(reply[i]), kind, int(reply[i + 2]), free_at or None))
        return blocked

    async def settle(self, reservation: Reservation, delta_tokens: int, delta_micro_yen: int, now_ms: int) -> None:
        windows = reservation.windows
        assert windows is not None
        keys: list[str] = []
        for subject in reservation.subjects:
            keys += self._keys(subject, windows)[1:]
        item = _PendingSettlement(
            tuple(keys),
            delta_tokens,
            delta_micro_yen,
            windows.day_end_ms + self._grace_ms,
            windows.month_end_ms + self._grace_ms,
        )
        try:
            await self._ready(now_ms)
            await self._settle_script(keys=list(item.keys), args=item.args(now_ms))
        except QuotaUnavailable:
            self._queue(item)
            return
        except self._errors() as exc:
            # A time-out may hide a settlement that did arrive: replaying it then counts it
            # twice, which errs on the side of the budget.
            self._failed(exc)
            self._queue(item)
            return
        self._recovered()

    async def usage(self, subject: Subject, windows: Windows) -> Counters:
        await self._ready(windows.now_ms)
        rpm, day, month, yen = self._keys(subject, windows)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zrangebyscore(rpm, f"({windows.now_ms - MINUTE_MS}", "+inf", withscores=True)
                pipe.get(day)
                pipe.get(month)
                pipe.get(yen)
                recent, tokens_day, tokens_month, micro_yen = await pipe.execute()
        except self._errors() as exc:
            self._failed(exc)
            raise self._unavailable() from exc
        self._recovered()
        return Counters(
            requests_last_minute=len(recent),
            oldest_request_ms=int(recent[0][1]) if recent else None,
            tokens_day=int(tokens_day or 0),
            tokens_month=int(tokens_month or 0),
            micro_yen_month=int(micro_yen or 0),
        )

    async def aclose(self) -> None:
        if self._pending:
            try:
                await self.replay()
            except QuotaUnavailable:
                log.error("closing with %d quota settlements not sent to Redis", len(self._pending))
        await self._redis.aclose()


# ---------------------------------------------------------------------------------------------
# Limits from the database


class QuotaLimits:
    """The `quotas` table, cached per worker for `ttl_s` (an admin's change applies within it).

    A missing row, or a column left NULL, means no limit. A cache hit is a dict lookup.
    """

    def __init__(self, engine: Engine, ttl_s: float = 10.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, Limits]] = {}
        # One database query per expired key at a time: requests that arrive while it runs
        # wait for it instead of each querying (200 concurrent requests, one query).
        self._loading: dict[tuple[tuple[str, str], ...], asyncio.Future[dict[tuple[str, str], Limits]]] = {}

    def _fresh(self, key: tuple[str, str], now: float) -> Limits | None:
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        return None

    def _load(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Limits]:
        found = {key: NO_LIMITS for key in keys}
        condition = or_(*(and_(Quota.scope == scope, Quota.subject_id == subject_id) for scope, subject_id in keys))
        with Session(self._engine) as session:
            for row in session.scalars(select(Quota).where(condition)):
                found[(row.scope, row.subject_id)] = Limits(
                    requests_per_minute=row.requests_per_minute,
                    tokens_per_day=row.tokens_per_day,
                    tokens_per_month=row.tokens_per_month,
                    budget_yen_per_month=row.budget_yen_per_month,
                )
        return found

    def _store(self, loaded: dict[tuple[str, str], Limits]) -> None:
        now = self._clock()
        if len(self._cache) > 50_000:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
        expires = now + self._ttl_s
        for key, limits in loaded.items():
            self._cache[key] = (expires, limits)

    def get(self, scope: str, subject_id: str) -> Limits:
        """One subject's limits (blocking: may query the database)."""
        key = (scope, subject_id)
        limits = self._fresh(key, self._clock())
        if limits is None:
            loaded = self._load([key])
            self._store(loaded)
            limits = loaded[key]
        return limits

    async def subjects(self, user_id: str | None, team_id: str | None) -> list[Subject]:
        """The user's and the team's subjects with their limits (one query on a cache miss)."""
        keys = [(scope, subject_id) for scope, subject_id in (("user", user_id), ("team", team_id)) if subject_id]
        now = self._clock()
        found: dict[tuple[str, str], Limits] = {}
        missing = []
        for key in keys:
            limits = self._fresh(key, now)
            if limits is None:
                missing.append(key)
            else:
                found[key] = limits
        if missing:
            found.update(await self._load_once(tuple(missing)))
        return [Subject(scope, subject_id, found[(scope, subject_id)]) for scope, subject_id in keys]

    async def _load_once(self, keys: tuple[tuple[str, str], ...]) -> dict[tuple[str, str], Limits]:
        """Load these keys, or wait for the load of the same keys already running."""
        running = self._loading.get(keys)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[dict[tuple[str, str], Limits]] = asyncio.get_running_loop().create_future()
        self._loading[keys] = future
        try:
            loaded = await asyncio.to_thread(self._load, list(keys))
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as unhandled
            raise
        else:
            self._store(loaded)
            future.set_result(loaded)
            return loaded
        finally:
            self._loading.pop(keys, None)

    def invalidate(self, scope: str | None = None, subject_id: str | None = None) -> None:
        """Forget cached limits (all, or one subject's) in this worker."""
        if scope is None or subject_id is None:
            self._cache.clear()
        else:
            self._cache.pop((scope, subject_id), None)


# ---------------------------------------------------------------------------------------------
# The service


class QuotaService:
    """Check before the upstream call (`reserve`), settle after it (`settle`)."""

    def __init__(
        self,
        backend: QuotaBackend,
        *,
        limits: QuotaLimits | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.limits = limits
        self._clock = clock

    async def subjects(self, user_id: str | None, team_id: str | None) -> list[Subject]:
        """The caller's user and team with their limits (needs `limits`)."""
        if self.limits is None:
            raise RuntimeError("QuotaService was built without a QuotaLimits lookup")
        return await self.limits.subjects(user_id, team_id)

    async def reserve(self, subjects: Sequence[Subject], estimated_tokens: int, estimated_cost_yen: float) -> Reservation:
        """Check all limits of all subjects together; count the request or raise.

        Raises `QuotaExceeded` (429) having counted nothing, or `QuotaUnavailable` (503) when
        the shared store cannot be reached and a subject has limits. Subjects without limits
        cost nothing: no clock, no lock, no Redis.
        """
        if estimated_tokens < 0 or estimated_cost_yen < 0:
            raise ValueError("estimates must not be negative")
        tracked = _tracked(subjects)
        if not tracked:
            return Reservation("", (), estimated_tokens, 0, None)
        windows = windows_at(self._clock())
        reservation = Reservation(
            uuid.uuid4().hex, tracked, int(estimated_tokens), to_micro_yen(estimated_cost_yen), windows
        )
        blocked = await self.backend.reserve(reservation)
        if blocked:
            raise self._exceeded(reservation, blocked)
        return reservation

    async def settle(self, reservation: Reservation, tokens_used: int, cost_yen: float) -> None:
        """Replace the reservation's estimates by the real usage (0 for a failed call).

        Never raises for an unreachable store (the Redis backend queues the settlement).
        A second call for the same reservation does nothing.
        """
        if reservation.settled:
            return
        reservation.settled = True
        if not reservation.subjects:
            return
        delta_tokens = max(0, int(tokens_used)) - reservation.estimated_tokens
        delta_micro_yen = to_micro_yen(max(0.0, cost_yen)) - reservation.estimated_micro_yen
        if delta_tokens == 0 and delta_micro_yen == 0:
            return
        await self.backend.settle(reservation, delta_tokens, delta_micro_yen, int(self._clock() * 1000))

    async def usage(self, subject: Subject) -> dict[str, Any]:
        """Current counters, limits, what remains and when each window resets (ISO 8601, JST).

        Subjects without limits are not tracked ("tracked": False, counters 0).
        """
        windows = windows_at(self._clock())
        tracked = subject.limits.any
        counters = await self.backend.usage(subject, windows) if tracked else Counters()
        limits = subject.limits

        def entry(used: float, limit: float | None, resets_ms: int | None) -> dict[str, Any]:
            return {
                "used": used,
                "limit": limit,
                "remaining": None if limit is None else max(0, limit - used),
                "resets_at": None if resets_ms is None else _jst(resets_ms).isoformat(),
            }

        oldest = counters.oldest_request_ms
        return {
            "scope": subject.scope,
            "subject_id": subject.id,
            "tracked": tracked,
            "requests_per_minute": entry(
                counters.requests_last_minute,
                limits.requests_per_minute,
                None if oldest is None else oldest + MINUTE_MS,
            ),
            "tokens_per_day": entry(counters.tokens_day, limits.tokens_per_day, windows.day_end_ms),
            "tokens_per_month": entry(counters.tokens_month, limits.tokens_per_month, windows.month_end_ms),
            "budget_yen_per_month": entry(
                counters.micro_yen_month / MICRO_YEN, limits.budget_yen_per_month, windows.month_end_ms
            ),
        }

    async def aclose(self) -> None:
        await self.backend.aclose()

    def _exceeded(self, reservation: Reservation, blocked: Iterable[Blocked]) -> QuotaExceeded:
        windows = reservation.windows
        assert windows is not None
        best: tuple[int, Blocked] | None = None
        for item in blocked:
            if item.kind == "requests_per_minute":
                free_at = item.free_at_ms if item.free_at_ms is not None else windows.now_ms + MINUTE_MS
            elif item.kind == "tokens_per_day":
                free_at = windows.day_end_ms
            else:
                free_at = windows.month_end_ms
            if best is None or free_at > best[0]:
                best = (free_at, item)  # the limit that blocks longest decides Retry-After
        assert best is not None
        free_at, item = best
        subject = reservation.subjects[item.index]
        limit = getattr(subject.limits, item.kind)
        used: float = item.used
        estimate: float = reservation.estimated_tokens
        if item.kind == "budget_yen_per_month":
            used, estimate = item.used / MICRO_YEN, reservation.estimated_cost_yen
        elif item.kind == "requests_per_minute":
            estimate = 1
        wait_s = max(1, math.ceil((free_at - windows.now_ms) / 1000))
        resets_at = _jst(free_at)
        return QuotaExceeded(
            quota_message(subject.scope, item.kind, limit, used, estimate, resets_at, wait_s),
            scope=subject.scope,
            subject_id=subject.id,
            limit_kind=item.kind,
            limit=limit,
            used=used,
            resets_at=resets_at,
            retry_after=float(wait_s),
        )


def _jst(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, JST)


def _tracked(subjects: Sequence[Subject]) -> tuple[Subject, ...]:
    tracked: list[Subject] = []
    for subject in subjects:
        if subject.limits.any and not any(s.scope == subject.scope and s.id == subject.id for s in tracked):
            tracked.append(subject)
    return tuple(tracked)


def build_quota_service(config: QuotaConfig, engine: Engine) -> QuotaService:
    """The service for a `QuotaConfig`: memory or Redis counters, limits from `engine`."""
    backend: QuotaBackend
    if config.backend == "redis":
        backend = RedisQuotaBackend(config.redis_url)
    else:
        backend = MemoryQuotaBackend()
    return QuotaService(backend, limits=QuotaLimits(engine, config.limits_cache_ttl_s))
