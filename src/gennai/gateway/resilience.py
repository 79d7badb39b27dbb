"""Circuit breakers and bounded per-model queues (backpressure)."""

from __future__ import annotations

import asyncio
import time
from collections import deque

from gennai.gateway.errors import Overloaded


class CircuitBreaker:
    """Closed → open after `threshold` consecutive failures → half-open after `reset_s`.

    Half-open lets one trial request through; its success closes the circuit, its failure
    opens it again for another `reset_s`.
    """

    def __init__(self, threshold: int, reset_s: float) -> None:
        self.threshold = threshold
        self.reset_s = reset_s
        self.failures = 0
        self.opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        if time.monotonic() - self.opened_at >= self.reset_s:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        if time.monotonic() - self.opened_at < self.reset_s:
            return False
        if self._trial_running:
            return False
        self._trial_running = True
        return True

    def retry_after(self) -> float:
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.reset_s - (time.monotonic() - self.opened_at))

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._trial_running = False

    def release_trial(self) -> None:
        """The trial request ended without telling anything about the backend's health."""
        self._trial_running = False

    def record_failure(self) -> None:
        self.failures += 1
        if self._trial_running or self.failures >= self.threshold:
            self.opened_at = time.monotonic()
        self._trial_running = False


class ConcurrencyLimiter:
    """At most `limit` requests in flight for a model and at most `max_queue` waiting.

    Waiters are served first come, first served. A full queue is refused at once with
    `Overloaded` (503 + Retry-After) instead of letting memory grow without bound.
    """

    def __init__(self, model_id: str, limit: int, max_queue: int) -> None:
        self.model_id = model_id
        self.limit = limit
        self.max_queue = max_queue
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def queued(self) -> int:
        return len(self._waiters)

    async def acquire(self) -> None:
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return
        if len(self._waiters) >= self.max_queue:
            raise Overloaded(
                f"model '{self.model_id}' is busy ({self.in_flight} running, {len(self._waiters)} waiting); try again shortly",
                code="model_overloaded",
                retry_after=1.0,
            )
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                # We were handed a slot but are leaving anyway: pass it on.
                self.release()
            else:
                try:
                    self._waiters.remove(future)
                except ValueError:
                    pass
            raise

    def release(self) -> None:
        while self._waiters:
            future = self._waiters.popleft()
            if not future.done():
                future.set_result(None)  # the slot moves to this waiter; in_flight unchanged
                return
        self.in_flight -= 1
