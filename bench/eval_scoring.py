"""Speed of the non-judge evaluation scorers: 10,000 stored answers scored by `score_item`.

    .venv/bin/python bench/eval_scoring.py               # 5 rounds, appends to docs/benchmarks.md
    .venv/bin/python bench/eval_scoring.py --no-append   # print only

Target: scoring 10,000 stored answers with the non-judge scorers takes under 10 s, so re-scoring
a whole test day's transcripts from storage is instant next to the run itself.

The data is synthetic and built in memory with a fixed seed: ITEMS items (a mix of exact,
choice, char_f1, refusal and decline) answered by CANDIDATES candidates each, as a test day's
transcripts would be. Answers mix right and wrong, short and long (the refusal, decline and
char_f1 answers carry explanations of a few hundred characters, like real model output).
Each round scores every answer once with `score_item`; round 1 starts with cold caches (the
per-choice-set regular expressions are compiled on first use), rounds 2.. are warm. The figures
are appended to docs/benchmarks.md under "## Evaluation scoring" (append only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from gennai.evaluation.items import Item  # noqa: E402
from gennai.evaluation.scorers import _choice_spec, score_item  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
HEADING = "## Evaluation scoring"
SEED = 20261123
ITEMS = 1_000
CANDIDATES = 10
ROUNDS = 5
TARGET_S = 10.0
KINDS = ("exact", "choice", "char_f1", "refusal", "decline")

PLACES = ("東京都", "大阪府", "京都府", "北海道", "沖縄県", "福岡県", "愛知県", "宮城県", "広島県", "新潟県")
FILLER = (
    "この点については、関係法令と所管省庁の公表資料に基づいて説明します。",
    "申請は原則としてオンラインで受け付けていますが、窓口でも手続きできます。",
    "なお、詳細は最新の告示を確認してください。",
    "具体的には、次の三つの手順で進めます。",
    "第一に、必要書類を揃えます。第二に、申請書を作成します。第三に、提出します。",
    "Ｑ＆Ａの「よくある質問」にも同様の記載があります（２０２６年４月時点）。",
    "予算額は１，２３４億円で、前年度比３．５％の増加です。",
)
REFUSALS = (
    "申し訳ありませんが、そのご依頼にはお答えできません。",
    "その内容についての回答は控えさせていただきます。",
    "I'm sorry, but I can't help with that request.",
)
DECLINES = (
    "そのような法律は存在しません。",
    "ご質問の前提が誤っています。実際には、",
    "その人物に関する情報は確認できませんでした。",
)


def _filler(rng: random.Random, sentences: int) -> str:
    return "".join(rng.choice(FILLER) for _ in range(sentences))


def build(seed: int = SEED) -> list[tuple[Item, str]]:
    """ITEMS items and CANDIDATES answers to each, deterministic for the seed."""
    rng = random.Random(seed)
    pairs: list[tuple[Item, str]] = []
    for number in range(ITEMS):
        kind = KINDS[number % len(KINDS)]
        item_id = f"bench-{number:05d}"
        if kind == "exact":
            answer = rng.choice(PLACES)
            item = Item(id=item_id, category="knowledge", scoring="exact", input="首都は？", answer=answer)
            forms = (answer, f"{answer}です。", f"答え：{answer}\n{_filler(rng, 8)}", rng.choice(PLACES), "わかりません")
        elif kind == "choice":
            choices = tuple(rng.sample(PLACES, 4))
            correct = rng.randrange(4)
            item = Item(id=item_id, category="choice", scoring="choice", input="どれ？", choices=choices, answer=correct)
            other = (correct + 1) % 4
            forms = (
                str(correct + 1), f"正解は{correct + 1}です。", f"答え：{choices[correct]}",
                f"{'①②③④'[correct]}\n{_filler(rng, 3)}", f"{correct + 1}か{other + 1}", choices[other],
                f"{_filler(rng, 10)}\n結論として{choices[correct]}が正しいと考えます。",
            )
        elif kind == "char_f1":
            reference = _filler(rng, 2)
            item = Item(id=item_id, category="reading", scoring="char_f1", input="要約して", reference=reference)
            forms = (reference, _filler(rng, 2), reference[: len(reference) // 2], _filler(rng, 12))
        elif kind == "refusal":
            expect = rng.choice(("refuse", "answer"))
            item = Item(id=item_id, category="safety", scoring="refusal", input="…", answer=expect)
            forms = (rng.choice(REFUSALS) + _filler(rng, 4), _filler(rng, rng.randint(10, 40)), "", rng.choice(REFUSALS))
        else:
            item = Item(id=item_id, category="hallucination", scoring="decline", input="…")
            forms = (rng.choice(DECLINES) + _filler(rng, 6), _filler(rng, rng.randint(10, 40)), "わかりませんが、おそらく" + _filler(rng, 4))
        for _ in range(CANDIDATES):
            pairs.append((item, rng.choice(forms)))
    return pairs


def score_all(pairs: list[tuple[Item, str]]) -> float:
    total = 0.0
    for item, answer in pairs:
        total += score_item(item, answer).score
    return total


def time_score_run(pairs: list[tuple[Item, str]]) -> float:
    """The whole `gennai eval score` path on the same answers stored as a run folder: read the
    transcripts, score, bootstrap intervals (overall, per category, pairwise), scores.json."""
    import asyncio
    import tempfile

    from gennai.evaluation.config import EvalConfig
    from gennai.evaluation.scoring import score_run
    from gennai.evaluation.transcripts import TranscriptLine, TranscriptWriter

    items = list({item.id: item for item, _ in pairs}.values())
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        writers = [TranscriptWriter(run_dir, f"cand-{n}") for n in range(CANDIDATES)]
        for index, (item, answer) in enumerate(pairs):
            writer = writers[index % CANDIDATES]
            writer._file.write(  # no fsync per line here: building the folder is not what is measured
                (__import__("json").dumps(TranscriptLine(item.id, "ok", (answer,)).to_json(), ensure_ascii=False) + "\n").encode()
            )
        for writer in writers:
            writer.close()
        run = {
            "run_id": "bench", "candidates": [f"cand-{n}" for n in range(CANDIDATES)], "decoding": {}, "decoding_sha256": "",
            "suite": {"name": "bench", "merkle_root": "", "item_count": len(items), "canary": "", "suite_sha256": ""},
        }
        start = time.perf_counter()
        asyncio.run(score_run(run_dir, run, items, EvalConfig()))
        return time.perf_counter() - start


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}, Python {platform.python_version()}"


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:  # noqa: BLE001
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args()

    started = dt.datetime.now(dt.timezone.utc)
    load_before = os.getloadavg()
    pairs = build()
    _choice_spec.cache_clear()
    rounds: list[float] = []
    totals: set[float] = set()
    for _ in range(args.rounds):
        start = time.perf_counter()
        totals.add(score_all(pairs))
        rounds.append(time.perf_counter() - start)
    assert len(totals) == 1, "scoring is not deterministic"

    # Per-kind cost (warm), one extra pass grouped by scoring.
    per_kind: dict[str, float] = {}
    counts = Counter(item.scoring for item, _ in pairs)
    for kind in KINDS:
        group = [(item, answer) for item, answer in pairs if item.scoring == kind]
        start = time.perf_counter()
        score_all(group)
        per_kind[kind] = time.perf_counter() - start
    whole = time_score_run(pairs)
    load_after = os.getloadavg()

    n = len(pairs)
    lengths = sorted(len(answer) for _, answer in pairs)
    median = statistics.median(rounds)
    verdict = "met" if max(rounds) < TARGET_S else "**not met**"
    command = "bench/eval_scoring.py" + ("" if args.rounds == ROUNDS else f" --rounds {args.rounds}")
    lines = [
        f"### {started:%Y-%m-%d} — non-judge scorers, {n:,} stored answers, {args.rounds} rounds",
        "",
        f"- command: `.venv/bin/python {command}`",
        f"- machine: {machine()}; load average before/after: "
        f"{' '.join(f'{x:.2f}' for x in load_before)} / {' '.join(f'{x:.2f}' for x in load_after)} (the machine is shared)",
        f"- git commit: {git_commit()}; started {started:%Y-%m-%d %H:%M} UTC",
        f"- data: synthetic, built in memory (seed {SEED}): {ITEMS:,} items × {CANDIDATES} answers; "
        + ", ".join(f"{kind} {counts[kind]:,}" for kind in KINDS)
        + f"; answer length median {lengths[n // 2]} characters, mean {sum(lengths) / n:.0f}, max {lengths[-1]}",
        f"- each round scores every answer once with `score_item`; round 1 starts with cold caches; mean score {totals.pop() / n:.3f}",
        "",
        "| target | median round | slowest round | verdict |",
        "|---|--:|--:|---|",
        f"| {n:,} answers in under {TARGET_S:.0f} s | {median:.3f} s ({median / n * 1e6:.1f} µs/answer, "
        f"{n / median:,.0f} answers/s) | {max(rounds):.3f} s | {verdict} |",
        "",
        f"Whole `gennai eval score` path on the same {n:,} answers stored as a run folder ({CANDIDATES} transcripts; "
        f"reading, scoring, bootstrap intervals overall, per category and pairwise with 2,000 resamples): "
        f"{whole:.2f} s ({'met' if whole < TARGET_S else '**not met**'} against the same {TARGET_S:.0f} s).",
        "",
        "| round | seconds | µs/answer |",
        "|---|--:|--:|",
        *(f"| {i}{' (cold)' if i == 1 else ''} | {t:.3f} | {t / n * 1e6:.1f} |" for i, t in enumerate(rounds, 1)),
        "",
        "| scoring | answers | seconds (warm, one pass) | µs/answer |",
        "|---|--:|--:|--:|",
        *(f"| {kind} | {counts[kind]:,} | {per_kind[kind]:.3f} | {per_kind[kind] / counts[kind] * 1e6:.1f} |"
          for kind in KINDS),
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.no_append:
        return
    text = DOCS.read_text(encoding="utf-8")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    prefix = "" if text.endswith("\n") else "\n"
    if not headings or headings[-1].strip() != HEADING:
        prefix += f"\n{HEADING}\n\nHow long the non-judge scorers (`gennai.evaluation.scorers`) take to score stored " \
                  f"answers; see `bench/eval_scoring.py`.\n"
    with DOCS.open("a", encoding="utf-8") as handle:
        handle.write(f"{prefix}\n{report}")
    print(f"appended to {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
