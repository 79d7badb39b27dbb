"""The arena from real use (design: procurement-evaluation.md, point 9): a signed-in person
asks one question, two models answer it side by side without their names, the person says
which answer is better (A, B, a tie, or both bad), and the votes become a Bradley–Terry
leaderboard with intervals for evaluators.

The one invariant holds as everywhere else: the two models are picked only among those the
policy admits for this text, for this person's team, *as an explicit model* (action
"allowed": the named model receives the text as written). A model the policy would reroute
away from or pseudonymise for is not eligible: its answer would not be its own answer to the
question asked. Each answer is its own `ModelCall`, admitted through `stream_call` (usage
record with endpoint "web.arena", quotas, audit of refusals, the provider's guard), and its
admission is narrowed to the named model, so a fallback never answers in its place.

What is stored (table `arena_battles`): who, which team, the effective class, the two models,
the two calls' request ids (to join their usage records) and the vote. Never the question or
the answers: they are the person's.

Votes → ratings: "a" and "b" are wins; "tie" and "both_bad" both count as a tie (half a win
to each side, as in LMSYS Chatbot Arena's "tie (bothbad)"): both_bad says the two were
equally unhelpful, which is evidence about their relative strength too. Ratings are
`gennai.evaluation.statistics.bradley_terry` (Elo-like scale, bootstrap intervals), ranked with
`rank_with_ties` so that models whose intervals overlap share a rank.

No HTTP here: gennai.api.arena_routes and gennai.web.arena_pages translate.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gennai.accounts.keys import Principal
from gennai.conversations.chat import stream_call
from gennai.evaluation.statistics import Interval, bradley_terry, rank_with_ties
from gennai.gateway.calls import NamedModelCall, policy_request
from gennai.gateway.errors import Conflict, Forbidden, GatewayError, InvalidRequest, NotFound, RateLimited, UpstreamError
from gennai.policy.content import chat_content
from gennai.policy.decision import AUTO, CLASS_NAMES, Decision, PolicyRequest
from gennai.store.tables import COMMON_TEAM_ID, ArenaBattle

if TYPE_CHECKING:
    from gennai.platform import Platform

ENDPOINT = "web.arena"
LABELS = ("A", "B")
WINNERS = ("a", "b", "tie", "both_bad")
WINNER_NAMES = {"a": "回答Aの方が良い", "b": "回答Bの方が良い", "tie": "同じくらい", "both_bad": "どちらも良くない"}
NOT_ENOUGH_MODELS = "比較できるモデルが2つありません"
MAX_QUESTION_CHARS = 20_000
MIN_VOTES = 1  # the default: every model with a vote is shown
OVERLAP_NOTE = (
    "区間（95%）が重なっているモデルどうしは、投票の結果からは優劣を区別できません。"
    "同じ順位のモデルは区別できないものとして扱ってください。"
)


# -- results -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Answer:
    label: str  # "A" | "B"
    text: str


@dataclass(frozen=True, slots=True)
class Battle:
    """Two anonymous answers to one question. The models are deliberately not here: they are
    revealed by `ArenaService.vote`."""

    id: str
    effective_class: int
    answers: tuple[Answer, Answer]

    @property
    def class_name(self) -> str:
        return CLASS_NAMES[self.effective_class]


@dataclass(frozen=True, slots=True)
class Reveal:
    """A battle after its vote: which model gave which answer."""

    id: str
    winner: str
    model_a: str
    model_b: str


@dataclass(frozen=True, slots=True)
class ArenaPreview:
    """What would happen to a question, before sending (nothing is sent or stored)."""

    effective_class: int
    eligible: int  # how many models could answer it
    findings: tuple[tuple[str, str], ...]  # (kind, masked preview)
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.eligible >= 2

    @property
    def message(self) -> str:
        name = CLASS_NAMES[self.effective_class]
        if self.ok:
            return f"{name}として、使える{self.eligible}個のモデルから2つを選んで比較します。"
        return f"{NOT_ENOUGH_MODELS}（{name}の内容を受け取れるモデル: {self.eligible}個）。"


class LeaderboardRow(NamedTuple):
    """One model on the leaderboard: (model, Interval, votes, …). `rank` is shared by models
    whose intervals overlap (statistics.rank_with_ties)."""

    model: str
    interval: Interval
    votes: int
    rank: int
    wins: int
    losses: int
    ties: int
    both_bad: int

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank, "model": self.model, "rating": round(self.interval.mean, 1),
            "low": round(self.interval.low, 1), "high": round(self.interval.high, 1), "votes": self.votes,
            "wins": self.wins, "losses": self.losses, "ties": self.ties, "both_bad": self.both_bad,
        }


# -- the service ---------------------------------------------------------------------------------

class ArenaService:
    def __init__(self, platform: Platform, *, rng: random.Random | None = None) -> None:
        self.platform = platform
        self.rng = rng or random.SystemRandom()

    # -- which models ------------------------------------------------------------------------
    async def _policy_request(self, principal: Principal, text: str, declared_class: int) -> tuple[str, PolicyRequest]:
        """The question checked, and what the policy is asked about it (model "auto": the
        model is filled in per candidate)."""
        text = _question(text)
        if declared_class not in (1, 2, 3):
            raise InvalidRequest("機密性は 1、2、3 のいずれかです / classification must be 1, 2 or 3",
                                 param="classification", code="invalid_classification")
        body = _body(AUTO, text)
        content = chat_content(body, max_attachment_chars=self.platform.loaded.config.server.max_attachment_chars)
        request = await policy_request(self.platform, principal, content, model=AUTO, declared_class=declared_class)
        return text, request

    def eligible_models(self, request: PolicyRequest) -> tuple[list[str], int, tuple[str, ...]]:
        """(models that may receive this request as written, by name; its effective class;
        the policy's reasons). Asks the policy decision point once per chat model of the
        deployment; only an "allowed" decision for the model itself counts (blocked, not the
        team's, rerouted or pseudonymised: not eligible). Blocking (detection): run in a thread."""
        eligible: list[str] = []
        effective, reasons = request.declared_class, ()
        for model in self.platform.registry:
            if "chat" not in model.config.capabilities:  # embeddings- or translation-only models do not answer questions
                continue
            try:
                decision = self.platform.policy.decide(replace(request, model=model.id))
            except GatewayError as refusal:
                seen = (getattr(refusal, "policy", None) or {}).get("effective_class")
                effective = max(effective, seen or 1)
                reasons = reasons or tuple((refusal.details or {}).get("reasons") or ())
                continue
            effective = max(effective, decision.original_class or decision.effective_class)
            reasons = reasons or decision.reasons
            if decision.action == "allowed" and decision.candidates[:1] == [model.id]:
                eligible.append(model.id)
        return eligible, effective, reasons

    async def preview(self, principal: Principal, text: str, declared_class: int = 1) -> ArenaPreview:
        """How many models could answer, at which class, with the items found (masked)."""
        text, request = await self._policy_request(principal, text, declared_class)
        eligible, effective, reasons = await asyncio.to_thread(self.eligible_models, request)
        findings: tuple[tuple[str, str], ...] = ()
        detect = self.platform.policy.detector_for(request)
        if detect is not None:
            result = await asyncio.to_thread(detect, text)
            findings = tuple((e.type, e.preview) for e in result.entities[:20])
        return ArenaPreview(effective, len(eligible), findings, tuple(reasons))

    # -- a battle ----------------------------------------------------------------------------
    async def start(self, principal: Principal, text: str, declared_class: int = 1) -> Battle:
        """Two anonymous answers from two distinct eligible models picked at random. Raises
        Forbidden (NOT_ENOUGH_MODELS, nothing sent) when fewer than two are eligible, and the
        call's error when either answer fails (nothing stored then)."""
        if principal.user_id is None:
            raise Forbidden("比較モードは個人で使います（チームのサービスキーでは使えません） / "
                            "the arena is for people, not service keys", code="arena_person_only")
        text, request = await self._policy_request(principal, text, declared_class)
        eligible, effective, reasons = await asyncio.to_thread(self.eligible_models, request)
        if len(eligible) < 2:
            raise Forbidden(
                f"{NOT_ENOUGH_MODELS}。この内容（{CLASS_NAMES[effective]}）を受け取れるモデルは{len(eligible)}個です / "
                f"fewer than two models may receive this content (class {effective})",
                code="arena_not_enough_models",
                details={"class": effective, "eligible": len(eligible), "reasons": list(reasons[:4])},
            )
        model_a, model_b = self.rng.sample(eligible, 2)
        battle_id = str(uuid.uuid4())
        results = await asyncio.gather(
            self._answer(principal, text, model_a, declared_class, battle_id),
            self._answer(principal, text, model_b, declared_class, battle_id),
        )
        for _text, _request_id, _seen, error in results:
            if error is not None:
                raise _failed(error)
        (text_a, id_a, seen_a, _), (text_b, id_b, seen_b, _) = results
        klass = max(seen_a, seen_b, effective)
        row = ArenaBattle(
            id=battle_id, created_at=datetime.now(UTC), user_id=principal.user_id,
            team_id=principal.team_id or COMMON_TEAM_ID, effective_class=klass,
            model_a=model_a, model_b=model_b, request_id_a=id_a, request_id_b=id_b, winner=None, voted_at=None,
        )
        await asyncio.to_thread(self._insert, row)
        return Battle(battle_id, klass, (Answer("A", text_a), Answer("B", text_b)))

    async def _answer(
        self, principal: Principal, text: str, model: str, declared_class: int, battle_id: str
    ) -> tuple[str, str, int, dict[str, Any] | None]:
        """(answer, request id, class seen, error event data or None): one admitted call."""
        call = NamedModelCall(self.platform, ENDPOINT, streamed=True, refusal=_not_eligible)
        call.principal = principal
        parts: list[str] = []
        seen, error = declared_class, None
        events = stream_call(call, _body(model, text), model=model, declared_class=declared_class,
                             detail=f"arena={battle_id}")
        async with aclosing(events):
            async for event in events:
                if event.kind == "delta":
                    parts.append(event.data.get("text", ""))
                elif event.kind == "started":
                    seen = int(event.data.get("class") or declared_class)
                elif event.kind == "error":
                    error = event.data
        return "".join(parts), call.request_id, seen, error

    def _insert(self, row: ArenaBattle) -> None:
        with Session(self.platform.engine) as session, session.begin():
            session.add(row)

    # -- the vote ----------------------------------------------------------------------------
    async def vote(self, principal: Principal, battle_id: str, winner: str) -> Reveal:
        """Record the vote of the battle's own person, once; reveals the models."""
        if winner not in WINNERS:
            raise InvalidRequest("winner は a、b、tie、both_bad のいずれかです / winner must be a, b, tie or both_bad",
                                 param="winner", code="invalid_winner")
        return await asyncio.to_thread(self._vote, principal.user_id, battle_id, winner)

    def _vote(self, user_id: str | None, battle_id: str, winner: str) -> Reveal:
        if user_id is None or not isinstance(battle_id, str) or len(battle_id) > 36:
            raise _not_found()
        with Session(self.platform.engine) as session, session.begin():
            # one statement: of two votes at once, only one changes the row
            changed = session.execute(
                update(ArenaBattle)
                .where(ArenaBattle.id == battle_id, ArenaBattle.user_id == user_id, ArenaBattle.winner.is_(None))
                .values(winner=winner, voted_at=datetime.now(UTC))
            ).rowcount
            row = session.get(ArenaBattle, battle_id)
            if row is None or row.user_id != user_id:
                raise _not_found()
            if not changed:
                raise Conflict("この比較にはすでに投票しています / you have already voted on this comparison",
                               code="arena_already_voted")
            return Reveal(row.id, winner, row.model_a, row.model_b)

    def result(self, principal: Principal, battle_id: str) -> Reveal | None:
        """The person's own battle after the vote (None before it); NotFound for anyone else's."""
        with Session(self.platform.engine) as session:
            row = session.get(ArenaBattle, battle_id) if len(battle_id) <= 36 else None
            if row is None or principal.user_id is None or row.user_id != principal.user_id:
                raise _not_found()
            if row.winner is None:
                return None
            return Reveal(row.id, row.winner, row.model_a, row.model_b)

    # -- the leaderboard ---------------------------------------------------------------------
    def votes(self) -> list[tuple[str, str, str]]:
        """Every vote as (model_a, model_b, winner)."""
        with Session(self.platform.engine) as session:
            rows = session.execute(
                select(ArenaBattle.model_a, ArenaBattle.model_b, ArenaBattle.winner)
                .where(ArenaBattle.winner.is_not(None)).order_by(ArenaBattle.voted_at, ArenaBattle.id)
            ).all()
        return [(a, b, w) for a, b, w in rows]

    def leaderboard(self, min_votes: int = MIN_VOTES, *, resamples: int = 1000, seed: int = 0) -> list[LeaderboardRow]:
        """Bradley–Terry ratings with 95% bootstrap intervals, fitted on every vote; models
        with fewer than `min_votes` votes are left off the table (not out of the fit). Sorted
        by rank (shared while intervals overlap), then rating. Blocking: run in a thread."""
        return leaderboard_from_votes(self.votes(), min_votes=min_votes, resamples=resamples, seed=seed)


def leaderboard_from_votes(
    votes: Sequence[tuple[str, str, str]], *, min_votes: int = MIN_VOTES, resamples: int = 1000, seed: int = 0
) -> list[LeaderboardRow]:
    """The leaderboard of (model_a, model_b, winner) votes (see ArenaService.leaderboard)."""
    if not votes:
        return []
    outcome = {"a": "A", "b": "B", "tie": "tie", "both_bad": "tie"}
    ratings = bradley_terry([(a, b, outcome[w]) for a, b, w in votes], resamples=resamples, seed=seed)
    tally: dict[str, Counter[str]] = {model: Counter() for model in ratings}
    for a, b, w in votes:
        for model, mine, theirs in ((a, "a", "b"), (b, "b", "a")):
            counts = tally[model]
            counts["votes"] += 1
            counts["wins" if w == mine else "losses" if w == theirs else "both_bad" if w == "both_bad" else "ties"] += 1
    shown = {model: interval for model, interval in ratings.items() if tally[model]["votes"] >= max(1, min_votes)}
    return [
        LeaderboardRow(entry.name, entry.interval, tally[entry.name]["votes"], entry.rank, tally[entry.name]["wins"],
                       tally[entry.name]["losses"], tally[entry.name]["ties"], tally[entry.name]["both_bad"])
        for entry in rank_with_ties(shown)
    ]


# -- helpers -------------------------------------------------------------------------------------

def _question(text: Any) -> str:
    if not isinstance(text, str):
        raise InvalidRequest("質問は文字列です / input must be a string", param="input", code="invalid_value")
    text = text.replace("\r\n", "\n")
    if not text.strip():
        raise InvalidRequest("質問を入力してください / input is required", param="input", code="missing_field")
    if len(text) > MAX_QUESTION_CHARS:
        raise InvalidRequest(f"質問は{MAX_QUESTION_CHARS:,}文字以内にしてください / input is too long",
                             param="input", code="input_too_long")
    return text


def _body(model: str, text: str) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": text}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def _not_found() -> NotFound:
    return NotFound("この比較は見つかりません / no such comparison of yours", code="arena_battle_not_found")


def _not_eligible(decision: Decision | None = None) -> Forbidden:  # noqa: ARG001 - NamedModelCall's refusal
    """A model the policy no longer allows as named for this content (its decision changed
    since the models were picked): the comparison fails, naming no model."""
    return Forbidden(
        f"{NOT_ENOUGH_MODELS}。入力内容か設定が変わりました。もう一度お試しください / "
        "a model is no longer eligible for this content as written",
        code="arena_model_not_eligible",
    )


def _failed(error: dict[str, Any]) -> GatewayError:
    """An answer that failed: the whole comparison fails (nothing stored). The message names
    no model (the error's own message and details may: the comparison stays anonymous)."""
    status = int(error.get("status") or 502)
    kind = error.get("kind")
    if kind == "quota":
        return RateLimited("利用の上限に達したため、比較できませんでした / quota exceeded",
                           code="arena_quota", retry_after=error.get("retry_after"), status=status)
    if kind == "policy":
        return _not_eligible()
    return UpstreamError(
        "回答を得られなかったため、比較できませんでした。しばらくしてからもう一度お試しください / "
        "one of the answers failed, so there is nothing to compare",
        status=status if status >= 500 else 502, code="arena_answer_failed", retry_after=error.get("retry_after"),
    )


__all__ = [
    "ENDPOINT", "MIN_VOTES", "NOT_ENOUGH_MODELS", "OVERLAP_NOTE", "WINNERS", "WINNER_NAMES", "Answer", "ArenaPreview", "ArenaService",
    "Battle", "LeaderboardRow", "Reveal", "leaderboard_from_votes",
]
