"""The admin API end to end: teams, members and the last-admin rule, keys, models, policies
and quotas; cross-team access; a team's policy on its members' requests; audit entries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import openai
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gennai.accounts.keys import create_key
from gennai.store.tables import COMMON_TEAM_ID, AuditEntry, UsageRecord
from tests.support.openai_upstream import OpenAIUpstream
from tests.support.servers import GennaiServer, running_gennai
from tests.test_policy_routing import models


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, openai_upstream: tuple[OpenAIUpstream, str]) -> Iterator[GennaiServer]:
    with running_gennai(tmp_path_factory.mktemp("admin"), models(openai_upstream[1])) as s:
        yield s


@dataclass
class Person:
    user_id: str
    username: str
    key: str


def admin(server: GennaiServer) -> httpx.Client:
    return httpx.Client(base_url=server.root_url, headers={"Authorization": f"Bearer {server.api_key}"}, timeout=10)


def as_(server: GennaiServer, person: Person) -> httpx.Client:
    return httpx.Client(base_url=server.root_url, headers={"Authorization": f"Bearer {person.key}"}, timeout=10)


def person(server: GennaiServer, prefix: str, *, roles: list[str] | None = None, team_id: str | None = None) -> Person:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    with admin(server) as c:
        created = c.post("/admin/users", json={"username": name, "roles": roles or []})
        assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    if team_id is not None:
        server.platform.teams.add_member(team_id, user_id)
    secret = server.platform.keys.secret
    key = create_key(server.platform.engine, secret, name=f"{name}-key", user_id=user_id,
                     scopes=("chat", "admin"), team_id=team_id or COMMON_TEAM_ID).key
    return Person(user_id, name, key)


def new_team(server: GennaiServer, admin_person: Person, name: str | None = None) -> str:
    with admin(server) as c:
        response = c.post("/admin/teams", json={
            "name": name or f"team-{uuid.uuid4().hex[:8]}", "display_name": "デジタル庁 テスト課", "admin": admin_person.username,
        })
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_team_with_members_admins_quotas_and_models(server: GennaiServer) -> None:
    boss = person(server, "boss")
    team = new_team(server, boss)
    clerk = person(server, "clerk")
    with as_(server, boss) as c:
        added = c.post(f"/admin/teams/{team}/members", json={"username": clerk.username})
        assert added.status_code == 201 and added.json()["is_admin"] is False
        members = c.get(f"/admin/teams/{team}/members").json()["data"]
        assert {m["username"] for m in members} == {boss.username, clerk.username}
        # the team admin may not set its own budget or models
        assert c.put(f"/admin/teams/{team}/quotas", json={"budget_yen_per_month": 1}).status_code == 403
        assert c.put(f"/admin/teams/{team}/models", json={"models": ["domestic"]}).status_code == 403
    with admin(server) as c:
        quotas = c.put(f"/admin/teams/{team}/quotas", json={"requests_per_minute": 60, "budget_yen_per_month": 50000})
        assert quotas.status_code == 200 and quotas.json()["budget_yen_per_month"] == 50000.0
        assert c.put(f"/admin/teams/{team}/models", json={"models": ["domestic", "nope"]}).status_code == 400
        assert c.put(f"/admin/teams/{team}/models", json={"models": ["domestic"]}).json() == {"allowed_models": ["domestic"]}
    with as_(server, boss) as c:
        assert c.get(f"/admin/teams/{team}/quotas").json()["requests_per_minute"] == 60
        assert c.get(f"/admin/teams/{team}").json()["allowed_models"] == ["domestic"]


def test_the_last_admin_cannot_leave_or_be_demoted(server: GennaiServer) -> None:
    boss = person(server, "boss")
    team = new_team(server, boss)
    with as_(server, boss) as c:
        demote = c.patch(f"/admin/teams/{team}/members/{boss.user_id}", json={"is_admin": False})
        assert demote.status_code == 409 and demote.json()["error"]["code"] == "last_admin"
        assert "最後の管理者" in demote.json()["error"]["message"]
        assert c.delete(f"/admin/teams/{team}/members/{boss.user_id}").status_code == 409
        deputy = person(server, "deputy")
        assert c.post(f"/admin/teams/{team}/members", json={"username": deputy.username, "is_admin": True}).status_code == 201
        assert c.patch(f"/admin/teams/{team}/members/{boss.user_id}", json={"is_admin": False}).status_code == 200
        assert c.patch(f"/admin/teams/{team}/members/{deputy.user_id}", json={"is_admin": False}).status_code == 403
    with as_(server, deputy) as c:
        assert c.patch(f"/admin/teams/{team}/members/{deputy.user_id}", json={"is_admin": False}).status_code == 409


def test_a_team_needs_an_existing_admin_and_a_valid_name(server: GennaiServer) -> None:
    with admin(server) as c:
        assert c.post("/admin/teams", json={"name": "x-team", "display_name": "X", "admin": "nobody-here"}).status_code == 404
        bad = c.post("/admin/teams", json={"name": "Bad Name", "display_name": "X", "admin": "test"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "name"
        assert c.delete(f"/admin/teams/{COMMON_TEAM_ID}").status_code == 409
        assert c.post("/admin/teams", content=b"{not json").status_code == 400


def test_cross_team_access_is_impossible(server: GennaiServer) -> None:
    alice, bob = person(server, "alice"), person(server, "bob")
    team_a, team_b = new_team(server, alice), new_team(server, bob)
    with admin(server) as c:
        service = c.post(f"/admin/teams/{team_b}/keys", json={"name": "batch"}).json()
    with as_(server, alice) as c:
        for path in ("", "/members", "/keys", "/usage", "/quotas", "/policy"):
            response = c.get(f"/admin/teams/{team_b}{path}")
            assert response.status_code == 403, (path, response.text)
            assert bob.username not in response.text
        assert c.delete(f"/admin/teams/{team_b}/keys/{service['id']}").status_code == 403
        assert c.delete(f"/admin/teams/{team_a}/keys/{service['id']}").status_code == 404  # not this team's key
        assert c.post(f"/admin/teams/{team_b}/members", json={"username": alice.username}).status_code == 403
        listed = {t["id"] for t in c.get("/admin/teams").json()["data"]}
        assert team_a in listed and COMMON_TEAM_ID in listed and team_b not in listed
        # a non-existent team looks the same as someone else's
        assert c.get(f"/admin/teams/{uuid.uuid4()}").status_code == 403


def test_removed_members_keys_stop_working_for_the_team(server: GennaiServer) -> None:
    boss = person(server, "boss")
    team = new_team(server, boss)
    clerk = person(server, "clerk", team_id=team)
    client = openai.OpenAI(base_url=server.base_url, api_key=clerk.key, max_retries=0)
    assert client.chat.completions.create(model="domestic", messages=[{"role": "user", "content": "こんにちは"}])
    with as_(server, boss) as c:
        assert c.delete(f"/admin/teams/{team}/members/{clerk.user_id}").status_code == 204
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="domestic", messages=[{"role": "user", "content": "こんにちは"}])


def test_the_teams_policy_applies_to_its_members(server: GennaiServer) -> None:
    boss = person(server, "boss")
    team = new_team(server, boss)
    clerk = person(server, "clerk", team_id=team)
    outsider = person(server, "outsider")
    prompt = [{"role": "user", "content": "さくら計画の進め方を整理して"}]
    with as_(server, boss) as c:
        bad = c.put(f"/admin/teams/{team}/policy", json={"patterns": ["(a+)+"]})
        assert bad.status_code == 400 and bad.json()["error"]["param"].startswith("policy.patterns")
        ok = c.put(f"/admin/teams/{team}/policy", json={"terms": ["さくら計画"], "on_not_cleared": "reroute"})
        assert ok.status_code == 200, ok.text
    # the outsider's request is class 1 and may go abroad; the team's term makes it class 2
    outside = openai.OpenAI(base_url=server.base_url, api_key=outsider.key, max_retries=0)
    assert outside.chat.completions.with_raw_response.create(model="abroad", messages=prompt).headers["x-gennai-classification"] == "1"
    inside = openai.OpenAI(base_url=server.base_url, api_key=clerk.key, max_retries=0)
    raw = inside.chat.completions.with_raw_response.create(model="abroad", messages=prompt)
    assert raw.headers["x-gennai-classification"] == "2"
    assert raw.headers["x-gennai-model"] == "domestic" and "action=rerouted" in raw.headers["x-gennai-policy"]
    with admin(server) as c:
        assert c.put(f"/admin/teams/{team}/models", json={"models": ["abroad"]}).status_code == 200
    with pytest.raises(openai.PermissionDeniedError) as info:
        inside.chat.completions.create(model="domestic", messages=[{"role": "user", "content": "こんにちは"}])
    assert info.value.body["code"] == "model_not_allowed_for_team"  # type: ignore[index]
    assert [m.id for m in inside.models.list()] == ["abroad"]
    server.platform.usage.flush()
    with Session(server.platform.engine) as session:
        teams = set(session.scalars(select(UsageRecord.team_id).where(UsageRecord.team_id == team)))
    assert teams == {team}


def test_default_class_of_a_team(server: GennaiServer) -> None:
    boss = person(server, "boss")
    team = new_team(server, boss)
    clerk = person(server, "clerk", team_id=team)
    with as_(server, boss) as c:
        assert c.patch(f"/admin/teams/{team}", json={"default_class": 2}).status_code == 200
        assert c.patch(f"/admin/teams/{team}", json={"default_class": 5}).status_code == 400
    client = openai.OpenAI(base_url=server.base_url, api_key=clerk.key, max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model="abroad", messages=[{"role": "user", "content": "天気は？"}])
    assert "既定" in info.value.message


def test_service_and_personal_keys(server: GennaiServer) -> None:
    boss = person(server, "boss")
    team = new_team(server, boss)
    with as_(server, boss) as c:
        service = c.post(f"/admin/teams/{team}/keys", json={"name": "夜間バッチ", "expires_in_days": 30})
        assert service.status_code == 201 and service.json()["key"].startswith("gnk_")
        assert c.post(f"/admin/teams/{team}/keys", json={"name": "x", "scopes": ["admin"]}).status_code == 400
        listed = c.get(f"/admin/teams/{team}/keys").json()["data"]
        assert [k["kind"] for k in listed] == ["service"] and "key" not in listed[0] and "key_hash" not in listed[0]
        mine = c.post("/admin/me/keys", json={"name": "私のキー", "team_id": team}).json()
        assert c.post("/admin/me/keys", json={"name": "x", "team_id": str(uuid.uuid4())}).status_code == 403
    batch = openai.OpenAI(base_url=server.base_url, api_key=service.json()["key"], max_retries=0)
    assert batch.chat.completions.create(model="domestic", messages=[{"role": "user", "content": "こんにちは"}])
    with httpx.Client(base_url=server.root_url, headers={"Authorization": f"Bearer {service.json()['key']}"}) as c:
        assert c.get("/admin/teams").status_code == 403  # service keys cannot administer
    with as_(server, boss) as c:
        assert c.delete(f"/admin/teams/{team}/keys/{service.json()['id']}").status_code == 204
        assert c.delete(f"/admin/me/keys/{mine['id']}").status_code == 204
    with pytest.raises(openai.AuthenticationError):
        batch.chat.completions.create(model="domestic", messages=[{"role": "user", "content": "こんにちは"}])


def test_admin_changes_are_in_the_audit_trail(server: GennaiServer) -> None:
    boss = person(server, "boss")
    team = new_team(server, boss)
    with as_(server, boss) as c:
        c.patch(f"/admin/teams/{team}", json={"display_name": "改称後"})
    with Session(server.platform.engine) as session:
        actions = [e.action for e in session.scalars(select(AuditEntry).where(AuditEntry.team_id == team).order_by(AuditEntry.seq))]
    assert actions[:2] == ["team.created", "team.updated"]
    assert server.platform.audit.verify().ok


def test_the_last_system_admin_stays(server: GennaiServer) -> None:
    with admin(server) as c:
        me = [u for u in c.get("/admin/users").json()["data"] if u["system_admin"]]
        if len(me) == 1:
            response = c.patch(f"/admin/users/{me[0]['id']}", json={"system_admin": False})
            assert response.status_code == 409
        assert c.post("/admin/users", json={"username": "x", "roles": ["king"]}).status_code == 400


def test_a_team_quota_answers_429_in_japanese(server: GennaiServer) -> None:
    boss = person(server, "boss")
    team = new_team(server, boss)
    clerk = person(server, "clerk", team_id=team)
    with admin(server) as c:
        assert c.put(f"/admin/teams/{team}/quotas", json={"requests_per_minute": 2}).status_code == 200
    client = openai.OpenAI(base_url=server.base_url, api_key=clerk.key, max_retries=0)
    prompt = [{"role": "user", "content": "こんにちは"}]
    for _ in range(2):
        client.chat.completions.create(model="domestic", messages=prompt)
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="domestic", messages=prompt)
    assert info.value.body["code"] == "quota_exceeded"  # type: ignore[index]
    assert "チームの1分あたりのリクエスト数" in info.value.message and "日本時間" in info.value.message
    assert int(info.value.response.headers["retry-after"]) >= 1
    # another team is not affected
    outsider = person(server, "outsider")
    openai.OpenAI(base_url=server.base_url, api_key=outsider.key, max_retries=0).chat.completions.create(model="domestic", messages=prompt)


def test_policy_blocks_and_reroutes_are_audited_without_values(server: GennaiServer) -> None:
    import time

    boss = person(server, "boss")
    team = new_team(server, boss)
    clerk = person(server, "clerk", team_id=team)
    client = openai.OpenAI(base_url=server.base_url, api_key=clerk.key, max_retries=0)
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(
            model="abroad", messages=[{"role": "user", "content": "個人番号 1234 5678 9018 の山田太郎さんの件"}]
        )
    deadline = time.monotonic() + 5
    entries: list[AuditEntry] = []
    while time.monotonic() < deadline and not entries:
        with Session(server.platform.engine) as session:
            entries = list(session.scalars(select(AuditEntry).where(AuditEntry.team_id == team, AuditEntry.action == "policy.blocked")))
        time.sleep(0.05)
    assert entries and entries[0].outcome == "denied" and entries[0].actor_user_id == clerk.user_id
    assert entries[0].detail and entries[0].detail["findings"]["MY_NUMBER"] == 1
    assert "1234" not in str(entries[0].detail) and "山田" not in str(entries[0].detail)


def test_a_team_rule_may_name_only_models_the_team_may_use(server: GennaiServer) -> None:
    boss = person(server, "ruler")
    team = new_team(server, boss)
    rule = {"name": "drafting", "tasks": ["drafting"], "models": ["domestic"]}
    with as_(server, boss) as c:
        unknown = c.put(f"/admin/teams/{team}/policy", json={"rules": [{**rule, "models": ["nowhere"]}]})
        assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "policy.rules[0].models"
        assert "nowhere" in unknown.json()["error"]["message"]
        assert c.put(f"/admin/teams/{team}/policy", json={"rules": [rule]}).status_code == 200
    with admin(server) as c:
        assert c.put(f"/admin/teams/{team}/models", json={"models": ["abroad"]}).status_code == 200
    with as_(server, boss) as c:
        outside = c.put(f"/admin/teams/{team}/policy", json={"rules": [rule]})
        assert outside.status_code == 400 and "このチームが使えないモデル: domestic" in outside.json()["error"]["message"]
        assert c.get(f"/admin/teams/{team}/policy").json()["rules"] == [rule]  # nothing stored was lost
