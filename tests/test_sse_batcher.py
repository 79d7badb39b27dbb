"""The OpenAI-compatible streaming fast path: events split anywhere by the network come out
whole, in order, renamed, with usage and errors parsed and [DONE] honoured."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gennai.gateway.errors import UpstreamError
from gennai.gateway.providers.base import RawEvents
from gennai.gateway.providers.openai_compat import SSEBatcher


def event(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def content(text: str, model: str = "up-model") -> dict[str, Any]:
    return {"id": "c", "object": "chat.completion.chunk", "model": model, "choices": [{"index": 0, "delta": {"content": text}}]}


USAGE = {"id": "c", "object": "chat.completion.chunk", "model": "up-model", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}


def run(stream: bytes, cuts: list[int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
    """Feed `stream` cut at `cuts`; return (content chunks, parsed chunks, done)."""
    batcher = SSEBatcher("ours", "up-model")
    raw = b""
    parsed: list[dict[str, Any]] = []
    previous = 0
    for cut in [*sorted(cuts), len(stream)]:
        for item in batcher.feed(stream[previous:cut]):
            if isinstance(item, RawEvents):
                raw += item.data
            else:
                parsed.append(item)
        previous = cut
        if batcher.done:
            break
    chunks = [orjson.loads(line[6:]) for line in raw.split(b"\n\n") if line.startswith(b"data: ")]
    return chunks, parsed, batcher.done


TRICKY = ["こんにちは", "data: [DONE]", '"model":"up-model"', "a\n\nb", "\r\n", "{\"error\": 1}", '"usage":{'] 


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(st.sampled_from(TRICKY) | st.text(max_size=12), min_size=1, max_size=8),
    data=st.data(),
    crlf=st.booleans(),
)
def test_any_split_gives_the_same_events(texts: list[str], data: st.DataObject, crlf: bool) -> None:
    stream = b"".join(event(content(t)) for t in texts) + event(USAGE) + b"data: [DONE]\n\n"
    if crlf:
        stream = stream.replace(b"\n", b"\r\n")
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    chunks, parsed, done = run(stream, cuts)
    assert done
    assert [c["choices"][0]["delta"]["content"] for c in chunks] == texts
    assert all(c["model"] == "ours" for c in chunks)
    assert parsed == [{**USAGE, "model": "ours"}]


def test_error_event_after_content_keeps_the_content() -> None:
    batcher = SSEBatcher("ours", "up-model")
    items = batcher.feed(event(content("partial")) + b"event: error\ndata: {\"error\": {\"message\": \"boom\"}}\n\n")
    assert isinstance(items[0], RawEvents) and b"partial" in items[0].data
    assert isinstance(batcher.error, UpstreamError) and "boom" in batcher.error.message


def test_comments_and_keepalives_are_skipped_in_the_parsed_path() -> None:
    batcher = SSEBatcher("ours", "ours")
    items = batcher.feed(b": keep-alive\n\n" + b"event: message\n" + event(content("x")) + event(USAGE))
    kinds = [type(i).__name__ for i in items]
    assert kinds == ["RawEvents", "dict"]


@pytest.mark.parametrize("done", [b"data: [DONE]\n\n", b"data:[DONE]\n\n"])
def test_done_stops_and_nothing_after_it_is_forwarded(done: bytes) -> None:
    batcher = SSEBatcher("ours", "up-model")
    items = batcher.feed(event(content("a")) + done + event(content("never")))
    assert batcher.done
    assert b"never" not in b"".join(i.data for i in items if isinstance(i, RawEvents))
