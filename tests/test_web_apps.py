"""The general apps in the web interface (issue 5): /apps lists the shipped apps, each app's
page renders its form from the form definition, and POST /apps/{id}/run streams the runner's
events as server-sent events (JSON with the CSRF header) or, for a browser without script,
renders the page again with the answer. Against a real gennai on loopback with the scripted
OpenAI-compatible upstream (its `echo` model answers with the request it received)."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from gennai.accounts.passwords import set_password
from gennai.apps.definitions import GENERAL_APPS_DIR, load_apps
from gennai.apps.forms import ChoiceField, FileField, HiddenField
from gennai.web.app_pages import describe_error
from tests.support.openai_upstream import OpenAIUpstream
from tests.support.servers import GennaiServer, running_gennai
from tests.test_apps_runner import RUNS
from tests.test_gateway_openai import model_toml
from tests.test_policy_routing import RULES, models

PASSWORD = "kumo-no-ue-no-sora-2026"
APPS = load_apps([GENERAL_APPS_DIR])
SIX = ["drafting", "summary", "proofreading", "translation", "easy_japanese", "minutes"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, openai_upstream: tuple[OpenAIUpstream, str]) -> Iterator[GennaiServer]:
    base = openai_upstream[1]
    extra = "[auth]\nsecure_cookies = false\n" + RULES.format(mode="block")
    more = model_toml("broken", "midstream", base) + model_toml("down", "fail-503", base)
    with running_gennai(tmp_path_factory.mktemp("web-apps"), models(base) + more, extra_toml=extra, retries=0) as s:
        for name, display in (("suzuki", "鈴木 一郎"), ("sato", "佐藤 花子"), ("takahashi", "高橋 次郎")):
            user = s.platform.users.create(name, display_name=display)
            set_password(s.platform.engine, user.id, PASSWORD)
            if name == "sato":  # no request at all this minute
                s.platform.teams.set_limits("user", user.id, {"requests_per_minute": 0})
            if name == "takahashi":  # a team whose default is 機密性2
                team = s.platform.teams.create("jinji", "人事課", admin_user_id=user.id, default_class=2)
                assert team.default_class == 2
        yield s


def signed_in(server: GennaiServer, username: str = "suzuki") -> tuple[httpx.Client, str]:
    """A client with a session cookie, and the session's CSRF token (from the page's meta tag)."""
    client = httpx.Client(base_url=server.root_url, headers={"Origin": server.root_url}, timeout=30)
    ok = client.post("/auth/login", data={"username": username, "password": PASSWORD, "next": "/apps"})
    assert ok.status_code == 303, ok.text
    page = client.get("/apps")
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert token, page.text[:500]
    return client, html.unescape(token.group(1))


@pytest.fixture
def suzuki(server: GennaiServer) -> Iterator[tuple[httpx.Client, str]]:
    client, token = signed_in(server)
    try:
        yield client, token
    finally:
        client.close()


def events(response: httpx.Response) -> list[tuple[str, Any]]:
    """The server-sent events of a response: (event name, parsed data)."""
    assert response.headers["content-type"].startswith("text/event-stream"), response.text[:300]
    out = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        out.append((name, orjson.loads("\n".join(data))))
    return out


def run(client: httpx.Client, token: str | None, app_id: str, inputs: dict[str, Any], **body: Any) -> httpx.Response:
    headers = {"Accept": "text/event-stream"}
    if token is not None:
        headers["X-CSRF-Token"] = token
    return client.post(f"/apps/{app_id}/run", json={"inputs": inputs, **body}, headers=headers)


def answer_text(found: list[tuple[str, Any]]) -> str:
    return "".join(data["text"] for name, data in found if name == "message")


# ------------------------------------------------------------------------------ pages


def test_signed_out_visitors_go_to_the_sign_in_page(server: GennaiServer) -> None:
    for path in ("/apps", "/apps/translation"):
        page = httpx.get(server.root_url + path)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=" + path
    refused = httpx.post(server.root_url + "/apps/translation/run", json={"inputs": {}})
    assert refused.status_code == 401 and "サインイン" in refused.json()["error"]["message"]


def test_the_list_shows_the_six_apps_in_order(suzuki: tuple[httpx.Client, str]) -> None:
    client, _ = suzuki
    page = client.get("/apps")
    assert page.status_code == 200 and "<title>アプリ | gennai</title>" in page.text
    assert re.search(r'<a class="site-nav-link" href="/apps" aria-current="page">アプリ</a>', page.text)
    links = re.findall(r'<h2 class="card-title"><a href="/apps/([a-z_-]+)">([^<]+)</a></h2>', page.text)
    assert links == [(app_id, APPS[app_id].title) for app_id in SIX]
    assert [APPS[app_id].title for app_id in SIX] == ["文章生成", "要約", "校正", "翻訳", "やさしい日本語", "議事録作成"]
    for app_id in SIX:
        assert html.escape(APPS[app_id].summary, quote=False) in page.text
    assert page.text.count('<svg class="app-icon"') == 6 and page.text.count('aria-hidden="true" focusable="false"') >= 6
    assert "読み込めなかったアプリ" not in page.text  # nothing broken (and only admins would see it)
    home = client.get("/")
    assert all(f'href="/apps/{app_id}"' in home.text for app_id in SIX)


@pytest.mark.parametrize("app_id", SIX)
def test_each_app_page_renders_its_fields_with_labels(suzuki: tuple[httpx.Client, str], app_id: str) -> None:
    client, _ = suzuki
    app = APPS[app_id]
    page = client.get(f"/apps/{app_id}")
    text = page.text
    assert page.status_code == 200 and f"<title>{app.title} | gennai</title>" in text
    assert f"<h1" in text and app.title in text
    # The description as escaped text for the Markdown renderer (no HTML from the file).
    assert '<div class="markdown" data-markdown data-heading-base="3">' in text
    assert html.escape(app.description.splitlines()[0], quote=False) in text
    assert 'action="/apps/%s/run"' % app_id in text and 'name="csrf_token"' in text
    for key, field in app.form.items():
        if isinstance(field, HiddenField):
            assert f'name="in-{key}" value=' in text
            continue
        assert f'data-field="{key}" data-type="{field.type}"' in text, key
        title = html.escape(field.title, quote=False)
        if isinstance(field, ChoiceField) and field.type in ("radio", "checkbox"):
            legend = re.search(r'<legend class="field-label">([^<]*)(<span class="field-required">※必須</span>)?', text[text.index(f'data-field="{key}"'):])
            assert legend and legend.group(1).strip() == field.title and bool(legend.group(2)) == field.required, key
            for i, item in enumerate(field.items):
                choice_id = f"field-{key}" if i == 0 else f"field-{key}-{i + 1}"
                assert f'type="{field.type}" id="{choice_id}" name="in-{key}" value="{item.value}"' in text, (key, item.value)
                assert f'<label for="{choice_id}">{html.escape(item.title, quote=False)}</label>' in text
        else:
            label = re.search(rf'<label class="field-label" for="field-{key}">([^<]*)(<span class="field-required">※必須</span>)?', text)
            assert label and label.group(1).strip() == title and bool(label.group(2)) == field.required, key
            assert f'id="field-{key}" name="in-{key}"' in text
        if field.desc:
            assert html.escape(field.desc, quote=False) in text
        if isinstance(field, FileField):
            assert 'type="file"' in text and f'accept="{field.accept}"' in text
            assert "ファイルの添付には JavaScript が必要です" in text
        if isinstance(field, ChoiceField) and field.type == "select" and field.default_value:
            assert f'<option value="{field.default_value}" selected>' in text
    # Run settings: 自動 and the models the team may use, with origin, hosting and highest class.
    assert '<option value="auto" selected>自動（おすすめ）</option>' in text
    assert "テスト abroad（国内モデル・海外で処理・機密性1まで）" in text
    assert "テスト domestic（国内モデル・ガバメントクラウド・機密性2まで）" in text
    assert re.search(r'<select class="field-input" id="run-class" name="classification"', text)
    assert '<option value="1" selected>機密性1</option>' in text
    # The answer area, hidden until there is an answer, with its label and a live status.
    assert 'id="app-status" class="app-status font-bold" role="status" aria-live="polite"' in text
    assert "AIが生成した回答。内容は必ず確認してください。" in text and 'id="app-copy"' in text
    assert "js/apps.js" in text and "js/vendor/marked.min.js" in text


def test_require_one_of_is_explained(suzuki: tuple[httpx.Client, str]) -> None:
    text = suzuki[0].get("/apps/summary").text
    assert "「要約する文章」・「要約するファイル」のどちらかは必ず入力してください。" in text


def test_a_team_default_class_is_the_lowest_offered(server: GennaiServer) -> None:
    client, _ = signed_in(server, "takahashi")
    try:
        text = client.get("/apps/translation").text
    finally:
        client.close()
    assert '<option value="1"' not in text.split('id="run-class"')[1].split("</select>")[0]
    assert '<option value="2" selected>機密性2</option>' in text and "チームの既定は機密性2です。" in text


def test_an_unknown_app_is_the_404_page(suzuki: tuple[httpx.Client, str]) -> None:
    client, token = suzuki
    page = client.get("/apps/no-such-app", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "アプリが見つかりません" in page.text and "エラーコード：404" in page.text
    assert run(client, token, "no-such-app", {}).status_code == 404


# -------------------------------------------------------------------------------- run


@pytest.mark.parametrize("app_id", SIX)
def test_running_each_app_streams_to_done(suzuki: tuple[httpx.Client, str], app_id: str) -> None:
    client, token = suzuki
    inputs, phrase = RUNS[app_id]
    response = run(client, token, app_id, inputs, model="auto", classification=1)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-cache"
    found = events(response)
    names = [name for name, _ in found]
    assert names[0] == "started" and names[-1] == "done" and "message" in names, found[-1]
    started, done = found[0][1], found[-1][1]
    assert started["app"] == app_id and started["class"] == 1 and started["class_name"] == "機密性1"
    assert started["model_name"] == f"テスト {started['model']}"
    assert done["request_id"] == started["request_id"] and done["tokens_out"] > 0
    sent = orjson.loads(answer_text(found))  # the echo model answers with what it received
    assert phrase in orjson.dumps(sent["messages"]).decode()


def test_a_file_is_read_in_the_browser_and_sent_in_inputs_files(suzuki: tuple[httpx.Client, str]) -> None:
    client, token = suzuki
    content = base64.b64encode("令和8年度から窓口の受付時間を変更します。".encode()).decode()
    inputs = {"files": [{"key": "document", "files": [{"filename": "通知.txt", "content": f"data:text/plain;base64,{content}"}]}]}
    found = events(run(client, token, "summary", inputs))
    assert found[-1][0] == "done", found[-1]
    user = orjson.loads(answer_text(found))["messages"][-1]["content"]
    assert "窓口の受付時間" in orjson.dumps(user).decode() and "通知.txt" in orjson.dumps(user).decode()


def test_checkbox_choices_are_joined_by_commas(suzuki: tuple[httpx.Client, str]) -> None:
    client, token = suzuki
    found = events(run(client, token, "easy_japanese", {"text": "土足厳禁", "extras": "word_list"}))
    assert found[-1][0] == "done"
    assert "言い換えた言葉" in orjson.dumps(orjson.loads(answer_text(found))["messages"]).decode()


def test_a_form_error_comes_back_as_field_errors(suzuki: tuple[httpx.Client, str]) -> None:
    client, token = suzuki
    response = run(client, token, "drafting", {"recipient": "  ", "kind": "memo"})
    assert response.status_code == 200
    [(name, data)] = events(response)
    error = data["error"]
    assert name == "error" and error["kind"] == "invalid" and error["title"] == "入力内容を確認してください"
    assert error["fields"] == {
        "kind": "選択肢にない値です。選択肢から選んでください。",
        "recipient": "入力してください。",
        "points": "入力してください。",
    }
    one_of = events(run(client, token, "summary", {"text": ""}))[0][1]["error"]["fields"]
    assert one_of == {key: "「要約する文章」・「要約するファイル」のどれか一つを入力してください。" for key in ("text", "document")}


def test_a_file_over_its_limits_is_its_fields_error(suzuki: tuple[httpx.Client, str]) -> None:
    client, token = suzuki
    inputs = {"text": "本文", "files": [{"key": "document", "files": [{"filename": "a.exe", "content": "AAAA"}]}]}
    error = events(run(client, token, "summary", inputs))[0][1]["error"]
    assert list(error["fields"]) == ["document"] and "使えない形式" in error["fields"]["document"]


def test_csrf_is_required(suzuki: tuple[httpx.Client, str]) -> None:
    client, token = suzuki
    missing = run(client, None, "translation", RUNS["translation"][0])
    assert missing.status_code == 403 and "再読み込み" in missing.json()["error"]["message"]
    wrong = run(client, token + "x", "translation", RUNS["translation"][0])
    assert wrong.status_code == 403
    form = client.post("/apps/translation/run", data={"in-text": "こんにちは"})
    assert form.status_code == 403 and "画面の有効期限が切れました" in form.text


def test_bad_requests_are_json_errors_in_japanese(suzuki: tuple[httpx.Client, str]) -> None:
    client, token = suzuki
    headers = {"X-CSRF-Token": token, "Content-Type": "application/json"}
    not_json = client.post("/apps/translation/run", content=b"{nope", headers=headers)
    assert not_json.status_code == 400 and "読み取れません" in not_json.json()["error"]["message"]
    bad_class = run(client, token, "translation", RUNS["translation"][0], classification=7)
    assert bad_class.status_code == 400 and "機密性" in bad_class.json()["error"]["message"]
    other_team = run(client, token, "translation", RUNS["translation"][0], team_id="not-my-team")
    assert other_team.status_code == 403


def test_a_policy_refusal_says_why_and_what_to_do(suzuki: tuple[httpx.Client, str]) -> None:
    client, token = suzuki
    [(name, data)] = events(run(client, token, "drafting", RUNS["drafting"][0], model="abroad", classification=2))
    error = data["error"]
    assert name == "error" and error["kind"] == "policy" and error["title"] == "この内容は選んだモデルに送れません"
    assert error["message"].startswith("この内容（機密性2）はモデル「テスト abroad」（機密性1まで）に送れません。")
    assert "申告 機密性2" in error["message"] and " / " not in error["message"] and "declared" not in error["message"]
    assert any("テスト domestic" in hint and "自動" in hint for hint in error["hints"])
    assert error["details"] and "Content classified 2" in error["details"]  # the full text, behind 詳しい内容


def test_a_quota_refusal_names_the_limit(server: GennaiServer) -> None:
    client, token = signed_in(server, "sato")
    try:
        [(name, data)] = events(run(client, token, "translation", RUNS["translation"][0]))
    finally:
        client.close()
    error = data["error"]
    assert name == "error" and error["kind"] == "quota" and error["title"] == "利用の上限に達しました"
    assert error["message"].startswith("あなたの1分あたりのリクエスト数の上限（0回）に達しました。") and "日本時間" in error["message"]
    assert any("管理者" in hint for hint in error["hints"])


def test_an_unavailable_model_and_a_broken_stream(suzuki: tuple[httpx.Client, str]) -> None:
    client, token = suzuki
    [(name, data)] = events(run(client, token, "translation", RUNS["translation"][0], model="down"))
    assert name == "error" and data["error"]["kind"] == "unavailable" and data["error"]["title"] == "AIモデルが利用できません"
    assert data["error"]["partial"] is False and any("しばらく待って" in hint for hint in data["error"]["hints"])
    found = events(run(client, token, "translation", RUNS["translation"][0], model="broken"))
    assert [name for name, _ in found][0] == "started" and found[-1][0] == "error"
    error = found[-1][1]["error"]
    assert error["partial"] is True and answer_text(found)  # the partial answer came first, and is kept by the page
    assert error["hints"][0] == "回答は途中で途切れました。表示されている回答は途中までです。"


def test_describe_error_never_shows_english_halves() -> None:
    described = describe_error({"kind": "invalid", "message": "モデル 'x' はありません / The model 'x' does not exist",
                                "status": 404, "param": "model"})
    assert described["message"] == "モデル 'x' はありません" and described["hints"]
    internal = describe_error({"kind": "internal", "message": "Traceback (most recent call last): boom", "status": 500})
    assert "Traceback" not in internal["message"] and internal["title"] == "システムでエラーが発生しました"
    english = describe_error({"kind": "unavailable", "message": "no model was available for this request", "status": 503})
    assert english["message"] == "回答を作成するAIモデルが、いま応答していません。"
    too_long = describe_error({"kind": "unavailable", "status": 502, "message": "model 'smollm2-135m' failed: ValueError: "
                               "Requested tokens (3594) exceed context window of 2048"})
    assert "扱える長さを超えました" in too_long["message"] and "短く" in too_long["hints"][0]


def test_describe_error_reads_the_details_not_the_message() -> None:
    names = {"abroad": "海外モデル", "domestic": "国内モデル", "down": "停止中のモデル"}.__getitem__
    details = {"class": 2, "model": "abroad", "model_clearance": 1, "found": {"MY_NUMBER": 1, "PHONE": 2},
               "previews": [{"type": "MY_NUMBER", "preview": "1*** **** **18"}],
               "reasons": ["個人番号 → 機密性2 / my number → class 2"], "allowed_models": ["domestic"], "rule": None}
    message = "この内容（機密性2）はモデル 'abroad'（機密性1まで）に送れません。 / Content classified 2 may not be sent"
    refused = describe_error({"kind": "policy", "message": message, "status": 403, "details": details}, names)
    assert refused["message"] == (
        "この内容（機密性2）はモデル「海外モデル」（機密性1まで）に送れません。"
        "入力内容に次の情報が見つかりました: 個人番号（マイナンバー） 1件、電話 2件。理由: 個人番号 → 機密性2。"
    )
    assert refused["hints"][0] == "この内容を扱えるモデル: 国内モデル。モデルを選び直すか、「自動」にして実行し直してください。"
    # without details: the message's first sentence, and no guessing at the rest
    bare = describe_error({"kind": "policy", "message": message, "status": 403})
    assert bare["message"] == "この内容（機密性2）はモデル 'abroad'（機密性1まで）に送れません。"
    assert not any("扱えるモデル" in hint for hint in bare["hints"])
    down = describe_error({"kind": "unavailable", "message": "model 'down' failed (tried: down)", "status": 502,
                           "details": {"tried": ["down"]}}, names)
    assert down["message"] == "回答を作成するAIモデルが、いま応答していません。（試したモデル: 停止中のモデル）"


# ---------------------------------------------------------------- preview before running

MY_NUMBER = "1234 5678 9018"  # valid check digit
MY_NUMBER_TEXT = f"個人番号 {MY_NUMBER} の方への回答を英訳してください。"


def preview(client: httpx.Client, token: str, app_id: str, fields: dict[str, str], *, model: str = "auto",
            classification: str = "1", htmx: bool = True) -> httpx.Response:
    """The app's form as htmx posts it while it is filled in (or, htmx=False, as 実行前に確認
    posts it without script)."""
    form = {"csrf_token": token, "team": "", "model": model, "classification": classification,
            **{f"in-{key}": value for key, value in fields.items()}}
    headers = {"HX-Request": "true", "X-CSRF-Token": token} if htmx else {}
    return client.post(f"/apps/{app_id}/preview", data=form, headers=headers)


def test_the_app_page_offers_the_preview(suzuki: tuple[httpx.Client, str]) -> None:
    text = suzuki[0].get("/apps/translation").text
    assert 'hx-post="/apps/translation/preview"' in text and 'hx-trigger="input changed delay:600ms"' in text
    assert '<div id="app-preview" aria-live="polite">' in text and 'hx-target="#app-preview"' in text
    assert 'formaction="/apps/translation/preview"' in text and ">実行前に確認</button>" in text
    assert text.index('id="app-run"') < text.index('id="app-check"')  # Enter runs, it does not preview
    assert "hx-params" not in text  # no file fields to leave out
    summary = suzuki[0].get("/apps/summary").text
    assert 'hx-params="not in-document"' in summary  # files are not read for the preview


def test_the_preview_names_a_my_number_masked_and_what_will_happen(
    suzuki: tuple[httpx.Client, str], openai_upstream: tuple[OpenAIUpstream, str]
) -> None:
    client, token = suzuki
    upstream, _ = openai_upstream
    before = len(upstream.requests)
    fields = {"direction": "ja-en", "text": MY_NUMBER_TEXT, "style": "standard"}
    blocked = preview(client, token, "translation", fields, model="abroad")
    assert blocked.status_code == 200 and "<html" not in blocked.text
    assert blocked.headers["cache-control"] == "no-store"
    assert "個人番号（マイナンバー）" in blocked.text and "****" in blocked.text and MY_NUMBER not in blocked.text
    assert 'data-preview="block"' in blocked.text and "（このままでは送信できません）" in blocked.text
    assert "モデル「テスト abroad」（機密性1まで）に送れません。" in blocked.text
    assert "この内容を送れるモデル: テスト domestic" in blocked.text and "「自動」" in blocked.text
    domestic = preview(client, token, "translation", fields, model="domestic")
    assert 'data-preview="send"' in domestic.text and "機密性2として「テスト domestic」に送信します。" in domestic.text
    assert "個人番号（マイナンバー）" in domestic.text and MY_NUMBER not in domestic.text
    auto = preview(client, token, "translation", fields)  # the translation rule first: cleared for 2 too
    assert "機密性2として「テスト translator」に送信します。" in auto.text
    drafted = preview(client, token, "drafting", {"kind": "email", "recipient": "各課", "points": MY_NUMBER_TEXT, "tone": "polite"})
    assert "機密性2として「テスト domestic」に送信します。" in drafted.text
    # clean text: sent, by the app's routing hints (task = translation → the translation model)
    clean = preview(client, token, "translation", {**fields, "text": "説明会は来週の月曜日に開催します。"})
    assert 'data-preview="send"' in clean.text and "機密性1として「テスト translator」に送信します。" in clean.text
    assert "含まれています" not in clean.text
    drafting = preview(client, token, "drafting", {"kind": "email", "recipient": "各課", "points": "会議の案内", "tone": "polite"})
    assert "機密性1として「テスト abroad」に送信します。" in drafting.text
    # a declared class is the floor
    declared = preview(client, token, "drafting", {"kind": "email", "recipient": "各課", "points": "会議の案内", "tone": "polite"},
                       classification="2")
    assert "機密性2として「テスト domestic」に送信します。" in declared.text
    assert len(upstream.requests) == before  # a preview sends nothing


def test_the_preview_works_while_the_form_is_incomplete(suzuki: tuple[httpx.Client, str]) -> None:
    client, token = suzuki
    # 宛先 (required) is still empty: the preview renders the fields that are filled in
    partial = preview(client, token, "drafting", {"kind": "email", "recipient": "", "points": MY_NUMBER_TEXT}, model="abroad")
    assert 'data-preview="block"' in partial.text and "個人番号（マイナンバー）" in partial.text
    assert preview(client, token, "translation", {"direction": "ja-en", "text": "  "}).text.strip() == ""  # nothing typed yet
    note = preview(client, token, "summary", {"text": "窓口の受付時間を変更します。"})
    assert 'data-preview="send"' in note.text and "添付するファイルの内容はこの確認に含まれません" in note.text


def test_the_preview_without_script_is_the_page_with_the_values_kept(suzuki: tuple[httpx.Client, str]) -> None:
    client, token = suzuki
    fields = {"direction": "ja-en", "text": MY_NUMBER_TEXT, "style": "standard"}
    page = preview(client, token, "translation", fields, model="abroad", htmx=False)
    assert page.status_code == 200 and "<html" in page.text and "<title>翻訳 | gennai</title>" in page.text
    region = page.text.split('<div id="app-preview" aria-live="polite">')[1].split('<div class="flex flex-wrap')[0]
    assert 'data-preview="block"' in region and "個人番号（マイナンバー）" in region and MY_NUMBER not in region
    assert f">{MY_NUMBER_TEXT}</textarea>" in page.text  # the draft is kept
    assert '<option value="abroad" selected>' in page.text
    assert 'data-state="idle"' in page.text  # nothing ran


def test_the_preview_checks_csrf_and_the_app(suzuki: tuple[httpx.Client, str]) -> None:
    client, token = suzuki
    fields = {"direction": "ja-en", "text": "こんにちは"}
    refused = client.post("/apps/translation/preview", data={"in-text": "こんにちは"}, headers={"HX-Request": "true"})
    assert refused.status_code == 200 and 'data-preview="problem"' in refused.text and "こんにちは" not in refused.text
    page = client.post("/apps/translation/preview", data={"in-text": "こんにちは"})
    assert page.status_code == 403 and "画面の有効期限が切れました" in page.text
    unknown = preview(client, token, "no-such-app", fields)
    assert 'data-preview="problem"' in unknown.text and "このアプリはありません" in unknown.text
    assert preview(client, token, "no-such-app", fields, htmx=False).status_code == 404
    signed_out = httpx.post(client.base_url.join("/apps/translation/preview"), data=fields, headers={"HX-Request": "true"})
    assert 'data-preview="problem"' in signed_out.text and "サインイン" in signed_out.text


# ---------------------------------------------------------------- without script


def test_without_script_the_form_posts_and_the_answer_is_on_the_page(suzuki: tuple[httpx.Client, str]) -> None:
    client, token = suzuki
    form = {"csrf_token": token, "team": "", "model": "auto", "classification": "1", "in-direction": "ja-en",
            "in-text": "説明会は来週の月曜日に開催します。", "in-style": "standard", "in-glossary": ""}
    page = client.post("/apps/translation/run", data=form)
    assert page.status_code == 200
    assert "AIが生成した回答（モデル: テスト translator／機密性1）。内容は必ず確認してください。" in page.text
    assert "説明会は来週の月曜日に開催します。" in page.text  # kept in the form and echoed in the answer
    answer = page.text.split('id="app-answer" class="markdown" data-markdown data-heading-base="3">')[1].split("</div>")[0]
    assert "Translate the following Japanese text" in html.unescape(answer)
    assert 'data-state="done"' in page.text and "回答が完了しました。" in page.text

    missing = client.post("/apps/drafting/run", data={"csrf_token": token, "in-kind": "email", "in-tone": "polite"})
    assert missing.status_code == 400
    assert '<p class="field-error" id="field-recipient-error">＊入力してください。</p>' in missing.text
    assert 'aria-describedby="field-recipient-help field-recipient-error" aria-invalid="true"' in missing.text
    assert '<a href="#field-recipient">宛先・読み手: 入力してください。</a>' in missing.text
    assert '<option value="email" selected>メール</option>' in missing.text  # what was chosen stays chosen
