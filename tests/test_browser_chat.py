"""The chat page in a real browser (Debian's Chromium through Playwright) against a real
`gennai serve` with the embedded SmolLM2 model: streaming, stop, the preview warning, a
refusal, keyboard use, axe-core and the screenshots "chat" and "chat-warning".

The shared `live_gennai` has only the embedded model (foreign origin, on-premises, cleared
for 機密性2), which may receive a My Number. For the refusal of a foreign model this module
starts its own server whose configuration adds a foreign model cleared for 機密性1 only
(never called: the policy refuses before any request would leave)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from importlib.resources import files
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from gennai.records.feedback import FeedbackEntry
from gennai.store.database import create_database_engine

from tests.support.browser import (
    LiveGennai,
    focus_order,
    format_violations,
    new_page,
    run_axe,
    save_screenshot,
    sign_in,
    start_live_gennai,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

MY_NUMBER = "1234 5678 9018"
LONG_PROMPT = "Write a long story about a cat who lives in Tokyo. Use at least ten paragraphs."
SHORT_PROMPT = "What is the capital of Japan? Answer in one sentence."
FOREIGN_MODEL = """
[[models]]
id = "overseas-llm"
display_name = "海外クラウドモデル（試験用）"
provider = "openai"
base_url = "http://127.0.0.1:9/v1"
origin = "foreign"
hosting = "overseas"
region = "us-east-1"
clearance = 1
capabilities = ["chat"]
timeout_s = 2.0
"""


@pytest.fixture(scope="module")
def foreign_gennai(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGennai]:
    """A live gennai whose configuration has a foreign model cleared for 機密性1 as well.
    (`gennai init` leaves an existing gennai.toml as it is, so it is written first.)"""
    directory = tmp_path_factory.mktemp("live-foreign")
    template = files("gennai").joinpath("templates/gennai.toml").read_text(encoding="utf-8")
    (directory / "gennai.toml").write_text(template + FOREIGN_MODEL, encoding="utf-8")
    with start_live_gennai(directory) as live:
        yield live


def _signed_in_chat(page: Page, live: LiveGennai, name: str) -> None:
    user = live.create_user(f"{name}-{uuid.uuid4().hex[:8]}", display_name="山田 花子")
    sign_in(page, live.url, user.username, user.password)
    response = page.goto(f"{live.url}/chat")
    assert response is not None and response.status == 200
    page.wait_for_function("() => window.gennai && !document.getElementById('chat-stop').hidden")


def _watch_streaming(page: Page) -> None:
    """Record whether an answer had text while it was still aria-busy (i.e. it streamed)."""
    page.evaluate("""() => {
        window.__streamed = false;
        new MutationObserver(() => {
            const busy = document.querySelector('#chat-log [data-role="answer"][aria-busy="true"]');
            if (busy && busy.textContent.trim().length > 0) window.__streamed = true;
        }).observe(document.getElementById('chat-log'), {subtree: true, childList: true, characterData: true, attributes: true});
    }""")


def _answer_done(page: Page, timeout: float = 150_000) -> None:
    page.wait_for_function(
        """() => { const a = document.querySelectorAll('#chat-log [data-message="assistant"]');
                   const last = a[a.length - 1];
                   return last && !last.querySelector('[data-role="answer"]').hasAttribute('aria-busy')
                          && document.getElementById('chat-form').getAttribute('aria-busy') === 'false'; }""",
        timeout=timeout,
    )


def test_an_answer_streams_and_is_labelled(live_page: Page, live_gennai: LiveGennai) -> None:
    _signed_in_chat(live_page, live_gennai, "stream")
    _watch_streaming(live_page)
    live_page.fill("#chat-text", SHORT_PROMPT)
    live_page.click("#chat-send")
    answer = live_page.locator('#chat-log [data-message="assistant"]').last
    # the answer element exists (empty, so not yet "visible") while the embedded model starts
    answer.locator('[data-role="answer"]').wait_for(state="attached", timeout=60_000)
    _answer_done(live_page)
    assert live_page.evaluate("window.__streamed"), "the answer never had text while aria-busy"
    assert len(answer.locator('[data-role="answer"]').inner_text()) > 20
    label = answer.locator('[data-role="label"]').inner_text()
    assert re.fullmatch(r"AIが生成した回答（モデル: SmolLM2.*／機密性1）。内容は必ず確認してください。", label), label
    assert re.search(r"/chat/[0-9a-f-]{36}$", live_page.url)  # the new conversation's address
    assert answer.locator('[data-action="copy"]').is_visible() and answer.locator('[data-action="regenerate"]').is_visible()
    assert answer.locator('form[data-feedback]').is_visible()
    assert live_page.locator("#chat-log [data-message=user] [data-role=text]").last.inner_text() == SHORT_PROMPT
    # copy: the Clipboard API or the fallback, announced either way
    answer.locator('[data-action="copy"]').click()
    live_page.wait_for_function("() => document.getElementById('chat-status').textContent.includes('コピー')", timeout=5_000)
    save_screenshot(live_page, "chat")

    # feedback, with a comment (the table comes with migration 0005; created here until then)
    engine = create_database_engine(f"sqlite:///{live_gennai.directory / 'data' / 'gennai.db'}")
    try:
        FeedbackEntry.__table__.create(engine, checkfirst=True)
        feedback = answer.locator("form[data-feedback]")
        feedback.locator("summary").click()
        feedback.get_by_label("コメント（任意・1000文字まで）").fill("もっと詳しく")
        feedback.get_by_role("button", name="役に立たなかった").click()
        thanks = answer.get_by_role("status")
        thanks.wait_for()
        assert "ご意見ありがとうございました（役に立たなかった）" in thanks.inner_text()
        with engine.connect() as connection:
            rows = connection.execute(select(FeedbackEntry.rating, FeedbackEntry.comment)).all()
        assert ("bad", "もっと詳しく") in [tuple(row) for row in rows]
    finally:
        engine.dispose()

    # after a reload the stored conversation looks the same (Markdown rendered by gennai.js)
    live_page.reload()
    stored = live_page.locator('#chat-log [data-message="assistant"]').last
    assert stored.locator("[data-markdown-rendered]").count() == 1
    assert "AIが生成した回答（モデル: SmolLM2" in stored.locator('[data-role="label"]').inner_text()


def test_stop_keeps_the_partial_answer_marked(live_page: Page, live_gennai: LiveGennai) -> None:
    _signed_in_chat(live_page, live_gennai, "stop")
    live_page.fill("#chat-text", LONG_PROMPT)
    live_page.click("#chat-send")
    answer = live_page.locator('#chat-log [data-message="assistant"]').last
    _stop_when_streaming(live_page)
    assert "回答を止めました" in answer.locator('[data-role="problem"]').inner_text()
    assert answer.locator('[data-role="answer"][data-partial]').count() == 1
    assert answer.locator('[data-role="answer"]').inner_text().strip()
    # 再生成 resends the question (stopped again: the story is long)
    answer.locator('[data-action="regenerate"]').click()
    _stop_when_streaming(live_page)
    questions = live_page.locator('#chat-log [data-message="user"] [data-role="text"]').all_inner_texts()
    assert questions == [LONG_PROMPT, LONG_PROMPT]
    assert live_page.locator('#chat-log [data-action="regenerate"]:visible').count() == 1  # the newest answer only


def _stop_when_streaming(page: Page) -> None:
    page.wait_for_function(
        """() => { const el = document.querySelector('#chat-log [data-role="answer"][aria-busy="true"]');
                   return el && el.textContent.trim().length > 0; }""", timeout=60_000)
    assert page.locator("#chat-stop").is_enabled()
    page.click("#chat-stop")
    _answer_done(page)


def test_a_my_number_shows_the_warning_before_sending(live_page: Page, live_gennai: LiveGennai) -> None:
    _signed_in_chat(live_page, live_gennai, "warn")
    live_page.fill("#chat-text", f"個人番号 {MY_NUMBER} の方への通知文を作って")
    preview = live_page.locator("#chat-preview")
    preview.locator("[data-preview]").wait_for()
    text = preview.inner_text()
    assert "個人番号（マイナンバー）" in text and MY_NUMBER not in text and "****" in text
    assert "機密性2" in text and "送信します" in text  # the embedded model is cleared for 機密性2
    # a handling marking makes it 機密性3: no model here may receive it
    live_page.fill("#chat-text", f"【極秘】個人番号 {MY_NUMBER} の方への通知文")
    live_page.locator('#chat-preview [data-preview="block"]').wait_for()
    assert "機密性3" in preview.inner_text()
    # class 2 chosen: nothing is marked for the embedded model (cleared up to 2)
    live_page.select_option("#chat-class", "2")
    assert "には使えません" not in live_page.locator("#chat-model").inner_text()


def test_the_foreign_model_is_refused_a_my_number(browser: Browser, foreign_gennai: LiveGennai) -> None:
    page = new_page(browser, base_url=foreign_gennai.url)
    try:
        _signed_in_chat(page, foreign_gennai, "foreign")
        options = page.locator("#chat-model option").all_inner_texts()
        assert options[0].startswith("自動") and "海外クラウドモデル（試験用）（海外・機密性1まで）" in options
        page.select_option("#chat-class", "2")
        assert "海外クラウドモデル（試験用）（海外・機密性1まで）／機密性2には使えません" in page.locator("#chat-model").inner_text()
        page.select_option("#chat-class", "1")
        page.select_option("#chat-model", "overseas-llm")
        page.fill("#chat-text", f"個人番号 {MY_NUMBER} の方への通知文を作って")
        page.locator('#chat-preview [data-preview="block"]').wait_for()
        warning = page.locator("#chat-preview").inner_text()
        assert "個人番号（マイナンバー）" in warning and MY_NUMBER not in warning and "「自動」" in warning
        page.evaluate("window.scrollTo(0, 0)")
        save_screenshot(page, "chat-warning")
        violations = run_axe(page)
        assert violations == [], format_violations(violations)

        page.click("#chat-send")
        alert = page.locator('#chat-log [data-role="problem"] [role="alert"]')
        alert.wait_for()
        assert "この内容は選んだモデルに送れません" in alert.inner_text() and "国内のモデル" in alert.inner_text()
        assert MY_NUMBER not in alert.inner_text()
    finally:
        page.context.close()


def test_keyboard_only(live_page: Page, live_gennai: LiveGennai) -> None:
    _signed_in_chat(live_page, live_gennai, "keys")
    order = focus_order(live_page, 30)
    for wanted in ("select#chat-model", "select#chat-class", "textarea#chat-text", "button#chat-send: 送信"):
        assert wanted in order, order
    assert order.index("select#chat-model") < order.index("textarea#chat-text") < order.index("button#chat-send: 送信")
    # Ctrl+Enter in the text box sends
    live_page.focus("#chat-text")
    live_page.keyboard.type("Say hello.")
    live_page.keyboard.press("Control+Enter")
    _answer_done(live_page)
    assert live_page.locator('#chat-log [data-message="assistant"]').count() == 1
    # Enter on the focused send button sends too
    live_page.focus("#chat-text")
    live_page.keyboard.type("Say goodbye.")
    live_page.focus("#chat-send")
    live_page.keyboard.press("Enter")
    _answer_done(live_page)
    assert live_page.locator('#chat-log [data-message="assistant"]').count() == 2
    # the model selector works from the keyboard
    live_page.focus("#chat-model")
    live_page.keyboard.press("ArrowDown")
    assert live_page.locator("#chat-model").input_value() != "auto"


def test_axe_finds_no_serious_violations(live_page: Page, live_gennai: LiveGennai) -> None:
    _signed_in_chat(live_page, live_gennai, "axe")
    violations = run_axe(live_page)
    assert violations == [], format_violations(violations)
    live_page.fill("#chat-text", f"個人番号 {MY_NUMBER} の件。{LONG_PROMPT}")
    live_page.locator("#chat-preview [data-preview]").wait_for()
    violations = run_axe(live_page)  # with the warning
    assert violations == [], format_violations(violations)
    live_page.click("#chat-send")
    _stop_when_streaming(live_page)  # an answer, and the notice that it was stopped
    violations = run_axe(live_page)
    assert violations == [], format_violations(violations)
    # the stored conversation, with rename and delete opened
    live_page.reload()
    for summary in live_page.locator("summary:visible").all():
        summary.click()
    violations = run_axe(live_page)
    assert violations == [], format_violations(violations)
