"""One streamed model call as the web interface's events: read the body's content (attachments
included), admit it through ModelCall (policy, quota, pseudonymisation), stream the answer
with placeholders restored, and leave exactly one usage record — whatever happens, a client
that goes away included.

This is what ChatService.send does between building its body and storing its turn, without
the storing: apps use it as is, and a conversation can plug its storage in through
`on_admitted` (the question, once the class is known) and `on_answer` (the answer, or the
partial answer of a stream that broke).

Events (gennai.conversations.chat.ChatEvent): "started" (model, class, class_name, action,
policy, request_id), "delta" (text), "done" (model, request_id, tokens_in, tokens_out) or
"error" (kind: policy | quota | unavailable | invalid, message, status, retry_after, param,
partial: whether some text had already been streamed). `info` is added to every event but
the deltas.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from gennai.conversations.chat import ChatEvent, _chunks, _error_kind
from gennai.gateway.calls import ModelCall
from gennai.gateway.errors import GatewayError
from gennai.policy.content import chat_content
from gennai.policy.decision import AUTO, CLASS_NAMES, Decision
from gennai.policy.pseudonymise import ChunkRestorer

# (decision, class seen) once admitted, before the model is called.
OnAdmitted = Callable[[Decision, int], Awaitable[None]]
# (answer text, model id, class seen, complete) once the stream ended or broke with text.
OnAnswer = Callable[[str, str | None, int, bool], Awaitable[None]]


async def stream_call(
    call: ModelCall,
    body: dict[str, Any],
    *,
    model: str = AUTO,
    declared_class: int = 1,
    task: str | None = None,
    app: str | None = None,
    app_class: int = 1,
    conversation_id: str | None = None,
    max_output_tokens: int | None = None,
    info: Mapping[str, Any] | None = None,
    detail: str | None = None,
    on_admitted: OnAdmitted | None = None,
    on_answer: OnAnswer | None = None,
) -> AsyncIterator[ChatEvent]:
    """Stream one admitted call as ChatEvents. `call` has its principal set; `body` is a chat
    completions body (its `file` parts are read and replaced by their text here). `detail`
    goes into the usage record (before the error message, if any)."""
    platform = call.platform
    extra = dict(info or {})
    answer: list[str] = []
    chunks: AsyncIterator[Any] | None = None
    try:
        content = await asyncio.to_thread(
            chat_content, body, max_attachment_chars=platform.loaded.config.server.max_attachment_chars
        )
        decision = await call.admit(
            body, content, model=model, declared_class=declared_class, task=task, app=app, app_class=app_class,
            conversation_id=conversation_id, max_output_tokens=max_output_tokens,
        )
        seen = decision.original_class or decision.effective_class
        if on_admitted is not None:
            await on_admitted(decision, seen)
        chunks = await platform.dispatcher.stream_chat(decision, body, call.outcome)
        model_id = call.outcome.model.id if call.outcome.model else None
        yield ChatEvent("started", {
            **extra, "model": model_id, "class": seen, "class_name": CLASS_NAMES[seen],
            "action": decision.action, "policy": decision.header(), "request_id": call.request_id,
        })
        restorer = ChunkRestorer(call.placeholders) if call.placeholders is not None else None
        async for item in chunks:
            for chunk in _chunks(item):
                if restorer is not None:
                    chunk = restorer.restore(chunk)
                for choice in chunk.get("choices") or ():
                    delta = (choice.get("delta") or {}).get("content")
                    if delta:
                        answer.append(delta)
                        yield ChatEvent("delta", {"text": delta})
        model_id = call.outcome.model.id if call.outcome.model else model_id
        if on_answer is not None:
            await on_answer("".join(answer), model_id, seen, True)
        call.record("ok", 200, detail=detail)
        yield ChatEvent("done", {
            **extra, "model": model_id, "request_id": call.request_id,
            "tokens_in": call.outcome.tokens_in, "tokens_out": call.outcome.tokens_out,
        })
    except GatewayError as error:
        partial = bool(answer)
        if partial and on_answer is not None:
            decision_ = call.decision
            seen = (decision_.original_class or decision_.effective_class) if decision_ else 1
            model_id = call.outcome.model.id if call.outcome.model else None
            await on_answer("".join(answer), model_id, seen, False)
        call.record(
            "error_mid_stream" if partial else "error", error.status, error,
            detail=f"{detail}: {error.message}"[:500] if detail else None,
        )
        yield ChatEvent("error", {
            **extra, "kind": _error_kind(error), "message": error.message, "status": error.status,
            "retry_after": error.retry_after, "param": error.param, "partial": partial,
            "request_id": call.request_id,
        })
    except asyncio.CancelledError:
        call.record("client_disconnected", 499, detail=detail)
        raise
    except Exception:
        call.record("error", 500, detail=f"{detail}: internal error" if detail else "internal error")
        raise
    finally:
        # A consumer that stops iterating (aclose: GeneratorExit) still leaves its record,
        # and the model's slot is given back now rather than when the stream is collected.
        call.record("client_disconnected", 499, detail=detail)
        if chunks is not None and hasattr(chunks, "aclose"):
            await chunks.aclose()


__all__ = ["OnAdmitted", "OnAnswer", "stream_call"]
