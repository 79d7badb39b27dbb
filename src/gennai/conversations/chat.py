"""A stored conversation's turn, for the web interface: what the policy would do with a
draft (shown before sending), and sending it — through the same admission as the API
(gennai.gateway.calls.ModelCall), streamed, with the question and the answer stored
encrypted. No HTTP here: the web layer turns the events into SSE.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import orjson

from gennai.accounts.keys import Principal
from gennai.gateway.calls import ModelCall, policy_request
from gennai.gateway.errors import Forbidden, GatewayError, UpstreamError
from gennai.gateway.providers.base import RawEvents
from gennai.policy.content import chat_content
from gennai.policy.decision import AUTO, CLASS_NAMES, Decision, PolicyRequest
from gennai.policy.pseudonymise import ChunkRestorer

if TYPE_CHECKING:
    from gennai.platform import Platform

TITLE_CHARS = 40
MAX_PREVIEW_FINDINGS = 20


@dataclass(frozen=True, slots=True)
class Finding:
    type: str
    preview: str  # masked


@dataclass(frozen=True, slots=True)
class Preview:
    """What would happen to a draft: for the warning shown before sending."""

    effective_class: int
    findings: tuple[Finding, ...]
    reasons: tuple[str, ...]
    outcome: str  # "send" | "pseudonymise" | "reroute" | "block"
    model: str | None  # the model that would receive it
    message: str  # one Japanese sentence for the user
    # A refusal's GatewayError.details (class, kinds found, allowed models…); None otherwise.
    details: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "class": self.effective_class,
            "class_name": CLASS_NAMES[self.effective_class],
            "findings": [{"type": f.type, "preview": f.preview} for f in self.findings],
            "reasons": list(self.reasons),
            "outcome": self.outcome,
            "model": self.model,
            "message": self.message,
            "details": self.details,
        }


@dataclass(slots=True)
class ChatEvent:
    """One event of a streamed turn: "started", "delta", "done" or "error"."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


class ChatService:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    # -- before sending ------------------------------------------------------------------
    async def preview(
        self, principal: Principal, text: str, *, model: str = AUTO, declared_class: int = 1,
        conversation_id: str | None = None,
    ) -> Preview:
        """The decision a draft would get, without sending or remembering anything."""
        platform = self.platform
        history = await self._history(principal, conversation_id)
        messages = [*history, {"role": "user", "content": text}]
        content = chat_content({"messages": messages}, max_attachment_chars=platform.loaded.config.server.max_attachment_chars)
        request = await policy_request(platform, principal, content, model=model, declared_class=declared_class)
        if conversation_id:
            owner = principal.user_id or principal.key_id
            memory = await asyncio.to_thread(platform.conversations.get, owner, conversation_id)
            request = replace(request, history_class=memory)
        return await preview_request(platform, request, (text,))

    # -- sending -------------------------------------------------------------------------
    async def send(
        self, principal: Principal, text: str, *, conversation_id: str | None = None, model: str = AUTO,
        declared_class: int = 1, attachments: list[dict[str, Any]] | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """Store the question, stream the answer, store the answer. Events: "started"
        (conversation id, model, class, policy action), "delta" (text), "done" (usage), or
        "error" (kind, message, whether a partial answer was kept)."""
        platform = self.platform
        owner = principal.user_id
        assert owner is not None, "the web interface is for people"
        team_id = principal.team_id
        history = await self._history(principal, conversation_id)
        parts: list[dict[str, Any]] = [{"type": "text", "text": text}, *(attachments or [])]
        question: Any = text if not attachments else parts
        body: dict[str, Any] = {
            "model": model,
            "messages": [*history, {"role": "user", "content": question}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        call = ModelCall(platform, "web.chat", streamed=True)
        call.principal = principal
        if conversation_id is None:
            conversation_id = await asyncio.to_thread(platform.content.create, owner, team_id or _common(), _title(text), 1)
        stored_question = _stored_text(body["messages"][-1]["content"])
        store = platform.content
        conversation = conversation_id

        async def store_question(_decision: Decision, seen: int) -> None:
            await asyncio.to_thread(store.append, conversation, owner, "user", stored_question, None, seen)

        async def store_answer(answer: str, model_id: str | None, seen: int, complete: bool) -> None:
            # a broken stream's partial answer is kept, and marked
            text_ = answer if complete else answer + "\n\n〔回答は途中で途切れました〕"
            await asyncio.to_thread(store.append, conversation, owner, "assistant", text_, model_id, seen)

        async for event in stream_call(
            call, body, model=model, declared_class=declared_class, conversation_id=conversation_id,
            info={"conversation_id": conversation_id}, on_admitted=store_question, on_answer=store_answer,
        ):
            if event.kind == "error":
                event.data["partial_kept"] = event.data["partial"]
            yield event

    async def _history(self, principal: Principal, conversation_id: str | None) -> list[dict[str, Any]]:
        if conversation_id is None:
            return []
        stored = await asyncio.to_thread(self.platform.content.read, conversation_id, principal.user_id)
        return [{"role": m.role, "content": m.content} for m in stored.messages]


async def preview_request(platform: Platform, request: PolicyRequest, shown: Sequence[str]) -> Preview:
    """What the policy would do with `request`, without sending, reserving or remembering
    anything: the chat's and the apps' preview. `shown`: the texts whose items are listed
    (masked) for the person; the policy itself classifies every text of the request."""
    detect = platform.policy.detector_for(request)
    findings: list[Finding] = []
    if detect is not None:
        for text in shown:
            if text and len(findings) < MAX_PREVIEW_FINDINGS:
                result = await asyncio.to_thread(detect, text)
                findings.extend(Finding(e.type, e.preview) for e in result.entities)
    found = tuple(findings[:MAX_PREVIEW_FINDINGS])
    try:
        decision = await asyncio.to_thread(platform.policy.decide, request)
    except Forbidden as refusal:
        effective = (getattr(refusal, "policy", None) or {}).get("effective_class", request.declared_class)
        reasons = tuple((refusal.details or {}).get("reasons") or ())
        return Preview(effective, found, reasons, "block", None, refusal.message, refusal.details)
    except GatewayError as error:
        return Preview(request.declared_class, found, (), "block", None, error.message, error.details)
    target = decision.candidates[0] if decision.candidates else None
    outcome = {"pseudonymised": "pseudonymise", "rerouted": "reroute"}.get(decision.action, "send")
    name = CLASS_NAMES[decision.original_class or decision.effective_class]
    message = {
        "send": f"{name}として「{target}」に送信します。",
        "reroute": f"{name}のため、選んだモデルではなく「{target}」に送信します。",
        "pseudonymise": f"{name}の個人情報を仮の記号に置き換えて「{target}」に送信し、回答では元に戻します。",
    }[outcome]
    effective = decision.effective_class if outcome != "pseudonymise" else decision.original_class or 1
    return Preview(effective, found, decision.reasons, outcome, target, message)


def _common() -> str:
    from gennai.store.tables import COMMON_TEAM_ID

    return COMMON_TEAM_ID


def _title(text: str) -> str:
    line = " ".join(text.split())
    return line[:TITLE_CHARS] + ("…" if len(line) > TITLE_CHARS else "") or "新しい会話"


def _stored_text(content: Any) -> str:
    """What is kept of the question: the text, attachments included as read."""
    if isinstance(content, str):
        return content
    return "\n\n".join(part.get("text", "") for part in content if isinstance(part, dict))


def stream_chunks(item: Any) -> list[dict[str, Any]]:
    """The chunk dicts in one item of a dispatcher stream (raw SSE bytes passed through, or a
    chunk already parsed by a provider)."""
    if type(item) is RawEvents:
        out = []
        for data in item.data.split(b"\n\n"):
            if data.startswith(b"data:") and data[5:].strip() != b"[DONE]":
                out.append(orjson.loads(data[5:]))
        return out
    return [item]


def _error_kind(error: GatewayError) -> str:
    code = error.code or ""
    if error.status == 429 or code.startswith("quota"):
        return "quota"
    if error.status == 403:
        return "policy"
    if isinstance(error, UpstreamError) or error.status in (502, 503, 504):
        return "unavailable"
    return "invalid"


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
            for chunk in stream_chunks(item):
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
            "request_id": call.request_id, "details": error.details,
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


__all__ = ["ChatEvent", "ChatService", "Finding", "OnAdmitted", "OnAnswer", "Preview", "preview_request", "stream_call", "stream_chunks"]
