"""One-command benchmark of gennai's gateway overhead, A/B alternating against its peers.

    .venv/bin/python bench/gateway.py            # full run (3 rounds x 6 scenarios x 4 targets, ~15 min)
    .venv/bin/python bench/gateway.py --quick    # smoke test (1 round, 2 s per run, ~2 min)
    .venv/bin/python bench/gateway.py --soak     # 100,000 requests at concurrency 50 against gennai, RSS every 10k

Everything runs on 127.0.0.1, each part in its own process:
  mock upstream   bench/mock_upstream.py (raw asyncio protocol on uvloop)
  targets         direct      the load generator talks to the mock itself (the baseline)
                  passthrough bench/passthrough_proxy.py, a ~90-line aiohttp proxy (the floor for one Python hop)
                  gennai      `gennai serve`, one worker, auth on, usage records on, SQLite
                  litellm     the LiteLLM proxy from the throw-away venv bench/.venv-litellm, one worker, no database
  load generator  bench/loadgen.py, closed loop, a fresh process per run

For each round, each scenario (concurrency 1, 50, 200; non-streaming and streaming with 20
chunks) runs against each target in turn (direct, passthrough, gennai, litellm, then the next
scenario), so slow drift of a shared machine hits all targets alike; the table shows the median
across rounds, and the added latency is the median of the per-round differences to `direct`.
CPU per request is the server process tree's utime+stime (/proc/<pid>/stat) over exactly the
measured requests, divided by their number. The Markdown report is printed and appended to
docs/benchmarks.md; raw results and server logs go to bench/results/<timestamp>/.

LiteLLM is never a dependency of gennai: it lives only in bench/.venv-litellm, created here on
first use (python3 -m venv; pip install "$LITELLM_SPEC", default litellm[proxy]==1.103.7). The
compromised releases 1.82.7 and 1.82.8 (and 1.107.*) are refused. If it cannot be installed or
started, the report says "not available" and the rest of the benchmark still runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import queue
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DOC = ROOT / "docs" / "benchmarks.md"
PYTHON = Path(sys.executable)
GENNAI_BIN = PYTHON.parent / "gennai"
LITELLM_VENV = BENCH / ".venv-litellm"
LITELLM_SPEC = os.environ.get("LITELLM_SPEC", "litellm[proxy]==1.103.7")
COMPROMISED_LITELLM = re.compile(r"^(1\.82\.7|1\.82\.8|1\.107\..*)$")
CLK_TCK = os.sysconf("SC_CLK_TCK")
HOST = "127.0.0.1"
MODEL = "bench"
TARGET_ORDER = ("direct", "passthrough", "gennai", "litellm")
SOAK_TOLERANCE_MB = 5.0

# The targets and the reference figures measured earlier on this machine.
REFERENCE = """\
Reference figures measured earlier on this machine (context, not from this run): LiteLLM 1.103.7,
one worker: ~90 req/s non-streaming at 11 ms CPU/request, ~25 streams/s at 40 ms CPU/stream,
unloaded +14.8 ms p50 and +18 ms TTFT. A 90-line aiohttp pass-through: 3,440 req/s at
0.27 ms CPU/request, 1,520 streams/s at 0.46 ms CPU/stream, +0.4 ms p50 at concurrency 1."""


# ----------------------------------------------------------------------------------------
# /proc helpers
# ----------------------------------------------------------------------------------------
def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                raw = handle.read()
        except OSError:
            continue
        ppid = int(raw[raw.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (LiteLLM or uvicorn may fork helpers)."""
    children = _children_map()
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                raw = handle.read()
        except OSError:
            continue
        fields = raw[raw.rindex(b")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def main_thread_cpu_seconds(pid: int) -> float:
    """CPU of the process's main thread (for gennai and uvicorn: the event loop)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pids: list[int]) -> float:
    total_kb = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
                        break
        except OSError:
            continue
    return total_kb / 1024


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# ----------------------------------------------------------------------------------------
# processes
# ----------------------------------------------------------------------------------------
class Processes:
    """Every subprocess this run starts, each in its own session; all stopped in stop_all()."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=cwd, start_new_session=True
        )
        log.close()
        self.procs.append((name, proc))
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen[Any], grace_s: float = 10.0) -> None:
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the group this run created for it
        except ProcessLookupError:
            return
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)

    def stop_all(self) -> None:
        for _name, proc in reversed(self.procs):
            try:
                self.stop(proc)
            except Exception as exc:  # noqa: BLE001 - keep stopping the others
                print(f"warning: could not stop pid {proc.pid}: {exc}", file=sys.stderr)


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def http_post(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float = 30.0) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(url: str, proc: subprocess.Popen[Any] | None, timeout_s: float, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"exited with code {proc.returncode} before it was ready")
        try:
            status, _ = http_get(url, headers, timeout=2.0)
            if status == 200:
                return
            last = f"HTTP {status}"
        except OSError as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise RuntimeError(f"not ready after {timeout_s:.0f} s ({last})")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENNAI_", "LITELLM_", "DATABASE_URL"))}
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(name, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


# ----------------------------------------------------------------------------------------
# targets
# ----------------------------------------------------------------------------------------
@dataclass
class Target:
    name: str
    url: str = ""  # chat completions URL
    auth: str = ""
    proc: subprocess.Popen[bytes] | None = None
    available: bool = True
    reason: str = ""
    version: str = ""
    idle_rss_mb: float | None = None
    log: Path | None = None
    requests_sent: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None


def start_mock(procs: Processes, chunks: int, delay_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = procs.start(
        "mock_upstream",
        [str(PYTHON), str(BENCH / "mock_upstream.py"), "--port", str(port), "--chunks", str(chunks),
         "--chunk-delay-ms", str(delay_ms)],
        env=clean_env(),
    )
    base = f"http://{HOST}:{port}/v1"
    wait_ready(f"http://{HOST}:{port}/healthz", proc, 20)
    return proc, base


def start_passthrough(procs: Processes, upstream_base: str) -> Target:
    target = Target("passthrough", auth="sk-passthrough-unused")
    port = free_port()
    target.proc = procs.start(
        "passthrough",
        [str(PYTHON), str(BENCH / "passthrough_proxy.py"), "--port", str(port), "--upstream", upstream_base.removesuffix("/v1")],
        env=clean_env(),
    )
    target.log = procs.log_dir / "passthrough.log"
    target.url = f"http://{HOST}:{port}/v1/chat/completions"
    wait_ready(f"http://{HOST}:{port}/v1/models", target.proc, 30)
    return target


GENNAI_MODEL = """\
[[models]]
id = "{model}"
display_name = "bench: mock OpenAI upstream"
provider = "openai"
base_url = "{base}"
upstream_model = "mock-upstream"
origin = "domestic"
hosting = "government-cloud"
region = "local"
clearance = 2
capabilities = ["chat"]
timeout_s = 30.0
max_concurrency = 512
max_queue = 1024
"""


def start_gennai(procs: Processes, upstream_base: str, workdir: Path) -> Target:
    target = Target("gennai")
    env = clean_env(GENNAI_LOG_LEVEL="warning")
    subprocess.run([str(GENNAI_BIN), "init", "--dir", str(workdir)], check=True, env=env, capture_output=True, timeout=120)
    config = workdir / "gennai.toml"
    text = config.read_text(encoding="utf-8")
    index = text.find("\n[[models]]")
    if index < 0:
        raise RuntimeError("gennai.toml from `gennai init` has no [[models]] table to replace")
    config.write_text(text[: index + 1] + GENNAI_MODEL.format(model=MODEL, base=upstream_base), encoding="utf-8")
    created = subprocess.run(
        [str(GENNAI_BIN), "keys", "create", "--name", "bench", "--config", str(config)],
        check=True, env=env, capture_output=True, text=True, timeout=120,
    )
    key = [line for line in created.stdout.splitlines() if line.strip()][-1].strip()
    if not key.startswith("gnk_"):
        raise RuntimeError(f"`gennai keys create` printed no key: {created.stdout!r}")
    port = free_port()
    target.proc = procs.start("gennai", [str(GENNAI_BIN), "serve", "--config", str(config), "--port", str(port)], env=env)
    target.log = procs.log_dir / "gennai.log"
    target.auth = key
    target.url = f"http://{HOST}:{port}/v1/chat/completions"
    target.extra["config"] = config
    target.extra["db"] = workdir / "data" / "gennai.db"
    wait_ready(f"http://{HOST}:{port}/readyz", target.proc, 60)
    from importlib.metadata import version

    target.version = version("gennai")
    return target


def litellm_version() -> str | None:
    """The installed version, read from its dist-info folder: nothing in that venv is run."""
    if not (LITELLM_VENV / "bin" / "litellm").exists():
        return None
    found = sorted(LITELLM_VENV.glob("lib/python3*/site-packages/litellm-*.dist-info"))
    if not found:
        return None
    return found[-1].name.removeprefix("litellm-").removesuffix(".dist-info")


def ensure_litellm(install: bool, log_dir: Path) -> tuple[str | None, str]:
    """(version, reason it is not available)."""
    installed = litellm_version()
    if installed is not None and COMPROMISED_LITELLM.match(installed):
        return None, f"refused: litellm {installed} in {LITELLM_VENV} is a known compromised release; delete that venv"
    if installed is None and install:
        if re.search(r"1\.82\.[78]\b|1\.107\.", LITELLM_SPEC):
            return None, f"refused to install {LITELLM_SPEC!r}: a known compromised release"
        print(f"creating {LITELLM_VENV} and installing {LITELLM_SPEC!r} (once) ...", file=sys.stderr)
        log = log_dir / "litellm-install.log"
        constraints = log_dir / "litellm-constraints.txt"
        # Whatever the spec says, pip may never pick a compromised release.
        constraints.write_text("litellm!=1.82.7,!=1.82.8,!=1.107.*\n")
        with open(log, "ab") as handle:
            steps = [
                ["python3", "-m", "venv", str(LITELLM_VENV)],
                [str(LITELLM_VENV / "bin" / "pip"), "install", "--disable-pip-version-check", "-q",
                 "-c", str(constraints), LITELLM_SPEC],
            ]
            for step in steps:
                try:
                    done = subprocess.run(step, stdout=handle, stderr=subprocess.STDOUT, timeout=1800)
                except (OSError, subprocess.TimeoutExpired) as exc:
                    return None, f"install failed ({type(exc).__name__})"
                if done.returncode != 0:
                    tail = log_tail(log, 3).replace("\n", " ")
                    return None, f"could not install {LITELLM_SPEC} from the registry: {tail[-300:]}"
        installed = litellm_version()
    if installed is None:
        return None, "not installed (bench/.venv-litellm missing; run without --no-litellm-install)"
    if COMPROMISED_LITELLM.match(installed):
        return None, f"refused: litellm {installed} is a known compromised release"
    return installed, ""


def litellm_master_key() -> str:
    return "sk-bench-" + os.urandom(12).hex()


def start_litellm(procs: Processes, upstream_base: str, workdir: Path, version: str) -> Target:
    target = Target("litellm", version=version)
    key = litellm_master_key()
    config = workdir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        "      model: openai/mock-upstream\n"
        f"      api_base: {upstream_base}\n"
        "      api_key: sk-mock-upstream\n"
        "general_settings:\n"
        f"  master_key: {key}\n"
        "litellm_settings:\n"
        "  telemetry: false\n",
        encoding="utf-8",
    )
    port = free_port()
    env = clean_env(
        LITELLM_LOCAL_MODEL_COST_MAP="True",  # no network: use the bundled cost map
        LITELLM_LOG="ERROR",
        LITELLM_TELEMETRY="False",
    )
    target.proc = procs.start(
        "litellm",
        [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(config), "--host", HOST, "--port", str(port), "--num_workers", "1"],
        env=env,
        cwd=workdir,
    )
    target.log = procs.log_dir / "litellm.log"
    target.auth = key
    target.url = f"http://{HOST}:{port}/v1/chat/completions"
    wait_ready(f"http://{HOST}:{port}/health/liveliness", target.proc, 180)
    return target


def start_py_spy(procs: Processes, target: Target) -> None:
    binary = shutil.which("py-spy") or str(LITELLM_VENV / "bin" / "py-spy")
    if not Path(binary).exists():
        print("py-spy not found (pip install py-spy into bench/.venv-litellm); not profiling", file=sys.stderr)
        return
    output = procs.log_dir / "gennai.pyspy.txt"
    target.extra["py_spy"] = procs.start(
        "py-spy",
        [binary, "record", "--pid", str(target.pid), "--rate", "200", "--format", "raw", "--threads", "--nonblocking",
         "--output", str(output)],
    )
    target.extra["py_spy_output"] = output
    time.sleep(1.0)
    print(f"py-spy: recording gennai (pid {target.pid}) into {output.relative_to(ROOT)}", file=sys.stderr)


def stop_py_spy(target: Target) -> None:
    proc = target.extra.get("py_spy")
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGINT)  # py-spy writes its output on SIGINT
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        Processes.stop(proc, 2)


def validate(target: Target) -> None:
    """One plain and one streamed request through the target; raise if either is wrong."""
    headers = {"Authorization": f"Bearer {target.auth}"} if target.auth else {}
    body = {"model": MODEL, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 8}
    status, raw = http_post(target.url, body, headers)
    target.requests_sent += 1
    if status != 200 or b'"choices"' not in raw:
        raise RuntimeError(f"non-streaming check: HTTP {status}: {raw[:300]!r}")
    status, raw = http_post(target.url, {**body, "stream": True, "stream_options": {"include_usage": True}}, headers)
    target.requests_sent += 1
    if status != 200 or b"data: [DONE]" not in raw:
        raise RuntimeError(f"streaming check: HTTP {status}: {raw[:300]!r}")


# ----------------------------------------------------------------------------------------
# one measured run
# ----------------------------------------------------------------------------------------
class LineReader:
    def __init__(self, stream: Any) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self.thread.start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, prefix: str, timeout_s: float, on_line: Any = None) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"load generator: no {prefix!r} within {timeout_s:.0f} s")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"load generator exited before {prefix!r}")
            if line.startswith(prefix):
                return line
            if on_line is not None:
                on_line(line)


@dataclass(frozen=True)
class Scenario:
    concurrency: int
    stream: bool

    @property
    def label(self) -> str:
        return f"{'stream' if self.stream else 'plain'} c={self.concurrency}"


def run_load(
    target: Target,
    mock_pid: int,
    scenario: Scenario | None,
    *,
    duration: float,
    warmup: float,
    requests: int = 0,
    concurrency: int = 0,
    mixed: bool = False,
    progress_every: int = 0,
    on_progress: Any = None,
    procs_out: list[subprocess.Popen[str]] | None = None,
) -> dict[str, Any]:
    concurrency = scenario.concurrency if scenario else concurrency
    cmd = [
        str(PYTHON), str(BENCH / "loadgen.py"), "--url", target.url, "--concurrency", str(concurrency),
        "--duration", str(duration), "--warmup", str(warmup), "--sync", "--model", MODEL,
    ]
    if requests:
        cmd += ["--requests", str(requests)]
    if scenario is not None and scenario.stream:
        cmd.append("--stream")
    if mixed:
        cmd.append("--mixed")
    if progress_every:
        cmd += ["--progress-every", str(progress_every)]
    if target.auth:
        cmd += ["--auth", target.auth]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=clean_env(), start_new_session=True)
    if procs_out is not None:
        procs_out.append(proc)
    reader = LineReader(proc.stdout)
    assert proc.stdin is not None
    try:
        slow = 300.0
        reader.expect("WARM", warmup + slow)
        tree = process_tree(target.pid) if target.pid else []
        cpu0, mock0 = cpu_seconds(tree), cpu_seconds([mock_pid])
        loop0 = main_thread_cpu_seconds(target.pid) if target.pid else 0.0
        proc.stdin.write("go\n")
        proc.stdin.flush()
        limit = (requests / 100 + slow) if requests else duration + slow
        reader.expect("DONE", limit, on_progress)
        tree = process_tree(target.pid) if target.pid else []
        cpu1, mock1 = cpu_seconds(tree), cpu_seconds([mock_pid])
        loop1 = main_thread_cpu_seconds(target.pid) if target.pid else 0.0
        rss_after = rss_mb(tree) if tree else None
        proc.stdin.write("report\n")
        proc.stdin.flush()
        line = reader.expect("RESULT ", 120)
        proc.wait(30)
    except BaseException:
        Processes.stop(proc, 2)
        raise
    result = json.loads(line[len("RESULT ") :])
    done = max(result["completed"], 1)
    result["cpu_ms_per_req"] = round((cpu1 - cpu0) * 1000 / done, 4) if target.pid else None
    result["cpu_s"] = round(cpu1 - cpu0, 3)
    # The main thread is the event loop; the rest is other threads (and child processes).
    result["main_thread_cpu_ms_per_req"] = round((loop1 - loop0) * 1000 / done, 4) if target.pid else None
    result["mock_cpu_ms_per_req"] = round((mock1 - mock0) * 1000 / done, 4)
    result["rss_after_mb"] = round(rss_after, 1) if rss_after is not None else None
    target.requests_sent += result["completed"] + result["warmup_completed"]
    return result


# ----------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------
def median(values: list[Any]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 2, signed: bool = False) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100 and digits > 0:
        digits = 0
    text = f"{value:+,.{digits}f}" if signed else f"{value:,.{digits}f}"
    return text


def machine_info() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = "unknown"
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                timeout=10).stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "--", "src"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if dirty:
            commit += " (with uncommitted changes under src/)"
    except (OSError, subprocess.TimeoutExpired):
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "commit": commit,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "time": dt.datetime.now(dt.UTC).strftime("%H:%M UTC"),
    }


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "not measured"
    return "**met**" if ok else "**not met**"


def build_report(
    args: argparse.Namespace,
    info: dict[str, str],
    targets: dict[str, Target],
    scenarios: list[Scenario],
    results: dict[tuple[str, Scenario], list[dict[str, Any]]],
    load_before: str,
    load_after: str,
    command: str,
    records: str,
) -> str:
    names = [n for n in TARGET_ORDER if n in targets]
    agg: dict[tuple[str, Scenario], dict[str, Any]] = {}
    for name in names:
        for sc in scenarios:
            runs = results.get((name, sc), [])
            direct_runs = results.get(("direct", sc), [])
            row: dict[str, Any] = {"runs": len(runs)}
            for key in ("rps", "lat_p50_ms", "lat_p99_ms", "ttft_p50_ms", "cpu_ms_per_req", "main_thread_cpu_ms_per_req", "rss_after_mb",
                        "mock_cpu_ms_per_req", "loadgen_cpu_ms_per_req"):
                row[key] = median([r.get(key) for r in runs])
            row["errors"] = sum(r["errors"] + r.get("warmup_errors", 0) for r in runs)
            row["requests"] = sum(r["completed"] + r.get("warmup_completed", 0) for r in runs)
            kinds: dict[str, int] = {}
            for r in runs:
                for kind, count in r.get("error_kinds", {}).items():
                    kinds[kind] = kinds.get(kind, 0) + count
            row["error_kinds"] = kinds
            if name != "direct" and sc.concurrency == 1:
                pairs = list(zip(runs, direct_runs, strict=False))

                def diff(key: str) -> float | None:
                    return median([
                        (a[key] - b[key]) if a.get(key) is not None and b.get(key) is not None else None for a, b in pairs
                    ])

                row["add_p50"], row["add_p99"], row["add_ttft"] = diff("lat_p50_ms"), diff("lat_p99_ms"), diff("ttft_p50_ms")
            agg[(name, sc)] = row

    out: list[str] = []
    kind = "quick smoke run (1 round, short runs: indicative only)" if args.quick else f"{args.rounds} rounds"
    out.append(f"## {info['date']} — gateway overhead, {kind}\n")
    out.append(f"- command: `{command}`")
    out.append(f"- machine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}, Python {info['python']}; "
               f"load average before/after: {load_before} / {load_after} (the machine is shared)")
    out.append(f"- git commit: {info['commit']}; started {info['date']} {info['time']}")
    versions = ", ".join(
        f"{n} {targets[n].version}" for n in names if targets[n].version
    )
    pacing = (f"{args.chunk_delay_ms:g} ms apart" if args.chunk_delay_ms else "sent back to back by the mock")
    out.append(f"- versions: {versions or '—'}; {args.rounds} round(s) of {args.duration:g} s runs after {args.warmup:g} s "
               f"warm-up each; streams carry {args.chunks} content chunks ({pacing}) + a usage chunk")
    if args.py_spy:
        out.append("- **profiled run** (py-spy sampling gennai): the sampler takes CPU, so these figures are not for the record")
    for n in names:
        if not targets[n].available:
            out.append(f"- **{n}: not available** — {targets[n].reason}")
    if records:
        out.append(f"- {records}")
    out.append("")
    out.append("| target | scenario | req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | TTFT p50 ms | "
               "added TTFT ms | CPU ms/req | RSS idle MB | RSS after MB | errors / requests |")
    out.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for sc in scenarios:
        for name in names:
            target = targets[name]
            row = agg[(name, sc)]
            if not target.available:
                out.append(f"| {name} | {sc.label} | not available | | | | | | | | | | |")
                continue
            errors = f"{row['errors']:,} / {row['requests']:,}"
            if row["error_kinds"]:
                errors += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(row["error_kinds"].items())) + ")"
            out.append(
                f"| {name} | {sc.label} | {fmt(row['rps'], 0)} | {fmt(row['lat_p50_ms'])} | {fmt(row['lat_p99_ms'])} | "
                f"{fmt(row.get('add_p50'), signed=True)} | {fmt(row.get('add_p99'), signed=True)} | "
                f"{fmt(row['ttft_p50_ms']) if sc.stream else '—'} | {fmt(row.get('add_ttft'), signed=True) if sc.stream else '—'} | "
                f"{fmt(row['cpu_ms_per_req'], 3)} | {fmt(target.idle_rss_mb, 1)} | {fmt(row['rss_after_mb'], 1)} | {errors} |"
            )
    out.append("")
    out.append("`direct` is the load generator talking to the mock upstream itself; added latency is the median over "
               "rounds of (target − direct) in the same round. CPU ms/req is the server's process tree "
               "(utime+stime) over the measured requests. Harness headroom (medians over all runs): mock upstream "
               f"{fmt(median([agg[(n, sc)]['mock_cpu_ms_per_req'] for n in names for sc in scenarios if not sc.stream]), 3)} ms CPU/request, "
               f"{fmt(median([agg[(n, sc)]['mock_cpu_ms_per_req'] for n in names for sc in scenarios if sc.stream]), 3)} ms/stream; "
               f"load generator {fmt(median([agg[(n, sc)]['loadgen_cpu_ms_per_req'] for n in names for sc in scenarios if not sc.stream]), 3)} ms/request, "
               f"{fmt(median([agg[(n, sc)]['loadgen_cpu_ms_per_req'] for n in names for sc in scenarios if sc.stream]), 3)} ms/stream.")
    split = [
        f"{sc.label}: {fmt(agg[(n, sc)]['main_thread_cpu_ms_per_req'], 3)} of {fmt(agg[(n, sc)]['cpu_ms_per_req'], 3)}"
        for n in names if n == "gennai" and targets[n].available for sc in scenarios
    ]
    if split:
        out.append("")
        out.append("gennai CPU ms/request spent on its main thread (the event loop; the rest is other threads: the usage "
                   "record writer, key lookups): " + "; ".join(split) + ".")
    out.append("")
    out.extend(targets_table(agg, targets, scenarios))
    out.append("")
    return "\n".join(out)


def targets_table(agg: dict[tuple[str, Scenario], dict[str, Any]], targets: dict[str, Target], scenarios: list[Scenario]) -> list[str]:
    def get(name: str, sc: Scenario, key: str) -> float | None:
        if name not in targets or not targets[name].available or (name, sc) not in agg:
            return None
        return agg[(name, sc)].get(key)

    loaded = [sc for sc in scenarios if sc.concurrency > 1]
    rows: list[tuple[str, str, bool | None]] = []
    for stream in (False, True):
        mode = "streaming" if stream else "non-streaming"
        scs = [sc for sc in loaded if sc.stream == stream]
        # gennai vs LiteLLM: throughput and CPU per request, at every loaded concurrency.
        parts, oks = [], []
        for sc in scs:
            g, l = get("gennai", sc, "rps"), get("litellm", sc, "rps")
            if g is not None and l:
                parts.append(f"c={sc.concurrency}: {fmt(g, 0)} vs {fmt(l, 0)} req/s = {g / l:.1f}×")
                oks.append(g >= 10 * l)
        rows.append((f"throughput ≥ 10× LiteLLM ({mode})", "; ".join(parts) or "not measured (needs loaded runs, c > 1, of gennai and LiteLLM)",
                     all(oks) if oks else None))
        parts, oks = [], []
        for sc in scs:
            g, l = get("gennai", sc, "cpu_ms_per_req"), get("litellm", sc, "cpu_ms_per_req")
            if g is not None and l:
                parts.append(f"c={sc.concurrency}: {fmt(g, 3)} vs {fmt(l, 3)} ms = 1/{l / g:.1f}" if g else f"c={sc.concurrency}: 0")
                oks.append(g * 10 <= l)
        rows.append((f"CPU/request ≤ 1/10 of LiteLLM ({mode})", "; ".join(parts) or "not measured (needs loaded runs, c > 1, of gennai and LiteLLM)",
                     all(oks) if oks else None))
        parts, oks = [], []
        for sc in scs:
            g, p = get("gennai", sc, "cpu_ms_per_req"), get("passthrough", sc, "cpu_ms_per_req")
            if g is not None and p:
                parts.append(f"c={sc.concurrency}: {fmt(g, 3)} vs {fmt(p, 3)} ms = {g / p:.2f}×")
                oks.append(g <= 2 * p)
        rows.append((f"CPU/request ≤ 2× the pass-through floor ({mode})", "; ".join(parts) or "not measured (needs loaded runs, c > 1, of gennai and the pass-through)",
                     all(oks) if oks else None))
    one_plain = next((sc for sc in scenarios if sc.concurrency == 1 and not sc.stream), None)
    one_stream = next((sc for sc in scenarios if sc.concurrency == 1 and sc.stream), None)
    if one_plain:
        a50, a99 = get("gennai", one_plain, "add_p50"), get("gennai", one_plain, "add_p99")
        p50 = get("passthrough", one_plain, "add_p50")
        rows.append(("added latency at concurrency 1 ≤ 1 ms p50 (non-streaming)",
                     f"{fmt(a50, 2, True)} ms (pass-through {fmt(p50, 2, True)} ms)", None if a50 is None else a50 <= 1.0))
        rows.append(("added latency at concurrency 1 ≤ 3 ms p99 (non-streaming)", f"{fmt(a99, 2, True)} ms",
                     None if a99 is None else a99 <= 3.0))
    if one_stream:
        t = get("gennai", one_stream, "add_ttft")
        rows.append(("streaming TTFT added ≤ 2 ms p50 (concurrency 1)",
                     f"{fmt(t, 2, True)} ms (pass-through {fmt(get('passthrough', one_stream, 'add_ttft'), 2, True)} ms)",
                     None if t is None else t <= 2.0))
    idle = targets["gennai"].idle_rss_mb if "gennai" in targets and targets["gennai"].available else None
    rows.append(("idle RSS without the embedded model ≤ 150 MB", f"{fmt(idle, 1)} MB", None if idle is None else idle <= 150))
    rows.append(("no RSS growth over a 100,000-request soak", "run `bench/gateway.py --soak` (separate mode)", None))
    lines = ["Targets from the issue (gennai with one worker, auth and usage records on):", "",
             "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {name} | {measured} | {verdict(ok)} |" for name, measured, ok in rows]
    return lines


def append_doc(text: str) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    if not DOC.exists():
        DOC.write_text("# Benchmarks\n\n" + REFERENCE + "\n\n", encoding="utf-8")
    with DOC.open("a", encoding="utf-8") as handle:
        handle.write("\n" + text + "\n")


def count_usage_records(target: Target) -> str:
    db = target.extra.get("db")
    if not db or not Path(db).exists():
        return ""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
            total, ok = conn.execute("SELECT COUNT(*), SUM(status = 'ok') FROM usage_records").fetchone()
    except sqlite3.Error as exc:
        return f"usage records: could not read ({exc})"
    return (f"gennai usage records written: {total:,} ({ok or 0:,} ok) for {target.requests_sent:,} requests sent to it "
            "(counted in its SQLite database after a graceful stop)")


# ----------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke test: 1 round, 2 s runs, 0.5 s warm-up")
    parser.add_argument("--rounds", type=int, default=None, help="A/B rounds (default 3; 1 with --quick)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per measured run (default 10; 2 with --quick)")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds per run (default 2; 0.5 with --quick)")
    parser.add_argument("--concurrency", default="1,50,200", help="comma-separated levels")
    parser.add_argument("--modes", default="plain,stream", help="plain, stream or both")
    parser.add_argument("--targets", default=",".join(TARGET_ORDER), help="subset of " + ",".join(TARGET_ORDER))
    parser.add_argument("--chunks", type=int, default=20, help="content chunks per streamed answer")
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0,
                        help="mock upstream pause before each streamed chunk (0: all at once, the default)")
    parser.add_argument("--py-spy", action="store_true",
                        help="profile gennai with py-spy over the whole run (raw stacks in the results folder; "
                             "the sampler costs CPU, so such a run is not for the record)")
    parser.add_argument("--no-append", action="store_true", help=f"print only; do not append to {DOC.relative_to(ROOT)}")
    parser.add_argument("--no-litellm-install", action="store_true", help="do not create bench/.venv-litellm if missing")
    parser.add_argument("--soak", type=int, nargs="?", const=100_000, default=None, metavar="N",
                        help="soak mode: N requests (default 100,000) against gennai, RSS every --soak-every")
    parser.add_argument("--soak-every", type=int, default=10_000)
    parser.add_argument("--soak-concurrency", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep gennai's temporary folder")
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.duration = args.duration or (2.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 2.0)
    if not 1 <= args.rounds <= 20 or not 0 < args.duration <= 600 or not 0 <= args.warmup <= 60:
        parser.error("1 <= rounds <= 20, 0 < duration <= 600, 0 <= warmup <= 60")
    if args.soak is not None and not 1 <= args.soak <= 5_000_000:
        parser.error("--soak N: 1 <= N <= 5,000,000")
    return args


def command_line(script: str = "bench/gateway.py") -> str:
    try:
        python = os.path.relpath(PYTHON, ROOT)
    except ValueError:
        python = str(PYTHON)
    return " ".join([python, script, *sys.argv[1:]])


def _raise_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    args = parse_args()
    # Explicitly (SIGINT may be inherited as ignored, e.g. from a background job of a script).
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupt)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = BENCH / "results" / stamp
    run_dir.mkdir(parents=True, exist_ok=True)
    procs = Processes(run_dir)
    workdir = Path(tempfile.mkdtemp(prefix="gennai-bench-"))
    loadgens: list[subprocess.Popen[str]] = []
    print(f"logs and raw results: {run_dir.relative_to(ROOT)}", file=sys.stderr)
    try:
        if args.soak is not None:
            return soak(args, procs, workdir, run_dir, loadgens)
        return benchmark(args, procs, workdir, run_dir, loadgens)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping every process this run started", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for proc in loadgens:
            Processes.stop(proc, 2)
        procs.stop_all()
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def start_targets(args: argparse.Namespace, procs: Processes, workdir: Path, run_dir: Path, wanted: list[str]) -> tuple[int, dict[str, Target]]:
    mock, base = start_mock(procs, args.chunks, args.chunk_delay_ms)
    targets: dict[str, Target] = {}
    for name in wanted:
        try:
            if name == "direct":
                target = Target("direct", url=f"{base}/chat/completions", auth="sk-direct-unused", version="")
            elif name == "passthrough":
                target = start_passthrough(procs, base)
            elif name == "gennai":
                target = start_gennai(procs, base, workdir)
            elif name == "litellm":
                version, reason = ensure_litellm(not args.no_litellm_install, run_dir)
                if version is None:
                    targets[name] = Target(name, available=False, reason=reason)
                    print(f"litellm: not available — {reason}", file=sys.stderr)
                    continue
                target = start_litellm(procs, base, workdir, version)
            else:
                raise ValueError(name)
            if target.pid:
                time.sleep(1.0)
                target.idle_rss_mb = round(rss_mb(process_tree(target.pid)), 1)
            validate(target)
            targets[name] = target
            if name == "gennai" and args.py_spy:
                start_py_spy(procs, target)
            print(f"{name}: ready at {target.url}" + (f" (idle RSS {target.idle_rss_mb} MB)" if target.idle_rss_mb else ""),
                  file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - reported in the table; gennai's failure is fatal below
            log = procs.log_dir / f"{name}.log"
            reason = f"{type(exc).__name__}: {exc}"
            print(f"{name}: not available — {reason}\n{log_tail(log)}", file=sys.stderr)
            if name in ("direct", "gennai"):
                raise
            targets[name] = Target(name, available=False, reason=reason[:300])
    return mock.pid, targets


def benchmark(args: argparse.Namespace, procs: Processes, workdir: Path, run_dir: Path, loadgens: list[subprocess.Popen[str]]) -> int:
    wanted = [t for t in TARGET_ORDER if t in args.targets.split(",")]
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    scenarios = [Scenario(c, mode == "stream") for mode in ("plain", "stream") if mode in modes for c in levels]
    info = machine_info()
    load_before = loadavg()
    mock_pid, targets = start_targets(args, procs, workdir, run_dir, wanted)
    active = [n for n in wanted if targets[n].available]
    results: dict[tuple[str, Scenario], list[dict[str, Any]]] = {}
    raw: list[dict[str, Any]] = []
    total = args.rounds * len(scenarios) * len(active)
    done = 0
    for round_number in range(1, args.rounds + 1):
        for sc in scenarios:
            for name in active:
                target = targets[name]
                done += 1
                result = run_load(target, mock_pid, sc, duration=args.duration, warmup=args.warmup, procs_out=loadgens)
                results.setdefault((name, sc), []).append(result)
                raw.append({"round": round_number, "target": name, "concurrency": sc.concurrency, "stream": sc.stream, **result})
                print(
                    f"[{done:>3}/{total}] round {round_number} {sc.label:<13} {name:<11} {result['rps']:>9,.0f} req/s  "
                    f"p50 {fmt(result['lat_p50_ms'])} ms  p99 {fmt(result['lat_p99_ms'])} ms  "
                    f"ttft {fmt(result['ttft_p50_ms'])} ms  cpu {fmt(result['cpu_ms_per_req'], 3)} ms/req "
                    f"(main thread {fmt(result['main_thread_cpu_ms_per_req'], 3)})  "
                    f"errors {result['errors']}",
                    file=sys.stderr,
                )
                (run_dir / "results.json").write_text(json.dumps(raw, indent=1))
    load_after = loadavg()
    records = ""
    if "gennai" in targets and targets["gennai"].available and targets["gennai"].proc is not None:
        stop_py_spy(targets["gennai"])
        Processes.stop(targets["gennai"].proc, 20)  # graceful: flushes pending usage records
        records = count_usage_records(targets["gennai"])
    report = build_report(args, info, targets, scenarios, results, load_before, load_after, command_line(), records)
    print(report)
    (run_dir / "report.md").write_text(report)
    if not args.no_append:
        append_doc(report)
        print(f"appended to {DOC.relative_to(ROOT)}", file=sys.stderr)
    gennai_errors = sum(r["errors"] + r.get("warmup_errors", 0) for r in raw if r["target"] == "gennai")
    return 1 if gennai_errors else 0


def soak(args: argparse.Namespace, procs: Processes, workdir: Path, run_dir: Path, loadgens: list[subprocess.Popen[str]]) -> int:
    info = machine_info()
    load_before = loadavg()
    mock_pid, targets = start_targets(args, procs, workdir, run_dir, ["gennai"])
    gennai = targets["gennai"]
    assert gennai.pid is not None
    samples: list[tuple[str, float]] = [("idle after start", gennai.idle_rss_mb or 0.0)]

    def on_progress(line: str) -> None:
        if line.startswith("PROGRESS "):
            count = int(line.split()[1])
            rss = rss_mb(process_tree(gennai.pid))  # type: ignore[arg-type]
            samples.append((f"{count:,}", round(rss, 1)))
            print(f"soak: {count:>9,} requests  RSS {rss:.1f} MB", file=sys.stderr)

    started = time.monotonic()
    result = run_load(gennai, mock_pid, None, duration=args.duration, warmup=1.0, requests=args.soak,
                      concurrency=args.soak_concurrency, mixed=True, progress_every=args.soak_every,
                      on_progress=on_progress, procs_out=loadgens)
    elapsed = time.monotonic() - started
    load_after = loadavg()
    stop_py_spy(gennai)
    Processes.stop(gennai.proc, 20)  # type: ignore[arg-type]
    records = count_usage_records(gennai)
    checkpoints = [rss for label, rss in samples[1:]]
    growth = (checkpoints[-1] - checkpoints[0]) if len(checkpoints) >= 2 else None
    ok = None if growth is None else growth <= SOAK_TOLERANCE_MB
    out = [f"## {info['date']} — gennai RSS soak, {args.soak:,} requests at concurrency {args.soak_concurrency}\n",
           f"- command: `{command_line()}`",
           f"- machine: {info['nproc']} CPUs, {info['cpu']}; load average before/after: {load_before} / {load_after}",
           f"- git commit: {info['commit']}; gennai {gennai.version}, one worker, auth and usage records on, SQLite",
           "- every other request streams (20 chunks + usage); RSS of the gennai process sampled every "
           f"{args.soak_every:,} completed requests",
           f"- {result['completed']:,} requests in {elapsed:.0f} s ({result['rps']:,.0f} req/s), "
           f"{result['errors']:,} errors{' ' + str(result['error_kinds']) if result['errors'] else ''}, "
           f"CPU {fmt(result['cpu_ms_per_req'], 3)} ms/request, p50 {fmt(result['lat_p50_ms'])} ms, p99 {fmt(result['lat_p99_ms'])} ms",
           f"- {records}" if records else "", "",
           "| after | RSS MB |", "|---|--:|"]
    out += [f"| {label} | {rss:.1f} |" for label, rss in samples]
    out += ["", f"Target: no RSS growth over the soak (from the first checkpoint to the last, tolerance "
            f"{SOAK_TOLERANCE_MB:g} MB): growth {fmt(growth, 1, True)} MB — {verdict(ok)}"
            + ("" if args.soak >= 100_000 else f" (only {args.soak:,} requests: shorter than the issue's 100,000)"), ""]
    report = "\n".join(line for line in out if line is not None)
    print(report)
    (run_dir / "soak.md").write_text(report)
    (run_dir / "soak.json").write_text(json.dumps({"samples": samples, "result": result}, indent=1))
    if not args.no_append:
        append_doc(report)
        print(f"appended to {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
