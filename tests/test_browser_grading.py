"""Blind human grading (gennai.evaluation.grading_server, started by `gennai eval grade`) in a
real browser (Debian's Chromium through Playwright): a run folder built by hand (two
candidates' transcripts and a grading queue, docs/evaluation.md), the grading app served by
uvicorn in a thread on a free loopback port, one grader's page opened from their link. The
question and the answers by label, never a model id; the 1–5 radios filled in with the keyboard
only; a missing score is an error next to its field with the comment kept; the next task, then
the finished page; axe-core and the screenshot "grading"."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn

from gennai.evaluation import grading
from gennai.evaluation.grading import load_grades, queue_tasks
from gennai.evaluation.grading_server import create_grading_app, new_token
from gennai.evaluation.items import Item
from gennai.evaluation.transcripts import transcript_path
from tests.support.browser import format_violations, free_port, run_axe, save_screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

# Distinctive model ids: none of them, nor a fragment, may reach the grader's page.
MODEL_X = "zz-vendorx/secret-model-7b:2027q1"
MODEL_Y = "qq-acme@stealth-llm-v9"
FRAGMENTS = ("secret-model", "vendorx", "stealth", "acme", "2027q1", "zz-", "qq-")
GRADER = "山田"
ITEMS = {
    "q1": Item(id="q1", category="drafting", scoring="judge", input="住民票の写しの請求方法を説明してください。",
               system="あなたは自治体の窓口案内係です。", reference="窓口、郵送、コンビニ交付で請求できます。",
               eval_aspect="請求方法を3つ挙げていれば4点以上。"),
    "q2": Item(id="q2", category="law", scoring="judge", input="行政手続法の目的は何ですか。"),
}
ANSWERS = {  # (model, item) → the answer
    (MODEL_X, "q1"): "窓口、郵送、コンビニ交付の3つの方法で請求できます。",
    (MODEL_Y, "q1"): "市役所の窓口で請求してください。",
    (MODEL_X, "q2"): "行政運営の公正の確保と透明性の向上を図ることです。",
    (MODEL_Y, "q2"): "国民の権利利益の保護に資することです。",
}
CHECKED = "() => [...document.querySelectorAll('input[type=radio]:checked')].map(e => e.id)"


class _ThreadedServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # running in a thread
        pass


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run folder as `gennai eval run` and the judges leave it: a transcript per candidate
    and two tasks in grading/queue.jsonl."""
    run = tmp_path / "run"
    for model in (MODEL_X, MODEL_Y):
        path = transcript_path(run, model)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(
            json.dumps({"item_id": item_id, "status": "ok", "answers": [ANSWERS[model, item_id]], "model": model},
                       ensure_ascii=False) + "\n"
            for item_id in ITEMS
        ), encoding="utf-8")
    added = queue_tasks(run, [
        ("q1", [MODEL_X, MODEL_Y], "judges disagree: 2 vs 5"),
        ("q2", [MODEL_X, MODEL_Y], "judges disagree: 1 vs 4"),
    ], seed=42)
    assert added == 2
    return run


@pytest.fixture
def grading_url(run_dir: Path) -> Iterator[str]:
    """The grader's link (http://127.0.0.1:PORT/g/TOKEN) to the app served by uvicorn in a thread."""
    token = new_token()
    port = free_port()
    server = _ThreadedServer(uvicorn.Config(create_grading_app(run_dir, ITEMS, {token: GRADER}), host="127.0.0.1",
                                            port=port, loop="asyncio", log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the grading app failed to start")
        if time.monotonic() > deadline:
            raise RuntimeError("the grading app did not start within 30 s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/g/{token}"
    finally:
        server.should_exit = True
        thread.join(30)


def _no_serious_violations(page: Page) -> None:
    violations = run_axe(page)
    assert violations == [], f"{page.url}\n{format_violations(violations)}"


def _no_model_ids(page: Page) -> None:
    html = page.content()
    for fragment in FRAGMENTS:
        assert fragment not in html, f"{fragment!r} is on the grader's page"


def _tab_to(page: Page, element_id: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} never got the focus in {limit} presses of Tab")


def _shown_answers(page: Page, item_id: str) -> dict[str, str]:
    """label → the answer text, as the page shows them."""
    shown = {}
    for index in (1, 2):
        section = page.locator(f'section[aria-labelledby="answer-{index}-title"]')
        label = section.locator("h2").inner_text().strip()
        shown[label] = section.locator(".box .text").last.inner_text().strip()
    assert set(shown.values()) == {ANSWERS[MODEL_X, item_id], ANSWERS[MODEL_Y, item_id]}
    return shown


def _grade_first_task_with_the_keyboard(page: Page) -> None:
    """Tab into the first radio group, choose with Space and the arrows, type a comment, Tab to
    the second group and choose, then Tab on to the submit button (focused, not pressed)."""
    _tab_to(page, "score_1-1")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "the focused radio shows no focus indicator"
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    assert page.evaluate(CHECKED) == ["score_1-4"]
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "comment_1"
    page.keyboard.type("請求方法が3つそろっている。")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "score_2-1"
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    assert page.evaluate(CHECKED) == ["score_1-4", "score_2-2"]
    for _ in range(5):  # past the second comment to the submit button
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.type") == "submit":
            break
    assert page.evaluate("() => document.activeElement.innerText") == "採点を送信して次へ進む"


def _first_task(page: Page, grading_url: str) -> Item:
    """Open the grader's link; the task shown first (graders see tasks in their own order)."""
    response = page.goto(grading_url)
    assert response is not None and response.status == 200
    assert response.headers.get("referrer-policy") == "no-referrer"
    assert page.get_by_role("heading", level=1).inner_text() == "回答を採点してください"
    assert page.inner_text(".progress") == "課題 1 / 2"
    return next(item for item in ITEMS.values() if item.input in page.inner_text("main"))


def test_the_task_page_shows_answers_by_label_only_and_works_with_the_keyboard(page: Page, grading_url: str) -> None:
    first = _first_task(page, grading_url)
    assert f"採点者：{GRADER}" in page.inner_text("header")
    main = page.inner_text("main")
    for shown in (first.system, first.reference, first.eval_aspect):
        assert shown is None or shown in main
    assert set(_shown_answers(page, first.id)) == {"回答A", "回答B"}
    assert page.locator("section[aria-labelledby^=answer-] h2").all_inner_texts() == ["回答A", "回答B"]
    assert page.locator("input[type=radio][name=score_1]").count() == 5
    _no_model_ids(page)
    _no_serious_violations(page)
    save_screenshot(page, "grading")
    _grade_first_task_with_the_keyboard(page)
    _no_serious_violations(page)


def test_the_finished_page(page: Page, grading_url: str, run_dir: Path) -> None:
    for task in grading.assignments(run_dir, GRADER):  # graded outside the browser
        grading.submit_grades(run_dir, task.task_id, GRADER, [grading.Mark(label, 3) for label in task.shown])
    response = page.goto(grading_url)
    assert response is not None and response.status == 200
    assert page.get_by_role("heading", level=1).inner_text() == "採点はすべて終わりました"
    assert page.locator("main li a").count() == 2
    _no_model_ids(page)
    _no_serious_violations(page)
    # a graded task opens again, to revise, with the marks given
    page.locator("main li a").first.click()
    page.wait_for_load_state()
    assert page.inner_text(".progress").startswith("採点済みの課題を修正しています")
    assert page.evaluate(CHECKED) == ["score_1-3", "score_2-3"]
    _no_model_ids(page)
    _no_serious_violations(page)


def test_a_grader_submits_with_the_keyboard_and_finishes(page: Page, grading_url: str, run_dir: Path) -> None:
    first = _first_task(page, grading_url)
    _grade_first_task_with_the_keyboard(page)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # saved; the next task
    assert page.title() != "送信を受け付けられません | 人手採点", "the grading app refused the browser's form post"
    assert page.get_by_role("status").inner_text().startswith("採点を保存しました。")
    assert page.inner_text(".progress") == "課題 2 / 2"
    second = next(item for item in ITEMS.values() if item is not first)
    assert second.input in page.inner_text("main")
    _shown_answers(page, second.id)
    _no_model_ids(page)
    marks = {grade.label: (grade.score, grade.comment) for grade in load_grades(run_dir) if grade.grader == GRADER}
    assert marks == {"回答A": (4, "請求方法が3つそろっている。"), "回答B": (2, "")}

    # a score left out: the error next to its field, the comment typed kept
    page.check("#score_1-5")
    page.fill("#comment_2", "根拠となる条文がない。")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.title().startswith("入力内容を確認してください")
    fieldset = page.locator("fieldset.invalid")
    assert fieldset.count() == 1
    assert fieldset.locator("legend").inner_text() == "回答Bの点数（必須）"
    assert fieldset.get_attribute("aria-describedby") == "score_2-error"
    assert fieldset.locator("#score_2-error").inner_text() == "回答Bの点数を選んでください。"
    assert page.input_value("#comment_2") == "根拠となる条文がない。"
    assert page.is_checked("#score_1-5")
    summary = page.get_by_role("alert")
    assert "入力内容を確認してください（1件）" in summary.inner_text()
    assert summary.get_by_role("link").get_attribute("href") == "#score_2-1"
    _no_model_ids(page)
    _no_serious_violations(page)

    # fixed: the finished page
    page.check("#score_2-3")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.get_by_role("heading", level=1).inner_text() == "採点はすべて終わりました"
    assert page.get_by_role("status").inner_text() == "採点を保存しました。"
    assert page.locator("main li a").count() == 2
    _no_model_ids(page)
    _no_serious_violations(page)
    assert grading.assignments(run_dir, GRADER) == []
