"""The dispatcher: send a request to the first model that answers, among those allowed.

The caller (the API layer) hands over the policy's decision (its admission): the ordered
candidate models; the dispatcher never adds a model that is not in that list, and every
provider checks the admission again before any text leaves (Provider._guard). For each
candidate it checks the circuit breaker, takes a slot in the model's bounded queue,
applies the model's timeout, and retries the same model (only while nothing has reached
the client yet) before moving on to the next candidate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gennai.config import GatewayConfig
from gennai.gateway.errors import GatewayError, Overloaded, UpstreamError, UpstreamTimeout
from gennai.gateway.providers.base import Admission, RawEvents
from gennai.gateway.registry import ModelRegistry, RegisteredModel

T = TypeVar("T")
Chunk = dict[str, Any] | RawEvents


@dataclass(slots=True)
class Attempt:
    model_id: str
    error: str | None = None


@dataclass(slots=True)
class Outcome:
    """What happened, for the usage record, whether the request succeeded or not."""

    model: RegisteredModel | None = None
    attempts: list[Attempt] = field(default_factory=list)
    first_byte_at: float | None = None
    tokens_in: int = 0
    tokens_out: int = 0


class Dispatcher:
    def __init__(self, registry: ModelRegistry, config: GatewayConfig) -> None:
        self.registry = registry
        self.config = config

    async def chat(self, admission: Admission, body: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
        response = await self._first_success(
            admission, lambda model: _bounded(model, lambda: model.provider.chat(body, admission)), outcome
        )
        _note_usage(response, outcome)
        return response

    async def embeddings(self, admission: Admission, body: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
        response = await self._first_success(
            admission, lambda model: _bounded(model, lambda: model.provider.embeddings(body, admission)), outcome
        )
        _note_usage(response, outcome)
        return response

    async def stream_chat(self, admission: Admission, body: dict[str, Any], outcome: Outcome) -> AsyncIterator[Chunk]:
        """Open a stream on the first model that yields a first chunk; return all chunks.

        Failures before the first chunk are retried and fall back; after it, the returned
        iterator raises and the caller ends the stream with an error event.
        """

        async def open_stream(model: RegisteredModel) -> tuple[Chunk, AsyncIterator[Chunk]]:
            # The model's timeout covers the wait for a slot and for the first chunk.
            iterator: AsyncIterator[Chunk] | None = None
            acquired = False
            try:
                async with asyncio.timeout(model.config.timeout_s):
                    await model.limiter.acquire()
                    acquired = True
                    iterator = model.provider.stream_chat(body, admission)
                    first = await anext(iterator)
            except StopAsyncIteration:
                model.limiter.release()
                raise UpstreamError(f"model '{model.id}' ended the stream before any output") from None
            except BaseException:
                if acquired:
                    model.limiter.release()
                if iterator is not None:
                    await _close(iterator)
                raise
            return first, iterator

        first, iterator = await self._first_success(admission, open_stream, outcome)
        outcome.first_byte_at = time.perf_counter()
        assert outcome.model is not None
        return self._continue(outcome.model, first, iterator, outcome)

    async def _continue(
        self,
        model: RegisteredModel,
        first: Chunk,
        iterator: AsyncIterator[Chunk],
        outcome: Outcome,
    ) -> AsyncIterator[Chunk]:
        timeout = model.config.timeout_s
        watchdog = IdleWatchdog(timeout)
        try:
            _note_usage(first, outcome)
            yield first
            while True:
                watchdog.waiting()
                try:
                    item = await anext(iterator)
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    if watchdog.fired():
                        model.breaker.record_failure()
                        stalled = UpstreamTimeout(f"model '{model.id}' stopped sending for {timeout:g} s")
                        raise _tried(stalled, [model.id]) from None
                    raise
                except UpstreamError as exc:
                    model.breaker.record_failure()
                    raise _tried(exc, [model.id])
                finally:
                    watchdog.idle()
                _note_usage(item, outcome)
                yield item
        finally:
            watchdog.close()
            model.limiter.release()
            await _close(iterator)

    async def _first_success(
        self,
        admission: Admission,
        call: Callable[[RegisteredModel], Awaitable[T]],
        outcome: Outcome,
    ) -> T:
        last_error: GatewayError | None = None
        for model_id in admission.candidates:
            model = self.registry.get(model_id)
            if model is None:
                continue
            tries = 1 + self.config.retries
            for attempt_number in range(tries):
                if not model.breaker.allow():
                    last_error = UpstreamError(
                        f"model '{model.id}' is temporarily unavailable (circuit open after repeated failures)",
                        status=503,
                        code="circuit_open",
                        retry_after=round(model.breaker.retry_after(), 1) or 1.0,
                    )
                    outcome.attempts.append(Attempt(model.id, "circuit_open"))
                    break
                attempt = Attempt(model.id)
                outcome.attempts.append(attempt)
                outcome.model = model
                try:
                    result = await call(model)
                except Overloaded as exc:
                    model.breaker.release_trial()
                    attempt.error = "overloaded"
                    last_error = exc
                    break
                except TimeoutError:
                    model.breaker.record_failure()
                    attempt.error = "timeout"
                    last_error = UpstreamTimeout(f"model '{model.id}' did not answer within {model.config.timeout_s:g} s")
                except UpstreamError as exc:
                    attempt.error = exc.code or exc.error_type
                    if not exc.fallback:
                        model.breaker.record_success()
                        raise
                    model.breaker.record_failure()
                    last_error = exc
                    if not exc.retry_same:
                        break
                else:
                    model.breaker.record_success()
                    return result
                if attempt_number + 1 < tries and self.config.retry_backoff_s:
                    await asyncio.sleep(self.config.retry_backoff_s * (2**attempt_number))
        if last_error is None:
            raise UpstreamError("no model was available for this request", status=503, code="no_model_available")
        tried = list(dict.fromkeys(a.model_id for a in outcome.attempts))
        if len(outcome.attempts) > 1 and isinstance(last_error, UpstreamError):
            last_error.message = f"{last_error.message} (tried: {', '.join(tried)})"
        raise _tried(last_error, tried)


def _tried(error: GatewayError, model_ids: list[str]) -> GatewayError:
    """`error` with the models this call tried, in order, in its details["tried"]."""
    if model_ids:
        error.details = {**(error.details or {}), "tried": model_ids}
    return error


class IdleWatchdog:
    """Cancels the streaming task when the upstream sends nothing for `timeout` seconds.

    Cheaper than a fresh `asyncio.timeout()` per chunk: a chunk costs two attribute writes;
    the one timer re-arms itself only when it fires early. Time the client takes to read
    (while the task is not waiting on the upstream) never counts.
    """

    __slots__ = ("timeout", "_loop", "_task", "_since", "_handle", "_fired")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._since: float | None = None
        self._fired = False
        self._handle = self._loop.call_later(timeout, self._check)

    def waiting(self) -> None:
        self._since = self._loop.time()

    def idle(self) -> None:
        self._since = None

    def fired(self) -> bool:
        if self._fired and self._task is not None:
            self._task.uncancel()
            return True
        return False

    def _check(self) -> None:
        now = self._loop.time()
        since = self._since
        if since is not None and now - since >= self.timeout and self._task is not None:
            self._fired = True
            self._task.cancel()
            return
        delay = self.timeout if since is None else since + self.timeout - now
        self._handle = self._loop.call_later(max(delay, 0.001), self._check)

    def close(self) -> None:
        self._handle.cancel()


async def _bounded(model: RegisteredModel, run: Callable[[], Awaitable[T]]) -> T:
    """Run one upstream call within the model's timeout and concurrency limit."""
    async with asyncio.timeout(model.config.timeout_s):
        await model.limiter.acquire()
        try:
            return await run()
        finally:
            model.limiter.release()


def _note_usage(item: dict[str, Any] | RawEvents, outcome: Outcome) -> None:
    if type(item) is RawEvents:
        return
    usage = item.get("usage")  # type: ignore[union-attr]
    if usage:
        outcome.tokens_in = int(usage.get("prompt_tokens") or usage.get("total_tokens") or 0)
        outcome.tokens_out = int(usage.get("completion_tokens") or 0)


async def _close(iterator: AsyncIterator[Any]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # noqa: BLE001 - closing a broken upstream must not mask the real error
            pass
