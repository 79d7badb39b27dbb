"""The dispatcher: send a request to the first model that answers, among those allowed.

The caller (the API layer, after the policy decision) hands over the ordered list of
candidate model ids; the dispatcher never adds a model that is not in that list. For each
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
from gennai.gateway.registry import ModelRegistry, RegisteredModel

T = TypeVar("T")


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

    async def chat(self, candidates: list[str], body: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
        async def call(model: RegisteredModel) -> dict[str, Any]:
            async with asyncio.timeout(model.config.timeout_s):
                await model.limiter.acquire()
                try:
                    return await model.provider.chat(body)
                finally:
                    model.limiter.release()

        response = await self._first_success(candidates, call, outcome)
        usage = response.get("usage") or {}
        outcome.tokens_in = int(usage.get("prompt_tokens") or 0)
        outcome.tokens_out = int(usage.get("completion_tokens") or 0)
        return response

    async def embeddings(self, candidates: list[str], body: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
        async def call(model: RegisteredModel) -> dict[str, Any]:
            async with asyncio.timeout(model.config.timeout_s):
                await model.limiter.acquire()
                try:
                    return await model.provider.embeddings(body)
                finally:
                    model.limiter.release()

        response = await self._first_success(candidates, call, outcome)
        usage = response.get("usage") or {}
        outcome.tokens_in = int(usage.get("prompt_tokens") or usage.get("total_tokens") or 0)
        return response

    async def stream_chat(
        self, candidates: list[str], body: dict[str, Any], outcome: Outcome
    ) -> AsyncIterator[dict[str, Any]]:
        """Open a stream on the first model that yields a first chunk; return all chunks.

        Failures before the first chunk are retried and fall back; after it, the returned
        iterator raises and the caller ends the stream with an error event.
        """

        async def open_stream(model: RegisteredModel) -> tuple[dict[str, Any], AsyncIterator[dict[str, Any]]]:
            timeout = model.config.timeout_s
            async with asyncio.timeout(timeout):
                await model.limiter.acquire()
            iterator = model.provider.stream_chat(body)
            try:
                async with asyncio.timeout(timeout):
                    first = await anext(iterator)
            except StopAsyncIteration:
                model.limiter.release()
                raise UpstreamError(f"model '{model.id}' ended the stream before any output") from None
            except BaseException:
                model.limiter.release()
                await _close(iterator)
                raise
            return first, iterator

        first, iterator = await self._first_success(candidates, open_stream, outcome)
        outcome.first_byte_at = time.perf_counter()
        assert outcome.model is not None
        return self._continue(outcome.model, first, iterator, outcome)

    async def _continue(
        self,
        model: RegisteredModel,
        first: dict[str, Any],
        iterator: AsyncIterator[dict[str, Any]],
        outcome: Outcome,
    ) -> AsyncIterator[dict[str, Any]]:
        timeout = model.config.timeout_s
        try:
            _note_usage(first, outcome)
            yield first
            while True:
                try:
                    async with asyncio.timeout(timeout):
                        item = await anext(iterator)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    model.breaker.record_failure()
                    raise UpstreamTimeout(f"model '{model.id}' stopped sending for {timeout:g} s") from None
                except UpstreamError:
                    model.breaker.record_failure()
                    raise
                _note_usage(item, outcome)
                yield item
        finally:
            model.limiter.release()
            await _close(iterator)

    async def _first_success(
        self,
        candidates: list[str],
        call: Callable[[RegisteredModel], Awaitable[T]],
        outcome: Outcome,
    ) -> T:
        last_error: GatewayError | None = None
        for model_id in candidates:
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
        if len(outcome.attempts) > 1 and isinstance(last_error, UpstreamError):
            tried = ", ".join(dict.fromkeys(a.model_id for a in outcome.attempts))
            last_error.message = f"{last_error.message} (tried: {tried})"
        raise last_error


def _note_usage(item: dict[str, Any], outcome: Outcome) -> None:
    usage = item.get("usage")
    if usage:
        outcome.tokens_in = int(usage.get("prompt_tokens") or 0)
        outcome.tokens_out = int(usage.get("completion_tokens") or 0)


async def _close(iterator: AsyncIterator[Any]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # noqa: BLE001 - closing a broken upstream must not mask the real error
            pass
