"""docs/models.md: every ```toml block with [[models]] must load with gennai's own loader.

Each block is loaded on its own (together with the blocks that define the models it falls
back to) and all blocks are loaded together, so the ids on the page are unique and any
subset can be copied into one gennai.toml.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from gennai.config import JAPANESE_AWS_REGIONS, LoadedConfig, ModelConfig, load_config
from gennai.gateway.registry import ModelRegistry, RegisteredModel
from gennai.policy.decision import decide

DOC = Path(__file__).resolve().parents[1] / "docs" / "models.md"
_FENCE = re.compile(r"^```toml[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_SECRET_ASSIGNMENT = re.compile(
    r"^\s*#?\s*(api_key|apikey|secret|password|token|aws_secret_access_key)\s*=", re.IGNORECASE | re.MULTILINE
)
_SECRET_LOOKING_VALUE = re.compile(r"sk-[A-Za-z0-9_\-]{16,}|AKIA[0-9A-Z]{16}|sk-ant-[A-Za-z0-9_\-]+")
_TABLE_ID = re.compile(r"^\|\s*`([^`]+)`\s*\|", re.MULTILINE)

# The seven domestic LLMs selected in the Digital Agency's 2026 procurement.
PROCUREMENT_IDS = {
    "tsuzumi-2",
    "cotomi-v3",
    "plamo-2-prime",
    "sarashina2-mini",
    "llama-3.1-elyza-jp-70b",
    "takane-32b",
    "cc-gov-llm",
}


def _model_blocks() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return [block for block in _FENCE.findall(text) if "[[models]]" in block]


BLOCKS = _model_blocks()


def _ids(block: str) -> list[str]:
    return [model["id"] for model in tomllib.loads(block).get("models", [])]


def _defining_block() -> dict[str, int]:
    where: dict[str, int] = {}
    for index, block in enumerate(BLOCKS):
        for model_id in _ids(block):
            where.setdefault(model_id, index)
    return where


def _with_fallback_targets(index: int) -> list[int]:
    """The block plus, transitively, the blocks that define the models it falls back to."""
    where = _defining_block()
    needed = [index]
    todo = [index]
    while todo:
        current = todo.pop()
        for model in tomllib.loads(BLOCKS[current]).get("models", []):
            for target in model.get("fallback", []):
                other = where.get(target)
                if other is not None and other not in needed:
                    needed.append(other)
                    todo.append(other)
    return needed


def _load(tmp_path: Path, blocks: list[str]) -> LoadedConfig:
    path = tmp_path / "gennai.toml"
    path.write_text("\n\n".join(blocks), encoding="utf-8")
    return load_config(path, environ={})


@pytest.fixture(scope="module")
def all_models(tmp_path_factory: pytest.TempPathFactory) -> list[ModelConfig]:
    loaded = _load(tmp_path_factory.mktemp("all"), BLOCKS)
    return loaded.config.models


def test_the_page_has_model_blocks() -> None:
    assert len(BLOCKS) >= 15


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=lambda i: ",".join(_ids(BLOCKS[i])))
def test_each_block_loads(tmp_path: Path, index: int) -> None:
    blocks = [BLOCKS[i] for i in _with_fallback_targets(index)]
    loaded = _load(tmp_path, blocks)
    loaded_ids = {model.id for model in loaded.config.models}
    assert set(_ids(BLOCKS[index])) <= loaded_ids


def test_all_blocks_load_together_with_unique_ids(all_models: list[ModelConfig]) -> None:
    ids = [model.id for model in all_models]
    assert len(ids) == len(set(ids))
    assert len(ids) == sum(len(_ids(block)) for block in BLOCKS)


def test_the_seven_procurement_models_are_documented(all_models: list[ModelConfig]) -> None:
    by_id = {model.id: model for model in all_models}
    assert PROCUREMENT_IDS <= set(by_id)
    for model_id in PROCUREMENT_IDS:
        model = by_id[model_id]
        assert model.origin == "domestic"
        assert model.hosting == "government-cloud"
        assert model.clearance == 2
        assert model.provider == "openai" and model.base_url and model.upstream_model
        assert "chat" in model.capabilities
        # FY2026: free trial use was a condition of the procurement.
        assert model.price_in == 0.0 and model.price_out == 0.0


def test_every_domestic_government_cloud_model_has_clearance_2(all_models: list[ModelConfig]) -> None:
    models = [m for m in all_models if m.origin == "domestic" and m.hosting == "government-cloud"]
    assert models
    assert all(m.clearance == 2 for m in models), [m.id for m in models if m.clearance != 2]


def test_bedrock_entries_stay_in_japan(all_models: list[ModelConfig]) -> None:
    bedrock = [m for m in all_models if m.provider == "bedrock"]
    assert {m.id for m in bedrock} >= {"claude-sonnet-4-5", "claude-haiku-4-5", "nova-2-lite"}
    for model in bedrock:
        assert model.region in JAPANESE_AWS_REGIONS, model.id
        assert model.upstream_model is not None and model.upstream_model.startswith("jp."), model.id
        assert model.hosting == "domestic-region", model.id


def test_foreign_models_outside_the_process_are_cleared_for_class_1_only(all_models: list[ModelConfig]) -> None:
    # The role-sharing hybrid: 機密性2 stays on domestic models; the embedded llama.cpp model
    # runs inside gennai and sends nothing anywhere.
    for model in all_models:
        if model.origin == "foreign" and model.provider != "llamacpp":
            assert model.clearance == 1, model.id


def test_translation_model_is_registered(all_models: list[ModelConfig]) -> None:
    translators = [m for m in all_models if "translation" in m.capabilities]
    assert [m.id for m in translators] == ["plamo-translate"]
    assert translators[0].origin == "domestic"


def test_embedded_default_and_examples(all_models: list[ModelConfig]) -> None:
    by_id = {model.id: model for model in all_models}
    default = by_id["smollm2-135m"]
    assert default.provider == "llamacpp" and default.model_path is None
    assert by_id["sarashina2.2-3b-local"].provider == "llamacpp"
    direct = by_id["claude-sonnet-4-5-direct"]
    assert direct.provider == "anthropic" and direct.hosting == "overseas" and direct.clearance == 1


def test_no_block_contains_a_secret() -> None:
    for block in BLOCKS:
        assert not _SECRET_ASSIGNMENT.search(block), block
        assert not _SECRET_LOOKING_VALUE.search(block), block


def test_credentials_are_named_not_given(all_models: list[ModelConfig]) -> None:
    for model in all_models:
        if model.api_key_env is not None:
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", model.api_key_env), model.id
            # GENNAI_* variables are read as configuration overrides.
            assert not model.api_key_env.startswith("GENNAI_"), model.id


def test_placeholders_are_obvious(all_models: list[ModelConfig]) -> None:
    for model in all_models:
        if model.base_url is not None:
            assert ".example.go.jp" in model.base_url and "<" in model.base_url, model.id


def test_summary_table_lists_every_model(all_models: list[ModelConfig]) -> None:
    text = DOC.read_text(encoding="utf-8")
    summary = text.split("\n## Summary\n", 1)[1].split("\n## ", 1)[0]
    table_ids = set(_TABLE_ID.findall(summary))
    assert table_ids == {model.id for model in all_models}


def _registry(models: list[ModelConfig]) -> ModelRegistry:
    # Only the configs matter to the policy; no provider is started.
    return ModelRegistry(
        [RegisteredModel(config=m, provider=None, breaker=None, limiter=None) for m in models]  # type: ignore[arg-type]
    )


def test_fallback_is_filtered_by_the_policy_as_the_page_says(all_models: list[ModelConfig]) -> None:
    registry = _registry(all_models)
    elyza = "llama-3.1-elyza-jp-70b"
    assert decide(registry, elyza, declared_class=1).candidates == [elyza, "plamo-2-prime", "claude-sonnet-4-5"]
    assert decide(registry, elyza, declared_class=2).candidates == [elyza, "plamo-2-prime"]
    # A class-2 request can never reach a Bedrock model, whatever its fallback list says.
    for model in all_models:
        if "chat" in model.capabilities and model.clearance >= 2:
            candidates = decide(registry, model.id, declared_class=2).candidates
            assert all(registry.get(c).config.clearance >= 2 for c in candidates)  # type: ignore[union-attr]
