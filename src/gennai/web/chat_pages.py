"""The chat page (issue 5): HTTP only; the turn itself is gennai.conversations.chat.ChatService.

    GET  /chat                      a new conversation (?q= searches the titles, ?team= picks a team)
    GET  /chat/{id}                 an existing conversation (its owner only; anyone else: 404)
    POST /chat/preview              what the policy would do with the draft: an htmx fragment
                                    (a full page for a plain form post, without script)
    POST /chat/send                 JSON → text/event-stream of the turn's events (X-CSRF-Token);
                                    a form post (no script) runs the turn and redirects
    POST /chat/{id}/rename          form (csrf_token) → back to the conversation
    POST /chat/{id}/delete          form (csrf_token) → back to /chat
    POST /chat/feedback             JSON (X-CSRF-Token) or form: 役に立った／役に立たなかった + comment

Progressive enhancement (docs/decisions/0016): every action is a form that works without
script; static/js/chat.js streams the answer (stop, regenerate, copy, edit and resend) and
htmx refreshes the preview as the user types. Pages go through `page` (sign-in redirect,
friendly error page); the JSON and SSE endpoints through `api`, which answers every failure as
JSON (`{"error": {...}}`), never a stack trace. A failure after the stream has started is an
SSE event `{"type": "error", "error": {kind, title, message, advice, ...}}`.

Feedback needs the answer's request id, which only the stream's "done" event (or, without
script, the redirect after the answer: ?answered=) carries; stored messages have none, so an
answer can be rated in the page view that produced it. Ownership is checked against the usage
record (gennai.records.feedback).

SSE events (one `data:` JSON object each, `type` first): started (conversation_id, model,
model_label, class, class_name, action), delta (text), done (conversation_id, model,
request_id, tokens_in, tokens_out), error (see above; kind: quota | policy | unavailable |
invalid | internal).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import mimetypes
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial, wraps
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import orjson
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gennai.accounts.keys import Principal
from gennai.accounts.oidc import safe_next_path
from gennai.api.errors import error_response, json_response
from gennai.api.openai_routes import read_json
from gennai.api.streaming import EventStreamResponse
from gennai.conversations.chat import ChatEvent, ChatService, Preview, _error_kind
from gennai.conversations.store import ContentIntegrityError, ConversationNotFound, ConversationSummary
from gennai.gateway.calls import team_policy_for
from gennai.gateway.errors import GatewayError, InvalidRequest, NotFound, PayloadTooLarge, Unauthorized
from gennai.platform import Platform
from gennai.policy.decision import AUTO, CLASS_NAMES, cleared, parse_declared_class, serves
from gennai.policy.pseudonymise import LABELS
from gennai.records.feedback import FeedbackError, InvalidFeedback, RecordNotYetWritten, record_feedback
from gennai.store.tables import COMMON_TEAM_ID, Conversation
from gennai.web.pages import page
from gennai.web.session import SignInRequired, WebUser, check_csrf, current_user, require_user
from gennai.web.templating import render, render_error, render_to_string

log = logging.getLogger("gennai.web.chat")

JST = timezone(timedelta(hours=9))
CLASS_CHOICES = (1, 2)  # what a person declares here; 3 only where the team's default is 3
MAX_TITLE_CHARS = 100
MAX_ATTACHMENTS = 5
ATTACHMENT_TYPES = ".txt,.md,.csv,.pdf,.docx,.xlsx"
FORM_TYPE = "application/x-www-form-urlencoded"
MULTIPART_TYPE = "multipart/form-data"
ORIGIN_NAMES = {"domestic": "国内", "foreign": "海外"}
ITEM_NAMES = {
    **LABELS,
    "MY_NUMBER": "個人番号（マイナンバー）",
    "PERSON": "個人の氏名",
    "CORPORATE_NUMBER": "法人番号",
    "CUSTOM": "登録された用語",
}
ERROR_TITLES = {
    "quota": "利用の上限に達しました",
    "policy": "この内容は選んだモデルに送れません",
    "unavailable": "AIモデルを利用できません",
    "invalid": "送信できませんでした",
    "internal": "システムでエラーが発生しました",
}
PARTIAL_MARK = "〔回答は途中で途切れました〕"
_ATTACHED = re.compile(r"\n*〔添付ファイル「(.+?)」〕\n(.*?)\n〔添付ファイルここまで〕", re.S)
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")
_ENGLISH_HALF = re.compile(r"\s*/ (?=[A-Za-z])")


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


# --------------------------------------------------------------------------- wrappers


def api(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """For JSON and SSE endpoints: every failure is a JSON error, never a redirect or a trace."""

    @wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except SignInRequired:
            return error_response(Unauthorized(
                "サインインしていないか、セッションの有効期限が切れました。ページを再読み込みしてサインインしてください"
                " / Not signed in, or the session has expired",
                code="not_signed_in",
            ))
        except GatewayError as error:
            return error_response(error)
        except ConversationNotFound:
            return error_response(NotFound("会話が見つかりません / conversation not found", code="conversation_not_found"))
        except Exception:  # noqa: BLE001 - never a stack trace to the browser
            log.exception("chat endpoint %s failed", request.url.path)
            return json_response({"error": {
                "message": "システムでエラーが発生しました。しばらくしてからもう一度お試しください / internal error",
                "type": "server_error", "param": None, "code": None,
            }}, 500)

    return wrapped


def chat_page_handler(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """`page` (sign-in redirect, GatewayError → error page, anything unexpected → the 500
    page) plus: someone else's or a deleted conversation → the 404 page, content that does not
    authenticate → the 500 page."""

    @page
    @wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ConversationNotFound:
            user = await current_user(request)
            return render_error(request, 404, user=user and user.profile, heading="会話が見つかりません",
                                message="この会話はないか、削除されたか、あなたの会話ではありません。")
        except ContentIntegrityError:
            log.exception("conversation content did not authenticate")
            user = await current_user(request)
            return render_error(request, 500, user=user and user.profile)

    return wrapped


# --------------------------------------------------------------------------- request bodies


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _is_form(request: Request) -> bool:
    return _content_type(request) in (FORM_TYPE, MULTIPART_TYPE)


def _body_limit(platform: Platform) -> int:
    return int(platform.loaded.config.server.max_body_bytes)


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge("送信内容が大きすぎます / request body too large", code="request_too_large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge("送信内容が大きすぎます / request body too large", code="request_too_large")
    return bytes(body)


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    media_type: str
    data: bytes


@dataclass(slots=True)
class FormData:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[Upload] = field(default_factory=list)

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)


_DISPOSITION_PARAM = re.compile(r';\s*(name|filename)="((?:[^"\\]|\\.)*)"', re.I)


def _multipart(header: str, body: bytes) -> FormData:
    """multipart/form-data as browsers send it (one level, no nested parts)."""
    match = re.search(r'boundary="?([^";]+)"?', header, re.I)
    if match is None:
        raise InvalidRequest("フォームを読めません / the form could not be read", code="invalid_form")
    delimiter = b"--" + match.group(1).encode("latin-1")
    form = FormData()
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.partition(b"\r\n\r\n")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        params = {k.lower(): v for k, v in _DISPOSITION_PARAM.findall(headers.get("content-disposition", ""))}
        name = params.get("name")
        if name is None:
            continue
        if "filename" in params:
            if content and params["filename"]:
                filename = params["filename"].replace("%22", '"').rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
                media = headers.get("content-type") or mimetypes.guess_type(filename)[0] or "application/octet-stream"
                form.files.append(Upload(filename, media.split(";")[0].strip(), content))
            continue
        form.fields.setdefault(name, content.decode("utf-8", "replace"))
    return form


async def _read_form(request: Request, limit: int) -> FormData:
    body = await _read_body(request, limit)
    if _content_type(request) == MULTIPART_TYPE:
        return _multipart(request.headers.get("content-type", ""), body)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("フォームを読めません / the form could not be read", code="invalid_form") from None
    form = FormData()
    for key, value in pairs:
        form.fields.setdefault(key, value)
    return form


def _conversation_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64 or not re.fullmatch(r"[0-9A-Za-z-]+", value):
        raise InvalidRequest("conversation_id が正しくありません / invalid conversation_id", param="conversation_id")
    return value


def _team_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidRequest("team_id が正しくありません / invalid team_id", param="team_id")
    return value


def _model(value: Any) -> str:
    if value is None or value == "":
        return AUTO
    if not isinstance(value, str) or len(value) > 100:
        raise InvalidRequest("model が正しくありません / invalid model", param="model")
    return value


def _text(value: Any, *, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidRequest("text は文字列です / text must be a string", param="text")
    if required and not value.strip():
        raise InvalidRequest("質問を入力してください / text is required", param="text", code="missing_field")
    return value.replace("\r\n", "\n")


def _attachments_json(value: Any) -> list[dict[str, Any]]:
    """Attachments as OpenAI file parts: [{"type": "file", "file": {"filename", "file_data"}}]."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_ATTACHMENTS:
        raise InvalidRequest(f"添付は{MAX_ATTACHMENTS}件までです / at most {MAX_ATTACHMENTS} attachments", param="attachments")
    parts = []
    for index, part in enumerate(value):
        file = part.get("file") if isinstance(part, dict) and part.get("type") == "file" else None
        if not isinstance(file, dict) or not isinstance(file.get("file_data"), str) or not file["file_data"].startswith("data:"):
            raise InvalidRequest(
                "添付は {type: file, file: {filename, file_data: data:…;base64,…}} の形です / "
                "attachments must be file parts with a data: URL",
                param=f"attachments[{index}]",
            )
        clean: dict[str, Any] = {"filename": str(file.get("filename") or "添付ファイル")[:200], "file_data": file["file_data"]}
        if "classification" in file:
            clean["classification"] = file["classification"]
        parts.append({"type": "file", "file": clean})
    return parts


def _attachments_form(files: list[Upload]) -> list[dict[str, Any]]:
    if len(files) > MAX_ATTACHMENTS:
        raise InvalidRequest(f"添付は{MAX_ATTACHMENTS}件までです / at most {MAX_ATTACHMENTS} attachments", param="attachments")
    return [
        {"type": "file", "file": {
            "filename": upload.filename,
            "file_data": f"data:{upload.media_type};base64,{base64.b64encode(upload.data).decode('ascii')}",
        }}
        for upload in files
    ]


# --------------------------------------------------------------------------- domain helpers


@dataclass(frozen=True, slots=True)
class ModelChoice:
    id: str
    name: str
    origin: str  # 国内 / 海外
    clearance: int
    cleared_for: tuple[int, ...]  # classes it may receive (clearance and hosting)

    @property
    def label(self) -> str:
        return f"{self.name}（{self.origin}・{CLASS_NAMES[self.clearance]}まで）"

    def text(self, klass: int) -> str:
        return self.label + ("" if klass in self.cleared_for else f"／{CLASS_NAMES[klass]}には使えません")


@dataclass(frozen=True, slots=True)
class ErrorView:
    kind: str
    title: str
    message: str
    advice: tuple[str, ...] = ()
    retry_after: float | None = None
    partial_kept: bool = False
    status: int = 400

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "title": self.title, "message": self.message, "advice": list(self.advice),
            "retry_after": self.retry_after, "partial_kept": self.partial_kept, "status": self.status,
        }


def japanese(message: str | None) -> str | None:
    """The Japanese part of a "日本語 / English" message (None if it has none)."""
    if not message:
        return None
    first = message.split(" / ")[0].strip()
    return first if _JAPANESE.search(first) else None


def reason_text(reason: str) -> str | None:
    """The Japanese half of a policy reason: "申告 機密性2 / declared 2", and the detector's
    "マイナンバー（検査数字一致）/ My Number with valid check digit" (None if it has none)."""
    return japanese(_ENGLISH_HALF.split(reason, maxsplit=1)[0])


def first_sentence(text: str) -> str:
    end = text.find("。")
    return text[: end + 1] if end >= 0 else text


def found_items(details: Mapping[str, Any] | None) -> list[str]:
    """「個人番号（マイナンバー） 1件」… from a refusal's details["found"] ({kind: count})."""
    found = (details or {}).get("found") or {}
    return [f"{ITEM_NAMES.get(kind, kind)} {count}件" for kind, count in found.items()]


def detail_models(details: Mapping[str, Any] | None, key: str) -> list[str]:
    """The model ids of details[key] ("allowed_models", "tried"), each once, in order."""
    ids = (details or {}).get(key) or []
    return [model_id for model_id in dict.fromkeys(ids) if isinstance(model_id, str)]


def name_model(text: str, details: Mapping[str, Any] | None, name: Callable[[str], str]) -> str:
    """`text` with the refused model's id ("モデル 'x'") replaced by its display name."""
    model_id = (details or {}).get("model")
    if not isinstance(model_id, str):
        return text
    return text.replace(f"モデル '{model_id}'", f"モデル「{name(model_id)}」")


def model_name(platform: Platform, model_id: str | None) -> str:
    if not model_id:
        return "不明"
    model = platform.registry.get(model_id)
    return model.config.display_name or model_id if model is not None else model_id


POLICY_ADVICE = (
    "モデルを「自動」にすると、内容の機密性に合ったモデルが選ばれます。",
    "国内のモデルのうち、この機密性まで扱えるものを選んでください。",
    "個人情報（マイナンバー、氏名、電話番号など）や取扱注意の記載を削除してから送信してください。",
)


def error_view(platform: Platform, kind: str, message: str, *, details: Mapping[str, Any] | None = None,
               status: int = 400, retry_after: float | None = None, partial_kept: bool = False,
               items: bool = True) -> ErrorView:
    """What a person reads about a failed turn: what happened and what to do. `details`: the
    error's GatewayError.details (a refusal's kinds found and allowed models, the models a
    failed call tried); `items`: name the kinds of items found (the preview lists them itself)."""
    ja = japanese(message)
    name = partial(model_name, platform)
    advice: tuple[str, ...]
    if kind == "quota":
        text = ja or "利用の上限に達しました。"
        if retry_after:
            text += f"（約{_duration(retry_after)}後にもう一度送信できます）"
        advice = ("リセットの時刻を過ぎてから、もう一度送信してください。", "上限を変えたい場合は、所属チームの管理者にご相談ください。")
    elif kind == "policy":
        text = name_model(first_sentence(ja), details, name) if ja else "この内容は選んだモデルに送れません。"
        found = found_items(details) if items else []
        if found:
            text += "見つかった項目: " + "、".join(found) + "。"
        allowed = detail_models(details, "allowed_models")
        if allowed:
            text += "この内容を送れるモデル: " + "、".join(map(name, allowed)) + "。"
        advice = POLICY_ADVICE
    elif kind == "unavailable":
        tried = detail_models(details, "tried")
        text = ja or "AIモデルから応答がありませんでした。"
        if tried:
            text += "（試したモデル: " + "、".join(map(name, tried)) + "）"
        if retry_after:
            text += f" 約{_duration(retry_after)}後に利用できる見込みです。"
        advice = ("しばらく待ってから「再生成」するか、もう一度送信してください。", "別のモデルか「自動」を選んで送信してください。")
    elif kind == "internal":
        text = "申し訳ありません。処理の途中で予期しないエラーが発生しました。"
        advice = ("数分待ってから、もう一度お試しください。",)
    else:
        kind = "invalid"
        text = ja or "送信された内容に不足か誤りがありました。"
        advice = ("入力した内容や添付ファイル（形式: テキスト、PDF、Word、Excel）を確認してください。",)
    if partial_kept:
        text += " 途中までの回答は残し、途切れたことを記しています。"
    return ErrorView(kind, ERROR_TITLES[kind], text, advice, retry_after, partial_kept, status)


def _duration(seconds: float) -> str:
    seconds = max(1, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}秒"
    if seconds < 3600:
        return f"{-(-seconds // 60)}分"
    return f"{-(-seconds // 3600)}時間"


def _gateway_error_view(platform: Platform, error: GatewayError) -> ErrorView:
    return error_view(platform, _error_kind(error), error.message, details=error.details, status=error.status,
                      retry_after=error.retry_after)


async def _owned(platform: Platform, conversation_id: str, owner_id: str) -> tuple[str, int]:
    """(team id, class) of the owner's conversation; ConversationNotFound for anyone else."""

    def find() -> tuple[str, int] | None:
        with platform.engine.connect() as connection:
            row = connection.execute(
                select(Conversation.team_id, Conversation.max_class).where(
                    Conversation.id == conversation_id, Conversation.owner_id == owner_id
                )
            ).first()
        return (row[0], int(row[1])) if row is not None else None

    found = await asyncio.to_thread(find)
    if found is None:
        raise ConversationNotFound()
    return found


def _principal(user: WebUser, team_id: str | None, conversation_team: str | None = None) -> Principal:
    """The person in the team asked for; for an existing conversation without one, its team
    while they still belong to it."""
    if team_id is None and conversation_team is not None and (
        conversation_team == COMMON_TEAM_ID or conversation_team in user.team_ids()
    ):
        team_id = conversation_team
    return user.principal(team_id)


async def _team_settings(platform: Platform, team_id: str) -> tuple[int, frozenset[str] | None]:
    """(default class, allowed models or None for all) of a team."""
    policy = await team_policy_for(platform, team_id)
    if policy is None:
        return 1, None
    return policy.default_class, policy.allowed_models


def model_choices(platform: Platform, allowed: frozenset[str] | None) -> list[ModelChoice]:
    """The deployment's chat models the team may use, labelled 国内/海外 and 機密性Nまで."""
    config = platform.policy.config
    choices = []
    for model in platform.registry:
        if not serves(model, ("chat",)) or (allowed is not None and model.id not in allowed):
            continue
        c = model.config
        choices.append(ModelChoice(
            id=c.id, name=c.display_name or c.id, origin=ORIGIN_NAMES.get(c.origin, c.origin), clearance=c.clearance,
            cleared_for=tuple(k for k in (1, 2, 3) if cleared(model, k, config)),
        ))
    return choices


def _search(conversations: list[ConversationSummary], query: str) -> list[ConversationSummary]:
    words = query.casefold().split()
    return [c for c in conversations if all(w in c.title.casefold() for w in words)]


def _when(value: datetime) -> str:
    local = value.astimezone(JST)
    return f"{local.month}月{local.day}日 {local.hour}:{local.minute:02d}"


def _split_question(content: str) -> tuple[str, list[dict[str, str]]]:
    """The typed text and the attachments ({name, text}) of a stored question."""
    attachments = [{"name": m.group(1), "text": m.group(2)} for m in _ATTACHED.finditer(content)]
    return _ATTACHED.sub("", content).strip("\n"), attachments


def rename_conversation(platform: Platform, conversation_id: str, owner_id: str, title: str) -> None:
    """A new title for one's own conversation (blocking)."""
    platform.content.rename(conversation_id, owner_id, title)


# --------------------------------------------------------------------------- the page


@dataclass
class Draft:
    text: str = ""
    model: str = AUTO
    klass: int | None = None
    team_id: str | None = None


async def _page_context(
    request: Request,
    user: WebUser,
    *,
    conversation_id: str | None = None,
    draft: Draft | None = None,
    preview: Preview | None = None,
    error: ErrorView | None = None,
    notice: str | None = None,
    rename_error: str | None = None,
) -> dict[str, Any]:
    platform = _platform(request)
    draft = draft or Draft()
    query = (request.query_params.get("q") or "").strip()[:200]
    conversation = None
    if conversation_id is not None:
        conversation = await asyncio.to_thread(platform.content.read, conversation_id, user.id)
    requested_team = draft.team_id or request.query_params.get("team") or None
    principal = _principal(user, requested_team, conversation.team_id if conversation else None)
    team_id = principal.team_id or COMMON_TEAM_ID
    default_class, allowed = await _team_settings(platform, team_id)
    conversations = await asyncio.to_thread(platform.content.list, user.id)
    listed = _search(conversations, query) if query else conversations
    klass = draft.klass or max(default_class, conversation.max_class if conversation else 1)
    classes = sorted({*CLASS_CHOICES, default_class, klass})
    memberships = {t.team_id: t.display_name or t.name for t in user.profile.teams}
    answered = request.query_params.get("answered")
    messages = []
    if conversation is not None:
        class_name = CLASS_NAMES[conversation.max_class]
        for index, message in enumerate(conversation.messages):
            if message.role == "user":
                text, attached = _split_question(message.content)
                messages.append({"role": "user", "text": text, "attachments": attached})
            elif message.role == "assistant":
                last = index == len(conversation.messages) - 1
                messages.append({
                    "role": "assistant", "text": message.content, "model": model_name(platform, message.model_id),
                    "class_name": class_name, "partial": message.content.endswith(PARTIAL_MARK),
                    "request_id": answered if last and answered and len(answered) <= 40 else None,
                })
    return {
        "user": user.profile,
        "nav_active": "chat",
        "conversation": conversation,
        "title": conversation.title if conversation else "新しい会話",
        "messages": messages,
        "conversations": [
            {"id": c.id, "title": c.title, "class_name": CLASS_NAMES[c.max_class], "when": _when(c.updated_at)}
            for c in listed
        ],
        "total_conversations": len(conversations),
        "query": query,
        "teams": [(t, memberships.get(t, t)) for t in user.team_ids()] if len(user.team_ids()) > 1 else [],
        "team_id": team_id,
        "models": model_choices(platform, allowed),
        "model": draft.model,
        "classes": [(k, CLASS_NAMES[k]) for k in classes],
        "klass": klass,
        "default_class": default_class,
        "draft": draft.text,
        "preview": preview_view(platform, preview) if preview else None,
        "error": error,
        "notice": notice,
        "rename_error": rename_error,
        "attachment_types": ATTACHMENT_TYPES,
        "max_body_bytes": _body_limit(platform),
        "max_attachments": MAX_ATTACHMENTS,
    }


@chat_page_handler
async def chat_page(request: Request) -> Response:
    user = await require_user(request)
    conversation_id = request.path_params.get("conversation_id")
    notice = {
        "deleted": "会話を削除しました。", "renamed": "会話の名前を変更しました。", "feedback": "ご意見ありがとうございました。",
    }.get(request.query_params.get("done") or "")
    context = await _page_context(request, user, conversation_id=conversation_id, notice=notice)
    return render(request, "chat.html", context)


# --------------------------------------------------------------------------- preview


def preview_view(platform: Platform, preview: Preview) -> dict[str, Any]:
    """What the preview fragment shows: the class, the items found (masked) and the outcome."""
    name = CLASS_NAMES[preview.effective_class]
    target = model_name(platform, preview.model) if preview.model else None
    block = None
    if preview.outcome == "block":
        block = error_view(platform, "policy", preview.message, details=preview.details, items=False)
        outcome = block.message
    elif preview.outcome == "reroute":
        outcome = f"{name}のため、選んだモデルではなく「{target}」に送信します。"
    elif preview.outcome == "pseudonymise":
        outcome = f"個人情報を仮の記号に置き換えて「{target}」に送信し、回答では元に戻します。"
    else:
        outcome = f"{name}として「{target}」に送信します。"
    findings = [{"name": ITEM_NAMES.get(f.type, f.type), "preview": f.preview} for f in preview.findings]
    reasons = [r for r in map(reason_text, preview.reasons) if r]
    level = "error" if block else ("warning" if findings or preview.effective_class > 1 or preview.outcome != "send" else "info")
    return {
        "level": level, "class_name": name, "outcome": preview.outcome, "message": outcome, "findings": findings,
        "reasons": reasons[:5], "advice": block.advice if block else (), "model": target,
    }


async def preview_endpoint(request: Request) -> Response:
    htmx = request.headers.get("hx-request") == "true"
    return await (_preview_fragment(request) if htmx else _preview_page(request))


def preview_fragment(request: Request, context: dict[str, Any]) -> HTMLResponse:
    html = render_to_string("chat_preview.html", context, request=request)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


async def _preview_inputs(request: Request, user: WebUser, form: FormData) -> tuple[Principal, Draft, str | None]:
    await check_csrf(request, user, form.get("csrf_token") or None)
    conversation_id = _conversation_id(form.get("conversation_id"))
    draft = Draft(
        text=_text(form.get("text"), required=False), model=_model(form.get("model")),
        klass=parse_declared_class(form.get("class") or None, param="class"), team_id=_team_id(form.get("team_id")),
    )
    conversation_team = None
    if conversation_id is not None:
        conversation_team, _ = await _owned(_platform(request), conversation_id, user.id)
    return _principal(user, draft.team_id, conversation_team), draft, conversation_id


async def _preview_fragment(request: Request) -> Response:
    platform = _platform(request)
    try:
        user = await require_user(request)
        form = await _read_form(request, _body_limit(platform))
        principal, draft, conversation_id = await _preview_inputs(request, user, form)
        if not draft.text.strip():
            return preview_fragment(request, {"preview": None})
        preview = await ChatService(platform).preview(
            principal, draft.text, model=draft.model, declared_class=draft.klass or 1, conversation_id=conversation_id
        )
        return preview_fragment(request, {"preview": preview_view(platform, preview)})
    except SignInRequired:
        return preview_fragment(request, {"problem": "サインインの有効期限が切れました。ページを再読み込みして、もう一度サインインしてください。"})
    except GatewayError as error:
        return preview_fragment(request, {"problem": japanese(error.message) or "送信前の確認ができませんでした。"})
    except ConversationNotFound:
        return preview_fragment(request, {"problem": "この会話が見つかりません。ページを再読み込みしてください。"})
    except Exception:  # noqa: BLE001
        log.exception("chat preview failed")
        return preview_fragment(request, {"problem": "送信前の確認ができませんでした。送信はできます。"})


@chat_page_handler
async def _preview_page(request: Request) -> Response:
    """Without script: the 「送信前に確認」 button posts the form here; the page comes back
    with the draft kept and the preview shown."""
    platform = _platform(request)
    user = await require_user(request)
    form = await _read_form(request, _body_limit(platform))
    principal, draft, conversation_id = await _preview_inputs(request, user, form)
    preview = None
    if draft.text.strip():
        preview = await ChatService(platform).preview(
            principal, draft.text, model=draft.model, declared_class=draft.klass or 1, conversation_id=conversation_id
        )
    context = await _page_context(request, user, conversation_id=conversation_id, draft=draft, preview=preview)
    return render(request, "chat.html", context)


# --------------------------------------------------------------------------- sending


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def _event_payload(platform: Platform, event: ChatEvent) -> dict[str, Any]:
    data = event.data
    if event.kind == "delta":
        return {"type": "delta", "text": data.get("text", "")}
    if event.kind == "started":
        return {
            "type": "started", "conversation_id": data.get("conversation_id"), "model": data.get("model"),
            "model_label": model_name(platform, data.get("model")), "class": data.get("class"),
            "class_name": data.get("class_name"), "action": data.get("action"),
        }
    if event.kind == "done":
        return {"type": "done", **{k: data.get(k) for k in ("conversation_id", "model", "request_id", "tokens_in", "tokens_out")}}
    view = error_view(
        platform, data.get("kind") or "invalid", data.get("message") or "", details=data.get("details"),
        status=int(data.get("status") or 500), retry_after=data.get("retry_after"),
        partial_kept=bool(data.get("partial_kept")),
    )
    return {"type": "error", "error": {**view.to_json(), "conversation_id": data.get("conversation_id")}}


async def _stream(platform: Platform, events: AsyncIterator[ChatEvent]) -> AsyncIterator[bytes]:
    try:
        async for event in events:
            yield _sse(_event_payload(platform, event))
    except Exception:  # noqa: BLE001 - the stream has started: an error event, never a trace
        log.exception("chat stream failed")
        yield _sse({"type": "error", "error": error_view(platform, "internal", "", status=500).to_json()})
    finally:
        await events.aclose()  # a client that went away: ChatService cancels the upstream call


async def send_endpoint(request: Request) -> Response:
    return await (_send_form(request) if _is_form(request) else _send_json(request))


@api
async def _send_json(request: Request) -> Response:
    platform = _platform(request)
    user = await require_user(request)
    await check_csrf(request, user)
    try:
        body = await read_json(request, _body_limit(platform))
    except PayloadTooLarge:
        raise PayloadTooLarge(
            "送信内容が大きすぎます。添付ファイルを小さくするか、分けて送ってください / request body too large",
            code="request_too_large",
        ) from None
    text = _text(body.get("text"))
    conversation_id = _conversation_id(body.get("conversation_id"))
    model = _model(body.get("model"))
    declared = parse_declared_class(body.get("class"), param="class")
    attachments = _attachments_json(body.get("attachments"))
    conversation_team = (await _owned(platform, conversation_id, user.id))[0] if conversation_id else None
    principal = _principal(user, _team_id(body.get("team_id")), conversation_team)
    events = ChatService(platform).send(
        principal, text, conversation_id=conversation_id, model=model, declared_class=declared,
        attachments=attachments or None,
    )
    return EventStreamResponse(_stream(platform, events))  # type: ignore[arg-type]


@chat_page_handler
async def _send_form(request: Request) -> Response:
    """Without script: run the whole turn, then show the conversation (or the page with the
    error and the draft kept)."""
    platform = _platform(request)
    user = await require_user(request)
    form = await _read_form(request, _body_limit(platform))
    await check_csrf(request, user, form.get("csrf_token") or None)
    conversation_id = _conversation_id(form.get("conversation_id"))
    draft = Draft(
        text=_text(form.get("text"), required=False), model=_model(form.get("model")),
        klass=parse_declared_class(form.get("class") or None, param="class"), team_id=_team_id(form.get("team_id")),
    )
    conversation_team = (await _owned(platform, conversation_id, user.id))[0] if conversation_id else None
    if not draft.text.strip():
        view = error_view(platform, "invalid", "質問を入力してください。")
        context = await _page_context(request, user, conversation_id=conversation_id, draft=draft, error=view)
        return render(request, "chat.html", context, status_code=400)
    try:
        attachments = _attachments_form(form.files)
    except GatewayError as error:
        context = await _page_context(request, user, conversation_id=conversation_id, draft=draft,
                                      error=_gateway_error_view(platform, error))
        return render(request, "chat.html", context, status_code=error.status)
    principal = _principal(user, draft.team_id, conversation_team)
    done: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None
    events = ChatService(platform).send(
        principal, draft.text, conversation_id=conversation_id, model=draft.model, declared_class=draft.klass or 1,
        attachments=attachments or None,
    )
    try:
        async for event in events:
            if event.kind in ("started", "done", "error"):
                conversation_id = event.data.get("conversation_id") or conversation_id
            if event.kind == "done":
                done = event.data
            elif event.kind == "error":
                failure = event.data
    finally:
        await events.aclose()
    if done is not None and conversation_id:
        query = urlencode({"answered": done.get("request_id") or ""})
        return RedirectResponse(f"/chat/{quote(conversation_id)}?{query}#answer-last", status_code=303)
    data = failure or {}
    view = error_view(
        platform, data.get("kind") or "internal", data.get("message") or "", details=data.get("details"),
        status=int(data.get("status") or 500), retry_after=data.get("retry_after"),
        partial_kept=bool(data.get("partial_kept")),
    )
    if data.get("partial_kept"):
        draft.text = ""
    context = await _page_context(request, user, conversation_id=conversation_id, draft=draft, error=view)
    headers = {"Retry-After": str(max(1, int(round(view.retry_after))))} if view.retry_after else None
    return render(request, "chat.html", context, status_code=view.status, headers=headers)


# --------------------------------------------------------------------------- rename, delete


@chat_page_handler
async def rename_endpoint(request: Request) -> Response:
    platform = _platform(request)
    user = await require_user(request)
    conversation_id = _conversation_id(request.path_params["conversation_id"]) or ""
    form = await _read_form(request, 64 * 1024)
    await check_csrf(request, user, form.get("csrf_token") or None)
    title = " ".join(form.get("title").split())
    if not title or len(title) > MAX_TITLE_CHARS:
        message = "名前を入力してください。" if not title else f"名前は{MAX_TITLE_CHARS}文字以内にしてください。"
        context = await _page_context(request, user, conversation_id=conversation_id, rename_error=message)
        return render(request, "chat.html", context, status_code=400)
    await asyncio.to_thread(rename_conversation, platform, conversation_id, user.id, title)
    return RedirectResponse(f"/chat/{quote(conversation_id)}?done=renamed", status_code=303)


@chat_page_handler
async def delete_endpoint(request: Request) -> Response:
    platform = _platform(request)
    user = await require_user(request)
    conversation_id = _conversation_id(request.path_params["conversation_id"]) or ""
    form = await _read_form(request, 64 * 1024)
    await check_csrf(request, user, form.get("csrf_token") or None)
    await asyncio.to_thread(platform.content.delete, conversation_id, user.id)
    return RedirectResponse("/chat?done=deleted", status_code=303)


# --------------------------------------------------------------------------- feedback


async def give_feedback(platform: Platform, request_id: str, user_id: str, rating: str, comment: str | None) -> None:
    """record_feedback, waiting briefly for the usage record: it is written in batches, by
    this worker (flushed now) or another one (within its flush interval)."""
    interval = float(platform.loaded.config.records.flush_interval_s)
    deadline = asyncio.get_running_loop().time() + min(5.0, max(1.0, 3 * interval))
    flushed = False
    while True:
        try:
            await asyncio.to_thread(record_feedback, platform.engine, request_id, user_id, rating, comment)
            return
        except RecordNotYetWritten:
            if not flushed:
                flushed = True
                await asyncio.to_thread(platform.usage.flush)
                continue
            if asyncio.get_running_loop().time() >= deadline:
                raise
            await asyncio.sleep(min(0.2, interval))


def _feedback_error(error: FeedbackError) -> GatewayError:
    if isinstance(error, InvalidFeedback):
        return InvalidRequest(str(error), param="comment" if "コメント" in str(error) else "rating", code="invalid_feedback")
    return NotFound("この回答は見つかりません / no such answer of yours", param="request_id", code="request_not_found")


async def feedback_endpoint(request: Request) -> Response:
    return await (_feedback_form(request) if _is_form(request) else _feedback_json(request))


@api
async def _feedback_json(request: Request) -> Response:
    platform = _platform(request)
    user = await require_user(request)
    await check_csrf(request, user)
    body = await read_json(request, 16 * 1024)
    request_id = body.get("request_id")
    if not isinstance(request_id, str):
        raise InvalidRequest("request_id は必須です / request_id is required", param="request_id")
    try:
        await give_feedback(platform, request_id, user.id, body.get("rating"), body.get("comment"))  # type: ignore[arg-type]
    except FeedbackError as error:
        raise _feedback_error(error) from None
    return json_response({"ok": True, "request_id": request_id, "rating": body.get("rating")}, 200, {"Cache-Control": "no-store"})


@chat_page_handler
async def _feedback_form(request: Request) -> Response:
    platform = _platform(request)
    user = await require_user(request)
    form = await _read_form(request, 16 * 1024)
    await check_csrf(request, user, form.get("csrf_token") or None)
    back = safe_next_path(form.get("back") or "") or "/chat"
    back = back.split("?")[0].split("#")[0]
    try:
        await give_feedback(platform, form.get("request_id"), user.id, form.get("rating"), form.get("comment"))
    except FeedbackError as error:
        raise _feedback_error(error) from None
    return RedirectResponse(f"{back}?done=feedback", status_code=303)


routes: list[BaseRoute] = [
    Route("/chat", chat_page, methods=["GET"]),
    Route("/chat/preview", preview_endpoint, methods=["POST"]),
    Route("/chat/send", send_endpoint, methods=["POST"]),
    Route("/chat/feedback", feedback_endpoint, methods=["POST"]),
    Route("/chat/{conversation_id}", chat_page, methods=["GET"]),
    Route("/chat/{conversation_id}/rename", rename_endpoint, methods=["POST"]),
    Route("/chat/{conversation_id}/delete", delete_endpoint, methods=["POST"]),
]

__all__ = [
    "ErrorView", "ModelChoice", "detail_models", "error_view", "first_sentence", "found_items", "give_feedback", "japanese",
    "model_choices", "model_name", "name_model", "preview_fragment", "preview_view", "reason_text", "rename_conversation",
    "routes",
]
