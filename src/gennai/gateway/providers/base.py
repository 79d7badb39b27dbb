"""The provider interface: one class per kind of backend, all speaking OpenAI-shaped dicts.

A provider receives the client's chat-completions body (its `model` is the gennai model id)
and returns OpenAI `chat.completion` dicts, or yields `chat.completion.chunk` dicts (or
`RawEvents`, already-encoded chunks from an OpenAI-compatible upstream). It
raises `UpstreamError` subclasses; retries, fallback, timeouts and concurrency limits are
the dispatcher's job, not the provider's.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gennai.config import ModelConfig
from gennai.gateway.errors import InvalidRequest, PolicyViolation

log = logging.getLogger("gennai.policy")


class Admission(Protocol):
    """The policy's permission for one request (gennai.policy.decision.Decision): the class
    of its content and the models that may receive it."""

    @property
    def effective_class(self) -> int: ...

    @property
    def candidates(self) -> Sequence[str]: ...


@dataclass(frozen=True, slots=True)
class RawEvents:
    """Complete server-sent events already in OpenAI `chat.completion.chunk` form, to be
    forwarded byte for byte (the OpenAI-compatible fast path). Providers yield these or
    chunk dicts; usage and error events are always yielded as parsed dicts."""

    data: bytes


@dataclass(frozen=True, slots=True)
class ProbeResult:
    reachable: bool
    detail: str


class Provider(ABC):
    kind: str = ""

    def __init__(self, model: ModelConfig, base_dir: Path | None = None) -> None:
        self.model = model
        self.base_dir = base_dir or Path.cwd()

    @property
    def upstream_model(self) -> str:
        return self.model.upstream_model or self.model.id

    def credential(self) -> str | None:
        """The API key named by api_key_env / api_key_file, read when needed, never logged."""
        if self.model.api_key_env:
            return os.environ.get(self.model.api_key_env)
        if self.model.api_key_file:
            path = Path(self.model.api_key_file)
            if not path.is_absolute():
                path = self.base_dir / path
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError:
                return None
        return None

    async def start(self) -> None:
        """Open connections or load weights. Called once before serving."""

    async def close(self) -> None:
        """Release resources. Called once at shutdown."""

    @property
    def ready(self) -> bool:
        return True

    # -- the three calls that send text to a model, each behind the clearance guard -------
    async def chat(self, body: dict[str, Any], admission: Admission) -> dict[str, Any]:
        self._guard(admission)
        return await self._chat(body)

    def stream_chat(self, body: dict[str, Any], admission: Admission) -> AsyncIterator[dict[str, Any] | RawEvents]:
        self._guard(admission)
        return self._stream_chat(body)

    async def embeddings(self, body: dict[str, Any], admission: Admission) -> dict[str, Any]:
        self._guard(admission)
        return await self._embeddings(body)

    def _guard(self, admission: Admission) -> None:
        """The last line of defence of the one invariant: text goes to this model only with
        the policy's admission for it. A caller that skipped the policy fails loudly here."""
        try:
            allowed = admission.effective_class <= self.model.clearance and self.model.id in admission.candidates
        except AttributeError:
            allowed = False
        if not allowed:
            log.critical(
                "POLICY VIOLATION blocked at the provider: model '%s' (clearance %s) was called with admission %r",
                self.model.id,
                self.model.clearance,
                admission,
            )
            raise PolicyViolation(
                "内部エラー：ポリシー判定を経ない送信を止めました / Internal error: a request that bypassed the policy was stopped",
                code="policy_violation",
            )

    # -- what each kind of backend implements ---------------------------------------------
    @abstractmethod
    async def _chat(self, body: dict[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    def _stream_chat(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any] | RawEvents]: ...

    async def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        raise InvalidRequest(f"model '{self.model.id}' does not provide embeddings", param="model", code="unsupported")

    @abstractmethod
    async def probe(self) -> ProbeResult: ...


def completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex


def now_s() -> int:
    return int(time.time())


def chunk(
    response_id: str,
    model: str,
    created: int,
    delta: dict[str, Any],
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """One OpenAI `chat.completion.chunk`."""
    return {
        "id": response_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }


def usage_chunk(response_id: str, model: str, created: int, prompt: int, completion: int) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }
