"""`gennai teams …`: the same team administration as the admin API, for operators and
scripts on the server. Every change is written to the audit trail with the operating-system
user as the actor."""

from __future__ import annotations

import getpass
import json
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from gennai.cli import ConfigOption, _engine, _fail, _load, _table, console

teams_app = typer.Typer(help="Teams: create, members and admins, quotas, models, policy.", no_args_is_help=True)

T = TypeVar("T")


@contextmanager
def _services(config: Path | None) -> Iterator[tuple[Any, Any, Any, Any]]:
    from gennai.accounts.teams import Teams
    from gennai.accounts.users import Users
    from gennai.records.audit import AuditLog

    loaded = _load(config)
    engine = _engine(loaded)
    audit_config = loaded.config.audit
    audit = AuditLog(
        engine,
        loaded.resolve(audit_config.checkpoint_dir) if audit_config.checkpoint_dir else None,
        audit_config.checkpoint_every,
    )
    try:
        yield loaded, Teams(engine), Users(engine), audit
    finally:
        engine.dispose()


def _run(action: Callable[[], T]) -> T:
    from gennai.gateway.errors import GatewayError

    try:
        return action()
    except GatewayError as error:
        raise _fail(error.message, 1) from None


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "cli"


def _audit(audit: Any, action: str, team_id: str | None, **fields: Any) -> None:
    audit.append(action, actor_name=_operator(), team_id=team_id, **fields)


@teams_app.command("list")
def teams_list(config: ConfigOption = None) -> None:
    """List the teams."""
    with _services(config) as (_loaded, teams, _users, _audit_log):
        table = _table("name", "display name", "id", "default class", "retention (days)", "models")
        for team in teams.list():
            models = "all" if team.allowed_models is None else ", ".join(team.allowed_models) or "none"
            table.add_row(team.name, team.display_name, team.id, str(team.default_class), str(team.retention_days), models)
        console.print(table)


@teams_app.command("create")
def teams_create(
    name: Annotated[str, typer.Argument(help="short name: lowercase letters, digits, hyphens (e.g. digital-agency)")],
    display_name: Annotated[str, typer.Option("--display-name", help="名前 shown to users, e.g. デジタル庁 総務課")],
    admin: Annotated[str, typer.Option("--admin", help="username of the team's first admin (must exist)")],
    default_class: Annotated[int, typer.Option("--default-class", min=1, max=3)] = 1,
    retention_days: Annotated[int, typer.Option("--retention-days", min=1, max=3650)] = 365,
    config: ConfigOption = None,
) -> None:
    """Create a team with its first admin."""
    with _services(config) as (_loaded, teams, users, audit):
        user = _run(lambda: users.find(admin))
        team = _run(lambda: teams.create(name, display_name, admin_user_id=user.id,
                                         default_class=default_class, retention_days=retention_days))
        _audit(audit, "team.created", team.id, target_type="team", target_id=team.id, detail={"name": team.name, "admin": user.id})
        console.print(f"created team {team.name} ({team.id}) with admin {user.username}")


@teams_app.command("members")
def teams_members(team: Annotated[str, typer.Argument(help="team name or id")], config: ConfigOption = None) -> None:
    """List a team's members."""
    with _services(config) as (_loaded, teams, _users, _audit_log):
        found = _run(lambda: teams.find(team))
        table = _table("username", "display name", "admin", "since")
        for member in _run(lambda: teams.members(found.id)):
            table.add_row(member.username, member.display_name, "yes" if member.is_admin else "", member.since.date().isoformat())
        console.print(table)


@teams_app.command("add-member")
def teams_add_member(
    team: Annotated[str, typer.Argument(help="team name or id")],
    username: Annotated[str, typer.Argument()],
    admin: Annotated[bool, typer.Option("--admin", help="make them a team admin")] = False,
    config: ConfigOption = None,
) -> None:
    """Add a user to a team."""
    with _services(config) as (_loaded, teams, users, audit):
        found, user = _run(lambda: teams.find(team)), _run(lambda: users.find(username))
        _run(lambda: teams.add_member(found.id, user.id, is_admin=admin))
        _audit(audit, "member.added", found.id, target_type="user", target_id=user.id, detail={"is_admin": admin})
        console.print(f"added {user.username} to {found.name}" + (" as admin" if admin else ""))


@teams_app.command("set-admin")
def teams_set_admin(
    team: Annotated[str, typer.Argument(help="team name or id")],
    username: Annotated[str, typer.Argument()],
    admin: Annotated[bool, typer.Option("--admin/--no-admin", help="grant or remove the admin flag")] = True,
    config: ConfigOption = None,
) -> None:
    """Make a member a team admin (or, with --no-admin, a plain member again)."""
    with _services(config) as (_loaded, teams, users, audit):
        found, user = _run(lambda: teams.find(team)), _run(lambda: users.find(username))
        _run(lambda: teams.set_admin(found.id, user.id, admin))
        _audit(audit, "member.role_changed", found.id, target_type="user", target_id=user.id, detail={"is_admin": admin})
        console.print(f"{user.username} is {'an admin' if admin else 'a member'} of {found.name}")


@teams_app.command("remove-member")
def teams_remove_member(
    team: Annotated[str, typer.Argument(help="team name or id")],
    username: Annotated[str, typer.Argument()],
    config: ConfigOption = None,
) -> None:
    """Remove a user from a team (never its last admin)."""
    with _services(config) as (_loaded, teams, users, audit):
        found, user = _run(lambda: teams.find(team)), _run(lambda: users.find(username))
        _run(lambda: teams.remove_member(found.id, user.id))
        _audit(audit, "member.removed", found.id, target_type="user", target_id=user.id)
        console.print(f"removed {user.username} from {found.name}")


@teams_app.command("set-quotas")
def teams_set_quotas(
    team: Annotated[str, typer.Argument(help="team name or id")],
    rpm: Annotated[int | None, typer.Option("--rpm", min=0, help="requests per minute")] = None,
    tokens_per_day: Annotated[int | None, typer.Option("--tokens-per-day", min=0)] = None,
    tokens_per_month: Annotated[int | None, typer.Option("--tokens-per-month", min=0)] = None,
    budget_yen: Annotated[float | None, typer.Option("--budget-yen", min=0, help="budget in yen per month")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="remove every limit")] = False,
    config: ConfigOption = None,
) -> None:
    """Set a team's limits (options not given keep their current value)."""
    with _services(config) as (_loaded, teams, _users, audit):
        found = _run(lambda: teams.find(team))
        values = {} if clear else teams.limits("team", found.id).to_json()
        for name, value in (("requests_per_minute", rpm), ("tokens_per_day", tokens_per_day),
                            ("tokens_per_month", tokens_per_month), ("budget_yen_per_month", budget_yen)):
            if value is not None:
                values[name] = value
        limits = _run(lambda: teams.set_limits("team", found.id, values))
        _audit(audit, "quota.updated", found.id, target_type="team", target_id=found.id, detail=limits.to_json())
        console.print_json(json.dumps(limits.to_json()))


@teams_app.command("set-models")
def teams_set_models(
    team: Annotated[str, typer.Argument(help="team name or id")],
    models: Annotated[list[str] | None, typer.Argument(help="model ids the team may use")] = None,
    all_models: Annotated[bool, typer.Option("--all", help="every model of the deployment")] = False,
    config: ConfigOption = None,
) -> None:
    """Choose the models a team may use."""
    from gennai.config import ConfigError  # noqa: F401 - keeps the import cost out of --help

    if not all_models and not models:
        raise _fail("name the model ids, or --all for every model")
    with _services(config) as (loaded, teams, _users, audit):
        found = _run(lambda: teams.find(team))
        known = [m.id for m in loaded.config.models]
        updated = _run(lambda: teams.set_allowed_models(found.id, None if all_models else list(models or []), known))
        _audit(audit, "team.models_set", found.id, target_type="team", target_id=found.id, detail={"models": updated.allowed_models})
        console.print(f"{found.name}: " + ("every model" if updated.allowed_models is None else ", ".join(updated.allowed_models)))


@teams_app.command("set-policy")
def teams_set_policy(
    team: Annotated[str, typer.Argument(help="team name or id")],
    file: Annotated[Path, typer.Option("--file", "-f", help="TOML or JSON: on_not_cleared, pseudonymise, terms, patterns, custom_class, [[rules]]")],
    config: ConfigOption = None,
) -> None:
    """Set a team's policy overrides from a file (replaces the previous ones)."""
    try:
        text = file.read_text(encoding="utf-8")
        data = json.loads(text) if file.suffix.lower() == ".json" else tomllib.loads(text)
    except OSError as exc:
        raise _fail(f"{file}: cannot read: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise _fail(f"{file}:{exc.lineno}: {exc.msg}") from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(f"{file}: {exc}") from None
    with _services(config) as (_loaded, teams, _users, audit):
        found = _run(lambda: teams.find(team))
        updated = _run(lambda: teams.update(found.id, {"policy": data}))
        _audit(audit, "policy.updated", found.id, target_type="team", target_id=found.id, detail={"fields": sorted(data)})
        console.print_json(json.dumps(updated.policy, ensure_ascii=False))
