"""A small local web app for blind human grading during the grading window.

    GET  /g/{token}                  the grader's next task (or the finished page)
    GET  /g/{token}/t/{task_id}      one task: an open one, or one the grader marked (to revise)
    POST /g/{token}/t/{task_id}      form (csrf, score_N, comment_N) → 303 to /g/{token}

`graders` maps a secret token → grader name; the token is the grader's only credential, so
pages send `Referrer-Policy: no-referrer` and `Cache-Control: no-store`. Graders see answers by
their anonymised labels only: the views handed to templates carry no model id. Items live in
memory (decrypted by the caller) and are never written to disk; grades go to
`grading/grades.jsonl` through `grading.submit_grades`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from gennai.evaluation import grading
from gennai.evaluation.grading import COMMENT_MAX_CHARS, RUBRIC, RUBRIC_ADJUSTMENTS, RUBRIC_FLOOR, SCORES, GradingTask
from gennai.evaluation.items import Item

__all__ = ["FORM_LIMIT_BYTES", "create_grading_app", "new_token"]

TEMPLATES = Path(__file__).parent / "templates"
FORM_LIMIT_BYTES = 64 * 1024
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,200}")

_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

_NOTICES = {
    "saved": "採点を保存しました。",
    "full": "この課題は、ほかの2人の採点者が先に採点を終えたため、記録しませんでした。次の課題に進んでください。",
}

_ERRORS = {
    400: ("送信内容を読み取れません", "送信された内容を読み取れませんでした。ページを開き直して、もう一度送信してください。"),
    403: ("送信を受け付けられません", "このフォームからの送信であることを確認できませんでした。ページを開き直して、もう一度送信してください。"),
    404: ("ページが見つかりません", "URLが正しいか確認してください。採点用のURLは評価担当者から受け取ったものをそのまま開いてください。"),
    405: ("この操作はできません", "このページではこの操作はできません。"),
    413: ("送信内容が大きすぎます", f"コメントは1件あたり{COMMENT_MAX_CHARS}文字以内にしてください。"),
    500: ("エラーが発生しました", "採点は保存されていない可能性があります。時間をおいてページを開き直してください。"),
}


def new_token() -> str:
    """A fresh secret token for one grader's URL."""
    return secrets.token_urlsafe(24)


# --------------------------------------------------------------------------------------------
# Views (what templates see: labels and texts, never a candidate's model id)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionView:
    item_id: str
    system: str | None
    messages: tuple[str, ...]
    reference: str | None
    eval_aspect: str | None


@dataclass(frozen=True)
class AnswerView:
    index: int  # 1-based, names the form fields score_N and comment_N
    label: str
    earlier: tuple[tuple[str, str], ...]  # (user, assistant) turns before the graded answer
    text: str | None  # the graded (last) answer; None when there is none
    note: str | None
    score: str
    comment: str
    score_error: str | None = None
    comment_error: str | None = None


def _question(item: Item) -> QuestionView:
    return QuestionView(item.id, item.system, item.messages, item.reference, item.eval_aspect)


def _answer_view(index: int, label: str, item: Item, answer: grading.TranscriptAnswer | None,
                 score: str, comment: str, score_error: str | None = None,
                 comment_error: str | None = None) -> AnswerView:
    messages = item.messages
    answers = answer.answers if answer is not None else ()
    note = None
    if answer is None or not answers:
        note = "この回答は記録されていません。"
    elif answer.status != "ok" or len(answers) < len(messages):
        note = "この回答は最後まで得られませんでした（途中で終わっています）。"
    text = answers[-1] if answers else None
    earlier = tuple((messages[i], answers[i]) for i in range(min(len(messages), len(answers)) - 1))
    return AnswerView(index, label, earlier, text, note, score, comment, score_error, comment_error)


# --------------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------------


def _validated_graders(graders: Mapping[str, str]) -> dict[str, str]:
    names = list(graders.values())
    if len(set(names)) != len(names):
        raise ValueError("two tokens name the same grader")
    for token, name in graders.items():
        if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
            raise ValueError("a grader's token is 16-200 URL-safe characters (use new_token())")
        grading.check_grader_name(name)
    return dict(graders)


def create_grading_app(
    run_dir: str | os.PathLike[str], items: Mapping[str, Item], graders: Mapping[str, str]
) -> Starlette:
    """The grading web app for one run. `items` maps item id → Item (decrypted in memory),
    `graders` maps secret token → grader name; each grader opens `/g/<token>`."""
    root = Path(run_dir)
    tokens = _validated_graders(graders)
    form_key = secrets.token_bytes(32)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )

    def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("grader", None)
        html = env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers=_HEADERS)

    def grader_for(token: str) -> str:
        found = None
        for known, name in tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = name
        if found is None:
            raise HTTPException(404)
        return found

    def form_secret(token: str, task_id: str) -> str:
        return hmac.new(form_key, f"{token}\0{task_id}".encode(), hashlib.sha256).hexdigest()

    def gradable(grader: str) -> tuple[list[GradingTask], list[GradingTask]]:
        """(open tasks for this grader, tasks they marked), limited to items this app holds."""
        todo = [t for t in grading.assignments(root, grader) if t.item_id in items]
        done = [t for t in grading.graded_by(root, grader) if t.item_id in items]
        return todo, done

    def task_page(token: str, grader: str, task: GradingTask, *, status: int = 200,
                  values: Mapping[str, tuple[str, str]] | None = None,
                  errors: Mapping[str, str] | None = None, notice: str | None = None,
                  previous: str | None = None) -> HTMLResponse:
        item = items[task.item_id]
        todo, done = gradable(grader)
        revising = any(t.task_id == task.task_id for t in done)
        if values is None:
            marks = grading.grader_marks(root, task.task_id, grader)
            values = {label: (str(marks[label].score), marks[label].comment) if label in marks else ("", "")
                      for label in task.shown}
        errors = errors or {}
        answers = []
        for index, label in enumerate(task.shown, 1):
            transcript = grading.read_answers(root, task.candidate_of(label)).get(task.item_id)
            score, comment = values.get(label, ("", ""))
            answers.append(_answer_view(index, label, item, transcript, score, comment,
                                        errors.get(f"score_{index}"), errors.get(f"comment_{index}")))
        position = ([t.task_id for t in done].index(task.task_id) + 1) if revising else len(done) + 1
        return render(
            "grading.html", status,
            grader=grader, question=_question(item), answers=answers, task_id=task.task_id,
            action=f"/g/{quote(token, safe='')}/t/{quote(task.task_id, safe='')}",
            home=f"/g/{quote(token, safe='')}", csrf=form_secret(token, task.task_id),
            position=position, total=len(done) + len(todo), revising=revising,
            rubric=RUBRIC, adjustments=RUBRIC_ADJUSTMENTS, floor=RUBRIC_FLOOR, scores=SCORES,
            comment_max=COMMENT_MAX_CHARS, notice=notice, previous=previous,
            errors=[(f"{key}-1" if key.startswith("score_") else key, message) for key, message in errors.items()],
        )

    async def next_task(request: Request) -> Response:
        token = request.path_params["token"]
        grader = grader_for(token)
        todo, done = gradable(grader)
        notice = _NOTICES.get(request.query_params.get("notice", ""))
        previous_id = request.query_params.get("prev", "")
        previous = (f"/g/{quote(token, safe='')}/t/{quote(previous_id, safe='')}"
                    if any(t.task_id == previous_id for t in done) else None)
        if not todo:
            home = f"/g/{quote(token, safe='')}"
            graded = [(n, t.item_id, f"{home}/t/{quote(t.task_id, safe='')}") for n, t in enumerate(done, 1)]
            return render("grading_done.html", grader=grader, graded=graded, notice=notice)
        return task_page(token, grader, todo[0], notice=notice, previous=previous)

    def find_task(grader: str, task_id: str) -> GradingTask:
        """The task if it is open to the grader or theirs to revise; else 404."""
        todo, done = gradable(grader)
        for task in (*done, *todo):
            if task.task_id == task_id:
                return task
        raise HTTPException(404)

    async def one_task(request: Request) -> Response:
        token = request.path_params["token"]
        grader = grader_for(token)
        task_id = request.path_params["task_id"]
        if request.method == "GET":
            task = find_task(grader, task_id)
            return task_page(token, grader, task)
        return await submit(request, token, grader, task_id)

    async def submit(request: Request, token: str, grader: str, task_id: str) -> Response:
        home = f"/g/{quote(token, safe='')}"
        if not _same_origin(request):
            raise HTTPException(403)
        pairs = await _read_form(request)
        form: dict[str, str] = {}
        for key, value in pairs:
            form.setdefault(key, value)
        if not hmac.compare_digest(form.get("csrf", "").encode(), form_secret(token, task_id).encode()):
            raise HTTPException(403)
        task = next((t for t in grading.load_queue(root) if t.task_id == task_id and t.item_id in items), None)
        if task is None:
            raise HTTPException(404)
        try:
            find_task(grader, task_id)
        except HTTPException:
            return RedirectResponse(f"{home}?notice=full", status_code=303, headers=_HEADERS)
        marks, values, errors = _parse_marks(task, form)
        if errors:
            return task_page(token, grader, task, status=400, values=values, errors=errors)
        try:
            grading.submit_grades(root, task.task_id, grader, marks)
        except grading.TaskFull:
            return RedirectResponse(f"{home}?notice=full", status_code=303, headers=_HEADERS)
        return RedirectResponse(f"{home}?notice=saved&prev={quote(task.task_id, safe='')}", status_code=303,
                                headers=_HEADERS)

    async def index(request: Request) -> Response:
        raise HTTPException(404)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        title, message = _ERRORS.get(status, _ERRORS[500] if status >= 500 else _ERRORS[400])
        return render("grading_error.html", status, title=title, message=message)

    async def server_error(request: Request, exc: Exception) -> Response:
        title, message = _ERRORS[500]
        return render("grading_error.html", 500, title=title, message=message)

    return Starlette(
        debug=False,
        routes=[
            Route("/", index),
            Route("/g/{token}", next_task, methods=["GET"]),
            Route("/g/{token}/t/{task_id}", one_task, methods=["GET", "POST"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )


def _same_origin(request: Request) -> bool:
    """A browser's cross-site POST names another origin (Origin) or says cross-site
    (Sec-Fetch-Site); requests without those headers rely on the form secret alone."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        # with Referrer-Policy: no-referrer, Chromium sends Origin: null even for the page's own
        # form; the browser's Sec-Fetch-Site then tells same-origin from cross-site
        return request.headers.get("sec-fetch-site") == "same-origin"
    return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


async def _read_form(request: Request) -> list[tuple[str, str]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise HTTPException(400)
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > FORM_LIMIT_BYTES:
        raise HTTPException(413)
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > FORM_LIMIT_BYTES:
            raise HTTPException(413)
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400) from None


def _parse_marks(
    task: GradingTask, form: Mapping[str, str]
) -> tuple[list[grading.Mark], dict[str, tuple[str, str]], dict[str, str]]:
    """(marks, the values as entered, errors keyed by field name) from the submitted form."""
    marks: list[grading.Mark] = []
    values: dict[str, tuple[str, str]] = {}
    errors: dict[str, str] = {}
    allowed = {str(s) for s in SCORES}
    for index, label in enumerate(task.shown, 1):
        raw_score = form.get(f"score_{index}", "").strip()
        comment = form.get(f"comment_{index}", "").replace("\r\n", "\n").strip()
        values[label] = (raw_score if raw_score in allowed else "", comment)
        if not raw_score:
            errors[f"score_{index}"] = f"{label}の点数を選んでください。"
        elif raw_score not in allowed:
            errors[f"score_{index}"] = f"{label}の点数は1〜5の整数から選んでください。"
        if len(comment) > COMMENT_MAX_CHARS:
            errors[f"comment_{index}"] = f"{label}のコメントは{COMMENT_MAX_CHARS}文字以内で入力してください（現在{len(comment)}文字）。"
        if f"score_{index}" not in errors and f"comment_{index}" not in errors:
            marks.append(grading.Mark(label, int(raw_score), comment))
    return marks, values, errors
