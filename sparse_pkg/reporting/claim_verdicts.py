"""Verdicts on the paper's claims: the statistics behind each row of results/claims.md.

Network claims compare two networks of one data set over seeds, per selection protocol: the
effect is the difference of the per-seed means (first network minus second) in the claim's unit,
tested by a one-sided Welch t-test of the claimed direction against the claim's margin
(``sparse_pkg.statistics``, from scipy). The claims of one protocol are one family: their
p-values are Holm-adjusted, and the verdict is taken on the adjusted p: *holds* when it is below
0.01; *contradicted* when the opposite one-sided tests, Holm-adjusted the same way, give one
below 0.01; *not shown* otherwise. The bound printed is the test's one-sided confidence bound at
the level that matches that verdict, 1 - 0.01 x (raw p / Holm p), so it lies beyond the margin
exactly when the claim holds. A group with fewer than two seeds cannot be tested and says so; a
network absent from the run is "not run". Figure 2 claims read the table behind Figure 2
(``results/fig2.csv``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from sparse_pkg.errors import InputError
from sparse_pkg.io.inputs import read_input
from sparse_pkg.network_definitions import NetworkDefinition
from sparse_pkg.reporting.claims import METRICS, Claim
from sparse_pkg.reporting.tables import NOT_RUN, run_scores
from sparse_pkg.statistics import WelchTest, holm, welch_test

ALPHA = 0.01
"""Significance level of every verdict."""
HOLDS, NOT_SHOWN, CONTRADICTED = "holds", "not shown", "contradicted"
NEEDS_TWO_SEEDS = "untested: the t-test needs at least two seeds per network"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim: cells of its row in results/claims.md."""

    effect: str
    interval: str
    p_value: str
    seeds: str
    verdict: str
    p_holm: str = "–"


def format_p(p: float) -> str:
    """A p-value for the table: three decimals, or scientific notation below 0.001."""
    if p == 0:
        return "0 (no spread)"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def format_value(metric: str, value: float, signed: bool = True) -> str:
    """A value of ``metric`` in its unit: a whole noise score with separators, else 2 decimals."""
    sign = "+" if signed else ""
    if metric == "noise_score":
        return f"{value:{sign},.0f}"
    return f"{value:{sign}.2f}"


# --- network claims ---------------------------------------------------------------------------

def per_run_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per run with every claim metric (validated as the tables validate the runs)."""
    if metrics.empty:
        columns = ["dataset", "network", "seed", "protocol", *(c for c, _ in METRICS.values())]
        return pd.DataFrame(columns=columns)
    parts = []
    for _, group in metrics.groupby("dataset", sort=False):
        runs = run_scores(group)
        runs["noise_score_percent"] = 100.0 * runs["noise_score"] / runs["max_noise_score"]
        parts.append(runs)
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class _Tested:
    """A claim whose two networks both have at least two seeds: its Welch test."""

    claim: Claim
    effect: str
    seeds: str
    test: WelchTest

    @property
    def opposite(self) -> str:
        return "less" if self.claim.direction == "greater" else "greater"


def _prepare(claim: Claim, runs: pd.DataFrame, protocol: str,
             definitions: Iterable[NetworkDefinition] | None) -> _Tested | Verdict:
    """The claim's Welch test, or its final verdict when it cannot be tested."""
    column = METRICS[claim.metric][0]
    chosen = runs[(runs["dataset"] == claim.dataset) & (runs["protocol"] == protocol)]
    first = chosen.loc[chosen["network"] == claim.network, column].astype(float).tolist()
    second = chosen.loc[chosen["network"] == claim.versus, column].astype(float).tolist()
    if not first or not second:
        known = {d.name for d in definitions or () if d.dataset == claim.dataset}
        undefined = [n for n in (claim.network, claim.versus)
                     if definitions is not None and n not in known]
        reason = (f" ({', '.join(undefined)}: not a {claim.dataset} network of the networks "
                  "file)" if undefined else "")
        return Verdict(NOT_RUN, "–", "–", f"{len(first)} / {len(second)}", NOT_RUN + reason)
    seeds = f"{len(first)} / {len(second)}"
    difference = sum(first) / len(first) - sum(second) / len(second)
    effect = format_value(claim.metric, difference)
    if len(first) < 2 or len(second) < 2:
        return Verdict(effect, "–", "–", seeds, NEEDS_TWO_SEEDS)
    return _Tested(claim, effect, seeds, welch_test(first, second, margin=claim.margin))


def matching_confidence(p: float, p_holm: float) -> float:
    """The one-sided confidence level whose bound lies beyond the margin exactly when the
    Holm-adjusted p is below ALPHA: 1 - ALPHA x p / p_holm (1 - ALPHA when both are 0)."""
    return 1.0 - ALPHA * (p / p_holm if p_holm > 0 else 1.0)


def format_bound(metric: str, direction: str, bound: float, confidence: float) -> str:
    """'≥ +294 (99.89 %)': the one-sided bound of the difference and its level."""
    sign = "≥" if direction == "greater" else "≤"
    return f"{sign} {format_value(metric, bound)} ({100 * confidence:.2f} %)"


def network_verdicts(claims: Sequence[Claim], runs: pd.DataFrame, protocol: str,
                     definitions: Iterable[NetworkDefinition] | None = None) -> list[Verdict]:
    """Effect, one-sided bound, raw and Holm-adjusted p, seeds and verdict of each network claim
    of ``protocol``, the testable ones adjusted together as one family.

    With ``definitions``, a network they lack is named in the "not run" verdict.
    """
    prepared = [_prepare(c, runs, protocol, definitions) for c in claims]
    tested = [t for t in prepared if isinstance(t, _Tested)]
    claimed = holm([t.test.p(t.claim.direction) for t in tested])
    opposite = holm([t.test.p(t.opposite) for t in tested])
    adjusted = {id(t): (claimed[i], opposite[i]) for i, t in enumerate(tested)}
    verdicts = []
    for item in prepared:
        if isinstance(item, Verdict):
            verdicts.append(item)
            continue
        direction, (p_holm, p_holm_other) = item.claim.direction, adjusted[id(item)]
        p = item.test.p(direction)
        verdict = (HOLDS if p_holm < ALPHA else CONTRADICTED if p_holm_other < ALPHA
                   else NOT_SHOWN)
        confidence = matching_confidence(p, p_holm)
        bound = format_bound(item.claim.metric, direction, item.test.bound(direction, confidence),
                             confidence)
        verdicts.append(Verdict(item.effect, bound, format_p(p), item.seeds, verdict,
                                format_p(p_holm)))
    return verdicts


def network_verdict(claim: Claim, runs: pd.DataFrame, protocol: str,
                    definitions: Iterable[NetworkDefinition] | None = None) -> Verdict:
    """The verdict of one claim tested alone (a family of one: Holm changes nothing)."""
    return network_verdicts([claim], runs, protocol, definitions)[0]


# --- Figure 2 claims --------------------------------------------------------------------------

FIGURE2_COLUMNS = ("n", "a", "label", "probability", "frequency", "trials")
"""Columns of results/fig2.csv that the Figure 2 claims read (sparse_pkg.theory.figure2_table)."""


def check_figure2(table: pd.DataFrame, path: str) -> pd.DataFrame:
    """The Figure 2 table, or InputError naming ``path`` when a needed column is missing."""
    missing = [c for c in FIGURE2_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; rebuild it with the "
                         "figure2 rule")
    return table


def read_figure2(path: str) -> pd.DataFrame:
    """results/fig2.csv as written by the figure2 rule; an unreadable or incomplete file is one
    InputError line naming it."""
    table = read_input(path, pd.read_csv, what="Figure 2 table", fix="rerun the figure2 rule")
    return check_figure2(table, path)


def _curve(figure2: pd.DataFrame, a: int) -> pd.DataFrame:
    rows = figure2[(figure2["a"] == a) & (figure2["label"] == f"a={a}")]
    return rows.sort_values("n")


def falls_verdict(claim: Claim, figure2: pd.DataFrame | None) -> Verdict:
    """Whether the exact probability falls at every step of n on each fixed-a curve."""
    curves = {a: _curve(figure2, a) for a in claim.actives} if figure2 is not None else {}
    present = {a: c for a, c in curves.items() if len(c) >= 2}
    if not present:
        return Verdict(NOT_RUN, "–", "–", "–", NOT_RUN)
    rises = []
    for a, curve in present.items():
        n, p = curve["n"].tolist(), curve["probability"].tolist()
        rises += [f"a={a}: n {n[i]:,} → {n[i + 1]:,}" for i in range(len(p) - 1)
                  if not p[i + 1] < p[i]]
    steps = sum(len(c) - 1 for c in present.values())
    spans = "; ".join(f"a={a}: {c['probability'].iloc[0]:.3g} (n={c['n'].iloc[0]:,}) → "
                      f"{c['probability'].iloc[-1]:.3g} (n={c['n'].iloc[-1]:,})"
                      for a, c in present.items())
    absent = [str(a) for a in claim.actives if a not in present]
    note = f"; a = {', '.join(absent)} not in the table" if absent else ""
    if rises:
        return Verdict(f"does not fall at {len(rises)} of {steps} steps ({rises[0]}){note}",
                       "–", "exact", "–", CONTRADICTED)
    return Verdict(f"falls at all {steps} steps: {spans}{note}", "–", "exact", "–", HOLDS)


def _binomial_upper_tail(k: int, n: int, q: float) -> float:
    """P(X >= k) for X ~ Binomial(n, q), summed exactly term by term."""
    return min(1.0, math.fsum(math.comb(n, j) * q**j * (1 - q) ** (n - j) for j in range(k, n + 1)))


def simulation_verdict(claim: Claim, figure2: pd.DataFrame | None) -> Verdict:
    """Whether the Monte Carlo points lie within k binomial SEs of the exact curve.

    The SE of each point is ``sqrt(p (1 - p) / trials)`` with p the exact probability (so it is
    defined where no trial matched). Even when every point is simulated correctly, each one lies
    outside k SEs with probability q = erfc(k / sqrt 2) (normal approximation); the claim is
    contradicted when more points lie outside than that allows (binomial test, p < 0.01).
    """
    if figure2 is None or figure2.empty:
        return Verdict(NOT_RUN, "–", "–", "–", NOT_RUN)
    p = figure2["probability"].astype(float)
    se = (p * (1.0 - p) / figure2["trials"].astype(float)) ** 0.5
    gap = (figure2["frequency"].astype(float) - p).abs()
    outside = int(((gap > claim.standard_errors * se) & (gap > 0)).sum())
    total = len(figure2)
    chance = math.erfc(claim.standard_errors / math.sqrt(2.0))
    p_value = _binomial_upper_tail(outside, total, chance)
    worst = float((gap / se.where(se > 0)).max()) if (se > 0).any() else 0.0
    effect = (f"{total - outside} of {total} points within {claim.standard_errors:g} SE "
              f"(chance alone puts {total * chance:.2f} outside; largest gap {worst:.2f} SE)")
    verdict = CONTRADICTED if p_value < ALPHA else HOLDS
    return Verdict(effect, "–", format_p(p_value) if outside else "–", "–", verdict)


