"""The browser-test plumbing itself: Debian's Chromium through Playwright against a real
`gennai serve`, axe-core, keyboard focus and screenshots (tests/support/browser.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support import browser as support
from tests.support.browser import LiveGennai, focus_order, format_violations, run_axe, save_screenshot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

# Every test here that uses the `page`, `live_page` or `browser` fixture is marked `browser`.

CLEAN = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>源内 テスト</title></head>
<body><main>
  <h1>源内</h1>
  <form><label for="q">質問</label><input id="q" name="q"><button type="submit">送信</button></form>
  <p><a href="#help">ヘルプ</a></p>
</main></body></html>"""

BROKEN = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>源内 テスト</title></head>
<body><main>
  <h1>源内</h1>
  <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
  <input id="q" name="q">
</main></body></html>"""


def test_health_and_anonymous_me_in_the_browser(live_page: Page, live_gennai: LiveGennai) -> None:
    assert live_page.context.browser is not None and live_page.context.browser.version.split(".")[0].isdigit()
    assert live_page.evaluate("navigator.language") == "ja-JP"

    health = live_page.goto("/healthz")
    assert health is not None and health.status == 200 and health.json() == {"status": "ok"}

    me = live_page.goto("/auth/me")
    assert me is not None and me.status == 401
    assert me.json()["error"]["code"] == "not_signed_in"
    assert live_page.context.cookies() == []


def test_a_signed_in_browser_keeps_its_session(live_page: Page, live_gennai: LiveGennai) -> None:
    user = live_gennai.create_user("browser-smoke", display_name="ブラウザ 確認")
    body = sign_in(live_page, live_gennai.url, user.username, user.password)
    assert body["user"]["username"] == "browser-smoke" and body["csrf_token"]

    cookies = {cookie["name"]: cookie for cookie in live_page.context.cookies()}
    assert cookies["gennai_session"]["httpOnly"] and cookies["gennai_session"]["secure"]
    me = live_page.goto("/auth/me")
    assert me is not None and me.status == 200 and me.json()["user"]["display_name"] == "ブラウザ 確認"


def test_axe_reports_serious_violations_and_passes_a_clean_page(page: Page) -> None:
    page.set_content(BROKEN)
    found = {violation["id"] for violation in run_axe(page)}
    assert {"image-alt", "label"} <= found, found

    page.set_content(CLEAN)
    violations = run_axe(page)
    assert violations == [], format_violations(violations)


def test_keyboard_focus_order(page: Page) -> None:
    page.set_content(CLEAN)
    assert focus_order(page, 3) == ["input#q", "button: 送信", "a: ヘルプ"]
    assert focus_order(page, 1, "Shift+Tab") == ["button: 送信"]


def test_screenshots_go_to_the_artifacts_and_on_request_to_the_docs(
    page: Page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(support, "SCREENSHOTS", tmp_path / "artifacts")
    monkeypatch.setattr(support, "DOCS_SCREENSHOTS", tmp_path / "docs")
    page.set_content(CLEAN)

    monkeypatch.delenv("GENNAI_UPDATE_SCREENSHOTS", raising=False)
    path = save_screenshot(page, "smoke")
    assert path == tmp_path / "artifacts" / "smoke.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "docs").exists()

    monkeypatch.setenv("GENNAI_UPDATE_SCREENSHOTS", "1")
    save_screenshot(page, "smoke")
    assert (tmp_path / "docs" / "smoke.png").read_bytes() == path.read_bytes()
    with pytest.raises(ValueError):
        save_screenshot(page, "../escape")


def test_asyncio_works_again_after_the_browser_tests() -> None:
    """Runs after the browser tests above: the shared browser has been closed, so the thread's
    event loop is no longer marked as running."""
    assert support._shared.playwright is None
    assert asyncio.run(asyncio.sleep(0, result="ok")) == "ok"
