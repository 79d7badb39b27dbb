"""The chat page over HTTP (gennai.web.chat_pages): the page, the preview fragment, the SSE
stream, the form fallback without script, rename/delete/search, feedback, CSRF and ownership.

A real gennai (uvicorn on loopback) in front of the scripted OpenAI-compatible upstream:
"abroad" is a foreign model cleared for 機密性1, "domestic" a domestic one cleared for 2; both
answer with the JSON body they received ("echo")."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gennai.accounts.passwords import set_password
from gennai.records.feedback import FeedbackEntry
from gennai.store.tables import UsageRecord
from tests.support.openai_upstream import OpenAIUpstream
from tests.support.servers import GennaiServer, running_gennai
from tests.test_gateway_openai import model_toml
from tests.test_policy_routing import RULES, models

PASSWORD = "kumo-no-ue-no-sora-2026"
MY_NUMBER = "1234 5678 9018"  # valid check digit
MY_NUMBER_TEXT = f"個人番号 {MY_NUMBER} の件で回答案を作って"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, openai_upstream: tuple[OpenAIUpstream, str]) -> Iterator[GennaiServer]:
    base = openai_upstream[1]
    # "abroad" is foreign (the first model of models()); plus a model that stalls, one that
    # drops the stream midway, and one that is down.
    toml = models(base).replace('origin = "domestic"', 'origin = "foreign"', 1)
    toml += model_toml("staller", "stall", base, timeout_s=10.0) + model_toml("dropper", "midstream", base)
    toml += model_toml("down", "ok", "http://127.0.0.1:9/v1", timeout_s=1.0)
    extra = "[auth]\nsecure_cookies = false\n" + RULES.format(mode="block")
    with running_gennai(tmp_path_factory.mktemp("chat"), toml, extra_toml=extra, retries=0) as s:
        # Until migration 0005 adds it, the feedback table is created here (a no-op afterwards).
        FeedbackEntry.__table__.create(s.platform.engine, checkfirst=True)
        yield s


@dataclass
class Browser:
    client: httpx.Client
    user_id: str
    csrf: str

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def form(self, path: str, data: dict[str, str], *, csrf: bool = True, **kwargs: Any) -> httpx.Response:
        return self.client.post(path, data={**data, **({"csrf_token": self.csrf} if csrf else {})}, **kwargs)

    def json(self, path: str, body: dict[str, Any], *, csrf: bool = True) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return self.client.post(path, json=body, headers=headers)

    def preview(self, text: str, model: str = "auto", klass: str = "1", **fields: str) -> httpx.Response:
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf}
        return self.client.post("/chat/preview", data={"text": text, "model": model, "class": klass, **fields}, headers=headers)

    def send(self, text: str, model: str = "auto", klass: int = 1, **extra: Any) -> list[dict[str, Any]]:
        headers = {"X-CSRF-Token": self.csrf, "Accept": "text/event-stream"}
        with self.client.stream("POST", "/chat/send", json={"text": text, "model": model, "class": klass, **extra},
                                headers=headers) as response:
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/event-stream")
            return events(response.iter_lines())


def events(lines: Iterator[str]) -> list[dict[str, Any]]:
    return [orjson.loads(line[5:]) for line in lines if line.startswith("data:")]


def person(server: GennaiServer, prefix: str = "clerk", *, default_class: int | None = None,
           teams: int = 0) -> Browser:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    user = server.platform.users.create(name, display_name="山田 花子")
    set_password(server.platform.engine, user.id, PASSWORD)
    for index in range(teams):
        team = server.platform.teams.create(f"{name}-t{index}", f"テスト課{index + 1}", admin_user_id=user.id,
                                            default_class=default_class or 1)
        assert team
    client = httpx.Client(base_url=server.root_url, timeout=20, headers={"Origin": server.root_url})
    signed_in = client.post("/auth/login", json={"username": name, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    return Browser(client, user.id, signed_in.json()["csrf_token"])


def test_the_page_needs_a_signed_in_user(server: GennaiServer) -> None:
    for path in ("/chat", "/chat/" + str(uuid.uuid4())):
        response = httpx.get(server.root_url + path)
        assert response.status_code == 303 and response.headers["location"] == "/login?next=" + path
    assert httpx.get(server.root_url + "/chat?q=abc").headers["location"] == "/login?next=/chat%3Fq%3Dabc"
    # the JSON endpoints answer 401 in JSON, never a redirect
    sent = httpx.post(server.root_url + "/chat/send", json={"text": "こんにちは"})
    assert sent.status_code == 401 and sent.json()["error"]["code"] == "not_signed_in"


def test_the_page_lists_auto_then_the_models_with_origin_and_clearance(server: GennaiServer) -> None:
    me = person(server)
    page = me.get("/chat")
    assert page.status_code == 200 and 'lang="ja"' in page.text and "<h1 id=\"chat-title\">新しい会話</h1>" in page.text
    html = page.text
    assert html.index('value="auto"') < html.index('value="abroad"') < html.index('value="domestic"')
    assert "自動（内容に合わせて選ばれます）" in html
    assert "テスト abroad（海外・機密性1まで）" in html and "テスト domestic（国内・機密性2まで）" in html
    assert 'value="translator"' in html  # a translation model speaks the chat API too
    assert 'value="staller"' in html
    assert '<option value="1" selected>機密性1</option>' in html and "機密性2には使えません" not in html
    assert 'hx-post="/chat/preview"' in html and 'hx-trigger="input changed delay:600ms"' in html
    assert 'aria-live="polite"' in html and 'name="csrf_token" value="' + me.csrf + '"' in html
    assert 'id="chat-team"' not in html  # one team: no team selector
    assert "js/chat.js" in html and "js/vendor/marked.min.js" in html


def test_the_class_defaults_to_the_team_and_marks_models_below_it(server: GennaiServer) -> None:
    me = person(server, default_class=2, teams=2)
    html = me.get("/chat").text
    assert '<option value="2" selected>機密性2</option>' in html
    assert "テスト abroad（海外・機密性1まで）／機密性2には使えません" in html
    assert "テスト domestic（国内・機密性2まで）</option>" in html
    assert 'id="chat-team"' in html and "テスト課1" in html and "テスト課2" in html  # several teams: a selector
    teams = server.platform.teams.memberships(me.user_id)
    other = sorted(teams)[1]
    assert f'<option value="{other}" selected>' in me.get(f"/chat?team={other}").text
    assert me.get(f"/chat?team={uuid.uuid4()}").status_code == 403  # not their team


def test_the_preview_shows_masked_findings_and_what_will_happen(server: GennaiServer) -> None:
    me = person(server)
    plain = me.preview("来週の会議の案内文を作って")
    assert plain.status_code == 200 and "<html" not in plain.text
    assert "機密性1として「テスト abroad」に送信します。" in plain.text

    risky = me.preview(MY_NUMBER_TEXT, model="abroad")
    assert "個人番号（マイナンバー）" in risky.text and MY_NUMBER not in risky.text and "****" in risky.text
    assert 'data-preview="block"' in risky.text and "送れません" in risky.text
    assert "「自動」" in risky.text and "国内のモデル" in risky.text  # what to do

    auto = me.preview(MY_NUMBER_TEXT, model="auto")
    assert 'data-preview="send"' in auto.text and "機密性2として「テスト domestic」に送信します。" in auto.text
    assert me.preview("").text.strip() == ""
    # a preview neither sends nor remembers anything
    assert server.platform.content.list(me.user_id) == []
    # without htmx (no script): the whole page comes back with the draft and the preview
    page = me.form("/chat/preview", {"text": MY_NUMBER_TEXT, "model": "abroad", "class": "1"})
    assert page.status_code == 200 and "<html" in page.text and 'data-preview="block"' in page.text
    assert f">{MY_NUMBER_TEXT}</textarea>" in page.text and '<option value="abroad" data-label' in page.text


def test_a_turn_streams_as_sse_and_is_stored(server: GennaiServer, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    me = person(server)
    got = me.send("来週の会議の案内文を作って", model="domestic")
    kinds = [e["type"] for e in got]
    assert kinds[0] == "started" and kinds[-1] == "done" and "delta" in kinds
    started, done = got[0], got[-1]
    assert started["model"] == "domestic" and started["model_label"] == "テスト domestic" and started["class_name"] == "機密性1"
    conversation = started["conversation_id"]
    assert done["conversation_id"] == conversation and done["request_id"] and done["tokens_out"] > 0
    answer = "".join(e["text"] for e in got if e["type"] == "delta")
    assert orjson.loads(answer)["messages"][-1]["content"] == "来週の会議の案内文を作って"

    stored = server.platform.content.read(conversation, me.user_id)
    assert [m.role for m in stored.messages] == ["user", "assistant"] and stored.messages[1].content == answer
    page = me.get(f"/chat/{conversation}")
    assert page.status_code == 200 and "来週の会議の案内文を作って" in page.text
    assert "AIが生成した回答（モデル: <span data-role=\"model\">テスト domestic</span>／<span data-role=\"class\">機密性1</span>）。内容は必ず確認してください。" in page.text
    assert 'aria-current="page"' in page.text and f'value="{conversation}"' in page.text

    # the next turn continues the conversation with its history
    follow = me.send("もう少し短く", model="domestic", conversation_id=conversation)
    assert follow[-1]["type"] == "done" and follow[0]["conversation_id"] == conversation
    assert [m["role"] for m in openai_upstream[0].requests[-1]["messages"]] == ["user", "assistant", "user"]


def test_a_my_number_to_the_foreign_model_is_refused_with_what_to_do(server: GennaiServer) -> None:
    me = person(server)
    got = me.send(MY_NUMBER_TEXT, model="abroad")
    assert [e["type"] for e in got] == ["error"]
    error = got[0]["error"]
    assert error["kind"] == "policy" and error["title"] == "この内容は選んだモデルに送れません"
    assert "モデル「テスト abroad」（機密性1まで）に送れません。" in error["message"]
    assert "個人番号（マイナンバー） 1件" in error["message"]
    assert "テスト domestic" in error["message"] and MY_NUMBER not in orjson.dumps(got).decode()
    assert any("自動" in line for line in error["advice"]) and any("削除" in line for line in error["advice"])
    # 自動 sends it to the domestic model
    auto = me.send(MY_NUMBER_TEXT, model="auto", conversation_id=error["conversation_id"])
    assert auto[0]["type"] == "started" and auto[0]["model"] == "domestic" and auto[0]["class"] == 2


def test_an_attachment_is_classified_like_typed_text(server: GennaiServer) -> None:
    me = person(server)
    data = "data:text/plain;base64," + base64.b64encode(f"申請者の個人番号: {MY_NUMBER}".encode()).decode()
    attachment = [{"type": "file", "file": {"filename": "申請書.txt", "file_data": data}}]
    refused = me.send("添付の内容を要約して", model="abroad", attachments=attachment)
    assert refused[-1]["type"] == "error" and refused[-1]["error"]["kind"] == "policy"
    ok = me.send("添付の内容を要約して", model="domestic", attachments=attachment)
    assert ok[-1]["type"] == "done" and ok[0]["class"] == 2
    page = me.get(f"/chat/{ok[0]['conversation_id']}").text
    assert "添付ファイル「申請書.txt」" in page and "<details" in page
    bad = me.json("/chat/send", {"text": "x", "attachments": [{"type": "image_url", "image_url": {"url": "http://x"}}]})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "attachments[0]"


def test_without_script_the_form_sends_and_redirects_with_an_attachment(server: GennaiServer) -> None:
    me = person(server)
    files = {"attachments": ("メモ.txt", "会議は午後3時から。\r\n場所は第2会議室。".encode(), "text/plain")}
    data = {"text": "このメモを案内文にして", "model": "domestic", "class": "1", "csrf_token": me.csrf}
    sent = me.client.post("/chat/send", data=data, files=files)
    assert sent.status_code == 303 and sent.headers["location"].startswith("/chat/")
    location = sent.headers["location"]
    assert "answered=" in location
    page = me.get(location.split("#")[0])
    assert "このメモを案内文にして" in page.text and "添付ファイル「メモ.txt」" in page.text
    assert "場所は第2会議室。" in page.text and 'id="answer-last"' in page.text
    request_id = location.split("answered=")[1].split("#")[0]
    assert f'name="request_id" value="{request_id}"' in page.text  # feedback on the answer just given

    refused = me.client.post("/chat/send", data={**data, "text": MY_NUMBER_TEXT, "model": "abroad"})
    assert refused.status_code == 403 and "この内容は選んだモデルに送れません" in refused.text
    assert f">{MY_NUMBER_TEXT}</textarea>" in refused.text  # the draft is kept
    no_csrf = me.client.post("/chat/send", data={k: v for k, v in data.items() if k != "csrf_token"})
    assert no_csrf.status_code == 403 and "<html" in no_csrf.text


def test_errors_a_person_can_act_on(server: GennaiServer) -> None:
    me = person(server)
    down = me.send("こんにちは", model="down")
    error = down[-1]["error"]
    assert error["kind"] == "unavailable" and "試したモデル: テスト down" in error["message"] and error["advice"]

    dropped = me.send("こんにちは", model="dropper")
    assert [e["type"] for e in dropped][:2] == ["started", "delta"] and dropped[-1]["type"] == "error"
    assert dropped[-1]["error"]["partial_kept"] is True and "途中までの回答" in dropped[-1]["error"]["message"]
    stored = server.platform.content.read(dropped[0]["conversation_id"], me.user_id)
    assert stored.messages[-1].content.endswith("〔回答は途中で途切れました〕")

    limited = person(server, "quota")
    server.platform.teams.set_limits("user", limited.user_id, {"requests_per_minute": 1})
    assert limited.send("一回目", model="domestic")[-1]["type"] == "done"
    over = limited.send("二回目", model="domestic")[-1]["error"]
    assert over["kind"] == "quota" and "1分あたりのリクエスト数の上限" in over["message"] and over["retry_after"]
    assert "後にもう一度送信できます" in over["message"]


def test_the_server_cancels_the_model_call_when_the_browser_goes_away(
    server: GennaiServer, openai_upstream: tuple[OpenAIUpstream, str]
) -> None:
    upstream = openai_upstream[0]
    me = person(server)
    before = upstream.cancelled
    with me.client.stream("POST", "/chat/send", json={"text": "長い文章を書いて", "model": "staller"},
                          headers={"X-CSRF-Token": me.csrf}) as response:
        for line in response.iter_lines():
            if line.startswith("data:") and orjson.loads(line[5:])["type"] == "delta":
                break  # the first words arrived: stop (as the 停止 button does)
    deadline = time.monotonic() + 4
    while upstream.cancelled == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.cancelled > before


def test_rename_delete_and_search(server: GennaiServer) -> None:
    me = person(server)
    first = me.send("予算要求の説明資料を作って", model="domestic")[0]["conversation_id"]
    second = me.send("議事録の要約をして", model="domestic")[0]["conversation_id"]

    found = me.get("/chat", params={"q": "議事録"})
    assert found.status_code == 200 and "「議事録」を含む会話：1件" in found.text
    assert f'href="/chat/{second}"' in found.text and f'href="/chat/{first}"' not in found.text

    renamed = me.form(f"/chat/{first}/rename", {"title": "  令和9年度 予算要求  "})
    assert renamed.status_code == 303 and renamed.headers["location"] == f"/chat/{first}?done=renamed"
    page = me.get(renamed.headers["location"])
    assert "<h1 id=\"chat-title\">令和9年度 予算要求</h1>" in page.text and "会話の名前を変更しました。" in page.text
    assert server.platform.content.read(first, me.user_id).title == "令和9年度 予算要求"
    assert "令和9年度" in me.get("/chat", params={"q": "令和9年度"}).text
    empty = me.form(f"/chat/{first}/rename", {"title": "   "})
    assert empty.status_code == 400 and "名前を入力してください。" in empty.text

    assert me.form(f"/chat/{second}/delete", {}, csrf=False).status_code == 403
    deleted = me.form(f"/chat/{second}/delete", {})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/chat?done=deleted"
    assert "会話を削除しました。" in me.get(deleted.headers["location"]).text
    assert me.get(f"/chat/{second}").status_code == 404
    assert [c.id for c in server.platform.content.list(me.user_id)] == [first]


def test_feedback_is_stored_for_the_owner_only(server: GennaiServer) -> None:
    me, other = person(server), person(server, "other")
    done = me.send("挨拶文を作って", model="domestic")[-1]
    request_id = done["request_id"]
    # right after the answer: the usage record may still be pending; the endpoint waits for it
    given = me.json("/chat/feedback", {"request_id": request_id, "rating": "bad", "comment": "敬語が不自然"})
    assert given.status_code == 200, given.text
    again = me.json("/chat/feedback", {"request_id": request_id, "rating": "good", "comment": ""})
    assert again.status_code == 200
    with Session(server.platform.engine) as session:
        rows = session.execute(select(FeedbackEntry).where(FeedbackEntry.request_id == request_id)).scalars().all()
        assert [(r.user_id, r.rating, r.comment) for r in rows] == [(me.user_id, "good", None)]
        record = session.execute(select(UsageRecord).where(UsageRecord.request_id == request_id)).scalar_one()
        assert record.user_id == me.user_id and record.endpoint == "web.chat"

    assert other.json("/chat/feedback", {"request_id": request_id, "rating": "good"}).status_code == 404
    assert me.json("/chat/feedback", {"request_id": "req-nope", "rating": "good"}).status_code == 404
    bad = me.json("/chat/feedback", {"request_id": request_id, "rating": "meh"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "rating"
    long = me.json("/chat/feedback", {"request_id": request_id, "rating": "good", "comment": "あ" * 1001})
    assert long.status_code == 400 and long.json()["error"]["param"] == "comment"
    assert me.json("/chat/feedback", {"request_id": request_id, "rating": "good"}, csrf=False).status_code == 403
    # the form (no script) redirects back to the conversation
    form = me.form("/chat/feedback", {"request_id": request_id, "rating": "bad", "comment": "長すぎる",
                                      "back": f"/chat/{done['conversation_id']}"})
    assert form.status_code == 303 and form.headers["location"] == f"/chat/{done['conversation_id']}?done=feedback"
    hostile = me.form("/chat/feedback", {"request_id": request_id, "rating": "bad", "back": "https://evil.example/"})
    assert hostile.headers["location"] == "/chat?done=feedback"


def test_csrf_is_required_for_every_change(server: GennaiServer) -> None:
    me = person(server)
    conversation = me.send("こんにちは", model="domestic")[0]["conversation_id"]
    sent = me.json("/chat/send", {"text": "こんにちは", "model": "domestic"}, csrf=False)
    assert sent.status_code == 403 and sent.json()["error"]["code"] == "csrf_token_invalid"
    wrong = me.client.post("/chat/send", json={"text": "x"}, headers={"X-CSRF-Token": "not-the-token"})
    assert wrong.status_code == 403
    assert me.form(f"/chat/{conversation}/rename", {"title": "x"}, csrf=False).status_code == 403
    assert me.form(f"/chat/{conversation}/delete", {}, csrf=False).status_code == 403
    refused = me.client.post("/chat/preview", data={"text": "x"}, headers={"HX-Request": "true"})
    assert refused.status_code == 200 and "CSRF" in refused.text and 'data-preview="problem"' in refused.text
    assert server.platform.content.read(conversation, me.user_id).title == "こんにちは"


def test_another_users_conversation_is_not_found(server: GennaiServer) -> None:
    owner, intruder = person(server), person(server, "intruder")
    conversation = owner.send("人事異動の内示文を作って", model="domestic")[0]["conversation_id"]
    page = intruder.get(f"/chat/{conversation}")
    assert page.status_code == 404 and "会話が見つかりません" in page.text and "人事異動" not in page.text
    assert intruder.get(f"/chat/{uuid.uuid4()}").status_code == 404
    assert intruder.form(f"/chat/{conversation}/rename", {"title": "奪った"}).status_code == 404
    assert intruder.form(f"/chat/{conversation}/delete", {}).status_code == 404
    sent = intruder.json("/chat/send", {"text": "続き", "model": "domestic", "conversation_id": conversation})
    assert sent.status_code == 404 and sent.json()["error"]["code"] == "conversation_not_found"
    preview = intruder.preview("続き", conversation_id=conversation)
    assert 'data-preview="problem"' in preview.text and "人事異動" not in preview.text
    assert "人事異動" not in intruder.get("/chat", params={"q": "人事"}).text
    assert owner.get(f"/chat/{conversation}").status_code == 200


def test_bad_requests_are_json_errors_never_traces(server: GennaiServer) -> None:
    me = person(server)
    empty = me.json("/chat/send", {"text": "   "})
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "text"
    bad_class = me.json("/chat/send", {"text": "x", "class": 7})
    assert bad_class.status_code == 400 and bad_class.json()["error"]["param"] == "class"
    not_json = me.client.post("/chat/send", content=b"{nope", headers={"X-CSRF-Token": me.csrf, "Content-Type": "application/json"})
    assert not_json.status_code == 400 and "Traceback" not in not_json.text
    unknown = me.send("こんにちは", model="no-such-model")
    assert unknown[-1]["type"] == "error" and unknown[-1]["error"]["kind"] == "invalid"
