"""The chat page in a real browser: first-load size and first-token latency (issue 5).

    .venv/bin/python bench/browser.py                 # 30 measured rounds (~1 min), appends to docs/benchmarks.md
    .venv/bin/python bench/browser.py --rounds 60     # more rounds
    .venv/bin/python bench/browser.py --no-append     # print only

Issue 5: "the chat page's first load transfers <= 200 KB (compressed) and the first streamed
token appears in the page within 50 ms of the gateway sending it".

Everything runs on 127.0.0.1, each part in its own process:
  mock upstream   this file with --mock-upstream: an OpenAI-compatible model that answers a
                  stream with the headers and an empty role chunk at once, holds the first
                  content token back (--hold-ms), then writes it and records time.time() just
                  before the write; GET /sent/<tag> tells the benchmark that instant
  gennai          `gennai serve` from a temporary `gennai init --dir` folder, one model (the
                  mock), [auth] secure_cookies = false (plain http), one local user, SQLite
  browser         Debian's Chromium (/usr/bin/chromium, headless) through Playwright

1. First load. A fresh browser context signs in (POST /auth/login, so no page is loaded and
   the cache stays empty), the HTTP cache is cleared (CDP Network.clearBrowserCache), and
   /chat is loaded until the network is idle. Every request of that page load is counted from
   the DevTools protocol: bytes on the wire = Network.loadingFinished.encodedDataLength
   (response headers + the body as sent, i.e. compressed where the server compressed it);
   the body alone = that minus the raw header text (Network.responseReceivedExtraInfo);
   decoded = the sum of Network.dataReceived.dataLength. Accept-Encoding is the browser's own
   (recorded from Network.requestWillBeSentExtraInfo). Then the same page again (a normal
   navigation, warm cache) and a reload, and the whole sign-in journey from a cold cache
   (GET /chat -> /login -> form post -> /chat).

2. First token, A/B/C alternating in one run (the order rotates every round):
  A page      the chat page (a fresh /chat load each round, the mock model and 機密性1 set in
              the selectors, the question put in the box, 送信 clicked). A MutationObserver,
              installed before sending, stamps performance.timeOrigin + performance.now()
              when the answer element first contains the first token (DOM), and once more in
              the next task (after the frame that inserted it has been laid out and painted
              on the main thread). A wrapped TextDecoder.prototype.decode stamps when the
              page's script first decoded the bytes that carry the token (JS receipt).
  B direct    httpx reading the same gateway's OpenAI API, POST /v1/chat/completions with
              stream=true (API key, X-Gennai-Classification: 1): the time of the read that
              completed the first content chunk.
  C page API  httpx reading the page's own endpoint, POST /chat/send (session cookie and
              X-CSRF-Token, the JSON chat.js sends): the time of the read that completed the
              first "delta" event. C - B is the server side of the page's path, A - C the
              browser's.
  Each latency is that time minus the mock's recorded send time: it includes gennai's
  forwarding (conservative for "within 50 ms of the gateway sending it"). All clocks are the
  machine's wall clock (time.time() in Python, performance.timeOrigin + now() in Chromium);
  the report shows a bracketed check of the browser's clock against Python's.

Raw results and server logs go to bench/results/browser-<UTC stamp>/ (git-ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gateway import (  # bench/ is not a package: its folder is on sys.path above
    DOC,
    GENNAI_BIN,
    HOST,
    PYTHON,
    ROOT,
    Processes,
    clean_env,
    free_port,
    loadavg,
    log_tail,
    machine_info,
    wait_ready,
)

if TYPE_CHECKING:
    import httpx
    from playwright.sync_api import Browser, BrowserContext, CDPSession, Page

BENCH = ROOT / "bench"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
MODEL_ID = "bench-mock"
USERNAME = "bench-user"
PASSWORD = "kumo-no-ue-no-sora-bench-2026"
LOAD_TARGET_BYTES = 200_000  # "200 KB", read as 200,000 bytes (the stricter reading)
TOKEN_TARGET_MS = 50.0
LEGS = ("A", "B", "C")
LEG_NAMES = {
    "A": "A page (chat page in Chromium)",
    "B": "B direct (httpx, /v1/chat/completions)",
    "C": "C page API (httpx, /chat/send)",
}
ORDERS = ("ABC", "BCA", "CAB", "ACB", "CBA", "BAC")  # every order, so no leg always goes first

GENNAI_MODEL = """\
[[models]]
id = "{model}"
display_name = "ベンチマーク用モックモデル"
provider = "openai"
base_url = "{base}"
upstream_model = "mock-first-token"
origin = "domestic"
hosting = "government-cloud"
region = "local"
clearance = 2
capabilities = ["chat"]
timeout_s = 30.0
max_concurrency = 16
max_queue = 64
"""


# ----------------------------------------------------------------------------------------
# the mock upstream (runs in its own process: `browser.py --mock-upstream --port N`)
# ----------------------------------------------------------------------------------------
_TAG = re.compile(r"bench-([A-Za-z0-9-]+?)-q\b")


def _sse_chunk(payload: dict[str, Any]) -> bytes:
    data = b"data: " + json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def _completion_chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-benchbrowser", "object": "chat.completion.chunk", "created": 1_700_000_000,
        "model": "mock-first-token", "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def first_token(tag: str) -> str:
    """The first content token of the answer to round `tag` (never in the question)."""
    return f"Answer-{tag}"


def _response(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = bytearray()
        while True:
            size = int((await reader.readline()).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(body)
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    length = int(headers.get("content-length", "0") or 0)
    return await reader.readexactly(length) if length else b""


class MockUpstream:
    def __init__(self, hold_s: float, tokens: int, gap_s: float) -> None:
        self.hold_s = hold_s
        self.tokens = tokens
        self.gap_s = gap_s
        self.sent: dict[str, dict[str, float]] = {}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target = lines[0].split(" ")[:2]
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                body = await _read_body(reader, headers)
                path = target.split("?", 1)[0]
                if method == "POST" and path.endswith("/chat/completions"):
                    await self.chat(writer, json.loads(body or b"{}"))
                elif method == "GET" and path.endswith("/models"):
                    writer.write(_response("200 OK", json.dumps(
                        {"object": "list", "data": [{"id": "mock-first-token", "object": "model", "owned_by": "bench"}]}).encode()))
                elif method == "GET" and path.startswith("/sent/"):
                    stamp = self.sent.get(path.removeprefix("/sent/"))
                    writer.write(_response("200 OK", json.dumps(stamp).encode()) if stamp else _response("404 Not Found", b"{}"))
                elif method == "GET" and path == "/healthz":
                    writer.write(_response("200 OK", b'{"status":"ok"}'))
                else:
                    writer.write(_response("404 Not Found", b'{"error":{"message":"not found"}}'))
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        finally:
            writer.close()

    async def chat(self, writer: asyncio.StreamWriter, request: dict[str, Any]) -> None:
        text = json.dumps(request.get("messages") or [], ensure_ascii=False)
        found = _TAG.findall(text)
        tag = found[-1] if found else None
        if not request.get("stream"):
            answer = first_token(tag) if tag else "OK"
            body = {
                "id": "chatcmpl-benchbrowser", "object": "chat.completion", "created": 1_700_000_000,
                "model": "mock-first-token",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11},
            }
            writer.write(_response("200 OK", json.dumps(body).encode()))
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + _sse_chunk(_completion_chunk({"role": "assistant", "content": ""}))
        )
        await writer.drain()
        if tag is not None:
            await asyncio.sleep(self.hold_s)  # the model "thinks": the page is waiting, idle
        payload = _sse_chunk(_completion_chunk({"content": first_token(tag) if tag else "OK"}))
        before = time.time()
        writer.write(payload)  # one send() on a TCP_NODELAY socket: this is the instant measured from
        after = time.time()
        if tag is not None:
            self.sent[tag] = {"before": before, "after": after}
        await writer.drain()
        for index in range(self.tokens):
            await asyncio.sleep(self.gap_s)
            writer.write(_sse_chunk(_completion_chunk({"content": f" tok{index}"})))
        writer.write(_sse_chunk(_completion_chunk({}, "stop")))
        options = request.get("stream_options") or {}
        if isinstance(options, dict) and options.get("include_usage"):
            writer.write(_sse_chunk({
                "id": "chatcmpl-benchbrowser", "object": "chat.completion.chunk", "created": 1_700_000_000,
                "model": "mock-first-token", "choices": [],
                "usage": {"prompt_tokens": 10, "completion_tokens": self.tokens + 1, "total_tokens": self.tokens + 11},
            }))
        writer.write(b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n")
        await writer.drain()


async def serve_mock(port: int, hold_ms: float, tokens: int, gap_ms: float) -> None:
    mock = MockUpstream(hold_ms / 1000.0, tokens, gap_ms / 1000.0)
    server = await asyncio.start_server(mock.handle, HOST, port, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"mock upstream on http://{HOST}:{port}/v1 (pid {os.getpid()})", file=sys.stderr, flush=True)
    async with server:
        await stop.wait()


def run_mock(args: argparse.Namespace) -> int:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - gennai depends on it
        asyncio.run(serve_mock(args.port, args.hold_ms, args.tokens, args.gap_ms))
    else:
        uvloop.run(serve_mock(args.port, args.hold_ms, args.tokens, args.gap_ms))
    return 0


# ----------------------------------------------------------------------------------------
# servers
# ----------------------------------------------------------------------------------------
@dataclass
class Gennai:
    url: str
    api_key: str
    proc: subprocess.Popen[bytes]
    log: Path
    version: str


def start_mock(procs: Processes, args: argparse.Namespace) -> str:
    port = free_port()
    proc = procs.start(
        "mock_upstream",
        [str(PYTHON), str(Path(__file__).resolve()), "--mock-upstream", "--port", str(port), "--hold-ms", str(args.hold_ms),
         "--tokens", str(args.tokens), "--gap-ms", str(args.gap_ms)],
        env=clean_env(),
    )
    wait_ready(f"http://{HOST}:{port}/healthz", proc, 20)
    return f"http://{HOST}:{port}"


def start_gennai(procs: Processes, upstream: str, workdir: Path) -> Gennai:
    env = clean_env(GENNAI_LOG_LEVEL="warning")
    subprocess.run([str(GENNAI_BIN), "init", "--dir", str(workdir)], check=True, env=env, capture_output=True, timeout=120)
    config = workdir / "gennai.toml"
    text = config.read_text(encoding="utf-8")
    index = text.find("\n[[models]]")
    if index < 0:
        raise RuntimeError("gennai.toml from `gennai init` has no [[models]] table to replace")
    text = text[: index + 1] + GENNAI_MODEL.format(model=MODEL_ID, base=upstream + "/v1")
    # Plain http on loopback: the session cookie may not be Secure.
    text, count = re.subn(r"(?m)^secure_cookies\s*=\s*true\s*$", "secure_cookies = false", text)
    if count != 1:
        raise RuntimeError("gennai.toml from `gennai init` has no `secure_cookies = true` line under [auth]")
    config.write_text(text, encoding="utf-8")
    created = subprocess.run(
        [str(GENNAI_BIN), "keys", "create", "--name", "bench", "--config", str(config)],
        check=True, env=env, capture_output=True, text=True, timeout=120,
    )
    key = [line for line in created.stdout.splitlines() if line.strip()][-1].strip()
    if not key.startswith("gnk_"):
        raise RuntimeError(f"`gennai keys create` printed no key: {created.stdout!r}")
    user = subprocess.run(
        [str(GENNAI_BIN), "users", "create", USERNAME, "--password-stdin", "--display-name", "ベンチ 太郎", "--config", str(config)],
        check=False, env=env, capture_output=True, text=True, timeout=120, input=PASSWORD + "\n",
    )
    if user.returncode != 0:
        raise RuntimeError(f"`gennai users create` failed: {user.stderr.strip()}")
    port = free_port()
    proc = procs.start("gennai", [str(GENNAI_BIN), "serve", "--config", str(config), "--host", HOST, "--port", str(port)],
                       env=env, cwd=workdir)
    url = f"http://{HOST}:{port}"
    wait_ready(f"{url}/readyz", proc, 90)
    from importlib.metadata import version

    return Gennai(url, key, proc, procs.log_dir / "gennai.log", version("gennai"))


def mock_sent(upstream: str, tag: str, client: httpx.Client) -> float:
    """The mock's time.time() just before it wrote round `tag`'s first token."""
    for _ in range(50):
        response = client.get(f"{upstream}/sent/{tag}")
        if response.status_code == 200:
            return float(response.json()["before"])
        time.sleep(0.02)
    raise RuntimeError(f"the mock upstream never sent the first token of {tag}")


# ----------------------------------------------------------------------------------------
# 1. first load: bytes over the wire, from the DevTools protocol
# ----------------------------------------------------------------------------------------
@dataclass
class Resource:
    request_id: str
    url: str
    kind: str = ""
    method: str = "GET"
    status: int | None = None
    mime: str = ""
    encoding: str = ""
    accept_encoding: str = ""
    header_bytes: int | None = None
    wire_bytes: int | None = None  # loadingFinished.encodedDataLength: headers + body as sent
    decoded_bytes: int = 0
    from_cache: bool = False
    failed: str = ""

    @property
    def body_bytes(self) -> int | None:
        if self.wire_bytes is None:
            return None
        return self.wire_bytes - (self.header_bytes or 0)

    @property
    def path(self) -> str:
        path = re.sub(r"^https?://[^/]+", "", self.url)
        return re.sub(r"\?v=[0-9a-f]+$", "", path)


class NetworkLog:
    """Network.* events of one page, per request id."""

    def __init__(self, cdp: CDPSession) -> None:
        self.resources: dict[str, Resource] = {}
        self.order: list[str] = []
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestWillBeSentExtraInfo", self._sent_extra)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.responseReceivedExtraInfo", self._response_extra)
        cdp.on("Network.dataReceived", self._data)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", self._failed)
        cdp.on("Network.requestServedFromCache", self._cached)

    def reset(self) -> None:
        self.resources.clear()
        self.order.clear()

    def _get(self, request_id: str, url: str = "") -> Resource:
        resource = self.resources.get(request_id)
        if resource is None:
            resource = self.resources[request_id] = Resource(request_id, url)
            self.order.append(request_id)
        return resource

    def _sent(self, event: dict[str, Any]) -> None:
        request_id = event["requestId"]
        if request_id in self.resources and event.get("redirectResponse"):
            # A redirect reuses the request id: keep the redirect as its own row.
            old = self.resources.pop(request_id)
            self.order.remove(request_id)
            old.request_id = f"{request_id}/{old.status}"
            redirect = event["redirectResponse"]
            old.status = redirect.get("status")
            old.wire_bytes = int(redirect.get("encodedDataLength") or 0)
            self.resources[old.request_id] = old
            self.order.append(old.request_id)
        resource = self._get(request_id, event["request"]["url"])
        resource.url = event["request"]["url"]
        resource.method = event["request"].get("method", "GET")
        resource.kind = event.get("type", "")

    def _sent_extra(self, event: dict[str, Any]) -> None:
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        self._get(event["requestId"]).accept_encoding = headers.get("accept-encoding", "")

    def _response(self, event: dict[str, Any]) -> None:
        resource = self._get(event["requestId"], event["response"]["url"])
        response = event["response"]
        resource.status = response.get("status")
        resource.mime = response.get("mimeType", "")
        resource.kind = event.get("type", resource.kind)
        headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        resource.encoding = headers.get("content-encoding", "")
        if response.get("fromDiskCache") or response.get("fromPrefetchCache") or response.get("fromServiceWorker"):
            resource.from_cache = True
        if resource.header_bytes is None and response.get("encodedDataLength") is not None:
            resource.header_bytes = int(response["encodedDataLength"])

    def _response_extra(self, event: dict[str, Any]) -> None:
        text = event.get("headersText")
        if text:
            self._get(event["requestId"]).header_bytes = len(text.encode("latin-1", "replace"))

    def _data(self, event: dict[str, Any]) -> None:
        self._get(event["requestId"]).decoded_bytes += int(event.get("dataLength") or 0)

    def _finished(self, event: dict[str, Any]) -> None:
        self._get(event["requestId"]).wire_bytes = int(event.get("encodedDataLength") or 0)

    def _failed(self, event: dict[str, Any]) -> None:
        self._get(event["requestId"]).failed = event.get("errorText", "failed")

    def _cached(self, event: dict[str, Any]) -> None:
        self._get(event["requestId"]).from_cache = True

    def snapshot(self) -> list[Resource]:
        return [self.resources[i] for i in self.order if i in self.resources]


def summarise(all_resources: list[Resource]) -> dict[str, Any]:
    # data: URLs (the CSS inlines an SVG arrow for <select>) are part of the file that holds them.
    resources = [r for r in all_resources if not r.url.startswith("data:")]
    over_wire = [r for r in resources if not r.from_cache and r.wire_bytes is not None]
    return {
        "requests": len(resources),
        "data_urls": len(all_resources) - len(resources),
        "from_cache": sum(1 for r in resources if r.from_cache),
        "wire_bytes": sum(r.wire_bytes or 0 for r in over_wire),
        "body_bytes": sum(r.body_bytes or 0 for r in over_wire),
        "decoded_bytes": sum(r.decoded_bytes for r in resources if not r.from_cache),
        "uncompressed_text": [r.path for r in over_wire if not r.encoding and (r.body_bytes or 0) > 1024
                              and re.search(r"html|css|javascript|json|svg|text", r.mime)],
        "resources": [
            {"path": r.path, "method": r.method, "type": r.kind, "status": r.status, "mime": r.mime, "encoding": r.encoding,
             "accept_encoding": r.accept_encoding, "header_bytes": r.header_bytes, "body_bytes": r.body_bytes,
             "wire_bytes": r.wire_bytes, "decoded_bytes": r.decoded_bytes, "from_cache": r.from_cache, "failed": r.failed}
            for r in resources
        ],
    }


def new_context(browser: Browser) -> BrowserContext:
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    return context


def sign_in_api(context: BrowserContext, base: str) -> None:
    """POST /auth/login from the context's own request client: the session cookie lands in the
    context's cookie jar and no page (and so no asset) is loaded."""
    response = context.request.post(f"{base}/auth/login", data={"username": USERNAME, "password": PASSWORD})
    if response.status != 200:
        raise RuntimeError(f"sign-in failed: HTTP {response.status} {response.text()[:300]}")


def traced_page(context: BrowserContext) -> tuple[Page, CDPSession, NetworkLog]:
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    network = NetworkLog(cdp)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    cdp.send("Network.clearBrowserCache")
    return page, cdp, network


def settle(page: Page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)


NAV_TIMING_JS = """() => {
  const n = performance.getEntriesByType('navigation')[0];
  return n ? {ttfb: n.responseStart, dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd} : null;
}"""


def measure_loads(browser: Browser, base: str, cold_loads: int) -> dict[str, Any]:
    out: dict[str, Any] = {"cold": [], "timings": []}
    for index in range(cold_loads):
        context = new_context(browser)
        try:
            sign_in_api(context, base)
            page, _cdp, network = traced_page(context)
            page.goto(f"{base}/chat", wait_until="load")
            settle(page)
            if not page.url.rstrip("/").endswith("/chat"):
                raise RuntimeError(f"the chat page did not load (at {page.url})")
            out["cold"].append(summarise(network.snapshot()))
            out["timings"].append(page.evaluate(NAV_TIMING_JS))
            if index == 0:
                network.reset()
                page.goto(f"{base}/chat", wait_until="load")
                settle(page)
                out["warm_navigation"] = summarise(network.snapshot())
                network.reset()
                page.reload(wait_until="load")
                settle(page)
                out["reload"] = summarise(network.snapshot())
        finally:
            context.close()
    # The whole sign-in journey from a cold cache, as a person does it.
    context = new_context(browser)
    try:
        page, _cdp, network = traced_page(context)
        page.goto(f"{base}/chat", wait_until="load")
        settle(page)
        page.fill("input[name=username]", USERNAME)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation(url=re.compile(r"/chat$"), wait_until="load"):
            page.click("form[action='/auth/login'] button[type=submit]")
        settle(page)
        out["journey"] = summarise(network.snapshot())
    finally:
        context.close()
    return out


# ----------------------------------------------------------------------------------------
# 2. first token
# ----------------------------------------------------------------------------------------
# Added to every page before its own scripts: stamps the first decode of the marker's bytes.
INIT_JS = """(() => {
  const bench = window.__bench = {marker: null, decodedAt: null};
  const decode = TextDecoder.prototype.decode;
  TextDecoder.prototype.decode = function (input, options) {
    const out = decode.call(this, input, options);
    if (bench.marker !== null && bench.decodedAt === null && typeof out === 'string' && out.indexOf(bench.marker) >= 0) {
      bench.decodedAt = performance.timeOrigin + performance.now();
    }
    return out;
  };
})();"""

ARM_JS = """([marker, timeoutMs]) => {
  const bench = window.__bench;
  const log = document.getElementById('chat-log');
  const now = () => performance.timeOrigin + performance.now();
  bench.marker = marker;
  bench.decodedAt = null;
  bench.done = new Promise((resolve) => {
    const timer = setTimeout(() => { observer.disconnect(); resolve({timeout: true, decodedAt: bench.decodedAt}); }, timeoutMs);
    const observer = new MutationObserver(() => {
      const answers = log.querySelectorAll('[data-role="answer"]');
      const last = answers[answers.length - 1];
      if (!last || last.textContent.indexOf(marker) < 0) return;
      const domAt = now();
      const domDate = Date.now();
      observer.disconnect();
      clearTimeout(timer);
      const channel = new MessageChannel();  // the next task: after this frame's style, layout and paint
      channel.port1.onmessage = () => resolve({domAt, domDate, paintedAt: now(), decodedAt: bench.decodedAt});
      channel.port2.postMessage(null);
    });
    observer.observe(log, {subtree: true, childList: true, characterData: true});
  });
}"""

PREPARE_JS = """([model, question]) => {
  const form = document.getElementById('chat-form');
  form.elements.model.value = model;
  form.elements['class'].value = '1';
  document.getElementById('chat-text').value = question;
  return form.elements.model.value === model && form.elements['class'].value === '1';
}"""


def question(tag: str) -> str:
    return f"ベンチマークの質問です（bench-{tag}-q）。短く答えてください。"


@dataclass
class Sample:
    round: int
    leg: str
    latency_ms: float
    extra: dict[str, float] = field(default_factory=dict)


def leg_page(page: Page, base: str, upstream: str, tag: str, client: httpx.Client, timeout_s: float) -> Sample:
    page.goto(f"{base}/chat", wait_until="load")
    if not page.evaluate(PREPARE_JS, [MODEL_ID, question(tag)]):
        raise RuntimeError(f"the chat page has no model {MODEL_ID!r} or class 1 to choose")
    page.evaluate(ARM_JS, [first_token(tag), int(timeout_s * 1000)])
    page.click("#chat-send")
    result = page.evaluate("() => window.__bench.done")
    if result.get("timeout"):
        raise RuntimeError(f"round {tag}: the first token never appeared in the page ({page.url})")
    page.wait_for_function("() => document.getElementById('chat-form').getAttribute('aria-busy') === 'false'",
                           polling=50, timeout=timeout_s * 1000)
    sent = mock_sent(upstream, tag, client)
    extra = {
        "painted_ms": (result["paintedAt"] / 1000 - sent) * 1000,
        "date_minus_perf_ms": result["domDate"] - result["domAt"],
    }
    if result.get("decodedAt") is not None:
        extra["decoded_ms"] = (result["decodedAt"] / 1000 - sent) * 1000
    return Sample(0, "A", (result["domAt"] / 1000 - sent) * 1000, extra)


def _first_content_time(response: httpx.Response, is_content: Any) -> float:
    """time.time() of the read that completed the first event for which is_content(payload)."""
    buffer = b""
    found: float | None = None
    for raw in response.iter_raw():
        received = time.time()
        if found is not None:
            continue  # drain the rest of the stream
        buffer += raw
        while found is None:
            match = re.search(rb"\r?\n\r?\n", buffer)
            if match is None:
                break
            block, buffer = buffer[: match.start()], buffer[match.end():]
            data = b"\n".join(line[5:].lstrip() for line in block.splitlines() if line.startswith(b"data:"))
            if not data or data == b"[DONE]":
                continue
            if is_content(json.loads(data)):
                found = received
    if found is None:
        raise RuntimeError("the stream ended without a content event")
    return found


def _openai_content(payload: dict[str, Any]) -> bool:
    return any((choice.get("delta") or {}).get("content") for choice in payload.get("choices") or ())


def _chat_delta(payload: dict[str, Any]) -> bool:
    if payload.get("type") == "error":
        raise RuntimeError(f"/chat/send answered an error event: {payload}")
    return payload.get("type") == "delta" and bool(payload.get("text"))


def leg_direct(client: httpx.Client, gennai: Gennai, upstream: str, tag: str) -> Sample:
    body = {"model": MODEL_ID, "stream": True, "messages": [{"role": "user", "content": question(tag)}]}
    headers = {"Authorization": f"Bearer {gennai.api_key}", "X-Gennai-Classification": "1", "Accept": "text/event-stream"}
    with client.stream("POST", f"{gennai.url}/v1/chat/completions", json=body, headers=headers) as response:
        if response.status_code != 200:
            raise RuntimeError(f"/v1/chat/completions: HTTP {response.status_code} {response.read()[:300]!r}")
        received = _first_content_time(response, _openai_content)
    return Sample(0, "B", (received - mock_sent(upstream, tag, client)) * 1000)


def leg_page_api(client: httpx.Client, gennai: Gennai, upstream: str, tag: str, csrf: str) -> Sample:
    body: dict[str, Any] = {"conversation_id": None, "text": question(tag), "model": MODEL_ID, "class": 1, "team_id": None, "attachments": []}
    headers = {"X-CSRF-Token": csrf, "Accept": "text/event-stream"}
    with client.stream("POST", f"{gennai.url}/chat/send", json=body, headers=headers) as response:
        if response.status_code != 200:
            raise RuntimeError(f"/chat/send: HTTP {response.status_code} {response.read()[:300]!r}")
        received = _first_content_time(response, _chat_delta)
    return Sample(0, "C", (received - mock_sent(upstream, tag, client)) * 1000)


CLOCK_JS = "() => performance.timeOrigin + performance.now()"


def clock_check(page: Page, samples: int = 15) -> dict[str, float]:
    """Bracket (browser clock - Python clock) in ms: [page value - time after, page value - time before];
    the narrowest bracket of `samples` tries."""
    best: tuple[float, float] | None = None
    for _ in range(samples):
        before = time.time()
        value = float(page.evaluate(CLOCK_JS)) / 1000
        after = time.time()
        low, high = (value - after) * 1000, (value - before) * 1000
        if best is None or high - low < best[1] - best[0]:
            best = (low, high)
    assert best is not None
    return {"low_ms": best[0], "high_ms": best[1]}


def measure_tokens(browser: Browser, gennai: Gennai, upstream: str, rounds: int, warmup: int, timeout_s: float
                   ) -> dict[str, Any]:
    import httpx

    context = new_context(browser)
    context.add_init_script(INIT_JS)
    samples: list[Sample] = []
    clocks: list[dict[str, float]] = []
    try:
        sign_in_api(context, gennai.url)
        page = context.new_page()
        page.goto(f"{gennai.url}/chat", wait_until="load")
        clocks.append(clock_check(page))
        with httpx.Client(timeout=timeout_s, trust_env=False) as direct, \
                httpx.Client(timeout=timeout_s, trust_env=False) as page_api, \
                httpx.Client(timeout=5.0, trust_env=False) as control:
            login = page_api.post(f"{gennai.url}/auth/login", json={"username": USERNAME, "password": PASSWORD})
            login.raise_for_status()
            csrf = str(login.json()["csrf_token"])
            for number in range(-warmup, rounds):
                order = ORDERS[number % len(ORDERS)]
                for leg in order:
                    tag = f"r{number + warmup:03d}{leg}" if number >= 0 else f"w{number + warmup:03d}{leg}"
                    if leg == "A":
                        sample = leg_page(page, gennai.url, upstream, tag, control, timeout_s)
                    elif leg == "B":
                        sample = leg_direct(direct, gennai, upstream, tag)
                    else:
                        sample = leg_page_api(page_api, gennai, upstream, tag, csrf)
                    time.sleep(0.05)
                    if number >= 0:
                        sample.round = number
                        samples.append(sample)
                if number >= 0 and (number + 1) % 10 == 0:
                    print(f"  round {number + 1}/{rounds}", file=sys.stderr)
        page.goto(f"{gennai.url}/chat", wait_until="load")
        clocks.append(clock_check(page))
    finally:
        context.close()
    return {"samples": samples, "clocks": clocks}


# ----------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------
def p95(values: list[float]) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=20, method="inclusive")[18]


def stats(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "median": statistics.median(values), "p95": p95(values), "min": min(values), "max": max(values)}


def kb(value: int | None) -> str:
    return "—" if value is None else f"{value / 1000:,.1f}"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def resource_table(summary: dict[str, Any]) -> list[str]:
    out = ["| # | request | type | status | Content-Encoding | body on the wire KB | headers KB | total on the wire KB | decoded KB |",
           "|--:|---|---|--:|---|--:|--:|--:|--:|"]
    for index, r in enumerate(summary["resources"], 1):
        cached = " (from cache)" if r["from_cache"] else ""
        failed = f" ({r['failed']})" if r["failed"] else ""
        out.append(
            f"| {index} | `{r['method']} {r['path']}`{cached}{failed} | {r['type']} | {r['status'] or '—'} | {r['encoding'] or 'none'} | "
            f"{kb(r['body_bytes'])} | {kb(r['header_bytes'])} | {kb(r['wire_bytes'])} | {kb(r['decoded_bytes'])} |"
        )
    out.append(f"| | **total** ({summary['requests']} requests, {summary['from_cache']} from cache) | | | | "
               f"**{kb(summary['body_bytes'])}** | | **{kb(summary['wire_bytes'])}** | {kb(summary['decoded_bytes'])} |")
    return out


def build_report(args: argparse.Namespace, info: dict[str, str], versions: str, loads: dict[str, Any], tokens: dict[str, Any],
                 load_before: str, load_after: str, command: str, run_dir: Path) -> str:
    cold = loads["cold"][0]
    totals = sorted({c["wire_bytes"] for c in loads["cold"]})
    accept = sorted({r["accept_encoding"] for r in cold["resources"] if r["accept_encoding"]})
    out: list[str] = []
    out.append(f"## {info['date']} — chat page in the browser: first-load size and first-token latency ({args.rounds} rounds)\n")
    out.append(f"- command: `{command}`")
    out.append(f"- machine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}, Python {info['python']}; "
               f"load average before/after: {load_before} / {load_after} (the machine is shared)")
    out.append(f"- git commit: {info['commit']}; started {info['date']} {info['time']}")
    out.append(f"- versions: {versions}; gennai serve, one worker, SQLite, one `openai` model on the mock upstream "
               f"(`bench/browser.py --mock-upstream`), `[auth] secure_cookies = false` (plain http on 127.0.0.1)")
    out.append(f"- Chromium headless (`{' '.join(CHROMIUM_ARGS)}`), a fresh context per cold load (ja-JP, 1280×800); "
               f"Accept-Encoding sent by the browser: {', '.join(f'`{a}`' for a in accept) or '—'}")
    out.append("")
    out.append("### First load of /chat, signed in, cold cache")
    out.append("")
    out.append("Counted: every request of the page load (the document, CSS, scripts, fonts, images, icons and any "
               "request the page's script makes until the network is idle), from the DevTools protocol. *Total on the "
               "wire* = `Network.loadingFinished.encodedDataLength` (response headers + body as sent, compressed where "
               "the server compressed it); *body* = that minus the raw response header text; *decoded* = the sum of "
               "`Network.dataReceived.dataLength`. Request headers (uploaded) are not counted. The session cookie came "
               "from `POST /auth/login` made outside the page, so nothing was cached. KB = 1,000 bytes.")
    out.append("")
    out.extend(resource_table(cold))
    out.append("")
    same = "identical in every load" if len(totals) == 1 else f"{kb(totals[0])}–{kb(totals[-1])} KB"
    timings = [t for t in loads["timings"] if t]
    timing_text = ""
    if timings:
        timing_text = (f" Median over the {len(timings)} cold loads: first byte of the document {statistics.median(t['ttfb'] for t in timings):.1f} ms, "
                       f"DOMContentLoaded {statistics.median(t['dcl'] for t in timings):.1f} ms, load {statistics.median(t['load'] for t in timings):.1f} ms "
                       "(context only: loopback, no network latency).")
    uncompressed = cold["uncompressed_text"]
    data_urls = f" ({cold['data_urls']} `data:` URL inside the CSS is not a transfer and is left out.)" if cold["data_urls"] else ""
    out.append(f"{len(loads['cold'])} cold loads, total on the wire {same}.{data_urls}{timing_text}"
               + (f" Sent without compression: {', '.join(f'`{p}`' for p in uncompressed)}." if uncompressed else
                  " Every text resource over 1 KB came compressed."))
    out.append("")
    rows = [("cold cache (the table above)", cold), ("same page again, warm cache (normal navigation)", loads["warm_navigation"]),
            ("reload (F5), warm cache", loads["reload"]),
            ("sign-in journey, cold cache: GET /chat → /login → form post → /chat", loads["journey"])]
    out.append("| load | requests | from cache | body on the wire KB | total on the wire KB | decoded KB |")
    out.append("|---|--:|--:|--:|--:|--:|")
    for label, s in rows:
        out.append(f"| {label} | {s['requests']} | {s['from_cache']} | {kb(s['body_bytes'])} | {kb(s['wire_bytes'])} | {kb(s['decoded_bytes'])} |")
    out.append("")
    worst = max(totals)
    out.append(f"Target: the chat page's first load ≤ 200 KB compressed: {kb(worst)} KB on the wire with headers "
               f"({worst / LOAD_TARGET_BYTES:.0%} of 200,000 bytes) — {verdict(worst <= LOAD_TARGET_BYTES)}"
               f" (the whole sign-in journey: {kb(loads['journey']['wire_bytes'])} KB).")
    out.append("")

    samples: list[Sample] = tokens["samples"]
    by_leg = {leg: [s for s in samples if s.leg == leg] for leg in LEGS}
    by_round = {(s.round, s.leg): s for s in samples}
    rounds = sorted({s.round for s in samples})
    out.append("### First token: upstream send → first token seen")
    out.append("")
    out.append(f"{args.rounds} measured rounds after {args.warmup} warm-up rounds; each round runs A, B and C once, in a rotating order "
               f"({', '.join(ORDERS)}). The mock holds the first content token {args.hold_ms:g} ms after the request reaches it "
               f"(headers and an empty role chunk go at once), then writes it and {args.tokens} more {args.gap_ms:g} ms apart. "
               "Latency = time seen − the mock's `time.time()` just before it wrote the first token, so gennai's own forwarding "
               "is included. All in ms.")
    out.append("")
    out.append("| path | what is timed | n | median | p95 | min | max |")
    out.append("|---|---|--:|--:|--:|--:|--:|")

    def row(label: str, what: str, values: list[float]) -> None:
        if not values:
            out.append(f"| {label} | {what} | 0 | — | — | — | — |")
            return
        s = stats(values)
        out.append(f"| {label} | {what} | {s['n']} | {s['median']:.2f} | {s['p95']:.2f} | {s['min']:.2f} | {s['max']:.2f} |")

    row(LEG_NAMES["B"], "read that completed the first content chunk", [s.latency_ms for s in by_leg["B"]])
    row(LEG_NAMES["C"], "read that completed the first `delta` event", [s.latency_ms for s in by_leg["C"]])
    row("A page: JS receipt", "the page's TextDecoder first returned the token", [s.extra["decoded_ms"] for s in by_leg["A"] if "decoded_ms" in s.extra])
    row("**A page: in the DOM**", "MutationObserver saw the token in the answer element", [s.latency_ms for s in by_leg["A"]])
    row("A page: painted", "next task after that frame (style, layout, paint done)", [s.extra["painted_ms"] for s in by_leg["A"]])
    out.append("")

    def paired(a: str, b: str, key_a: str = "", key_b: str = "") -> list[float]:
        values = []
        for r in rounds:
            sa, sb = by_round.get((r, a)), by_round.get((r, b))
            if sa is None or sb is None:
                continue
            va = sa.extra.get(key_a) if key_a else sa.latency_ms
            vb = sb.extra.get(key_b) if key_b else sb.latency_ms
            if va is not None and vb is not None:
                values.append(va - vb)
        return values

    def within(s: Sample, key_a: str, key_b: str) -> float | None:
        va = s.latency_ms if key_a == "dom" else s.extra.get(key_a)
        vb = s.latency_ms if key_b == "dom" else s.extra.get(key_b)
        return None if va is None or vb is None else va - vb

    out.append("Differences, per round (paired), ms:")
    out.append("")
    out.append("| difference | median | p95 | min | max |")
    out.append("|---|--:|--:|--:|--:|")

    def diff_row(label: str, maybe: list[float] | list[float | None]) -> None:
        values = [v for v in maybe if v is not None]
        if not values:
            out.append(f"| {label} | — | — | — | — |")
            return
        s = stats(values)
        out.append(f"| {label} | {s['median']:+.2f} | {s['p95']:+.2f} | {s['min']:+.2f} | {s['max']:+.2f} |")

    diff_row("**the page's extra cost: A (DOM) − B (direct)**", paired("A", "B"))
    diff_row("A (painted) − B", paired("A", "B", "painted_ms"))
    diff_row("server side of the page's path: C (/chat/send) − B (/v1)", paired("C", "B"))
    diff_row("browser side: A (DOM) − C", paired("A", "C"))
    diff_row("in the browser: network + fetch reader (A JS receipt − C)", paired("A", "C", "decoded_ms"))
    diff_row("in the page: JS receipt → DOM (parse, render scheduling, Markdown)", [within(s, "dom", "decoded_ms") for s in by_leg["A"]])
    diff_row("in the page: DOM → painted", [within(s, "painted_ms", "dom") for s in by_leg["A"]])
    out.append("")
    clocks = tokens["clocks"]
    clock_text = "; ".join(f"[{c['low_ms']:+.2f}, {c['high_ms']:+.2f}]" for c in clocks)
    date_perf = [s.extra["date_minus_perf_ms"] for s in by_leg["A"]]
    out.append(f"Clock check: browser clock − Python clock lies in {clock_text} ms (narrowest bracket of 15 `page.evaluate` "
               f"round trips, before and after the rounds); `Date.now()` − (`performance.timeOrigin` + `now()`) at the DOM stamp: "
               f"median {statistics.median(date_perf):+.2f} ms (Date.now() has 1 ms steps).")
    out.append("")
    dom = stats([s.latency_ms for s in by_leg["A"]])
    painted = stats([s.extra["painted_ms"] for s in by_leg["A"]])
    out.append(f"Target: the first token in the page within 50 ms of the gateway sending it (measured from the upstream's send): "
               f"in the DOM median {dom['median']:.1f} ms, p95 {dom['p95']:.1f} ms; painted median {painted['median']:.1f} ms, "
               f"p95 {painted['p95']:.1f} ms — {verdict(painted['p95'] <= TOKEN_TARGET_MS)} (judged on the painted p95).")
    out.append("")
    receipt_to_dom = [v for v in (within(s, "dom", "decoded_ms") for s in by_leg["A"]) if v is not None]
    if receipt_to_dom:
        out.append(
            "Where the page's own time goes: `gennai.streamChat` (src/gennai/web/static/js/gennai.js, `scheduleRender`) "
            "does not insert a delta when it arrives: it schedules `setTimeout(…, wait)` and then `requestAnimationFrame(render)`, "
            "re-rendering the whole answer as Markdown at most every 100 ms. For the first token `wait` is 0, so the text "
            "waits for a task and the next animation frame: JS receipt → DOM above (which also holds the JSON parse and the "
            f"Markdown render), median {statistics.median(receipt_to_dom):.1f} ms, max {max(receipt_to_dom):.1f} ms here. "
            "Headless Chromium starts a frame on demand; a browser drawing to a 60 Hz screen waits for the next vsync, up to "
            "16.7 ms more. Later tokens wait up to 100 ms by design (not measured here)."
        )
        out.append("")
    out.append(f"Raw samples: `{run_dir.relative_to(ROOT)}/results.json` (git-ignored).")
    out.append("")
    return "\n".join(out) + "\n"


def append_doc(text: str) -> None:
    with DOC.open("a", encoding="utf-8") as handle:
        handle.write("\n" + text)


# ----------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30, help="measured first-token rounds (each: A, B and C once)")
    parser.add_argument("--warmup", type=int, default=3, help="first-token rounds run before measuring")
    parser.add_argument("--cold-loads", type=int, default=3, help="cold first loads of /chat, each in a fresh context")
    parser.add_argument("--hold-ms", type=float, default=150.0, help="the mock holds the first token this long")
    parser.add_argument("--tokens", type=int, default=4, help="content tokens after the first one")
    parser.add_argument("--gap-ms", type=float, default=20.0, help="pause between the later tokens")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds one leg may take")
    parser.add_argument("--no-append", action="store_true", help=f"print only; do not append to {DOC.relative_to(ROOT)}")
    parser.add_argument("--mock-upstream", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def command_line() -> str:
    parts = [".venv/bin/python", "bench/browser.py", *sys.argv[1:]]
    return " ".join(parts)


def _raise_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    args = parse_args()
    if args.mock_upstream:
        return run_mock(args)
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        print(f"{CHROMIUM} not found: apt-get install chromium", file=sys.stderr)
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("playwright is not installed: ./scripts/setup --test", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _raise_interrupt)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = BENCH / "results" / f"browser-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    procs = Processes(run_dir)
    info = machine_info()
    load_before = loadavg()
    try:
        with tempfile.TemporaryDirectory(prefix="gennai-bench-browser-") as tmp:
            upstream = start_mock(procs, args)
            gennai = start_gennai(procs, upstream, Path(tmp) / "gennai")
            print(f"gennai {gennai.version} on {gennai.url}, mock upstream on {upstream}", file=sys.stderr)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                try:
                    print("first load of /chat (cold, warm, reload, sign-in journey) ...", file=sys.stderr)
                    loads = measure_loads(browser, gennai.url, args.cold_loads)
                    print(f"first token: {args.warmup} warm-up + {args.rounds} rounds of A/B/C ...", file=sys.stderr)
                    tokens = measure_tokens(browser, gennai, upstream, args.rounds, args.warmup, args.timeout)
                    from importlib.metadata import version

                    versions = f"gennai {gennai.version}, Chromium {browser.version}, Playwright {version('playwright')}, httpx {version('httpx')}"
                finally:
                    browser.close()
            load_after = loadavg()
            procs.stop(gennai.proc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:
        for name in ("gennai", "mock_upstream"):
            tail = log_tail(run_dir / f"{name}.log")
            if tail:
                print(f"--- {name}.log (last lines) ---\n{tail}", file=sys.stderr)
        raise
    finally:
        procs.stop_all()
    raw = {
        "args": vars(args), "info": info, "versions": versions, "load_before": load_before, "load_after": load_after,
        "loads": loads, "clocks": tokens["clocks"],
        "samples": [{"round": s.round, "leg": s.leg, "latency_ms": s.latency_ms, **s.extra} for s in tokens["samples"]],
    }
    (run_dir / "results.json").write_text(json.dumps(raw, indent=1, ensure_ascii=False), encoding="utf-8")
    report = build_report(args, info, versions, loads, tokens, load_before, load_after, command_line(), run_dir)
    print(report)
    (run_dir / "report.md").write_text(report, encoding="utf-8")
    if not args.no_append:
        append_doc(report)
        print(f"appended to {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
