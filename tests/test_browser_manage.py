"""The administration pages in a real browser (Chromium through Playwright, against a real
`gennai serve`): a team admin adds a member with the keyboard only, the confirmation step,
axe-core on the pages, and the screenshots "manage" and "manage-team"."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import httpx

from tests.support.browser import LiveGennai, format_violations, run_axe, save_screenshot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

ACTIVE = """() => {
    const e = document.activeElement;
    return e ? (e.id || e.getAttribute('name') || e.tagName.toLowerCase()) : 'body';
}"""


def _team(live: LiveGennai, admin: str, display_name: str) -> str:
    response = httpx.post(f"{live.url}/admin/teams", headers=live.headers, timeout=10, json={
        "name": f"mb-{uuid.uuid4().hex[:8]}", "display_name": display_name, "admin": admin,
    })
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _tab_to(page: Page, element_id: str, limit: int = 120) -> int:
    """Press Tab until the element has the focus; the number of presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(ACTIVE) == element_id:
            return presses
    raise AssertionError(f"#{element_id} never got the focus in {limit} presses of Tab")


def _no_serious_violations(page: Page) -> None:
    violations = run_axe(page)
    assert violations == [], f"{page.url}\n{format_violations(violations)}"


def test_a_team_admin_adds_a_member_with_the_keyboard(live_page: Page, live_gennai: LiveGennai) -> None:
    suffix = uuid.uuid4().hex[:6]
    boss = live_gennai.create_user(f"kanri-{suffix}", display_name="管理 花子")
    clerk = live_gennai.create_user(f"jimu-{suffix}", display_name="事務 太郎")
    team = _team(live_gennai, boss.username, "デジタル庁 情報システム課")
    sign_in(live_page, live_gennai.url, boss.username, boss.password)

    # the overview, reached from the main menu's 管理 link
    live_page.goto("/")
    live_page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="管理").click()
    live_page.wait_for_url("**/manage")
    assert live_page.get_by_role("heading", level=1).inner_text() == "管理"
    assert live_page.get_by_role("heading", name="利用状況（ダッシュボードは今後追加予定）").is_visible()
    _no_serious_violations(live_page)
    save_screenshot(live_page, "manage")

    # to the team's page by keyboard, then the add-member form by keyboard only
    live_page.get_by_role("link", name="デジタル庁 情報システム課").focus()
    with live_page.expect_navigation():
        live_page.keyboard.press("Enter")
    assert live_page.url.endswith(f"/manage/teams/{team}")
    _no_serious_violations(live_page)

    _tab_to(live_page, "member-username")
    outline = live_page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "the focused field shows no focus indicator"
    live_page.keyboard.type(clerk.username)
    live_page.keyboard.press("Tab")
    assert live_page.evaluate(ACTIVE) == "member-is_admin"
    live_page.keyboard.press("Tab")
    assert live_page.evaluate("() => document.activeElement.innerText") == "メンバーを追加する"
    with live_page.expect_navigation():
        live_page.keyboard.press("Enter")

    assert live_page.url.endswith(f"/manage/teams/{team}?done=member_added")
    assert live_page.get_by_role("status").filter(has_text="メンバーを追加しました。").is_visible()
    members = live_page.get_by_role("region", name="メンバー一覧")
    row = members.get_by_role("row").filter(has_text=clerk.username)
    assert row.count() == 1 and "事務 太郎" in row.inner_text() and "メンバー" in row.inner_text()
    _no_serious_violations(live_page)
    save_screenshot(live_page, "manage-team")

    # an unknown name: the error summary links to the field, which says what is wrong
    _tab_to(live_page, "member-username")
    live_page.keyboard.type("no-such-person")
    live_page.keyboard.press("Enter")
    live_page.wait_for_load_state()
    summary = live_page.locator("#error-summary")
    assert "見つかりません" in summary.inner_text()
    summary.get_by_role("link").focus()
    live_page.keyboard.press("Enter")
    assert live_page.evaluate("() => location.hash") == "#member-username"
    field = live_page.locator("#member-username")
    assert field.get_attribute("aria-invalid") == "true" and field.input_value() == "no-such-person"
    _no_serious_violations(live_page)

    # removing a member asks first; nothing changes until it is confirmed
    live_page.goto(f"/manage/teams/{team}")
    row.get_by_role("button", name="チームから外す").focus()  # the name ends with the person's user name
    with live_page.expect_navigation():
        live_page.keyboard.press("Enter")
    assert "本当に事務 太郎" in live_page.locator("main").inner_text()
    _no_serious_violations(live_page)
    live_page.get_by_role("link", name="やめる（変更しない）").click()
    live_page.wait_for_url(f"**/manage/teams/{team}")
    assert live_page.get_by_role("region", name="メンバー一覧").get_by_role("row").filter(has_text=clerk.username).count() == 1


def test_the_system_admins_pages_have_no_serious_accessibility_problems(live_page: Page, live_gennai: LiveGennai) -> None:
    suffix = uuid.uuid4().hex[:6]
    root = live_gennai.create_user(f"root-{suffix}", system_admin=True, display_name="システム 管理者")
    boss = live_gennai.create_user(f"kacho-{suffix}")
    team = _team(live_gennai, boss.username, "総務課")
    sign_in(live_page, live_gennai.url, root.username, root.password)
    for path in ("/manage", f"/manage/teams/{team}", "/manage/teams/new", "/manage/users", "/manage/models", "/manage/rules"):
        response = live_page.goto(path)
        assert response is not None and response.status == 200, path
        _no_serious_violations(live_page)

    # the quota change goes through its confirmation page
    live_page.goto(f"/manage/teams/{team}")
    live_page.get_by_label("1分あたりのリクエスト数").fill("30")
    with live_page.expect_navigation():
        live_page.get_by_role("button", name="利用上限を保存する（確認へ）").click()
    assert "本当に総務課の利用上限を変更しますか？" in live_page.locator("main").inner_text()
    _no_serious_violations(live_page)
    with live_page.expect_navigation():
        live_page.get_by_role("button", name="利用上限を変更する").click()
    assert live_page.url.endswith("?done=quotas")
    assert live_page.get_by_label("1分あたりのリクエスト数").input_value() == "30"


def test_a_team_admin_adds_a_routing_rule_and_deleting_it_asks_first(live_page: Page, live_gennai: LiveGennai) -> None:
    suffix = uuid.uuid4().hex[:6]
    boss = live_gennai.create_user(f"rule-{suffix}", display_name="ルール 担当")
    team = _team(live_gennai, boss.username, "デジタル庁 企画課")
    sign_in(live_page, live_gennai.url, boss.username, boss.password)
    live_page.goto(f"/manage/teams/{team}")

    form = live_page.locator(f'form[action="/manage/teams/{team}/rules"]')
    # nothing chosen as a model: the error is next to the field and what was typed stays
    form.get_by_label("ルールの名前（半角英数字）").fill("kokunai-first")
    form.get_by_role("group", name="機密性").get_by_label("機密性1").check()
    with live_page.expect_navigation():
        form.get_by_role("button", name="ルールを追加する").click()
    assert "送り先のモデルを1つ以上選んでください" in live_page.locator("#error-summary").inner_text()
    assert live_page.locator("#rule-model-1").get_attribute("aria-invalid") == "true"
    assert live_page.locator("#rule-name").input_value() == "kokunai-first" and live_page.locator("#rule-class-1").is_checked()
    _no_serious_violations(live_page)

    live_page.locator("#rule-model-1").select_option(index=1)
    with live_page.expect_navigation():
        live_page.get_by_role("button", name="ルールを追加する").click()
    assert live_page.url.endswith("?done=rule_added")
    row = live_page.get_by_role("region", name="チームのルール").get_by_role("row").filter(has_text="kokunai-first")
    assert row.count() == 1 and "機密性 1" in row.inner_text()
    _no_serious_violations(live_page)

    with live_page.expect_navigation():
        row.get_by_role("button", name="削除する").click()
    assert "本当にデジタル庁 企画課のルール「kokunai-first」を削除しますか？" in live_page.locator("main").inner_text()
    _no_serious_violations(live_page)
    with live_page.expect_navigation():
        live_page.get_by_role("button", name="ルールを削除する").click()
    assert live_page.url.endswith("?done=rule_deleted")
    assert "チーム独自のルールはありません" in live_page.locator("#rules").inner_text()
