"""The retention job: deletes conversations past their team's retention period, on a timer.

`RetentionJob(store, interval_s)` runs `store.purge_expired()` in a thread shortly after
`start()` and then every `interval_s` seconds, logging how many conversations it deleted.
A failure (the database down, a lock time-out) is logged and retried at the next interval;
it never reaches the server. `stop()` ends the timer and waits for a run in progress, which
stops between two batches.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from gennai.conversations.store import ConversationStore

log = logging.getLogger("gennai.retention")


class RetentionJob:
    def __init__(self, store: ConversationStore, interval_s: float, *, first_delay_s: float = 5.0) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.store = store
        self.interval_s = interval_s
        self.first_delay_s = max(0.0, first_delay_s)
        self.runs = 0
        self.failures = 0
        self.deleted = 0
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="gennai-retention")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        if self._wake is not None:
            self._wake.set()
        try:
            await task
        except asyncio.CancelledError:
            pass

    async def run_once(self) -> int | None:
        """One purge now (in a thread): the number deleted, or None when it failed."""
        started = time.monotonic()
        self.runs += 1
        try:
            deleted = await asyncio.to_thread(self.store.purge_expired, stop=self._stop)
        except Exception as exc:  # noqa: BLE001 - logged and retried at the next interval
            self.failures += 1
            log.warning(
                "retention: purge failed (%s: %s); retrying in %.0f s",
                type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "", self.interval_s,
            )
            return None
        self.deleted += deleted
        elapsed = time.monotonic() - started
        if deleted:
            log.info("retention: deleted %d expired conversation(s) in %.2f s", deleted, elapsed)
        else:
            log.debug("retention: nothing to delete (%.2f s)", elapsed)
        return deleted

    async def _loop(self) -> None:
        delay = self.first_delay_s
        while not self._stop.is_set():
            if await self._sleep(delay):
                return
            await self.run_once()
            delay = self.interval_s

    async def _sleep(self, seconds: float) -> bool:
        """Wait `seconds`, or less when stopped; True when stopped."""
        assert self._wake is not None
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            pass
        return self._stop.is_set()
