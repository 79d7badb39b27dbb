"""The arena from real use (gennai.evaluation.arena): two anonymous answers from two models
the policy admits for the question as written, a vote by the battle's own person, once, and a
Bradley–Terry leaderboard for evaluators. Against a real gennai on loopback with the scripted
OpenAI-compatible upstream; each model has its own upstream model name, so the upstream's
received requests say which model saw what."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, select, text
from sqlalchemy.orm import Session

from gennai.accounts.keys import Principal, create_key
from gennai.accounts.passwords import set_password
from gennai.evaluation.arena import ArenaService, leaderboard_from_votes
from gennai.store.tables import ArenaBattle, UsageRecord
from tests.support.openai_upstream import OpenAIUpstream
from tests.support.servers import GennaiServer, running_gennai
from tests.test_gateway_openai import model_toml

PASSWORD = "kumo-no-ue-no-sora-2026"
UPSTREAM = {"alpha": "arena-alpha", "beta": "arena-beta", "abroad": "arena-abroad", "down": "fail-503"}
PERSONAL = "申請者の佐藤花子様（携帯 090-1234-5678）に、佐藤花子様あての返信文を作ってください。"


def arena_models(base: str) -> str:
    abroad = model_toml("abroad", UPSTREAM["abroad"], base, clearance=1).replace(
        'hosting = "government-cloud"', 'hosting = "overseas"'
    ).replace('origin = "domestic"', 'origin = "foreign"')
    vectors = model_toml("vectors", "arena-vectors", base).replace('["chat", "embeddings", "tools"]', '["embeddings"]')
    return (
        model_toml("alpha", UPSTREAM["alpha"], base)
        + model_toml("beta", UPSTREAM["beta"], base)
        + abroad
        + vectors
        + model_toml("down", UPSTREAM["down"], base, fallback=["beta"])
    )


class World:
    def __init__(self, server: GennaiServer) -> None:
        self.server = server
        self.platform = server.platform
        self.users: dict[str, str] = {}
        self.teams: dict[str, str] = {}
        self.keys: dict[str, str] = {}

    def person(self, name: str, team: str | None, **options: Any) -> None:
        platform = self.platform
        user = platform.users.create(name, display_name=name, **options)
        set_password(platform.engine, user.id, PASSWORD)
        self.users[name] = user.id
        if team is not None:
            platform.teams.add_member(self.teams[team], user.id)
        self.keys[name] = create_key(
            platform.engine, platform.keys.secret, name=f"{name}-key", user_id=user.id,
            team_id=self.teams.get(team or ""), scopes=("chat", "admin"),
        ).key

    def team(self, name: str, models: list[str], policy: dict[str, Any] | None = None) -> None:
        platform = self.platform
        owner = platform.users.create(f"owner-{name}")
        team = platform.teams.create(name, name, admin_user_id=owner.id)
        platform.teams.set_allowed_models(team.id, models, [m.id for m in platform.registry])
        if policy:
            platform.teams.update(team.id, {"policy": policy})
        self.teams[name] = team.id

    def api(self, name: str) -> httpx.Client:
        return httpx.Client(base_url=self.server.root_url, headers={"Authorization": f"Bearer {self.keys[name]}"}, timeout=30)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, openai_upstream: tuple[OpenAIUpstream, str]) -> Iterator[World]:
    extra = "[auth]\nsecure_cookies = false\n"
    with running_gennai(tmp_path_factory.mktemp("arena"), arena_models(openai_upstream[1]), extra_toml=extra, retries=0) as s:
        w = World(s)
        w.team("shared", ["alpha", "beta", "abroad", "vectors"])
        w.team("solo", ["alpha", "abroad"])
        w.team("pseudo", ["alpha", "abroad"], {"pseudonymise": True})
        w.team("reroute", ["alpha", "abroad"], {"on_not_cleared": "reroute"})
        w.team("fallbacks", ["beta", "down"])
        w.person("suzuki", "shared")
        w.person("sato", "shared")
        w.person("kato", "solo")
        w.person("ito", "pseudo")
        w.person("ueda", "reroute")
        w.person("endo", "fallbacks")
        w.person("hyoka", None, roles=["evaluator"])
        w.person("kanri", None, is_system_admin=True)
        yield w


def marker() -> str:
    return f"〔{uuid.uuid4().hex[:12]}〕"


def seen_by(upstream: OpenAIUpstream, mark: str) -> list[str]:
    """The upstream model names of every request whose messages carried `mark`."""
    return [r.get("model", "") for r in list(upstream.requests) if mark in str(r.get("messages"))]


def battle(client: httpx.Client, question: str, classification: Any = 1) -> httpx.Response:
    return client.post("/v1/gennai/arena/battles", json={"input": question, "classification": classification})


def row(world: World, battle_id: str) -> ArenaBattle | None:
    with Session(world.platform.engine) as session:
        found = session.get(ArenaBattle, battle_id)
        if found is not None:
            session.expunge(found)
        return found


def usage(world: World, request_id: str) -> UsageRecord | None:
    world.platform.usage.flush()
    with Session(world.platform.engine) as session:
        return session.scalars(select(UsageRecord).where(UsageRecord.request_id == request_id)).first()


def battles_count(world: World) -> int:
    with world.platform.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM arena_battles")).scalar_one())


# ------------------------------------------------------------------------------ battles


def test_two_eligible_models_answer_anonymously(world: World, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    upstream, _ = openai_upstream
    mark = marker()
    with world.api("suzuki") as client:
        response = battle(client, f"図書館の開館時間の案内文を作ってください。{mark}")
    assert response.status_code == 201, response.text
    data = response.json()
    assert [a["label"] for a in data["answers"]] == ["A", "B"]
    assert all(a["text"] == "Hello from upstream" for a in data["answers"])
    assert data["classification"] == 1 and set(data) == {"id", "classification", "answers"}
    for model_id in ("alpha", "beta", "abroad", "down", "vectors"):  # hidden before the vote
        assert model_id not in response.text and model_id not in str(dict(response.headers))
    stored = row(world, data["id"])
    assert stored is not None and stored.winner is None and stored.voted_at is None
    assert stored.model_a != stored.model_b and {stored.model_a, stored.model_b} <= {"alpha", "beta", "abroad"}
    assert stored.user_id == world.users["suzuki"] and stored.team_id == world.teams["shared"]
    assert stored.effective_class == 1
    # each answer is its own admitted call, recorded, named
    for model_id, request_id in ((stored.model_a, stored.request_id_a), (stored.model_b, stored.request_id_b)):
        record = usage(world, request_id)
        assert record is not None and record.endpoint == "web.arena" and record.status == "ok"
        assert record.model_id == model_id and record.policy_action == "allowed" and record.detail == f"arena={data['id']}"
        assert record.user_id == world.users["suzuki"]
    assert sorted(seen_by(upstream, mark)) == sorted(UPSTREAM[m] for m in (stored.model_a, stored.model_b))


@pytest.mark.parametrize("question, declared", [("来年度の予算案の論点を整理してください。", 2), (PERSONAL, 1)])
def test_a_class_2_question_never_reaches_a_model_cleared_for_class_1(
    world: World, openai_upstream: tuple[OpenAIUpstream, str], question: str, declared: int
) -> None:
    upstream, _ = openai_upstream
    mark = marker()
    with world.api("suzuki") as client:
        for _ in range(6):  # the pick is random: never abroad
            response = battle(client, question + mark, declared)
            assert response.status_code == 201, response.text
            assert response.json()["classification"] == 2
            stored = row(world, response.json()["id"])
            assert stored is not None and {stored.model_a, stored.model_b} == {"alpha", "beta"}
            assert stored.effective_class == 2
    seen = seen_by(upstream, mark)
    assert len(seen) == 12 and UPSTREAM["abroad"] not in seen
    assert not any(r.get("model") == UPSTREAM["abroad"] and "佐藤" in str(r.get("messages")) for r in upstream.requests)


def test_fewer_than_two_eligible_models_is_a_clear_error_and_calls_nothing(
    world: World, openai_upstream: tuple[OpenAIUpstream, str]
) -> None:
    upstream, _ = openai_upstream
    before = battles_count(world)
    world.platform.usage.flush()
    with world.platform.engine.connect() as connection:
        arena_calls = connection.execute(text("SELECT count(*) FROM usage_records WHERE endpoint = 'web.arena'")).scalar_one()
    mark = marker()
    cases = [("suzuki", "極秘の検討です。" + mark, 3), ("kato", "来年度の予算案について。" + mark, 2)]
    for name, question, declared in cases:
        with world.api(name) as client:
            response = battle(client, question, declared)
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["message"].startswith("比較できるモデルが2つありません")
        assert error["code"] == "arena_not_enough_models" and error["type"] == "permission_error"
    assert seen_by(upstream, mark) == []
    assert battles_count(world) == before
    world.platform.usage.flush()
    with world.platform.engine.connect() as connection:
        after = connection.execute(text("SELECT count(*) FROM usage_records WHERE endpoint = 'web.arena'")).scalar_one()
    assert after == arena_calls


@pytest.mark.parametrize("person", ["ito", "ueda"])
def test_models_the_policy_would_pseudonymise_for_or_reroute_from_are_not_eligible(
    world: World, openai_upstream: tuple[OpenAIUpstream, str], person: str
) -> None:
    upstream, _ = openai_upstream
    mark = marker()
    with world.api(person) as client:
        plain = battle(client, "公開資料の要約をしてください。" + mark)
        assert plain.status_code == 201, plain.text  # class 1: alpha and abroad both, as written
        stored = row(world, plain.json()["id"])
        assert stored is not None and {stored.model_a, stored.model_b} == {"alpha", "abroad"}
        personal = battle(client, PERSONAL + mark)
    # class 2: abroad would get placeholders (ito) or be rerouted away from (ueda): not eligible
    assert personal.status_code == 403 and personal.json()["error"]["code"] == "arena_not_enough_models"
    assert not any("佐藤" in str(r.get("messages")) or "〔氏名1〕" in str(r.get("messages"))
                   for r in upstream.requests if mark in str(r.get("messages")))
    assert len(seen_by(upstream, mark)) == 2


def test_a_fallback_never_answers_in_the_named_models_place(
    world: World, openai_upstream: tuple[OpenAIUpstream, str]
) -> None:
    upstream, _ = openai_upstream
    before = battles_count(world)
    mark = marker()
    with world.api("endo") as client:  # beta and down (whose fallback is beta)
        response = battle(client, "会議の案内文を作ってください。" + mark)
    assert response.status_code in (502, 503), response.text
    error = response.json()["error"]
    assert error["code"] == "arena_answer_failed" and "比較できませんでした" in error["message"]
    assert "beta" not in response.text and "down" not in response.text  # still anonymous
    assert sorted(seen_by(upstream, mark)) == sorted([UPSTREAM["beta"], UPSTREAM["down"]])  # beta once: its own answer
    assert battles_count(world) == before


def test_bad_requests_are_openai_shaped(world: World) -> None:
    with world.api("suzuki") as client:
        empty = battle(client, "   ")
        assert empty.status_code == 400 and empty.json()["error"]["param"] == "input"
        wrong = battle(client, "質問", "4")
        assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_classification"
    anonymous = httpx.post(world.server.root_url + "/v1/gennai/arena/battles", json={"input": "x"})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["type"] == "authentication_error"


# ------------------------------------------------------------------------------ votes


def test_one_vote_by_the_battles_own_person_reveals_the_models(world: World) -> None:
    with world.api("suzuki") as suzuki, world.api("sato") as sato:
        created = battle(suzuki, "議事録の書き方を教えてください。")
        battle_id = created.json()["id"]
        vote = f"/v1/gennai/arena/battles/{battle_id}/vote"
        other = sato.post(vote, json={"winner": "a"})
        assert other.status_code == 404 and other.json()["error"]["code"] == "arena_battle_not_found"
        assert sato.post("/v1/gennai/arena/battles/no-such-battle/vote", json={"winner": "a"}).status_code == 404
        invalid = suzuki.post(vote, json={"winner": "c"})
        assert invalid.status_code == 400 and invalid.json()["error"]["param"] == "winner"
        assert row(world, battle_id).winner is None  # type: ignore[union-attr]
        first = suzuki.post(vote, json={"winner": "b"})
        assert first.status_code == 200, first.text
        stored = row(world, battle_id)
        assert stored is not None and stored.winner == "b" and stored.voted_at is not None
        assert first.json() == {"id": battle_id, "winner": "b", "models": {"a": stored.model_a, "b": stored.model_b}}
        again = suzuki.post(vote, json={"winner": "a"})
        assert again.status_code == 409 and again.json()["error"]["code"] == "arena_already_voted"
        assert row(world, battle_id).winner == "b"  # type: ignore[union-attr]


def test_votes_race_and_only_one_counts(world: World) -> None:
    with world.api("suzuki") as client:
        battle_id = battle(client, "挨拶文を作ってください。").json()["id"]
    service = ArenaService(world.platform)
    principal = Principal("", "web", world.users["suzuki"], world.teams["shared"], ("chat",), False)

    async def both() -> list[Any]:
        return await asyncio.gather(
            *(service.vote(principal, battle_id, w) for w in ("a", "tie", "both_bad")), return_exceptions=True
        )

    results = asyncio.run(both())
    assert sum(1 for r in results if not isinstance(r, Exception)) == 1
    assert all(getattr(r, "status", None) == 409 for r in results if isinstance(r, Exception))


# ------------------------------------------------------------------------------ the leaderboard


def synthetic_votes() -> list[tuple[str, str, str]]:
    votes: list[tuple[str, str, str]] = []
    votes += [("strong", "weak", "a")] * 30 + [("weak", "strong", "a")] * 3 + [("strong", "weak", "tie")] * 4
    votes += [("strong", "mid", "a")] * 20 + [("mid", "strong", "a")] * 8 + [("mid", "strong", "both_bad")] * 2
    votes += [("mid", "weak", "a")] * 20 + [("weak", "mid", "a")] * 9 + [("mid", "weak", "tie")] * 3
    votes += [("twin", "mid", "a")] * 1
    return votes


def test_the_leaderboard_orders_models_with_intervals() -> None:
    rows = leaderboard_from_votes(synthetic_votes(), resamples=300)
    assert [r.model for r in rows][:1] == ["strong"] and rows[-1].model == "weak"
    by_model = {r.model: r for r in rows}
    for r in rows:
        assert r.interval.low <= r.interval.mean <= r.interval.high and r.interval.width > 0
        assert r.votes == r.wins + r.losses + r.ties + r.both_bad
    assert by_model["strong"].interval.above(by_model["weak"].interval)
    assert by_model["strong"].rank == 1 and by_model["weak"].rank > by_model["strong"].rank
    assert by_model["strong"].votes == 67 and by_model["strong"].wins == 50 and by_model["strong"].ties == 4
    assert by_model["strong"].both_bad == 2 and by_model["mid"].both_bad == 2
    # one vote: a wide interval, overlapping; overlapping models share a rank
    assert by_model["twin"].interval.width > by_model["mid"].interval.width
    assert by_model["twin"].rank == by_model["mid"].rank or not by_model["twin"].interval.overlaps(by_model["mid"].interval)
    # "both_bad" counts as a tie
    as_ties = [(a, b, "tie" if w == "both_bad" else w) for a, b, w in synthetic_votes()]
    same = {r.model: r.interval for r in leaderboard_from_votes(as_ties, resamples=300)}
    assert same == {r.model: r.interval for r in rows}
    # min_votes leaves the thin ones off the table
    assert "twin" not in {r.model for r in leaderboard_from_votes(synthetic_votes(), min_votes=5, resamples=50)}
    assert leaderboard_from_votes([]) == []


def test_the_leaderboard_api_is_for_evaluators_and_system_admins(world: World) -> None:
    now = datetime.now(UTC)
    with Session(world.platform.engine) as session, session.begin():
        for index, (a, b, w) in enumerate(synthetic_votes()):
            session.add(ArenaBattle(
                id=str(uuid.uuid4()), created_at=now, user_id=world.users["sato"], team_id=world.teams["shared"],
                effective_class=1, model_a=f"syn-{a}", model_b=f"syn-{b}", request_id_a=f"ra{index}",
                request_id_b=f"rb{index}", winner=w, voted_at=now,
            ))
    for name in ("hyoka", "kanri"):
        with world.api(name) as client:
            response = client.get("/v1/gennai/arena/leaderboard")
        assert response.status_code == 200, response.text
        data = response.json()
        assert "区別できません" in data["note"]
        order = [r["model"] for r in data["data"] if r["model"].startswith("syn-")]
        assert order[0] == "syn-strong" and order[-1] == "syn-weak"
        strong = next(r for r in data["data"] if r["model"] == "syn-strong")
        assert strong["low"] < strong["rating"] < strong["high"] and strong["votes"] == 67
    for name in ("suzuki", "kato"):
        with world.api(name) as client:
            refused = client.get("/v1/gennai/arena/leaderboard")
        assert refused.status_code == 403 and refused.json()["error"]["type"] == "permission_error"


# ------------------------------------------------------------------------------ privacy


def test_no_question_or_answer_text_is_stored(world: World) -> None:
    mark = marker()
    question = f"住民説明会の案内文を作ってください。{mark}"
    with world.api("suzuki") as client:
        created = battle(client, question)
        assert created.status_code == 201
        client.post(f"/v1/gennai/arena/battles/{created.json()['id']}/vote", json={"winner": "tie"})
    world.platform.usage.flush()
    with world.platform.engine.connect() as connection:
        columns = [c.name for c in ArenaBattle.__table__.columns]
        assert set(columns) == {"id", "created_at", "user_id", "team_id", "effective_class", "model_a", "model_b",
                                "request_id_a", "request_id_b", "winner", "voted_at"}
        for values in connection.execute(text("SELECT * FROM arena_battles")).all():
            flat = " ".join(map(str, values))
            assert mark not in flat and "住民" not in flat and "Hello from upstream" not in flat
        metadata = MetaData()
        metadata.reflect(connection)
        for table in metadata.sorted_tables:  # nor anywhere else in the database
            for values in connection.execute(table.select()).all():
                assert mark not in " ".join(map(str, values)), table.name


# ------------------------------------------------------------------------------ web


def signed_in(world: World, username: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=world.server.root_url, headers={"Origin": world.server.root_url}, timeout=30)
    ok = client.post("/auth/login", data={"username": username, "password": PASSWORD, "next": "/arena"})
    assert ok.status_code == 303, ok.text
    page = client.get("/arena")
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert token, page.text[:500]
    return client, html.unescape(token.group(1))


MODEL_NAMES = ("テスト alpha", "テスト beta", "テスト abroad")


def test_the_arena_page_compares_votes_and_reveals(world: World) -> None:
    client, token = signed_in(world, "suzuki")
    with closing(client):
        home = client.get("/")
        assert "比較モード（アリーナ）" in home.text and 'href="/arena"' in home.text
        assert 'href="/manage/arena"' not in home.text  # not an evaluator
        page = client.get("/arena")
        assert page.status_code == 200 and "<title>比較モード（アリーナ） | gennai</title>" in page.text
        assert 'action="/arena"' in page.text and 'name="csrf_token"' in page.text and "投票するまで表示しません" in page.text
        refused = client.post("/arena", data={"text": "質問", "classification": "1", "team": world.teams["shared"]})
        assert refused.status_code == 403 and "Traceback" not in refused.text
        mark = marker()
        shown = client.post("/arena", data={"csrf_token": token, "text": "挨拶文を作って" + mark, "classification": "1",
                                            "team": world.teams["shared"]})
        assert shown.status_code == 200, shown.text
        assert "回答A" in shown.text and "回答B" in shown.text and shown.text.count("Hello from upstream") == 2
        assert not any(name in shown.text for name in MODEL_NAMES)  # hidden before the vote
        battle_id = re.search(r'data-battle="([0-9a-f-]{36})"', shown.text).group(1)  # type: ignore[union-attr]
        assert f'action="/arena/{battle_id}/vote"' in shown.text
        voted = client.post(f"/arena/{battle_id}/vote", data={"csrf_token": token, "winner": "a"})
        assert voted.status_code == 303 and voted.headers["location"] == f"/arena/{battle_id}"
        revealed = client.get(voted.headers["location"])
        stored = row(world, battle_id)
        assert stored is not None and stored.winner == "a"
        assert f"テスト {stored.model_a}" in revealed.text and f"テスト {stored.model_b}" in revealed.text
        assert "回答Aの方が良い" in revealed.text
        again = client.post(f"/arena/{battle_id}/vote", data={"csrf_token": token, "winner": "b"},
                            headers={"HX-Request": "true"})
        assert again.status_code == 409 and "すでに投票" in again.text
    other, other_token = signed_in(world, "sato")
    with closing(other):
        assert other.get(f"/arena/{battle_id}").status_code == 404
        stolen = other.post(f"/arena/{battle_id}/vote", data={"csrf_token": other_token, "winner": "b"})
        assert stolen.status_code == 404 and "Traceback" not in stolen.text


def test_the_htmx_vote_swaps_in_the_revealed_models(world: World) -> None:
    client, token = signed_in(world, "suzuki")
    with closing(client):
        shown = client.post("/arena", data={"csrf_token": token, "text": "お知らせ文", "classification": "1",
                                            "team": world.teams["shared"]})
        battle_id = re.search(r'data-battle="([0-9a-f-]{36})"', shown.text).group(1)  # type: ignore[union-attr]
        fragment = client.post(f"/arena/{battle_id}/vote", data={"winner": "both_bad"},
                               headers={"HX-Request": "true", "X-CSRF-Token": token})
        assert fragment.status_code == 200 and fragment.text.lstrip().startswith('<div id="arena-vote"')
        stored = row(world, battle_id)
        assert stored is not None and stored.winner == "both_bad"
        assert f'data-model="a">テスト {stored.model_a}<' in fragment.text and "どちらも良くない" in fragment.text


def test_the_arena_page_errors_and_preview(world: World) -> None:
    client, token = signed_in(world, "kato")
    with closing(client):
        team = world.teams["solo"]
        too_few = client.post("/arena", data={"csrf_token": token, "text": "予算案の論点", "classification": "2", "team": team})
        assert too_few.status_code == 403 and "比較できるモデルが2つありません" in too_few.text
        assert "予算案の論点" in too_few.text  # the question is kept
        headers = {"HX-Request": "true", "X-CSRF-Token": token}
        ok = client.post("/arena/preview", data={"text": "公開資料の要約", "classification": "1", "team": team}, headers=headers)
        assert ok.status_code == 200 and "2つを選んで比較します" in ok.text and 'data-preview="compare"' in ok.text
        blocked = client.post("/arena/preview", data={"text": PERSONAL, "classification": "1", "team": team}, headers=headers)
        assert "比較できるモデルが2つありません" in blocked.text and 'data-preview="block"' in blocked.text
        assert 'data-role="findings"' in blocked.text and "090-1234-5678" not in blocked.text  # masked
        page = client.post("/arena/preview", data={"csrf_token": token, "text": "公開資料の要約", "classification": "1",
                                                   "team": team})
        assert page.status_code == 200 and "<title>比較モード（アリーナ） | gennai</title>" in page.text
        assert "2つを選んで比較します" in page.text and "公開資料の要約" in page.text


def test_the_leaderboard_page_is_for_evaluators(world: World) -> None:
    client, _ = signed_in(world, "hyoka")
    with closing(client):
        assert 'href="/manage/arena"' in client.get("/").text
        page = client.get("/manage/arena")
        assert page.status_code == 200, page.text
        assert "<title>アリーナの評価結果 | gennai</title>" in page.text and "区別できません" in page.text
        assert "95%区間" in page.text and 'aria-current="page"' in page.text
    member, _ = signed_in(world, "suzuki")
    with closing(member):
        refused = member.get("/manage/arena")
        assert refused.status_code == 403 and "Traceback" not in refused.text
