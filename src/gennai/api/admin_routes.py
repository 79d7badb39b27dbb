"""The admin REST API (/admin/...): teams, members, keys, models, policies, quotas, users,
usage and the audit trail. HTTP translation only: every rule lives in gennai.accounts and
every permission in the table of gennai.accounts.permissions.

Who is calling: an API key with the `admin` scope (`Authorization: Bearer gnk_…`), or a
browser session (cookie) with its CSRF token on changes. Every endpoint is listed once in
ENDPOINTS with the permission it needs; the permission tests are generated from that list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gennai.accounts.keys import create_service_key, key_views, revoke_key_where
from gennai.accounts.keys import create_key as create_personal_key
from gennai.accounts.permissions import Actor, allowed, readable_teams, require
from gennai.api.errors import error_response, json_response
from gennai.evaluation.arena import MIN_VOTES, OVERLAP_NOTE, ArenaService
from gennai.gateway.errors import Forbidden, GatewayError, InvalidRequest, NotFound, Unauthorized
from gennai.platform import Platform
from gennai.store.tables import COMMON_TEAM_ID, UsageRecord, User

MAX_ADMIN_BODY = 1024 * 1024
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# -- who is calling ----------------------------------------------------------------------------

async def authenticate_actor(request: Request, platform: Platform) -> Actor:
    header = request.headers.get("authorization")
    ip = request.client.host if request.client else None
    if header is not None and header[:7].lower() == "bearer ":
        principal = await asyncio.to_thread(platform.keys.verify, header[7:].strip())
        if principal is None:
            raise Unauthorized("API キーが無効です / Invalid API key", code="invalid_api_key")
        if "admin" not in principal.scopes:
            raise Forbidden("この API キーには admin の権限がありません / This key has no admin scope", code="insufficient_scope")
        if principal.user_id is None:
            raise Forbidden("チームのサービスキーでは管理 API を使えません / service keys cannot use the admin API", code="insufficient_scope")
        return await asyncio.to_thread(load_actor, platform, principal.user_id, principal.key_id, ip)
    session = await platform.auth.session_from_request(request)
    if session is None:
        raise Unauthorized(
            "サインインしていないか、API キーがありません / Not signed in (no session and no API key)",
            code="not_signed_in",
        )
    if request.method in UNSAFE:
        platform.auth.check_csrf(session, request.headers.get("x-csrf-token"))
    return await asyncio.to_thread(load_actor, platform, session.user_id, None, ip)


def load_actor(platform: Platform, user_id: str, key_id: str | None, ip: str | None) -> Actor:
    with Session(platform.engine) as session:
        user = session.get(User, user_id)
        if user is None or user.disabled:
            raise Unauthorized("アカウントが無効です / the account is disabled", code="account_disabled")
        username, is_admin, roles = user.username, bool(user.is_system_admin), frozenset(user.roles or ())
    return Actor(
        user_id=user_id,
        username=username,
        is_system_admin=is_admin,
        roles=roles,
        memberships=platform.teams.memberships(user_id),
        key_id=key_id,
        ip=ip,
    )


# -- plumbing ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    request: Request
    platform: Platform
    actor: Actor
    team_id: str | None

    def audit(self, action: str, *, target_type: str | None = None, target_id: str | None = None,
              detail: dict[str, Any] | None = None, team_id: str | None = None) -> None:
        self.platform.audit.append(
            action,
            actor_user_id=self.actor.user_id,
            actor_key_id=self.actor.key_id,
            actor_name=self.actor.username,
            team_id=team_id if team_id is not None else self.team_id,
            target_type=target_type,
            target_id=target_id,
            detail=detail,
            ip=self.actor.ip,
        )

    async def body(self) -> dict[str, Any]:
        raw = await self.request.body()
        if len(raw) > MAX_ADMIN_BODY:
            raise InvalidRequest("本文が大きすぎます / request body too large", code="request_too_large")
        if not raw:
            return {}
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise InvalidRequest("本文が JSON ではありません / request body is not valid JSON", code="invalid_json") from None
        if not isinstance(data, dict):
            raise InvalidRequest("本文は JSON オブジェクトです / request body must be a JSON object", code="invalid_json")
        return data


Handler = Callable[[Call], Any]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    action: str
    handler: Handler  # runs in a worker thread: domain calls are synchronous
    needs_body: bool = False

    @property
    def team_scoped(self) -> bool:
        return "{team_id}" in self.path


def _route(endpoint: Endpoint) -> Route:
    async def handle(request: Request) -> Response:
        platform: Platform = request.app.state.platform
        try:
            actor = await authenticate_actor(request, platform)
            team_id = request.path_params.get("team_id")
            require(actor, endpoint.action, team_id)
            if team_id is not None:
                await asyncio.to_thread(platform.teams.get, team_id)  # 404 only after the permission check
            call = Call(request, platform, actor, team_id)
            body = await call.body() if endpoint.needs_body else None
            result = await asyncio.to_thread(endpoint.handler, call, body) if endpoint.needs_body else await asyncio.to_thread(endpoint.handler, call)
        except GatewayError as error:
            return error_response(error)
        status = 201 if endpoint.method == "POST" else 200
        if result is None:
            return Response(status_code=204)
        return json_response(result, status)

    return Route(endpoint.path, handle, methods=[endpoint.method])


def _field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"'{name}' は必須です / '{name}' is required", param=name)
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise InvalidRequest(f"'{name}' の型が正しくありません / '{name}' has the wrong type", param=name)
    return value


def _expiry(body: dict[str, Any]) -> datetime | None:
    days = _field(body, "expires_in_days", int, required=False)
    if days is None:
        return None
    if not 1 <= days <= 3650:
        raise InvalidRequest("expires_in_days は 1〜3650 です / expires_in_days must be 1-3650", param="expires_in_days")
    return datetime.now(UTC) + timedelta(days=days)


def _scopes(body: dict[str, Any], default: tuple[str, ...]) -> tuple[str, ...]:
    scopes = body.get("scopes", list(default))
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
        raise InvalidRequest("scopes は文字列の配列です / scopes must be a non-empty list of strings", param="scopes")
    return tuple(dict.fromkeys(scopes))


# -- teams -------------------------------------------------------------------------------------

def list_teams(call: Call) -> dict[str, Any]:
    teams = call.platform.teams.list()
    visible = set(readable_teams(call.actor, [t.id for t in teams]))
    return {"data": [t.to_json() for t in teams if t.id in visible]}


def create_team(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    admin_name = _field(body, "admin", str)
    admin = call.platform.users.find(admin_name)
    team = call.platform.teams.create(
        _field(body, "name", str),
        _field(body, "display_name", str),
        admin_user_id=admin.id,
        default_class=body.get("default_class", 1),
        retention_days=body.get("retention_days", 365),
    )
    call.audit("team.created", target_type="team", target_id=team.id, team_id=team.id,
               detail={"name": team.name, "admin": admin.id})
    return team.to_json()


def read_team(call: Call) -> dict[str, Any]:
    return call.platform.teams.get(call.team_id).to_json()  # type: ignore[arg-type]


def update_team(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    if "policy" in body:
        require(call.actor, "policy.manage", call.team_id)
    team = call.platform.teams.update(call.team_id, body)  # type: ignore[arg-type]
    call.platform.team_policies.forget(team.id)
    if "retention_days" in body:  # stored conversations follow the new period at once
        call.platform.content.apply_team_retention(team.id)
    call.audit("team.updated", target_type="team", target_id=team.id, detail={"fields": sorted(body)})
    return team.to_json()


def delete_team(call: Call) -> None:
    call.platform.teams.delete(call.team_id)  # type: ignore[arg-type]
    call.platform.team_policies.forget(call.team_id)  # type: ignore[arg-type]
    call.platform.keys.forget(team_id=call.team_id)
    call.audit("team.deleted", target_type="team", target_id=call.team_id)


def read_policy(call: Call) -> dict[str, Any]:
    return call.platform.teams.get(call.team_id).policy  # type: ignore[arg-type]


def put_policy(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    _check_rule_models(call, body)
    team = call.platform.teams.update(call.team_id, {"policy": body})  # type: ignore[arg-type]
    call.platform.team_policies.forget(team.id)
    call.audit("policy.updated", target_type="team", target_id=team.id,
               detail={"fields": sorted(body), "terms": len(team.policy.get("terms", [])), "patterns": len(team.policy.get("patterns", [])),
                       "rules": [rule["name"] for rule in team.policy.get("rules", [])]})
    return team.policy


def _check_rule_models(call: Call, body: dict[str, Any]) -> None:
    """A team's routing rule may name only models of the registry that the team may use
    (the policy would skip the others anyway; saying so now is clearer than a rule that
    silently never routes)."""
    rules = body.get("rules") if isinstance(body, dict) else None
    if not isinstance(rules, list):
        return  # absent or malformed: validate_team_policy reports it
    known = {model.id for model in call.platform.registry}
    allowed = call.platform.teams.get(call.team_id).allowed_models  # type: ignore[arg-type]
    for index, rule in enumerate(rules):
        models = rule.get("models") if isinstance(rule, dict) else None
        if not isinstance(models, list):
            continue
        unknown = [m for m in models if isinstance(m, str) and m not in known]
        if unknown:
            raise InvalidRequest(
                f"存在しないモデル: {', '.join(unknown)} / unknown models: {', '.join(unknown)}", param=f"policy.rules[{index}].models"
            )
        outside = [m for m in models if isinstance(m, str) and allowed is not None and m not in allowed]
        if outside:
            raise InvalidRequest(
                f"このチームが使えないモデル: {', '.join(outside)} / models this team may not use: {', '.join(outside)}",
                param=f"policy.rules[{index}].models",
            )


def put_models(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    if "models" not in body:
        raise InvalidRequest("'models' は必須です（null ですべて） / 'models' is required (null: every model)", param="models")
    team = call.platform.teams.set_allowed_models(call.team_id, body["models"], [m.id for m in call.platform.registry])  # type: ignore[arg-type]
    call.platform.team_policies.forget(team.id)
    call.audit("team.models_set", target_type="team", target_id=team.id, detail={"models": team.allowed_models})
    return {"allowed_models": team.allowed_models}


def read_quotas(call: Call) -> dict[str, Any]:
    return call.platform.teams.limits("team", call.team_id).to_json()  # type: ignore[arg-type]


def put_quotas(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    limits = call.platform.teams.set_limits("team", call.team_id, body)  # type: ignore[arg-type]
    if call.platform.quotas.limits is not None:
        call.platform.quotas.limits.invalidate("team", call.team_id)
    call.audit("quota.updated", target_type="team", target_id=call.team_id, detail=limits.to_json())
    return limits.to_json()


def read_usage(call: Call) -> dict[str, Any]:
    since = call.request.query_params.get("since")
    try:
        start = datetime.fromisoformat(since) if since else datetime.now(UTC) - timedelta(days=30)
    except ValueError:
        raise InvalidRequest("since は ISO 8601 の日時です / since must be an ISO 8601 date or time", param="since") from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    with Session(call.platform.engine) as session:
        rows = session.execute(
            select(UsageRecord.model_id, func.count(), func.sum(UsageRecord.tokens_in), func.sum(UsageRecord.tokens_out),
                   func.sum(UsageRecord.cost_yen))
            .where(UsageRecord.team_id == call.team_id, UsageRecord.created_at >= start)
            .group_by(UsageRecord.model_id)
        ).all()
    return {
        "since": start.isoformat(),
        "by_model": [
            {"model": model, "requests": count, "tokens_in": int(tin or 0), "tokens_out": int(tout or 0), "cost_yen": float(cost or 0)}
            for model, count, tin, tout, cost in rows
        ],
    }


# -- members -----------------------------------------------------------------------------------

def list_members(call: Call) -> dict[str, Any]:
    return {"data": [m.to_json() for m in call.platform.teams.members(call.team_id)]}  # type: ignore[arg-type]


def add_member(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    user = call.platform.users.find(_field(body, "username", str))
    is_admin = bool(_field(body, "is_admin", bool, required=False))
    member = call.platform.teams.add_member(call.team_id, user.id, is_admin=is_admin)  # type: ignore[arg-type]
    call.audit("member.added", target_type="user", target_id=user.id, detail={"is_admin": is_admin})
    return member.to_json()


def update_member(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    user_id = call.request.path_params["user_id"]
    is_admin = _field(body, "is_admin", bool)
    member = call.platform.teams.set_admin(call.team_id, user_id, is_admin)  # type: ignore[arg-type]
    call.audit("member.role_changed", target_type="user", target_id=user_id, detail={"is_admin": is_admin})
    return member.to_json()


def remove_member(call: Call) -> None:
    user_id = call.request.path_params["user_id"]
    call.platform.teams.remove_member(call.team_id, user_id)  # type: ignore[arg-type]
    call.platform.keys.forget(user_id=user_id, team_id=call.team_id)
    call.audit("member.removed", target_type="user", target_id=user_id)


# -- keys --------------------------------------------------------------------------------------

def list_team_keys(call: Call) -> dict[str, Any]:
    return {"data": [k.to_json() for k in key_views(call.platform.engine, team_id=call.team_id)]}


def create_team_key(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    if call.team_id == COMMON_TEAM_ID:
        raise InvalidRequest("共通チームにサービスキーは作れません / the common team has no service keys", param="team_id")
    try:
        created = create_service_key(
            call.platform.engine, call.platform.keys.secret, team_id=call.team_id,  # type: ignore[arg-type]
            name=_field(body, "name", str), scopes=_scopes(body, ("chat",)), expires_at=_expiry(body),
        )
    except ValueError as exc:
        raise InvalidRequest(str(exc), param="scopes" if "scope" in str(exc) else "name") from None
    call.audit("key.created", target_type="api_key", target_id=created.record_id, detail={"kind": "service"})
    return {"id": created.record_id, "key": created.key, "prefix": created.prefix}


def revoke_team_key(call: Call) -> None:
    key_id = call.request.path_params["key_id"]
    if not revoke_key_where(call.platform.engine, key_id, team_id=call.team_id):
        raise NotFound("キーが見つかりません / key not found", code="key_not_found")
    call.platform.keys.forget(key_id=key_id)
    call.audit("key.revoked", target_type="api_key", target_id=key_id)


def list_own_keys(call: Call) -> dict[str, Any]:
    return {"data": [k.to_json() for k in key_views(call.platform.engine, user_id=call.actor.user_id)]}


def create_own_key(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    team_id = _field(body, "team_id", str, required=False) or COMMON_TEAM_ID
    if team_id != COMMON_TEAM_ID and team_id not in call.actor.memberships:
        raise Forbidden("所属していないチームのキーは作れません / you are not a member of that team", code="forbidden")
    try:
        created = create_personal_key(
            call.platform.engine, call.platform.keys.secret, name=_field(body, "name", str),
            user_id=call.actor.user_id, scopes=_scopes(body, ("chat", "apps")), expires_at=_expiry(body), team_id=team_id,
        )
    except ValueError as exc:
        raise InvalidRequest(str(exc), param="scopes" if "scope" in str(exc) else "name") from None
    call.audit("key.created", target_type="api_key", target_id=created.record_id, team_id=team_id, detail={"kind": "personal"})
    return {"id": created.record_id, "key": created.key, "prefix": created.prefix}


def revoke_own_key(call: Call) -> None:
    key_id = call.request.path_params["key_id"]
    if not revoke_key_where(call.platform.engine, key_id, user_id=call.actor.user_id):
        raise NotFound("キーが見つかりません / key not found", code="key_not_found")
    call.platform.keys.forget(key_id=key_id)
    call.audit("key.revoked", target_type="api_key", target_id=key_id)


# -- deployment-wide ---------------------------------------------------------------------------

def list_models(call: Call) -> dict[str, Any]:
    return {"data": [m.describe() for m in call.platform.registry]}


def list_users(call: Call) -> dict[str, Any]:
    return {"data": [u.to_json() for u in call.platform.users.list()]}


def create_user(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    user = call.platform.users.create(
        _field(body, "username", str),
        display_name=_field(body, "display_name", str, required=False),
        email=_field(body, "email", str, required=False),
        is_system_admin=bool(_field(body, "system_admin", bool, required=False)),
        roles=_field(body, "roles", list, required=False),
    )
    call.audit("user.created", target_type="user", target_id=user.id,
               detail={"system_admin": user.is_system_admin, "roles": list(user.roles)})
    return user.to_json()


def update_user(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    user_id = call.request.path_params["user_id"]
    user = call.platform.users.update(user_id, body)
    call.platform.keys.forget(user_id=user_id)
    if user.disabled:
        call.platform.auth.sessions.revoke_all(user_id)
    call.audit("user.updated", target_type="user", target_id=user_id,
               detail={k: v for k, v in body.items() if k in ("system_admin", "roles", "disabled")} | {"fields": sorted(body)})
    return user.to_json()


def put_user_quotas(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    user_id = call.request.path_params["user_id"]
    limits = call.platform.teams.set_limits("user", user_id, body)
    if call.platform.quotas.limits is not None:
        call.platform.quotas.limits.invalidate("user", user_id)
    call.audit("quota.updated", target_type="user", target_id=user_id, detail=limits.to_json())
    return limits.to_json()


# -- audit trail and stored conversations -------------------------------------------------------

def _when(call: Call, name: str) -> datetime | None:
    value = call.request.query_params.get(name)
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{name} は ISO 8601 の日時です / {name} must be an ISO 8601 date or time", param=name) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def read_audit(call: Call) -> dict[str, Any]:
    """Entries in a period (newest last), at most `limit` (default 200, up to 5000)."""
    import io

    limit_text = call.request.query_params.get("limit", "200")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 5000:
        raise InvalidRequest("limit は 1〜5000 です / limit must be 1-5000", param="limit")
    out = io.StringIO()
    call.platform.audit.export(out, since=_when(call, "since"), until=_when(call, "until"))
    lines = out.getvalue().splitlines()[-int(limit_text):]
    return {"data": [orjson.loads(line) for line in lines]}


def export_audit(call: Call) -> dict[str, Any]:
    """The whole period as JSONL in one string (an export is itself audited)."""
    import io

    out = io.StringIO()
    since, until = _when(call, "since"), _when(call, "until")
    count = call.platform.audit.export(out, since=since, until=until)
    call.audit("audit.exported", detail={"entries": count, "since": since.isoformat() if since else None,
                                         "until": until.isoformat() if until else None})
    return {"entries": count, "jsonl": out.getvalue()}


def verify_audit(call: Call) -> dict[str, Any]:
    result = call.platform.audit.verify()
    return {"ok": result.ok, "entries": result.entries, "first_bad_seq": result.first_bad_seq, "problem": result.problem}


def _content_json(content: Any) -> dict[str, Any]:
    return {
        "id": content.id, "title": content.title, "team_id": content.team_id, "max_class": content.max_class,
        "created_at": content.created_at.isoformat(), "updated_at": content.updated_at.isoformat(),
        "expires_at": content.expires_at.isoformat(),
        "messages": [
            {"seq": m.seq, "role": m.role, "content": m.content, "model": m.model_id, "created_at": m.created_at.isoformat()}
            for m in content.messages
        ],
    }


def _content_errors(action: Callable[[], Any]) -> Any:
    from gennai.conversations import (
        AuditorAccessDenied,
        AuditUnavailable,
        ConversationError,
        ConversationNotFound,
        ReasonRequired,
    )

    try:
        return action()
    except ConversationNotFound:
        raise NotFound("会話が見つかりません / conversation not found", code="conversation_not_found") from None
    except AuditorAccessDenied:
        raise Forbidden("監査担当者だけが閲覧できます / only auditors may open a conversation", code="forbidden") from None
    except ReasonRequired as exc:
        raise InvalidRequest(f"閲覧の理由を具体的に書いてください / a specific reason is required: {exc}", param="reason") from None
    except AuditUnavailable:
        raise GatewayError("監査記録を書けないため開けません / the access cannot be audited, so it is refused", status=503,
                           code="audit_unavailable") from None
    except ConversationError as exc:
        raise GatewayError(f"会話を読み出せません / cannot read the conversation: {exc}", status=500, code="content_error") from None


def auditor_open(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    conversation_id = call.request.path_params["conversation_id"]
    reason = _field(body, "reason", str)
    content = _content_errors(lambda: call.platform.content.auditor_open(conversation_id, call.actor.user_id, reason,
                                                                         call.platform.audit.append))
    return _content_json(content)


def list_own_conversations(call: Call) -> dict[str, Any]:
    return {"data": [
        {"id": c.id, "title": c.title, "team_id": c.team_id, "max_class": c.max_class,
         "updated_at": c.updated_at.isoformat(), "expires_at": c.expires_at.isoformat()}
        for c in call.platform.content.list(call.actor.user_id)
    ]}


def read_own_conversation(call: Call) -> dict[str, Any]:
    conversation_id = call.request.path_params["conversation_id"]
    return _content_json(_content_errors(lambda: call.platform.content.read(conversation_id, call.actor.user_id)))


def delete_own_conversation(call: Call) -> None:
    conversation_id = call.request.path_params["conversation_id"]
    _content_errors(lambda: call.platform.content.delete(conversation_id, call.actor.user_id,
                                                         audit=call.platform.audit.append))


def arena_leaderboard(call: Call) -> dict[str, Any]:
    """The arena's Bradley–Terry leaderboard (gennai.evaluation.arena); ?min_votes=N."""
    text = call.request.query_params.get("min_votes") or str(MIN_VOTES)
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise InvalidRequest("min_votes は 1 以上の整数です / min_votes must be a positive integer", param="min_votes")
    rows = ArenaService(call.platform).leaderboard(min_votes=int(text))
    return {"data": [row.to_json() for row in rows], "min_votes": int(text), "scale": "elo", "confidence": 0.95,
            "note": OVERLAP_NOTE}


ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/admin/teams", "teams.list", list_teams),
    Endpoint("POST", "/admin/teams", "teams.create", create_team, needs_body=True),
    Endpoint("GET", "/admin/teams/{team_id}", "teams.read", read_team),
    Endpoint("PATCH", "/admin/teams/{team_id}", "teams.update", update_team, needs_body=True),
    Endpoint("DELETE", "/admin/teams/{team_id}", "teams.delete", delete_team),
    Endpoint("GET", "/admin/teams/{team_id}/members", "members.list", list_members),
    Endpoint("POST", "/admin/teams/{team_id}/members", "members.manage", add_member, needs_body=True),
    Endpoint("PATCH", "/admin/teams/{team_id}/members/{user_id}", "members.manage", update_member, needs_body=True),
    Endpoint("DELETE", "/admin/teams/{team_id}/members/{user_id}", "members.manage", remove_member),
    Endpoint("GET", "/admin/teams/{team_id}/keys", "keys.list", list_team_keys),
    Endpoint("POST", "/admin/teams/{team_id}/keys", "keys.manage", create_team_key, needs_body=True),
    Endpoint("DELETE", "/admin/teams/{team_id}/keys/{key_id}", "keys.manage", revoke_team_key),
    Endpoint("PUT", "/admin/teams/{team_id}/models", "models.manage", put_models, needs_body=True),
    Endpoint("GET", "/admin/teams/{team_id}/policy", "policy.read", read_policy),
    Endpoint("PUT", "/admin/teams/{team_id}/policy", "policy.manage", put_policy, needs_body=True),
    Endpoint("GET", "/admin/teams/{team_id}/quotas", "quotas.read", read_quotas),
    Endpoint("PUT", "/admin/teams/{team_id}/quotas", "quotas.manage", put_quotas, needs_body=True),
    Endpoint("GET", "/admin/teams/{team_id}/usage", "usage.read", read_usage),
    Endpoint("GET", "/admin/models", "models.list", list_models),
    Endpoint("GET", "/admin/users", "users.list", list_users),
    Endpoint("POST", "/admin/users", "users.manage", create_user, needs_body=True),
    Endpoint("PATCH", "/admin/users/{user_id}", "users.manage", update_user, needs_body=True),
    Endpoint("PUT", "/admin/users/{user_id}/quotas", "users.manage", put_user_quotas, needs_body=True),
    Endpoint("GET", "/admin/me/keys", "own_keys.manage", list_own_keys),
    Endpoint("POST", "/admin/me/keys", "own_keys.manage", create_own_key, needs_body=True),
    Endpoint("DELETE", "/admin/me/keys/{key_id}", "own_keys.manage", revoke_own_key),
    Endpoint("GET", "/admin/me/conversations", "own_content.manage", list_own_conversations),
    Endpoint("GET", "/admin/me/conversations/{conversation_id}", "own_content.manage", read_own_conversation),
    Endpoint("DELETE", "/admin/me/conversations/{conversation_id}", "own_content.manage", delete_own_conversation),
    Endpoint("GET", "/admin/audit", "audit.read", read_audit),
    Endpoint("GET", "/admin/audit/verify", "audit.read", verify_audit),
    Endpoint("POST", "/admin/audit/export", "audit.export", export_audit),
    Endpoint("POST", "/admin/conversations/{conversation_id}/access", "content.audit_access", auditor_open, needs_body=True),
    Endpoint("GET", "/v1/gennai/arena/leaderboard", "arena.read", arena_leaderboard),
]

routes = [_route(endpoint) for endpoint in ENDPOINTS]

__all__ = ["ENDPOINTS", "Endpoint", "allowed", "authenticate_actor", "routes"]
