"""The arena (比較モード) in a real browser (Debian's Chromium through Playwright) against a real
`gennai serve`: a question from the home page's link, the preview before sending, two anonymous
answers (回答A, 回答B) with no model name on the page, a vote with the keyboard only, the
models revealed; a 機密性2 question with only one model cleared for it is refused in Japanese;
the leaderboard for a system administrator; axe-core and the screenshots "arena" and
"manage-arena".

The arena needs two chat models the policy admits as named, so this module starts a gennai of
its own: the shipped gennai.toml without the embedded SmolLM2 (which would answer slowly), plus
two domestic OpenAI-compatible models on loopback served by the scripted upstream, one cleared
for 機密性2 and one for 機密性1 only. The answers say nothing about the model that gave them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import pytest

from gennai.evaluation.arena import NOT_ENOUGH_MODELS, OVERLAP_NOTE
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
from tests.support.scripted_upstream import ScriptedUpstream
from tests.support.servers import running_asyncio_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

MY_NUMBER = "1234 5678 9018"
QUESTION = "窓口の受付時間が変わることを住民に知らせる短いお知らせ文を作ってください。"
# upstream model name → its answer (neither names a model)
ANSWERS = {
    "up-sakura": "令和8年4月1日から、窓口の受付時間を午前8時30分からに変更します。ご理解をお願いします。",
    "up-kaede": "お知らせ：4月から窓口は朝8時30分に開きます。お間違えのないようお越しください。",
}
MODELS = [  # (id, display name, upstream model, clearance)
    ("sakura-llm", "さくら国内モデル（試験用）", "up-sakura", 2),
    ("kaede-llm", "かえで国内モデル（試験用）", "up-kaede", 1),
]
# Nothing of these may be on the page before the vote.
NAME_PARTS = ("sakura", "kaede", "さくら", "かえで", "国内モデル", "up-")


def _models_toml(base_url: str) -> str:
    return "".join(f"""
[[models]]
id = "{model_id}"
display_name = "{name}"
provider = "openai"
base_url = "{base_url}"
upstream_model = "{upstream}"
origin = "domestic"
hosting = "government-cloud"
region = "jp-east"
clearance = {clearance}
capabilities = ["chat"]
timeout_s = 10.0
max_concurrency = 8
""" for model_id, name, upstream, clearance in MODELS)


def _answer(model: str, messages: list[dict[str, Any]]) -> str | None:
    return ANSWERS.get(model)


@pytest.fixture(scope="module")
def arena_gennai(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGennai]:
    """A live gennai with two scripted chat models (and no embedded model). `gennai init`
    leaves an existing gennai.toml as it is, so it is written first."""
    upstream = ScriptedUpstream(_answer)
    with running_asyncio_server(upstream.start) as port:
        directory = tmp_path_factory.mktemp("arena-gennai")
        template = files("gennai").joinpath("templates/gennai.toml").read_text(encoding="utf-8")
        head, embedded, _ = template.partition("# The embedded default")
        assert embedded, "the shipped gennai.toml no longer marks its embedded model"
        (directory / "gennai.toml").write_text(head + _models_toml(f"http://127.0.0.1:{port}/v1"), encoding="utf-8")
        with start_live_gennai(directory, log_path=ARTIFACTS / "arena-gennai.log") as live:
            yield live


@pytest.fixture
def arena_page(browser: Browser, arena_gennai: LiveGennai) -> Iterator[Page]:
    page = new_page(browser, base_url=arena_gennai.url)
    try:
        yield page
    finally:
        page.context.close()


def _no_serious_violations(page: Page) -> None:
    violations = run_axe(page)
    assert violations == [], f"{page.url}\n{format_violations(violations)}"


def _tab_to(page: Page, predicate: str, limit: int = 80) -> None:
    """Press Tab until the focused element `e` satisfies the JavaScript `predicate`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const e = document.activeElement; return !!e && ({predicate}); }}"):
            return
    raise AssertionError(f"never reached by Tab: {predicate}")


def _ask(page: Page, question: str) -> None:
    """Type the question and send it (a whole-page form post); the answers come back with the page."""
    page.fill("#arena-text", question)
    with page.expect_navigation():
        page.click("#arena-send")


def test_two_anonymous_answers_a_keyboard_vote_and_the_models_revealed(arena_page: Page, arena_gennai: LiveGennai) -> None:
    page = arena_page
    user = arena_gennai.create_user(f"arena-{uuid.uuid4().hex[:8]}", display_name="比較 花子")
    sign_in(page, arena_gennai.url, user.username, user.password)

    # from the home page's link
    page.goto("/")
    page.get_by_role("link", name="比較モードを使う").click()
    page.wait_for_url("**/arena")
    assert page.get_by_role("heading", level=1).inner_text() == "比較モード（アリーナ）"
    page.wait_for_function("() => window.htmx !== undefined")
    _no_serious_violations(page)

    # the preview before sending: 機密性1, both models may answer
    page.fill("#arena-text", QUESTION)
    preview = page.locator('#arena-preview [data-preview="compare"]')
    preview.wait_for()
    assert "機密性1" in preview.inner_text() and "使える2個のモデルから2つを選んで比較します" in preview.inner_text()
    _no_serious_violations(page)

    with page.expect_navigation():
        page.click("#arena-send")
    battle = page.locator("#arena-battle")
    battle.wait_for()
    texts = {page.inner_text("#arena-answer-a").strip(), page.inner_text("#arena-answer-b").strip()}
    assert texts == set(ANSWERS.values())
    assert page.get_by_role("heading", name="回答A").is_visible() and page.get_by_role("heading", name="回答B").is_visible()
    html = page.content()
    for part in NAME_PARTS:  # no model name, id or upstream name before the vote
        assert part not in html, part
    _no_serious_violations(page)

    # the vote, with the keyboard only: Tab to 「回答Aの方が良い」 and press Enter
    _tab_to(page, "e.getAttribute('name') === 'winner' && e.value === 'a'")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "the focused vote button shows no focus indicator"
    page.keyboard.press("Enter")
    models = page.locator('#arena-vote [data-role="models"]')
    models.wait_for()
    revealed = {page.inner_text('[data-model="a"]'), page.inner_text('[data-model="b"]')}
    assert revealed == {name for _, name, _, _ in MODELS}
    assert "あなたの選択：回答Aの方が良い" in page.inner_text("#arena-vote")
    assert page.locator('#arena-vote [name="winner"]').count() == 0  # one vote per comparison
    _no_serious_violations(page)
    save_screenshot(page, "arena")


def test_a_class_2_question_with_one_cleared_model_is_refused(arena_page: Page, arena_gennai: LiveGennai) -> None:
    page = arena_page
    user = arena_gennai.create_user(f"arena2-{uuid.uuid4().hex[:8]}")
    sign_in(page, arena_gennai.url, user.username, user.password)
    page.goto("/arena")
    page.wait_for_function("() => window.htmx !== undefined")
    question = f"マイナンバー {MY_NUMBER} の方への通知文を作ってください。"

    page.fill("#arena-text", question)
    block = page.locator('#arena-preview [data-preview="block"]')
    block.wait_for()
    text = block.inner_text()
    assert "機密性2" in text and "このままでは比較できません" in text and NOT_ENOUGH_MODELS in text
    assert "個人番号（マイナンバー）" in text and MY_NUMBER not in text

    with page.expect_navigation():
        page.click("#arena-send")
    error = page.locator("#arena-error")
    assert error.get_attribute("role") == "alert"
    assert error.locator(".alert-title").inner_text() == "この内容では比較できません"
    assert NOT_ENOUGH_MODELS in error.inner_text() and MY_NUMBER not in error.inner_text()
    assert page.input_value("#arena-text") == question  # the question is kept
    assert page.locator("#arena-battle").count() == 0
    _no_serious_violations(page)


def test_the_leaderboard_for_a_system_admin(arena_page: Page, arena_gennai: LiveGennai) -> None:
    page = arena_page
    root = arena_gennai.create_user(f"arena-root-{uuid.uuid4().hex[:6]}", system_admin=True, display_name="システム 管理者")
    sign_in(page, arena_gennai.url, root.username, root.password)
    # one comparison and a vote of its own, so that the table has rows
    page.goto("/arena")
    _ask(page, QUESTION)
    page.get_by_role("button", name="同じくらい").click()
    page.locator('#arena-vote [data-role="models"]').wait_for()

    page.goto("/")
    page.get_by_role("link", name="アリーナの評価結果").click()
    page.wait_for_url("**/manage/arena")
    assert page.get_by_role("heading", level=1).inner_text() == "アリーナの評価結果"
    assert OVERLAP_NOTE in page.locator("main").inner_text()
    table = page.get_by_role("table", name="モデルの評価（2）")
    assert table.is_visible()
    for model_id, name, _, _ in MODELS:
        row = table.locator(f'tr[data-model="{model_id}"]')
        assert row.count() == 1 and name in row.inner_text()
    _no_serious_violations(page)
    save_screenshot(page, "manage-arena")
