"""The web interface's committed assets, base layout, macros and static mount (issue 5).

No server and no browser: templates are rendered with Jinja2 directly, the mount through
Starlette's TestClient.
"""

from __future__ import annotations

import gzip
import re

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.testclient import TestClient

from gennai.web.static_files import STATIC_DIR, asset_hash, static_mount
from gennai.web.templating import environment, nav_items, render_to_string

CSS = STATIC_DIR / "css" / "gennai.css"
SCRIPTS = ["js/gennai.js", "js/vendor/htmx.min.js", "js/vendor/marked.min.js", "js/vendor/purify.min.js"]

MEMBER = {
    "display_name": "山田 花子",
    "username": "hanako",
    "is_system_admin": False,
    "roles": [],
    "teams": [
        {"team_id": "00000000-0000-0000-0000-000000000000", "name": "common", "display_name": "共通", "is_admin": False},
        {"team_id": "t-1", "name": "soumu", "display_name": "総務課", "is_admin": False},
    ],
}
TEAM_ADMIN = {**MEMBER, "teams": [{**MEMBER["teams"][1], "is_admin": True}]}


def _request(csrf: str | None = "csrf-<token>") -> Request:
    state = {"csrf_token": csrf} if csrf is not None else {}
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b"", "state": state})


def _render_base(user: object = MEMBER, nav_active: str = "chat", request: Request | None = None) -> str:
    return render_to_string("base.html", {"user": user, "nav_active": nav_active}, request=request or _request())


def _gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def test_built_css_exists_and_is_small() -> None:
    data = CSS.read_bytes()
    print(f"gennai.css: {len(data)} bytes, {_gzip_size(data)} gzip")
    assert len(data) < 60_000
    assert b"\n\n" not in data  # minified
    # The design system's focus ring and the component classes pages rely on are there.
    text = data.decode()
    for selector in (".skip-link", ".btn-primary", ".field-input", ".alert-error", ".table", ".chat-log", ".markdown"):
        assert selector in text, selector
    assert "#ffd43d" in text  # yellow-300, the focus ring


@pytest.mark.parametrize("path", SCRIPTS)
def test_built_scripts_exist(path: str) -> None:
    data = (STATIC_DIR / path).read_bytes()
    assert len(data) > 1000
    print(f"{path}: {len(data)} bytes, {_gzip_size(data)} gzip")


@pytest.mark.parametrize("path", ["css/gennai.css", *SCRIPTS])
def test_precompressed_copies_match(path: str) -> None:
    """A stale .gz would be served instead of the file: it must hold the same bytes."""
    original = (STATIC_DIR / path).read_bytes()
    assert gzip.decompress((STATIC_DIR / (path + ".gz")).read_bytes()) == original


def test_chat_page_assets_fit_the_transfer_budget() -> None:
    """The chat page's first load must stay under 200 KB compressed; the assets take part."""
    total = sum((STATIC_DIR / (path + ".gz")).stat().st_size for path in ["css/gennai.css", *SCRIPTS])
    print(f"CSS + JS for the chat page: {total} bytes gzip")
    assert total < 120_000


def test_base_layout_renders_in_japanese_with_a_skip_link() -> None:
    html = _render_base()
    assert '<html lang="ja">' in html
    assert re.search(r'<a class="skip-link" href="#main">本文へスキップ</a>', html)
    assert '<main id="main"' in html
    assert html.index("skip-link") < html.index("<header")
    assert "山田 花子" in html and "総務課" in html
    assert "AIの回答は誤りを含むことがあります。事実は必ず確認してください。" in html
    assert "<title>gennai</title>" in html


def test_nav_marks_the_active_item() -> None:
    html = _render_base(nav_active="chat")
    current = re.findall(r'<a class="site-nav-link" href="([^"]+)" aria-current="page">([^<]+)</a>', html)
    assert current == [("/chat", "チャット")]
    assert html.count('aria-current="page"') == 1
    assert ">ホーム<" in html and ">アプリ<" in html


def test_admin_item_only_for_admins() -> None:
    assert ">管理<" not in _render_base(MEMBER)
    assert ">管理<" in _render_base(TEAM_ADMIN)
    assert [item.key for item in nav_items({**MEMBER, "is_system_admin": True})] == ["home", "chat", "apps", "admin"]
    assert [item.key for item in nav_items({**MEMBER, "roles": ["auditor"]})][-1] == "admin"


def test_sign_out_is_a_post_with_the_csrf_token_escaped() -> None:
    html = _render_base()
    form = html[html.index('<form method="post" action="/auth/logout">') :]
    form = form[: form.index("</form>")]
    assert '<input type="hidden" name="csrf_token" value="csrf-&lt;token&gt;">' in form
    assert '<meta name="csrf-token" content="csrf-&lt;token&gt;">' in html


def test_signed_out_pages_have_no_user_menu() -> None:
    html = _render_base(user=None, request=_request(csrf=None))
    assert "サインアウト" not in html and "<nav" not in html and "csrf-token" not in html


def test_static_urls_carry_the_content_hash() -> None:
    html = _render_base()
    for path in ["css/gennai.css", "js/vendor/htmx.min.js", "js/gennai.js"]:
        assert f"/static/{path}?v={asset_hash(path)}" in html


def test_autoescape_and_blocks() -> None:
    template = environment.from_string(
        '{% extends "base.html" %}{% block title %}チャット{% endblock %}'
        "{% block content %}<p>{{ text }}</p>{% endblock %}{% block scripts %}<script src=\"x.js\"></script>{% endblock %}"
    )
    html = template.render(request=_request(), user=MEMBER, nav_active="chat", text="<script>alert(1)</script>")
    assert "<title>チャット | gennai</title>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.index('src="x.js"') > html.index("gennai.js")


def test_field_macros_label_describe_and_mark_errors() -> None:
    template = environment.from_string(
        '{% import "_macros.html" as ui with context %}'
        '{{ ui.field("email", "メールアドレス", type="email", required=true, help="職場のアドレス", error="形式が違います") }}'
        '{{ ui.textarea("body", "本文") }}{{ ui.select("c", "機密性", [(1, "機密性1"), (2, "機密性2")], selected=2) }}'
        '{{ ui.csrf_field() }}{{ ui.alert("error", "送信できませんでした") }}{{ ui.alert("success", "保存しました") }}'
    )
    html = template.render(request=_request())
    assert '<label class="field-label" for="field-email">メールアドレス<span class="field-required">※必須</span>' in html
    assert 'id="field-email" name="email" required aria-describedby="field-email-help field-email-error" aria-invalid="true"' in html
    assert '<p class="field-help" id="field-email-help">職場のアドレス</p>' in html
    assert '<p class="field-error" id="field-email-error">＊形式が違います</p>' in html
    assert '<label class="field-label" for="field-body">本文</label>' in html
    assert '<option value="2" selected>機密性2</option>' in html
    assert 'name="csrf_token" value="csrf-&lt;token&gt;"' in html
    assert '<div class="alert alert-error" role="alert">' in html
    assert '<div class="alert alert-success" role="status">' in html


def test_error_page_is_friendly_japanese() -> None:
    html = render_to_string("error.html", {"status_code": 404, "user": None}, request=_request(csrf=None))
    assert "<h1>ページが見つかりません</h1>" in html
    assert "次のことをお試しください" in html and 'href="/"' in html
    html = render_to_string("error.html", {"status_code": 503, "reference": "req-1"}, request=_request(csrf=None))
    assert "問い合わせ番号" in html and "req-1" in html


def test_static_mount_serves_gzip_with_long_cache_for_hashed_urls() -> None:
    client = TestClient(Starlette(routes=[static_mount]))
    version = asset_hash("css/gennai.css")
    hashed = client.get(f"/static/css/gennai.css?v={version}", headers={"Accept-Encoding": "gzip"})
    assert hashed.status_code == 200
    assert hashed.headers["content-encoding"] == "gzip"
    assert hashed.headers["content-type"].startswith("text/css")
    assert hashed.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert hashed.headers["vary"] == "Accept-Encoding"
    assert hashed.content == CSS.read_bytes()  # decoded by the client

    plain = client.get("/static/css/gennai.css?v=stale", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.headers["cache-control"] == "public, max-age=0, must-revalidate"
    assert plain.content == CSS.read_bytes()

    again = client.get(f"/static/css/gennai.css?v={version}", headers={"If-None-Match": hashed.headers["etag"], "Accept-Encoding": "gzip"})
    assert again.status_code == 304

    assert client.get("/static/..%2Ftemplating.py").status_code == 404  # never outside static/
