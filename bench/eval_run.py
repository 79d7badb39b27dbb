"""How close an evaluation run comes to the ideal schedule: 50 items × 7 candidates behind mock
upstreams that take 1 s per answer, a concurrency cap of 8 per candidate.

    .venv/bin/python bench/eval_run.py                # 2 rounds each side, appends to docs/benchmarks.md
    .venv/bin/python bench/eval_run.py --no-append    # print only

Ideal: every candidate's 50 items in ceil(50 / 8) = 7 waves of 1 s, the candidates in
parallel: 7 s. Target: gennai's run within 10 % of it (≤ 7.7 s). Side by side in the same
run, alternating: `direct` (the same schedule with plain aiohttp calls to the upstream, no
gateway: the floor on this machine) and `gennai` (bench/../src gennai.evaluation.runner.Runner
through a Platform: policy decision, quota and usage record per call, transcripts fsynced).
The upstream is tests/support/scripted_upstream.py on its own event loop in a thread.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOCS = ROOT / "docs" / "benchmarks.md"

ITEMS, CANDIDATES, CONCURRENCY, LATENCY_S = 50, 7, 8, 1.0

MODEL = """
[[models]]
id = "cand-{n}"
display_name = "candidate {n}"
provider = "openai"
base_url = "http://127.0.0.1:{port}/v1"
upstream_model = "up-{n}"
origin = "domestic"
hosting = "government-cloud"
clearance = 2
timeout_s = 30
max_concurrency = 64
"""


def items():  # type: ignore[no-untyped-def]
    from gennai.evaluation.items import Item

    return [Item(id=f"q{i:03d}", category="bench", scoring="exact", input=f"質問 {i}: 答えは？", answer="はい") for i in range(ITEMS)]


async def direct(port: int) -> float:
    """The same schedule without the gateway: 8 calls in flight per candidate."""
    import aiohttp

    async with aiohttp.ClientSession() as session:

        async def one(candidate: int, index: int, gate: asyncio.Semaphore) -> None:
            async with gate:
                body = {"model": f"up-{candidate}", "stream": True, "messages": [{"role": "user", "content": f"質問 {index}"}]}
                async with session.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body) as response:
                    await response.read()

        began = time.perf_counter()
        jobs = []
        for candidate in range(CANDIDATES):
            gate = asyncio.Semaphore(CONCURRENCY)
            jobs += [one(candidate, index, gate) for index in range(ITEMS)]
        await asyncio.gather(*jobs)
        return time.perf_counter() - began


async def gennai(config_path: Path, work_dir: Path, round_: int) -> float:
    from gennai.config import load_config
    from gennai.evaluation.config import EvalConfig, RunSettings
    from gennai.evaluation.runner import Runner
    from gennai.platform import Platform

    platform_ = Platform.build(load_config(config_path, environ={}))
    await platform_.start()
    try:
        config = EvalConfig(run=RunSettings(concurrency=CONCURRENCY, retries=0, timeout_s=30))
        run_dir = work_dir / f"run-{round_}"
        run_dir.mkdir()
        runner = Runner(platform_, config, run_dir, f"bench-{round_}")
        began = time.perf_counter()
        statuses = await runner.run(items(), [f"cand-{n}" for n in range(CANDIDATES)])
        elapsed = time.perf_counter() - began
    finally:
        await platform_.stop()
    answered = sum(counts["ok"] for counts in statuses.values())
    if answered != ITEMS * CANDIDATES:
        raise SystemExit(f"gennai answered {answered} of {ITEMS * CANDIDATES}: {statuses}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()

    from gennai.accounts.keys import write_key_secret
    from tests.support.scripted_upstream import ScriptedUpstream
    from tests.support.servers import running_asyncio_server

    upstream = ScriptedUpstream(lambda model, messages: "はい", delay_s=LATENCY_S)

    async def start(port: int) -> ScriptedUpstream:
        return await upstream.start(port)

    ideal = math.ceil(ITEMS / CONCURRENCY) * LATENCY_S
    times: dict[str, list[float]] = {"direct": [], "gennai": []}
    with tempfile.TemporaryDirectory() as tmp, running_asyncio_server(start) as port:
        work = Path(tmp)
        config_path = work / "gennai.toml"
        config_path.write_text(
            f'data_dir = "data"\n[database]\nurl = "sqlite:///{work / "gennai.db"}"\n'
            + "".join(MODEL.format(n=n, port=port) for n in range(CANDIDATES)),
            encoding="utf-8",
        )
        write_key_secret(work / "data" / "secret.key")
        for round_ in range(args.rounds):
            for side in (("direct", "gennai") if round_ % 2 == 0 else ("gennai", "direct")):
                upstream.peak_in_flight.clear()
                seconds = asyncio.run(direct(port) if side == "direct" else gennai(config_path, work, round_))
                peak = max(upstream.peak_in_flight.values())
                times[side].append(seconds)
                print(f"round {round_ + 1} {side}: {seconds:.3f} s (peak in flight at the upstream {peak})", flush=True)

    best = {side: min(values) for side, values in times.items()}
    median = {side: statistics.median(values) for side, values in times.items()}
    verdict = "met" if median["gennai"] <= ideal * 1.10 else "not met"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    lines = [
        f"## {dt.date.today().isoformat()} — evaluation run schedule ({ITEMS} items × {CANDIDATES} candidates, {LATENCY_S:g} s upstream, cap {CONCURRENCY})",
        "",
        f"- command: `.venv/bin/python bench/eval_run.py{'' if args.rounds == 2 else f' --rounds {args.rounds}'}`",
        f"- commit {commit}; machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}; load average before: {' '.join(f'{x:.2f}' for x in __import__('os').getloadavg())}",
        f"- ideal schedule: ceil({ITEMS}/{CONCURRENCY}) × {LATENCY_S:g} s = {ideal:.1f} s; target: gennai ≤ {ideal * 1.1:.2f} s (within 10 %)",
        "",
        "| side | seconds per round | median | vs ideal |",
        "|---|---|--:|--:|",
    ]
    for side in ("direct", "gennai"):
        lines.append(f"| {side} | {', '.join(f'{t:.3f}' for t in times[side])} | {median[side]:.3f} | {median[side] / ideal:.3f}× |")
    lines += ["", f"Verdict: **{verdict}** (gennai median {median['gennai']:.3f} s, {100 * (median['gennai'] / ideal - 1):+.1f} % of ideal; "
              f"direct {100 * (median['direct'] / ideal - 1):+.1f} %; best rounds {best['gennai']:.3f} / {best['direct']:.3f} s)."]
    report = "\n".join(lines)
    print("\n" + report)
    if not args.no_append:
        with DOCS.open("a", encoding="utf-8") as file:
            file.write("\n\n" + report + "\n")
        print(f"\nappended to {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
