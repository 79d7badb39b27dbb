"""Statistics for comparing candidates honestly: bootstrap intervals, paired differences, a
leaderboard that keeps overlapping candidates tied, inter-rater agreement and Bradley–Terry
strengths from pairwise votes.

Deterministic: every random draw comes from a generator seeded with `seed` (NumPy's PCG64 for
the item bootstrap, `random.Random` elsewhere), and inputs are put in a canonical order first,
so the same data and seed give the same figures anywhere.
"""

from __future__ import annotations

import math
import random

import numpy as np
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

__all__ = [
    "ELO_BASE",
    "ELO_SCALE",
    "Comparison",
    "Interval",
    "RankedEntry",
    "bootstrap_interval",
    "bradley_terry",
    "cohen_kappa",
    "paired_difference",
    "rank_with_ties",
]

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Interval:
    """A point estimate with a confidence interval [low, high]. For `bootstrap_interval` the
    estimate is the sample mean; for `bradley_terry` the rating fitted on all votes."""

    mean: float
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low

    def overlaps(self, other: Interval) -> bool:
        """Whether the two intervals share a point (touching counts: the conservative side)."""
        return self.low <= other.high and other.low <= self.high

    def above(self, other: Interval) -> bool:
        """Whether this interval lies entirely above the other."""
        return self.low > other.high


def _check(confidence: float, resamples: int) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence!r}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, not {resamples!r}")


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (R's type 7, numpy's default)."""
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _percentile_interval(estimate: float, draws: list[float], confidence: float) -> Interval:
    draws.sort()
    tail = (1.0 - confidence) / 2.0
    return Interval(estimate, _quantile(draws, tail), _quantile(draws, 1.0 - tail))


def bootstrap_interval(
    values: Iterable[float], *, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> Interval:
    """Mean of per-item scores with a percentile bootstrap interval: `resamples` times, draw as
    many items as there are, with replacement, and take the mean; the interval is the central
    `confidence` share of those means. Raises ValueError for no values."""
    data = [float(v) for v in values]
    if not data:
        raise ValueError("bootstrap_interval needs at least one value (no items were scored)")
    if not all(math.isfinite(v) for v in data):
        raise ValueError("bootstrap_interval needs finite values")
    _check(confidence, resamples)
    n = len(data)
    mean = math.fsum(data) / n
    return _percentile_interval(mean, _bootstrap_means(data, resamples, seed), confidence)


_BLOCK_DRAWS = 2_000_000  # item indices drawn at once (16 MB), whatever the suite's size


def _bootstrap_means(data: list[float], resamples: int, seed: int) -> list[float]:
    """The means of `resamples` resamples of `data` with replacement, drawn in blocks with
    NumPy (a test day's 10,000 answers with pairwise comparisons take well under a second,
    where drawing item by item in Python took half a minute)."""
    values = np.asarray(data, dtype=np.float64)
    n = len(values)
    rng = np.random.default_rng(seed)
    block = max(1, _BLOCK_DRAWS // n)
    means: list[float] = []
    for start in range(0, resamples, block):
        rows = min(block, resamples - start)
        means.extend(values[rng.integers(0, n, size=(rows, n))].mean(axis=1).tolist())
    return means


@dataclass(frozen=True)
class Comparison:
    """A paired comparison of candidates a and b on the items both answered: `difference` is
    mean(a − b) with its bootstrap interval, `n` the number of shared items, `excludes_zero`
    whether the interval lies entirely on one side of 0 (then `better` names the side)."""

    difference: Interval
    n: int
    excludes_zero: bool

    @property
    def better(self) -> Literal["a", "b"] | None:
        if not self.excludes_zero:
            return None
        return "a" if self.difference.low > 0 else "b"


def paired_difference(
    a_by_item: Mapping[K, float],
    b_by_item: Mapping[K, float],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Comparison:
    """Paired bootstrap of a − b over the items both candidates have a score for: resampling
    items (not each side separately) keeps the item difficulty shared by both, so the interval
    is much narrower than comparing two independent intervals. Raises ValueError when they
    share no item."""
    shared = sorted(set(a_by_item) & set(b_by_item), key=repr)
    if not shared:
        raise ValueError("paired_difference: the two candidates share no scored item")
    differences = [float(a_by_item[k]) - float(b_by_item[k]) for k in shared]
    interval = bootstrap_interval(differences, confidence=confidence, resamples=resamples, seed=seed)
    return Comparison(interval, len(shared), interval.low > 0.0 or interval.high < 0.0)


@dataclass(frozen=True)
class RankedEntry:
    """One leaderboard row. `rank` is shared by all candidates of a tie group; `above` counts
    the candidates whose interval lies entirely above this one's (clearly better)."""

    rank: int
    name: str
    interval: Interval
    above: int


def rank_with_ties(entries: Mapping[str, Interval]) -> list[RankedEntry]:
    """A leaderboard that never orders two candidates whose intervals overlap.

    Candidates are grouped by chains of overlapping intervals (the connected components of the
    "intervals overlap" relation — on a line, the stretches where the union of intervals has no
    gap). Every candidate of a group shares one rank, competition style: 1 + the number of
    candidates in the groups above. So two candidates get different ranks only when *every*
    interval of the higher group lies entirely above *every* interval of the lower one.

    Why not simply rank = 1 + the number of candidates entirely above (the LMSYS "rank upper
    bound"): with A [0.80, 0.90], B [0.70, 0.85], C [0.60, 0.75], that gives A 1, B 1, C 2, so
    B and C, whose intervals overlap, would be shown as if B were better. That count is kept in
    `above` for readers who want it. Rows are ordered by rank, then estimate (descending),
    then name.
    """
    order = sorted(entries.items(), key=lambda kv: (-kv[1].high, -kv[1].mean, kv[0]))
    groups: list[list[tuple[str, Interval]]] = []
    floor = math.inf  # lowest `low` of the current group
    for name, interval in order:
        if groups and interval.high >= floor:
            groups[-1].append((name, interval))
            floor = min(floor, interval.low)
        else:
            groups.append([(name, interval)])
            floor = interval.low
    rows: list[RankedEntry] = []
    placed = 0
    for group in groups:
        for name, interval in sorted(group, key=lambda kv: (-kv[1].mean, kv[0])):
            above = sum(1 for other in entries.values() if other.above(interval))
            rows.append(RankedEntry(placed + 1, name, interval, above))
        placed += len(group)
    return rows


def cohen_kappa(pairs: Iterable[tuple[Hashable, Hashable]]) -> float:
    """Cohen's kappa for two graders' labels on the same items: (p_o − p_e) / (1 − p_e), with
    p_o the observed agreement and p_e the agreement expected from each grader's label
    frequencies. When p_e = 1 (both graders gave every item the same single label) kappa is
    0/0; it is returned as 1.0, since the graders agreed on every item. Raises ValueError for
    no pairs."""
    data = list(pairs)
    if not data:
        raise ValueError("cohen_kappa needs at least one pair of labels")
    n = len(data)
    observed = sum(1 for a, b in data if a == b) / n
    first = Counter(a for a, _ in data)
    second = Counter(b for _, b in data)
    expected = sum(first[label] * second[label] for label in first) / (n * n)
    if expected >= 1.0:
        return 1.0
    return (observed - expected) / (1.0 - expected)


# --------------------------------------------------------------------------------------------
# Bradley–Terry
# --------------------------------------------------------------------------------------------

ELO_SCALE = 400.0
ELO_BASE = 1000.0

Vote = tuple[str, str] | tuple[str, str, str]
"""(winner, loser), or (a, b, outcome) with outcome "A", "B" or "tie" (as `parse_pairwise`)."""


def _tally(votes: Iterable[Vote]) -> list[tuple[str, str, float]]:
    """Votes as (a, b, a's points): 1 for a win, 0.5 for a tie."""
    tallied: list[tuple[str, str, float]] = []
    for vote in votes:
        if len(vote) == 2:
            a, b, points = vote[0], vote[1], 1.0
        elif len(vote) == 3:
            a, b, outcome = vote  # type: ignore[misc]
            points = {"A": 1.0, "B": 0.0, "tie": 0.5}.get(outcome, -1.0)
            if points < 0:
                raise ValueError(f"a vote's outcome is 'A', 'B' or 'tie', not {outcome!r}")
        else:
            raise ValueError(f"a vote is (winner, loser) or (a, b, outcome), not {vote!r}")
        if a == b:
            raise ValueError(f"a vote compares {a!r} with itself")
        tallied.append((a, b, points))
    return tallied


def _fit(
    counts: Mapping[tuple[int, int, float], int], players: int, prior: float, iterations: int, tolerance: float
) -> list[float]:
    """MM iterations (Hunter 2004) for Bradley–Terry strengths p, P(i beats j) = p_i/(p_i+p_j):
    p_i ← W_i / Σ_j n_ij / (p_i + p_j), then rescaled to geometric mean 1 (the likelihood does
    not depend on the scale). Ties give half a win to each side. Every pair of players also
    gets `prior` virtual games, tied: this keeps an unbeaten or winless player finite and joins
    players who never met (a mild shrinkage towards equal that vanishes as votes grow)."""
    wins = [0.0] * players
    games: dict[tuple[int, int], float] = {}
    if prior > 0:
        for i in range(players):
            wins[i] += prior * (players - 1) / 2.0
            for j in range(i + 1, players):
                games[(i, j)] = prior
    for (a, b, points), count in counts.items():
        wins[a] += points * count
        wins[b] += (1.0 - points) * count
        key = (a, b) if a < b else (b, a)
        games[key] = games.get(key, 0.0) + count
    pairs = list(games.items())
    p = [1.0] * players
    for _ in range(iterations):
        denominator = [0.0] * players
        for (i, j), n in pairs:
            share = n / (p[i] + p[j])
            denominator[i] += share
            denominator[j] += share
        logs = [math.log(wins[i] / denominator[i]) if wins[i] > 0 and denominator[i] > 0 else 0.0
                for i in range(players)]
        centre = math.fsum(logs) / players
        new = [math.exp(x - centre) for x in logs]
        change = max(abs(math.log(new[i] / p[i])) for i in range(players))
        p = new
        if change < tolerance:
            break
    return p


def _ratings(p: list[float]) -> list[float]:
    """Strengths on the Elo-like scale, centred so the players' mean rating is ELO_BASE."""
    logs = [math.log10(x) for x in p]
    centre = math.fsum(logs) / len(logs)
    return [ELO_BASE + ELO_SCALE * (x - centre) for x in logs]


def bradley_terry(
    votes: Iterable[Vote],
    *,
    resamples: int = 1000,
    iterations: int = 1000,
    tolerance: float = 1e-8,
    prior: float = 1.0,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """Bradley–Terry ratings of the players in pairwise votes, with bootstrap intervals.

    Scale: Elo-like, rating = 1000 + 400 · log10(p / geometric mean of all p), so the mean
    rating is 1000 and a 400-point gap means 10:1 odds of winning (200 points ≈ 76 %). Ties
    count half a win to each side. Fitted by MM iterations (Hunter 2004; at most `iterations`,
    until ratings move less than `tolerance` in log strength) with `prior` virtual tied games
    between every pair of players (see `_fit`; 0 turns it off, then every player needs both a
    win and a loss for a finite rating). The interval resamples the votes with
    replacement `resamples` times and refits; `Interval.mean` is the fit on all votes. A player
    missing from a resample is held near the middle by the prior. Raises ValueError for no
    votes.
    """
    tallied = _tally(votes)
    if not tallied:
        raise ValueError("bradley_terry needs at least one vote")
    _check(confidence, resamples)
    names = sorted({a for a, _, _ in tallied} | {b for _, b, _ in tallied})
    index = {name: i for i, name in enumerate(names)}
    coded = Counter((index[a], index[b], points) for a, b, points in tallied)
    # Distinct vote kinds in a canonical order, so a resample does not depend on input order.
    kinds = sorted(coded)
    expanded = [k for k, kind in enumerate(kinds) for _ in range(coded[kind])]

    estimate = _ratings(_fit(coded, len(names), prior, iterations, tolerance))
    rng = random.Random(seed)
    draws: list[list[float]] = [[] for _ in names]
    for _ in range(resamples):
        sample = Counter(rng.choices(expanded, k=len(expanded)))
        ratings = _ratings(_fit({kinds[k]: c for k, c in sample.items()}, len(names), prior, iterations, tolerance))
        for i, rating in enumerate(ratings):
            draws[i].append(rating)
    return {name: _percentile_interval(estimate[i], draws[i], confidence) for i, name in enumerate(names)}
