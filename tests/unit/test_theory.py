"""Tests for sparse_pkg.theory: the Figure 2 match probability, its simulation and its table."""

from __future__ import annotations

import itertools
import math
import re
from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import hypergeom

from sparse_pkg.theory import (
    DENSE_LABEL,
    MatchSimulation,
    figure2_table,
    match_probability,
    simulate_match_frequency,
)


def _brute_force(n: int, a: int, s: int, theta: int) -> Fraction:
    """Fraction of all a-subsets of range(n) holding >= theta of the stored positions 0..s-1."""
    hits = sum(
        1 for subset in itertools.combinations(range(n), a) if sum(i < s for i in subset) >= theta
    )
    return Fraction(hits, math.comb(n, a))


# --- match_probability -------------------------------------------------------------------------


@pytest.mark.parametrize("n", [8, 9, 10])
def test_match_probability_equals_brute_force_enumeration(n):
    s, theta = 4, 2
    for a in range(s, n + 1):
        # Both sides are the correctly rounded float of the same rational number.
        assert match_probability(n, a, s, theta) == float(_brute_force(n, a, s, theta))


def test_match_probability_hand_checked_small_cases():
    # Two stored bits of four, two active, at least one stored bit on: 1 - C(2,2)/C(4,2) = 5/6.
    assert match_probability(4, 2, s=2, theta=1) == pytest.approx(5 / 6, rel=1e-15)
    # Both stored bits on: only the subset {0, 1} of the six: 1/6.
    assert match_probability(4, 2, s=2, theta=2) == pytest.approx(1 / 6, rel=1e-15)
    assert match_probability(50, 30, s=24, theta=0) == 1.0  # threshold 0 always matches
    assert match_probability(50, 50, s=24, theta=24) == 1.0  # every bit is active


def test_match_probability_paper_example():
    # docs/protocol.md §6: P(300, 64) = 0.0010946...
    p = match_probability(300, 64)
    assert p == pytest.approx(0.0010946, abs=5e-8)
    assert f"{p:.4g}" == "0.001095"


@pytest.mark.parametrize(
    ("n", "a"),
    [(300, 64), (1000, 128), (3500, 256), (10_000, 64), (10_000, 256), (10_000, 5_000)],
)
def test_match_probability_matches_scipy_hypergeom(n, a):
    expected = hypergeom(M=n, n=24, N=a).sf(11)  # P(overlap >= 12)
    assert match_probability(n, a) == pytest.approx(expected, rel=1e-9)


def test_match_probability_large_n_is_finite_and_ordered():
    # C(20000, 10000) has ~6000 digits: exact integers must neither overflow nor return nan.
    dense = match_probability(20_000, 10_000)
    sparse = match_probability(20_000, 256)
    assert 0.58 < dense < 0.59
    assert 0.0 < sparse < 1e-10


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((0, 0, 0, 0), "n (vector length)"),
        ((100, 101, 24, 12), "a (active bits)"),
        ((100, -1, 24, 12), "a (active bits)"),
        ((100, 20, 24, 12), "s (stored bits"),
        ((100, 64, 24, 25), "theta"),
        ((100, 64, 24, -1), "theta"),
        ((300.0, 64, 24, 12), "n must be an integer"),
        ((300, True, 24, 12), "a must be an integer"),
    ],
)
def test_match_probability_rejects_bad_arguments(args, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        match_probability(*args)


def test_match_probability_accepts_numpy_integers():
    assert match_probability(np.int64(300), np.int32(64)) == match_probability(300, 64)


# --- simulate_match_frequency ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "a", "trials"),
    [(300, 64, 400_000), (300, 128, 100_000), (500, 256, 100_000), (1000, 500, 100_000)],
)
def test_sequential_simulation_agrees_with_formula(n, a, trials):
    sim = simulate_match_frequency(n, a, trials=trials, seed=7)
    exact = match_probability(n, a)
    assert sim.matches > 100  # enough hits for the 5-standard-error check to mean something
    assert abs(sim.frequency - exact) < 5 * sim.standard_error


@pytest.mark.parametrize(("n", "a"), [(60, 30), (300, 128)])
def test_full_vector_simulation_agrees_with_formula(n, a):
    sim = simulate_match_frequency(n, a, trials=20_000, seed=3, method="full")
    exact = match_probability(n, a)
    assert sim.matches > 100
    assert abs(sim.frequency - exact) < 5 * sim.standard_error


def test_simulation_small_case_against_brute_force():
    # n = 10, a = 5, s = 4, theta = 2: exact value by enumeration, no formula involved.
    exact = float(_brute_force(10, 5, 4, 2))
    for method in ("sequential", "full"):
        sim = simulate_match_frequency(10, 5, s=4, theta=2, trials=50_000, seed=11, method=method)
        assert abs(sim.frequency - exact) < 5 * sim.standard_error


@pytest.mark.parametrize("method", ["sequential", "full"])
def test_simulation_all_bits_active_always_matches(method):
    full = simulate_match_frequency(40, 40, s=24, theta=24, trials=1000, seed=1, method=method)
    assert (full.matches, full.trials, full.standard_error) == (1000, 1000, 0.0)


@pytest.mark.parametrize("method", ["sequential", "full"])
def test_simulation_single_inactive_bit(method):
    # n = 25, a = 24: exactly one bit is off, uniformly placed. All 24 stored bits are on
    # (theta = 24) iff the off bit is the one unstored position: probability 1/25.
    sim = simulate_match_frequency(25, 24, s=24, theta=24, trials=20_000, seed=2, method=method)
    assert abs(sim.frequency - 1 / 25) < 5 * sim.standard_error


def test_simulation_is_deterministic_from_seed_and_crosses_chunks():
    trials = (1 << 16) + 12_345  # more than one vectorised batch, last one partial
    first = simulate_match_frequency(300, 128, trials=trials, seed=123)
    again = simulate_match_frequency(300, 128, trials=trials, seed=123)
    other = simulate_match_frequency(300, 128, trials=trials, seed=124)
    assert first == again
    assert first.matches != other.matches
    assert first.trials == trials


def test_simulation_full_method_is_deterministic_from_seed():
    first = simulate_match_frequency(200, 100, trials=3000, seed=5, method="full")
    assert first == simulate_match_frequency(200, 100, trials=3000, seed=5, method="full")
    assert first != simulate_match_frequency(200, 100, trials=3000, seed=6, method="full")


def test_match_simulation_statistics():
    sim = MatchSimulation(matches=25, trials=100)
    assert sim.frequency == 0.25
    assert sim.standard_error == pytest.approx(math.sqrt(0.25 * 0.75 / 100))


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"trials": 0}, "trials must be >= 1"),
        ({"trials": 10.5}, "trials must be an integer"),
        ({"method": "exact"}, "method must be"),
        ({"theta": 30}, "theta"),
    ],
)
def test_simulation_rejects_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        simulate_match_frequency(300, 64, **kwargs)


# --- figure2_table -----------------------------------------------------------------------------

COLUMNS = [
    "n", "a", "label", "s", "theta", "probability", "frequency", "standard_error", "matches",
    "trials",
]


@pytest.fixture(scope="module")
def default_grid_table():
    return figure2_table(trials=4000, seed=0)


def test_figure2_table_shape_and_columns(default_grid_table):
    table = default_grid_table
    assert list(table.columns) == COLUMNS
    assert len(table) == 17 * 4  # n = 300, 500, ..., 3500; a = 64, 128, 256, n/2
    assert sorted(table["label"].unique()) == sorted(["a=64", "a=128", "a=256", DENSE_LABEL])
    for column in ("n", "a", "s", "theta", "matches", "trials"):
        assert table[column].dtype == np.int64
    dense = table[table["label"] == DENSE_LABEL]
    assert (dense["a"] == dense["n"] // 2).all()
    assert (table["trials"] == 4000).all()
    assert np.allclose(table["frequency"], table["matches"] / table["trials"], rtol=0, atol=0)


def test_figure2_table_probability_falls_with_n(default_grid_table):
    for a in (64, 128, 256):
        rows = default_grid_table[default_grid_table["label"] == f"a={a}"].sort_values("n")
        assert (rows["a"] == a).all()
        assert (np.diff(rows["probability"].to_numpy()) < 0).all()
    # The dense reference stays near 0.58 (docs/protocol.md §6: not the original plot's ~0.005).
    dense = default_grid_table[default_grid_table["label"] == DENSE_LABEL]["probability"]
    assert dense.between(0.58, 0.585).all()


def test_figure2_table_rows_match_formula_and_simulation(default_grid_table):
    for row in default_grid_table.itertuples():
        assert row.probability == match_probability(row.n, row.a, row.s, row.theta)
    hits = default_grid_table["matches"]
    misses = default_grid_table["trials"] - hits
    testable = default_grid_table[(hits >= 100) & (misses >= 100)]
    assert len(testable) >= 10
    error = (testable["frequency"] - testable["probability"]).abs()
    assert (error < 5 * testable["standard_error"]).all()


def test_figure2_table_skips_impossible_rows_and_rows_are_independent():
    table = figure2_table(ns=(40, 100, 200, 300), trials=2000, seed=9)
    pairs = list(zip(table["n"], table["a"], strict=True))
    # n = 40: no active count fits and n/2 = 20 < s = 24, so no row at all.
    assert pairs == [
        (100, 64), (100, 50),
        (200, 64), (200, 128), (200, 100),
        (300, 64), (300, 128), (300, 256), (300, 150),
    ]
    alone = figure2_table(ns=(300,), actives=(128,), trials=2000, seed=9)
    both = table[(table["n"] == 300) & (table["a"] == 128)]
    assert alone.loc[0, "matches"] == both["matches"].item()
    reseeded = figure2_table(ns=(300,), actives=(128,), trials=2000, seed=10)
    assert reseeded.loc[0, "matches"] != alone.loc[0, "matches"]


def test_figure2_table_rejects_active_count_below_s():
    with pytest.raises(ValueError, match="active count must be >= s"):
        figure2_table(ns=(300,), actives=(16,), trials=10, seed=0)
