"""The running platform: every domain service, wired from one configuration. No HTTP here."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace

from sqlalchemy import Engine, text

from gennai.accounts.keys import KeyVerifier, read_key_secret
from gennai.accounts.signin import AuthServices
from gennai.config import LoadedConfig, PolicyConfig
from gennai.gateway.dispatch import Dispatcher
from gennai.gateway.registry import ModelRegistry
from gennai.policy.conversations import ConversationClasses
from gennai.gateway.errors import Forbidden
from gennai.policy.decision import Decision, Policy, PolicyRequest
from gennai.policy.detection import CustomRules, Detector, default_detector, instructions_detector, load_detector
from gennai.accounts.teams import Teams
from gennai.accounts.users import Users
from gennai.policy.teams import TeamPolicies
from gennai.records.audit import AuditLog
from gennai.apps.definitions import GENERAL_APPS_DIR, LoadedApps, load_apps
from gennai.accounts.quotas import QuotaService, Reservation, build_quota_service
from gennai.conversations import ConversationStore, RetentionJob, ensure_master_key_file, load_master_keys
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


def _load_apps(loaded: LoadedConfig) -> LoadedApps:
    """The built-in general apps and the deployment's own; a broken file is logged and skipped."""
    apps = load_apps([GENERAL_APPS_DIR, *(loaded.resolve(folder) for folder in loaded.config.apps.folders)])
    for error in apps.errors:
        log.error("app not loaded: %s", error)
    return apps


@dataclass
class Platform:
    loaded: LoadedConfig
    engine: Engine
    keys: KeyVerifier
    auth: AuthServices
    registry: ModelRegistry
    policy: Policy
    conversations: ConversationClasses
    dispatcher: Dispatcher
    usage: UsageWriter
    teams: Teams
    users: Users
    team_policies: TeamPolicies
    audit: AuditLog
    content: ConversationStore
    retention: RetentionJob
    quotas: QuotaService
    apps: LoadedApps
    _background: set[asyncio.Task[None]] = field(default_factory=set)

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
        audit = AuditLog(
            engine,
            loaded.resolve(config.audit.checkpoint_dir) if config.audit.checkpoint_dir else None,
            config.audit.checkpoint_every,
        )
        if config.content.master_key_file and not config.content.master_key_env:
            # A deployment with no stored content yet gets its first master key here.
            if ensure_master_key_file(loaded.resolve(config.content.master_key_file)):
                log.warning("created the content master key %s", loaded.resolve(config.content.master_key_file))
        content = ConversationStore(engine, load_master_keys(loaded), audit=audit.append)
        detector = build_detector(config.policy)
        return cls(
            loaded=loaded,
            engine=engine,
            keys=KeyVerifier(engine, secret, ttl_s=security.key_cache_ttl_s),
            auth=AuthServices.build(engine, config.auth, secret, loaded.resolve, audit=audit.append),
            registry=registry,
            policy=Policy(registry, config.policy, detect=detector.detect, detect_instructions=instructions_detector(detector).detect),
            conversations=ConversationClasses(engine),
            dispatcher=Dispatcher(registry, config.gateway),
            usage=UsageWriter(
                engine,
                loaded.resolve(config.records.spool_dir),
                flush_interval_s=config.records.flush_interval_s,
                batch_size=config.records.batch_size,
            ),
            teams=Teams(engine),
            users=Users(engine),
            team_policies=TeamPolicies(engine, config.policy, ttl_s=security.key_cache_ttl_s),
            audit=audit,
            content=content,
            retention=RetentionJob(content, config.content.purge_interval_s),
            quotas=build_quota_service(config.quotas, engine),
            apps=_load_apps(loaded),
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

    def settle_soon(self, reservation: Reservation, tokens: int, cost_yen: float) -> None:
        """Settle a quota reservation with the real usage, in the background (the response
        is already on its way); kept referenced until done, never cancelled by the client."""
        task = asyncio.get_running_loop().create_task(self.quotas.settle(reservation, tokens, cost_yen))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def audit_soon(self, action: str, **fields: object) -> None:
        """Append to the audit trail off the event loop without waiting (request paths:
        policy blocks and reroutes). A failure is logged, never raised into the request."""

        def write() -> None:
            try:
                self.audit.append(action, **fields)  # type: ignore[arg-type]
            except Exception:  # noqa: BLE001
                log.exception("could not write the audit entry %s", action)

        asyncio.get_running_loop().run_in_executor(None, write)

    async def start(self) -> None:
        migrate(self.engine)
        self.usage.start()
        await self.registry.start()
        await self.retention.start()

    async def stop(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.quotas.aclose()
        await self.retention.stop()
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
