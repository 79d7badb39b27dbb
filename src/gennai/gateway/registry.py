"""The model registry: configured models, each with its provider, breaker and queue."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gennai.config import GatewayConfig, ModelConfig
from gennai.gateway.providers.base import ProbeResult, Provider
from gennai.gateway.resilience import CircuitBreaker, ConcurrencyLimiter

log = logging.getLogger("gennai.gateway")


@dataclass(slots=True)
class RegisteredModel:
    config: ModelConfig
    provider: Provider
    breaker: CircuitBreaker
    limiter: ConcurrencyLimiter

    @property
    def id(self) -> str:
        return self.config.id

    def describe(self) -> dict[str, object]:
        """The OpenAI `model` object, with gennai's own fields alongside."""
        c = self.config
        return {
            "id": c.id,
            "object": "model",
            "created": 0,
            "owned_by": "gennai",
            "display_name": c.display_name,
            "provider": c.provider,
            "origin": c.origin,
            "hosting": c.hosting,
            "region": c.region,
            "clearance": c.clearance,
            "capabilities": list(c.capabilities),
            "context_window": c.context_window,
            "price_in": c.price_in,
            "price_out": c.price_out,
        }


def create_provider(model: ModelConfig, base_dir: Path) -> Provider:
    if model.provider == "openai":
        from gennai.gateway.providers.openai_compat import OpenAICompatibleProvider

        return OpenAICompatibleProvider(model, base_dir)
    if model.provider == "llamacpp":
        from gennai.gateway.providers.llamacpp import LlamaCppProvider

        return LlamaCppProvider(model, base_dir)
    if model.provider == "anthropic":
        from gennai.gateway.providers.anthropic import AnthropicProvider

        return AnthropicProvider(model, base_dir)
    if model.provider == "bedrock":
        from gennai.gateway.providers.bedrock import BedrockProvider

        return BedrockProvider(model, base_dir)
    raise ValueError(f"unknown provider {model.provider!r}")


class ModelRegistry:
    def __init__(self, models: list[RegisteredModel]) -> None:
        self._models = {model.id: model for model in models}

    @classmethod
    def from_config(cls, models: list[ModelConfig], gateway: GatewayConfig, base_dir: Path) -> ModelRegistry:
        registered = []
        for model in models:
            # One breaker per backend deployment (endpoint + upstream model): one model's
            # failures never shut out another model served elsewhere or under another name.
            breaker = CircuitBreaker(gateway.circuit_failure_threshold, gateway.circuit_reset_s)
            max_queue = model.max_queue if model.max_queue is not None else 4 * model.max_concurrency
            registered.append(
                RegisteredModel(
                    config=model,
                    provider=create_provider(model, base_dir),
                    breaker=breaker,
                    limiter=ConcurrencyLimiter(model.id, model.max_concurrency, max_queue),
                )
            )
        return cls(registered)

    def __iter__(self) -> Iterator[RegisteredModel]:
        return iter(self._models.values())

    def __len__(self) -> int:
        return len(self._models)

    def get(self, model_id: str) -> RegisteredModel | None:
        return self._models.get(model_id)

    async def start(self) -> None:
        """Start every provider; one that fails is logged and stays not ready (see /readyz)
        instead of stopping the whole gateway."""
        models = list(self._models.values())
        results = await asyncio.gather(*(m.provider.start() for m in models), return_exceptions=True)
        for model, result in zip(models, results, strict=True):
            if isinstance(result, BaseException):
                message = getattr(result, "message", None) or f"{type(result).__name__}: {result}"
                log.error("model '%s' did not start: %s", model.id, message)

    async def close(self) -> None:
        await asyncio.gather(*(model.provider.close() for model in self._models.values()), return_exceptions=True)

    @property
    def ready(self) -> bool:
        return all(model.provider.ready for model in self._models.values())

    async def probe_all(self) -> dict[str, ProbeResult]:
        models = list(self._models.values())
        results = await asyncio.gather(*(m.provider.probe() for m in models), return_exceptions=True)
        out: dict[str, ProbeResult] = {}
        for model, result in zip(models, results, strict=True):
            if isinstance(result, BaseException):
                out[model.id] = ProbeResult(False, f"probe failed ({type(result).__name__})")
            else:
                out[model.id] = result
        return out
