"""OpenID Connect sign-in end to end against a real provider on loopback (panva's
oidc-provider, run by node): discovery, authorization code + PKCE, ID token checks, claims
mapped to teams and roles, and the refusals (tampered state, wrong nonce, replays)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gennai.accounts.oidc import LoginState, OidcClient, safe_next_path
from gennai.config import OidcConfig
from gennai.store.tables import Membership, Team, User
from tests.support import servers
from tests.support.oidc_provider import OidcProvider, running_oidc_provider, sign_in_at_provider
from tests.support.servers import GennaiServer, running_gennai

OIDC_TOML = """
[auth]
secure_cookies = false
[auth.oidc]
issuer = "{issuer}"
client_id = "gennai"
client_secret_file = "{secret_file}"
redirect_uri = "{redirect_uri}"
scopes = ["openid", "profile", "email", "groups"]
team_map = {{ "g-soumu" = "soumu", "g-nowhere" = "no-such-team" }}
team_admin_map = {{ "g-soumu-admins" = "soumu" }}
role_map = {{ "g-auditors" = "auditor" }}
"""


@dataclass
class Setup:
    gennai: GennaiServer
    provider: OidcProvider
    callback: str

    @property
    def oidc(self) -> OidcClient:
        client = self.gennai.platform.auth.oidc
        assert client is not None
        return client


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("oidc")
    gennai_port = servers.free_port()
    callback = f"http://127.0.0.1:{gennai_port}/auth/oidc/callback"
    secret = uuid.uuid4().hex
    secret_file = tmp / "oidc-client-secret"
    secret_file.write_text(secret + "\n", encoding="utf-8")
    with running_oidc_provider(callback, secret) as provider, pytest.MonkeyPatch.context() as patch:
        patch.setattr(servers, "free_port", lambda: gennai_port)
        toml = OIDC_TOML.format(issuer=provider.issuer, secret_file=secret_file.as_posix(), redirect_uri=callback)
        with running_gennai(tmp, "", extra_toml=toml) as gennai:
            with Session(gennai.platform.engine) as session, session.begin():
                session.add(Team(id=str(uuid.uuid4()), name="soumu", display_name="総務課", created_at=datetime.now(UTC)))
                session.add(Team(id=str(uuid.uuid4()), name="kikaku", display_name="企画課", created_at=datetime.now(UTC)))
            yield Setup(gennai, provider, callback)


def _browser() -> httpx.Client:
    return httpx.Client(follow_redirects=False, timeout=30)


def _start(setup: Setup, browser: httpx.Client, next_path: str = "/after") -> str:
    response = browser.get(f"{setup.gennai.root_url}/auth/oidc/login", params={"next": next_path})
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(setup.provider.issuer + "/auth?")
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["nonce"][0] and query["state"][0] and query["response_type"] == ["code"]
    assert "gennai_oidc" in browser.cookies
    return location


def _callback_url(setup: Setup, browser: httpx.Client, login: str = "alice-0001", next_path: str = "/after") -> str:
    return sign_in_at_provider(browser, _start(setup, browser, next_path), setup.callback, login)


def _me(setup: Setup, browser: httpx.Client) -> httpx.Response:
    return browser.get(f"{setup.gennai.root_url}/auth/me")


def test_sign_in_end_to_end_maps_teams_and_roles(setup: Setup) -> None:
    with _browser() as browser:
        url = _callback_url(setup, browser, next_path="/chat?room=1")
        assert parse_qs(urlsplit(url).query)["iss"] == [setup.provider.issuer]
        done = browser.get(url)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/chat?room=1"
        set_cookies = [v for k, v in done.headers.multi_items() if k.lower() == "set-cookie"]
        session_cookie = next(v for v in set_cookies if v.startswith("gennai_session="))
        assert "httponly" in session_cookie.lower() and "samesite=lax" in session_cookie.lower()
        assert any(v.startswith("gennai_oidc=") and "Max-Age=0" in v for v in set_cookies)  # single use
        me = _me(setup, browser)
        assert me.status_code == 200, me.text
        user = me.json()["user"]
        assert user["username"] == "alice" and user["display_name"] == "山田 アリス"
        assert user["email"] == "alice@example.go.jp"
        assert user["roles"] == ["auditor"] and user["is_system_admin"] is False
        assert [(t["name"], t["is_admin"]) for t in user["teams"]] == [("soumu", True)]
        assert me.json()["session"]["method"] == "oidc" and me.json()["csrf_token"]

    with Session(setup.gennai.platform.engine) as session:
        row = session.scalars(select(User).where(User.username == "alice")).one()
        assert (row.oidc_issuer, row.oidc_subject) == (setup.provider.issuer, "alice-0001")
        assert row.password_hash is None
        # An administrator adds alice to another team; signing in again keeps it.
        kikaku = session.scalars(select(Team).where(Team.name == "kikaku")).one()
        session.add(Membership(team_id=kikaku.id, user_id=row.id, is_admin=False, created_at=datetime.now(UTC)))
        session.commit()
        alice_id = row.id

    with _browser() as browser:
        assert browser.get(_callback_url(setup, browser)).status_code == 303
        user = _me(setup, browser).json()["user"]
        assert user["id"] == alice_id  # found again by (issuer, subject)
        assert sorted((t["name"], t["is_admin"]) for t in user["teams"]) == [("kikaku", False), ("soumu", True)]


def test_member_without_admin_group(setup: Setup) -> None:
    with _browser() as browser:
        assert browser.get(_callback_url(setup, browser, "bob-0002")).status_code == 303
        user = _me(setup, browser).json()["user"]
        assert user["username"] == "bob" and user["roles"] == []
        assert [(t["name"], t["is_admin"]) for t in user["teams"]] == [("soumu", False)]


def test_sign_out_of_an_oidc_session(setup: Setup) -> None:
    with _browser() as browser:
        browser.get(_callback_url(setup, browser, "bob-0002"))
        csrf = _me(setup, browser).json()["csrf_token"]
        assert browser.post(f"{setup.gennai.root_url}/auth/logout").status_code == 403
        assert browser.post(f"{setup.gennai.root_url}/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
        assert _me(setup, browser).status_code == 401


def test_tampered_state_parameter_is_refused(setup: Setup) -> None:
    with _browser() as browser:
        url = _callback_url(setup, browser)
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query["state"] = query["state"][:-2] + ("AA" if not query["state"].endswith("AA") else "BB")
        response = browser.get(f"{setup.callback}?{urlencode(query)}")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "oidc_state_mismatch"
        assert "gennai_session" not in browser.cookies
        assert _me(setup, browser).status_code == 401


def test_tampered_state_cookie_is_refused(setup: Setup) -> None:
    with _browser() as browser:
        url = _callback_url(setup, browser)
        sealed = browser.cookies["gennai_oidc"]
        flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
        browser.cookies.set("gennai_oidc", flipped, domain="127.0.0.1", path="/auth/oidc")
        response = browser.get(url)
        assert response.status_code == 400 and response.json()["error"]["code"] == "oidc_state_invalid"


def test_wrong_nonce_is_refused(setup: Setup) -> None:
    """A state cookie (validly sealed, as if by gennai) whose nonce is not the one the
    provider put in the ID token: the token exchange succeeds, the ID token check fails."""
    with _browser() as browser:
        url = _callback_url(setup, browser)
        login = setup.oidc.unseal(browser.cookies["gennai_oidc"])
        forged = LoginState(login.id, login.state, "another-nonce", login.code_verifier, login.next_path, login.expires)
        browser.cookies.set("gennai_oidc", setup.oidc.seal(forged), domain="127.0.0.1", path="/auth/oidc")
        response = browser.get(url)
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "oidc_id_token_invalid" and "nonce" in error["message"]
        assert _me(setup, browser).status_code == 401


def test_wrong_code_verifier_is_refused_by_the_provider(setup: Setup) -> None:
    with _browser() as browser:
        url = _callback_url(setup, browser)
        login = setup.oidc.unseal(browser.cookies["gennai_oidc"])
        forged = LoginState(login.id, login.state, login.nonce, "x" * 64, login.next_path, login.expires)
        browser.cookies.set("gennai_oidc", setup.oidc.seal(forged), domain="127.0.0.1", path="/auth/oidc")
        response = browser.get(url)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "oidc_token_refused" and "invalid_grant" in response.json()["error"]["message"]


def test_replayed_callback_is_refused(setup: Setup) -> None:
    with _browser() as browser:
        url = _callback_url(setup, browser)
        sealed = browser.cookies["gennai_oidc"]
        assert browser.get(url).status_code == 303
        # The same browser again: the state cookie is gone.
        again = browser.get(url)
        assert again.status_code == 400 and again.json()["error"]["code"] == "oidc_state_missing"
    with _browser() as attacker:
        # Someone who kept the cookie and the callback URL.
        attacker.cookies.set("gennai_oidc", sealed, domain="127.0.0.1", path="/auth/oidc")
        replay = attacker.get(url)
        assert replay.status_code == 400 and replay.json()["error"]["code"] == "oidc_state_used"
        assert _me(setup, attacker).status_code == 401


def test_provider_error_is_reported(setup: Setup) -> None:
    with _browser() as browser:
        location = _start(setup, browser)
        state = parse_qs(urlsplit(location).query)["state"][0]
        response = browser.get(setup.callback, params={"error": "access_denied", "state": state})
        assert response.status_code == 401 and response.json()["error"]["code"] == "oidc_provider_refused"
        assert "access_denied" in response.json()["error"]["message"]


def test_login_refuses_open_redirects(setup: Setup) -> None:
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "/ok\r\nX: y"):
        response = httpx.get(f"{setup.gennai.root_url}/auth/oidc/login", params={"next": bad})
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "invalid_next"


def test_safe_next_path() -> None:
    assert safe_next_path(None) == "/" and safe_next_path("") == "/"
    assert safe_next_path("/chat?x=1#y") == "/chat?x=1#y"
    for bad in ("chat", "//x", "/\\x", "http://x/", "/a\\b", "/a\x00", "\\\\x"):
        assert safe_next_path(bad) is None, bad


def test_issuer_must_be_https_off_loopback(tmp_path: Path) -> None:
    config = OidcConfig(issuer="http://idp.example.go.jp", client_id="x", redirect_uri="https://gennai.example.go.jp/auth/oidc/callback")
    with pytest.raises(ValueError, match="https"):
        OidcClient(config, "secret", b"k" * 32)
