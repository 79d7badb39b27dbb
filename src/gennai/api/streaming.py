"""A lean server-sent-events response.

Starlette's StreamingResponse watches for client disconnects with an anyio task group per
stream; this does the same with one plain asyncio task, and closes the body iterator (and
so the upstream request) the moment the client goes away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

from starlette.types import Receive, Scope, Send

_BASE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class DisconnectWatch:
    """Cancels the current task when the client disconnects (uvicorn does not).

    Start it once the request body has been read; one watch serves a request from the
    upstream call to the last byte of a streamed answer.
    """

    __slots__ = ("task", "disconnected", "_watcher")

    def __init__(self, receive: Receive) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.task = task
        self.disconnected = False
        self._watcher = asyncio.ensure_future(self._watch(receive))

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                self.task.cancel()
                return

    def absorb(self) -> bool:
        """After a CancelledError: True (and the cancellation undone) if it was our doing."""
        if self.disconnected:
            self.task.uncancel()
            return True
        return False

    def stop(self) -> None:
        self._watcher.cancel()


class EventStreamResponse:
    def __init__(
        self, body: AsyncIterator[bytes], headers: Mapping[str, str] | None = None, watch: DisconnectWatch | None = None
    ) -> None:
        self.body = body
        self.watch = watch
        self.raw_headers = _BASE_HEADERS + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watch = self.watch or DisconnectWatch(receive)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for data in self.body:
                await send({"type": "http.response.body", "body": data, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not watch.absorb():
                raise
        except OSError:
            pass  # the client vanished while we were writing
        finally:
            watch.stop()
            aclose = getattr(self.body, "aclose", None)
            if aclose is not None:
                await aclose()
