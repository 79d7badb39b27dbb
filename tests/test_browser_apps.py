"""The general apps in a real browser (Debian's Chromium through Playwright) against a real
`gennai serve` with its embedded model: each of the six apps is filled in and run once, its
answer streams in and ends; one app is run with the keyboard only; field errors appear next
to their fields; axe-core finds no serious or critical violation; screenshots "apps" and
"app-translation". The embedded SmolLM2 is a plumbing model: only that text arrives and the
run ends is checked, never what it says.

The six runs use a gennai of their own (`quick_gennai`): the shipped apps overridden by a
site folder that changes only `max_tokens` (the embedded model would otherwise write up to
4,000 tokens per app, minutes each on a small CPU), and the embedded model's context raised
to 4,096 tokens (校正's instructions alone are ~3,600 SmolLM2 tokens, more than the 2,048
`gennai init` writes). The other tests use the shared `live_gennai` as installed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from gennai.apps.definitions import GENERAL_APPS_DIR
from tests.support.browser import (
    ARTIFACTS,
    LiveGennai,
    format_violations,
    new_page,
    run_axe,
    save_screenshot,
    sign_in,
    start_live_gennai,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

SIX = ["drafting", "summary", "proofreading", "translation", "easy_japanese", "minutes"]
TITLES = ["文章生成", "要約", "校正", "翻訳", "やさしい日本語", "議事録作成"]
# A run of the embedded model on a small (and busy) CPU.
RUN_TIMEOUT_MS = 240_000
QUICK_MAX_TOKENS = 48
ENDED = "() => ['done', 'error', 'aborted'].includes(document.getElementById('app-answer-section').dataset.state)"


def _summary(page: Page) -> None:  # a file, read by the page into the JSON body
    page.set_input_files("#field-document", files=[{
        "name": "通知.txt", "mimeType": "text/plain",
        "buffer": "令和8年度から窓口の受付時間を午前8時30分からに変更します。".encode(),
    }])
    page.select_option("#field-length", "short")


def _easy_japanese(page: Page) -> None:
    page.fill("#field-text", "ごみは指定の集積所へ排出してください。")
    page.check("#field-extras")


def _minutes(page: Page) -> None:
    page.fill("#field-meeting", "窓口業務改善検討会")
    page.fill("#field-date", "5月12日 14時")
    page.fill("#field-notes", "受付時間の変更を了承した。")


FILL: dict[str, Callable[[Page], None]] = {
    "drafting": lambda page: (page.fill("#field-recipient", "各課の庶務担当者"),
                              page.fill("#field-points", "11月分の超過勤務実績を11月30日までに提出")),
    "summary": _summary,
    "proofreading": lambda page: page.fill("#field-text", "下記の通り説明会を開催致しますので、出席して下さい。"),
    "translation": lambda page: page.fill("#field-text", "説明会は来週の月曜日に開催します。"),
    "easy_japanese": _easy_japanese,
    "minutes": _minutes,
}


def _member(page: Page, live: LiveGennai) -> Page:
    """The page, signed in as a new member."""
    user = live.create_user(f"apps-{uuid.uuid4().hex[:8]}", display_name="アプリ 確認")
    sign_in(page, live.url, user.username, user.password)
    return page


@pytest.fixture
def member(live_page: Page, live_gennai: LiveGennai) -> Page:
    return _member(live_page, live_gennai)


@pytest.fixture(scope="module")
def quick_gennai(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGennai]:
    directory = tmp_path_factory.mktemp("apps-gennai")
    site = directory / "site-apps"
    site.mkdir()
    for path in sorted(GENERAL_APPS_DIR.glob("*.toml")):
        text, count = re.subn(r"(?m)^max_tokens = \d+$", f"max_tokens = {QUICK_MAX_TOKENS}", path.read_text(encoding="utf-8"))
        assert count == 1, path
        (site / path.name).write_text(text, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("GENNAI_")}
    init = subprocess.run([sys.executable, "-m", "gennai", "init", "--dir", str(directory)], capture_output=True,
                          text=True, timeout=120, env=env)
    assert init.returncode == 0, init.stderr
    config = directory / "gennai.toml"
    text, count = re.subn(r"(?m)^n_ctx = \d+$", "n_ctx = 4096", config.read_text(encoding="utf-8"))
    assert count == 1, "gennai init no longer writes n_ctx for the embedded model"
    config.write_text(text, encoding="utf-8")
    with start_live_gennai(directory, env={"GENNAI_APPS__FOLDERS": json.dumps([str(site)])},
                           log_path=ARTIFACTS / "apps-gennai.log") as live:
        yield live


@pytest.fixture
def quick_member(browser: Browser, quick_gennai: LiveGennai) -> Iterator[Page]:
    page = new_page(browser, base_url=quick_gennai.url)
    try:
        yield _member(page, quick_gennai)
    finally:
        page.context.close()


def wait_for_answer(page: Page) -> str:
    page.wait_for_function(ENDED, timeout=RUN_TIMEOUT_MS)
    state = page.get_attribute("#app-answer-section", "data-state")
    alerts = page.inner_text("#app-alerts")
    assert state == "done", f"the run ended in {state}: {alerts}"
    assert page.get_attribute("#app-answer", "aria-busy") is None
    assert page.inner_text("#app-status") == "回答が完了しました。"
    label = page.inner_text("#app-answer-label")
    assert label.startswith("AIが生成した回答（モデル: ") and label.endswith("）。内容は必ず確認してください。"), label
    assert "機密性" in label
    return page.inner_text("#app-answer")


def test_the_list_and_an_app_page_as_installed(member: Page) -> None:
    page = member
    page.goto("/apps")
    assert page.title() == "アプリ | gennai"
    assert page.locator(".app-list h2 a").all_inner_texts() == TITLES
    violations = run_axe(page)
    assert violations == [], format_violations(violations)
    save_screenshot(page, "apps")

    page.goto("/apps/translation")
    assert page.title() == "翻訳 | gennai"
    # The description is rendered from Markdown (bold and lists), never as raw HTML.
    assert page.locator(".markdown[data-markdown-rendered] strong").first.inner_text() == "使い方"
    assert "SmolLM2 135M（動作確認用・埋め込みモデル）（海外モデル・庁内設置・機密性2まで）" in page.inner_text("#run-model")
    violations = run_axe(page)
    assert violations == [], format_violations(violations)


def test_a_refusal_is_an_alert_with_what_to_do(member: Page) -> None:
    page = member
    page.goto("/apps/translation")
    page.fill("#field-text", "説明会は来週の月曜日に開催します。")
    page.select_option("#run-class", "3")  # no model of this installation may receive 機密性3
    page.click("#app-run")
    alert = page.locator("#app-alerts [role=alert]")
    alert.wait_for()
    assert alert.locator(".alert-title").inner_text() == "この内容は選んだモデルに送れません"
    assert "機密性3" in alert.inner_text() and "管理者に相談" in alert.inner_text()
    assert page.get_attribute("#app-answer-section", "data-state") == "error"
    assert page.locator("#app-answer-section").is_hidden() and page.get_attribute("#app-run", "aria-disabled") is None


def test_the_preview_shows_what_will_happen_as_the_form_is_filled_in(member: Page) -> None:
    page = member
    page.goto("/apps/translation")
    assert page.locator("#app-check").is_hidden()  # with script the preview refreshes by itself
    my_number = "1234 5678 9018"
    page.fill("#field-text", f"個人番号 {my_number} の方への通知を英訳してください。")
    preview = page.locator("#app-preview")
    preview.locator("[data-preview]").wait_for()
    text = preview.inner_text()
    assert "個人番号（マイナンバー）" in text and my_number not in text and "****" in text
    assert "機密性2" in text and "送信します" in text  # the embedded model is cleared for 機密性2
    page.select_option("#run-class", "3")  # no model of this installation may receive 機密性3
    page.locator('#app-preview [data-preview="block"]').wait_for()
    assert "機密性3" in preview.inner_text() and "このままでは送信できません" in preview.inner_text()
    violations = run_axe(page)
    assert violations == [], format_violations(violations)


def test_each_app_runs_once(quick_member: Page) -> None:
    page = quick_member
    for app_id in SIX:
        page.goto(f"/apps/{app_id}")
        assert page.locator("h1").inner_text().strip() == TITLES[SIX.index(app_id)]
        assert page.locator("#app-answer-section").is_hidden()
        FILL[app_id](page)
        page.click("#app-run")
        answer = wait_for_answer(page)
        assert answer.strip(), app_id
        assert page.locator("#app-copy").is_visible() and page.locator("#app-stop").is_hidden()
        assert page.locator("#app-answer-partial").is_hidden()


def test_an_answered_app_page_is_accessible(quick_member: Page) -> None:
    page = quick_member
    page.goto("/apps/translation")
    page.fill("#field-text", "説明会は来週の月曜日に開催します。")
    page.click("#app-run")
    wait_for_answer(page)
    violations = run_axe(page)
    assert violations == [], format_violations(violations)
    save_screenshot(page, "app-translation")


def test_field_errors_appear_next_to_their_fields(quick_member: Page) -> None:
    page = quick_member
    page.goto("/apps/translation")
    page.fill("#field-text", " ")
    page.click("#app-run")
    summary = page.locator("#error-summary")
    summary.wait_for()
    assert page.evaluate("document.activeElement.id") == "error-summary"  # read out first
    assert page.inner_text("#field-text-error") == "＊入力してください。"
    assert page.get_attribute("#field-text", "aria-invalid") == "true"
    assert "field-text-error" in (page.get_attribute("#field-text", "aria-describedby") or "")
    assert summary.locator("a").first.get_attribute("href") == "#field-text"
    assert summary.locator("a").first.inner_text() == "翻訳する文章: 入力してください。"
    assert page.locator("#app-answer-section").is_hidden()
    # Fixed and run again: the errors go away.
    page.fill("#field-text", "説明会は来週の月曜日に開催します。")
    page.click("#app-run")
    page.locator("#error-summary").wait_for(state="detached")
    assert page.locator("[data-field] .field-error").count() == 0 and page.get_attribute("#field-text", "aria-invalid") is None
    wait_for_answer(page)


def test_keyboard_only_run(quick_member: Page) -> None:
    page = quick_member
    page.goto("/apps")

    def tab_to(predicate: str, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"() => {{ const e = document.activeElement; return !!e && ({predicate}); }}"):
                return
        raise AssertionError(f"never reached by Tab: {predicate}")

    tab_to("e.getAttribute('href') === '/apps/translation'")
    page.keyboard.press("Enter")
    page.wait_for_url("**/apps/translation")
    tab_to("e.id === 'field-direction'")  # the first field: a radio group, arrows choose
    page.keyboard.press("ArrowDown")
    assert page.is_checked("#field-direction-2")
    page.keyboard.press("ArrowUp")
    assert page.is_checked("#field-direction")
    tab_to("e.id === 'field-text'")
    page.keyboard.type("説明会は来週の月曜日に開催します。")
    tab_to("e.id === 'app-run'")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle + ' ' + getComputedStyle(document.activeElement).outlineWidth")
    assert outline == "solid 4px", outline  # the focus is visible
    page.keyboard.press("Enter")
    wait_for_answer(page)
    tab_to("e.id === 'app-copy'")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('app-status').textContent.indexOf('コピー') >= 0")
    assert page.inner_text("#app-status") == "回答をコピーしました。"
    assert page.evaluate("document.activeElement.id") == "app-copy"


def test_without_javascript_the_form_posts_and_the_answer_comes_back(browser: Browser, quick_gennai: LiveGennai) -> None:
    user = quick_gennai.create_user(f"apps-{uuid.uuid4().hex[:8]}")
    page = new_page(browser, base_url=quick_gennai.url, java_script_enabled=False)
    try:
        page.goto("/login?next=/apps/translation")
        page.fill("#field-username", user.username)
        page.fill("#field-password", user.password)
        page.click("button[type=submit]")
        page.wait_for_url("**/apps/translation")
        assert page.locator("#app-copy").is_hidden()  # needs script
        page.fill("#field-text", "説明会は来週の月曜日に開催します。")
        page.click("#app-run", timeout=RUN_TIMEOUT_MS)
        page.wait_for_url("**/apps/translation/run", timeout=RUN_TIMEOUT_MS)
        assert page.get_attribute("#app-answer-section", "data-state") == "done"
        assert page.inner_text("#app-answer-label").startswith("AIが生成した回答（モデル: SmolLM2 135M")
        assert page.inner_text("#app-answer").strip()
        assert page.input_value("#field-text") == "説明会は来週の月曜日に開催します。"
    finally:
        page.context.close()
