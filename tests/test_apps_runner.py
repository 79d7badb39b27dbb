"""Running general apps (gennai.apps.runner) against a scripted upstream: the prompt reaches
the model, routing hints reach the policy (task, app, app_class), files are read and
classified like chat attachments, and every run leaves one usage record "web.app"."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from gennai.accounts.keys import Principal
from gennai.apps.definitions import GENERAL_APPS_DIR, load_apps
from gennai.apps.runner import ENDPOINT, AppRunner
from gennai.conversations.chat import ChatEvent
from gennai.platform import Platform
from gennai.store.tables import UsageRecord
from tests.support.openai_upstream import OpenAIUpstream
from tests.test_attachments import MARKED, docx_bytes
from tests.test_chat_service import collect, run_with_platform

APPS = load_apps([GENERAL_APPS_DIR])

# One plain (機密性1) run of each shipped app, and a phrase of its input the model must see.
RUNS: dict[str, tuple[dict[str, Any], str]] = {
    "drafting": ({"kind": "request", "recipient": "各課の庶務担当者", "points": "11月分の超過勤務実績を11月30日までに提出"}, "超過勤務実績"),
    "summary": ({"text": "令和8年度から窓口の受付時間を午前8時30分からに変更する。", "length": "short", "style": "prose"}, "窓口の受付時間"),
    "proofreading": ({"text": "下記の通り説明会を開催致しますので、出席して下さい。"}, "開催致します"),
    "translation": ({"direction": "ja-en", "text": "説明会は来週の月曜日に開催します。", "glossary": "説明会 = briefing"}, "説明会 = briefing"),
    "easy_japanese": ({"text": "ごみは指定の集積所へ排出してください。", "extras": True}, "指定の集積所"),
    "minutes": ({"meeting": "窓口業務改善検討会", "date": "5月12日", "notes": "受付時間の変更を了承した。"}, "受付時間の変更を了承"),
}

MIN_CLASS_2 = """
title = "内部照会"
description = "機密性2以上の情報を扱うアプリ。"
min_class = 2

[form.text]
type = "textarea"
title = "本文"
required = true

[prompt]
user = "{text}"
"""


def sent_body(events: list[ChatEvent]) -> dict[str, Any]:
    """What the echo model received (it answers with the request body)."""
    return orjson.loads("".join(e.data["text"] for e in events if e.kind == "delta"))


def usage_rows(platform: Platform) -> list[UsageRecord]:
    platform.usage.flush()
    with Session(platform.engine) as session:
        return list(session.scalars(select(UsageRecord).where(UsageRecord.endpoint == ENDPOINT).order_by(UsageRecord.created_at)))


def file_input(key: str, name: str, data: bytes) -> list[dict[str, Any]]:
    return [{"key": key, "files": [{"filename": name, "content": base64.b64encode(data).decode()}]}]


def test_each_shipped_app_runs_once(tmp_path: Path, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    upstream, base = openai_upstream

    async def scenario(platform: Platform, me: Principal) -> None:
        runner = AppRunner(platform)
        for app_id, (inputs, phrase) in RUNS.items():
            app = APPS[app_id]
            events = await collect(runner.run(me, app, inputs))
            kinds = [e.kind for e in events]
            assert kinds[0] == "started" and kinds[-1] == "done" and "delta" in kinds, (app_id, events[-1])
            started, done = events[0].data, events[-1].data
            assert started["app"] == app_id and done["app"] == app_id and started["class"] == 1
            assert started["model"] == ("translator" if app_id == "translation" else "abroad"), app_id
            body = sent_body(events)
            assert body == upstream.requests[-1] and "gennai" not in body
            system, user = app.render(app.validate_inputs(inputs).values)
            assert body["messages"] == [{"role": "system", "content": system}, {"role": "user", "content": user}]
            assert phrase in user and body["temperature"] == app.temperature and body["max_tokens"] == app.max_tokens
        rows = usage_rows(platform)
        assert [row.detail for row in rows] == [f"app={app_id}" for app_id in RUNS]
        assert all(row.status == "ok" and row.streamed and row.user_id == me.user_id for row in rows)
        assert all(row.tokens_out > 0 and row.policy_action == "routed" for row in rows)

    run_with_platform(tmp_path, base, scenario)


def test_translation_is_routed_by_its_task(tmp_path: Path, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    async def scenario(platform: Platform, me: Principal) -> None:
        events = await collect(AppRunner(platform).run(me, APPS["translation"], RUNS["translation"][0]))
        assert events[0].data["model"] == "translator" and "rule=translation" in events[0].data["policy"]
        drafting = await collect(AppRunner(platform).run(me, APPS["drafting"], RUNS["drafting"][0]))
        assert drafting[0].data["model"] == "abroad" and "rule=general" in drafting[0].data["policy"]
        rows = usage_rows(platform)
        assert [(row.policy_rule, row.model_id) for row in rows] == [("translation", "translator"), ("general", "abroad")]

    run_with_platform(tmp_path, openai_upstream[1], scenario)


def test_an_app_of_class_2_never_reaches_a_class_1_model(tmp_path: Path, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    upstream, base = openai_upstream
    folder = tmp_path / "site-apps"
    folder.mkdir()
    (folder / "internal.toml").write_text(MIN_CLASS_2, encoding="utf-8")
    app = load_apps([folder])["internal"]
    assert app.min_class == 2

    async def scenario(platform: Platform, me: Principal) -> None:
        runner = AppRunner(platform)
        before = len(upstream.requests)
        refused = await collect(runner.run(me, app, {"text": "天気の話"}, model="abroad"))
        assert [e.kind for e in refused] == ["error"]
        assert refused[0].data["kind"] == "policy" and refused[0].data["status"] == 403 and refused[0].data["fields"] == {}
        assert len(upstream.requests) == before  # nothing was sent
        routed = await collect(runner.run(me, app, {"text": "天気の話"}))
        assert routed[0].data["model"] == "domestic" and routed[0].data["class"] == 2
        assert "rule=class-2-domestic" in routed[0].data["policy"]
        blocked, ok = usage_rows(platform)
        assert blocked.policy_action == "blocked" and blocked.effective_class == 2 and blocked.model_id is None
        assert ok.effective_class == 2 and ok.model_id == "domestic"

    run_with_platform(tmp_path, base, scenario)


def test_a_file_input_is_read_and_classified(tmp_path: Path, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    upstream, base = openai_upstream
    summary = APPS["summary"]
    marked = {"files": file_input("document", "予算資料.docx", docx_bytes(MARKED))}

    async def scenario(platform: Platform, me: Principal) -> None:
        runner = AppRunner(platform)
        before = len(upstream.requests)
        refused = await collect(runner.run(me, summary, marked, model="abroad"))
        assert refused[-1].kind == "error" and refused[-1].data["kind"] == "policy"
        assert len(upstream.requests) == before
        events = await collect(runner.run(me, summary, marked))
        assert events[0].data["class"] == 2 and events[0].data["model"] == "domestic"
        user = sent_body(events)["messages"][-1]["content"]
        assert isinstance(user, list) and [p["type"] for p in user] == ["text", "text"]
        assert "「予算資料.docx」の内容を要約" in user[0]["text"]
        assert user[1]["text"].startswith("〔添付ファイル「予算資料.docx」〕") and "予算要求の内部検討資料" in user[1]["text"]
        plain = {"files": file_input("document", "お知らせ.txt", "来週、窓口の受付時間が変わります。".encode("shift_jis"))}
        events = await collect(runner.run(me, summary, plain))
        assert events[0].data["class"] == 1 and "窓口の受付時間" in sent_body(events)["messages"][-1]["content"][1]["text"]
        rows = usage_rows(platform)
        assert [(row.status, row.effective_class) for row in rows] == [("error", 2), ("ok", 2), ("ok", 1)]

    run_with_platform(tmp_path, base, scenario)


def test_an_unreadable_file_is_the_fields_problem(tmp_path: Path, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    async def scenario(platform: Platform, me: Principal) -> None:
        broken = {"meeting": "会議", "date": "今日", "files": file_input("notes_file", "メモ.docx", b"not a word file")}
        events = await collect(AppRunner(platform).run(me, APPS["minutes"], broken))
        assert [e.kind for e in events] == ["error"]
        error = events[0].data
        assert error["kind"] == "invalid" and error["status"] == 400 and set(error["fields"]) == {"notes_file"}
        assert "メモ.docx" in error["fields"]["notes_file"]
        (row,) = usage_rows(platform)
        assert row.error_type == "unreadable_attachment" and row.detail.startswith("app=minutes: ")

    run_with_platform(tmp_path, openai_upstream[1], scenario)


def test_inputs_that_do_not_fit_the_form(tmp_path: Path, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    upstream, base = openai_upstream

    async def scenario(platform: Platform, me: Principal) -> None:
        before = len(upstream.requests)
        events = await collect(AppRunner(platform).run(me, APPS["translation"], {"direction": "ja-fr", "text": ""}))
        assert [e.kind for e in events] == ["error"] and len(upstream.requests) == before
        assert events[0].data["kind"] == "invalid" and events[0].data["app"] == "translation"
        assert events[0].data["fields"] == {"direction": "選択肢にない値です。選択肢から選んでください。", "text": "入力してください。"}
        (row,) = usage_rows(platform)
        assert row.status == "error" and row.http_status == 400 and row.error_type == "invalid_form"

    run_with_platform(tmp_path, base, scenario)


def test_a_reader_that_goes_away_still_leaves_a_record(tmp_path: Path, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    async def scenario(platform: Platform, me: Principal) -> None:
        events = AppRunner(platform).run(me, APPS["proofreading"], RUNS["proofreading"][0])
        assert (await anext(events)).kind == "started"
        assert (await anext(events)).kind == "delta"
        await events.aclose()  # the browser closed the page
        (row,) = usage_rows(platform)
        assert row.status == "client_disconnected" and row.http_status == 499 and row.detail == "app=proofreading"
        # the model's slot was given back: the next run goes through
        again = await collect(AppRunner(platform).run(me, APPS["proofreading"], RUNS["proofreading"][0]))
        assert again[-1].kind == "done"

    run_with_platform(tmp_path, openai_upstream[1], scenario)


def test_declared_class_reaches_the_policy(tmp_path: Path, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    async def scenario(platform: Platform, me: Principal) -> None:
        events = await collect(AppRunner(platform).run(me, APPS["drafting"], RUNS["drafting"][0], declared_class=2))
        assert events[0].data["class"] == 2 and events[0].data["model"] == "domestic"

    run_with_platform(tmp_path, openai_upstream[1], scenario)


def test_a_preview_asks_the_policy_with_the_apps_hints_and_sends_nothing(
    tmp_path: Path, openai_upstream: tuple[OpenAIUpstream, str]
) -> None:
    upstream, base = openai_upstream
    folder = tmp_path / "site-apps"
    folder.mkdir()
    (folder / "internal.toml").write_text(MIN_CLASS_2, encoding="utf-8")
    internal = load_apps([folder])["internal"]

    async def scenario(platform: Platform, me: Principal) -> None:
        runner = AppRunner(platform)
        before = len(upstream.requests)
        # app_class: the app's minimum class holds for a plain text
        refused = await runner.preview(me, internal, {"text": "天気の話"}, model="abroad")
        assert refused.outcome == "block" and refused.effective_class == 2 and refused.details is not None
        assert refused.details["allowed_models"] == ["domestic", "translator"]
        assert any("アプリ「internal」" in reason for reason in refused.reasons)
        routed = await runner.preview(me, internal, {"text": "天気の話"})
        assert routed.outcome == "send" and routed.model == "domestic" and routed.effective_class == 2
        # task: the translation app goes where its run goes
        translation = await runner.preview(me, APPS["translation"], RUNS["translation"][0])
        assert translation.outcome == "send" and translation.model == "translator"
        # the same prompt as a run: the items found are the rendered prompt's
        inputs = {**RUNS["drafting"][0], "points": "個人番号 1234 5678 9018 の方への通知"}
        found = await runner.preview(me, APPS["drafting"], inputs, model="abroad")
        assert found.outcome == "block" and [f.type for f in found.findings] == ["MY_NUMBER"]
        assert "1234 5678 9018" not in orjson.dumps(found.to_json()).decode()
        # a form still being filled in: the fields that are filled in
        partial = await runner.preview(me, APPS["drafting"], {"points": "個人番号 1234 5678 9018"}, model="auto")
        assert partial.outcome == "send" and partial.model == "domestic" and partial.effective_class == 2
        # a file is read and classified as in a run
        marked = {"files": file_input("document", "予算資料.docx", docx_bytes(MARKED))}
        summary = await runner.preview(me, APPS["summary"], marked, model="abroad")
        assert summary.outcome == "block" and summary.effective_class == 2
        assert len(upstream.requests) == before and usage_rows(platform) == []  # nothing sent, nothing recorded

    run_with_platform(tmp_path, base, scenario)
