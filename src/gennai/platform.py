"""The running platform: every domain service, wired from one configuration. No HTTP here."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace

from sqlalchemy import Engine, text

from gennai.accounts.keys import KeyVerifier, read_key_secret
from gennai.config import LoadedConfig, PolicyConfig
from gennai.gateway.dispatch import Dispatcher
from gennai.gateway.registry import ModelRegistry
from gennai.policy.conversations import ConversationClasses
from gennai.gateway.errors import Forbidden
from gennai.policy.decision import Decision, Policy, PolicyRequest
from gennai.policy.detection import CustomRules, Detector, default_detector, load_detector
from gennai.records.usage import UsageWriter
from gennai.store.database import create_database_engine, migrate

log = logging.getLogger("gennai")

# Texts up to this size are classified on the event loop (well under a millisecond).
INLINE_DETECTION_CHARS = 4096


def build_detector(policy: PolicyConfig) -> Detector:
    """The configured detector; the default one carries the deployment's dictionary."""
    if policy.detector != "default":
        return load_detector(policy.detector)
    rules = CustomRules.from_lists(policy.terms, policy.patterns, default_class=policy.custom_class)
    return default_detector(rules if (policy.terms or policy.patterns) else None)


@dataclass
class Platform:
    loaded: LoadedConfig
    engine: Engine
    keys: KeyVerifier
    registry: ModelRegistry
    policy: Policy
    conversations: ConversationClasses
    dispatcher: Dispatcher
    usage: UsageWriter

    @classmethod
    def build(cls, loaded: LoadedConfig) -> Platform:
        config = loaded.config
        engine = create_database_engine(loaded.database_url)
        security = config.security
        secret = read_key_secret(
            loaded.resolve(security.key_secret_file) if security.key_secret_file else None,
            security.key_secret_env,
        )
        registry = ModelRegistry.from_config(config.models, config.gateway, loaded.base_dir)
        return cls(
            loaded=loaded,
            engine=engine,
            keys=KeyVerifier(engine, secret, ttl_s=security.key_cache_ttl_s),
            registry=registry,
            policy=Policy(registry, config.policy, detect=build_detector(config.policy).detect),
            conversations=ConversationClasses(engine),
            dispatcher=Dispatcher(registry, config.gateway),
            usage=UsageWriter(
                engine,
                loaded.resolve(config.records.spool_dir),
                flush_interval_s=config.records.flush_interval_s,
                batch_size=config.records.batch_size,
            ),
        )

    async def admit(self, request: PolicyRequest, owner: str, conversation_id: str | None) -> Decision:
        """The policy's decision for one request, with the conversation's memory: a named
        conversation is at least the class it already reached, and whatever this request
        carried (refused content included) raises it for the turns that follow."""
        history = 1
        if conversation_id:
            history = await asyncio.to_thread(self.conversations.get, owner, conversation_id)
            request = replace(request, history_class=history)
        try:
            if sum(map(len, request.texts)) <= INLINE_DETECTION_CHARS:
                decision = self.policy.decide(request)
            else:  # long documents are classified off the event loop
                decision = await asyncio.to_thread(self.policy.decide, request)
        except Forbidden as refusal:
            if conversation_id:
                seen = (getattr(refusal, "policy", None) or {}).get("effective_class", 1)
                await asyncio.to_thread(self.conversations.raise_to, owner, conversation_id, seen)
            raise
        seen = decision.original_class or decision.effective_class
        if conversation_id and seen > history:
            await asyncio.to_thread(self.conversations.raise_to, owner, conversation_id, seen)
        return decision

    async def start(self) -> None:
        migrate(self.engine)
        self.usage.start()
        await self.registry.start()

    async def stop(self) -> None:
        await self.registry.close()
        self.usage.close()
        self.engine.dispose()

    def database_ok(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - readiness reports, never raises
            return False
