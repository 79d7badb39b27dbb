"""Speed of the default detection path (gennai.policy.detection) on one core.

    .venv/bin/python bench/detection_speed.py [--texts 300] [--chars 2000]
    .venv/bin/python bench/detection_speed.py --against 8d68428 [--rounds 6] [--append]

Generates synthetic Japanese administrative texts of about 2,000 characters (minutes,
inquiries, notices; with names, phone numbers, addresses, markings mixed in) and prints
characters per second over all of them and the p50/p95/max latency per text. Targets:
≥ 300,000 chars/s and p95 ≤ 10 ms.

--against REV measures this checkout and git revision REV side by side: each round runs both,
one after the other in fresh processes pinned to the same CPU, in alternating order, on the
same texts; the shared machine's noise then hits both alike and the ratio is what to read.
--append adds the result, the command and the date to docs/benchmarks.md.

--instructions (with --against) counts the CPU instructions each side executes instead of timing
it, under valgrind's callgrind: the same count for the same code and texts whatever else the
machine is doing, so a change's cost shows even on a noisy shared machine. Each side runs twice,
with the texts and with none, and the difference is divided by the characters; slower (about a
minute per side for 100 texts), and it needs valgrind.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"

SENTENCES = [
    "本日の会議では、令和7年度の予算要求について検討を行った。",
    "出席者は総務課長、企画係長ほか5名である。",
    "住民の山田太郎さんから、道路の補修について問い合わせがあった。",
    "連絡先は090-1234-5678、メールは taro.yamada@example.com とのこと。",
    "申請者の住所は横浜市中区本町1-2-3 である。",
    "次回の会議は2025年4月15日（火）午後2時から開催する予定。",
    "令和6年法律第123号の施行に伴い、事務処理要領を改正する。",
    "資料の12ページから34ページまでを参照のこと。",
    "契約金額は1,234,567円（税込）とする。",
    "本件は機密性２情報として取り扱うこと。",
    "問い合わせ先：総務部総務課 電話03-5253-5111（代表）",
    "〒100-8926 東京都千代田区霞が関2-1-2 中央合同庁舎第2号館",
    "個人番号 1234 5678 9018 の記載がある申請書を受理した。",
    "秘書課から、来週の日程調整について連絡があった。",
    "文書番号 123456789019 により通知済み。",
    "昭和45年3月2日生まれの佐藤花子様より相談を受けた。",
    "ホームページで広く周知することとし、関係課と調整する。",
    "ＤＸ推進に向けたシステム改修の仕様書案を作成中である。",
    "法人番号8000012010038の事業者と随意契約を締結した。",
    "各課は、来月末までに意見を取りまとめて提出すること。",
]


def make_text(rng: random.Random, chars: int) -> str:
    parts: list[str] = []
    size = 0
    while size < chars:
        sentence = rng.choice(SENTENCES)
        parts.append(sentence)
        size += len(sentence)
        if rng.random() < 0.2:
            parts.append("\n")
            size += 1
    return "".join(parts)[:chars]


def measure(texts: list[str]) -> dict[str, object]:
    """Detect every text once after a warm-up; the total time and each text's latency."""
    from gennai.policy.detection import default_detector

    detector = default_detector()
    for text in texts[:5]:  # warm up: dictionary load, regex compilation, caches
        detector.detect(text)
    latencies = []
    total_start = time.perf_counter()
    for text in texts:
        start = time.perf_counter()
        detector.detect(text)
        latencies.append(time.perf_counter() - start)
    total = time.perf_counter() - total_start
    return {"chars": sum(len(t) for t in texts), "total_s": total, "latencies": latencies}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def run_side(src: Path, args: argparse.Namespace, cpu: int | None) -> dict[str, object]:
    """One measurement in a fresh process importing gennai from src."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker",
               "--texts", str(args.texts), "--chars", str(args.chars), "--seed", str(args.seed)]
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False,
                          preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None)
    if done.returncode != 0:
        raise SystemExit(f"detection_speed: the run with {src} failed:\n{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


_COLLECTED = re.compile(r"Collected\s*:\s*([0-9]+)")


def count_instructions(src: Path, args: argparse.Namespace, texts: int) -> int:
    """Instructions executed by one worker run (import, warm-up and texts) under callgrind."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, str(Path(__file__).resolve()),
               "--worker", "--texts", str(texts), "--chars", str(args.chars), "--seed", str(args.seed)]
    try:
        done = subprocess.run(command, env={**os.environ, "PYTHONPATH": str(src)}, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise SystemExit("detection_speed: --instructions needs valgrind (apt-get install valgrind)") from None
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"detection_speed: the callgrind run with {src} failed:\n{done.stderr.strip()[-2000:]}")
    return int(found.group(1))


def compare_instructions(args: argparse.Namespace, sides: dict[str, Path]) -> dict[str, float]:
    """Instructions per character on each side: (run with the texts - run with none) / characters."""
    rng = random.Random(args.seed)
    texts = [make_text(rng, args.chars) for _ in range(args.texts)]
    chars = sum(len(t) for t in texts) + sum(len(t) for t in texts[:5])  # the worker also warms up on the first five
    jobs = [(name, n) for name in sides for n in (args.texts, 0)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = dict(zip(jobs, pool.map(lambda job: count_instructions(sides[job[0]], args, job[1]), jobs)))
    return {name: (counts[(name, args.texts)] - counts[(name, 0)]) / chars for name in sides}


def compare(args: argparse.Namespace) -> str:
    revision = subprocess.run(["git", "rev-parse", "--short", args.against], cwd=ROOT, capture_output=True,
                              text=True, check=False)
    if revision.returncode != 0:
        raise SystemExit(f"detection_speed: no git revision {args.against!r}: {revision.stderr.strip()}")
    rev = revision.stdout.strip()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=False).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True,
                                text=True, check=False).stdout.strip())
    cpu = sorted(os.sched_getaffinity(0))[-1] if hasattr(os, "sched_getaffinity") else None
    with tempfile.TemporaryDirectory(prefix="gennai-speed-") as tmp:
        worktree = Path(tmp) / rev
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(worktree), rev], cwd=ROOT, check=True)
        try:
            sides = {"this checkout": ROOT / "src", rev: worktree / "src"}
            if args.instructions:
                per_char = compare_instructions(args, sides)
                return _instructions_report(args, rev, head, dirty, per_char)
            results: dict[str, list[dict[str, object]]] = {name: [] for name in sides}
            for round_no in range(args.rounds):
                order = list(sides) if round_no % 2 == 0 else list(reversed(sides))
                for name in order:
                    results[name].append(run_side(sides[name], args, cpu))
                    print(f"round {round_no + 1}/{args.rounds}: {name} done", file=sys.stderr)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, check=False)
    rows = []
    medians = {}
    for name, runs in results.items():
        rates = [float(r["chars"]) / float(r["total_s"]) for r in runs]  # type: ignore[arg-type]
        latencies = [x for r in runs for x in r["latencies"]]  # type: ignore[union-attr]
        medians[name] = statistics.median(rates)
        rows.append(
            f"| {name} | {', '.join(f'{x:,.0f}' for x in rates)} | {statistics.median(rates):,.0f} | {max(rates):,.0f} "
            f"| {statistics.median(latencies) * 1000:.2f} | {p95(latencies) * 1000:.2f} |"
        )
    ratio = medians["this checkout"] / medians[rev]
    label = f"{head}{' + uncommitted changes' if dirty else ''}"
    lines = [
        f"## {datetime.date.today().isoformat()} — detection speed, this checkout ({label}) vs {rev}",
        "",
        f"Command: `.venv/bin/python bench/detection_speed.py --against {args.against} --rounds {args.rounds}"
        f" --texts {args.texts} --chars {args.chars}`. {args.texts} synthetic texts of {args.chars} characters per run,"
        f" {args.rounds} alternating rounds, each run a fresh process pinned to CPU {cpu}; load average at the end:"
        f" {' '.join(f'{x:.2f}' for x in os.getloadavg())}.",
        "",
        "| side | chars/s per round | median | best | p50 ms | p95 ms |",
        "|---|---|--:|--:|--:|--:|",
        *rows,
        "",
        f"This checkout runs at **{ratio:.2f}×** the speed of {rev} (ratio of the median rounds); targets: ≥ 300,000 "
        f"chars/s and p95 ≤ 10 ms per 2,000 characters.",
        "",
    ]
    return "\n".join(lines)


def _instructions_report(args: argparse.Namespace, rev: str, head: str, dirty: bool, per_char: dict[str, float]) -> str:
    label = f"{head}{' + uncommitted changes' if dirty else ''}"
    ratio = per_char["this checkout"] / per_char[rev]
    return "\n".join([
        f"## {datetime.date.today().isoformat()} — detection cost in CPU instructions, this checkout ({label}) vs {rev}",
        "",
        f"Command: `.venv/bin/python bench/detection_speed.py --against {args.against} --instructions --texts {args.texts}"
        f" --chars {args.chars}`. {args.texts} synthetic texts of {args.chars} characters, counted by valgrind's callgrind"
        " (each side run with the texts and with none; the difference divided by the characters). Counts do not depend on"
        " the machine's load.",
        "",
        "| side | instructions per character |",
        "|---|--:|",
        *(f"| {name} | {value:,.0f} |" for name, value in per_char.items()),
        "",
        f"This checkout executes **{ratio:.3f}×** the instructions of {rev} per character.",
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--chars", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--against", metavar="REV", help="a git revision to measure side by side with this checkout")
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds with --against (default 6)")
    parser.add_argument("--append", action="store_true", help="append the --against result to docs/benchmarks.md")
    parser.add_argument("--instructions", action="store_true",
                        help="with --against: count CPU instructions under valgrind instead of timing (noise-free)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    texts = [make_text(rng, args.chars) for _ in range(args.texts)]
    if args.worker:
        print(json.dumps(measure(texts)))
        return
    if args.against:
        report = compare(args)
        print(report)
        if args.append:
            with DOCS.open("a", encoding="utf-8") as f:
                f.write("\n" + report)
            print(f"appended to {DOCS.relative_to(ROOT)}")
        return
    result = measure(texts)
    latencies: list[float] = result["latencies"]  # type: ignore[assignment]
    print(f"texts: {len(texts)} × ~{args.chars} chars, total {result['chars']} chars")
    print(f"throughput: {float(result['chars']) / float(result['total_s']):,.0f} chars/s (target ≥ 300,000)")  # type: ignore[arg-type]
    print(
        f"latency per text: p50 {statistics.median(latencies) * 1000:.2f} ms, "
        f"p95 {p95(latencies) * 1000:.2f} ms (target ≤ 10), max {max(latencies) * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
