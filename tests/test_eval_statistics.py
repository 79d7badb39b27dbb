"""Bootstrap intervals, paired comparisons, tied ranking, kappa and Bradley–Terry
(gennai.evaluation.statistics)."""

from __future__ import annotations

import random

import pytest

from gennai.evaluation.statistics import (
    Interval,
    bootstrap_interval,
    bradley_terry,
    cohen_kappa,
    paired_difference,
    rank_with_ties,
)


def _scores(n: int, p: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [1.0 if rng.random() < p else 0.0 for _ in range(n)]


# -- bootstrap ---------------------------------------------------------------------------------


def test_bootstrap_contains_mean_and_shrinks_with_n() -> None:
    small = bootstrap_interval(_scores(50, 0.6, 1), seed=3)
    large = bootstrap_interval(_scores(2000, 0.6, 1), seed=3)
    for interval in (small, large):
        assert interval.low <= interval.mean <= interval.high
    assert large.width < small.width / 3
    assert 0.55 < large.mean < 0.65


def test_bootstrap_is_reproducible_with_a_seed() -> None:
    values = [((i * 37) % 101) / 101 for i in range(200)]  # many distinct values: seeds cannot tie by chance
    assert bootstrap_interval(values, seed=11) == bootstrap_interval(values, seed=11)
    assert bootstrap_interval(values, seed=11) != bootstrap_interval(values, seed=12)


def test_bootstrap_edge_cases() -> None:
    assert bootstrap_interval([0.5]) == Interval(0.5, 0.5, 0.5)
    assert bootstrap_interval([1.0] * 10) == Interval(1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="at least one value"):
        bootstrap_interval([])
    with pytest.raises(ValueError):
        bootstrap_interval([1.0], confidence=1.5)


# -- paired difference -------------------------------------------------------------------------


def test_paired_difference_detects_a_clear_gap() -> None:
    a = {f"q{i}": v for i, v in enumerate(_scores(300, 0.8, 1))}
    b = {f"q{i}": v for i, v in enumerate(_scores(300, 0.4, 2))}
    comparison = paired_difference(a, b, seed=1)
    assert comparison.n == 300
    assert comparison.excludes_zero and comparison.better == "a"
    assert comparison.difference.low > 0


def test_paired_difference_uses_shared_items_and_sees_no_gap() -> None:
    base = _scores(200, 0.5, 4)
    a = {f"q{i}": v for i, v in enumerate(base)}
    b = {f"q{i}": v for i, v in enumerate(base[:150])} | {"only-b": 1.0}
    comparison = paired_difference(a, b)
    assert comparison.n == 150
    assert comparison.difference == Interval(0.0, 0.0, 0.0)
    assert not comparison.excludes_zero and comparison.better is None
    # Insertion order does not matter.
    assert paired_difference(dict(reversed(list(a.items()))), b) == comparison
    with pytest.raises(ValueError):
        paired_difference({"x": 1.0}, {"y": 1.0})


# -- rank with ties ----------------------------------------------------------------------------


def test_rank_ties_overlapping_intervals() -> None:
    rows = rank_with_ties({
        "A": Interval(0.85, 0.80, 0.90),
        "B": Interval(0.78, 0.70, 0.85),
        "C": Interval(0.68, 0.60, 0.75),  # overlaps B, not A: still tied with both
        "D": Interval(0.30, 0.20, 0.40),
    })
    assert [(r.name, r.rank) for r in rows] == [("A", 1), ("B", 1), ("C", 1), ("D", 4)]
    assert [r.above for r in rows] == [0, 0, 1, 3]


def test_rank_strict_order_when_intervals_are_apart() -> None:
    rows = rank_with_ties({
        "low": Interval(0.2, 0.1, 0.3),
        "high": Interval(0.9, 0.85, 0.95),
        "mid": Interval(0.6, 0.5, 0.7),
    })
    assert [(r.name, r.rank) for r in rows] == [("high", 1), ("mid", 2), ("low", 3)]


def test_rank_never_separates_overlapping_candidates() -> None:
    rng = random.Random(5)
    for _ in range(200):
        entries = {}
        for k in range(6):
            centre, half = rng.random(), rng.random() * 0.2
            entries[f"c{k}"] = Interval(centre, centre - half, centre + half)
        rows = rank_with_ties(entries)
        for x in rows:
            for y in rows:
                if x.rank < y.rank:
                    assert x.interval.above(y.interval)
                if x.interval.overlaps(y.interval):
                    assert x.rank == y.rank


# -- kappa -------------------------------------------------------------------------------------


def test_cohen_kappa_textbook_example() -> None:
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15 → p_o 0.7, p_e 0.5, κ 0.4.
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.4)


def test_cohen_kappa_edges() -> None:
    assert cohen_kappa([(1, 1), (2, 2), (3, 3)]) == pytest.approx(1.0)
    assert cohen_kappa([(1, 2), (2, 1)]) == pytest.approx(-1.0)
    assert cohen_kappa([(4, 4)] * 5) == 1.0  # expected agreement 1: all agreed
    with pytest.raises(ValueError):
        cohen_kappa([])


# -- Bradley–Terry -----------------------------------------------------------------------------


def _votes(strength: dict[str, float], n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    names = sorted(strength)
    votes = []
    for _ in range(n):
        x, y = rng.sample(names, 2)
        votes.append((x, y) if rng.random() < strength[x] / (strength[x] + strength[y]) else (y, x))
    return votes


def test_bradley_terry_orders_a_clearly_stronger_player_first() -> None:
    ratings = bradley_terry(_votes({"strong": 4.0, "mid": 1.0, "weak": 0.25}, 900, 1), resamples=200, seed=2)
    assert ratings["strong"].low > ratings["mid"].high
    assert ratings["mid"].low > ratings["weak"].high
    # Elo-like scale: mean 1000, 400 points per factor 10 of odds (true strong-vs-mid gap ≈ 241).
    assert sum(r.mean for r in ratings.values()) / 3 == pytest.approx(1000.0)
    assert 150 < ratings["strong"].mean - ratings["mid"].mean < 330
    for r in ratings.values():
        assert r.low <= r.mean <= r.high
    ranked = rank_with_ties(ratings)
    assert [row.name for row in ranked] == ["strong", "mid", "weak"]


def test_bradley_terry_ties_unbeaten_and_reproducible() -> None:
    votes = [("a", "b", "tie")] * 10 + [("a", "b"), ("b", "a")]
    ratings = bradley_terry(votes, resamples=50)
    assert ratings["a"].mean == pytest.approx(ratings["b"].mean)
    unbeaten = bradley_terry([("a", "b")] * 5, resamples=50)  # finite thanks to the prior
    assert unbeaten["a"].mean > unbeaten["b"].mean
    votes3 = [("x", "y", "A"), ("y", "z", "B"), ("x", "z")] * 5
    assert bradley_terry(votes3, resamples=30, seed=4) == bradley_terry(votes3, resamples=30, seed=4)
    with pytest.raises(ValueError):
        bradley_terry([])
    with pytest.raises(ValueError):
        bradley_terry([("a", "a")])
    with pytest.raises(ValueError):
        bradley_terry([("a", "b", "draw")])
