"""One call to a model, from admission to its usage record: the bookkeeping and the
admission steps every entry point shares (the OpenAI-compatible API, the web interface, apps).

`ModelCall.admit` is the only way in: it reads the team's policy, asks the policy decision
point (with the conversation's memory), reserves quota, and pseudonymises the body when the
policy says so. `ModelCall.record` leaves exactly one usage record (and an audit entry for
policy blocks and reroutes), whatever happened. Nothing here knows about HTTP.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from gennai.accounts.keys import Principal
from gennai.accounts.quotas import Reservation
from gennai.gateway.dispatch import Outcome
from gennai.gateway.errors import Forbidden, GatewayError
from gennai.policy.content import RequestContent
from gennai.policy.decision import Decision, PolicyRequest, TeamPolicy
from gennai.policy.pseudonymise import PlaceholderTable, pseudonymise_request
from gennai.records.usage import UsageEntry, now_utc
from gennai.store.tables import COMMON_TEAM_ID

if TYPE_CHECKING:
    from gennai.platform import Platform

# Request ids: a random per-process prefix and a counter (unique, and cheaper than uuid4).
_ID_PREFIX = os.urandom(6).hex()
_ID_COUNTER = itertools.count(1)


class ModelCall:
    """Bookkeeping for one request: timing, outcome, admission and its one usage record."""

    __slots__ = (
        "platform",
        "principal",
        "endpoint",
        "streamed",
        "started",
        "request_id",
        "outcome",
        "recorded",
        "decision",
        "placeholders",
        "reservation",
        "policy_request",
    )

    def __init__(self, platform: Platform, endpoint: str, streamed: bool = False) -> None:
        self.platform = platform
        self.principal: Principal | None = None
        self.endpoint = endpoint
        self.streamed = streamed
        self.started = time.perf_counter()
        self.request_id = f"{_ID_PREFIX}{next(_ID_COUNTER):010x}"
        self.outcome = Outcome()
        self.recorded = False
        self.decision: Decision | None = None
        self.placeholders: PlaceholderTable | None = None
        self.reservation: Reservation | None = None
        self.policy_request: PolicyRequest | None = None

    async def admit(
        self,
        body: dict[str, Any],
        content: RequestContent,
        *,
        model: str,
        declared_class: int = 1,
        task: str | None = None,
        app: str | None = None,
        app_class: int = 1,
        conversation_id: str | None = None,
        max_output_tokens: int | None = None,
    ) -> Decision:
        """Admit this call: the policy's decision (raises Forbidden and friends), quota
        reserved (429/503), and the body pseudonymised in place when the policy says so."""
        platform, principal = self.platform, self.principal
        assert principal is not None, "authenticate before admitting"
        self.policy_request = request = await policy_request(
            platform, principal, content, model=model, declared_class=declared_class, task=task, app=app,
            app_class=app_class,
        )
        decision = await platform.admit(request, owner=principal.user_id or principal.key_id, conversation_id=conversation_id)
        self.decision = decision
        self.reservation = await _reserve(platform, principal, decision, content, max_output_tokens)
        if decision.action == "pseudonymised":
            detect = platform.policy.detector_for(request)
            self.placeholders = pseudonymise_request(body, detect, decision.effective_class)
        return decision

    def record(self, status: str, http_status: int, error: GatewayError | None = None, detail: str | None = None) -> None:
        if self.recorded:
            return
        self.recorded = True
        outcome = self.outcome
        model = outcome.model
        now = time.perf_counter()
        cost = 0.0
        if model is not None:
            cost = (outcome.tokens_in * model.config.price_in + outcome.tokens_out * model.config.price_out) / 1_000_000
        principal = self.principal
        if self.reservation is not None:
            self.platform.settle_soon(self.reservation, outcome.tokens_in + outcome.tokens_out, cost)
        policy = self._policy_fields(error)
        self.platform.usage.add(
            UsageEntry(
                request_id=self.request_id,
                created_at=now_utc(),
                endpoint=self.endpoint,
                status=status,
                http_status=http_status,
                api_key_id=principal.key_id if principal else None,
                user_id=principal.user_id if principal else None,
                team_id=(principal.team_id or COMMON_TEAM_ID) if principal else None,
                model_id=model.id if model else None,
                provider=model.config.provider if model else None,
                streamed=self.streamed,
                error_type=(error.code or error.error_type) if error else None,
                tokens_in=outcome.tokens_in,
                tokens_out=outcome.tokens_out,
                latency_ms=(now - self.started) * 1000,
                ttft_ms=((outcome.first_byte_at - self.started) * 1000) if outcome.first_byte_at else None,
                cost_yen=cost,
                attempts=max(1, len(outcome.attempts)),
                detail=detail or (error.message[:500] if error else None),
                **policy,
            )
        )
        action = policy.get("policy_action")
        if action in ("blocked", "rerouted", "pseudonymised"):
            self.platform.audit_soon(
                f"policy.{action}",
                outcome="denied" if action == "blocked" else "ok",
                actor_user_id=principal.user_id if principal else None,
                actor_key_id=principal.key_id if principal else None,
                team_id=(principal.team_id or COMMON_TEAM_ID) if principal else None,
                target_type="request",
                target_id=self.request_id,
                detail={k: policy.get(k) for k in ("effective_class", "policy_rule", "findings") if policy.get(k) is not None}
                | ({"model": model.id} if model is not None else {}),
            )

    def _policy_fields(self, error: GatewayError | None) -> dict[str, Any]:
        """What the policy decided (or why it blocked), without any of the values found."""
        decision = self.decision
        if decision is not None:
            return {
                "effective_class": decision.effective_class,
                "policy_action": decision.action,
                "policy_rule": decision.rule,
                "findings": decision.findings or None,
            }
        blocked = getattr(error, "policy", None)
        if blocked:
            return {"policy_action": "blocked", **blocked}
        return {}

    def headers(self) -> dict[str, str]:
        headers = {"x-request-id": self.request_id}
        if self.outcome.model is not None:
            headers["x-gennai-model"] = self.outcome.model.id
        if self.decision is not None:
            headers["x-gennai-classification"] = str(self.decision.effective_class)
            headers["x-gennai-policy"] = self.decision.header()
        return headers


class NamedModelCall(ModelCall):
    """A ModelCall whose admission must be the named model itself (evaluation runs, the
    arena): the policy's decision is asked as always (ModelCall.admit), then only a decision
    whose action is one of `actions` and that names the model is accepted, and its candidates
    are narrowed to that model, so that no fallback answers in its place. Narrowing only
    removes models; it never adds one. Otherwise `refusal(decision)` is raised (a Forbidden;
    the body may already be pseudonymised, and it is not sent)."""

    __slots__ = ("actions", "refusal")

    def __init__(
        self, platform: Platform, endpoint: str, *, streamed: bool = False, actions: tuple[str, ...] = ("allowed",),
        refusal: Callable[[Decision], Forbidden],
    ) -> None:
        super().__init__(platform, endpoint, streamed)
        self.actions = actions
        self.refusal = refusal

    async def admit(self, body: dict[str, Any], content: RequestContent, *, model: str, **options: Any) -> Decision:
        decision = await super().admit(body, content, model=model, **options)
        if decision.action not in self.actions or model not in decision.candidates:
            refusal = self.refusal(decision)
            refusal.policy = {  # type: ignore[attr-defined]
                "effective_class": decision.original_class or decision.effective_class,
                "findings": decision.findings or None,
            }
            self.decision = None
            raise refusal
        narrowed = replace(decision, candidates=[model])
        self.decision = narrowed
        return narrowed


async def policy_request(
    platform: Platform,
    principal: Principal,
    content: RequestContent,
    *,
    model: str,
    declared_class: int = 1,
    task: str | None = None,
    app: str | None = None,
    app_class: int = 1,
) -> PolicyRequest:
    """What the policy is asked about one call, the team's policy included: the same for a
    call that is admitted (ModelCall.admit) and for a preview before sending. The
    conversation's memory (history_class) is added by Platform.admit or the preview."""
    team_policy = await team_policy_for(platform, principal.team_id)
    return PolicyRequest(
        model=model,
        texts=content.texts,
        declared_class=declared_class,
        capabilities=content.capabilities,
        task=task,
        app=app,
        attachment_classes=content.attachment_classes,
        app_class=app_class,
        instructions=content.instructions,
        team=team_policy.name if team_policy is not None else None,
        team_policy=team_policy,
    )


async def _reserve(
    platform: Platform, principal: Principal, decision: Decision, content: RequestContent, max_output_tokens: int | None
) -> Reservation | None:
    """Count the request against the user's and the team's limits before any model sees it
    (429 or 503 otherwise); settled with the real usage when the call ends."""
    subjects = await platform.quotas.subjects(principal.user_id, principal.team_id or COMMON_TEAM_ID)
    if not any(subject.limits.any for subject in subjects):
        return None
    chars = sum(map(len, content.texts))
    tokens_in = chars // 2 + 1  # generous for Japanese; settled with the real count
    tokens_out = 0 if "embeddings" in content.capabilities else (max_output_tokens or 1024)
    model = platform.registry.get(decision.candidates[0])
    cost = 0.0
    if model is not None:
        cost = (tokens_in * model.config.price_in + tokens_out * model.config.price_out) / 1_000_000
    return await platform.quotas.reserve(subjects, tokens_in + tokens_out, cost)


async def team_policy_for(platform: Platform, team_id: str | None) -> TeamPolicy | None:
    hit, policy = platform.team_policies.cached(team_id)
    if not hit:
        policy = await asyncio.to_thread(platform.team_policies.get, team_id)
    return policy
