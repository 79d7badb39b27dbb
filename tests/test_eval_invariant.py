"""The one invariant for evaluation runs, as a property: whatever the items' declared
classes and contents, the candidates' clearances, their fallback lists and failing upstreams,
no model ever receives an item whose effective class exceeds its clearance, and no model but
the candidate itself ever sees a candidate's item (a sealed test never reaches another vendor
through a fallback)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gennai.accounts.keys import write_key_secret
from gennai.config import load_config
from gennai.evaluation.config import EvalConfig, RunSettings
from gennai.evaluation.items import Item
from gennai.evaluation.runner import Runner
from gennai.evaluation.transcripts import read_transcript
from gennai.platform import Platform
from tests.support.scripted_upstream import ScriptedUpstream
from tests.support.servers import running_asyncio_server

# Texts whose detected class is known: plain (1), a valid My Number (2), a 秘 marking (3).
TEXTS = {
    1: "今日の会議室の予約方法を教えてください。",
    2: "申請者のマイナンバーは 1234 5678 9018 です。手続を教えてください。",
    3: "【極秘】来年度の組織改編案について要点をまとめてください。",
}
# (id, clearance, hosting, fallbacks)
MODELS = (
    ("open-1", 1, "overseas", ("dom-2", "gov-3")),
    ("dom-2", 2, "domestic-region", ("gov-3", "open-1")),
    ("gov-3", 3, "on-premises", ("dom-2",)),
    ("spare-2", 2, "government-cloud", ()),
)
CLEARANCE = {model_id: clearance for model_id, clearance, _, _ in MODELS}

ENTRY = """
[[models]]
id = "{id}"
display_name = "{id}"
provider = "openai"
base_url = "http://127.0.0.1:{port}/v1"
upstream_model = "{id}"
origin = "domestic"
hosting = "{hosting}"
clearance = {clearance}
timeout_s = 5
fallback = {fallback}
"""


def effective_class(text: str) -> int:
    """The item's class as the policy must see it: the highest content class in the text."""
    return max(klass for klass, sample in TEXTS.items() if sample in text)


items_strategy = st.lists(
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.booleans()),  # declared class, content class, two turns
    min_size=1, max_size=6,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=items_strategy,
    candidates=st.lists(st.sampled_from([m[0] for m in MODELS]), min_size=1, max_size=3, unique=True),
    failing=st.sets(st.sampled_from([m[0] for m in MODELS])),
)
def test_no_item_reaches_a_model_above_its_clearance_or_a_model_that_is_not_the_candidate(
    tmp_path_factory: Any, specs: list[tuple[int, int, bool]], candidates: list[str], failing: set[str]
) -> None:
    tmp_path: Path = tmp_path_factory.mktemp("eval-invariant")
    items = [
        Item(
            id=f"q{index}", category="x", scoring="exact", answer="ok", classification=declared,
            input=None if two else f"[q{index}] {TEXTS[content]}",
            turns=(f"[q{index}] {TEXTS[1]}", f"[q{index}b] {TEXTS[content]}") if two else (),
        )
        for index, (declared, content, two) in enumerate(specs)
    ]
    upstream = ScriptedUpstream(lambda model, messages: None if model in failing else "ok")

    async def start(port: int) -> ScriptedUpstream:
        return await upstream.start(port)

    with running_asyncio_server(start) as port:
        config = tmp_path / "gennai.toml"
        config.write_text(
            f'data_dir = "data"\n[database]\nurl = "sqlite:///{tmp_path / "g.db"}"\n[gateway]\nretries = 1\nretry_backoff_s = 0.0\n'
            + "".join(
                ENTRY.format(id=model_id, port=port, hosting=hosting, clearance=clearance, fallback=list(fallback)).replace("'", '"')
                for model_id, clearance, hosting, fallback in MODELS
            ),
            encoding="utf-8",
        )
        write_key_secret(tmp_path / "data" / "secret.key")

        async def run() -> None:
            platform = Platform.build(load_config(config, environ={}))
            await platform.start()
            try:
                settings_ = EvalConfig(run=RunSettings(concurrency=2, retries=1, retry_backoff_s=0.0, timeout_s=10))
                await Runner(platform, settings_, tmp_path, "prop").run(items, candidates)
            finally:
                await platform.stop()

        asyncio.run(run())

    by_id = {item.id: item for item in items}
    for body in upstream.requests:
        model = body["model"]
        text = "\n".join(str(message.get("content")) for message in body["messages"])
        tags = set(re.findall(r"\[(q\d+)b?\]", text))
        assert model in candidates, f"{model} is not a candidate but received {tags}"
        for tag in tags:
            item = by_id[tag]
            klass = max(item.classification, effective_class(text))
            assert klass <= CLEARANCE[model], f"{tag} (class {klass}) reached {model} (clearance {CLEARANCE[model]})"
    for candidate in candidates:
        lines = read_transcript(tmp_path, candidate)
        for item in items:
            line = lines[item.id]
            klass = max([item.classification, *(effective_class(text) for text in item.messages)])
            if klass > CLEARANCE[candidate]:
                # refused by the policy; a failing model may fail a harmless first turn before that
                assert line.status == "blocked" or (candidate in failing and line.status == "error"), (item.id, candidate, line)
            elif candidate in failing:
                assert line.status == "error"
            else:
                assert line.status == "ok" and line.model == candidate
