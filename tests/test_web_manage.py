"""The administration pages under /manage, over HTTP against a real gennai: forms with CSRF,
redirect-after-post, the confirmation step, the permission table (the admin API's actions)
and the audit entries (the admin API's, since the pages call its handlers)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from gennai.accounts.passwords import set_password
from gennai.store.tables import COMMON_TEAM_ID, AuditEntry
from tests.support.openai_upstream import OpenAIUpstream
from tests.support.servers import GennaiServer, running_gennai
from tests.test_gateway_openai import MESSAGES
from tests.test_policy_routing import RULES, models

PASSWORD = "kumo-no-ue-no-sora-2026"
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
KEY = re.compile(r"gnk_[A-Za-z0-9]{40}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, openai_upstream: tuple[OpenAIUpstream, str]) -> Iterator[GennaiServer]:
    with running_gennai(tmp_path_factory.mktemp("manage"), models(openai_upstream[1]), extra_toml=RULES.format(mode="block")) as s:
        yield s


@dataclass
class Browser:
    """A signed-in person: their session cookie and CSRF token, as a browser would hold them."""

    user_id: str
    username: str
    client: httpx.Client
    csrf: str

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.csrf
        return self.client.post(path, data=form)


def person(server: GennaiServer, prefix: str, *, system_admin: bool = False, roles: list[str] | None = None,
           display_name: str | None = None) -> Browser:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    user = server.platform.users.create(name, display_name=display_name, is_system_admin=system_admin, roles=roles or [])
    set_password(server.platform.engine, user.id, PASSWORD, hasher=CHEAP)
    login = httpx.post(f"{server.root_url}/auth/login", json={"username": name, "password": PASSWORD})
    assert login.status_code == 200, login.text
    cookie = next(v for k, v in login.headers.multi_items() if k.lower() == "set-cookie" and v.startswith("gennai_session="))
    token = cookie.split(";", 1)[0].split("=", 1)[1]
    client = httpx.Client(base_url=server.root_url, headers={"Cookie": f"gennai_session={token}"}, timeout=10)
    return Browser(user.id, name, client, login.json()["csrf_token"])


def new_team(server: GennaiServer, admin: Browser, display_name: str = "デジタル庁 テスト課") -> str:
    return server.platform.teams.create(f"team-{uuid.uuid4().hex[:8]}", display_name, admin_user_id=admin.user_id).id


def audit(server: GennaiServer, action: str, **where: Any) -> list[AuditEntry]:
    with Session(server.platform.engine) as session:
        query = select(AuditEntry).where(AuditEntry.action == action)
        for name, value in where.items():
            query = query.where(getattr(AuditEntry, name) == value)
        return list(session.scalars(query.order_by(AuditEntry.seq)))


def members(server: GennaiServer, team: str) -> dict[str, bool]:
    return {m.username: m.is_admin for m in server.platform.teams.members(team)}


def test_signed_out_visitors_go_to_the_sign_in_page(server: GennaiServer) -> None:
    response = httpx.get(f"{server.root_url}/manage/teams/{COMMON_TEAM_ID}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/manage/teams/{COMMON_TEAM_ID}"


def test_the_overview_lists_the_visible_teams_and_leaves_a_place_for_usage(server: GennaiServer) -> None:
    boss = person(server, "boss")
    mine, other = new_team(server, boss, "自分の課"), new_team(server, person(server, "other"), "よその課")
    page = boss.get("/manage")
    assert page.status_code == 200 and "no-store" in page.headers["cache-control"]
    assert f"/manage/teams/{mine}" in page.text and "自分の課" in page.text and "チーム管理者" in page.text
    assert other not in page.text and "よその課" not in page.text
    assert "利用状況（ダッシュボードは今後追加予定）" in page.text
    assert 'aria-current="page"' in page.text and "/manage/users" not in page.text  # not a system admin
    root = person(server, "root", system_admin=True)
    everything = root.get("/manage").text
    assert other in everything and "/manage/teams/new" in everything and "/manage/users" in everything


def test_a_team_admin_adds_a_member_and_sees_it_listed(server: GennaiServer) -> None:
    boss = person(server, "boss")
    clerk = person(server, "clerk", display_name="事務 太郎")
    team = new_team(server, boss)
    page = boss.get(f"/manage/teams/{team}")
    assert page.status_code == 200 and "メンバーを追加" in page.text and 'name="csrf_token"' in page.text

    added = boss.post(f"/manage/teams/{team}/members", {"username": clerk.username})
    assert added.status_code == 303 and added.headers["location"] == f"/manage/teams/{team}?done=member_added"
    after = boss.get(added.headers["location"])
    assert "メンバーを追加しました。" in after.text
    assert clerk.username in after.text and "事務 太郎" in after.text
    assert members(server, team) == {boss.username: True, clerk.username: False}

    entry = audit(server, "member.added", team_id=team, target_id=clerk.user_id)
    assert len(entry) == 1 and entry[0].actor_user_id == boss.user_id and entry[0].ip == "127.0.0.1"
    assert entry[0].detail == {"is_admin": False}

    # an unknown user and a second add: the error is next to the field, the summary links to it
    unknown = boss.post(f"/manage/teams/{team}/members", {"username": "no-such-person"})
    assert unknown.status_code == 404
    assert 'href="#member-username"' in unknown.text and 'id="member-username-error"' in unknown.text
    assert "見つかりません" in unknown.text and 'value="no-such-person"' in unknown.text
    again = boss.post(f"/manage/teams/{team}/members", {"username": clerk.username})
    assert again.status_code == 409 and "すでにメンバーです" in again.text
    empty = boss.post(f"/manage/teams/{team}/members", {"username": "  "})
    assert empty.status_code == 400 and "ユーザー名を入力してください" in empty.text
    assert len(audit(server, "member.added", team_id=team)) == 1  # the refused adds left no entry


def test_removing_or_demoting_the_last_admin_is_refused_in_japanese(server: GennaiServer) -> None:
    boss = person(server, "boss")
    team = new_team(server, boss)
    base = f"/manage/teams/{team}/members/{boss.user_id}"

    ask = boss.post(f"{base}/remove")
    assert ask.status_code == 200 and "本当に" in ask.text and "から外しますか？" in ask.text
    assert 'name="confirmed" value="1"' in ask.text and f'action="{base}/remove"' in ask.text
    assert members(server, team) == {boss.username: True}

    refused = boss.post(f"{base}/remove", {"confirmed": "1"})
    assert refused.status_code == 409
    assert "チームの最後の管理者は外せません。先に別の管理者を指名してください" in refused.text
    assert "last admin" not in refused.text  # Japanese only on the page
    demoted = boss.post(f"{base}/admin", {"is_admin": "0", "confirmed": "1"})
    assert demoted.status_code == 409 and "最後の管理者" in demoted.text
    assert members(server, team) == {boss.username: True}
    assert audit(server, "member.removed", team_id=team) == [] and audit(server, "member.role_changed", team_id=team) == []

    # with a second admin, the first can step down (after confirming) and then leave
    deputy = person(server, "deputy")
    assert boss.post(f"/manage/teams/{team}/members", {"username": deputy.username, "is_admin": "1"}).status_code == 303
    ask = boss.post(f"{base}/admin", {"is_admin": "0"})
    assert ask.status_code == 200 and "管理者から外しますか？" in ask.text and members(server, team)[boss.username] is True
    done = boss.post(f"{base}/admin", {"is_admin": "0", "confirmed": "1"})
    assert done.status_code == 303 and done.headers["location"].endswith("done=admin_revoked")
    assert members(server, team) == {boss.username: False, deputy.username: True}
    changed = audit(server, "member.role_changed", team_id=team, target_id=boss.user_id)
    assert [e.detail for e in changed] == [{"is_admin": False}] and changed[0].actor_user_id == boss.user_id

    # making someone an admin needs no confirmation
    promoted = deputy.post(f"{base}/admin", {"is_admin": "1"})
    assert promoted.status_code == 303 and members(server, team)[boss.username] is True
    gone = deputy.post(f"/manage/teams/{team}/members/{boss.user_id}/remove", {"confirmed": "1"})
    assert gone.status_code == 303 and members(server, team) == {deputy.username: True}
    removed = audit(server, "member.removed", team_id=team, target_id=boss.user_id)
    assert len(removed) == 1 and removed[0].actor_user_id == deputy.user_id and removed[0].ip == "127.0.0.1"

    # a member who leaves by themselves goes back to the overview (the team's page is no longer theirs)
    server.platform.teams.add_member(team, boss.user_id, is_admin=True)
    left = boss.post(f"{base}/remove", {"confirmed": "1"})
    assert left.status_code == 303 and left.headers["location"] == "/manage?done=member_removed"
    assert boss.get(f"/manage/teams/{team}").status_code == 403


def test_a_member_gets_403_on_another_teams_page_and_reads_their_own(server: GennaiServer) -> None:
    alice, bob = person(server, "alice"), person(server, "bob")
    team_a, team_b = new_team(server, alice, "甲課"), new_team(server, bob, "乙課")
    clerk = person(server, "clerk")
    server.platform.teams.add_member(team_a, clerk.user_id)

    for who in (clerk, alice):
        other = who.get(f"/manage/teams/{team_b}")
        assert other.status_code == 403 and "このページを表示する権限がありません" in other.text
        assert "この操作の権限がありません" in other.text  # the friendly error page, in Japanese
        assert "乙課" not in other.text and bob.username not in other.text
        assert who.get(f"/manage/teams/{uuid.uuid4()}").status_code == 403  # looks like someone else's
        assert who.post(f"/manage/teams/{team_b}/members", {"username": who.username}).status_code == 403
    assert set(members(server, team_b)) == {bob.username}

    own = clerk.get(f"/manage/teams/{team_a}")
    assert own.status_code == 200 and "甲課" in own.text
    assert "メンバーを追加" not in own.text and "設定を保存する" not in own.text and "利用上限" not in own.text
    assert clerk.post(f"/manage/teams/{team_a}/members", {"username": bob.username}).status_code == 403
    assert clerk.post(f"/manage/teams/{team_a}/settings", {"display_name": "乗っ取り", "default_class": "1",
                                                            "retention_days": "365"}).status_code == 403
    assert server.platform.teams.get(team_a).display_name == "甲課"
    for path in ("/manage/users", f"/manage/users/{clerk.user_id}", "/manage/teams/new"):
        assert clerk.get(path).status_code == 403, path
    assert clerk.post("/manage/users", {"username": "sneaky"}).status_code == 403


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(server: GennaiServer) -> None:
    boss = person(server, "boss")
    clerk = person(server, "clerk")
    team = new_team(server, boss)
    missing = boss.post(f"/manage/teams/{team}/members", {"username": clerk.username}, csrf=False)
    assert missing.status_code == 403 and "もう一度お試しください" in missing.text
    wrong = boss.post(f"/manage/teams/{team}/members", {"username": clerk.username, "csrf_token": "x" * 43}, csrf=False)
    assert wrong.status_code == 403
    other_session = person(server, "other")
    borrowed = boss.post(f"/manage/teams/{team}/members", {"username": clerk.username, "csrf_token": other_session.csrf},
                         csrf=False)
    assert borrowed.status_code == 403
    settings = boss.post(f"/manage/teams/{team}/settings", {"display_name": "変更", "default_class": "2",
                                                            "retention_days": "30", "confirmed": "1"}, csrf=False)
    assert settings.status_code == 403
    assert members(server, team) == {boss.username: True}
    assert server.platform.teams.get(team).display_name == "デジタル庁 テスト課"
    assert audit(server, "member.added", team_id=team) == [] and audit(server, "team.updated", team_id=team) == []


def test_team_settings_are_saved_and_a_shorter_retention_is_confirmed(server: GennaiServer) -> None:
    boss = person(server, "boss")
    team = new_team(server, boss)
    path = f"/manage/teams/{team}/settings"
    saved = boss.post(path, {"display_name": "改称後の課", "default_class": "2", "retention_days": "365"})
    assert saved.status_code == 303 and saved.headers["location"].endswith("done=settings")
    view = server.platform.teams.get(team)
    assert view.display_name == "改称後の課" and view.default_class == 2
    entry = audit(server, "team.updated", team_id=team)
    assert [e.detail for e in entry] == [{"fields": ["default_class", "display_name"]}]

    ask = boss.post(path, {"display_name": "改称後の課", "default_class": "2", "retention_days": "30"})
    assert ask.status_code == 200 and "本当に" in ask.text and "365 日" in ask.text and "30 日" in ask.text
    assert server.platform.teams.get(team).retention_days == 365
    done = boss.post(path, {"display_name": "改称後の課", "default_class": "2", "retention_days": "30", "confirmed": "1"})
    assert done.status_code == 303 and server.platform.teams.get(team).retention_days == 30

    bad = boss.post(path, {"display_name": "", "default_class": "2", "retention_days": "30"})
    assert bad.status_code == 400 and 'href="#settings-display_name"' in bad.text and "表示名は 1〜200 文字です" in bad.text
    worse = boss.post(path, {"display_name": "x", "default_class": "2", "retention_days": "ずっと"})
    assert worse.status_code == 400 and 'href="#settings-retention_days"' in worse.text
    assert server.platform.teams.get(team).display_name == "改称後の課"
    unchanged = boss.post(path, {"display_name": "改称後の課", "default_class": "2", "retention_days": "30"})
    assert unchanged.headers["location"].endswith("done=unchanged")


def test_a_service_key_is_shown_once_and_never_again(server: GennaiServer) -> None:
    boss = person(server, "boss")
    team = new_team(server, boss)
    created = boss.post(f"/manage/teams/{team}/keys", {"name": "文書管理連携", "scopes": "chat", "expires_in_days": "90"})
    assert created.status_code == 201 and "no-store" in created.headers["cache-control"]
    keys = KEY.findall(created.text)
    assert len(set(keys)) == 1, keys
    key = keys[0]
    assert "一度だけ表示します" in created.text and "コピー" in created.text

    principal = server.platform.keys.verify(key)
    assert principal is not None and principal.team_id == team and principal.user_id is None
    later = boss.get(f"/manage/teams/{team}")
    assert key not in later.text and not KEY.search(later.text)
    assert key[:10] in later.text and "文書管理連携" in later.text

    entry = audit(server, "key.created", team_id=team)
    assert len(entry) == 1 and entry[0].detail == {"kind": "service"} and entry[0].actor_user_id == boss.user_id
    assert key not in str(entry[0].detail) and key not in str(entry[0].target_id)
    key_id = entry[0].target_id

    no_scope = boss.post(f"/manage/teams/{team}/keys", {"name": "権限なし"})
    assert no_scope.status_code == 400 and 'href="#key-scope-chat"' in no_scope.text and not KEY.search(no_scope.text)

    ask = boss.post(f"/manage/teams/{team}/keys/{key_id}/revoke")
    assert ask.status_code == 200 and "本当にキー「文書管理連携」" in ask.text
    assert server.platform.keys.verify(key) is not None
    revoked = boss.post(f"/manage/teams/{team}/keys/{key_id}/revoke", {"confirmed": "1"})
    assert revoked.status_code == 303 and revoked.headers["location"].endswith("done=key_revoked")
    assert server.platform.keys.verify(key) is None
    assert [e.target_id for e in audit(server, "key.revoked", team_id=team)] == [key_id]
    again = boss.post(f"/manage/teams/{team}/keys/{key_id}/revoke", {"confirmed": "1"})
    assert again.status_code == 404 and "すでに無効" in again.text


def test_a_system_admin_sets_quotas_and_models_after_confirming(server: GennaiServer) -> None:
    root = person(server, "root", system_admin=True)
    boss = person(server, "boss")
    team = new_team(server, boss)
    quotas = {"requests_per_minute": "60", "tokens_per_day": "", "tokens_per_month": "2,000,000", "budget_yen_per_month": "50000"}

    ask = root.post(f"/manage/teams/{team}/quotas", quotas)
    assert ask.status_code == 200 and "本当に" in ask.text and "利用上限を変更しますか？" in ask.text
    assert "上限なし" in ask.text and "50,000" in ask.text and "2,000,000" in ask.text
    assert server.platform.teams.limits("team", team).requests_per_minute is None
    assert audit(server, "quota.updated", team_id=team) == []

    done = root.post(f"/manage/teams/{team}/quotas", {**quotas, "confirmed": "1"})
    assert done.status_code == 303 and done.headers["location"].endswith("done=quotas")
    limits = server.platform.teams.limits("team", team)
    assert (limits.requests_per_minute, limits.tokens_per_day, limits.tokens_per_month, limits.budget_yen_per_month) == (
        60, None, 2_000_000, 50000.0)
    entry = audit(server, "quota.updated", team_id=team)
    assert len(entry) == 1 and entry[0].actor_user_id == root.user_id and entry[0].target_id == team
    assert entry[0].detail == limits.to_json()

    bad = root.post(f"/manage/teams/{team}/quotas", {**quotas, "requests_per_minute": "たくさん", "confirmed": "1"})
    assert bad.status_code == 400 and 'href="#quota-requests_per_minute"' in bad.text
    assert server.platform.teams.limits("team", team).requests_per_minute == 60

    # the team admin reads the quotas but may not change them or the models
    read = boss.get(f"/manage/teams/{team}")
    assert "利用上限" in read.text and "50,000" in read.text and 'action="/manage/teams/' + team + '/quotas"' not in read.text
    assert boss.post(f"/manage/teams/{team}/quotas", {**quotas, "requests_per_minute": "9999", "confirmed": "1"}).status_code == 403
    assert boss.post(f"/manage/teams/{team}/models", {"mode": "selected", "models": "abroad", "confirmed": "1"}).status_code == 403
    assert server.platform.teams.get(team).allowed_models is None

    page = root.get(f"/manage/teams/{team}")
    assert 'id="models-mode-all"' in page.text and "国内" in page.text and "海外" in page.text and "機密性2まで" in page.text
    ask = root.post(f"/manage/teams/{team}/models", {"mode": "selected", "models": "domestic"})
    assert ask.status_code == 200 and "使えるモデルを変更しますか？" in ask.text and "すべてのモデル" in ask.text
    assert server.platform.teams.get(team).allowed_models is None
    done = root.post(f"/manage/teams/{team}/models", {"mode": "selected", "models": "domestic", "confirmed": "1"})
    assert done.status_code == 303 and server.platform.teams.get(team).allowed_models == ["domestic"]
    entry = audit(server, "team.models_set", team_id=team)
    assert [e.detail for e in entry] == [{"models": ["domestic"]}] and entry[0].actor_user_id == root.user_id
    back = root.post(f"/manage/teams/{team}/models", {"mode": "all", "confirmed": "1"})
    assert back.status_code == 303 and server.platform.teams.get(team).allowed_models is None


def test_policy_errors_are_shown_next_to_the_field(server: GennaiServer) -> None:
    boss = person(server, "boss")
    team = new_team(server, boss)
    path = f"/manage/teams/{team}/policy"
    bad = boss.post(path, {"terms": "プロジェクトX", "patterns": "(a+)+", "custom_class": "2", "on_not_cleared": "", "pseudonymise": ""})
    assert bad.status_code == 400
    assert 'href="#policy-patterns"' in bad.text and 'id="policy-patterns-error"' in bad.text
    assert 'aria-describedby="policy-patterns-help policy-patterns-error"' in bad.text
    assert "プロジェクトX" in bad.text  # what was typed is kept
    assert server.platform.teams.get(team).policy == {}

    long_term = boss.post(path, {"terms": "x" * 201, "patterns": "", "custom_class": "2"})
    assert long_term.status_code == 400 and 'id="policy-terms-error"' in long_term.text

    # the team's routing rules (set through the API) are shown and kept by the form
    rules = [{"name": "own-rule", "classes": [2], "models": ["domestic"]}]
    server.platform.teams.update(team, {"policy": {"rules": rules}})
    assert "own-rule" in boss.get(f"/manage/teams/{team}").text

    good = boss.post(path, {"terms": "プロジェクトX\n\n  極秘案件  \n", "patterns": r"PRJ-\d{4}", "custom_class": "3",
                            "on_not_cleared": "reroute", "pseudonymise": "on"})
    assert good.status_code == 303 and good.headers["location"].endswith("done=policy")
    assert server.platform.teams.get(team).policy == {
        "terms": ["プロジェクトX", "極秘案件"], "patterns": [r"PRJ-\d{4}"], "custom_class": 3,
        "on_not_cleared": "reroute", "pseudonymise": True, "rules": rules,
    }
    entry = audit(server, "policy.updated", team_id=team)
    assert len(entry) == 1 and entry[0].detail["terms"] == 2 and entry[0].detail["patterns"] == 1
    assert "プロジェクトX" in boss.get(f"/manage/teams/{team}").text


def test_a_system_admin_creates_teams_and_users(server: GennaiServer) -> None:
    root = person(server, "root", system_admin=True)
    boss = person(server, "boss")
    name = f"new-{uuid.uuid4().hex[:6]}"
    form = {"name": name, "display_name": "新設課", "admin": boss.username, "default_class": "2", "retention_days": "180"}
    bad = root.post("/manage/teams/new", {**form, "name": "Bad Name"})
    assert bad.status_code == 400 and 'href="#team-name"' in bad.text and 'value="新設課"' in bad.text
    nobody = root.post("/manage/teams/new", {**form, "admin": "nobody-at-all"})
    assert nobody.status_code == 404 and 'href="#team-admin"' in nobody.text
    created = root.post("/manage/teams/new", form)
    assert created.status_code == 303 and created.headers["location"].endswith("?done=team_created")
    team = created.headers["location"].split("/")[3].split("?")[0]
    assert server.platform.teams.get(team).display_name == "新設課" and members(server, team) == {boss.username: True}
    entry = audit(server, "team.created", team_id=team)
    assert len(entry) == 1 and entry[0].detail == {"name": name, "admin": boss.user_id} and entry[0].actor_user_id == root.user_id
    assert root.post("/manage/teams/new", form).status_code == 409  # the name is taken

    username = f"auditor-{uuid.uuid4().hex[:6]}"
    made = root.post("/manage/users", {"username": username, "display_name": "監査 花子", "roles": "auditor"})
    assert made.status_code == 303 and made.headers["location"] == "/manage/users?done=user_created"
    user = server.platform.users.find(username)
    assert user.roles == ("auditor",) and not user.is_system_admin
    assert [e.detail for e in audit(server, "user.created", target_id=user.id)] == [{"system_admin": False, "roles": ["auditor"]}]
    listing = root.get("/manage/users")
    assert username in listing.text and "監査担当者" in listing.text

    ask = root.post("/manage/users", {"username": f"admin-{uuid.uuid4().hex[:6]}", "system_admin": "1"})
    assert ask.status_code == 200 and "システム管理者として作成しますか？" in ask.text

    path = f"/manage/users/{user.id}"
    ask = root.post(f"{path}/status", {"disabled": "1"})
    assert ask.status_code == 200 and "利用停止にしますか？" in ask.text and not server.platform.users.get(user.id).disabled
    done = root.post(f"{path}/status", {"disabled": "1", "confirmed": "1"})
    assert done.status_code == 303 and server.platform.users.get(user.id).disabled
    enabled = root.post(f"{path}/status", {"disabled": "0"})
    assert enabled.status_code == 303 and not server.platform.users.get(user.id).disabled
    roles = root.post(f"{path}/roles", {"roles": ["auditor", "evaluator"], "confirmed": "1"})
    assert roles.status_code == 303 and server.platform.users.get(user.id).roles == ("auditor", "evaluator")
    updates = [e.detail for e in audit(server, "user.updated", target_id=user.id)]
    assert updates == [
        {"disabled": True, "fields": ["disabled"]},
        {"disabled": False, "fields": ["disabled"]},
        {"roles": ["auditor", "evaluator"], "system_admin": False, "fields": ["roles", "system_admin"]},
    ]
    assert "監査 花子" in root.get(path).text

    limits = {"requests_per_minute": "10", "tokens_per_day": "", "tokens_per_month": "", "budget_yen_per_month": "1000.5"}
    ask = root.post(f"{path}/quotas", limits)
    assert ask.status_code == 200 and "利用上限を変更しますか？" in ask.text and "1,000.50" in ask.text
    assert server.platform.teams.limits("user", user.id).requests_per_minute is None
    done = root.post(f"{path}/quotas", {**limits, "confirmed": "1"})
    assert done.status_code == 303 and server.platform.teams.limits("user", user.id).budget_yen_per_month == 1000.5
    entry = audit(server, "quota.updated", target_id=user.id)
    assert len(entry) == 1 and entry[0].target_type == "user" and entry[0].detail["requests_per_minute"] == 10
    assert server.platform.audit.verify().ok


def test_the_deployments_models_and_rules_are_shown_read_only(server: GennaiServer) -> None:
    boss = person(server, "boss")
    new_team(server, boss)
    models_page = boss.get("/manage/models")
    assert models_page.status_code == 200
    for text in ("abroad", "domestic", "translator", "国内", "海外", "機密性1まで", "OpenAI 互換", "翻訳"):
        assert text in models_page.text, text
    assert "<form" not in models_page.text.split("<main", 1)[1]
    rules = boss.get("/manage/rules")
    assert rules.status_code == 200
    for text in ("translation", "class-2-domestic", "general", "abroad → domestic", "機密性 2・3"):
        assert text in rules.text, text


# -- the team's own routing rules --

def rules_of(server: GennaiServer, team: str) -> list[dict[str, Any]]:
    return list(server.platform.teams.get(team).policy.get("rules", []))


def service_key(boss: Browser, team: str) -> str:
    created = boss.post(f"/manage/teams/{team}/keys", {"name": "ルール確認用", "scopes": "chat"})
    assert created.status_code == 201
    return KEY.findall(created.text)[0]


def test_a_team_admin_adds_moves_and_deletes_routing_rules(server: GennaiServer) -> None:
    boss = person(server, "boss")
    team = new_team(server, boss)
    path = f"/manage/teams/{team}/rules"
    # the team's dictionary is kept by every rule change (the whole policy goes back through the API)
    kept = boss.post(f"/manage/teams/{team}/policy", {"terms": "さくら計画", "patterns": "", "custom_class": "2"})
    assert kept.status_code == 303

    page = boss.get(f"/manage/teams/{team}")
    assert page.status_code == 200 and "チーム独自のルールはありません" in page.text
    assert "全体のルーティングルール</a>より先に試し" in page.text and "機密性を扱えないモデルには送りません" in page.text
    assert 'action="' + path + '"' in page.text and 'id="rule-model-1"' in page.text and "<legend" in page.text
    assert "テスト domestic（国内・機密性2まで）" in page.text and 'value="translation"' in page.text  # models, apps

    # without a rule of the team's, a class-1 "auto" request follows the deployment's rule "general" (abroad first)
    key = service_key(boss, team)
    client = openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)
    before = client.chat.completions.with_raw_response.create(model="auto", messages=MESSAGES)
    assert before.headers["x-gennai-model"] == "abroad" and "rule=general" in before.headers["x-gennai-policy"]

    added = boss.post(path, {"name": "kokunai-first", "classes": "1", "tasks": "", "models": ["domestic", "", ""]})
    assert added.status_code == 303 and added.headers["location"] == f"/manage/teams/{team}?done=rule_added"
    assert rules_of(server, team) == [{"name": "kokunai-first", "classes": [1], "models": ["domestic"]}]
    shown = boss.get(added.headers["location"])
    assert "ルーティングルールを追加しました。" in shown.text and "kokunai-first" in shown.text
    assert "機密性 1" in shown.text and "テスト domestic（国内・機密性2まで）" in shown.text

    after = client.chat.completions.with_raw_response.create(model="auto", messages=MESSAGES)
    assert after.headers["x-gennai-model"] == "domestic"
    assert after.headers["x-gennai-policy"] == "action=routed; rule=kokunai-first; requested=auto"
    other = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)
    assert other.chat.completions.with_raw_response.create(model="auto", messages=MESSAGES).headers["x-gennai-model"] == "abroad"
    # a team rule never sends content to a model not cleared for it: class 3 still has no route
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model="auto", messages=MESSAGES, extra_body={"gennai": {"classification": 3}})

    second = boss.post(path, {"name": "honyaku", "tasks": "translation、 summarisation\ntranslation", "apps": "translation",
                              "models": ["translator", "domestic"]})
    assert second.status_code == 303
    assert [r["name"] for r in rules_of(server, team)] == ["kokunai-first", "honyaku"]
    assert rules_of(server, team)[1] == {"name": "honyaku", "tasks": ["translation", "summarisation"], "apps": ["translation"],
                                         "models": ["translator", "domestic"]}
    assert "アプリ 翻訳" in boss.get(f"/manage/teams/{team}").text

    moved = boss.post(f"{path}/2/move", {"name": "honyaku", "direction": "up"})
    assert moved.status_code == 303 and moved.headers["location"].endswith("done=rule_moved")
    assert [r["name"] for r in rules_of(server, team)] == ["honyaku", "kokunai-first"]
    stale = boss.post(f"{path}/2/move", {"name": "honyaku", "direction": "up"})  # a second click on an old page
    assert stale.status_code == 404 and "ページを読み込み直して" in stale.text
    edge = boss.post(f"{path}/1/move", {"name": "honyaku", "direction": "up"})
    assert edge.headers["location"].endswith("done=unchanged")

    ask = boss.post(f"{path}/1/delete", {"name": "honyaku"})
    assert ask.status_code == 200 and "本当に" in ask.text and "ルール「honyaku」を削除しますか？" in ask.text
    assert 'name="confirmed" value="1"' in ask.text and f'action="{path}/1/delete"' in ask.text
    assert len(rules_of(server, team)) == 2
    deleted = boss.post(f"{path}/1/delete", {"name": "honyaku", "confirmed": "1"})
    assert deleted.status_code == 303 and deleted.headers["location"].endswith("done=rule_deleted")
    assert [r["name"] for r in rules_of(server, team)] == ["kokunai-first"]
    assert server.platform.teams.get(team).policy["terms"] == ["さくら計画"]

    entries = audit(server, "policy.updated", team_id=team)
    assert [e.detail["rules"] for e in entries] == [
        [], ["kokunai-first"], ["kokunai-first", "honyaku"], ["honyaku", "kokunai-first"], ["kokunai-first"]]
    assert {e.actor_user_id for e in entries} == {boss.user_id} and entries[-1].ip == "127.0.0.1"
    assert all(e.detail["terms"] == 1 for e in entries)
    assert server.platform.audit.verify().ok


def test_a_rule_outside_the_teams_models_is_refused_in_japanese(server: GennaiServer) -> None:
    boss = person(server, "boss")
    team = new_team(server, boss)
    server.platform.teams.set_allowed_models(team, ["domestic"], [m.id for m in server.platform.registry])
    path = f"/manage/teams/{team}/rules"
    page = boss.get(f"/manage/teams/{team}").text
    form = page.split(f'action="{path}"', 1)[1].split("</form>", 1)[0]
    assert 'value="domestic"' in form and 'value="abroad"' not in form and 'value="translator"' not in form

    refused = boss.post(path, {"name": "gaikoku", "tasks": "drafting", "classes": "1", "models": ["abroad"]})
    assert refused.status_code == 400
    assert 'href="#rule-model-1"' in refused.text and 'id="rule-model-1-error"' in refused.text
    assert "「テスト abroad」はこのチームでは使えないモデルです" in refused.text
    assert 'value="gaikoku"' in refused.text and "drafting" in refused.text  # what was typed is kept
    assert re.search(r'id="rule-class-1" name="classes" value="1" checked', refused.text)

    for data, field, words in (
        ({"name": "日本語の名前", "models": "domestic"}, "rule-name", "半角の英字か数字で始まる"),
        ({"name": "", "models": "domestic"}, "rule-name", "ルールの名前を入力してください"),
        ({"name": "no-model", "models": ["", ""]}, "rule-model-1", "送り先のモデルを1つ以上選んでください"),
        ({"name": "unknown", "models": ["domestic", "no-such-model"]}, "rule-model-2", "というモデルはありません"),
        ({"name": "twice", "models": ["domestic", "domestic"]}, "rule-model-2", "同じモデルは1回だけ"),
        ({"name": "odd-app", "models": "domestic", "apps": "no-such-app"}, "rule-app-1", "このチームで使えるアプリから選んでください"),
        ({"name": "odd-class", "models": "domestic", "classes": "4"}, "rule-class-1", "機密性は 1、2、3 から選んでください"),
    ):
        bad = boss.post(path, data)
        assert bad.status_code == 400, data
        assert f'href="#{field}"' in bad.text and words in bad.text, data
        assert "String should" not in bad.text
    assert boss.post(path, {"name": "kokunai", "models": "domestic"}).status_code == 303
    again = boss.post(path, {"name": "kokunai", "models": "domestic"})
    assert again.status_code == 400 and "「kokunai」という名前のルールはすでにあります" in again.text
    assert rules_of(server, team) == [{"name": "kokunai", "models": ["domestic"]}]
    assert [e.detail["rules"] for e in audit(server, "policy.updated", team_id=team)] == [["kokunai"]]


def test_a_member_who_is_not_a_team_admin_cannot_change_the_rules(server: GennaiServer) -> None:
    boss = person(server, "boss")
    clerk = person(server, "clerk")
    team = new_team(server, boss)
    server.platform.teams.add_member(team, clerk.user_id)
    path = f"/manage/teams/{team}/rules"
    assert boss.post(path, {"name": "kokunai", "models": "domestic"}).status_code == 303

    page = clerk.get(f"/manage/teams/{team}")
    assert page.status_code == 200 and "kokunai" in page.text  # read, not changed
    assert "ルールを追加" not in page.text and f'action="{path}' not in page.text
    assert clerk.post(path, {"name": "sneaky", "models": "domestic"}).status_code == 403
    assert clerk.post(f"{path}/1/delete", {"name": "kokunai", "confirmed": "1"}).status_code == 403
    assert clerk.post(f"{path}/1/move", {"name": "kokunai", "direction": "down"}).status_code == 403
    outsider = person(server, "outsider")
    assert outsider.post(path, {"name": "sneaky", "models": "domestic"}).status_code == 403
    assert rules_of(server, team) == [{"name": "kokunai", "models": ["domestic"]}]
    assert len(audit(server, "policy.updated", team_id=team)) == 1
