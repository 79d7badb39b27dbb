"""The administration pages under /manage (管理): teams, members and their admin flag,
service keys, the models a team may use, its policy overrides, its own routing rules and
quotas; users and their roles; the deployment's models and routing rules (read-only).

HTTP and HTML only. Every rule lives in gennai.accounts, and every permission in the one
table of gennai.accounts.permissions: a page or form checks `require(actor, action, team)`
with the action of the admin API endpoint that does the same thing, and a change is made by
calling that endpoint's own handler (gennai.api.admin_routes) with the same `Call`, so the
change, its side effects (caches, sessions, retention) and its audit entry are the API's.

Forms are plain HTML (POST, then a redirect with `?done=…` for the success message), carry the
session's CSRF token in the `csrf_token` field, and work without script. Destructive or
significant changes — removing a member, demoting an admin, revoking a key, deleting a
routing rule, changing the allowed models, quotas, a user's roles or status, shortening the
retention period — first answer with a confirmation page 「本当に…しますか？」 whose form
repeats the values with `confirmed=1`; only that second post changes anything.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gennai.accounts.keys import KeyView, key_views
from gennai.accounts.permissions import Actor, allowed, readable_teams, require
from gennai.accounts.teams import TeamView
from gennai.api import admin_routes
from gennai.api.admin_routes import Call
from gennai.gateway.errors import Forbidden, GatewayError, InvalidRequest, NotFound
from gennai.gateway.registry import RegisteredModel
from gennai.platform import Platform
from gennai.store.tables import COMMON_TEAM_ID
from gennai.web.pages import page
from gennai.web.session import WebUser, check_csrf, require_user
from gennai.web.templating import render

MAX_FORM_BYTES = admin_routes.MAX_ADMIN_BODY
FORM_TYPE = "application/x-www-form-urlencoded"
JST = timezone(timedelta(hours=9), "JST")

# -- words --------------------------------------------------------------------------------------

DONE = {
    "settings": "チームの設定を保存しました。",
    "unchanged": "変更はありませんでした。",
    "member_added": "メンバーを追加しました。",
    "admin_granted": "メンバーをチームの管理者にしました。",
    "admin_revoked": "メンバーをチームの管理者から外しました。",
    "member_removed": "メンバーをチームから外しました。",
    "key_revoked": "キーを無効にしました。このキーはもう使えません。",
    "models": "使えるモデルを保存しました。",
    "policy": "ポリシーを保存しました。",
    "rule_added": "ルーティングルールを追加しました。",
    "rule_moved": "ルーティングルールの順番を変えました。",
    "rule_deleted": "ルーティングルールを削除しました。",
    "quotas": "利用上限を保存しました。",
    "team_created": "チームを作成しました。",
    "user_created": "利用者を作成しました。",
    "user_updated": "利用者の役割を保存しました。",
    "user_disabled": "利用者を利用停止にしました。この人のセッションはすべて終了しました。",
    "user_enabled": "利用者の利用停止を解除しました。",
    "user_quotas": "利用者の利用上限を保存しました。",
}

ORIGINS = {"domestic": "国内", "foreign": "海外"}
HOSTINGS = {
    "on-premises": "オンプレミス",
    "government-cloud": "ガバメントクラウド",
    "domestic-region": "国内リージョン",
    "overseas": "海外",
}
PROVIDERS = {
    "llamacpp": "組み込み（llama.cpp）",
    "openai": "OpenAI 互換",
    "anthropic": "Anthropic",
    "bedrock": "AWS Bedrock",
}
CAPABILITIES = {
    "chat": "チャット",
    "embeddings": "埋め込み",
    "translation": "翻訳",
    "long_context": "長文",
    "tools": "ツール呼び出し",
    "vision": "画像入力",
}
ROLE_NAMES = {"auditor": "監査担当者", "evaluator": "評価担当者"}
SCOPES = (("chat", "チャット（chat）"), ("apps", "アプリ（apps）"))
CLASS_OPTIONS = [("1", "機密性1"), ("2", "機密性2"), ("3", "機密性3")]
QUOTA_FIELDS = (
    ("requests_per_minute", "1分あたりのリクエスト数", int),
    ("tokens_per_day", "1日あたりのトークン数", int),
    ("tokens_per_month", "1か月あたりのトークン数", int),
    ("budget_yen_per_month", "1か月あたりの予算（円）", float),
)
ON_NOT_CLEARED = {"block": "止める（block）", "reroute": "使えるモデルに回す（reroute）"}


def _ja(error: GatewayError) -> str:
    """The Japanese half of a domain message ("日本語 / English")."""
    return error.message.split(" / ")[0]


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(JST).strftime("%Y年%m月%d日 %H:%M")


def _limit_text(value: int | float | None, kind: type) -> str:
    if value is None:
        return "上限なし"
    return f"{value:,.0f}" if kind is int or float(value).is_integer() else f"{value:,.2f}"


# -- the form -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Form:
    pairs: list[tuple[str, str]]

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.pairs:
            if key == name:
                return value
        return default

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self.pairs)

    @property
    def confirmed(self) -> bool:
        return self.get("confirmed") == "1"

    def carried(self) -> list[tuple[str, str]]:
        """What the confirmation form posts again (the token is added by the template)."""
        return [(k, v) for k, v in self.pairs if k not in ("csrf_token", "confirmed")]


async def read_form(request: Request) -> Form:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InvalidRequest("入力が大きすぎます / the form is too large", code="request_too_large")
    if body and content_type != FORM_TYPE:
        raise InvalidRequest("フォームの形式が正しくありません / not a form post", code="invalid_form")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=500)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("フォームを読めません / the form could not be read", code="invalid_form") from None
    return Form(pairs)


class FormProblem(Exception):
    """Input that cannot be sent to the domain at all (not a number, nothing chosen)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__(errors[0][1])
        self.errors = errors


def _int(form: Form, name: str, field_id: str, message: str, *, optional: bool = False) -> int | None:
    text = form.get(name).strip()
    if not text and optional:
        return None
    try:
        return int(text)
    except ValueError:
        raise FormProblem([(field_id, message)]) from None


# -- who is asking, and what they may do --------------------------------------------------------

@dataclass
class Visit:
    request: Request
    platform: Platform
    user: WebUser
    actor: Actor
    form: Form | None = None

    def may(self, action: str, team_id: str | None = None) -> bool:
        return allowed(self.actor, action, team_id)

    def call(self, team_id: str | None) -> Call:
        return Call(self.request, self.platform, self.actor, team_id)


async def _visit(request: Request, action: str, team_id: str | None = None, *, post: bool = False) -> Visit:
    """Signed in (else → /login), CSRF on a post, the Actor the admin API would build, the
    permission from the one table, then — only after that — whether the team exists."""
    user = await require_user(request)
    platform: Platform = request.app.state.platform
    form = None
    if post:
        form = await read_form(request)
        try:
            await check_csrf(request, user, form.get("csrf_token") or None)
        except Forbidden:
            raise Forbidden(
                "フォームの有効期限が切れたか、正しくない送信です。ページを読み込み直してからもう一度お試しください。"
                " / missing or wrong CSRF token", code="csrf_token_invalid",
            ) from None
    ip = request.client.host if request.client else None
    actor = await asyncio.to_thread(admin_routes.load_actor, platform, user.id, None, ip)
    require(actor, action, team_id)
    if team_id is not None:
        await asyncio.to_thread(platform.teams.get, team_id)
    return Visit(request, platform, user, actor, form)


def _nav(visit: Visit) -> list[dict[str, str]]:
    items = [{"key": "overview", "label": "概要", "href": "/manage"}]
    if visit.may("users.list"):
        items.append({"key": "users", "label": "利用者", "href": "/manage/users"})
    if visit.may("models.list"):
        items.append({"key": "models", "label": "モデル", "href": "/manage/models"})
        items.append({"key": "rules", "label": "ルーティングルール", "href": "/manage/rules"})
    return items


def _render(visit: Visit, template: str, context: Mapping[str, Any], *, active: str, status_code: int = 200) -> Response:
    done = visit.request.query_params.get("done")
    values = {
        "user": visit.user.profile,
        "nav_active": "admin",
        "manage_nav": _nav(visit),
        "manage_active": active,
        "notice": DONE.get(done or ""),
        "errors": [],
        "field_errors": {},
        "error_message": None,
        "values": {},
    }
    values.update(context)
    if values["errors"] and not values["field_errors"]:
        values["field_errors"] = dict(values["errors"])
    return render(visit.request, template, values, status_code=status_code)


def _redirect(path: str, done: str) -> Response:
    return RedirectResponse(f"{path}?{urlencode({'done': done})}", status_code=303)


async def _run(handler: Callable[..., Any], call: Call, body: dict[str, Any] | None = None) -> Any:
    """An admin API handler, as the API runs it (in a worker thread)."""
    if body is None:
        return await asyncio.to_thread(handler, call)
    return await asyncio.to_thread(handler, call, body)


@dataclass
class Failure:
    """A refused change, shown on the page it came from."""

    status: int
    errors: list[tuple[str, str]] = field(default_factory=list)
    message: str | None = None


def _show_failure(context: dict[str, Any], failure: Failure | None, status: int = 200) -> int:
    """Put a refused change's errors into the page's context; the page's status code."""
    if failure is None:
        return status
    context["errors"], context["error_message"] = failure.errors, failure.message
    return failure.status


def _failure(error: GatewayError, fields: Mapping[str, str], default: str | None = None) -> Failure:
    """Map a domain error to the form field it is about (its `param` or its `code`)."""
    if error.status not in (400, 404, 409):
        raise error
    target = None
    for key in (error.param or "", error.code or ""):
        if not key:
            continue
        for prefix, field_id in fields.items():
            if key == prefix or key.startswith(prefix + "."):
                target = field_id
                break
        if target:
            break
    target = target or default
    if target is None:
        return Failure(error.status, message=_ja(error))
    return Failure(error.status, errors=[(target, _ja(error))])


def _confirm(visit: Visit, *, title: str, question: str, action: str, cancel: str, button: str,
             details: list[tuple[str, str, str]] | None = None, notes: Iterable[str] = (),
             danger: bool = True, active: str = "overview") -> Response:
    """The confirmation step: what will change, and one button that posts it again confirmed."""
    assert visit.form is not None
    return _render(visit, "manage/confirm.html", {
        "title": title,
        "question": question,
        "action": action,
        "cancel": cancel,
        "button": button,
        "danger": danger,
        "details": details or [],
        "notes": list(notes),
        "carried": visit.form.carried(),
    }, active=active)


# -- overview -----------------------------------------------------------------------------------

def _role_in(actor: Actor, team_id: str) -> str:
    if team_id in actor.memberships:
        return "チーム管理者" if actor.memberships[team_id] else "メンバー"
    if team_id == COMMON_TEAM_ID:
        return "全員が所属"
    if actor.is_system_admin:
        return "システム管理者として閲覧"
    if "auditor" in actor.roles:
        return "監査担当者として閲覧"
    return ""


@page
async def overview(request: Request) -> Response:
    visit = await _visit(request, "teams.list")
    teams = await asyncio.to_thread(visit.platform.teams.list)
    visible = set(readable_teams(visit.actor, [t.id for t in teams]))
    rows = [
        {"team": t, "role": _role_in(visit.actor, t.id), "common": t.id == COMMON_TEAM_ID}
        for t in sorted(teams, key=lambda t: (t.id != COMMON_TEAM_ID, t.id not in visit.actor.memberships, t.name))
        if t.id in visible
    ]
    return _render(visit, "manage/overview.html", {
        "rows": rows,
        "can_create": visit.may("teams.create"),
        "can_users": visit.may("users.list"),
        "can_models": visit.may("models.list"),
        "is_system_admin": visit.actor.is_system_admin,
    }, active="overview")


# -- one team -----------------------------------------------------------------------------------

def _model_rows(platform: Platform) -> list[dict[str, Any]]:
    rows = []
    for model in platform.registry:
        c = model.config
        rows.append({
            "id": c.id,
            "display_name": c.display_name,
            "provider": PROVIDERS.get(c.provider, c.provider),
            "origin": ORIGINS.get(c.origin, c.origin),
            "hosting": HOSTINGS.get(c.hosting, c.hosting),
            "region": c.region or "",
            "clearance": c.clearance,
            "capabilities": [CAPABILITIES.get(cap, cap) for cap in c.capabilities],
            "context_window": f"{c.context_window:,}",
        })
    return rows


def _rule_rows(rules: Iterable[Any]) -> list[dict[str, Any]]:
    rows = []
    for rule in rules:
        data = rule if isinstance(rule, Mapping) else rule.model_dump()
        conditions = []
        if data.get("classes"):
            conditions.append("機密性 " + "・".join(str(c) for c in data["classes"]))
        if data.get("tasks"):
            conditions.append("タスク " + "・".join(data["tasks"]))
        if data.get("teams"):
            conditions.append("チーム " + "・".join(data["teams"]))
        if data.get("apps"):
            conditions.append("アプリ " + "・".join(data["apps"]))
        rows.append({
            "name": data.get("name", ""),
            "conditions": conditions or ["すべてのリクエスト"],
            "models": list(data.get("models") or []),
        })
    return rows


# A team's own routing rules (TeamPolicyConfig.rules): what the form accepts mirrors
# RoutingRule, so that what the API would refuse is explained here in words first.
MAX_TEAM_RULES = 100  # TeamPolicyConfig.rules max_length
MAX_RULE_MODEL_SLOTS = 5  # the form's "第1候補…" selects
MAX_TASK_LENGTH = 64  # gennai.task in a request (gennai.api.schemas)
RULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}")  # RoutingRule.name
LIST_SEPARATORS = re.compile(r"[,、，\n]")


def _model_label(model: RegisteredModel) -> str:
    c = model.config
    return f"{c.display_name}（{ORIGINS.get(c.origin, c.origin)}・機密性{c.clearance}まで）"


def _usable_models(platform: Platform, team: TeamView) -> list[RegisteredModel]:
    """The deployment's models this team may use, in the registry's order."""
    return [m for m in platform.registry if team.allowed_models is None or m.id in team.allowed_models]


def _rule_model_choices(platform: Platform, team: TeamView) -> list[tuple[str, str]]:
    return [(m.id, _model_label(m)) for m in _usable_models(platform, team)]


def _rule_app_choices(platform: Platform, team: TeamView) -> list[dict[str, str]]:
    """The loaded apps this team's members may use (a rule naming another app never matches)."""
    return [{"id": app.id, "title": app.title} for app, _audience in platform.apps.for_teams([team.name])]


def _known_tasks(platform: Platform) -> list[str]:
    """The tasks the apps and the deployment's rules use (shown as examples)."""
    tasks = {app.task for app in platform.apps.values() if app.task}
    for rule in platform.loaded.config.policy.rules:
        tasks.update(rule.tasks or ())
    return sorted(tasks)


def _team_rule_rows(platform: Platform, team: TeamView, rules: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A team's rules in the order they are tried, with models and apps in words."""
    apps = platform.apps
    rows = []
    for position, rule in enumerate(rules, start=1):
        conditions = []
        if rule.get("classes"):
            conditions.append("機密性 " + "・".join(str(c) for c in rule["classes"]))
        if rule.get("tasks"):
            conditions.append("タスク " + "・".join(rule["tasks"]))
        if rule.get("apps"):
            conditions.append("アプリ " + "・".join(apps[a].title if a in apps else a for a in rule["apps"]))
        models = []
        for model_id in rule.get("models") or []:
            model = platform.registry.get(model_id)
            if model is None:
                models.append(f"{model_id}（設定にないモデルのため使われません）")
            elif team.allowed_models is not None and model_id not in team.allowed_models:
                models.append(f"{_model_label(model)}（このチームでは使えないため使われません）")
            else:
                models.append(_model_label(model))
        rows.append({
            "position": position,
            "name": rule.get("name", ""),
            "conditions": conditions or ["すべてのリクエスト"],
            "models": models,
        })
    return rows


def _key_row(key: KeyView) -> dict[str, Any]:
    now = datetime.now(JST)
    if key.revoked_at is not None:
        status, active = f"無効（{_when(key.revoked_at)}）", False
    elif key.expires_at is not None and key.expires_at <= now:
        status, active = "期限切れ", False
    else:
        status, active = "有効", True
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "kind": "サービスキー" if key.user_id is None else f"個人のキー（{key.username}）",
        "scopes": ", ".join(key.scopes),
        "created": _when(key.created_at),
        "expires": _when(key.expires_at) if key.expires_at else "なし",
        "status": status,
        "active": active,
    }


def _team_context(visit: Visit, team_id: str) -> dict[str, Any]:
    """Everything the team page shows, each part only where the table allows it."""
    platform, may = visit.platform, visit.may
    team = platform.teams.get(team_id)
    common = team.id == COMMON_TEAM_ID
    can = SimpleNamespace(**{  # attributes, not a dict: `can.keys` must not be dict.keys
        "update": may("teams.update", team_id),
        "members": may("members.list", team_id) and not common,
        "manage_members": may("members.manage", team_id) and not common,
        "keys": may("keys.list", team_id) and not common,
        "manage_keys": may("keys.manage", team_id) and not common,
        "manage_models": may("models.manage", team_id),
        "policy": may("policy.read", team_id),
        "manage_policy": may("policy.manage", team_id),
        "quotas": may("quotas.read", team_id),
        "manage_quotas": may("quotas.manage", team_id),
        "usage": may("usage.read", team_id),
    })
    members = platform.teams.members(team_id) if can.members else []
    keys = [_key_row(k) for k in key_views(platform.engine, team_id=team_id)] if can.keys else []
    limits = platform.teams.limits("team", team_id) if can.quotas else None
    deployment = platform.loaded.config.policy
    models = _model_rows(platform)
    allowed_models = team.allowed_models
    for row in models:
        row["allowed"] = allowed_models is None or row["id"] in allowed_models
    policy = team.policy if can.policy else {}
    pseudonymise = policy.get("pseudonymise")
    rule_models = _rule_model_choices(platform, team) if can.manage_policy else []
    return {
        "team_info": team,  # not "team": base.html sets `team` (the header's team name)
        "common": common,
        "can": can,
        "members": [
            {"user_id": m.user_id, "username": m.username, "display_name": m.display_name,
             "is_admin": m.is_admin, "since": _when(m.since)}
            for m in members
        ],
        "admin_count": sum(1 for m in members if m.is_admin),
        "keys": keys,
        "active_keys": sum(1 for k in keys if k["active"]),
        "limits": [
            {"name": name, "label": label, "value": getattr(limits, name), "text": _limit_text(getattr(limits, name), kind)}
            for name, label, kind in QUOTA_FIELDS
        ] if limits is not None else [],
        "models": models,
        "all_models": allowed_models is None,
        "policy": {
            "terms": "\n".join(policy.get("terms", [])),
            "patterns": "\n".join(policy.get("patterns", [])),
            "term_count": len(policy.get("terms", [])),
            "pattern_count": len(policy.get("patterns", [])),
            "on_not_cleared": policy.get("on_not_cleared") or "",
            "pseudonymise": "" if pseudonymise is None else ("on" if pseudonymise else "off"),
            "custom_class": policy.get("custom_class", 2),
        },
        "on_not_cleared_options": [
            ("", f"全体の設定に従う（現在：{ON_NOT_CLEARED[deployment.on_not_cleared]}）"),
            *ON_NOT_CLEARED.items(),
        ],
        "pseudonymise_options": [
            ("", f"全体の設定に従う（現在：{'置き換える' if deployment.pseudonymise else '置き換えない'}）"),
            ("on", "置き換える"),
            ("off", "置き換えない"),
        ],
        "team_rules": _team_rule_rows(platform, team, policy.get("rules", [])) if can.policy else [],
        "rule_models": rule_models,
        "rule_model_slots": min(len(rule_models), MAX_RULE_MODEL_SLOTS),
        "rule_apps": _rule_app_choices(platform, team) if can.manage_policy else [],
        "rule_tasks": _known_tasks(platform),
        "class_options": CLASS_OPTIONS,
        "scopes": SCOPES,
    }


async def _team_page(visit: Visit, team_id: str, *, status_code: int = 200, failure: Failure | None = None,
                     values: Mapping[str, Any] | None = None, new_key: Mapping[str, str] | None = None) -> Response:
    context = await asyncio.to_thread(_team_context, visit, team_id)
    status_code = _show_failure(context, failure, status_code)
    context["values"] = dict(values or {})
    context["new_key"] = new_key
    return _render(visit, "manage/team.html", context, active="overview", status_code=status_code)


@page
async def team_page(request: Request) -> Response:
    team_id = request.path_params["team_id"]
    visit = await _visit(request, "teams.read", team_id)
    return await _team_page(visit, team_id)


def _team_path(team_id: str) -> str:
    return f"/manage/teams/{team_id}"


@page
async def team_settings(request: Request) -> Response:
    team_id = request.path_params["team_id"]
    visit = await _visit(request, "teams.update", team_id, post=True)
    form = visit.form
    assert form is not None
    values = {"settings-display_name": form.get("display_name"), "settings-default_class": form.get("default_class"),
              "settings-retention_days": form.get("retention_days")}
    try:
        default_class = _int(form, "default_class", "settings-default_class", "機密性の既定値を選んでください。")
        retention = _int(form, "retention_days", "settings-retention_days", "保存期間は 1〜3650 の整数（日数）で入力してください。")
    except FormProblem as problem:
        return await _team_page(visit, team_id, failure=Failure(400, problem.errors), values=values)
    team = await asyncio.to_thread(visit.platform.teams.get, team_id)
    changes: dict[str, Any] = {}
    if form.get("display_name").strip() != team.display_name:
        changes["display_name"] = form.get("display_name")
    if default_class != team.default_class:
        changes["default_class"] = default_class
    if retention != team.retention_days:
        changes["retention_days"] = retention
    if not changes:
        return _redirect(_team_path(team_id), "unchanged")
    if "retention_days" in changes and retention is not None and retention < team.retention_days and not form.confirmed:
        return _confirm(
            visit, title="保存期間の短縮", action=f"{_team_path(team_id)}/settings", cancel=_team_path(team_id),
            question=f"本当に{team.display_name}の会話の保存期間を短くしますか？",
            details=[("会話の保存期間", f"{team.retention_days} 日", f"{retention} 日")],
            notes=[f"保存から {retention} 日を過ぎた会話は、保存するとすぐに削除され、元に戻せません。"],
            button="保存期間を短くする",
        )
    try:
        await _run(admin_routes.update_team, visit.call(team_id), changes)
    except GatewayError as error:
        failure = _failure(error, {"display_name": "settings-display_name", "default_class": "settings-default_class",
                                   "retention_days": "settings-retention_days"})
        return await _team_page(visit, team_id, failure=failure, values=values)
    return _redirect(_team_path(team_id), "settings")


# -- members --

MEMBER_FIELDS = {"username": "member-username", "user_not_found": "member-username",
                 "already_member": "member-username", "common_team": "member-username"}


@page
async def member_add(request: Request) -> Response:
    team_id = request.path_params["team_id"]
    visit = await _visit(request, "members.manage", team_id, post=True)
    form = visit.form
    assert form is not None
    username = form.get("username").strip()
    values = {"member-username": username, "member-is_admin": form.has("is_admin")}
    if not username:
        return await _team_page(visit, team_id, values=values,
                                failure=Failure(400, [("member-username", "追加する人のユーザー名を入力してください。")]))
    try:
        await _run(admin_routes.add_member, visit.call(team_id), {"username": username, "is_admin": form.has("is_admin")})
    except GatewayError as error:
        return await _team_page(visit, team_id, failure=_failure(error, MEMBER_FIELDS), values=values)
    return _redirect(_team_path(team_id), "member_added")


async def _member(visit: Visit, team_id: str, user_id: str) -> Any:
    members = await asyncio.to_thread(visit.platform.teams.members, team_id)
    for member in members:
        if member.user_id == user_id:
            return member
    raise NotFound("このチームのメンバーではありません / not a member of this team", code="member_not_found")


def _person(member: Any) -> str:
    return f"{member.display_name}（{member.username}）" if member.display_name != member.username else member.username


@page
async def member_admin(request: Request) -> Response:
    team_id, user_id = request.path_params["team_id"], request.path_params["user_id"]
    visit = await _visit(request, "members.manage", team_id, post=True)
    form = visit.form
    assert form is not None
    make_admin = form.get("is_admin") == "1"
    member = await _member(visit, team_id, user_id)
    if not make_admin and member.is_admin and not form.confirmed:
        team = await asyncio.to_thread(visit.platform.teams.get, team_id)
        return _confirm(
            visit, title="管理者から外す", action=f"{_team_path(team_id)}/members/{user_id}/admin", cancel=_team_path(team_id),
            question=f"本当に{_person(member)}さんを{team.display_name}の管理者から外しますか？",
            notes=["外すと、この人はチームのメンバー、サービスキー、ポリシーと設定を管理できなくなります。"],
            button="管理者から外す",
        )
    try:
        await _run(admin_routes.update_member, visit.call(team_id), {"is_admin": make_admin})
    except GatewayError as error:
        return await _team_page(visit, team_id, failure=_failure(error, {}))
    return _redirect(_team_path(team_id), "admin_granted" if make_admin else "admin_revoked")


@page
async def member_remove(request: Request) -> Response:
    team_id, user_id = request.path_params["team_id"], request.path_params["user_id"]
    visit = await _visit(request, "members.manage", team_id, post=True)
    assert visit.form is not None
    member = await _member(visit, team_id, user_id)
    if not visit.form.confirmed:
        team = await asyncio.to_thread(visit.platform.teams.get, team_id)
        return _confirm(
            visit, title="メンバーを外す", action=f"{_team_path(team_id)}/members/{user_id}/remove", cancel=_team_path(team_id),
            question=f"本当に{_person(member)}さんを{team.display_name}から外しますか？",
            notes=["外すと、この人はこのチームのモデルやアプリを使えなくなり、このチーム用の個人のキーも使えなくなります。"],
            button="チームから外す",
        )
    try:
        await _run(admin_routes.remove_member, visit.call(team_id))
    except GatewayError as error:
        return await _team_page(visit, team_id, failure=_failure(error, {}))
    if user_id == visit.actor.user_id and not visit.actor.is_system_admin:
        return _redirect("/manage", "member_removed")  # they left: the team's page is no longer theirs
    return _redirect(_team_path(team_id), "member_removed")


# -- keys --

@page
async def key_create(request: Request) -> Response:
    team_id = request.path_params["team_id"]
    visit = await _visit(request, "keys.manage", team_id, post=True)
    form = visit.form
    assert form is not None
    name = form.get("name").strip()
    scopes = form.getlist("scopes")
    values = {"key-name": name, "key-scopes": scopes, "key-expires_in_days": form.get("expires_in_days")}
    problems = []
    if not name:
        problems.append(("key-name", "キーの名前を入力してください（例：文書管理システム連携）。"))
    if not scopes:
        problems.append(("key-scope-chat", "キーの権限を1つ以上選んでください。"))
    body: dict[str, Any] = {"name": name, "scopes": scopes}
    try:
        days = _int(form, "expires_in_days", "key-expires_in_days", "有効期限は 1〜3650 の整数（日数）で入力してください。", optional=True)
    except FormProblem as problem:
        problems += problem.errors
        days = None
    if problems:
        return await _team_page(visit, team_id, failure=Failure(400, problems), values=values)
    if days is not None:
        body["expires_in_days"] = days
    try:
        created = await _run(admin_routes.create_team_key, visit.call(team_id), body)
    except GatewayError as error:
        failure = _failure(error, {"name": "key-name", "scopes": "key-scope-chat", "expires_in_days": "key-expires_in_days",
                                   "team_id": "key-name"})
        return await _team_page(visit, team_id, failure=failure, values=values)
    # Shown on this answer only (never stored, never in a URL): no redirect here.
    return await _team_page(visit, team_id, status_code=201,
                            new_key={"key": created["key"], "prefix": created["prefix"], "name": name})


@page
async def key_revoke(request: Request) -> Response:
    team_id, key_id = request.path_params["team_id"], request.path_params["key_id"]
    visit = await _visit(request, "keys.manage", team_id, post=True)
    assert visit.form is not None
    keys = await asyncio.to_thread(key_views, visit.platform.engine, team_id=team_id)
    key = next((k for k in keys if k.id == key_id and k.revoked_at is None), None)
    if key is None:
        return await _team_page(visit, team_id, failure=Failure(404, message="キーが見つからないか、すでに無効です。"))
    if not visit.form.confirmed:
        return _confirm(
            visit, title="キーを無効にする", action=f"{_team_path(team_id)}/keys/{key_id}/revoke", cancel=_team_path(team_id),
            question=f"本当にキー「{key.name}」（{key.prefix}…）を無効にしますか？",
            notes=["このキーを使っているプログラムや連携は、すぐに使えなくなります。無効にしたキーは元に戻せません。"],
            button="キーを無効にする",
        )
    try:
        await _run(admin_routes.revoke_team_key, visit.call(team_id))
    except GatewayError as error:
        return await _team_page(visit, team_id, failure=_failure(error, {}))
    return _redirect(_team_path(team_id), "key_revoked")


# -- models, policy, quotas --

def _model_list_text(models: list[str] | None, names: Mapping[str, str]) -> str:
    if models is None:
        return "すべてのモデル"
    if not models:
        return "なし（どのモデルも使えません）"
    return "、".join(names.get(m, m) for m in models)


@page
async def team_models(request: Request) -> Response:
    team_id = request.path_params["team_id"]
    visit = await _visit(request, "models.manage", team_id, post=True)
    form = visit.form
    assert form is not None
    chosen = None if form.get("mode") == "all" else sorted(set(form.getlist("models")))
    team = await asyncio.to_thread(visit.platform.teams.get, team_id)
    if chosen == (sorted(team.allowed_models) if team.allowed_models is not None else None):
        return _redirect(_team_path(team_id), "unchanged")
    if not form.confirmed:
        names = {m.id: m.config.display_name for m in visit.platform.registry}
        return _confirm(
            visit, title="使えるモデルの変更", action=f"{_team_path(team_id)}/models", cancel=_team_path(team_id),
            question=f"本当に{team.display_name}が使えるモデルを変更しますか？",
            details=[("使えるモデル", _model_list_text(team.allowed_models, names), _model_list_text(chosen, names))],
            notes=["変更はすぐに、このチームのすべてのメンバーとキーに適用されます。"],
            button="モデルを変更する", danger=False,
        )
    try:
        await _run(admin_routes.put_models, visit.call(team_id), {"models": chosen})
    except GatewayError as error:
        return await _team_page(visit, team_id, failure=_failure(error, {"models": "models-mode-selected"}))
    return _redirect(_team_path(team_id), "models")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


POLICY_FIELDS = {"policy.terms": "policy-terms", "policy.patterns": "policy-patterns",
                 "policy.on_not_cleared": "policy-on_not_cleared", "policy.pseudonymise": "policy-pseudonymise",
                 "policy.custom_class": "policy-custom_class", "policy": "policy-terms"}


@page
async def team_policy(request: Request) -> Response:
    team_id = request.path_params["team_id"]
    visit = await _visit(request, "policy.manage", team_id, post=True)
    form = visit.form
    assert form is not None
    values = {"policy-terms": form.get("terms"), "policy-patterns": form.get("patterns"),
              "policy-on_not_cleared": form.get("on_not_cleared"), "policy-pseudonymise": form.get("pseudonymise"),
              "policy-custom_class": form.get("custom_class")}
    try:
        custom_class = _int(form, "custom_class", "policy-custom_class", "辞書に一致したときの機密性を選んでください。")
    except FormProblem as problem:
        return await _team_page(visit, team_id, failure=Failure(400, problem.errors), values=values)
    team = await asyncio.to_thread(visit.platform.teams.get, team_id)
    body: dict[str, Any] = {"terms": _lines(form.get("terms")), "patterns": _lines(form.get("patterns")),
                            "custom_class": custom_class}
    if form.get("on_not_cleared"):
        body["on_not_cleared"] = form.get("on_not_cleared")
    if form.get("pseudonymise") in ("on", "off"):
        body["pseudonymise"] = form.get("pseudonymise") == "on"
    if team.policy.get("rules"):
        body["rules"] = team.policy["rules"]  # edited by their own forms (rule_add, …); kept here
    try:
        await _run(admin_routes.put_policy, visit.call(team_id), body)
    except GatewayError as error:
        return await _team_page(visit, team_id, failure=_failure(error, POLICY_FIELDS), values=values)
    return _redirect(_team_path(team_id), "policy")


# -- the team's routing rules --
# Each change reads the team's stored policy, changes its `rules` and puts the whole policy
# back through admin_routes.put_policy (validated, cached policies forgotten, audited as
# "policy.updated"), exactly as `PUT /admin/teams/{id}/policy` would.

RULE_FIELDS = {"policy.rules": "rule-name", "policy": "rule-name"}
RULE_GONE = ("このルールは見つかりませんでした。ほかの管理者が同時に変更した可能性があります。"
             "ページを読み込み直して、もう一度お試しください。")


def _rule_values(form: Form) -> dict[str, Any]:
    return {"rule-name": form.get("name"), "rule-classes": form.getlist("classes"), "rule-tasks": form.get("tasks"),
            "rule-apps": form.getlist("apps"), "rule-models": form.getlist("models")}


def _split_list(text: str) -> list[str]:
    """Items separated by commas (、 too) or lines, without blanks or repeats, in order."""
    items: list[str] = []
    for item in LIST_SEPARATORS.split(text):
        item = item.strip()
        if item and item not in items:
            items.append(item)
    return items


def _new_rule(form: Form, platform: Platform, team: TeamView, existing: list[dict[str, Any]]) -> dict[str, Any]:
    """The rule the add form describes, or FormProblem with each problem next to its field."""
    problems: list[tuple[str, str]] = []
    name = form.get("name").strip()
    if len(existing) >= MAX_TEAM_RULES:
        problems.append(("rule-name", f"チームのルールは{MAX_TEAM_RULES}件までです。使わないルールを削除してから追加してください。"))
    elif not name:
        problems.append(("rule-name", "ルールの名前を入力してください（例：honyaku-kokunai）。"))
    elif not RULE_NAME.fullmatch(name):
        problems.append(("rule-name", "ルールの名前は、半角の英字か数字で始まる64文字以内で、半角の英数字と「.」「_」「-」だけを使ってください。"))
    elif any(rule.get("name") == name for rule in existing):
        problems.append(("rule-name", f"「{name}」という名前のルールはすでにあります。別の名前にしてください。"))

    classes = sorted(set(form.getlist("classes")))
    if any(c not in ("1", "2", "3") for c in classes):
        problems.append(("rule-class-1", "機密性は 1、2、3 から選んでください。"))

    tasks = _split_list(form.get("tasks"))
    if any(len(task) > MAX_TASK_LENGTH for task in tasks):
        problems.append(("rule-tasks", f"タスクの名前は1つ{MAX_TASK_LENGTH}文字までです。"))

    app_choices = [choice["id"] for choice in _rule_app_choices(platform, team)]
    apps = list(dict.fromkeys(form.getlist("apps")))
    if any(app not in app_choices for app in apps):
        problems.append(("rule-app-1" if app_choices else "rule-name", "このチームで使えるアプリから選んでください。"))

    slots = form.getlist("models")[:MAX_RULE_MODEL_SLOTS]
    usable = {m.id for m in _usable_models(platform, team)}
    models: list[str] = []
    for slot, model_id in enumerate(slots, start=1):
        model_id = model_id.strip()
        if not model_id:
            continue
        field_id = f"rule-model-{slot}"
        model = platform.registry.get(model_id)
        if model is None:
            problems.append((field_id, f"「{model_id}」というモデルはありません。一覧から選んでください。"))
        elif model_id not in usable:
            problems.append((field_id, f"「{model.config.display_name}」はこのチームでは使えないモデルです。このチームが使えるモデルから選んでください。"))
        elif model_id in models:
            problems.append((field_id, f"「{model.config.display_name}」がほかの候補でも選ばれています。同じモデルは1回だけ選んでください。"))
        else:
            models.append(model_id)
    if not models and not any(field_id.startswith("rule-model-") for field_id, _ in problems):
        problems.append(("rule-model-1", "送り先のモデルを1つ以上選んでください。"))

    if problems:
        raise FormProblem(problems)
    rule: dict[str, Any] = {"name": name}
    if classes:
        rule["classes"] = [int(c) for c in classes]
    if tasks:
        rule["tasks"] = tasks
    if apps:
        rule["apps"] = apps
    rule["models"] = models
    return rule


async def _put_rules(visit: Visit, team: TeamView, rules: list[dict[str, Any]]) -> None:
    """The team's policy as stored, with these rules, through the admin API's handler."""
    body = {key: value for key, value in team.policy.items() if key != "rules"}
    if rules:
        body["rules"] = rules
    await _run(admin_routes.put_policy, visit.call(team.id), body)


def _rule_at(team: TeamView, position: int, name: str) -> int | None:
    """The index of the rule shown at `position` (1-based), if it still has that name."""
    rules = team.policy.get("rules", [])
    if 1 <= position <= len(rules) and rules[position - 1].get("name") == name:
        return position - 1
    return None


@page
async def rule_add(request: Request) -> Response:
    team_id = request.path_params["team_id"]
    visit = await _visit(request, "policy.manage", team_id, post=True)
    form = visit.form
    assert form is not None
    values = _rule_values(form)
    team = await asyncio.to_thread(visit.platform.teams.get, team_id)
    rules = list(team.policy.get("rules", []))
    try:
        rule = _new_rule(form, visit.platform, team, rules)
    except FormProblem as problem:
        return await _team_page(visit, team_id, failure=Failure(400, problem.errors), values=values)
    try:
        await _put_rules(visit, team, [*rules, rule])
    except GatewayError as error:
        return await _team_page(visit, team_id, failure=_failure(error, RULE_FIELDS), values=values)
    return _redirect(_team_path(team_id), "rule_added")


async def _rule_shown(request: Request) -> tuple[Visit, Form, TeamView, int] | Response:
    """The visit, its form, the team and the index of the rule a move or delete button is
    about; the team page with RULE_GONE if that rule is no longer where the page showed it."""
    team_id, position = request.path_params["team_id"], request.path_params["position"]
    visit = await _visit(request, "policy.manage", team_id, post=True)
    form = visit.form
    assert form is not None
    team = await asyncio.to_thread(visit.platform.teams.get, team_id)
    index = _rule_at(team, position, form.get("name"))
    if index is None:
        return await _team_page(visit, team_id, failure=Failure(404, message=RULE_GONE))
    return visit, form, team, index


@page
async def rule_move(request: Request) -> Response:
    shown = await _rule_shown(request)
    if isinstance(shown, Response):
        return shown
    visit, form, team, index = shown
    team_id = request.path_params["team_id"]
    rules = list(team.policy.get("rules", []))
    other = index - 1 if form.get("direction") == "up" else index + 1 if form.get("direction") == "down" else -1
    if not 0 <= other < len(rules):
        return _redirect(_team_path(team_id), "unchanged")
    rules[index], rules[other] = rules[other], rules[index]
    try:
        await _put_rules(visit, team, rules)
    except GatewayError as error:
        return await _team_page(visit, team_id, failure=_failure(error, {}))
    return _redirect(_team_path(team_id), "rule_moved")


@page
async def rule_delete(request: Request) -> Response:
    shown = await _rule_shown(request)
    if isinstance(shown, Response):
        return shown
    visit, form, team, index = shown
    team_id, position = request.path_params["team_id"], request.path_params["position"]
    rules = list(team.policy.get("rules", []))
    if not form.confirmed:
        row = _team_rule_rows(visit.platform, team, [rules[index]])[0]
        return _confirm(
            visit, title="ルーティングルールの削除", action=f"{_team_path(team_id)}/rules/{position}/delete",
            cancel=_team_path(team_id),
            question=f"本当に{team.display_name}のルール「{rules[index]['name']}」を削除しますか？",
            details=[("条件", "、".join(row["conditions"]), "（削除）"), ("モデル（先頭から順に）", " → ".join(row["models"]), "（削除）")],
            notes=["削除すると、このルールに当てはまっていたリクエストの送り先は、チームの残りのルールと全体のルーティングルールで決まります。",
                   "削除したルールは元に戻せません。もう一度使うときは、追加し直してください。"],
            button="ルールを削除する",
        )
    del rules[index]
    try:
        await _put_rules(visit, team, rules)
    except GatewayError as error:
        return await _team_page(visit, team_id, failure=_failure(error, {}))
    return _redirect(_team_path(team_id), "rule_deleted")


def _quota_body(form: Form) -> dict[str, Any]:
    body: dict[str, Any] = {}
    problems = []
    for name, label, kind in QUOTA_FIELDS:
        text = form.get(name).strip().replace(",", "")
        if not text:
            body[name] = None
            continue
        try:
            value = kind(text)
        except ValueError:
            value = -1
        if value < 0 or value != value or value == float("inf"):
            unit = "整数" if kind is int else "数"
            problems.append((f"quota-{name}", f"{label}は 0 以上の{unit}で入力してください（空欄は上限なし）。"))
            continue
        body[name] = value
    if problems:
        raise FormProblem(problems)
    return body


def _quota_details(before: Any, after: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    return [(label, _limit_text(getattr(before, name), kind), _limit_text(after[name], kind)) for name, label, kind in QUOTA_FIELDS]


QUOTA_ERRORS = {name: f"quota-{name}" for name, _label, _kind in QUOTA_FIELDS}


@page
async def team_quotas(request: Request) -> Response:
    team_id = request.path_params["team_id"]
    visit = await _visit(request, "quotas.manage", team_id, post=True)
    form = visit.form
    assert form is not None
    values = {f"quota-{name}": form.get(name) for name, _label, _kind in QUOTA_FIELDS}
    try:
        body = _quota_body(form)
    except FormProblem as problem:
        return await _team_page(visit, team_id, failure=Failure(400, problem.errors), values=values)
    team = await asyncio.to_thread(visit.platform.teams.get, team_id)
    before = await asyncio.to_thread(visit.platform.teams.limits, "team", team_id)
    if body == before.to_json():
        return _redirect(_team_path(team_id), "unchanged")
    if not form.confirmed:
        return _confirm(
            visit, title="利用上限の変更", action=f"{_team_path(team_id)}/quotas", cancel=_team_path(team_id),
            question=f"本当に{team.display_name}の利用上限を変更しますか？",
            details=_quota_details(before, body),
            notes=["新しい上限は、このチームのすべてのリクエストにすぐ適用されます。"],
            button="利用上限を変更する", danger=False,
        )
    try:
        await _run(admin_routes.put_quotas, visit.call(team_id), body)
    except GatewayError as error:
        return await _team_page(visit, team_id, failure=_failure(error, QUOTA_ERRORS), values=values)
    return _redirect(_team_path(team_id), "quotas")


# -- a new team ---------------------------------------------------------------------------------

TEAM_FIELDS = {"name": "team-name", "display_name": "team-display_name", "admin": "team-admin",
               "user_not_found": "team-admin", "default_class": "team-default_class", "retention_days": "team-retention_days"}


async def _new_team_page(visit: Visit, *, values: Mapping[str, Any] | None = None, failure: Failure | None = None) -> Response:
    context: dict[str, Any] = {"values": dict(values or {}), "class_options": CLASS_OPTIONS}
    status = _show_failure(context, failure)
    return _render(visit, "manage/team_new.html", context, active="overview", status_code=status)


@page
async def team_new(request: Request) -> Response:
    visit = await _visit(request, "teams.create")
    return await _new_team_page(visit)


@page
async def team_create(request: Request) -> Response:
    visit = await _visit(request, "teams.create", post=True)
    form = visit.form
    assert form is not None
    values = {f"team-{name}": form.get(name) for name in ("name", "display_name", "admin", "default_class", "retention_days")}
    problems = []
    for name, message in (("name", "チーム名（英字）を入力してください。"), ("display_name", "表示名を入力してください。"),
                          ("admin", "最初の管理者のユーザー名を入力してください。")):
        if not form.get(name).strip():
            problems.append((f"team-{name}", message))
    try:
        default_class = _int(form, "default_class", "team-default_class", "機密性の既定値を選んでください。")
        retention = _int(form, "retention_days", "team-retention_days", "保存期間は 1〜3650 の整数（日数）で入力してください。")
    except FormProblem as problem:
        problems += problem.errors
    if problems:
        return await _new_team_page(visit, values=values, failure=Failure(400, problems))
    body = {"name": form.get("name").strip(), "display_name": form.get("display_name").strip(),
            "admin": form.get("admin").strip(), "default_class": default_class, "retention_days": retention}
    try:
        created = await _run(admin_routes.create_team, visit.call(None), body)
    except GatewayError as error:
        return await _new_team_page(visit, values=values, failure=_failure(error, TEAM_FIELDS))
    return _redirect(_team_path(created["id"]), "team_created")


# -- users --------------------------------------------------------------------------------------

USER_FIELDS = {"username": "user-username", "display_name": "user-display_name", "email": "user-email",
               "roles": "user-role-auditor", "system_admin": "user-system_admin"}


def _user_row(user: Any) -> dict[str, Any]:
    roles = (["システム管理者"] if user.is_system_admin else []) + [ROLE_NAMES.get(r, r) for r in user.roles]
    return {
        "id": user.id, "username": user.username, "display_name": user.display_name, "email": user.email or "",
        "roles": roles, "role_ids": list(user.roles), "is_system_admin": user.is_system_admin,
        "disabled": user.disabled, "kind": user.kind, "created": _when(user.created_at),
    }


async def _users_page(visit: Visit, *, values: Mapping[str, Any] | None = None, failure: Failure | None = None) -> Response:
    users = await asyncio.to_thread(visit.platform.users.list)
    context: dict[str, Any] = {
        "users": [_user_row(u) for u in users],
        "values": dict(values or {}),
        "role_names": ROLE_NAMES,
        "can_manage": visit.may("users.manage"),
    }
    status = _show_failure(context, failure)
    return _render(visit, "manage/users.html", context, active="users", status_code=status)


@page
async def users_page(request: Request) -> Response:
    visit = await _visit(request, "users.list")
    return await _users_page(visit)


@page
async def user_create(request: Request) -> Response:
    visit = await _visit(request, "users.manage", post=True)
    form = visit.form
    assert form is not None
    values = {"user-username": form.get("username"), "user-display_name": form.get("display_name"),
              "user-email": form.get("email"), "user-roles": form.getlist("roles"), "user-system_admin": form.has("system_admin")}
    username = form.get("username").strip()
    if not username:
        return await _users_page(visit, values=values, failure=Failure(400, [("user-username", "ユーザー名を入力してください。")]))
    body = {"username": username, "display_name": form.get("display_name").strip() or None,
            "email": form.get("email").strip() or None, "system_admin": form.has("system_admin"),
            "roles": form.getlist("roles")}
    if body["system_admin"] and not form.confirmed:
        return _confirm(
            visit, title="システム管理者の作成", action="/manage/users", cancel="/manage/users",
            question=f"本当に{username}をシステム管理者として作成しますか？",
            notes=["システム管理者は、すべてのチーム、利用者、モデルと利用上限を変更できます。"],
            button="システム管理者として作成する", danger=False, active="users",
        )
    try:
        await _run(admin_routes.create_user, visit.call(None), body)
    except GatewayError as error:
        return await _users_page(visit, values=values, failure=_failure(error, USER_FIELDS))
    return _redirect("/manage/users", "user_created")


async def _user_page(visit: Visit, user_id: str, *, values: Mapping[str, Any] | None = None,
                     failure: Failure | None = None) -> Response:
    def load() -> dict[str, Any]:
        user = visit.platform.users.get(user_id)
        memberships = visit.platform.teams.memberships(user_id)
        teams = visit.platform.teams.list(memberships) if memberships else []
        limits = visit.platform.teams.limits("user", user_id)
        return {
            "person": _user_row(user),
            "teams": [{"id": t.id, "display_name": t.display_name, "name": t.name,
                       "role": "チーム管理者" if memberships.get(t.id) else "メンバー"} for t in teams],
            "limits": [{"name": n, "label": label, "value": getattr(limits, n), "text": _limit_text(getattr(limits, n), kind)}
                       for n, label, kind in QUOTA_FIELDS],
        }

    context = await asyncio.to_thread(load)
    context.update({"values": dict(values or {}), "role_names": ROLE_NAMES, "can_manage": visit.may("users.manage"),
                    "is_self": user_id == visit.actor.user_id})
    status = _show_failure(context, failure)
    return _render(visit, "manage/user.html", context, active="users", status_code=status)


@page
async def user_page(request: Request) -> Response:
    visit = await _visit(request, "users.list")
    return await _user_page(visit, request.path_params["user_id"])


def _user_path(user_id: str) -> str:
    return f"/manage/users/{user_id}"


@page
async def user_roles(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    visit = await _visit(request, "users.manage", post=True)
    form = visit.form
    assert form is not None
    person = await asyncio.to_thread(visit.platform.users.get, user_id)
    roles = sorted(set(form.getlist("roles")))
    system_admin = form.has("system_admin")
    if roles == sorted(person.roles) and system_admin == person.is_system_admin:
        return _redirect(_user_path(user_id), "unchanged")

    def describe(admin: bool, role_ids: Iterable[str]) -> str:
        names = (["システム管理者"] if admin else []) + [ROLE_NAMES.get(r, r) for r in role_ids]
        return "、".join(names) or "なし"

    if not form.confirmed:
        return _confirm(
            visit, title="役割の変更", action=f"{_user_path(user_id)}/roles", cancel=_user_path(user_id),
            question=f"本当に{person.username}の役割を変更しますか？",
            details=[("役割", describe(person.is_system_admin, person.roles), describe(system_admin, roles))],
            notes=["監査担当者はすべてのチームの利用記録と監査ログを読めます。システム管理者はすべてを変更できます。"],
            button="役割を変更する", danger=False, active="users",
        )
    try:
        await _run(admin_routes.update_user, visit.call(None), {"roles": roles, "system_admin": system_admin})
    except GatewayError as error:
        return await _user_page(visit, user_id, failure=_failure(error, {"roles": "user-role-auditor",
                                                                         "last_system_admin": "user-system_admin"}))
    return _redirect(_user_path(user_id), "user_updated")


@page
async def user_status(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    visit = await _visit(request, "users.manage", post=True)
    form = visit.form
    assert form is not None
    person = await asyncio.to_thread(visit.platform.users.get, user_id)
    disable = form.get("disabled") == "1"
    if disable == person.disabled:
        return _redirect(_user_path(user_id), "unchanged")
    if disable and not form.confirmed:
        return _confirm(
            visit, title="利用停止", action=f"{_user_path(user_id)}/status", cancel=_user_path(user_id),
            question=f"本当に{person.username}を利用停止にしますか？",
            notes=["この人はサインインできなくなり、今のセッションはすべて終了し、この人のキーも使えなくなります。",
                   "あとで利用停止を解除できます。"],
            button="利用停止にする", active="users",
        )
    try:
        await _run(admin_routes.update_user, visit.call(None), {"disabled": disable})
    except GatewayError as error:
        return await _user_page(visit, user_id, failure=_failure(error, {}))
    return _redirect(_user_path(user_id), "user_disabled" if disable else "user_enabled")


@page
async def user_quotas(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    visit = await _visit(request, "users.manage", post=True)
    form = visit.form
    assert form is not None
    values = {f"quota-{name}": form.get(name) for name, _label, _kind in QUOTA_FIELDS}
    try:
        body = _quota_body(form)
    except FormProblem as problem:
        return await _user_page(visit, user_id, values=values, failure=Failure(400, problem.errors))
    person = await asyncio.to_thread(visit.platform.users.get, user_id)
    before = await asyncio.to_thread(visit.platform.teams.limits, "user", user_id)
    if body == before.to_json():
        return _redirect(_user_path(user_id), "unchanged")
    if not form.confirmed:
        return _confirm(
            visit, title="利用上限の変更", action=f"{_user_path(user_id)}/quotas", cancel=_user_path(user_id),
            question=f"本当に{person.username}の利用上限を変更しますか？",
            details=_quota_details(before, body),
            notes=["新しい上限は、この人のすべてのリクエストにすぐ適用されます。"],
            button="利用上限を変更する", danger=False, active="users",
        )
    try:
        await _run(admin_routes.put_user_quotas, visit.call(None), body)
    except GatewayError as error:
        return await _user_page(visit, user_id, values=values, failure=_failure(error, QUOTA_ERRORS))
    return _redirect(_user_path(user_id), "user_quotas")


# -- the deployment (read-only, from the configuration) -----------------------------------------

@page
async def models_page(request: Request) -> Response:
    visit = await _visit(request, "models.list")
    policy = visit.platform.loaded.config.policy
    hosting = [(klass, "・".join(HOSTINGS.get(h, h) for h in policy.hosting_for(klass))) for klass in (1, 2, 3)]
    return _render(visit, "manage/models.html", {"models": _model_rows(visit.platform), "hosting": hosting}, active="models")


@page
async def rules_page(request: Request) -> Response:
    visit = await _visit(request, "models.list")
    policy = visit.platform.loaded.config.policy
    teams = await asyncio.to_thread(visit.platform.teams.list)
    names = {t.name: t.display_name for t in teams} | {t.id: t.display_name for t in teams}
    rules = _rule_rows(policy.rules)
    for row, rule in zip(rules, policy.rules, strict=True):
        if rule.teams:
            row["conditions"] = [c for c in row["conditions"] if not c.startswith("チーム ")]
            row["conditions"].append("チーム " + "・".join(names.get(t, t) for t in rule.teams))
    return _render(visit, "manage/rules.html", {
        "rules": rules,
        "on_not_cleared": ON_NOT_CLEARED[policy.on_not_cleared],
        "pseudonymise": policy.pseudonymise,
    }, active="rules")


routes = [
    Route("/manage", overview, methods=["GET"]),
    Route("/manage/teams/new", team_new, methods=["GET"]),
    Route("/manage/teams/new", team_create, methods=["POST"]),
    Route("/manage/teams/{team_id}", team_page, methods=["GET"]),
    Route("/manage/teams/{team_id}/settings", team_settings, methods=["POST"]),
    Route("/manage/teams/{team_id}/members", member_add, methods=["POST"]),
    Route("/manage/teams/{team_id}/members/{user_id}/admin", member_admin, methods=["POST"]),
    Route("/manage/teams/{team_id}/members/{user_id}/remove", member_remove, methods=["POST"]),
    Route("/manage/teams/{team_id}/keys", key_create, methods=["POST"]),
    Route("/manage/teams/{team_id}/keys/{key_id}/revoke", key_revoke, methods=["POST"]),
    Route("/manage/teams/{team_id}/models", team_models, methods=["POST"]),
    Route("/manage/teams/{team_id}/policy", team_policy, methods=["POST"]),
    Route("/manage/teams/{team_id}/rules", rule_add, methods=["POST"]),
    Route("/manage/teams/{team_id}/rules/{position:int}/move", rule_move, methods=["POST"]),
    Route("/manage/teams/{team_id}/rules/{position:int}/delete", rule_delete, methods=["POST"]),
    Route("/manage/teams/{team_id}/quotas", team_quotas, methods=["POST"]),
    Route("/manage/users", users_page, methods=["GET"]),
    Route("/manage/users", user_create, methods=["POST"]),
    Route("/manage/users/{user_id}", user_page, methods=["GET"]),
    Route("/manage/users/{user_id}/roles", user_roles, methods=["POST"]),
    Route("/manage/users/{user_id}/status", user_status, methods=["POST"]),
    Route("/manage/users/{user_id}/quotas", user_quotas, methods=["POST"]),
    Route("/manage/models", models_page, methods=["GET"]),
    Route("/manage/rules", rules_page, methods=["GET"]),
]
