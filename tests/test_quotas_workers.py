"""Quotas across two gennai workers sharing Redis and one database: parallel requests never
get more than the limit through."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from gennai.accounts.keys import create_key
from tests.support.openai_upstream import OpenAIUpstream
from tests.support.servers import running_gennai
from tests.test_policy_routing import models

REDIS = '\n[quotas]\nbackend = "redis"\nredis_url = "redis://127.0.0.1:6379/0"\nlimits_cache_ttl_s = 0\n'


def test_two_workers_sharing_redis_never_exceed_the_limit(tmp_path: Path, openai_upstream: tuple[OpenAIUpstream, str]) -> None:
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    with running_gennai(tmp_path, models(openai_upstream[1]), database_url=database, extra_toml=REDIS) as first, \
         running_gennai(tmp_path, models(openai_upstream[1]), database_url=database, extra_toml=REDIS) as second:
        platform = first.platform
        boss = platform.users.create(f"boss-{uuid.uuid4().hex[:6]}")
        team = platform.teams.create(f"quota-{uuid.uuid4().hex[:8]}", "上限テスト課", admin_user_id=boss.id)
        platform.teams.set_limits("team", team.id, {"requests_per_minute": 10})
        key = create_key(platform.engine, platform.keys.secret, name="k", user_id=boss.id, team_id=team.id).key
        assert second.platform.keys.secret == platform.keys.secret

        async def fire() -> list[int]:
            body = {"model": "domestic", "messages": [{"role": "user", "content": "こんにちは"}]}
            headers = {"Authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(timeout=30) as client:
                requests = [
                    client.post(f"{(first if i % 2 else second).base_url}/chat/completions", json=body, headers=headers)
                    for i in range(40)
                ]
                return [r.status_code for r in await asyncio.gather(*requests)]

        statuses = asyncio.run(fire())
    assert statuses.count(200) == 10, statuses
    assert statuses.count(429) == 30
