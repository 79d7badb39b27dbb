"""Browser tests: Playwright (sync API) driving Debian's Chromium against a real `gennai serve`.

Registered as a pytest plugin by tests/conftest.py. Fixtures:

- `browser`: a headless Chromium (`/usr/bin/chromium`, never a browser downloaded by
  Playwright), shared by consecutive tests that use it and closed before the next test that
  does not (a live sync Playwright marks the thread's asyncio loop as running, which would
  break `asyncio.run` in the other tests).
- `page`: a page in a fresh context (locale ja-JP, time zone Asia/Tokyo, 1280x800); on a
  failing test its screenshot goes to test-artifacts/failures/.
- `live_gennai`: a real `gennai serve` subprocess on a free loopback port with the embedded
  SmolLM2 model (one per session): `.url`, `.api_key` (admin), `.create_user(...)`, `.cli(...)`.
- `live_page`: `page` whose relative URLs resolve against `live_gennai.url`.

Helpers: `run_axe(page)` (serious and critical axe-core violations), `format_violations`,
`focus_order(page, presses)` (keyboard navigation), `save_screenshot(page, name)`,
`sign_in(page, base_url, username, password)`, and `start_live_gennai(directory)` for a test
that needs a server of its own.

Every test that uses `browser` (directly or through `page`) gets the `browser` marker. If
Chromium, Playwright or axe-core is missing the test is skipped, except under CI=true where
that is a failure (scripts/test installs them).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE_JS = Path(__file__).resolve().parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("GENNAI_TEST_ARTIFACTS", REPO / "test-artifacts"))
SCREENSHOTS = ARTIFACTS / "screenshots"
FAILURES = ARTIFACTS / "failures"
DOCS_SCREENSHOTS = REPO / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
DEFAULT_PASSWORD = "kumo-no-ue-no-sora-2026"  # long and not on the common-password list
SERIOUS = ("serious", "critical")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _missing(reason: str) -> None:
    """Skip the test; under CI a missing browser tool is a failure (scripts/test installs it)."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: scripts/test should have installed it)", pytrace=False)
    pytest.skip(reason)


def chromium_problem() -> str | None:
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} not found: apt-get install chromium (scripts/test does it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: ./scripts/setup --test"
    return None


# --------------------------------------------------------------------------- the browser


class _SharedBrowser:
    """One Playwright and Chromium for a run of consecutive browser tests."""

    def __init__(self) -> None:
        self.playwright: Playwright | None = None
        self.browser: Browser | None = None

    def get(self) -> Browser:
        if self.browser is None or not self.browser.is_connected():
            self.close()
            from playwright.sync_api import sync_playwright

            self.playwright = sync_playwright().start()
            try:
                self.browser = self.playwright.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
                )
            except BaseException:
                self.close()
                raise
        return self.browser

    def close(self) -> None:
        browser, playwright = self.browser, self.playwright
        self.browser = self.playwright = None
        try:
            if browser is not None and browser.is_connected():
                browser.close()
        finally:
            if playwright is not None:
                playwright.stop()


_shared = _SharedBrowser()


@pytest.fixture
def browser() -> Browser:
    """Headless Debian Chromium via Playwright (shared with the neighbouring browser tests)."""
    problem = chromium_problem()
    if problem:
        _missing(problem)
    return _shared.get()


def new_page(browser: Browser, *, base_url: str | None = None, **context_options: Any) -> Page:
    """A page in a fresh context: Japanese locale, Tokyo time, 1280x800; 10 s timeouts."""
    options: dict[str, Any] = {"locale": "ja-JP", "timezone_id": "Asia/Tokyo", "viewport": dict(VIEWPORT)}
    if base_url:
        options["base_url"] = base_url
    options.update(context_options)
    context = browser.new_context(**options)
    context.set_default_timeout(10_000)
    return context.new_page()


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.")[:150] or "page"


@contextmanager
def _page_for(request: pytest.FixtureRequest, browser: Browser, base_url: str | None) -> Iterator[Page]:
    page = new_page(browser, base_url=base_url)
    try:
        yield page
    finally:
        report = getattr(request.node, "_browser_call_report", None)
        if report is not None and report.failed and not page.is_closed():
            try:
                FAILURES.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(FAILURES / f"{_safe_name(request.node.nodeid)}.png"), full_page=True)
            except Exception:  # noqa: BLE001 - a failure screenshot must not hide the failure
                pass
        page.context.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    """A fresh context and page (ja-JP, 1280x800); screenshot to test-artifacts/failures/ on failure."""
    with _page_for(request, browser, None) as fresh:
        yield fresh


@pytest.fixture
def live_page(request: pytest.FixtureRequest, browser: Browser, live_gennai: LiveGennai) -> Iterator[Page]:
    """Like `page`, with `page.goto("/path")` resolving against the live gennai."""
    with _page_for(request, browser, live_gennai.url) as fresh:
        yield fresh


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if call.when == "call":
        item._browser_call_report = report  # type: ignore[attr-defined]
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    result = yield
    if _shared.playwright is not None and (nextitem is None or "browser" not in nextitem.fixturenames):
        _shared.close()
    return result


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


# --------------------------------------------------------------------------- axe-core


def run_axe(page: Page, *, context: Any = None, options: dict[str, Any] | None = None,
            impacts: tuple[str, ...] = SERIOUS) -> list[dict[str, Any]]:
    """Run axe-core on the page (or `context`, a CSS selector or axe context object) and return
    the violations whose impact is in `impacts` (serious and critical by default).

    axe is evaluated through the DevTools protocol, so the page's Content-Security-Policy
    need not allow it (and the tests never bypass that policy)."""
    if not AXE_JS.exists():
        _missing(f"axe-core is not installed ({AXE_JS}): npm ci --prefix tests/support/browser")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    results = page.evaluate(
        "async ([context, options]) => await window.axe.run(context || document, options || {})",
        [context, options],
    )
    return [violation for violation in results["violations"] if violation.get("impact") in impacts]


def format_violations(violations: list[dict[str, Any]]) -> str:
    """One readable block per violation, for an assertion message."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['impact']}: {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation.get("nodes", [])[:5]:
            lines.append(f"    at {' '.join(map(str, node.get('target', [])))}: {node.get('html', '')[:160]}")
    return "\n".join(lines) or "no violations"


def focus_order(page: Page, presses: int, key: str = "Tab") -> list[str]:
    """Press `key` (Tab, Shift+Tab …) `presses` times and describe what has the focus after each:
    `tag#id` or `tag[name=…]`, then its accessible text, e.g. 'a: チャット' or 'input#q'."""
    order = []
    for _ in range(presses):
        page.keyboard.press(key)
        order.append(page.evaluate(
            """() => {
                const e = document.activeElement;
                if (!e || e === document.body) return 'body';
                let name = e.tagName.toLowerCase();
                if (e.id) name += '#' + e.id; else if (e.name) name += '[name=' + e.name + ']';
                const text = (e.getAttribute('aria-label') || e.innerText || e.value || '').trim().slice(0, 40);
                return text && !['input', 'textarea', 'select'].includes(e.tagName.toLowerCase()) ? name + ': ' + text : name;
            }"""
        ))
    return order


# --------------------------------------------------------------------------- screenshots


def save_screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Write test-artifacts/screenshots/NAME.png; with GENNAI_UPDATE_SCREENSHOTS=1 also
    docs/screenshots/NAME.png (the set committed for the README)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise ValueError(f"screenshot name {name!r}: use lower-case letters, digits, - and _")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
    if os.environ.get("GENNAI_UPDATE_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / f"{name}.png")
    return path


# --------------------------------------------------------------------------- a live gennai


@dataclass
class LocalUser:
    username: str
    password: str


@dataclass
class LiveGennai:
    url: str  # http://127.0.0.1:PORT (no trailing slash)
    api_key: str  # a system administrator's API key
    config_path: Path
    directory: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        """Authorization header with the admin API key (for httpx calls next to the browser)."""
        return {"Authorization": f"Bearer {self.api_key}"}

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run `gennai ARGS --config <this instance>`, as an operator would."""
        return _gennai(*args, "--config", str(self.config_path), stdin=stdin, env=self.env)

    def create_user(self, username: str, password: str = DEFAULT_PASSWORD, *, system_admin: bool = False,
                    display_name: str | None = None) -> LocalUser:
        """`gennai users create USERNAME --password-stdin` (fails the test if it fails)."""
        args = ["users", "create", username, "--password-stdin"]
        if system_admin:
            args.append("--system-admin")
        if display_name:
            args += ["--display-name", display_name]
        result = self.cli(*args, stdin=password + "\n")
        assert result.returncode == 0, f"gennai users create {username}: {result.stderr.strip()}"
        return LocalUser(username, password)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_env(extra: dict[str, str] | None) -> dict[str, str]:
    """This environment without the developer's GENNAI_* settings, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GENNAI_")}
    env["COLUMNS"] = "200"
    env.update(extra or {})
    return env


def _gennai(*args: str, stdin: str | None = None, env: dict[str, str], cwd: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gennai", *args], input=stdin, capture_output=True, text=True,
                          timeout=120, env=env, cwd=cwd)


@contextmanager
def start_live_gennai(directory: Path, *, env: dict[str, str] | None = None, log_path: Path | None = None,
                      timeout_s: float = 120.0) -> Iterator[LiveGennai]:
    """`gennai init --dir DIRECTORY`, an admin key, then `gennai serve` on a free loopback port
    until /readyz answers 200. Settings go through `env` (GENNAI_<SECTION>__<KEY>=value)."""
    run_env = _clean_env(env)
    init = _gennai("init", "--dir", str(directory), env=run_env)
    assert init.returncode == 0, f"gennai init: {init.stderr.strip()}"
    config_path = directory / "gennai.toml"
    created = _gennai("keys", "create", "--name", "admin", "--admin", "--config", str(config_path), env=run_env)
    assert created.returncode == 0, f"gennai keys create: {created.stderr.strip()}"
    api_key = created.stdout.strip().splitlines()[-1]

    port = free_port()
    log_path = log_path or directory / "serve.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gennai", "serve", "--config", str(config_path),
             "--host", "127.0.0.1", "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=run_env, cwd=directory,
        )  # fmt: skip
    live = LiveGennai(f"http://127.0.0.1:{port}", api_key, config_path, directory, log_path, process, run_env)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gennai serve exited with {process.returncode}:\n{live.log_tail()}")
            try:
                if httpx.get(f"{live.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gennai serve was not ready within {timeout_s:.0f} s:\n{live.log_tail()}")
            time.sleep(0.1)
        yield live
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@pytest.fixture(scope="session")
def live_gennai(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGennai]:
    """A real `gennai serve` (embedded SmolLM2, SQLite) for the whole session; its log is
    test-artifacts/live-gennai.log."""
    with start_live_gennai(tmp_path_factory.mktemp("live-gennai"), log_path=ARTIFACTS / "live-gennai.log") as live:
        yield live


def sign_in(page: Page, base_url: str, username: str, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
    """Sign in through `POST /auth/login` from inside the page (so the browser keeps the session
    cookie, as after the sign-in form); returns the JSON body (user, csrf_token, session)."""
    if not page.url.startswith(base_url):
        page.goto(f"{base_url}/healthz")
    answer = page.evaluate(
        """async ([username, password]) => {
            const response = await fetch('/auth/login', {method: 'POST', credentials: 'same-origin',
                headers: {'Content-Type': 'application/json'}, body: JSON.stringify({username, password})});
            return {status: response.status, body: await response.json()};
        }""",
        [username, password],
    )
    assert answer["status"] == 200, f"sign-in as {username}: {answer}"
    return answer["body"]
