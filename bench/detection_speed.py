"""Speed of the default detection path (gennai.policy.detection) on one core.

    .venv/bin/python bench/detection_speed.py [--texts 300] [--chars 2000]

Generates synthetic Japanese administrative texts of about 2,000 characters (minutes,
inquiries, notices; with names, phone numbers, addresses, markings mixed in) and prints
characters per second over all of them and the p50/p95/max latency per text. Targets:
≥ 300,000 chars/s and p95 ≤ 10 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from gennai.policy.detection import default_detector

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--chars", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    texts = [make_text(rng, args.chars) for _ in range(args.texts)]
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
    chars = sum(len(t) for t in texts)
    latencies.sort()
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
    print(f"texts: {len(texts)} × ~{args.chars} chars, total {chars} chars")
    print(f"throughput: {chars / total:,.0f} chars/s (target ≥ 300,000)")
    print(
        f"latency per text: p50 {statistics.median(latencies) * 1000:.2f} ms, "
        f"p95 {p95 * 1000:.2f} ms (target ≤ 10), max {latencies[-1] * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
