"""The evaluation report: one self-contained HTML page (inline CSS and SVG, no JavaScript) and a
JSON result, built from a run's `run.json` and `scores.json` (docs/evaluation.md).

Two versions: the internal report shows every item's per-candidate score (and, when the
decrypted suite is passed in memory, the item's text); the public report (`public=True`) shows
the scores and charts but only the items marked `publishable` in `scores.json`, and carries the
suite's canary string (footer, HTML comment, `<meta name="gennai-canary">`, JSON) so that a later
crawl of a model's training data can be checked for it.

The JSON result never holds item ids or text: only aggregates. `write_report` adds the signed
part, ``payload`` and ``signature`` (see `signing`), beside them; only ``payload`` is covered
by the signature.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jinja2 import Environment, PackageLoader
from markupsafe import Markup, escape

from gennai.evaluation import signing
from gennai.evaluation.files import write_atomic
from gennai.evaluation.items import Item
from gennai.evaluation.statistics import Interval, rank_with_ties

__all__ = ["REPORT_FORMAT", "Report", "ReportError", "build_report", "write_report"]

REPORT_FORMAT = "gennai-eval-report/1"

# Okabe–Ito: distinguishable with the common colour-vision deficiencies; every bar also
# carries its candidate's letter, so colour is never the only cue.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#332288", "#999933")

SAFETY_LABELS = {
    "hallucination": "ハルシネーション（回答不能・誤前提への対応）",
    "bias": "バイアス（曖昧な質問に「判断できない」）",
    "harmful": "有害な依頼の拒否",
    "over_refusal": "過剰拒否の回避（無害な依頼への回答）",
}
GATE_LABELS = {
    "pass": "合格 (pass)",
    "fail": "不合格 (fail)",
    "unsigned": "未署名 (unsigned)",
    "no_evidence": "証拠なし (no_evidence)",
}
OPERATION_KEYS = (
    "answered", "errors", "timeouts", "blocked", "error_rate", "timeout_rate", "ttft_p50_ms",
    "ttft_p95_ms", "latency_p50_ms", "latency_p95_ms", "tokens_per_s", "tokens_in", "tokens_out",
    "cost_yen",
)  # fmt: skip
LATENCY_GROUPS = (
    ("ttft_p50_ms", "TTFT p50"),
    ("ttft_p95_ms", "TTFT p95"),
    ("latency_p50_ms", "全体 p50"),
    ("latency_p95_ms", "全体 p95"),
)


class ReportError(Exception):
    """The inputs cannot make the requested report; the message is one line."""


# -- reading scores.json defensively ------------------------------------------------------


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _text(value: object) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Estimate:
    """A mean with an optional 95 % interval and sample size, as read from scores.json."""

    mean: float
    low: float | None = None
    high: float | None = None
    n: int | None = None

    @classmethod
    def read(cls, value: object) -> Estimate | None:
        if (number := _number(value)) is not None:
            return cls(number)
        data = _mapping(value)
        mean = _number(data.get("mean"))
        if mean is None:
            return None
        n = data.get("n")
        count = n if isinstance(n, int) and not isinstance(n, bool) else None
        return cls(mean, _number(data.get("low")), _number(data.get("high")), count)

    @property
    def top(self) -> float:
        return max(self.mean, self.high if self.high is not None else self.mean)

    def text(self, fmt: Callable[[float], str] | None = None) -> str:
        show = fmt or _fmt_score
        if self.low is None or self.high is None:
            return show(self.mean)
        return f"{show(self.mean)}［{show(self.low)}–{show(self.high)}］"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mean": self.mean}
        if self.low is not None and self.high is not None:
            out.update(low=self.low, high=self.high)
        if self.n is not None:
            out["n"] = self.n
        return out


def _fmt_score(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 10 else f"{value:,.1f}"


def _fmt_ms(value: float) -> str:
    return f"{value:,.0f} ms"


def _fmt_yen(value: float) -> str:
    return f"{value:,.2f} 円"


def _fmt_operation(key: str, value: object) -> str:
    number = _number(value)
    if number is None:
        return "—"
    if key.endswith("_rate"):
        return f"{number * 100:.1f}%"
    if key.endswith("_ms"):
        return _fmt_ms(number)
    if key == "cost_yen":
        return _fmt_yen(number)
    if key == "tokens_per_s":
        return f"{number:,.1f}"
    return f"{number:,.0f}"


# -- inline SVG ---------------------------------------------------------------------------


def _attr(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return str(value)


def _el(tag: str, attrs: Mapping[str, object] | None = None, *children: str | Markup) -> Markup:
    """One SVG element; attribute values and string children are escaped, Markup is kept."""
    opening = tag + "".join(f' {name}="{escape(_attr(v))}"' for name, v in (attrs or {}).items() if v is not None)
    if not children:
        return Markup(f"<{opening}/>")
    return Markup(f"<{opening}>") + Markup("").join(escape(child) for child in children) + Markup(f"</{tag}>")


FONT = '"Noto Sans JP", "BIZ UDPGothic", "Hiragino Sans", Meiryo, sans-serif'
GRID = {"stroke": "#d9d9d9", "stroke-width": 1}
AXIS = {"stroke": "#1a1a1a", "stroke-width": 1.5}
TICK = {"font-size": 11, "fill": "#4d4d4d"}
LABEL = {"font-size": 12, "fill": "#1a1a1a"}
WHISKER = {"stroke": "#1a1a1a", "stroke-width": 1.5}


def _text_width(text: str, size: float = 12.0) -> float:
    """A rough rendered width: full width for CJK and other wide characters, 0.6 em otherwise."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


def _wrap(text: str, width: float, lines: int = 2, size: float = 12.0) -> list[str]:
    """Break `text` into at most `lines` lines of about `width` px; the last is cut with "…"."""
    out: list[str] = []
    rest = text
    while rest and len(out) < lines:
        cut = 0
        while cut < len(rest) and _text_width(rest[: cut + 1], size) <= width:
            cut += 1
        cut = max(cut, 1)
        if len(out) == lines - 1 and cut < len(rest):
            while cut > 1 and _text_width(rest[:cut] + "…", size) > width:
                cut -= 1
            out.append(rest[:cut] + "…")
            return out
        out.append(rest[:cut])
        rest = rest[cut:]
    return out


def _nice_ceiling(value: float) -> float:
    """The axis maximum: 1 for scores in [0, 1], else 1, 2 or 5 times a power of ten."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    step = next((s for s in (1, 2, 5) if value <= s * power), 10)
    return float(step * power)


def _tick(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value < 10 else f"{value:,.0f}"


@dataclass(frozen=True)
class Series:
    """One candidate in a chart: its id, letter (text label) and colour."""

    name: str
    letter: str
    colour: str


def _svg(chart_id: str, width: float, height: float, title: str, description: str, *body: Markup) -> Markup:
    """An accessible inline SVG: role img, named by its <title> and <desc>."""
    return _el(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {_attr(float(width))} {_attr(float(height))}",
            "width": _attr(float(width)),
            "role": "img",
            "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
            "class": "chart-svg",
            "font-family": FONT,
        },
        _el("title", {"id": f"{chart_id}-title"}, title),
        _el("desc", {"id": f"{chart_id}-desc"}, description),
        *body,
    )


def _scale(value: float, axis_max: float, length: float) -> float:
    return length * min(max(value, 0.0), axis_max) / axis_max


def grouped_bar_chart(
    chart_id: str,
    title: str,
    description: str,
    groups: Sequence[tuple[str, str]],
    series: Sequence[Series],
    value: Callable[[str, str], Estimate | None],
    fmt: Callable[[float], str] = _fmt_score,
    unit: str = "スコア",
) -> Markup:
    """Vertical bars per group (x) and candidate, with interval whiskers where known; each bar
    carries its candidate's letter and a <title> with the exact value."""
    estimates = [value(key, s.name) for key, _ in groups for s in series]
    axis_max = _nice_ceiling(max((e.top for e in estimates if e is not None), default=0.0))
    bar = max(10.0, min(28.0, 168.0 / max(1, len(series))))
    group_w = max(110.0, len(series) * (bar + 3) + 24)
    left, top, plot_h = 64.0, 28.0, 220.0
    plot_w = max(360.0, group_w * len(groups))
    width, height, base = left + plot_w + 16, top + plot_h + 72, top + plot_h
    body = [_el("text", {"x": 4, "y": 14, **TICK}, unit)]
    for step in range(5):
        y = base - plot_h * step / 4
        body.append(_el("line", {"x1": left, "x2": left + plot_w, "y1": y, "y2": y, **GRID}))
        body.append(_el("text", {"x": left - 6, "y": y + 4, "text-anchor": "end", **TICK}, _tick(axis_max * step / 4)))
    for g, (key, label) in enumerate(groups):
        x0 = left + g * group_w + (group_w - len(series) * (bar + 3)) / 2
        for s_index, s in enumerate(series):
            x = x0 + s_index * (bar + 3)
            centre = x + bar / 2
            est = value(key, s.name)
            letter = {"x": centre, "y": base + 15, "text-anchor": "middle", "font-weight": 700, **LABEL}
            body.append(_el("text", letter, s.letter))
            if est is None:
                body.append(_el("text", {"x": centre, "y": base - 4, "text-anchor": "middle", **TICK}, "—"))
                continue
            h = _scale(est.mean, axis_max, plot_h)
            parts = [
                _el("title", None, f"{s.letter}: {s.name} / {label}: {est.text(fmt)}"),
                _el("rect", {"x": x, "y": base - h, "width": bar, "height": h, "fill": s.colour}),
            ]
            if est.low is not None and est.high is not None:
                y_low, y_high = base - _scale(est.low, axis_max, plot_h), base - _scale(est.high, axis_max, plot_h)
                parts += [
                    _el("line", {"x1": centre, "x2": centre, "y1": y_low, "y2": y_high, **WHISKER}),
                    _el("line", {"x1": centre - 4, "x2": centre + 4, "y1": y_high, "y2": y_high, **WHISKER}),
                    _el("line", {"x1": centre - 4, "x2": centre + 4, "y1": y_low, "y2": y_low, **WHISKER}),
                ]
            body.append(_el("g", None, *parts))
        middle = left + g * group_w + group_w / 2
        lines = [
            _el("text", {"x": middle, "y": base + 36 + 16 * i, "text-anchor": "middle", **LABEL}, line)
            for i, line in enumerate(_wrap(label, group_w - 8))
        ]
        body.append(_el("g", None, _el("title", None, label), *lines))
    body.append(_el("line", {"x1": left, "x2": left + plot_w, "y1": base, "y2": base, **AXIS}))
    return _svg(chart_id, width, height, title, description, *body)


def interval_chart(
    chart_id: str, title: str, description: str, rows: Sequence[tuple[str, Series | None, Estimate | None]]
) -> Markup:
    """One row per entry: a dot at the mean and a line over its interval (a forest plot)."""
    axis_max = _nice_ceiling(max((e.top for _, _, e in rows if e is not None), default=0.0))
    left, plot_w, row_h, top = 250.0, 320.0, 30.0, 8.0
    base = top + row_h * max(1, len(rows))
    width, height = left + plot_w + 200, base + 28
    body: list[Markup] = []
    for step in range(5):
        x = left + plot_w * step / 4
        body.append(_el("line", {"x1": x, "x2": x, "y1": top, "y2": base, **GRID}))
        body.append(_el("text", {"x": x, "y": base + 18, "text-anchor": "middle", **TICK}, _tick(axis_max * step / 4)))
    for index, (label, s, est) in enumerate(rows):
        y = top + row_h * index + row_h / 2
        shown = _wrap(label, left - 20, lines=1)
        name = _el("text", {"x": left - 12, "y": y + 4, "text-anchor": "end", **LABEL}, shown[0] if shown else "")
        body.append(_el("g", None, _el("title", None, label), name))
        if est is None:
            body.append(_el("text", {"x": left + 4, "y": y + 4, **TICK}, "—"))
            continue
        colour = s.colour if s else "#1a1a1a"
        parts = [_el("title", None, f"{label}: {est.text()}")]
        if est.low is not None and est.high is not None:
            x_low, x_high = left + _scale(est.low, axis_max, plot_w), left + _scale(est.high, axis_max, plot_w)
            parts.append(_el("line", {"x1": x_low, "x2": x_high, "y1": y, "y2": y, "stroke": colour, "stroke-width": 3}))
            for x in (x_low, x_high):
                parts.append(_el("line", {"x1": x, "x2": x, "y1": y - 6, "y2": y + 6, "stroke": colour, "stroke-width": 2}))
        cx = left + _scale(est.mean, axis_max, plot_w)
        parts.append(_el("circle", {"cx": cx, "cy": y, "r": 6, "fill": colour, "stroke": "#1a1a1a", "stroke-width": 1}))
        parts.append(_el("text", {"x": left + plot_w + 12, "y": y + 4, **LABEL}, est.text()))
        body.append(_el("g", None, *parts))
    return _svg(chart_id, width, height, title, description, *body)


# -- the view ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemRow:
    """One row of the per-item table."""

    item_id: str
    category: str
    scoring: str
    publishable: bool
    text: str | None
    choices: tuple[str, ...]
    cells: tuple[str, ...]


def _candidate_order(scores: Mapping[str, Any], run: Mapping[str, Any]) -> list[str]:
    names = [str(c) for c in _list(run.get("candidates"))]
    names += [str(c) for c in _mapping(scores.get("candidates")) if str(c) not in names]
    return list(dict.fromkeys(names))


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _item_text(item: Item | None) -> tuple[str | None, tuple[str, ...]]:
    if item is None:
        return None, ()
    messages = [m for m in item.messages if m is not None]
    if len(messages) > 1:
        body = "\n\n".join(f"（{turn}ターン目）{text}" for turn, text in enumerate(messages, 1))
    else:
        body = messages[0] if messages else ""
    if item.system:
        body = f"［システム］{item.system}\n\n{body}"
    return body, tuple(item.choices)


def _item_rows(
    scores: Mapping[str, Any], candidates: Sequence[str], items: Mapping[str, Item] | None, public: bool
) -> list[ItemRow]:
    """Rows of the per-item table; for a public report, only items that are publishable in
    scores.json (and not marked otherwise by the suite, when given)."""
    meta = _mapping(scores.get("items"))
    per_candidate = {c: _mapping(_mapping(_mapping(scores.get("candidates")).get(c)).get("items")) for c in candidates}
    ids = list(dict.fromkeys([str(i) for i in meta] + sorted({str(i) for m in per_candidate.values() for i in m})))
    rows: list[ItemRow] = []
    for item_id in ids:
        info = _mapping(meta.get(item_id))
        item = (items or {}).get(item_id)
        publishable = info.get("publishable") is True and (item is None or item.publishable)
        if public and not publishable:
            continue
        cells = []
        for c in candidates:
            result = _mapping(per_candidate[c].get(item_id))
            score, status = _number(result.get("score")), _text(result.get("status")) or "missing"
            cells.append(f"{_fmt_score(score)}（{status}）" if score is not None and status != "scored" else
                         _fmt_score(score) if score is not None else status)  # fmt: skip
        text, choices = _item_text(item)
        category = _text(info.get("category")) or (item.category if item else "")
        scoring = _text(info.get("scoring")) or (item.scoring if item else "")
        rows.append(ItemRow(item_id, category, scoring, publishable, text, choices, tuple(cells)))
    return rows


def _leaderboard(scores: Mapping[str, Any], candidates: Sequence[str]) -> list[dict[str, Any]]:
    """scores.json's leaderboard; recomputed with `rank_with_ties` when it is absent."""
    rows = []
    for entry in _list(scores.get("leaderboard")):
        entry = _mapping(entry)
        est = Estimate.read(entry)
        rank = entry.get("rank")
        if est is not None and isinstance(rank, int) and not isinstance(rank, bool):
            rows.append({"rank": rank, "candidate": _text(entry.get("candidate")), **est.to_json()})
    if rows or "leaderboard" in scores:
        return rows
    overall = {c: Estimate.read(_mapping(_mapping(scores.get("candidates")).get(c)).get("overall")) for c in candidates}
    intervals = {
        c: Interval(e.mean, e.low if e.low is not None else e.mean, e.high if e.high is not None else e.mean)
        for c, e in overall.items()
        if e is not None
    }
    return [
        {"rank": r.rank, "candidate": r.name, "mean": r.interval.mean, "low": r.interval.low, "high": r.interval.high}
        for r in rank_with_ties(intervals)
    ]


def _pairwise(scores: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for entry in _list(scores.get("pairwise")):
        entry = _mapping(entry)
        diff = Estimate.read(entry.get("difference"))
        better = entry.get("better") if entry.get("better") in ("a", "b") else None
        n = entry.get("n")
        rows.append({
            "a": _text(entry.get("a")), "b": _text(entry.get("b")),
            "difference": diff.to_json() if diff else None,
            "n": n if isinstance(n, int) and not isinstance(n, bool) else None, "better": better,
        })  # fmt: skip
    return rows


def _entries(value: object, key: str = "id") -> list[tuple[str, Mapping[str, Any]]]:
    """A list of objects named by `key`, or a mapping name -> object, as (name, object) pairs."""
    if isinstance(value, Mapping):
        return [(str(k), _mapping(v)) for k, v in value.items()]
    return [(_text(_mapping(v).get(key)), _mapping(v)) for v in _list(value)]


def _gate_status(value: object) -> str:
    status = _text(value)
    return {"passed": "pass", "failed": "fail"}.get(status, status)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _scorecard_summary(scorecard: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The scorecard result as plain JSON: per candidate gates, eligibility, parts and total,
    and the ranking. Reads both list-shaped gates and parts and the `scorecard.to_dict()` shape
    (gates and parts keyed by id, part titles and weights at the top level); evidence paths and
    part details are left out."""
    if scorecard is None:
        return None
    declared = dict(_entries(scorecard.get("parts")))
    gate_titles = {name: _text(g.get("title")) for name, g in _entries(scorecard.get("gates"))}
    candidates = {}
    for name, entry in _entries(scorecard.get("candidates"), "candidate"):
        gates = [
            {"id": gate_id, "title": _text(g.get("title")) or gate_titles.get(gate_id, ""),
             "status": _gate_status(g.get("status")), "reason": _text(g.get("reason"))}
            for gate_id, g in _entries(entry.get("gates"))
        ]  # fmt: skip
        parts = []
        for part_id, part in _entries(entry.get("parts")):
            info = declared.get(part_id, {})
            mean = part.get("score") if "score" in part else part.get("mean")
            score = Estimate.read({"mean": mean, "low": part.get("low"), "high": part.get("high")})
            share = _number(part.get("share")) if "share" in part else _number(info.get("share"))
            parts.append({
                "id": part_id, "title": _text(part.get("title")) or _text(info.get("title")),
                "weight": _number(part.get("weight")) if "weight" in part else _number(info.get("weight")),
                "share": share, "score": score.to_json() if score else None,
            })  # fmt: skip
        total = Estimate.read(entry.get("total"))
        eligible = entry.get("eligible") if isinstance(entry.get("eligible"), bool) else None
        candidates[name] = {"gates": gates, "eligible": eligible, "parts": parts, "total": total.to_json() if total else None}
    ranking = []
    for entry in _list(scorecard.get("ranking")):
        entry = _mapping(entry)
        est = Estimate.read(entry)
        eligible = entry.get("eligible") if isinstance(entry.get("eligible"), bool) else None
        ranking.append({"rank": _int_or_none(entry.get("rank")), "candidate": _text(entry.get("candidate")),
                        "eligible": eligible, **(est.to_json() if est else {})})  # fmt: skip
    title = _text(_mapping(scorecard.get("scorecard")).get("title") or scorecard.get("title")) or None
    provisional = scorecard.get("provisional") is True
    return {"format": _text(scorecard.get("format")) or None, "title": title, "provisional": provisional,
            "candidates": candidates, "ranking": ranking}  # fmt: skip


def _candidate_json(entry: Mapping[str, Any]) -> dict[str, Any]:
    def estimates(value: object) -> dict[str, Any]:
        return {str(k): e.to_json() for k, v in _mapping(value).items() if (e := Estimate.read(v)) is not None}

    overall = Estimate.read(entry.get("overall"))
    operations = {k: _number(_mapping(entry.get("operations")).get(k)) for k in OPERATION_KEYS}
    return {
        "overall": overall.to_json() if overall else None,
        "categories": estimates(entry.get("categories")),
        "safety": estimates(entry.get("safety")),
        "operations": {k: v for k, v in operations.items() if v is not None},
    }


def _safety_table(scores: Mapping[str, Any], candidates: Sequence[str]) -> dict[str, dict[str, Estimate]]:
    """family -> candidate -> estimate, from `safety_report`, else from each candidate's `safety`."""
    table: dict[str, dict[str, Estimate]] = {}
    for family, per in _mapping(scores.get("safety_report")).items():
        for c, value in _mapping(per).items():
            if (est := Estimate.read(value)) is not None:
                table.setdefault(str(family), {})[str(c)] = est
    if not table:
        for c in candidates:
            for family, value in _mapping(_mapping(_mapping(scores.get("candidates")).get(c)).get("safety")).items():
                if (est := Estimate.read(value)) is not None:
                    table.setdefault(str(family), {})[c] = est
    order = [f for f in SAFETY_LABELS if f in table] + sorted(f for f in table if f not in SAFETY_LABELS)
    return {f: table[f] for f in order}


@dataclass(frozen=True)
class Report:
    """A built report: `html` (rendered unsigned) and `result` (plain JSON, no item data).

    The other fields are the inputs of the signed payload (`write_report`)."""

    html: str
    result: dict[str, Any]
    public: bool
    harness_version: str
    config: dict[str, Any]
    suite_hash: str
    scores_summary: dict[str, Any]
    context: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def render(self, signature: Mapping[str, Any] | None = None, json_name: str | None = None) -> str:
        """The HTML with the footer's signature note (None: unsigned)."""
        return _render(self.context, signature, json_name)


def _render(context: Mapping[str, Any], signature: Mapping[str, Any] | None, json_name: str | None) -> str:
    template = _environment().get_template("report.html")
    return template.render({**context, "signature": signature, "json_name": json_name})


_ENV: Environment | None = None


def _environment() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = Environment(
            loader=PackageLoader("gennai.evaluation", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
    return _ENV


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_report(
    scores: Mapping[str, Any],
    run: Mapping[str, Any],
    *,
    items: Mapping[str, Item] | None = None,
    scorecard: Mapping[str, Any] | None = None,
    public: bool = False,
) -> Report:
    """Build the internal report, or with `public=True` the redacted public one."""
    suite = {**_mapping(run.get("suite")), **{k: v for k, v in _mapping(scores.get("suite")).items() if v is not None}}
    canary = _text(suite.get("canary"))
    if public and not canary:
        raise ReportError("a public report needs the suite's canary string (scores.json suite.canary)")
    candidates = _candidate_order(scores, run)
    series = [Series(c, _letter(i), PALETTE[i % len(PALETTE)]) for i, c in enumerate(candidates)]
    by_name = {s.name: s for s in series}
    cand_scores = _mapping(scores.get("candidates"))
    cand_json = {c: _candidate_json(_mapping(cand_scores.get(c))) for c in candidates}
    leaderboard = _leaderboard(scores, candidates)
    pairwise = _pairwise(scores)
    card = _scorecard_summary(scorecard)
    harness_version = _text(scores.get("harness_version") or run.get("harness_version")) or signing.current_harness_version()
    decoding = dict(_mapping(run.get("decoding")) or _mapping(scores.get("decoding")))
    config = {"decoding": decoding, "settings": dict(_mapping(run.get("settings")))}
    summary = {
        "candidates": {c: {"overall": j["overall"], "categories": j["categories"]} for c, j in cand_json.items()},
        "leaderboard": leaderboard,
        **({"scorecard": card} if card is not None else {}),  # the gates and ranking decide the procurement
    }
    generated_at = _now()
    suite_json = {
        "name": _text(suite.get("name")) or None,
        "merkle_root": _text(suite.get("merkle_root")) or None,
        "item_count": suite.get("item_count") if isinstance(suite.get("item_count"), int) else None,
        "suite_sha256": _text(suite.get("suite_sha256")) or None,
        "canary": canary or None,
    }
    result = {
        "format": REPORT_FORMAT,
        "public": public,
        "run_id": _text(scores.get("run_id") or run.get("run_id")) or None,
        "generated_at": generated_at,
        "harness_version": harness_version,
        "suite": suite_json,
        "canary": canary or None,
        "decoding": decoding,
        "decoding_sha256": _text(run.get("decoding_sha256") or scores.get("decoding_sha256")) or None,
        "candidates": cand_json,
        "leaderboard": leaderboard,
        "pairwise": pairwise,
        "safety_report": {f: {c: e.to_json() for c, e in per.items()} for f, per in _safety_table(scores, candidates).items()},
        "scorecard": card,
        "pending": {k: v for k, v in _mapping(scores.get("pending")).items() if isinstance(v, int)},
    }
    context = _context(scores, run, result, series, by_name, items, public, card)
    html = _render(context, None, None)
    return Report(html, result, public, harness_version, config, suite_json["suite_sha256"] or "", summary, context)


def _context(
    scores: Mapping[str, Any],
    run: Mapping[str, Any],
    result: Mapping[str, Any],
    series: Sequence[Series],
    by_name: Mapping[str, Series],
    items: Mapping[str, Item] | None,
    public: bool,
    card: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Everything the template shows; charts are Markup built here."""
    candidates = [s.name for s in series]
    cand = {c: _mapping(_mapping(scores.get("candidates")).get(c)) for c in candidates}
    categories = list(dict.fromkeys(str(k) for c in candidates for k in _mapping(cand[c].get("categories"))))
    category_est = {(k, c): Estimate.read(_mapping(cand[c].get("categories")).get(k)) for k in categories for c in candidates}
    safety = _safety_table(scores, candidates)
    families = [(f, SAFETY_LABELS.get(f, f)) for f in safety]
    ops = {c: _mapping(cand[c].get("operations")) for c in candidates}

    def op(key: str, c: str) -> Estimate | None:
        return Estimate.read(ops[c].get(key))

    leaderboard = [
        {**row, "series": by_name.get(row["candidate"]), "estimate": Estimate.read(row),
         "tied": sum(1 for other in result["leaderboard"] if other["rank"] == row["rank"]) > 1}
        for row in result["leaderboard"]
    ]  # fmt: skip
    charts: dict[str, Markup] = {}
    if leaderboard:
        charts["leaderboard"] = interval_chart(
            "chart-leaderboard", "総合スコアと95%信頼区間",
            "候補ごとの総合スコア（点）と95%ブートストラップ信頼区間（線）。同じ値は下の表にあります。",
            [(f"{row['rank']}位 {(row['series'].letter + ' ') if row['series'] else ''}{row['candidate']}",
              row["series"], row["estimate"]) for row in leaderboard],
        )  # fmt: skip
    if categories and series:
        charts["categories"] = grouped_bar_chart(
            "chart-categories", "カテゴリ別スコア", "カテゴリごと・候補ごとの平均スコア（棒）と95%信頼区間（ひげ）。同じ値は下の表にあります。",
            [(k, k) for k in categories], series, lambda k, c: category_est[(k, c)],
        )  # fmt: skip
    if families and series:
        charts["safety"] = grouped_bar_chart(
            "chart-safety", "安全性プロファイル", "安全性の観点ごと・候補ごとのスコア（高いほど望ましい）と95%信頼区間。同じ値は下の表にあります。",
            families, series, lambda f, c: safety[f].get(c),
        )  # fmt: skip
    if series and any(op(k, c) for k, _ in LATENCY_GROUPS for c in candidates):
        charts["latency"] = grouped_bar_chart(
            "chart-latency", "応答時間（ミリ秒）", "候補ごとの最初のトークンまでの時間（TTFT）と全体の応答時間の中央値（p50）と95パーセンタイル（p95）。同じ値は下の表にあります。",
            LATENCY_GROUPS, series, op, _fmt_ms, "ミリ秒 (ms)",
        )  # fmt: skip
    if series and any(op("cost_yen", c) for c in candidates):
        charts["cost"] = grouped_bar_chart(
            "chart-cost", "費用（円）", "候補ごとの試験全体の費用（円）。同じ値は下の表にあります。",
            [("cost_yen", "試験全体の費用")], series, op, _fmt_yen, "円",
        )  # fmt: skip
    scorecard_view = None
    if card is not None:
        ranking_rows = [
            (f"{str(r['rank']) + '位' if r['rank'] is not None else '対象外'} {r['candidate']}",
             by_name.get(r["candidate"]), Estimate.read(r))
            for r in card["ranking"]
        ]
        if ranking_rows:
            charts["scorecard"] = interval_chart(
                "chart-scorecard", "スコアカードの加重合計と95%信頼区間",
                "候補ごとの加重合計（点）と95%信頼区間（線）。同じ値は下の表にあります。", ranking_rows,
            )  # fmt: skip
        scorecard_view = {
            "candidates": [
                {"name": name, "eligible": entry["eligible"], "gates": entry["gates"],
                 "parts": [{**p, "estimate": Estimate.read(p["score"])} for p in entry["parts"]],
                 "total": Estimate.read(entry["total"])}
                for name, entry in card["candidates"].items()
            ],
            "ranking": [{**r, "estimate": Estimate.read(r)} for r in card["ranking"]],
            "title": card["title"],
            "provisional": card["provisional"],
        }  # fmt: skip
    suite = result["suite"]
    settings = _mapping(run.get("settings"))
    return {
        "public": public,
        "result": result,
        "suite": suite,
        "canary": suite["canary"] or "",
        "run_id": result["run_id"] or "",
        "series": series,
        "leaderboard": leaderboard,
        "charts": charts,
        "categories": categories,
        "category_est": category_est,
        "families": families,
        "safety": safety,
        "ops": ops,
        "operation_keys": OPERATION_KEYS,
        "fmt_operation": _fmt_operation,
        "pairwise": [
            {**p, "estimate": Estimate.read(p["difference"])} for p in result["pairwise"]
        ],
        "scorecard": scorecard_view,
        "gate_labels": GATE_LABELS,
        "items": _item_rows(scores, candidates, items, public),
        "items_given": items is not None,
        "item_total": len(_mapping(scores.get("items"))),
        "decoding": result["decoding"],
        "decoding_json": json.dumps(result["decoding"], ensure_ascii=False, sort_keys=True),
        "settings": {k: settings.get(k) for k in ("concurrency", "retries", "timeout_s") if k in settings},
        "dates": [("試験開始 (started_at)", _text(run.get("started_at"))),
                  ("採点 (scored_at)", _text(scores.get("scored_at"))),
                  ("報告書作成 (generated_at)", result["generated_at"])],  # fmt: skip
        "pending": result["pending"],
        "judge_pairs": _judge_pairs(scores),
        "human_grading": _mapping(scores.get("human_grading")) or None,
    }


def _judge_pairs(scores: Mapping[str, Any]) -> dict[str, Any] | None:
    """The judges' side-by-side verdicts (`[judge] pairwise`): wins per pair and ratings."""
    section = _mapping(scores.get("judge_pairwise"))
    if not section:
        return None
    ratings = {str(name): _mapping(value) for name, value in _mapping(section.get("ratings")).items()}
    return {
        "both_orders": bool(section.get("both_orders")),
        "pairs": [_mapping(row) for row in _list(section.get("pairs"))],
        "ratings": sorted(ratings.items(), key=lambda kv: -(_number(kv[1].get("rating")) or 0.0)),
    }


# -- writing -----------------------------------------------------------------------------


def write_report(report: Report, out: Path, *, signing_key: Ed25519PrivateKey | None) -> tuple[Path, Path]:
    """Write the HTML at `out` and the JSON result at `<stem>.json` beside it, both atomically.

    The JSON is the report's `result` plus ``payload`` (`signing.result_payload` over the
    harness version, the run's decoding and settings, the suite hash and the per-candidate
    overall and category scores with the leaderboard) and ``signature`` (null without a key;
    the footer then says the result is unsigned). Raises `signing.SigningError` when the
    scores carry no valid suite hash."""
    out = Path(out)
    json_path = out.with_suffix(".json")
    if json_path == out:
        raise ReportError(f"{out}: the report must not be named .json (the result is written there)")
    payload = signing.result_payload(report.harness_version, report.config, report.suite_hash, report.scores_summary)
    signed = signing.sign_result(payload, signing_key) if signing_key is not None else {"payload": payload, "signature": None}
    document = {**report.result, "payload": signed["payload"], "signature": signed["signature"]}
    html = report.render(signed["signature"], json_path.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(json_path, (json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode("utf-8"))
    write_atomic(out, html.encode("utf-8"))
    return out, json_path
