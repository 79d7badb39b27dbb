"""Summarise a py-spy raw (collapsed) profile: where the sampled process spends its CPU.

    python bench/profile_summary.py bench/results/<stamp>/gennai.pyspy.txt [--top 25]

`bench/gateway.py --py-spy` writes such a file for the gennai process. Prints the share of
samples per thread, per package (by the innermost frame's file), the top functions by
self time and by inclusive time, and gennai's own functions by inclusive time. Idle
samples are left out when py-spy ran without --idle (the default here).
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+)(?::(?P<line>\d+))?\)$")


def package_of(path: str) -> str:
    if not path.startswith("/"):
        # py-spy shortens paths to the import path: "gennai/api/app.py", "asyncio/tasks.py".
        parts = path.split("/")
        if parts[0] == "gennai" and len(parts) > 2:
            return "gennai." + parts[1]
        return parts[0].removesuffix(".py")
    if "/site-packages/" in path:
        rest = path.split("/site-packages/", 1)[1]
        return rest.split("/", 1)[0].removesuffix(".py")
    if "/src/gennai/" in path:
        rest = path.split("/src/gennai/", 1)[1]
        return "gennai." + rest.split("/", 1)[0].removesuffix(".py")
    if "/lib/python3" in path:
        rest = path.split("/lib/python3", 1)[1].split("/", 1)[-1]
        return "stdlib:" + rest.split("/", 1)[0].removesuffix(".py")
    return path


def short(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    return f"{match['func']} ({package_of(match['file'])}:{match['line'] or '?'})"


def function_key(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    return f"{match['func']} ({package_of(match['file'])})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--thread", default="", help="only threads whose py-spy name contains this (e.g. MainThread)")
    args = parser.parse_args()
    total = 0
    threads: collections.Counter[str] = collections.Counter()
    packages: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for line in args.profile.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames and frames[0].startswith(("process ", "thread ")):
            # py-spy --threads: "thread (0x...)" or with a name, before the frames.
            while frames and frames[0].startswith(("process ", "thread ")):
                thread = frames.pop(0)
            thread = re.sub(r"\(\d+\)", "", thread)
            threads[thread] += count
            if args.thread and args.thread not in thread:
                continue
        total += count
        if not frames:
            continue
        innermost = frames[-1]
        match = FRAME.match(innermost)
        packages[package_of(match["file"]) if match else innermost] += count
        self_time[short(innermost)] += count
        for key in {function_key(f) for f in frames}:
            inclusive[key] += count

    def show(title: str, counter: collections.Counter[str], top: int, only: str | None = None) -> None:
        print(f"\n{title}")
        shown = 0
        for key, count in counter.most_common():
            if only and only not in key:
                continue
            print(f"  {100 * count / total:5.1f}%  {key}")
            shown += 1
            if shown >= top:
                break

    print(f"{total:,} samples")
    if threads:
        show("threads (py-spy --threads)", threads, 10)
    show("innermost frame by package", packages, args.top)
    show("self time (innermost frame)", self_time, args.top)
    show("inclusive time", inclusive, args.top)
    show("inclusive time, gennai's own functions", inclusive, args.top, only="(gennai.")


if __name__ == "__main__":
    main()
