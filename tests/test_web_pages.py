"""The sign-in page and the home page, signed out and signed in."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gennai.accounts.passwords import set_password
from tests.support.openai_upstream import OpenAIUpstream
from tests.support.servers import GennaiServer, running_gennai
from tests.test_policy_routing import models

PASSWORD = "kumo-no-ue-no-sora-2026"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, openai_upstream: tuple[OpenAIUpstream, str]) -> Iterator[GennaiServer]:
    # plain http in the test: httpx (unlike browsers on localhost) keeps Secure cookies for https only
    extra = "[auth]\nsecure_cookies = false\n"
    with running_gennai(tmp_path_factory.mktemp("web"), models(openai_upstream[1]), extra_toml=extra) as s:
        user = s.platform.users.create("suzuki", display_name="鈴木 一郎")
        set_password(s.platform.engine, user.id, PASSWORD)
        yield s


def test_signed_out_visitors_go_to_the_sign_in_page(server: GennaiServer) -> None:
    home = httpx.get(server.root_url + "/")
    assert home.status_code == 303 and home.headers["location"] == "/login?next=/"
    page = httpx.get(server.root_url + "/login")
    assert page.status_code == 200 and 'lang="ja"' in page.text and "サインイン" in page.text
    assert 'name="username"' in page.text and 'autocomplete="current-password"' in page.text


def test_sign_in_with_the_form_then_home_then_sign_out(server: GennaiServer) -> None:
    with httpx.Client(base_url=server.root_url, headers={"Origin": server.root_url}) as browser:
        wrong = browser.post("/auth/login", data={"username": "suzuki", "password": "nope", "next": "/"})
        assert wrong.status_code == 303 and wrong.headers["location"].startswith("/login?error=invalid_credentials")
        assert "正しくありません" in browser.get(wrong.headers["location"]).text
        ok = browser.post("/auth/login", data={"username": "suzuki", "password": PASSWORD, "next": "/"})
        assert ok.status_code == 303 and ok.headers["location"] == "/"
        home = browser.get("/")
        assert home.status_code == 200 and "鈴木 一郎さん、こんにちは" in home.text
        assert 'aria-current="page"' in home.text and "サインアウト" in home.text
        assert browser.get("/login").status_code == 303  # already signed in
        token = home.text.split('name="csrf_token" value="')[1].split('"')[0]
        out = browser.post("/auth/logout", data={"csrf_token": token})
        assert out.status_code == 303 and out.headers["location"] == "/login?signed_out=1"
        assert browser.get("/").status_code == 303


def test_static_assets_are_cached_and_compressed(server: GennaiServer) -> None:
    page = httpx.get(server.root_url + "/login")
    css = page.text.split('rel="stylesheet" href="')[1].split('"')[0]
    asset = httpx.get(server.root_url + css, headers={"Accept-Encoding": "gzip"})
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert asset.headers.get("content-encoding") == "gzip"


def test_unknown_pages_are_a_friendly_page_for_browsers_and_json_for_apis(server: GennaiServer) -> None:
    page = httpx.get(server.root_url + "/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "ページが見つかりません" in page.text
    api = httpx.get(server.root_url + "/v1/no-such-thing", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json()["error"]["type"] == "not_found_error"
