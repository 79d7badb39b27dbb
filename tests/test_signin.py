"""Local sign-in: password rules, argon2id, lockout with back-off, sessions, cookies, CSRF."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from gennai.accounts.passwords import (
    DEFAULT_HASHER,
    PasswordRejected,
    check_password,
    create_local_user,
    hash_password,
    set_password,
    verify_password,
)
from gennai.accounts.sessions import SessionStore, csrf_matches, session_id_for
from gennai.accounts.signin import (
    WRONG_CREDENTIALS,
    UnknownNameFailures,
    describe_user,
    lock_seconds,
    unlock_user,
    verify_password_sign_in,
)
from gennai.config import AuthConfig
from gennai.store.database import create_database_engine, migrate
from gennai.store.tables import SignInSession, User
from tests.support.servers import GennaiServer, running_gennai

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "blue whale over the quiet harbour"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'auth.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def _user(engine: Engine, name: str = "hanako", password: str = PASSWORD, hasher: PasswordHasher = CHEAP) -> str:
    return create_local_user(engine, name, password, display_name="佐藤 花子", hasher=hasher, now=T0).id


def _row(engine: Engine, user_id: str) -> User:
    with Session(engine, expire_on_commit=False) as session:
        user = session.get(User, user_id)
        assert user is not None
        return user


# --------------------------------------------------------------------------- passwords


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short", "password_too_short"),
        ("x" * 11, "password_too_short"),
        ("a" * 129, "password_too_long"),
        ("aaaaaaaaaaaaaa", "password_repetitive"),
        ("abababababababab", "password_repetitive"),
        ("123456789012", "password_repetitive"),
        ("zyxwvutsrqpo", "password_repetitive"),
        ("Password123!", "password_common"),
        ("P@ssw0rd2024!!", "password_common"),
        ("qwertyuiop123", "password_common"),
        ("sunshine-2025!", "password_common"),
        ("dragondragon", "password_common"),
        ("correct horse battery staple", "password_common"),
        ("ｐａｓｓｗｏｒｄ１２３４", "password_common"),  # full-width: NFKC makes it password1234
        ("doraemon19901231", "password_common"),
        ("I am hanako and I like tea", "password_contains_username"),
        ("my gennai password is long", "password_contains_service_name"),
    ],
)
def test_password_rules_refuse(password: str, code: str) -> None:
    with pytest.raises(PasswordRejected) as caught:
        check_password(password, min_length=12, username="hanako")
    assert caught.value.code == code
    assert " / " in caught.value.message  # Japanese / English
    assert any("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" for c in caught.value.message)


@pytest.mark.parametrize(
    "password",
    [
        PASSWORD,
        "これは十分に長い日本語のパスフレーズです",
        "tr0ub4dor & three goats",
        "lowercase only but long enough",
        "🍣🍵🗻 and a long tail",
        "x" * 12 + "y",
    ],
)
def test_password_rules_accept_any_characters_without_composition(password: str) -> None:
    check_password(password, min_length=12, username="hanako")


def test_minimum_length_follows_configuration() -> None:
    check_password("kappa mizu!", min_length=8)
    with pytest.raises(PasswordRejected):
        check_password("kappa mizu!", min_length=16)


def test_hashes_are_argon2id_rfc9106_and_nfkc() -> None:
    digest = hash_password("ｗｉｄｅ　ｃｈａｒａｃｔｅｒｓ　１２")
    assert digest.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(digest, "wide characters 12")  # half-width is the same password
    assert not verify_password(digest, "wide characters 13")
    assert not verify_password("not a hash", "anything")


def test_create_local_user_and_set_password(engine: Engine) -> None:
    user_id = _user(engine)
    row = _row(engine, user_id)
    assert row.password_hash and row.password_hash.startswith("$argon2id$")
    assert row.display_name == "佐藤 花子"
    with pytest.raises(ValueError, match="already exists"):
        _user(engine)
    with pytest.raises(PasswordRejected):
        create_local_user(engine, "taro", "password1234", hasher=CHEAP)
    with pytest.raises(PasswordRejected):
        set_password(engine, user_id, "hanako is my name", hasher=CHEAP)
    set_password(engine, user_id, "a new and different phrase", hasher=CHEAP)
    assert verify_password(_row(engine, user_id).password_hash or "", "a new and different phrase", CHEAP)


# --------------------------------------------------------------------------- sign-in


def test_sign_in_ok_wrong_and_unknown_look_alike(engine: Engine) -> None:
    user_id = _user(engine)
    config = AuthConfig()
    events: list[tuple[str, dict[str, Any]]] = []

    def audit(action: str, **fields: Any) -> None:
        events.append((action, fields))

    ok = verify_password_sign_in(engine, "hanako", PASSWORD, config, T0, audit=audit, ip="192.0.2.1", hasher=CHEAP)
    assert ok.ok and ok.user_id == user_id
    assert _row(engine, user_id).last_sign_in_at is not None
    wrong = verify_password_sign_in(engine, "hanako", PASSWORD + "x", config, T0, audit=audit, hasher=CHEAP)
    unknown = verify_password_sign_in(engine, "nobody", PASSWORD, config, T0, audit=audit, hasher=CHEAP)
    assert (wrong.outcome, wrong.message) == (unknown.outcome, unknown.message) == ("failed", WRONG_CREDENTIALS)
    assert [(a, f["outcome"], f["actor_user_id"], f["actor_name"]) for a, f in events] == [
        ("auth.sign_in", "ok", user_id, "hanako"),
        ("auth.sign_in", "failed", user_id, "hanako"),
        ("auth.sign_in", "failed", None, "nobody"),
    ]
    assert events[0][1]["detail"]["method"] == "password" and events[0][1]["ip"] == "192.0.2.1"


def test_full_width_password_signs_in(engine: Engine) -> None:
    _user(engine, password="ＲＥＤ　ｂｉｃｙｃｌｅ　ａｔ　ｄａｗｎ")
    assert verify_password_sign_in(engine, "hanako", "RED bicycle at dawn", AuthConfig(), T0, hasher=CHEAP).ok


def test_rehash_when_parameters_change(engine: Engine) -> None:
    user_id = _user(engine, hasher=CHEAP)
    before = _row(engine, user_id).password_hash
    assert before and "m=1024,t=1,p=1" in before
    assert verify_password_sign_in(engine, "hanako", PASSWORD, AuthConfig(), T0, hasher=DEFAULT_HASHER).ok
    after = _row(engine, user_id).password_hash
    assert after and after.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password_sign_in(engine, "hanako", PASSWORD, AuthConfig(), T0, hasher=DEFAULT_HASHER).ok
    assert _row(engine, user_id).password_hash == after  # not rehashed again


def test_lock_seconds_double_and_cap() -> None:
    config = AuthConfig(lockout_threshold=3, lockout_base_s=60, lockout_max_s=300)
    assert [lock_seconds(n, config) for n in range(1, 8)] == [0, 0, 60, 120, 240, 300, 300]


def test_lockout_with_back_off_and_reset(engine: Engine) -> None:
    user_id = _user(engine)
    config = AuthConfig(lockout_threshold=3, lockout_base_s=60, lockout_max_s=300)

    def attempt(at: datetime, password: str = "wrong password here") -> Any:
        return verify_password_sign_in(engine, "hanako", password, config, at, hasher=CHEAP)

    assert attempt(T0).outcome == "failed"
    assert attempt(T0).outcome == "failed"
    third = attempt(T0)
    assert third.outcome == "locked" and third.locked_until == T0 + timedelta(seconds=60)
    assert "JST" in third.message and "locked until" in third.message
    assert third.retry_after_s(T0) == 60
    # While locked even the right password is refused, and the refusal does not count.
    during = attempt(T0 + timedelta(seconds=30), PASSWORD)
    assert during.outcome == "locked" and during.locked_until == T0 + timedelta(seconds=60)
    assert _row(engine, user_id).failed_sign_ins == 3
    # After the lock, each further failure doubles it: 120, 240, then the 300 s cap.
    t = T0 + timedelta(seconds=61)
    for expected in (120, 240, 300, 300):
        result = attempt(t)
        assert result.outcome == "locked" and result.locked_until == t + timedelta(seconds=expected)
        t = t + timedelta(seconds=expected + 1)
    ok = attempt(t, PASSWORD)
    assert ok.ok
    row = _row(engine, user_id)
    assert row.failed_sign_ins == 0 and row.locked_until is None
    assert attempt(t).outcome == "failed"  # counting starts again from zero


def test_unknown_names_lock_like_real_accounts(engine: Engine) -> None:
    _user(engine)
    config = AuthConfig(lockout_threshold=2, lockout_base_s=60, lockout_max_s=300)
    unknown = UnknownNameFailures()
    real = [verify_password_sign_in(engine, "hanako", "bad bad bad bad", config, T0, hasher=CHEAP, unknown=unknown) for _ in range(3)]
    ghost = [verify_password_sign_in(engine, "ghost", "bad bad bad bad", config, T0, hasher=CHEAP, unknown=unknown) for _ in range(3)]
    assert [r.outcome for r in real] == [r.outcome for r in ghost] == ["failed", "locked", "locked"]
    assert real[-1].message == ghost[-1].message


def test_unlock_clears_the_lock(engine: Engine) -> None:
    user_id = _user(engine)
    config = AuthConfig(lockout_threshold=1, lockout_base_s=600)
    assert verify_password_sign_in(engine, "hanako", "nope nope nope", config, T0, hasher=CHEAP).outcome == "locked"
    assert verify_password_sign_in(engine, "hanako", PASSWORD, config, T0, hasher=CHEAP).outcome == "locked"
    assert unlock_user(engine, "hanako")
    assert not unlock_user(engine, "nobody")
    assert verify_password_sign_in(engine, "hanako", PASSWORD, config, T0, hasher=CHEAP).ok
    assert _row(engine, user_id).failed_sign_ins == 0


def test_disabled_user_is_refused(engine: Engine) -> None:
    user_id = _user(engine)
    with Session(engine) as session, session.begin():
        session.execute(update(User).where(User.id == user_id).values(disabled=True))
    right = verify_password_sign_in(engine, "hanako", PASSWORD, AuthConfig(), T0, hasher=CHEAP)
    assert right.outcome == "disabled" and "disabled" in right.message
    wrong = verify_password_sign_in(engine, "hanako", "some other phrase", AuthConfig(), T0, hasher=CHEAP)
    assert wrong.outcome == "failed" and wrong.message == WRONG_CREDENTIALS


# --------------------------------------------------------------------------- sessions


def test_session_tokens_are_stored_hashed(engine: Engine) -> None:
    user_id = _user(engine)
    store = SessionStore(engine, AuthConfig())
    token, csrf = store.create(user_id, "password", T0)
    assert len(token) >= 43 and len(csrf) >= 43
    with Session(engine) as session:
        row = session.scalars(select(SignInSession)).one()
    assert row.id == session_id_for(token) != token
    info = store.verify(token, T0)
    assert info is not None and info.user_id == user_id and info.username == "hanako" and info.csrf_token == csrf
    assert info.method == "password" and info.expires_at == T0 + timedelta(hours=10)
    assert store.verify("x" * 43, T0) is None and store.verify("", T0) is None and store.verify("../etc", T0) is None


def test_absolute_expiry(engine: Engine) -> None:
    user_id = _user(engine)
    store = SessionStore(engine, AuthConfig(session_hours=2, session_idle_minutes=60))
    token, _ = store.create(user_id, "password", T0)
    t = T0
    while t < T0 + timedelta(hours=2) - timedelta(minutes=30):  # active all the time
        t += timedelta(minutes=30)
        assert store.verify(token, t) is not None
    assert store.verify(token, T0 + timedelta(hours=2)) is None


def test_idle_expiry_and_touch_at_most_once_a_minute(engine: Engine) -> None:
    user_id = _user(engine)
    store = SessionStore(engine, AuthConfig(session_idle_minutes=15), cache_ttl_s=0)
    token, _ = store.create(user_id, "password", T0)

    def stored_last_seen() -> datetime:
        with Session(engine) as session:
            value = session.scalars(select(SignInSession.last_seen_at)).one()
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    assert store.verify(token, T0 + timedelta(seconds=30)) is not None
    assert stored_last_seen() == T0  # no write within the minute
    assert store.verify(token, T0 + timedelta(seconds=61)) is not None
    assert stored_last_seen() == T0 + timedelta(seconds=61)
    assert store.verify(token, T0 + timedelta(seconds=61 + 14 * 60)) is not None  # still within 15 idle minutes
    last = T0 + timedelta(seconds=61 + 14 * 60)
    assert store.verify(token, last + timedelta(minutes=15, seconds=1)) is None


def test_revoke_revoke_all_and_disabled_user(engine: Engine) -> None:
    user_id = _user(engine)
    other = _user(engine, "taro", "another long pass phrase")
    store = SessionStore(engine, AuthConfig())
    a, _ = store.create(user_id, "password", T0)
    b, _ = store.create(user_id, "oidc", T0)
    c, _ = store.create(other, "password", T0)
    assert all(store.verify(t, T0) for t in (a, b, c))  # now cached
    assert store.revoke(a, T0)
    assert store.verify(a, T0) is None  # immediately, despite the cache
    assert not store.revoke(a, T0)
    assert store.revoke_all(user_id, T0) == 1
    assert store.verify(b, T0) is None
    assert store.verify(c, T0) is not None
    with Session(engine) as session, session.begin():
        session.execute(update(User).where(User.id == other).values(disabled=True))
    store.forget_user(other)
    assert store.verify(c, T0) is None


def test_csrf_matches_is_exact(engine: Engine) -> None:
    store = SessionStore(engine, AuthConfig())
    token, csrf = store.create(_user(engine), "password", T0)
    info = store.verify(token, T0)
    assert info is not None
    assert csrf_matches(info, csrf)
    assert not csrf_matches(info, csrf[:-1] + ("A" if csrf[-1] != "A" else "B"))
    assert not csrf_matches(info, None) and not csrf_matches(info, "") and not csrf_matches(info, "日本語")


def test_describe_user(engine: Engine) -> None:
    profile = describe_user(engine, _user(engine))
    assert profile is not None and profile.username == "hanako" and profile.teams == () and profile.roles == ()


# --------------------------------------------------------------------------- over HTTP

AUTH_TOML = """
[auth]
lockout_threshold = 3
lockout_base_s = 60
lockout_max_s = 600
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GennaiServer]:
    with running_gennai(tmp_path_factory.mktemp("signin"), "", extra_toml=AUTH_TOML) as server:
        engine = server.platform.engine
        create_local_user(engine, "hanako", PASSWORD, display_name="佐藤 花子", hasher=CHEAP)
        create_local_user(engine, "jiro", PASSWORD, hasher=CHEAP)
        create_local_user(engine, "locky", PASSWORD, hasher=CHEAP)
        yield server


def _login(server: GennaiServer, username: str = "hanako", password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"{server.root_url}/auth/login", json={"username": username, "password": password})


def _cookie(response: httpx.Response) -> str:
    header = next(v for k, v in response.headers.multi_items() if k.lower() == "set-cookie" and v.startswith("gennai_session="))
    return header.split(";", 1)[0].split("=", 1)[1]


def _with(token: str, csrf: str | None = None) -> dict[str, str]:
    headers = {"Cookie": f"gennai_session={token}"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return headers


def test_http_login_sets_a_secure_cookie_and_me_answers(server: GennaiServer) -> None:
    response = _login(server)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["username"] == "hanako" and body["user"]["display_name"] == "佐藤 花子"
    assert body["csrf_token"]
    set_cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in set_cookie.split(";")}
    assert "secure" in attributes and "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=lax"
    assert attributes["path"] == "Path=/"
    assert response.headers["cache-control"] == "no-store"
    token = _cookie(response)
    me = httpx.get(f"{server.root_url}/auth/me", headers=_with(token))
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "hanako" and me.json()["csrf_token"] == body["csrf_token"]
    assert me.json()["session"]["method"] == "password"
    assert httpx.get(f"{server.root_url}/auth/me").status_code == 401


def test_http_wrong_password_and_unknown_user_get_the_same_answer(server: GennaiServer) -> None:
    wrong = _login(server, "jiro", "not the password at all")
    unknown = _login(server, "no-such-user", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    assert "set-cookie" not in wrong.headers
    missing = httpx.post(f"{server.root_url}/auth/login", json={"username": "jiro"})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "password"


def test_http_lockout_answers_429_with_retry_after(server: GennaiServer) -> None:
    statuses = [_login(server, "locky", "wrong wrong wrong").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    locked = _login(server, "locky", PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "account_locked"
    assert 1 <= int(locked.headers["retry-after"]) <= 60
    assert "JST" in locked.json()["error"]["message"]


def test_http_logout_needs_csrf(server: GennaiServer) -> None:
    body = _login(server).json()
    token = _cookie(_login(server))  # a second session; the first stays valid
    csrf = httpx.get(f"{server.root_url}/auth/me", headers=_with(token)).json()["csrf_token"]
    refused = httpx.post(f"{server.root_url}/auth/logout", headers=_with(token))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_token_invalid"
    wrong = httpx.post(f"{server.root_url}/auth/logout", headers=_with(token, body["csrf_token"]))
    assert wrong.status_code == 403  # another session's token does not do
    assert httpx.get(f"{server.root_url}/auth/me", headers=_with(token)).status_code == 200
    done = httpx.post(f"{server.root_url}/auth/logout", headers=_with(token, csrf))
    assert done.status_code == 200 and done.json()["signed_out"] is True
    assert 'gennai_session=""' in done.headers["set-cookie"] or "Max-Age=0" in done.headers["set-cookie"]
    assert httpx.get(f"{server.root_url}/auth/me", headers=_with(token)).status_code == 401


def test_http_logout_with_form_field_csrf(server: GennaiServer) -> None:
    response = _login(server)
    token, csrf = _cookie(response), response.json()["csrf_token"]
    done = httpx.post(f"{server.root_url}/auth/logout", headers=_with(token), data={"csrf_token": csrf})
    assert done.status_code == 303 and done.headers["location"] == "/login?signed_out=1"  # the header's button
    assert httpx.get(f"{server.root_url}/auth/me", headers=_with(token)).status_code == 401


def test_http_logout_all_revokes_every_session(server: GennaiServer) -> None:
    first = _login(server, "jiro")
    second = _login(server, "jiro")
    other = _login(server, "hanako")
    token1, csrf1 = _cookie(first), first.json()["csrf_token"]
    token2, token3 = _cookie(second), _cookie(other)
    assert httpx.post(f"{server.root_url}/auth/logout-all", headers=_with(token1)).status_code == 403
    done = httpx.post(f"{server.root_url}/auth/logout-all", headers=_with(token1, csrf1))
    assert done.status_code == 200 and done.json()["sessions_revoked"] >= 2
    assert httpx.get(f"{server.root_url}/auth/me", headers=_with(token1)).status_code == 401
    assert httpx.get(f"{server.root_url}/auth/me", headers=_with(token2)).status_code == 401
    assert httpx.get(f"{server.root_url}/auth/me", headers=_with(token3)).status_code == 200


def test_http_form_login_same_site_only(server: GennaiServer) -> None:
    form = {"username": "hanako", "password": PASSWORD, "next": "/chat?x=1"}
    ok = httpx.post(f"{server.root_url}/auth/login", data=form, headers={"Origin": server.root_url})
    assert ok.status_code == 303 and ok.headers["location"] == "/chat?x=1"
    assert httpx.get(f"{server.root_url}/auth/me", headers=_with(_cookie(ok))).status_code == 200
    cross = httpx.post(f"{server.root_url}/auth/login", data=form, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403 and cross.json()["error"]["code"] == "cross_site_form"
    fetch = httpx.post(f"{server.root_url}/auth/login", data=form, headers={"Sec-Fetch-Site": "cross-site"})
    assert fetch.status_code == 403
    away = httpx.post(f"{server.root_url}/auth/login", data={**form, "next": "//evil.example/"}, headers={"Origin": server.root_url})
    assert away.status_code == 303 and away.headers["location"] == "/login?error=invalid_next"
    wrong = httpx.post(f"{server.root_url}/auth/login", data={**form, "password": "x"}, headers={"Origin": server.root_url})
    assert wrong.status_code == 303 and wrong.headers["location"] == "/login?error=invalid_credentials&next=%2Fchat%3Fx%3D1"
    assert "set-cookie" not in wrong.headers


def test_http_oidc_routes_say_when_not_configured(server: GennaiServer) -> None:
    response = httpx.get(f"{server.root_url}/auth/oidc/login")
    assert response.status_code == 404 and response.json()["error"]["code"] == "oidc_not_configured"


# --------------------------------------------------------------------------- command line


def _cli(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gennai", *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_cli_users_create_set_password_unlock(tmp_path: Path) -> None:
    assert _cli("init", "--dir", str(tmp_path), cwd=tmp_path).returncode == 0
    config = str(tmp_path / "gennai.toml")
    weak = _cli("users", "create", "kenji", "--config", config, "--password-stdin", cwd=tmp_path, stdin="password1234\n")
    assert weak.returncode == 2 and "よく使われる" in weak.stderr and weak.stderr.count("\n") <= 2
    made = _cli(
        "users", "create", "kenji", "--display-name", "田中 健二", "--email", "kenji@example.go.jp", "--system-admin",
        "--config", config, "--password-stdin", cwd=tmp_path, stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    again = _cli("users", "create", "kenji", "--config", config, "--password-stdin", cwd=tmp_path, stdin=PASSWORD + "\n")
    assert again.returncode == 2 and "already exists" in again.stderr

    engine = create_database_engine(f"sqlite:///{tmp_path / 'data' / 'gennai.db'}")
    try:
        with Session(engine) as session:
            user = session.scalars(select(User).where(User.username == "kenji")).one()
            assert user.display_name == "田中 健二" and user.is_system_admin and user.email == "kenji@example.go.jp"
        config_obj = AuthConfig(lockout_threshold=1)
        assert verify_password_sign_in(engine, "kenji", PASSWORD, config_obj).ok
        store = SessionStore(engine, config_obj)
        token, _ = store.create(user.id, "password")
        assert verify_password_sign_in(engine, "kenji", "wrong wrong wrong", config_obj).outcome == "locked"

        unlocked = _cli("users", "unlock", "kenji", "--config", config, cwd=tmp_path)
        assert unlocked.returncode == 0, unlocked.stderr
        assert _cli("users", "unlock", "nobody", "--config", config, cwd=tmp_path).returncode == 2
        changed = _cli("users", "set-password", "kenji", "--config", config, "--password-stdin", cwd=tmp_path, stdin="a fresh new phrase today\n")
        assert changed.returncode == 0, changed.stderr
        assert "1 session(s) signed out" in changed.stdout
        assert store.verify(token) is None
        assert verify_password_sign_in(engine, "kenji", "a fresh new phrase today", config_obj).ok
    finally:
        engine.dispose()
