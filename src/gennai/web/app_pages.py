"""The general apps in the web interface (issue 5): the list (/apps), one app's page with its
form rendered from the app's form definition (/apps/{app_id}), what the policy would do with
the form as filled in (POST /apps/{app_id}/preview: the chat's preview fragment, refreshed by
htmx as the person types; without script, the page again with the preview), and running it
(POST /apps/{app_id}/run).

Running an app answers in one of two ways, by what the page sent:

- JSON (`{"inputs": {...}, "model": "auto", "classification": 1, "team_id": …}`, with the
  `X-CSRF-Token` header; what static/js/apps.js sends, files read in the browser into the
  protocol's `inputs.files`): a `text/event-stream` of the runner's events, in the shape
  `gennai.streamChat` reads —
    event: started   data: {model, model_name, class, class_name, action, app, request_id}
    (message)        data: {"text": "…"}                      one per delta
    event: done      data: {model, model_name, request_id, tokens_in, tokens_out, app}
    event: error     data: {"error": {kind, title, message, hints, details, fields,
                                      partial, retry_after, status, request_id}}
  Problems found before the stream starts (signed out, unknown app, CSRF, a body that is
  not JSON or too large) are JSON errors with their status, `{"error": {"message": …}}`.
- An HTML form post (application/x-www-form-urlencoded: a browser without script): the app
  runs to the end and the page is rendered again with the answer (raw Markdown text, as
  stored answers are shown without script), or with the errors next to their fields.
  Files need script (a plain form post cannot carry them without multipart parsing).

Every message is Japanese; never a stack trace.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gennai.api.errors import json_response
from gennai.api.openai_routes import read_json
from gennai.api.streaming import EventStreamResponse
from gennai.apps.definitions import AppDefinition
from gennai.apps.forms import FORM_ERROR_KEY, ChoiceField, FileField, FormField, HiddenField, NumberField, TextField
from gennai.apps.runner import AppRunner
from gennai.conversations.chat import ChatEvent
from gennai.gateway.calls import team_policy_for
from gennai.gateway.errors import GatewayError, InvalidRequest, PayloadTooLarge
from gennai.platform import Platform
from gennai.policy.decision import AUTO, CLASS_NAMES, cleared, serves
from gennai.web.pages import page
from gennai.web.chat_pages import (
    FORM_TYPE,
    ORIGIN_NAMES,
    detail_models,
    first_sentence,
    found_items,
    name_model,
    preview_fragment,
    preview_view,
    reason_text,
)
from gennai.web.session import SignInRequired, WebUser, check_csrf, current_user, require_user
from gennai.web.templating import render, render_error

log = logging.getLogger("gennai.web")

# Names of the page's own controls; an app's fields are posted as "in-<key>" (keys never
# hold "-", so the two never meet).
FIELD_PREFIX = "in-"
PARTIAL_MARK = "〔回答は途中で途切れました〕"

HOSTINGS = {
    "on-premises": "庁内設置",
    "government-cloud": "ガバメントクラウド",
    "domestic-region": "国内リージョン",
    "overseas": "海外で処理",
}
ERROR_TITLES = {
    "invalid": "入力内容を確認してください",
    "policy": "この内容は選んだモデルに送れません",
    "quota": "利用の上限に達しました",
    "unavailable": "AIモデルが利用できません",
    "internal": "システムでエラーが発生しました",
}


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


# ------------------------------------------------------------------------------ the form


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    title: str
    id: str


@dataclass(frozen=True, slots=True)
class FieldView:
    """One field of an app's form, as the template renders it."""

    key: str
    type: str
    id: str  # the control's id ("field-<key>"; a group's first choice)
    name: str  # "in-<key>"
    title: str
    required: bool
    help: str | None
    attrs: dict[str, Any] = field(default_factory=dict)
    choices: tuple[Choice, ...] = ()
    default: Any = None

    @property
    def options(self) -> list[tuple[str, str]]:
        """A select's (value, title) pairs, with an empty first choice unless one is required
        and preset."""
        pairs = [(choice.value, choice.title) for choice in self.choices]
        if not self.required:
            return [("", "（選ばない）"), *pairs]
        return pairs if self.default else [("", "選択してください"), *pairs]


def _count(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def field_view(key: str, definition: FormField) -> FieldView:
    """A form definition's field with its help text (the author's desc and the limits)."""
    base_id = f"field-{key}"
    name = FIELD_PREFIX + key
    if isinstance(definition, HiddenField):
        value = definition.default_value
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return FieldView(key, "hidden", base_id, name, "", False, None, default=text)
    notes: list[str] = []
    attrs: dict[str, Any] = {}
    choices: tuple[Choice, ...] = ()
    default: Any = getattr(definition, "default_value", None)
    if isinstance(definition, TextField):
        if definition.max_length is not None and definition.min_length:
            notes.append(f"{_count(definition.min_length)}〜{_count(definition.max_length)}文字。")
        elif definition.max_length is not None:
            notes.append(f"{_count(definition.max_length)}文字まで。")
        elif definition.min_length:
            notes.append(f"{_count(definition.min_length)}文字以上。")
    elif isinstance(definition, NumberField):
        attrs = {"inputmode": "decimal", "step": "any"}
        if definition.min is not None:
            attrs["min"] = definition.min
        if definition.max is not None:
            attrs["max"] = definition.max
        if definition.min is not None and definition.max is not None:
            notes.append(f"{_count(definition.min)}から{_count(definition.max)}までの数値。")
        elif definition.min is not None:
            notes.append(f"{_count(definition.min)}以上の数値。")
        elif definition.max is not None:
            notes.append(f"{_count(definition.max)}以下の数値。")
        default = None if default is None else _count(default).replace(",", "")
    elif isinstance(definition, FileField):
        attrs = {"data-max-files": definition.max_files}
        if definition.accept:
            attrs["accept"] = definition.accept
            notes.append("使える形式: " + "、".join(t.strip() for t in definition.accept.split(",") if t.strip()) + "。")
        if definition.multiple:
            attrs["multiple"] = True
            notes.append(f"{definition.max_files}個まで添付できます。")
        if definition.max_size:
            attrs["data-max-bytes"] = definition.max_bytes
            notes.append(f"1ファイル{definition.max_size}まで。")
    elif isinstance(definition, ChoiceField):
        choices = tuple(
            Choice(item.value, item.title, base_id if i == 0 else f"{base_id}-{i + 1}")
            for i, item in enumerate(definition.items)
        )
        if definition.type == "checkbox" and len(definition.items) > 1:
            notes.append("当てはまるものをすべて選んでください。")
    desc = (definition.desc or "").strip()
    if desc and notes and not desc.endswith(("。", "）", ")", ".", "！", "？")):
        desc += "。"
    help_text = " ".join(part for part in [desc, *notes] if part) or None
    return FieldView(key, definition.type, base_id, name, definition.title, definition.required, help_text,
                     attrs, choices, default)


def form_fields(app: AppDefinition) -> list[FieldView]:
    return [field_view(key, definition) for key, definition in app.form.items()]


def one_of_notes(app: AppDefinition) -> list[str]:
    """「A」・「B」のどちらか一つ: one sentence per require_one_of group."""
    notes = []
    for group in app.require_one_of:
        titles = "・".join(f"「{getattr(app.form[key], 'title', key)}」" for key in group)
        notes.append(f"{titles}のどれか一つは必ず入力してください。" if len(group) > 2 else f"{titles}のどちらかは必ず入力してください。")
    return notes


def initial_values(app: AppDefinition) -> dict[str, Any]:
    """The values the form starts with: each field's default (a checkbox's as a list)."""
    values: dict[str, Any] = {}
    for key, view in ((v.key, v) for v in form_fields(app)):
        if view.type == "checkbox":
            values[key] = [part.strip() for part in str(view.default or "").split(",") if part.strip()]
        elif view.default is not None:
            values[key] = str(view.default)
    return values


# ------------------------------------------------------------------------- run settings


@dataclass(frozen=True, slots=True)
class ModelOption:
    id: str
    name: str  # the display name
    label: str  # with origin, hosting and the highest class
    limit: int  # the highest class this deployment lets it receive


@dataclass(frozen=True, slots=True)
class RunSettings:
    team_id: str
    models: list[ModelOption]
    classes: list[tuple[int, str]]
    default_class: int
    team_default_class: int
    names: dict[str, str] = field(default_factory=dict)  # every model's display name

    @property
    def model_choices(self) -> list[tuple[str, str]]:
        return [(AUTO, "自動（おすすめ）"), *((option.id, option.label) for option in self.models)]

    def model_name(self, model_id: str | None) -> str | None:
        return self.names.get(model_id or "", model_id)

    def display_name(self, model_id: str) -> str:
        """A model's display name (its id when it has none or is unknown)."""
        return self.names.get(model_id) or model_id


async def run_settings(platform: Platform, team_id: str, app: AppDefinition) -> RunSettings:
    """The models the team may use for chat (with where they come from, where the data is
    processed and the highest class they may receive) and the classes worth declaring."""
    team = await team_policy_for(platform, team_id)
    allowed = team.allowed_models if team is not None else None
    config = platform.policy.config
    models: list[ModelOption] = []
    for model in platform.registry:
        if allowed is not None and model.id not in allowed:
            continue
        if not serves(model, ("chat",)):
            continue
        limit = max((c for c in (1, 2, 3) if cleared(model, c, config)), default=0)
        if not limit:
            continue
        c = model.config
        label = f"{c.display_name}（{ORIGIN_NAMES.get(c.origin, c.origin)}モデル・{HOSTINGS.get(c.hosting, c.hosting)}・機密性{limit}まで）"
        models.append(ModelOption(model.id, c.display_name, label, limit))
    team_default = team.default_class if team is not None else 1
    floor = max(team_default, app.min_class)
    classes = [(c, CLASS_NAMES[c]) for c in (1, 2, 3) if c >= floor]
    names = {model.id: model.config.display_name for model in platform.registry}
    return RunSettings(team_id, models, classes, floor, team_default, names)


def _team_choices(user: WebUser) -> list[tuple[str, str]]:
    return [(t.team_id, t.display_name or t.name) for t in user.profile.teams if t.team_id in user.team_ids()]


# ------------------------------------------------------------------------------ errors


def _japanese(message: str) -> str:
    """The Japanese half of a "日本語 / English" message (the whole message if it has none)."""
    head = message.split(" / ")[0].strip()
    return head if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", head) else ""


_TOO_LONG = re.compile(r"context (window|length)|maximum context|too many tokens", re.IGNORECASE)


def _same_id(model_id: str) -> str:
    return model_id


def _refusal_text(message: str, details: Mapping[str, Any], name: Callable[[str], str]) -> str:
    """A policy refusal in Japanese: its first sentence (the model by its display name), the
    kinds of items found and the reasons, from the error's details."""
    head = _japanese(message)
    if not head:
        return ""
    parts = [name_model(first_sentence(head), details, name)]
    found = found_items(details)
    if found:
        parts.append("入力内容に次の情報が見つかりました: " + "、".join(found) + "。")
    reasons = [text for text in (reason_text(str(reason)) for reason in details.get("reasons") or ()) if text]
    if reasons:
        parts.append("理由: " + "、".join(reasons) + "。")
    return "".join(parts)


def describe_error(data: Mapping[str, Any], model_name: Callable[[str], str] = _same_id) -> dict[str, Any]:
    """A runner's error event as the page shows it: a title, one Japanese message, what the
    person can do, and the server's own text as details when it said more. The facts come
    from the event's "details" (GatewayError.details); `model_name`: a model id's display name."""
    kind = str(data.get("kind") or "internal")
    message = str(data.get("message") or "")
    facts: Mapping[str, Any] = data.get("details") or {}
    partial = bool(data.get("partial"))
    text = _japanese(message)
    hints: list[str] = []
    if kind == "policy":
        text = _refusal_text(message, facts, model_name)
        allowed = detail_models(facts, "allowed_models")
        if allowed:
            names = "、".join(map(model_name, allowed))
            hints.append(f"この内容を扱えるモデル: {names}。モデルを選び直すか、「自動」にして実行し直してください。")
        hints.append("個人情報や取扱注意の情報が不要なら、取り除いてから実行し直してください。")
        hints.append("判断に迷うときは、所属チームの管理者に相談してください。")
        text = text or "この内容は、選んだモデルには送れない機密性と判定されました。"
    elif kind == "quota":
        text = text or "利用の上限に達しました。"
        retry = data.get("retry_after")
        if data.get("status") == 503:
            hints.append("しばらく待ってから、もう一度実行してください。")
        elif isinstance(retry, (int, float)) and retry > 0 and retry < 3600:
            hints.append(f"約{max(1, round(retry))}秒後から、もう一度実行できます。")
        hints.append("上限を変更したい場合は、所属チームの管理者に相談してください。")
    elif kind == "unavailable" and _TOO_LONG.search(message):
        text = "入力とアプリの指示を合わせた長さが、このモデルで扱える長さを超えました。"
        hints.append("文章を短くするか分けて実行するか、扱える長さの大きいモデルを選んでください。")
    elif kind == "unavailable":
        text = text or "回答を作成するAIモデルが、いま応答していません。"
        tried = detail_models(facts, "tried")
        if tried:
            text += "（試したモデル: " + "、".join(map(model_name, tried)) + "）"
        hints.append("しばらく待ってから、もう一度実行してください。")
        hints.append("モデルを「自動」にするか別のモデルを選ぶと、実行できることがあります。")
    elif kind == "invalid":
        fields = data.get("fields") or {}
        if fields:
            text = "入力内容に問題があります。各欄の説明に従って直してください。"
        else:
            text = text or "送信した内容を処理できませんでした。"
            if data.get("status") == 404 or str(data.get("param") or "") == "model":
                hints.append("モデルを「自動」にして、もう一度実行してください。")
    else:
        text = "申し訳ありません。処理の途中で予期しないエラーが発生しました。"
        hints.append("数分待ってから、もう一度実行してください。")
    if partial:
        hints.insert(0, "回答は途中で途切れました。表示されている回答は途中までです。")
    details = message if message and message != text and kind != "invalid" else None
    return {
        "kind": kind,
        "title": ERROR_TITLES.get(kind, ERROR_TITLES["internal"]),
        "message": text,
        "hints": hints,
        "details": details,
        "fields": dict(data.get("fields") or {}),
        "partial": partial,
        "retry_after": data.get("retry_after"),
        "status": data.get("status"),
        "request_id": data.get("request_id"),
    }


def _json_error(status: int, message: str, code: str) -> Response:
    return json_response({"error": {"message": message, "type": "web_error", "param": None, "code": code}}, status)


# ------------------------------------------------------------------------------- pages


@page
async def apps_page(request: Request) -> Response:
    user = await require_user(request)
    platform = _platform(request)
    return render(request, "apps.html", {
        "user": user.profile,
        "nav_active": "apps",
        "apps": [app for app, _ in platform.apps.for_teams(_team_names(user))],
        "load_errors": platform.apps.errors if user.profile.is_system_admin else [],
    })


def _team_names(user: WebUser) -> list[str]:
    return [team.name for team in user.profile.teams]


def _usable(platform: Platform, user: WebUser, app_id: str) -> AppDefinition | None:
    """The app if this person may use it (general, their team's or the common team's): to
    anyone else a team's app does not exist."""
    return platform.apps.usable(app_id, _team_names(user))


async def _app_or_404(request: Request, user: WebUser) -> AppDefinition | Response:
    app = _usable(_platform(request), user, request.path_params["app_id"])
    if app is None:
        return render_error(request, 404, user=user.profile, heading="アプリが見つかりません",
                            message="お探しのアプリはありません。アドレスを確かめるか、アプリの一覧から選んでください。")
    return app


def _page_context(
    user: WebUser, app: AppDefinition, settings: RunSettings, *, values: Mapping[str, Any] | None = None,
    model: str = AUTO, declared: int | None = None, errors: Mapping[str, str] | None = None,
    result: Mapping[str, Any] | None = None, preview: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    fields = form_fields(app)
    errors = dict(errors or {})
    titles = {view.key: view.title for view in fields}
    summary = [
        ((f"field-{key}" if key in titles else "app-form"), (f"{titles[key]}: {message}" if key in titles else message))
        for key, message in errors.items()
    ]
    return {
        "user": user.profile,
        "nav_active": "apps",
        "app": app,
        "fields": fields,
        "one_of": one_of_notes(app),
        "has_files": any(view.type == "file" for view in fields),
        "values": dict(values) if values is not None else initial_values(app),
        "errors": errors,
        "error_summary": summary,
        "settings": settings,
        "model": model,
        "declared": declared or settings.default_class,
        "teams": _team_choices(user),
        "result": result,
        "partial_mark": PARTIAL_MARK,
        "preview": preview,
        "preview_note": _preview_note(app),
        "preview_skip": ",".join(FIELD_PREFIX + key for key in app.file_fields),
    }


@page
async def app_page(request: Request) -> Response:
    user = await require_user(request)
    app = await _app_or_404(request, user)
    if isinstance(app, Response):
        return app
    team_id = request.query_params.get("team") or user.default_team_id
    user.principal(team_id)  # a team they are not in: 403
    settings = await run_settings(_platform(request), team_id, app)
    return render(request, "app.html", _page_context(user, app, settings))


# --------------------------------------------------------------------------------- run


def _declared(raw: Any) -> int:
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, bool) or raw not in (1, 2, 3):
        raise InvalidRequest("機密性は 1、2、3 のどれかを選んでください。", param="classification", code="invalid_classification")
    return int(raw)


def _model(raw: Any) -> str:
    if raw is None or raw == "":
        return AUTO
    if not isinstance(raw, str) or len(raw) > 200:
        raise InvalidRequest("モデルの指定が正しくありません。", param="model", code="invalid_model")
    return raw


async def _read_form(request: Request, limit: int) -> list[tuple[str, str]]:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge("送信された内容が大きすぎます。", code="request_too_large")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise PayloadTooLarge("送信された内容が大きすぎます。", code="request_too_large")
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=1000)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("フォームの内容を読み取れませんでした。", code="invalid_form") from None


def _form_inputs(app: AppDefinition, pairs: list[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the protocol's inputs, the values to show again) from an HTML form post: a checkbox's
    choices joined by commas; file fields are left out (a plain form post cannot carry files)."""
    posted: dict[str, list[str]] = {}
    for name, value in pairs:
        posted.setdefault(name, []).append(value)
    inputs: dict[str, Any] = {}
    shown: dict[str, Any] = {}
    for key, definition in app.form.items():
        got = posted.get(FIELD_PREFIX + key)
        if isinstance(definition, (HiddenField, FileField)):
            continue
        if isinstance(definition, ChoiceField) and definition.type == "checkbox":
            chosen = [v for v in (got or []) if v]
            inputs[key] = ",".join(chosen)
            shown[key] = chosen
        elif got is not None:
            inputs[key] = got[0]
            shown[key] = got[0]
    return inputs, shown


def _sse(event: str | None, payload: Any) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + orjson.dumps(payload) + b"\n\n"


def _started(data: Mapping[str, Any], settings: RunSettings) -> dict[str, Any]:
    return {
        "app": data.get("app"), "model": data.get("model"), "model_name": settings.model_name(data.get("model")),
        "class": data.get("class"), "class_name": data.get("class_name"), "action": data.get("action"),
        "request_id": data.get("request_id"),
    }


def _done(data: Mapping[str, Any], settings: RunSettings) -> dict[str, Any]:
    return {
        "app": data.get("app"), "model": data.get("model"), "model_name": settings.model_name(data.get("model")),
        "request_id": data.get("request_id"), "tokens_in": data.get("tokens_in"), "tokens_out": data.get("tokens_out"),
    }


async def _events(request: Request, user: WebUser, app: AppDefinition, inputs: dict[str, Any], model: str,
                  declared: int, team_id: str) -> AsyncIterator[ChatEvent]:
    """The runner's events; an unexpected failure becomes one "error" event (and a log line)."""
    platform = _platform(request)
    principal = user.principal(team_id)
    try:
        async with aclosing(AppRunner(platform).run(principal, app, inputs, model=model, declared_class=declared)) as events:
            async for event in events:
                yield event
    except GatewayError as error:  # raised before the runner's own handling (never expected)
        yield ChatEvent("error", {"kind": "invalid", "message": error.message, "status": error.status, "partial": False})
    except Exception:
        log.exception("app %s failed", app.id)
        yield ChatEvent("error", {"kind": "internal", "message": "", "status": 500, "partial": False})


async def run_app(request: Request) -> Response:
    platform = _platform(request)
    user = await current_user(request)
    if user is None:
        return _json_error(401, "サインインが必要です。ページを再読み込みして、サインインし直してください。", "not_signed_in")
    app = _usable(platform, user, request.path_params["app_id"])
    if app is None:
        return _json_error(404, "このアプリはありません。", "app_not_found")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    limit = platform.loaded.config.server.max_body_bytes
    if content_type == FORM_TYPE:
        try:
            return await _run_from_form(request, user, app, limit)
        except GatewayError as error:
            return render_error(request, error.status, user=user.profile,
                                message=_japanese(error.message) or None)
    try:
        await check_csrf(request, user)
        data = await read_json(request, limit)
        inputs = data.get("inputs") if data.get("inputs") is not None else {}
        if not isinstance(inputs, dict):
            raise InvalidRequest("入力（inputs）の形式が正しくありません。", param="inputs", code="invalid_inputs")
        model = _model(data.get("model"))
        declared = _declared(data.get("classification", 1))
        team_id = data.get("team_id") or user.default_team_id
        if not isinstance(team_id, str):
            raise InvalidRequest("チームの指定が正しくありません。", param="team_id", code="invalid_team")
        user.principal(team_id)  # a team they are not in: 403
    except PayloadTooLarge:
        return _json_error(413, "送信する内容が大きすぎます。ファイルを小さくするか、分けて実行してください。", "request_too_large")
    except GatewayError as error:
        if error.code == "csrf_token_invalid":
            return _json_error(403, "画面の有効期限が切れました。ページを再読み込みしてから、もう一度実行してください。", error.code)
        if error.code == "invalid_json":
            return _json_error(400, "送信した内容を読み取れませんでした。ページを再読み込みしてください。", error.code)
        return _json_error(error.status, _japanese(error.message) or "送信した内容を処理できませんでした。", error.code or "error")
    settings = await run_settings(platform, team_id, app)

    async def stream() -> AsyncIterator[bytes]:
        async with aclosing(_events(request, user, app, inputs, model, declared, team_id)) as events:
            async for event in events:
                if event.kind == "delta":
                    yield _sse(None, {"text": event.data.get("text", "")})
                elif event.kind == "started":
                    yield _sse("started", _started(event.data, settings))
                elif event.kind == "done":
                    yield _sse("done", _done(event.data, settings))
                elif event.kind == "error":
                    yield _sse("error", {"error": describe_error(event.data, settings.display_name)})

    return EventStreamResponse(stream(), headers={"X-Content-Type-Options": "nosniff"})


async def _run_from_form(request: Request, user: WebUser, app: AppDefinition, limit: int) -> Response:
    """A browser without script: run to the end, then the page again with the answer."""
    pairs = await _read_form(request, limit)
    form = dict(pairs)
    try:
        await check_csrf(request, user, form.get("csrf_token"))
    except GatewayError:
        return render_error(request, 403, user=user.profile, heading="画面の有効期限が切れました",
                            message="ページを再読み込みしてから、もう一度実行してください。")
    team_id = form.get("team") or user.default_team_id
    user.principal(team_id)
    settings = await run_settings(_platform(request), team_id, app)
    inputs, shown = _form_inputs(app, pairs)
    model = _model(form.get("model"))
    try:
        declared = _declared(form.get("classification") or settings.default_class)
    except GatewayError:
        declared = settings.default_class
    text: list[str] = []
    started: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    async with aclosing(_events(request, user, app, inputs, model, declared, team_id)) as events:
        async for event in events:
            if event.kind == "delta":
                text.append(event.data.get("text", ""))
            elif event.kind == "started":
                started = _started(event.data, settings)
            elif event.kind == "error":
                error = describe_error(event.data, settings.display_name)
    fields = (error or {}).get("fields") or {}
    result = {"text": "".join(text), "started": started, "error": error}
    if error is not None and not text:
        result["text"] = ""
    context = _page_context(user, app, settings, values=shown, model=model, declared=declared, errors=fields,
                            result=result)
    return render(request, "app.html", context, status_code=400 if fields else 200)


# ----------------------------------------------------------------------------- preview


PREVIEW_FAILED = "実行前の確認ができませんでした。実行はできます。"
# The preview reads a plain form post: files are left out (as the chat leaves out attachments).
FILES_NOT_PREVIEWED = "添付するファイルの内容はこの確認に含まれません。実行するときに、入力と同じように判定します。"


@dataclass(frozen=True, slots=True)
class Draft:
    """An app's form as filled in so far (a form post), for the preview before running."""

    team_id: str
    inputs: dict[str, Any]  # the protocol's inputs (no files)
    shown: dict[str, Any]  # the values to show again
    model: str
    declared: int


async def _read_draft(request: Request, user: WebUser, app: AppDefinition) -> Draft:
    """The posted form, its CSRF token checked (header or field), for a team of the user's."""
    pairs = await _read_form(request, _platform(request).loaded.config.server.max_body_bytes)
    form = dict(pairs)
    await check_csrf(request, user, form.get("csrf_token") or None)
    team_id = form.get("team") or user.default_team_id
    user.principal(team_id)  # a team they are not in: 403
    inputs, shown = _form_inputs(app, pairs)
    return Draft(team_id, inputs, shown, _model(form.get("model")), _declared(form.get("classification") or 1))


def _typed(app: AppDefinition, inputs: Mapping[str, Any]) -> bool:
    """Whether any text field holds something: an untouched form needs no preview."""
    return any(
        isinstance(definition, TextField) and str(inputs.get(key) or "").strip() for key, definition in app.form.items()
    )


async def _preview(request: Request, user: WebUser, app: AppDefinition, draft: Draft) -> dict[str, Any] | None:
    """The preview fragment's view of the draft (None while nothing is typed): the prompt the
    runner would build, asked of the policy with the app's hints (AppRunner.preview)."""
    if not _typed(app, draft.inputs):
        return None
    platform = _platform(request)
    preview = await AppRunner(platform).preview(
        user.principal(draft.team_id), app, draft.inputs, model=draft.model, declared_class=draft.declared
    )
    return preview_view(platform, preview)


def _preview_note(app: AppDefinition) -> str | None:
    return FILES_NOT_PREVIEWED if app.file_fields else None


async def preview_app(request: Request) -> Response:
    """POST /apps/{app_id}/preview (the form, url-encoded): what the policy would do with it.
    From htmx, the fragment alone (chat_preview.html, as the chat's); without script, the
    app's page again with the values kept and the preview shown."""
    htmx = request.headers.get("hx-request") == "true"
    return await (_preview_fragment(request) if htmx else _preview_page(request))


async def _preview_fragment(request: Request) -> Response:
    platform = _platform(request)
    try:
        user = await require_user(request)
        app = _usable(platform, user, request.path_params["app_id"])
        if app is None:
            return preview_fragment(request, {"problem": "このアプリはありません。アプリの一覧から選び直してください。"})
        draft = await _read_draft(request, user, app)
        view = await _preview(request, user, app, draft)
        return preview_fragment(request, {"preview": view, "preview_note": _preview_note(app)})
    except SignInRequired:
        return preview_fragment(request, {"problem": "サインインの有効期限が切れました。ページを再読み込みして、もう一度サインインしてください。"})
    except GatewayError as error:
        return preview_fragment(request, {"problem": _japanese(error.message) or PREVIEW_FAILED})
    except Exception:  # noqa: BLE001 - the page still runs the app
        log.exception("app preview failed")
        return preview_fragment(request, {"problem": PREVIEW_FAILED})


@page
async def _preview_page(request: Request) -> Response:
    """Without script: 「実行前に確認」 posts the form here."""
    user = await require_user(request)
    app = await _app_or_404(request, user)
    if isinstance(app, Response):
        return app
    try:
        draft = await _read_draft(request, user, app)
    except GatewayError as error:
        if error.code != "csrf_token_invalid":
            raise
        return render_error(request, 403, user=user.profile, heading="画面の有効期限が切れました",
                            message="ページを再読み込みしてから、もう一度確認してください。")
    settings = await run_settings(_platform(request), draft.team_id, app)
    view = await _preview(request, user, app, draft)
    context = _page_context(user, app, settings, values=draft.shown, model=draft.model, declared=draft.declared,
                            preview=view)
    return render(request, "app.html", context)


routes = [
    Route("/apps", apps_page, methods=["GET"]),
    Route("/apps/{app_id}", app_page, methods=["GET"]),
    Route("/apps/{app_id}/preview", preview_app, methods=["POST"]),
    Route("/apps/{app_id}/run", run_app, methods=["POST"]),
]

__all__ = ["FORM_ERROR_KEY", "describe_error", "field_view", "preview_app", "routes", "run_settings"]
