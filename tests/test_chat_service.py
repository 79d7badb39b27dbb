"""The web interface's chat turn (gennai.conversations.chat): preview before sending, then
the same admission as the API, streamed, stored encrypted, errors a person can act on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Awaitable
from pathlib import Path
from typing import Any

import orjson
from gennai.accounts.keys import Principal, write_key_secret
from gennai.config import load_config
from gennai.conversations.chat import ChatEvent, ChatService
from gennai.platform import Platform
from gennai.store.tables import COMMON_TEAM_ID
from tests.support.openai_upstream import OpenAIUpstream
from tests.support.servers import BASE_CONFIG, free_port
from tests.test_policy_routing import RULES, models


def run_with_platform(tmp_path: Path, base_url: str, scenario: Callable[[Platform, Principal], Awaitable[None]],
                      extra: str = RULES.format(mode="block")) -> None:
    config = tmp_path / "gennai.toml"
    config.write_text(
        BASE_CONFIG.format(port=free_port(), database_url=f"sqlite:///{tmp_path / 'g.db'}", retries=0,
                           circuit_threshold=5, circuit_reset_s=30.0) + extra + models(base_url),
        encoding="utf-8",
    )
    loaded = load_config(config, environ={})
    write_key_secret(loaded.resolve("data/secret.key"))

    async def main() -> None:
        platform = Platform.build(loaded)
        await platform.start()
        try:
            user = await asyncio.to_thread(platform.users.create, "tanaka")
            principal = Principal(key_id="", key_name="web", user_id=user.id, team_id=COMMON_TEAM_ID,
                                  scopes=("chat",), is_system_admin=False)
            await scenario(platform, principal)
        finally:
            await platform.stop()

    asyncio.run(main())


async def collect(events: AsyncIterator[ChatEvent]) -> list[ChatEvent]:
    return [event async for event in events]


def test_preview_shows_masked_findings_and_what_will_happen(tmp_path: Path, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    async def scenario(platform: Platform, me: Principal) -> None:
        chat = ChatService(platform)
        plain = await chat.preview(me, "来週の会議の案内文を作って", model="auto")
        assert plain.outcome == "send" and plain.model == "abroad" and plain.effective_class == 1
        risky = await chat.preview(me, "個人番号 1234 5678 9018 の件で回答案を", model="abroad")
        assert risky.outcome == "block" and risky.effective_class == 2
        assert [f.type for f in risky.findings] == ["MY_NUMBER"] and "1234 5678 9018" not in str(risky.to_json())
        auto = await chat.preview(me, "個人番号 1234 5678 9018 の件で回答案を", model="auto")
        assert auto.outcome == "send" and auto.model == "domestic" and "domestic" in auto.message
        # a preview remembers nothing and sends nothing
        assert await asyncio.to_thread(platform.content.list, me.user_id) == []

    run_with_platform(tmp_path, openai_upstream[1], scenario)


def test_a_turn_streams_and_is_stored_encrypted(tmp_path: Path, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    upstream, base = openai_upstream

    async def scenario(platform: Platform, me: Principal) -> None:
        chat = ChatService(platform)
        events = await collect(chat.send(me, "申請者の佐藤花子様への返信文を作って", model="auto"))
        kinds = [e.kind for e in events]
        assert kinds[0] == "started" and kinds[-1] == "done" and "delta" in kinds
        started = events[0].data
        assert started["model"] == "domestic" and started["class"] == 2  # a private person's name: class 2
        conversation = started["conversation_id"]
        stored = await asyncio.to_thread(platform.content.read, conversation, me.user_id)
        assert [m.role for m in stored.messages] == ["user", "assistant"]
        assert stored.messages[1].content == "".join(e.data["text"] for e in events if e.kind == "delta")
        # the next turn carries the history, and the conversation stays class 2 even for a plain question
        follow = await collect(chat.send(me, "天気は？", conversation_id=conversation, model="abroad"))
        assert follow[-1].kind == "error" and follow[-1].data["kind"] == "policy"
        again = await collect(chat.send(me, "天気は？", conversation_id=conversation, model="domestic"))
        assert again[-1].kind == "done" and again[0].data["class"] == 2
        sent = upstream.requests[-1]["messages"]
        assert [m["role"] for m in sent] == ["user", "assistant", "user"]
        assert sent[0]["content"].startswith("申請者の佐藤花子様") and sent[-1]["content"] == "天気は？"
        platform.usage.flush()

    run_with_platform(tmp_path, base, scenario)


def test_errors_a_person_can_act_on(tmp_path: Path, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    broken = '\n[[models]]\nid = "down"\ndisplay_name = "停止中"\nprovider = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n' \
             'origin = "domestic"\nhosting = "government-cloud"\nclearance = 2\ntimeout_s = 1.0\n'

    async def scenario(platform: Platform, me: Principal) -> None:
        chat = ChatService(platform)
        events = await collect(chat.send(me, "こんにちは", model="down"))
        assert events[-1].kind == "error" and events[-1].data["kind"] == "unavailable"
        assert events[-1].data["partial_kept"] is False

    run_with_platform(tmp_path, openai_upstream[1], scenario, extra=broken)


def test_echo_body_has_no_gennai_fields(tmp_path: Path, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    upstream, base = openai_upstream

    async def scenario(platform: Platform, me: Principal) -> None:
        events = await collect(ChatService(platform).send(me, "こんにちは", model="domestic"))
        assert events[-1].kind == "done"
        body: dict[str, Any] = upstream.requests[-1]
        assert "gennai" not in body and body["messages"][-1]["content"] == "こんにちは"
        assert orjson.loads("".join(e.data["text"] for e in events if e.kind == "delta"))["model"] == "echo"

    run_with_platform(tmp_path, base, scenario)
