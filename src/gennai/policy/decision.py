"""The one policy decision point: which models may receive this request's content.

Every path that sends text to a model asks `decide()` first and hands the gateway only the
models it returned. This first version knows the declared class (header
`X-Gennai-Classification`, default 1) and each model's clearance; detection of markings and
personal data, conversation history, teams and routing rules extend it (issue 3) without
changing its callers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gennai.gateway.errors import Forbidden, InvalidRequest, ModelNotFound
from gennai.gateway.registry import ModelRegistry, RegisteredModel

CLASS_NAMES = {1: "機密性1", 2: "機密性2", 3: "機密性3"}


@dataclass(frozen=True, slots=True)
class Decision:
    effective_class: int
    # Ordered: the requested model first, then its fallbacks that are cleared for the class.
    candidates: list[str]
    reasons: tuple[str, ...] = ()


def parse_declared_class(value: str | None) -> int:
    if value is None or value == "":
        return 1
    text = value.strip().replace("機密性", "")
    text = text.translate(str.maketrans("１２３", "123"))
    if text in ("1", "2", "3"):
        return int(text)
    raise InvalidRequest(
        "X-Gennai-Classification は 1、2、3 のいずれかです / must be 1, 2 or 3",
        param="X-Gennai-Classification",
        code="invalid_classification",
    )


def cleared(model: RegisteredModel, effective_class: int) -> bool:
    return model.config.clearance >= effective_class


def serves(model: RegisteredModel, capabilities: tuple[str, ...]) -> bool:
    """Whether the model has every capability; chat completions also reach translation
    models (PLaMo翻訳 speaks the chat API)."""
    has = model.config.capabilities
    return all(c in has or (c == "chat" and "translation" in has) for c in capabilities)


_CAPABILITY_NAMES = {"chat": "チャット / chat", "embeddings": "埋め込み / embeddings", "tools": "ツール呼び出し / tools"}


def decide(
    registry: ModelRegistry,
    requested_model: str,
    *,
    declared_class: int = 1,
    capabilities: tuple[str, ...] = ("chat",),
) -> Decision:
    """The models that may receive this request, in the order to try them.

    `capabilities` are what the request needs (e.g. ("chat", "tools")); fallbacks lacking
    one are skipped just like fallbacks not cleared for the class.
    """
    model = registry.get(requested_model)
    if model is None:
        raise ModelNotFound(
            f"モデル '{requested_model}' はありません / The model '{requested_model}' does not exist",
            param="model",
            code="model_not_found",
        )
    effective = declared_class
    reason = f"declared {CLASS_NAMES[effective]}"
    missing = [c for c in capabilities if not serves(model, (c,))]
    if missing:
        names = ", ".join(_CAPABILITY_NAMES.get(c, c) for c in missing)
        raise InvalidRequest(
            f"モデル '{model.id}' は次に対応していません / model '{model.id}' does not support: {names}",
            param="tools" if missing == ["tools"] else "model",
            code="unsupported_capability",
        )
    if not cleared(model, effective):
        allowed = [m.id for m in _eligible(registry, effective, capabilities)]
        allowed_text = ", ".join(allowed) if allowed else "なし / none"
        raise Forbidden(
            f"この内容（{CLASS_NAMES[effective]}）はモデル '{model.id}'（{CLASS_NAMES[model.config.clearance]}まで）に送れません。"
            f"利用できるモデル: {allowed_text} / "
            f"Content classified {effective} may not be sent to model '{model.id}' (cleared up to {model.config.clearance}). "
            f"Allowed models: {allowed_text}",
            param="model",
            code="classification_not_cleared",
        )
    candidates = [model.id]
    for other_id in model.config.fallback:
        other = registry.get(other_id)
        if other is not None and cleared(other, effective) and serves(other, capabilities):
            candidates.append(other_id)
    return Decision(effective_class=effective, candidates=candidates, reasons=(reason,))


def _eligible(registry: ModelRegistry, effective_class: int, capabilities: tuple[str, ...]) -> Iterable[RegisteredModel]:
    return (m for m in registry if cleared(m, effective_class) and serves(m, capabilities))
