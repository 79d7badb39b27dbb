"""The one policy decision point: which models may receive this request's content.

Every path that sends text to a model asks the policy first and hands the gateway only the
models it admitted; each provider checks that admission again before sending (the guard in
gateway/providers/base.py).

The effective class of a request is the highest of: what the client declared (the
`X-Gennai-Classification` header or the body's `gennai.classification`), the class the
conversation already reached, the class declared for each attached document, the app's
declared minimum, and what the detector finds in every text that would be sent (the whole
conversation the client sends, attachments' text, tool calls, results and definitions).
Then:

- an explicit model cleared for that class is used, followed by its fallbacks that are
  cleared too and have the capabilities the request needs;
- `model: "auto"` follows the ordered routing rules (`[[policy.rules]]`);
- an explicit model that is not cleared is refused with 403 and an explanation (which kinds
  of items were found, masked; which models would be allowed), or rerouted by the rules
  where `policy.on_not_cleared = "reroute"`;
- 機密性3 reaches only models explicitly cleared for 3.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gennai.config import PolicyConfig, RoutingRule
from gennai.gateway.errors import Forbidden, InvalidRequest, ModelNotFound
from gennai.gateway.registry import ModelRegistry, RegisteredModel

CLASS_NAMES = {1: "機密性1", 2: "機密性2", 3: "機密性3"}
AUTO = "auto"
# How many masked previews and reasons a refusal carries.
MAX_PREVIEWS = 5
MAX_REASONS = 4
_CAPABILITY_NAMES = {
    "chat": "チャット / chat",
    "embeddings": "埋め込み / embeddings",
    "tools": "ツール呼び出し / tools",
    "vision": "画像入力 / image input",
}


class Finding(Protocol):
    """What a detector reports about one item (gennai.policy.detection.Entity)."""

    type: str
    preview: str


class Labelled(Protocol):
    proposed_class: int


class DetectionResult(Protocol):
    proposed_class: int
    entities: Sequence[Finding]
    markings: Sequence[Labelled]
    reasons: Sequence[str]


Detect = Callable[[str], DetectionResult]


@dataclass(frozen=True, slots=True)
class TeamPolicy:
    """What a team adds to the deployment's policy (built from the team's stored settings).

    It can narrow (allowed models, a higher default class, its own dictionary) and choose
    between the deployment's behaviours (block or reroute, pseudonymise), never widen a
    model's clearance or the hostings allowed per class."""

    name: str
    default_class: int = 1
    # Model ids the team may use; None: every model of the deployment.
    allowed_models: frozenset[str] | None = None
    on_not_cleared: str | None = None
    pseudonymise: bool | None = None
    # Tried before the deployment's rules.
    rules: tuple[RoutingRule, ...] = ()
    # The detector with the team's dictionary (None: the deployment's), and its version for
    # instructions to the model (None: `detect`).
    detect: Detect | None = None
    detect_instructions: Detect | None = None


@dataclass(frozen=True, slots=True)
class PolicyRequest:
    """What the policy needs to know about one request; never stored as such."""

    model: str
    texts: tuple[str, ...] = ()
    declared_class: int = 1
    capabilities: tuple[str, ...] = ("chat",)
    # The highest class the conversation has already reached (it never goes down).
    history_class: int = 1
    task: str | None = None
    team: str | None = None
    app: str | None = None
    # (file name, class its sender declared) for each attached document; its text is among
    # `texts` and is classified like the rest.
    attachment_classes: tuple[tuple[str, int], ...] = ()
    # The minimum class the app declares for everything it handles.
    app_class: int = 1
    team_policy: TeamPolicy | None = None
    # The positions in `texts` of instructions to the model (system prompts, tool definitions):
    # classified by the rules alone, not by the wording model, which reads papers and prompts.
    instructions: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's admission for one request: the class of its content and the models
    that may receive it, in the order to try them."""

    effective_class: int
    candidates: list[str]
    reasons: tuple[str, ...] = ()
    # "allowed" (the model asked for), "routed" (auto), "rerouted" (asked-for model not cleared)
    action: str = "allowed"
    rule: str | None = None
    requested: str | None = None
    # Kinds of items found and how many: never the values themselves.
    findings: dict[str, int] = field(default_factory=dict)
    # With action "pseudonymised": the class of the content before its personal items are
    # replaced (effective_class is then the class of what is actually sent).
    original_class: int | None = None

    def header(self) -> str:
        """The X-Gennai-Policy header: ASCII, no values."""
        parts = [f"action={self.action}"]
        if self.rule:
            parts.append(f"rule={self.rule}")
        if self.action != "allowed" and self.requested:
            parts.append(f"requested={self.requested}")
        if self.findings:
            parts.append("found=" + ",".join(f"{kind}:{count}" for kind, count in sorted(self.findings.items())))
        return "; ".join(parts)


def parse_declared_class(value: Any, *, param: str = "X-Gennai-Classification") -> int:
    """1, 2 or 3 from a header or body value ("2", "２", "機密性2", 2); absent means 1."""
    if value is None or value == "":
        return 1
    if isinstance(value, bool):
        value = None
    text = str(value).strip().replace("機密性", "").translate(str.maketrans("１２３", "123"))
    if text in ("1", "2", "3"):
        return int(text)
    raise InvalidRequest(
        f"{param} は 1、2、3 のいずれかです / {param} must be 1, 2 or 3",
        param=param,
        code="invalid_classification",
    )


def cleared(model: RegisteredModel, effective_class: int, config: PolicyConfig | None = None) -> bool:
    """The model's clearance covers the class, and (given the deployment's policy) its
    hosting is allowed for that class."""
    if model.config.clearance < effective_class:
        return False
    return config is None or model.config.hosting in config.hosting_for(effective_class)


def serves(model: RegisteredModel, capabilities: tuple[str, ...]) -> bool:
    """Whether the model has every capability; chat completions also reach translation
    models (PLaMo翻訳 speaks the chat API)."""
    has = model.config.capabilities
    return all(c in has or (c == "chat" and "translation" in has) for c in capabilities)


class Policy:
    def __init__(
        self, registry: ModelRegistry, config: PolicyConfig | None = None, detect: Detect | None = None,
        detect_instructions: Detect | None = None,
    ) -> None:
        self.registry = registry
        self.config = config or PolicyConfig()
        self.detect = detect
        self.detect_instructions = detect_instructions

    def detector_for(self, request: PolicyRequest) -> Detect | None:
        """The detector for this request: the team's (with its dictionary) or the deployment's."""
        team = request.team_policy
        return team.detect if team is not None and team.detect is not None else self.detect

    def instructions_detector_for(self, request: PolicyRequest) -> Detect | None:
        """The detector for the request's instructions to the model (system prompts, tool
        definitions): the rules without the wording model; `detector_for` where none is set."""
        team = request.team_policy
        if team is not None and team.detect is not None:
            return team.detect_instructions or team.detect
        return self.detect_instructions or self.detect

    def decide(self, request: PolicyRequest) -> Decision:
        effective, residual, reasons, findings, previews = self._classify(request)
        if request.model == AUTO:
            return self._route(request, effective, reasons, findings, previews, action="routed")
        model = self.registry.get(request.model)
        team = request.team_policy
        if model is None or (team is not None and team.allowed_models is not None and model.id not in team.allowed_models):
            if model is not None:
                raise _blocked(Forbidden(
                    f"モデル '{request.model}' はチーム「{team.name}」では使えません / "  # type: ignore[union-attr]
                    f"The model '{request.model}' is not enabled for your team",
                    param="model",
                    code="model_not_allowed_for_team",
                    details=refusal_details(
                        effective, findings, previews, reasons, self._allowed(effective, request), model=model
                    ),
                ), effective, findings)
            raise ModelNotFound(
                f"モデル '{request.model}' はありません / The model '{request.model}' does not exist",
                param="model",
                code="model_not_found",
            )
        missing = [c for c in request.capabilities if not serves(model, (c,))]
        if missing:
            names = ", ".join(_CAPABILITY_NAMES.get(c, c) for c in missing)
            raise InvalidRequest(
                f"モデル '{model.id}' は次に対応していません / model '{model.id}' does not support: {names}",
                param={"tools": "tools", "vision": "messages"}.get(missing[0], "model") if len(missing) == 1 else "model",
                code="unsupported_capability",
            )
        if not cleared(model, effective, self.config):
            pseudonymise = self.config.pseudonymise if team is None or team.pseudonymise is None else team.pseudonymise
            if pseudonymise and cleared(model, residual, self.config):
                candidates = self._with_fallbacks(model, residual, request)
                return Decision(residual, candidates, reasons, "pseudonymised", None, request.model, findings, effective)
            on_not_cleared = self.config.on_not_cleared if team is None or team.on_not_cleared is None else team.on_not_cleared
            if on_not_cleared == "reroute":
                return self._route(request, effective, reasons, findings, previews, action="rerouted")
            raise self._refusal(model, effective, request, findings, previews, reasons)
        candidates = self._with_fallbacks(model, effective, request)
        return Decision(effective, candidates, reasons, "allowed", None, request.model, findings)

    def _with_fallbacks(self, model: RegisteredModel, effective: int, request: PolicyRequest) -> list[str]:
        candidates = [model.id]
        for other_id in model.config.fallback:
            other = self.registry.get(other_id)
            if other is not None and self._eligible(other, effective, request):
                candidates.append(other_id)
        return candidates

    def _allowed(self, effective: int, request: PolicyRequest) -> list[str]:
        """The ids of every model that could take this request at this class."""
        return [m.id for m in self.registry if self._eligible(m, effective, request)]

    def _eligible(self, model: RegisteredModel, effective: int, request: PolicyRequest) -> bool:
        team = request.team_policy
        return (
            cleared(model, effective, self.config)
            and serves(model, request.capabilities)
            and (team is None or team.allowed_models is None or model.id in team.allowed_models)
        )

    # -- classification ----------------------------------------------------------------
    def _classify(
        self, request: PolicyRequest
    ) -> tuple[int, int, tuple[str, ...], dict[str, int], list[tuple[str, str]]]:
        """(effective class, residual class once personal items are replaced, reasons,
        kinds found, (kind, masked preview) of the first few items)."""
        team = request.team_policy
        floors = [request.declared_class, request.history_class, request.app_class]
        floors.extend(klass for _, klass in request.attachment_classes)
        if team is not None:
            floors.append(team.default_class)
        effective = residual = max(floors)
        reasons = [f"申告 {CLASS_NAMES[request.declared_class]} / declared {request.declared_class}"] if request.declared_class > 1 else []
        if request.history_class > 1:
            reasons.append(
                f"会話はすでに{CLASS_NAMES[request.history_class]} / the conversation already carried class {request.history_class}"
            )
        for name, klass in request.attachment_classes:
            if klass > 1:
                reasons.append(f"添付「{name}」は{CLASS_NAMES[klass]}として添付 / attachment declared class {klass}")
        if request.app_class > 1:
            reasons.append(
                f"アプリ「{request.app}」は{CLASS_NAMES[request.app_class]}以上を扱う / the app's minimum class is {request.app_class}"
            )
        if team is not None and team.default_class > 1:
            reasons.append(
                f"チーム「{team.name}」の既定は{CLASS_NAMES[team.default_class]} / the team's default class is {team.default_class}"
            )
        counts: Counter[str] = Counter()
        previews: list[tuple[str, str]] = []
        # What the detector says of a text where it found nothing ("該当なし"): a reason only
        # when nothing else explains the class.
        quiet: list[str] = []
        detect = self.detector_for(request)
        detect_instructions = self.instructions_detector_for(request)
        if detect is not None and detect_instructions is not None:
            for index, text in enumerate(request.texts):
                if not text:
                    continue
                result = (detect_instructions if index in request.instructions else detect)(text)
                if result.proposed_class > effective:
                    effective = result.proposed_class
                residual = max(residual, _unremovable_class(result))
                found = result.proposed_class > 1 or bool(result.entities) or bool(result.markings)
                said = reasons if found else quiet
                said.extend(r for r in result.reasons if r not in said)
                for entity in result.entities:
                    counts[entity.type] += 1
                    if len(previews) < MAX_PREVIEWS:
                        previews.append((entity.type, entity.preview))
        if not reasons:
            reasons = quiet[:1]
        return min(effective, 3), min(residual, 3), tuple(reasons), dict(counts), previews

    # -- routing -------------------------------------------------------------------------
    def _route(
        self,
        request: PolicyRequest,
        effective: int,
        reasons: tuple[str, ...],
        findings: dict[str, int],
        previews: list[tuple[str, str]],
        *,
        action: str,
    ) -> Decision:
        team = request.team_policy
        team_rules = team.rules if team is not None else ()
        matched: str | None = None  # the first rule whose conditions held (it offered no model)
        for rule in (*team_rules, *self.config.rules):
            if not _matches(rule, request, effective, ignore_teams=rule in team_rules):
                continue
            eligible = [m.id for m in self._models(rule.models) if self._eligible(m, effective, request)]
            if eligible:
                return Decision(effective, eligible, reasons, action, rule.name, request.model, findings)
            matched = matched or rule.name
        eligible = self._allowed(effective, request)
        if eligible and not self.config.rules and not team_rules:
            return Decision(effective, eligible[:1], reasons, action, None, request.model, findings)
        requested = self.registry.get(request.model) if request.model != AUTO else None
        raise _blocked(
            Forbidden(
                f"この内容（{CLASS_NAMES[effective]}）を扱えるモデルがルールにありません / "
                f"No routing rule offers a model cleared for content classified {effective}",
                param="model",
                code="no_eligible_model",
                details=refusal_details(effective, findings, previews, reasons, eligible, model=requested, rule=matched),
            ),
            effective,
            findings,
        )

    def _models(self, ids: Iterable[str]) -> Iterable[RegisteredModel]:
        for model_id in ids:
            model = self.registry.get(model_id)
            if model is not None:
                yield model

    def _refusal(
        self,
        model: RegisteredModel,
        effective: int,
        request: PolicyRequest,
        findings: dict[str, int],
        previews: list[tuple[str, str]],
        reasons: tuple[str, ...],
    ) -> Forbidden:
        allowed = self._allowed(effective, request)
        allowed_text = ", ".join(allowed) if allowed else "なし / none"
        details = refusal_details(effective, findings, previews, reasons, allowed, model=model)
        found = ""
        if findings:
            kinds = ", ".join(f"{kind}×{count}" for kind, count in sorted(findings.items()))
            examples = "; ".join(f"{kind} {preview}" for kind, preview in previews)
            found = f"検出: {kinds}（例: {examples}）/ found: {kinds}. "
        if reasons:
            found += "理由 / reasons: " + "; ".join(reasons[:MAX_REASONS]) + ". "
        if model.config.clearance >= effective:  # cleared, but its hosting is not allowed for the class
            where = f"'{model.config.hosting}' は{CLASS_NAMES[effective]}に使えません / hosting '{model.config.hosting}' is not allowed for class {effective}. "
            found = where + found
            details["hosting"] = model.config.hosting
        return _blocked(Forbidden(
            f"この内容（{CLASS_NAMES[effective]}）はモデル '{model.id}'（{CLASS_NAMES[model.config.clearance]}まで）に送れません。"
            f"{found}利用できるモデル: {allowed_text} / "
            f"Content classified {effective} may not be sent to model '{model.id}' (cleared up to {model.config.clearance}). "
            f"Allowed models: {allowed_text}",
            param="model",
            code="classification_not_cleared",
            details=details,
        ), effective, findings)


def _unremovable_class(result: DetectionResult) -> int:
    """The class that stays when personal items are replaced by placeholders: markings and
    content cues (internal deliberations, bids) cannot be pseudonymised away."""
    markings = max((m.proposed_class for m in result.markings), default=1)
    items = max((getattr(e, "proposed_class", 1) for e in result.entities), default=1)
    cue = result.proposed_class if result.proposed_class > max(markings, items) else 1
    return max(markings, cue)


def refusal_details(
    effective: int,
    findings: dict[str, int],
    previews: Sequence[tuple[str, str]],
    reasons: Sequence[str],
    allowed: list[str],
    *,
    model: RegisteredModel | None = None,
    rule: str | None = None,
) -> dict[str, Any]:
    """A refusal's facts for GatewayError.details: the class, the kinds found and how many,
    masked previews, the reasons, the models that could take it; never a value found."""
    details: dict[str, Any] = {"class": effective}
    if model is not None:
        details["model"] = model.id
        details["model_clearance"] = model.config.clearance
    details["found"] = dict(sorted(findings.items()))
    details["previews"] = [{"type": kind, "preview": preview} for kind, preview in previews]
    details["reasons"] = list(reasons[:MAX_REASONS])
    details["allowed_models"] = allowed
    details["rule"] = rule
    return details


def _blocked(error: Forbidden, effective: int, findings: dict[str, int]) -> Forbidden:
    """Attach what was decided (never the values found) for the usage record."""
    error.policy = {"effective_class": effective, "findings": findings or None}  # type: ignore[attr-defined]
    return error


def _matches(rule: RoutingRule, request: PolicyRequest, effective: int, *, ignore_teams: bool = False) -> bool:
    return (
        (rule.classes is None or effective in rule.classes)
        and (rule.tasks is None or request.task in rule.tasks)
        and (ignore_teams or rule.teams is None or request.team in rule.teams)
        and (rule.apps is None or request.app in rule.apps)
    )


def decide(
    registry: ModelRegistry,
    requested_model: str,
    *,
    declared_class: int = 1,
    capabilities: tuple[str, ...] = ("chat",),
) -> Decision:
    """The decision with no detector and no rules (declared class and clearances only)."""
    return Policy(registry).decide(
        PolicyRequest(model=requested_model, declared_class=declared_class, capabilities=capabilities)
    )
