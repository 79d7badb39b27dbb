"""Apps of a team (issue 5): an app file with `teams = ["jinji"]` is listed on the home page
of the team's members under チームのアプリ and is invisible (404) to everyone else, on the
page, its run endpoint and the app list; `teams = ["common"]` makes an app of the common
team that everyone sees under 共通チームのアプリ; an app without teams is a general app."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gennai.accounts.passwords import set_password
from tests.support.openai_upstream import OpenAIUpstream
from tests.support.servers import GennaiServer, running_gennai
from tests.test_policy_routing import models

PASSWORD = "kumo-no-ue-no-sora-2026"

APP = '''
title = "{title}"
{teams}
description = """
{title}のためのアプリです。
"""

[form.text]
type = "textarea"
title = "文章"
required = true

[prompt]
user = "次の文章を読んでください。\\n{{text}}"
'''


def write_app(folder: Path, app_id: str, title: str, teams: list[str] | None) -> None:
    line = "teams = [" + ", ".join(f'"{t}"' for t in teams) + "]" if teams is not None else ""
    (folder / f"{app_id}.toml").write_text(APP.format(title=title, teams=line), encoding="utf-8")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, openai_upstream: tuple[OpenAIUpstream, str]) -> Iterator[GennaiServer]:
    folder = tmp_path_factory.mktemp("team-apps")
    write_app(folder, "jinji_memo", "人事課メモ作成", ["jinji"])
    write_app(folder, "common_faq", "庁内FAQ回答", ["common"])
    extra = f'[auth]\nsecure_cookies = false\n[apps]\nfolders = ["{folder}"]\n'
    with running_gennai(tmp_path_factory.mktemp("web-team-apps"), models(openai_upstream[1]), extra_toml=extra) as s:
        member = s.platform.users.create("kato", display_name="加藤 恵")
        outsider = s.platform.users.create("ito", display_name="伊藤 誠")
        for user in (member, outsider):
            set_password(s.platform.engine, user.id, PASSWORD)
        s.platform.teams.create("jinji", "人事課", admin_user_id=member.id)
        yield s


def signed_in(server: GennaiServer, username: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=server.root_url, headers={"Origin": server.root_url}, timeout=30)
    assert client.post("/auth/login", data={"username": username, "password": PASSWORD}).status_code == 303
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', client.get("/").text)
    assert token
    return client, html.unescape(token.group(1))


def test_members_see_their_teams_apps_under_their_own_heading(server: GennaiServer) -> None:
    client, _ = signed_in(server, "kato")
    try:
        home = client.get("/").text
        assert "チームのアプリ" in home and "人事課メモ作成" in home
        assert "共通チームのアプリ" in home and "庁内FAQ回答" in home
        assert "汎用アプリ" in home and "要約" in home
        assert client.get("/apps/jinji_memo").status_code == 200
        assert "人事課メモ作成" in client.get("/apps").text
    finally:
        client.close()


def test_others_never_see_a_teams_app(server: GennaiServer) -> None:
    client, token = signed_in(server, "ito")
    try:
        home = client.get("/").text
        assert "人事課メモ作成" not in home and "チームのアプリ" not in home.replace("共通チームのアプリ", "")
        assert "庁内FAQ回答" in home
        assert "人事課メモ作成" not in client.get("/apps").text
        assert client.get("/apps/jinji_memo").status_code == 404
        run = client.post("/apps/jinji_memo/run", json={"inputs": {"text": "テスト"}},
                          headers={"X-CSRF-Token": token, "Accept": "text/event-stream"})
        assert run.status_code == 404, run.text[:300]
        preview = client.post("/apps/jinji_memo/preview", data={"text": "テスト"}, headers={"X-CSRF-Token": token})
        assert preview.status_code == 404 or "このアプリはありません" in preview.text
    finally:
        client.close()
