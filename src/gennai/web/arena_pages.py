"""The arena in the web interface (gennai.evaluation.arena): HTTP and HTML only.

    GET  /arena                    the question form (?team= picks a team)
    POST /arena                    form (csrf_token): two anonymous answers, 回答A and 回答B, and
                                   the vote buttons; the page waits for both answers
    POST /arena/preview            what would happen to the question (class, items found,
                                   how many models could answer): an htmx fragment refreshed as
                                   the person types, or (without script) the page again
    POST /arena/{id}/vote          form (csrf_token, winner): htmx swaps the vote panel for the
                                   revealed models; without script → 303 to /arena/{id}
    GET  /arena/{id}               one's own comparison after the vote: the models revealed
    GET  /manage/arena             the leaderboard, for evaluators and system administrators
                                   (permission `arena.read`)

Forms work without script and carry the session's CSRF token (`csrf_token`, or the
X-CSRF-Token header htmx adds). Errors are Japanese, shown on the page (the question kept) or
as the friendly error page; never a stack trace. The question and the answers are not stored:
once the page is left, only the models and the vote remain.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from gennai.accounts.keys import Principal
from gennai.evaluation.arena import (
    MIN_VOTES,
    OVERLAP_NOTE,
    WINNER_NAMES,
    WINNERS,
    ArenaPreview,
    ArenaService,
    Battle,
    Reveal,
    leaderboard_from_votes,
)
from gennai.gateway.calls import team_policy_for
from gennai.gateway.errors import Forbidden, GatewayError, InvalidRequest
from gennai.platform import Platform
from gennai.policy.decision import CLASS_NAMES, parse_declared_class
from gennai.store.tables import COMMON_TEAM_ID
from gennai.web import manage_pages
from gennai.web.chat_pages import ITEM_NAMES, japanese, model_name, reason_text
from gennai.web.pages import page
from gennai.web.session import SignInRequired, WebUser, check_csrf, require_user
from gennai.web.templating import render, render_to_string

log = logging.getLogger("gennai.web.arena")

CLASS_CHOICES = (1, 2)  # what a person declares here; 3 only where the team's default is 3
CSRF_MESSAGE = "フォームの有効期限が切れたか、正しくない送信です。ページを読み込み直してからもう一度お試しください。"
ERROR_TITLES = {
    "arena_not_enough_models": "この内容では比較できません",
    "arena_model_not_eligible": "この内容では比較できません",
    "arena_quota": "利用の上限に達しました",
    "arena_answer_failed": "回答を得られませんでした",
}


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


async def _form(request: Request, user: WebUser) -> manage_pages.Form:
    form = await manage_pages.read_form(request)
    try:
        await check_csrf(request, user, form.get("csrf_token") or None)
    except Forbidden:
        raise Forbidden(CSRF_MESSAGE + " / missing or wrong CSRF token", code="csrf_token_invalid") from None
    return form


def _principal(user: WebUser, team: str) -> Principal:
    return user.principal(team.strip()[:64] or None)


def may_read_leaderboard(user: WebUser) -> bool:
    """Evaluators and system administrators (the `arena.read` row of the permission table)."""
    return bool(user.profile.is_system_admin) or "evaluator" in (user.profile.roles or ())


# --------------------------------------------------------------------------- the page


async def _context(
    request: Request,
    user: WebUser,
    *,
    team: str = "",
    text: str = "",
    klass: int | None = None,
    preview: ArenaPreview | None = None,
    battle: Battle | None = None,
    error: GatewayError | None = None,
) -> dict[str, Any]:
    platform = _platform(request)
    principal = _principal(user, team or request.query_params.get("team") or "")
    team_id = principal.team_id or COMMON_TEAM_ID
    policy = await team_policy_for(platform, team_id)
    default_class = policy.default_class if policy is not None else 1
    klass = klass or default_class
    memberships = {t.team_id: t.display_name or t.name for t in user.profile.teams}
    return {
        "user": user.profile,
        "nav_active": "arena",
        "teams": [(t, memberships.get(t, t)) for t in user.team_ids()] if len(user.team_ids()) > 1 else [],
        "team_id": team_id,
        "classes": [(k, CLASS_NAMES[k]) for k in sorted({*CLASS_CHOICES, default_class, klass})],
        "klass": klass,
        "default_class": default_class,
        "draft": text,
        "preview": preview_view(preview) if preview is not None else None,
        "battle": battle,
        "reveal": None,
        "winners": [(w, WINNER_NAMES[w]) for w in WINNERS],
        "error": error_view(error) if error is not None else None,
        "can_read_leaderboard": may_read_leaderboard(user),
    }


def error_view(error: GatewayError) -> dict[str, str]:
    title = ERROR_TITLES.get(error.code or "", "比較できませんでした")
    return {"title": title, "message": japanese(error.message) or "比較できませんでした。入力内容を確認してください。"}


def preview_view(preview: ArenaPreview) -> dict[str, Any]:
    level = "error" if not preview.ok else ("warning" if preview.findings or preview.effective_class > 1 else "info")
    reasons = [r for r in map(reason_text, preview.reasons) if r]
    return {
        "level": level,
        "ok": preview.ok,
        "class_name": CLASS_NAMES[preview.effective_class],
        "message": preview.message,
        "findings": [{"name": ITEM_NAMES.get(kind, kind), "preview": masked} for kind, masked in preview.findings],
        "reasons": reasons[:5],
    }


def reveal_view(platform: Platform, reveal: Reveal) -> dict[str, str]:
    return {
        "id": reveal.id,
        "winner": WINNER_NAMES[reveal.winner],
        "model_a": model_name(platform, reveal.model_a),
        "model_b": model_name(platform, reveal.model_b),
    }


@page
async def arena_form(request: Request) -> Response:
    user = await require_user(request)
    return render(request, "arena.html", await _context(request, user))


@page
async def arena_start(request: Request) -> Response:
    """Without waiting on script: the whole comparison, then the page with both answers (or
    the error, with the question kept)."""
    platform = _platform(request)
    user = await require_user(request)
    form = await _form(request, user)
    team, text = form.get("team"), form.get("text").replace("\r\n", "\n")
    klass = parse_declared_class(form.get("classification") or None, param="classification")
    principal = _principal(user, team)
    try:
        battle = await ArenaService(platform).start(principal, text, klass)
    except GatewayError as error:  # shown on the page, the question kept
        context = await _context(request, user, team=team, text=text, klass=klass, error=error)
        headers = {"Retry-After": str(max(1, int(round(error.retry_after))))} if error.retry_after else None
        return render(request, "arena.html", context, status_code=error.status, headers=headers)
    context = await _context(request, user, team=team, text="", klass=klass, battle=battle)
    return render(request, "arena.html", context)


async def arena_preview(request: Request) -> Response:
    htmx = request.headers.get("hx-request") == "true"
    return await (_preview_fragment(request) if htmx else _preview_page(request))


def _fragment(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    html = render_to_string(template, context, request=request)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


async def _preview_fragment(request: Request) -> Response:
    platform = _platform(request)
    try:
        user = await require_user(request)
        form = await _form(request, user)
        text = form.get("text")
        if not text.strip():
            return _fragment(request, "arena_preview.html", {"preview": None})
        klass = parse_declared_class(form.get("classification") or None, param="classification")
        preview = await ArenaService(platform).preview(_principal(user, form.get("team")), text, klass)
        return _fragment(request, "arena_preview.html", {"preview": preview_view(preview)})
    except SignInRequired:
        return _fragment(request, "arena_preview.html",
                         {"problem": "サインインの有効期限が切れました。ページを再読み込みして、もう一度サインインしてください。"})
    except GatewayError as error:
        return _fragment(request, "arena_preview.html", {"problem": japanese(error.message) or "送信前の確認ができませんでした。"})
    except Exception:  # noqa: BLE001
        log.exception("arena preview failed")
        return _fragment(request, "arena_preview.html", {"problem": "送信前の確認ができませんでした。送信はできます。"})


@page
async def _preview_page(request: Request) -> Response:
    platform = _platform(request)
    user = await require_user(request)
    form = await _form(request, user)
    team, text = form.get("team"), form.get("text").replace("\r\n", "\n")
    klass = parse_declared_class(form.get("classification") or None, param="classification")
    preview = None
    if text.strip():
        preview = await ArenaService(platform).preview(_principal(user, team), text, klass)
    context = await _context(request, user, team=team, text=text, klass=klass, preview=preview)
    return render(request, "arena.html", context)


# --------------------------------------------------------------------------- the vote


async def arena_vote(request: Request) -> Response:
    htmx = request.headers.get("hx-request") == "true"
    return await (_vote_fragment(request) if htmx else _vote_form(request))


async def _vote(request: Request, user: WebUser) -> Reveal:
    form = await _form(request, user)
    winner = form.get("winner")
    if winner not in WINNERS:
        raise InvalidRequest("どちらの回答が良かったかを選んでください / choose a, b, tie or both_bad", param="winner")
    return await ArenaService(_platform(request)).vote(user.principal(), request.path_params["battle_id"], winner)


async def _vote_fragment(request: Request) -> Response:
    battle_id = request.path_params["battle_id"]
    context: dict[str, Any] = {"battle_id": battle_id, "winners": [(w, WINNER_NAMES[w]) for w in WINNERS]}
    try:
        user = await require_user(request)
        reveal = await _vote(request, user)
        context["reveal"] = reveal_view(_platform(request), reveal)
        context["can_read_leaderboard"] = may_read_leaderboard(user)
        return _fragment(request, "arena_vote.html", context)
    except SignInRequired:
        context["problem"] = "サインインの有効期限が切れました。ページを再読み込みして、もう一度サインインしてください。"
        return _fragment(request, "arena_vote.html", context, 401)
    except GatewayError as error:
        context["problem"] = japanese(error.message) or "投票できませんでした。"
        return _fragment(request, "arena_vote.html", context, error.status)
    except Exception:  # noqa: BLE001
        log.exception("arena vote failed")
        context["problem"] = "投票できませんでした。しばらくしてからもう一度お試しください。"
        return _fragment(request, "arena_vote.html", context, 500)


@page
async def _vote_form(request: Request) -> Response:
    user = await require_user(request)
    reveal = await _vote(request, user)
    return RedirectResponse(f"/arena/{reveal.id}", status_code=303)


@page
async def arena_result(request: Request) -> Response:
    platform = _platform(request)
    user = await require_user(request)
    reveal = await asyncio.to_thread(ArenaService(platform).result, user.principal(), request.path_params["battle_id"])
    context = await _context(request, user)
    context["reveal"] = reveal_view(platform, reveal) if reveal is not None else None
    context["unvoted"] = reveal is None
    return render(request, "arena.html", context)


# --------------------------------------------------------------------------- the leaderboard


@page
async def leaderboard_page(request: Request) -> Response:
    visit = await manage_pages._visit(request, "arena.read")  # noqa: SLF001 - the 管理 pages' own check
    text = request.query_params.get("min_votes") or str(MIN_VOTES)
    min_votes = int(text) if text.isdigit() and 1 <= int(text) <= 1_000_000 else MIN_VOTES
    votes = await asyncio.to_thread(ArenaService(visit.platform).votes)
    rows = await asyncio.to_thread(leaderboard_from_votes, votes, min_votes=min_votes)
    nav = [*manage_pages._nav(visit), {"key": "arena", "label": "アリーナ", "href": "/manage/arena"}]  # noqa: SLF001
    return manage_pages._render(visit, "manage/arena.html", {  # noqa: SLF001
        "manage_nav": nav,
        "rows": [
            {**row.to_json(), "name": model_name(visit.platform, row.model)}
            for row in rows
        ],
        "total_votes": len(votes),
        "min_votes": min_votes,
        "note": OVERLAP_NOTE,
    }, active="arena")


routes = [
    Route("/arena", arena_form, methods=["GET"]),
    Route("/arena", arena_start, methods=["POST"]),
    Route("/arena/preview", arena_preview, methods=["POST"]),
    Route("/arena/{battle_id}", arena_result, methods=["GET"]),
    Route("/arena/{battle_id}/vote", arena_vote, methods=["POST"]),
    Route("/manage/arena", leaderboard_page, methods=["GET"]),
]

__all__ = ["routes"]
