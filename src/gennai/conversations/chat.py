"""A stored conversation's turn, for the web interface: what the policy would do with a
draft (shown before sending), and sending it — through the same admission as the API
(gennai.gateway.calls.ModelCall), streamed, with the question and the answer stored
encrypted. No HTTP here: the web layer turns the events into SSE.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from gennai.accounts.keys import Principal
from gennai.gateway.calls import ModelCall, team_policy_for
from gennai.gateway.errors import Forbidden, GatewayError, UpstreamError
from gennai.gateway.providers.base import RawEvents
from gennai.policy.content import chat_content
from gennai.policy.decision import AUTO, CLASS_NAMES, PolicyRequest
from gennai.policy.pseudonymise import ChunkRestorer

if TYPE_CHECKING:
    from gennai.platform import Platform

TITLE_CHARS = 40


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

    def to_json(self) -> dict[str, Any]:
        return {
            "class": self.effective_class,
            "class_name": CLASS_NAMES[self.effective_class],
            "findings": [{"type": f.type, "preview": f.preview} for f in self.findings],
            "reasons": list(self.reasons),
            "outcome": self.outcome,
            "model": self.model,
            "message": self.message,
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
        team = await team_policy_for(platform, principal.team_id)
        memory = 1
        if conversation_id:
            memory = await asyncio.to_thread(platform.conversations.get, principal.user_id or principal.key_id, conversation_id)
        request = PolicyRequest(
            model=model, texts=content.texts, declared_class=declared_class, capabilities=content.capabilities,
            history_class=memory, team=team.name if team else None, team_policy=team,
        )
        detect = platform.policy.detector_for(request)
        findings: list[Finding] = []
        if detect is not None:
            result = await asyncio.to_thread(detect, text)
            findings = [Finding(e.type, e.preview) for e in result.entities][:20]
        try:
            decision = await asyncio.to_thread(platform.policy.decide, request)
        except Forbidden as refusal:
            effective = (getattr(refusal, "policy", None) or {}).get("effective_class", declared_class)
            return Preview(effective, tuple(findings), (), "block", None, refusal.message)
        except GatewayError as error:
            return Preview(declared_class, tuple(findings), (), "block", None, error.message)
        target = decision.candidates[0] if decision.candidates else None
        outcome = {"pseudonymised": "pseudonymise", "rerouted": "reroute"}.get(decision.action, "send")
        name = CLASS_NAMES[decision.original_class or decision.effective_class]
        message = {
            "send": f"{name}として「{target}」に送信します。",
            "reroute": f"{name}のため、選んだモデルではなく「{target}」に送信します。",
            "pseudonymise": f"{name}の個人情報を仮の記号に置き換えて「{target}」に送信し、回答では元に戻します。",
        }[outcome]
        return Preview(decision.effective_class if outcome != "pseudonymise" else decision.original_class or 1,
                       tuple(findings), decision.reasons, outcome, target, message)

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
        answer: list[str] = []
        chunks: Any = None
        try:
            content = await asyncio.to_thread(
                chat_content, body, max_attachment_chars=platform.loaded.config.server.max_attachment_chars
            )
            if conversation_id is None:
                conversation_id = await asyncio.to_thread(
                    platform.content.create, owner, team_id or _common(), _title(text), 1
                )
            stored_question = _stored_text(body["messages"][-1]["content"])
            decision = await call.admit(
                body, content, model=model, declared_class=declared_class, conversation_id=conversation_id,
            )
            seen = decision.original_class or decision.effective_class
            await asyncio.to_thread(platform.content.append, conversation_id, owner, "user", stored_question, None, seen)
            chunks = await platform.dispatcher.stream_chat(decision, body, call.outcome)
            model_id = call.outcome.model.id if call.outcome.model else None
            yield ChatEvent("started", {
                "conversation_id": conversation_id, "model": model_id, "class": seen,
                "class_name": CLASS_NAMES[seen], "action": decision.action, "policy": decision.header(),
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
            await asyncio.to_thread(platform.content.append, conversation_id, owner, "assistant", "".join(answer), model_id, seen)
            call.record("ok", 200)
            yield ChatEvent("done", {
                "conversation_id": conversation_id, "model": model_id, "request_id": call.request_id,
                "tokens_in": call.outcome.tokens_in, "tokens_out": call.outcome.tokens_out,
            })
        except GatewayError as error:
            kept = bool(answer)
            if kept and conversation_id is not None:  # the partial answer is kept, and marked
                partial = "".join(answer) + "\n\n〔回答は途中で途切れました〕"
                model_id = call.outcome.model.id if call.outcome.model else None
                seen = call.decision.original_class or call.decision.effective_class if call.decision else 1
                await asyncio.to_thread(platform.content.append, conversation_id, owner, "assistant", partial, model_id, seen)
            call.record("error_mid_stream" if kept else "error", error.status, error)
            yield ChatEvent("error", {
                "kind": _error_kind(error), "message": error.message, "status": error.status,
                "retry_after": error.retry_after, "partial_kept": kept, "conversation_id": conversation_id,
            })
        except asyncio.CancelledError:
            call.record("client_disconnected", 499)
            raise
        except Exception:
            call.record("error", 500, detail="internal error")
            raise
        finally:
            # The reader went away (aclose: the browser closed the page): free the model now,
            # and still leave one record.
            if chunks is not None and hasattr(chunks, "aclose"):
                await chunks.aclose()
            if not call.recorded:
                call.record("client_disconnected", 499)

    async def _history(self, principal: Principal, conversation_id: str | None) -> list[dict[str, Any]]:
        if conversation_id is None:
            return []
        stored = await asyncio.to_thread(self.platform.content.read, conversation_id, principal.user_id)
        return [{"role": m.role, "content": m.content} for m in stored.messages]


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


def _chunks(item: Any) -> list[dict[str, Any]]:
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


__all__ = ["ChatEvent", "ChatService", "Finding", "Preview"]
