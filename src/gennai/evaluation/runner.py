"""A run: every item of a suite asked of every candidate, through the gateway's policy.

Each call is an ordinary gateway call (`ModelCall.admit`: the policy decision point, quotas,
the usage record, the provider-layer guard), with three differences that a fair test needs:

- the answer must come from the candidate itself: the decision's fallbacks are dropped, and an
  item the policy would reroute to another model is not sent at all (status `blocked`). A
  sealed item must never reach a vendor that is not the candidate;
- every candidate gets the same decoding settings (eval.toml [decoding], hashed in run.json);
- a transcript line is written as soon as an item is finished, so that a crash loses nothing
  answered and a resumed run asks only what is missing (errors and timeouts are asked again).

The decrypted suite lives in memory only: transcripts keep answers and item ids, usage records
keep counts and the run id (never item text).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gennai.accounts.keys import Principal
from gennai.conversations.chat import stream_chunks
from gennai.evaluation.config import EvalConfig
from gennai.evaluation.items import Item
from gennai.evaluation.scorers import CHOICE_INSTRUCTION, format_choices
from gennai.evaluation.transcripts import (
    FINAL,
    RUN_FILE,
    RUN_FORMAT,
    RunFolderError,
    TranscriptLine,
    TranscriptWriter,
    read_run,
    read_transcript,
    now_iso_utc,
)
from gennai.evaluation.files import write_json_atomic
from gennai.gateway.calls import NamedModelCall
from gennai.gateway.errors import Forbidden, GatewayError, InvalidRequest
from gennai.policy.content import chat_content
from gennai.policy.decision import Decision
from gennai.policy.pseudonymise import ChunkRestorer

if TYPE_CHECKING:
    from gennai.platform import Platform

ENDPOINT = "eval.run"
# Errors that asking again will not change (the request itself is refused).
_NOT_RETRIED = (Forbidden, InvalidRequest)

Progress = Callable[[str, int, int], None]  # candidate, items finished, items in all


@dataclass(frozen=True, slots=True)
class SuiteInfo:
    """What run.json records about the sealed suite (never its content)."""

    name: str
    merkle_root: str
    item_count: int
    canary: str
    suite_sha256: str
    sealed_dir: str
    key_file: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "merkle_root": self.merkle_root, "item_count": self.item_count, "canary": self.canary,
            "suite_sha256": self.suite_sha256, "sealed_dir": self.sealed_dir, "key_file": self.key_file,
        }


def item_messages(item: Item, turn: int) -> str:
    """The user message of one turn: a choice item's last turn carries its choices, numbered
    as scorers.format_choices numbers them, and the instruction to answer with the label."""
    text = item.messages[turn]
    if item.scoring == "choice" and turn == len(item.messages) - 1:
        return f"{text}\n\n{format_choices(item.choices)}\n\n{CHOICE_INSTRUCTION}"
    return text


def evaluation_principal(run_id: str, team: str | None) -> Principal:
    """Who the gateway sees: a service principal named after the run (usage records and
    quotas count the run's calls; the team's policy applies when one is given)."""
    return Principal(
        key_id=f"eval-{run_id}"[:36], key_name="procurement evaluation", user_id=None, team_id=team,
        scopes=("chat",), is_system_admin=False,
    )


def prepare_run_folder(
    run_dir: Path, *, suite: SuiteInfo, candidates: Sequence[str], config: EvalConfig, harness_version: str
) -> dict[str, Any]:
    """Create run.json, or check that an existing one is the same suite with the same
    decoding settings (a resumed run); candidates named now that the run did not have yet
    are added. Returns the run as stored."""
    decoding = config.decoding.body_fields()
    digest = config.decoding.sha256()
    path = run_dir / RUN_FILE
    if path.exists():
        run = read_run(run_dir)
        if run["suite"]["merkle_root"] != suite.merkle_root:
            raise RunFolderError(f"{path}: this run folder holds a run of another suite (root {run['suite']['merkle_root'][:16]}…); use a new --out folder")
        if run.get("decoding_sha256") != digest:
            raise RunFolderError(
                f"{path}: the decoding settings differ from this run's ({run.get('decoding')}); a resumed run must ask with the same settings"
            )
        added = [candidate for candidate in candidates if candidate not in run["candidates"]]
        if added:
            run["candidates"] = [*run["candidates"], *added]
            write_json_atomic(path, run)
        return run
    if run_dir.exists() and any(run_dir.iterdir()):
        raise RunFolderError(f"{run_dir}: the folder is not empty and holds no run.json; choose an empty or new folder")
    run = {
        "format": RUN_FORMAT,
        "run_id": datetime.now(UTC).strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(4),
        "suite": suite.to_json(),
        "candidates": list(candidates),
        "decoding": decoding,
        "decoding_sha256": digest,
        "settings": config.run.model_dump(mode="json"),
        "harness_version": harness_version,
        "started_at": now_iso_utc(),
    }
    write_json_atomic(path, run)
    return run


@dataclass(slots=True)
class _Turn:
    text: str
    model: str | None
    ttft_ms: float | None
    tokens_in: int
    tokens_out: int
    cost_yen: float
    policy: str | None


NOT_CLEARED = "evaluation_candidate_not_cleared"


def _not_cleared(candidate: str, decision: Decision) -> Forbidden:
    """The policy would not send this item to the candidate as it is (it would reroute it)."""
    return Forbidden(
        f"評価対象モデル「{candidate}」には送信できません（機密性{decision.effective_class}）/ "
        f"the policy would reroute this item away from the candidate (class {decision.effective_class})",
        code=NOT_CLEARED,
    )


class _Blocked(Exception):
    """The policy will not send this item to this candidate as it is."""


class Runner:
    """Asks items of candidates with a concurrency cap per candidate."""

    def __init__(self, platform: Platform, config: EvalConfig, run_dir: Path, run_id: str) -> None:
        self.platform = platform
        self.config = config
        self.run_dir = run_dir
        self.run_id = run_id
        self.principal = evaluation_principal(run_id, config.run.team)
        self.decoding = config.decoding.body_fields()

    async def run(
        self, items: Sequence[Item], candidates: Sequence[str], progress: Progress | None = None
    ) -> dict[str, Counter[str]]:
        """Ask every item not yet finished of every candidate; statuses per candidate (this
        session's and earlier ones' together)."""
        statuses: dict[str, Counter[str]] = {}
        jobs: list[asyncio.Task[None]] = []
        writers: list[TranscriptWriter] = []
        try:
            for candidate in candidates:
                done = {item_id: line for item_id, line in read_transcript(self.run_dir, candidate).items() if line.status in FINAL}
                counts: Counter[str] = Counter(line.status for item_id, line in done.items() if any(i.id == item_id for i in items))
                statuses[candidate] = counts
                pending = [item for item in items if item.id not in done]
                total = len(items)
                if progress is not None:
                    progress(candidate, total - len(pending), total)
                if not pending:
                    continue
                writer = TranscriptWriter(self.run_dir, candidate)
                writers.append(writer)
                gate = asyncio.Semaphore(self.config.run.concurrency)
                finished = [total - len(pending)]
                for item in pending:
                    jobs.append(asyncio.create_task(
                        self._job(candidate, item, gate, writer, counts, finished, total, progress)
                    ))
            if jobs:
                await asyncio.gather(*jobs)
        finally:
            for job in jobs:
                job.cancel()
            for writer in writers:
                writer.close()
        return statuses

    async def _job(
        self, candidate: str, item: Item, gate: asyncio.Semaphore, writer: TranscriptWriter, counts: Counter[str],
        finished: list[int], total: int, progress: Progress | None,
    ) -> None:
        async with gate:
            line = await self.ask(candidate, item)
        writer.write(line)
        counts[line.status] += 1
        finished[0] += 1
        if progress is not None:
            progress(candidate, finished[0], total)

    async def ask(self, candidate: str, item: Item) -> TranscriptLine:
        """All turns of one item, with retries after errors and timeouts."""
        settings = self.config.run
        started_at = now_iso_utc()
        attempt = 0
        while True:
            attempt += 1
            began = time.perf_counter()
            answers: list[str] = []
            turns: list[_Turn] = []
            status, error = "ok", None
            try:
                async with asyncio.timeout(settings.timeout_s):
                    history: list[dict[str, Any]] = [{"role": "system", "content": item.system}] if item.system else []
                    for index in range(len(item.messages)):
                        history.append({"role": "user", "content": item_messages(item, index)})
                        turn = await self._turn(candidate, item, history)
                        turns.append(turn)
                        answers.append(turn.text)
                        history.append({"role": "assistant", "content": turn.text})
            except _Blocked as refusal:
                status, error = "blocked", str(refusal)
            except TimeoutError:
                status, error = "timeout", f"no complete answer within {settings.timeout_s:g} s"
            except GatewayError as failure:
                status, error = "error", f"{failure.status} {failure.code or failure.error_type}: {failure.message.splitlines()[0][:300]}"
                if isinstance(failure, _NOT_RETRIED):
                    attempt = settings.retries + 1
            latency_ms = (time.perf_counter() - began) * 1000
            if status in ("ok", "blocked") or attempt > settings.retries:
                return TranscriptLine(
                    item_id=item.id, status=status, answers=tuple(answers),
                    model=next((turn.model for turn in turns if turn.model), None),
                    started_at=started_at, finished_at=now_iso_utc(),
                    ttft_ms=turns[0].ttft_ms if turns else None, latency_ms=round(latency_ms, 3),
                    tokens_in=sum(turn.tokens_in for turn in turns), tokens_out=sum(turn.tokens_out for turn in turns),
                    cost_yen=round(sum(turn.cost_yen for turn in turns), 6), attempts=attempt, error=error,
                    policy=turns[-1].policy if turns else None,
                )
            await asyncio.sleep(settings.retry_backoff_s * 2 ** (attempt - 1))

    async def _turn(self, candidate: str, item: Item, messages: list[dict[str, Any]]) -> _Turn:
        """One call: admitted by the policy for exactly this candidate, streamed, recorded."""
        platform = self.platform
        # the candidate only: a fallback model must never see a sealed item, and an item the
        # policy would send elsewhere (rerouted) is not sent at all
        call = NamedModelCall(
            platform, ENDPOINT, streamed=True, actions=("allowed", "pseudonymised"),
            refusal=lambda decision: _not_cleared(candidate, decision),
        )
        call.principal = self.principal
        detail = f"eval run {self.run_id}"
        body: dict[str, Any] = {
            "model": candidate, "messages": [dict(message) for message in messages], "stream": True,
            "stream_options": {"include_usage": True}, **self.decoding,
        }
        parts: list[str] = []
        began = time.perf_counter()
        first_at: float | None = None
        try:
            content = chat_content(body, max_attachment_chars=platform.loaded.config.server.max_attachment_chars)
            decision = await call.admit(
                body, content, model=candidate, declared_class=item.classification,
                max_output_tokens=self.decoding.get("max_tokens"),
            )
            chunks = await platform.dispatcher.stream_chat(decision, body, call.outcome)
            restorer = ChunkRestorer(call.placeholders) if call.placeholders is not None else None
            try:
                async for raw in chunks:
                    for chunk in stream_chunks(raw):
                        if restorer is not None:
                            chunk = restorer.restore(chunk)
                        for choice in chunk.get("choices") or ():
                            delta = (choice.get("delta") or {}).get("content")
                            if delta:
                                if first_at is None:
                                    first_at = time.perf_counter()
                                parts.append(delta)
            finally:
                await chunks.aclose()  # type: ignore[attr-defined]
            call.record("ok", 200, detail=detail)
        except Forbidden as refusal:
            call.record("error", refusal.status, refusal, detail=detail)
            policy = getattr(refusal, "policy", None) or {}
            rerouted = " (would be rerouted)" if refusal.code == NOT_CLEARED else ""
            raise _Blocked(f"policy: class {policy.get('effective_class', '?')} is not sent to {candidate}{rerouted}") from None
        except GatewayError as failure:
            call.record("error_mid_stream" if parts else "error", failure.status, failure, detail=detail)
            raise
        except (asyncio.CancelledError, TimeoutError):
            call.record("timeout", 504, detail=f"{detail}: timeout")
            raise
        outcome = call.outcome
        model = outcome.model
        cost = 0.0
        if model is not None:
            cost = (outcome.tokens_in * model.config.price_in + outcome.tokens_out * model.config.price_out) / 1_000_000
        return _Turn(
            text="".join(parts), model=model.id if model else None,
            ttft_ms=round((first_at - began) * 1000, 3) if first_at is not None else None,
            tokens_in=outcome.tokens_in, tokens_out=outcome.tokens_out, cost_yen=cost, policy=decision.header(),
        )


def summary_line(statuses: Mapping[str, Counter[str]]) -> str:
    return "; ".join(
        f"{candidate}: " + ", ".join(f"{status} {count}" for status, count in sorted(counts.items()))
        for candidate, counts in statuses.items()
    )
