"""The `gennai` command line (Typer + Rich)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gennai.config import ConfigError, LoadedConfig, default_config_path, load_config

app = typer.Typer(
    help="gennai: 源内-compatible government AI platform",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

console = Console()
if not console.is_terminal:
    console = Console(width=160)  # pipes and logs: no 80-column folding
errors = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="gennai.toml to use (default: $GENNAI_CONFIG or ./gennai.toml)"),
]


def _table(*headers: str) -> Table:
    """A table whose cells wrap instead of being cut off in narrow terminals and pipes."""
    table = Table()
    for header in headers:
        table.add_column(header, overflow="fold")
    return table


def _fail(message: str, code: int = 2) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _load(config: Path | None) -> LoadedConfig:
    try:
        return load_config(config if config is not None else default_config_path())
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _engine(loaded: LoadedConfig):  # type: ignore[no-untyped-def]
    from gennai.store.database import create_database_engine, migrate

    engine = create_database_engine(loaded.database_url)
    try:
        migrate(engine)
    except Exception as exc:  # noqa: BLE001 - one line for the operator, not a trace
        raise _fail(f"database {loaded.config.database.url}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    return engine


def _secret(loaded: LoadedConfig) -> bytes:
    from gennai.accounts.keys import KeySecretError, read_key_secret

    security = loaded.config.security
    try:
        return read_key_secret(
            loaded.resolve(security.key_secret_file) if security.key_secret_file else None, security.key_secret_env
        )
    except KeySecretError as exc:
        raise _fail(str(exc)) from None


@app.command()
def init(
    directory: Annotated[Path, typer.Option("--dir", "-d", help="folder for gennai.toml and data/")] = Path("."),
) -> None:
    """Write a commented gennai.toml and a data folder (with the key secret and database)."""
    from importlib.resources import files

    from gennai.accounts.keys import write_key_secret

    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "gennai.toml"
    if config_path.exists():
        console.print(f"{config_path} already exists; left unchanged.")
    else:
        template = files("gennai").joinpath("templates/gennai.toml").read_text(encoding="utf-8")
        config_path.write_text(template, encoding="utf-8")
        console.print(f"wrote {config_path}")
    loaded = _load(config_path)
    loaded.data_dir.mkdir(parents=True, exist_ok=True)
    secret_file = loaded.config.security.key_secret_file
    if secret_file and not loaded.resolve(secret_file).exists():
        write_key_secret(loaded.resolve(secret_file))
        console.print(f"wrote key secret {loaded.resolve(secret_file)} (mode 600)")
    _engine(loaded).dispose()
    console.print(f"database ready: {loaded.database_url}")
    console.print(
        "next: create the bootstrap admin key (shown once):\n"
        f"  gennai keys create --name admin --admin --config {config_path}"
    )


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", "-n", help="what the key is for, e.g. 'admin' or 'open-webui'")],
    config: ConfigOption = None,
    user: Annotated[str | None, typer.Option("--user", help="owner's user name (default: the key name)")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="a system administrator's key")] = False,
) -> None:
    """Create an API key and print it once (only its keyed hash is stored)."""
    from gennai.accounts.keys import create_key

    loaded = _load(config)
    engine = _engine(loaded)
    try:
        created = create_key(engine, _secret(loaded), name=name, username=user, admin=admin)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    errors.print(f"created key '{name}' ({created.prefix}…). It is shown only now; store it safely:")
    print(created.key)


@keys_app.command("list")
def keys_list(config: ConfigOption = None) -> None:
    """List keys (prefix, name, state); secrets are never shown."""
    from gennai.accounts.keys import list_keys

    loaded = _load(config)
    engine = _engine(loaded)
    table = _table("prefix", "name", "scopes", "created", "state")
    for key in list_keys(engine):
        state = "revoked" if key.revoked_at else "active"
        table.add_row(key.prefix + "…", key.name, ",".join(key.scopes or []), f"{key.created_at:%Y-%m-%d %H:%M}", state)
    engine.dispose()
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="the key's prefix (as listed) or id")],
    config: ConfigOption = None,
) -> None:
    """Revoke a key; every worker stops accepting it within security.key_cache_ttl_s."""
    from gennai.accounts.keys import revoke_key

    loaded = _load(config)
    engine = _engine(loaded)
    done = revoke_key(engine, key.rstrip("…"))
    engine.dispose()
    if not done:
        raise _fail(f"no active key '{key}'")
    console.print(f"revoked {key}")


@app.command()
def models(config: ConfigOption = None) -> None:
    """List models with origin, hosting, clearance and whether each is reachable now."""
    from gennai.gateway.registry import ModelRegistry

    loaded = _load(config)
    registry = ModelRegistry.from_config(loaded.config.models, loaded.config.gateway, loaded.base_dir)

    async def probe() -> dict[str, tuple[bool, str]]:
        results: dict[str, tuple[bool, str]] = {}
        for model in registry:
            try:
                if model.config.provider != "llamacpp":
                    await model.provider.start()
                result = await model.provider.probe()
                results[model.id] = (result.reachable, result.detail)
            except Exception as exc:  # noqa: BLE001 - reported in the table
                results[model.id] = (False, f"{type(exc).__name__}: {exc}")
            finally:
                if model.config.provider != "llamacpp":
                    await model.provider.close()
        return results

    with console.status("checking models…"):
        results = asyncio.run(probe())
    table = _table("id", "name", "provider", "origin", "hosting", "clearance", "reachable")
    for model in registry:
        c = model.config
        reachable, detail = results[model.id]
        mark = "[green]yes[/]" if reachable else "[red]no[/]"
        table.add_row(c.id, c.display_name, c.provider, c.origin, c.hosting, f"機密性{c.clearance}", f"{mark} {detail}")
    console.print(table)


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option("--host", help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option("--port", "-p", help="port to listen on")] = None,
) -> None:
    """Run the gateway (API and health endpoints) in this process."""
    import uvicorn

    from gennai.accounts.keys import KeySecretError, count_keys
    from gennai.api.app import create_app
    from gennai.platform import Platform

    loaded = _load(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        platform = Platform.build(loaded)
    except KeySecretError as exc:
        raise _fail(str(exc)) from None
    except Exception as exc:  # noqa: BLE001
        raise _fail(f"{type(exc).__name__}: {exc}") from None
    engine = _engine(loaded)
    if count_keys(engine) == 0:
        errors.print(
            "No API key exists yet. Create the bootstrap admin key (printed once) with:\n"
            f"  gennai keys create --name admin --admin --config {loaded.path}"
        )
    engine.dispose()
    server = loaded.config.server
    bind_host = host or server.host
    bind_port = port or server.port
    errors.print(f"gennai listening on http://{bind_host}:{bind_port}/v1 (OpenAI-compatible)")
    uvicorn.run(
        create_app(platform),
        host=bind_host,
        port=bind_port,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http="httptools",
        access_log=False,
        proxy_headers=bool(server.forwarded_allow_ips),
        forwarded_allow_ips=server.forwarded_allow_ips or None,
        log_level=os.environ.get("GENNAI_LOG_LEVEL", "warning").lower(),
        timeout_graceful_shutdown=int(server.shutdown_timeout_s),
    )


@app.command()
def classify(
    file: Annotated[str, typer.Argument(help="plain text or JSONL ({\"id\", \"text\"} per line); - for standard input")] = "-",
    jsonl: Annotated[bool, typer.Option("--jsonl", help="the input is JSONL (default: detected when every non-empty line is a JSON object with \"text\")")] = False,
    rules: Annotated[Path | None, typer.Option("--rules", help="team terms and patterns (TOML or JSON: terms = [...], patterns = [...])")] = None,
) -> None:
    """Propose a 機密性 class for text: markings and personal data found, one JSON line per input."""
    import json

    import orjson

    from gennai.policy.detection import CustomRules, default_detector

    custom = None
    if rules is not None:
        try:
            raw_rules = rules.read_bytes()
            if rules.suffix.lower() == ".json":
                rules_data = json.loads(raw_rules)
            else:
                import tomllib

                rules_data = tomllib.loads(raw_rules.decode("utf-8"))
            custom = CustomRules.from_mapping(rules_data.get("detection", rules_data))
        except FileNotFoundError:
            raise _fail(f"{rules}: no such file") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise _fail(f"{rules}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    name = "<stdin>" if file == "-" else file
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except FileNotFoundError:
        raise _fail(f"{name}: no such file") from None
    except IsADirectoryError:
        raise _fail(f"{name}: is a directory") from None
    except OSError as exc:
        raise _fail(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(f"{name}: not UTF-8 text (invalid byte at offset {exc.start})") from None

    records: list[tuple[object, str]] = []
    lines = text.splitlines()
    if not jsonl:
        jsonl = _looks_like_jsonl(lines)
    if jsonl:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise _fail(f"{name}:{number}: not valid JSON: {str(exc).splitlines()[0]}") from None
            if not isinstance(obj, dict):
                raise _fail(f"{name}:{number}: expected a JSON object with \"text\"") from None
            if not isinstance(obj.get("text"), str):
                raise _fail(f"{name}:{number}: \"text\" must be a string") from None
            records.append((obj.get("id"), obj["text"]))
    else:
        records.append((None if file == "-" else file, text))
    detector = default_detector(custom)
    out = sys.stdout.buffer
    for record_id, record_text in records:
        out.write(orjson.dumps(detector.detect(record_text).to_json(record_id)) + b"\n")  # type: ignore[arg-type]
    out.flush()


def _looks_like_jsonl(lines: list[str]) -> bool:
    """Every non-empty line is a JSON object with a string "text" (and there is one)."""
    import orjson

    seen = False
    for line in lines:
        if not line.strip():
            continue
        if not line.lstrip().startswith("{"):
            return False
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return False
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            return False
        seen = True
    return seen


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - a person gets one line, not a trace
        errors.print(f"[bold red]error:[/] {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", highlight=False)
        if os.environ.get("GENNAI_DEBUG"):
            raise
        sys.exit(1)
