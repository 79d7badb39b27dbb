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


def _record(loaded: LoadedConfig, engine, action: str, **fields: object) -> None:  # type: ignore[no-untyped-def]
    """An audit entry for a change made from the command line (actor: the OS user)."""
    import getpass

    from gennai.records.audit import AuditLog

    try:
        operator = f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name in some containers
        operator = "cli"
    audit = loaded.config.audit
    AuditLog(engine, loaded.resolve(audit.checkpoint_dir) if audit.checkpoint_dir else None, audit.checkpoint_every).append(
        action, actor_name=operator, **fields  # type: ignore[arg-type]
    )


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
    content = loaded.config.content
    if content.master_key_file and not content.master_key_env:
        from gennai.conversations.keys import ensure_master_key_file

        if ensure_master_key_file(loaded.resolve(content.master_key_file)):
            console.print(f"wrote content master key {loaded.resolve(content.master_key_file)} (mode 600)")
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
        _record(loaded, engine, "key.created", target_type="api_key", target_id=created.record_id,
                detail={"kind": "personal", "admin": admin})
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
    if done:
        _record(loaded, engine, "key.revoked", target_type="api_key", target_id=key.rstrip("…"))
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


audit_app = typer.Typer(help="The tamper-evident audit trail: verify, export, checkpoint.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _audit_log(loaded: LoadedConfig):  # type: ignore[no-untyped-def]
    from gennai.records.audit import AuditLog

    audit = loaded.config.audit
    engine = _engine(loaded)
    return AuditLog(engine, loaded.resolve(audit.checkpoint_dir), audit.checkpoint_every), engine


def _when(option: str, value: str | None):  # type: ignore[no-untyped-def]
    """An ISO date or datetime from the command line; without an offset it is local time."""
    from datetime import datetime

    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _fail(
            f"{option}: not an ISO date or date-time: {value!r} (e.g. 2026-11-01 or 2026-11-01T09:00:00+09:00)"
        ) from None
    return parsed.astimezone() if parsed.tzinfo is None else parsed


@audit_app.command("verify")
def audit_verify(config: ConfigOption = None) -> None:
    """Walk the whole hash chain and compare it with the checkpoints; exit 1 if broken."""
    loaded = _load(config)
    log, engine = _audit_log(loaded)
    try:
        result = log.verify()
    finally:
        engine.dispose()
    if result.ok:
        print(f"OK: {result.entries} entries, chain intact")
        return
    print(result.problem)
    raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    config: ConfigOption = None,
    since: Annotated[str | None, typer.Option("--since", help="from this date or date-time (ISO 8601; local time without an offset)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="before this date or date-time (ISO 8601; local time without an offset)")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="JSONL file to write (default: standard output)")] = None,
) -> None:
    """Write audit entries as JSONL (hash and prev_hash included, so the export can be re-verified)."""
    from gennai.records.audit import AuditReadError

    start, end = _when("--since", since), _when("--until", until)
    if start is not None and end is not None and end <= start:
        raise _fail("--until must be after --since")
    loaded = _load(config)
    log, engine = _audit_log(loaded)
    try:
        if output is None:
            if hasattr(sys.stdout, "reconfigure"):
                sys.stdout.reconfigure(encoding="utf-8")
            count = log.export(sys.stdout, start, end)
            sys.stdout.flush()
        else:
            try:
                with output.open("w", encoding="utf-8", newline="\n") as out:
                    count = log.export(out, start, end)
            except OSError as exc:
                raise _fail(f"{output}: cannot write: {exc.strerror or exc}") from None
    except AuditReadError as exc:
        raise _fail(f"{exc} (run `gennai audit verify`)", 1) from None
    finally:
        engine.dispose()
    errors.print(f"exported {count} entries" + (f" to {output}" if output is not None else ""), highlight=False)


@audit_app.command("checkpoint")
def audit_checkpoint(config: ConfigOption = None) -> None:
    """Append the head of the chain (seq and hash) to the checkpoint file now."""
    loaded = _load(config)
    log, engine = _audit_log(loaded)
    try:
        point = log.checkpoint()
    except OSError as exc:
        raise _fail(f"{log.checkpoint_dir}: cannot write checkpoint: {exc.strerror or exc}") from None
    finally:
        engine.dispose()
    if point is None:
        print("no audit entries yet; nothing to checkpoint")
        return
    print(f"checkpoint: entry {point.seq}, hash {point.hash} → {log.checkpoint_path}")


content_app = typer.Typer(
    help="Conversation content at rest: master-key and data-key rotation, retention.", no_args_is_help=True
)
app.add_typer(content_app, name="content")


def _content_keys(loaded: LoadedConfig):  # type: ignore[no-untyped-def]
    from gennai.conversations.keys import ContentKeyError, load_master_keys

    try:
        return load_master_keys(loaded)
    except ContentKeyError as exc:
        raise _fail(str(exc)) from None


def _content_error(exc: Exception) -> typer.Exit:
    from gennai.conversations.keys import ContentKeyError

    if isinstance(exc, ContentKeyError):
        return _fail(str(exc))
    return _fail(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


@content_app.command("rotate-master-key")
def content_rotate_master_key(config: ConfigOption = None) -> None:
    """Append a new master key to the key file and re-wrap every data key with it."""
    from gennai.conversations.keys import append_master_key, data_key_master_ids, rewrap_data_keys

    loaded = _load(config)
    content = loaded.config.content
    if content.master_key_env:
        raise _fail(
            f"the master keys come from the environment variable {content.master_key_env}, which gennai cannot change: "
            f"add a new key (`openssl rand -base64 32`) as its last line, restart gennai with it, "
            f"run `gennai content rewrap`, then remove the old line"
        )
    keys = _content_keys(loaded)
    assert keys.file is not None
    engine = _engine(loaded)
    try:
        try:
            missing = sorted(set(data_key_master_ids(engine)) - set(keys.ids))
        except Exception as exc:  # noqa: BLE001
            raise _content_error(exc) from None
        if missing:
            raise _fail(
                f"data keys are wrapped by master key(s) {', '.join(missing)}, which are not in {keys.file}; "
                "put them back before rotating"
            )
        try:
            new = append_master_key(keys.file)
        except Exception as exc:  # noqa: BLE001
            raise _content_error(exc) from None
        try:
            result = rewrap_data_keys(engine, keys.reloaded())
        except Exception as exc:  # noqa: BLE001
            raise _fail(
                f"master key {new.id} was added to {keys.file}, but re-wrapping the data keys failed "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                "fix that and run `gennai content rewrap`"
            ) from None
    finally:
        engine.dispose()
    print(f"added master key {new.id} to {keys.file} (now the current key)")
    print(f"re-wrapped {result.rewrapped} of {result.total} data key(s) under master key {new.id}")
    print(f"the older key line(s) ({', '.join(keys.ids)}) may now be removed from {keys.file}")


@content_app.command("rewrap")
def content_rewrap(config: ConfigOption = None) -> None:
    """Re-wrap every data key under the current (last) master key; content is not re-encrypted."""
    from gennai.conversations.keys import rewrap_data_keys

    loaded = _load(config)
    keys = _content_keys(loaded)
    engine = _engine(loaded)
    try:
        result = rewrap_data_keys(engine, keys)
    except Exception as exc:  # noqa: BLE001
        raise _content_error(exc) from None
    finally:
        engine.dispose()
    print(f"re-wrapped {result.rewrapped} of {result.total} data key(s) under master key {result.master_key_id}")


@content_app.command("rotate-data-key")
def content_rotate_data_key(config: ConfigOption = None) -> None:
    """Retire the current data key and create a new one for new content."""
    from gennai.conversations.keys import rotate_data_key

    loaded = _load(config)
    keys = _content_keys(loaded)
    engine = _engine(loaded)
    try:
        data_key_id, retired = rotate_data_key(engine, keys)
    except Exception as exc:  # noqa: BLE001
        raise _content_error(exc) from None
    finally:
        engine.dispose()
    print(f"new data key {data_key_id} (wrapped by master key {keys.current.id}); running servers use it within a minute")
    print(f"retired {retired} data key(s): they still decrypt their conversations, which move to the new key with their next message")


@content_app.command("purge")
def content_purge(config: ConfigOption = None) -> None:
    """Delete the conversations past their team's retention period now (what the scheduled job does)."""
    from gennai.conversations.store import purge_expired

    loaded = _load(config)
    engine = _engine(loaded)
    try:
        deleted = purge_expired(engine)
    except Exception as exc:  # noqa: BLE001
        raise _content_error(exc) from None
    finally:
        engine.dispose()
    print(f"deleted {deleted} expired conversation(s)")


from gennai.cli_teams import teams_app  # noqa: E402 - it uses the helpers above

app.add_typer(teams_app, name="teams")


users_app = typer.Typer(help="Local accounts that sign in with a password: create, set-password, unlock.", no_args_is_help=True)
app.add_typer(users_app, name="users")

from gennai.cli_eval import eval_app  # noqa: E402 - the eval commands live in their own module

app.add_typer(eval_app, name="eval")

PasswordStdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from the first line of standard input (no prompt)")
]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if not password:
            raise _fail("no password on standard input")
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="the sign-in name")],
    config: ConfigOption = None,
    display_name: Annotated[str | None, typer.Option("--display-name", help="name shown in the interface (default: the user name)")] = None,
    email: Annotated[str | None, typer.Option("--email", help="e-mail address")] = None,
    system_admin: Annotated[bool, typer.Option("--system-admin", help="a system administrator")] = False,
    password_stdin: PasswordStdinOption = False,
    generate_password: Annotated[
        bool, typer.Option("--generate-password", help="make up a strong password and print it once (first start-up)")
    ] = False,
) -> None:
    """Create a local user with a password (asked twice, not echoed)."""
    import secrets

    from gennai.accounts.passwords import PasswordRejected, create_local_user

    loaded = _load(config)
    if generate_password:
        words = "-".join(secrets.token_hex(3) for _ in range(4))  # e.g. 3fa1c2-9b04de-…: 96 bits
        password = words
    else:
        password = _read_password(password_stdin)
    engine = _engine(loaded)
    try:
        user = create_local_user(
            engine, username, password, display_name=display_name, email=email, system_admin=system_admin,
            min_length=loaded.config.auth.password_min_length,
        )
        _record(loaded, engine, "user.created", target_type="user", target_id=user.id,
                detail={"system_admin": system_admin, "method": "password"})
    except PasswordRejected as exc:
        raise _fail(exc.message) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    console.print(f"created user {user.username}" + (" (system administrator)" if system_admin else ""))
    if generate_password:
        console.print(f"password (shown only now): {password}", highlight=False)


@users_app.command("set-password")
def users_set_password(
    username: Annotated[str, typer.Argument(help="the sign-in name")],
    config: ConfigOption = None,
    password_stdin: PasswordStdinOption = False,
) -> None:
    """Set a user's password; clears any lockout and signs the user out everywhere."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from gennai.accounts.passwords import PasswordRejected, set_password
    from gennai.accounts.sessions import SessionStore
    from gennai.store.tables import User

    loaded = _load(config)
    engine = _engine(loaded)
    try:
        with Session(engine) as session:
            user_id = session.scalars(select(User.id).where(User.username == username)).first()
        if user_id is None:
            raise _fail(f"no user '{username}'")
        password = _read_password(password_stdin)
        try:
            set_password(engine, user_id, password, min_length=loaded.config.auth.password_min_length)
        except PasswordRejected as exc:
            raise _fail(exc.message) from None
        ended = SessionStore(engine, loaded.config.auth).revoke_all(user_id)
        _record(loaded, engine, "user.password_set", target_type="user", target_id=user_id, detail={"sessions_ended": ended})
    finally:
        engine.dispose()
    console.print(f"password set for {username}; {ended} session(s) signed out")


@users_app.command("unlock")
def users_unlock(
    username: Annotated[str, typer.Argument(help="the sign-in name")],
    config: ConfigOption = None,
) -> None:
    """Lift a lockout after failed sign-ins (the failure count starts again from zero)."""
    from gennai.accounts.signin import unlock_user

    loaded = _load(config)
    engine = _engine(loaded)
    try:
        done = unlock_user(engine, username)
        if done:
            _record(loaded, engine, "user.unlocked", target_type="user", target_id=username)
    finally:
        engine.dispose()
    if not done:
        raise _fail(f"no user '{username}'")
    console.print(f"unlocked {username}")


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
