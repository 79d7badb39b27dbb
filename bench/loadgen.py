"""Closed-loop load generator for OpenAI chat completions (aiohttp client on uvloop).

    python bench/loadgen.py --url http://127.0.0.1:8000/v1/chat/completions \
        --concurrency 50 --duration 10 [--stream] [--auth KEY] [--warmup 2]

N workers each send requests back to back (a new one as soon as the previous answer has
been read completely) over a keep-alive pool of N connections, for a fixed time
(--duration) or a fixed total count (--requests). Per request it measures the latency
(until the last byte) and, for streams, the time to first token: the first `data:` event
whose delta carries non-empty content. A request counts as an error if the status is not
200, the body has no `choices`, or a stream does not end with `data: [DONE]`.

With --sync (used by bench/gateway.py) it prints `WARM` after the warm-up and waits for a
line on stdin before the measured phase, prints `DONE` when the measured phase is over and
waits for another line before printing `RESULT {json}`; the orchestrator reads the CPU
time of the measured servers in between, so that CPU per request covers exactly the
measured requests. With --progress-every K it prints `PROGRESS n` every K completed
requests (the soak uses it to sample memory). Only loopback URLs are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import math
import resource
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None

PROMPT = "Say hello in one short sentence."


class Phase:
    """Shared state of one phase (warm-up or measured)."""

    def __init__(self, deadline: float | None, total: int | None, progress_every: int | None) -> None:
        self.deadline = deadline
        self.total = total
        self.issued = 0
        self.completed = 0
        self.progress_every = progress_every
        self.latencies: list[float] = []
        self.ttfts: list[float] = []
        self.chunks = 0
        self.errors: collections.Counter[str] = collections.Counter()
        self.error_samples: list[str] = []
        self.first_start: float | None = None
        self.last_end: float | None = None

    def take(self) -> bool:
        if self.total is not None:
            if self.issued >= self.total:
                return False
        elif self.deadline is not None and time.perf_counter() >= self.deadline:
            return False
        self.issued += 1
        return True

    def error(self, kind: str, sample: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{kind}: {sample[:300]}")


async def one_request(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], stream: bool, phase: Phase
) -> None:
    started = time.perf_counter()
    if phase.first_start is None:
        phase.first_start = started
    ttft: float | None = None
    ok = False
    try:
        async with session.post(url, data=body, headers=headers) as response:
            if response.status != 200:
                text = (await response.read()).decode("utf-8", "replace")
                phase.error(f"http_{response.status}", text)
            elif stream:
                done = False
                errored = False
                chunks = 0
                async for line in response.content:
                    if not line.startswith(b"data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == b"[DONE]":
                        done = True
                        continue
                    chunks += 1
                    if ttft is None:
                        item = orjson.loads(payload)
                        if isinstance(item, dict) and "error" in item and not item.get("choices"):
                            phase.error("stream_error_event", payload.decode("utf-8", "replace"))
                            errored = True
                            break
                        choices = item.get("choices") if isinstance(item, dict) else None
                        if choices and (choices[0].get("delta") or {}).get("content"):
                            ttft = time.perf_counter() - started
                if done and ttft is not None:
                    ok = True
                    phase.chunks += chunks
                elif not errored:
                    phase.error("stream_incomplete", f"done={done} chunks={chunks} ttft={ttft}")
            else:
                data = await response.read()
                if b'"choices"' in data:
                    ok = True
                else:
                    phase.error("bad_body", data.decode("utf-8", "replace"))
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as exc:
        phase.error(type(exc).__name__, str(exc))
    ended = time.perf_counter()
    phase.last_end = ended
    if ok:
        phase.latencies.append(ended - started)
        if ttft is not None:
            phase.ttfts.append(ttft)
    phase.completed += 1
    if phase.progress_every and phase.completed % phase.progress_every == 0:
        print(f"PROGRESS {phase.completed}", flush=True)


async def worker(
    session: aiohttp.ClientSession,
    url: str,
    bodies: tuple[bytes, bytes],
    headers: dict[str, str],
    mode: str,
    phase: Phase,
    index: int,
) -> None:
    count = index  # staggers the mixed mode across workers
    while phase.take():
        stream = mode == "stream" or (mode == "mixed" and count % 2 == 1)
        count += 1
        await one_request(session, url, bodies[1] if stream else bodies[0], headers, stream, phase)


async def run_phase(
    session: aiohttp.ClientSession,
    args: argparse.Namespace,
    bodies: tuple[bytes, bytes],
    headers: dict[str, str],
    *,
    duration: float | None,
    total: int | None,
    progress_every: int | None = None,
) -> Phase:
    deadline = time.perf_counter() + duration if duration is not None else None
    phase = Phase(deadline, total, progress_every)
    await asyncio.gather(
        *(worker(session, args.url, bodies, headers, args.mode, phase, i) for i in range(args.concurrency))
    )
    return phase


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)  # nearest rank
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 4)


async def read_stdin_line() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    request: dict[str, Any] = {
        "model": args.model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 32,
        "temperature": 0,
    }
    plain = orjson.dumps(request)
    streamed = orjson.dumps({**request, "stream": True, "stream_options": {"include_usage": True}})
    headers = {"Content-Type": "application/json"}
    if args.auth:
        headers["Authorization"] = f"Bearer {args.auth}"
    connector = aiohttp.TCPConnector(limit=args.concurrency, limit_per_host=args.concurrency, keepalive_timeout=120)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, skip_auto_headers=("User-Agent",), auto_decompress=False
    ) as session:
        warm_count = 0
        warm_errors = 0
        if args.warmup > 0:
            warm = await run_phase(session, args, (plain, streamed), headers, duration=args.warmup, total=None)
            warm_count, warm_errors = warm.completed, sum(warm.errors.values())
        if args.sync:
            print("WARM", flush=True)
            await read_stdin_line()
        cpu_before = cpu_seconds()
        phase = await run_phase(
            session,
            args,
            (plain, streamed),
            headers,
            duration=None if args.requests else args.duration,
            total=args.requests or None,
            progress_every=args.progress_every,
        )
        cpu_after = cpu_seconds()
        if args.sync:
            print("DONE", flush=True)
            await read_stdin_line()
    elapsed = (phase.last_end or 0.0) - (phase.first_start or 0.0)
    ok = len(phase.latencies)
    return {
        "completed": phase.completed,
        "ok": ok,
        "errors": sum(phase.errors.values()),
        "error_kinds": dict(phase.errors),
        "error_samples": phase.error_samples,
        "elapsed_s": round(elapsed, 4),
        "rps": round(ok / elapsed, 2) if elapsed > 0 else 0.0,
        "lat_p50_ms": ms(percentile(phase.latencies, 0.50)),
        "lat_p90_ms": ms(percentile(phase.latencies, 0.90)),
        "lat_p99_ms": ms(percentile(phase.latencies, 0.99)),
        "lat_mean_ms": ms(sum(phase.latencies) / ok) if ok else None,
        "ttft_p50_ms": ms(percentile(phase.ttfts, 0.50)),
        "ttft_p99_ms": ms(percentile(phase.ttfts, 0.99)),
        "chunks_per_stream": round(phase.chunks / len(phase.ttfts), 2) if phase.ttfts else None,
        "warmup_completed": warm_count,
        "warmup_errors": warm_errors,
        "loadgen_cpu_ms_per_req": round((cpu_after - cpu_before) * 1000 / phase.completed, 4) if phase.completed else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the chat completions URL (loopback only)")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of the measured phase")
    parser.add_argument("--requests", type=int, default=0, help="a fixed count instead of a duration")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up (not measured)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--stream", dest="mode", action="store_const", const="stream")
    group.add_argument("--mixed", dest="mode", action="store_const", const="mixed", help="every other request streams")
    parser.set_defaults(mode="plain")
    parser.add_argument("--auth", default="", help="bearer token")
    parser.add_argument("--model", default="bench")
    parser.add_argument("--timeout", type=float, default=60.0, help="per-request limit (s)")
    parser.add_argument("--sync", action="store_true", help="handshake with the orchestrator on stdin/stdout")
    parser.add_argument("--progress-every", type=int, default=0)
    args = parser.parse_args()
    host = urlsplit(args.url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        parser.error("loopback URLs only")
    if args.concurrency < 1 or args.duration <= 0 or args.duration > 3600 or args.requests < 0 or args.requests > 10_000_000:
        parser.error("concurrency >= 1, 0 < duration <= 3600, 0 <= requests <= 10,000,000")
    runner = uvloop.run if uvloop is not None else asyncio.run
    result = runner(main_async(args))
    print("RESULT " + orjson.dumps(result).decode(), flush=True)


if __name__ == "__main__":
    main()
