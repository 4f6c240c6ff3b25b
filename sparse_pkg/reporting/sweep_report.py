"""results/sweeps/NAME.md and .csv, and the sweeps' trend claims (claims.md, claims.csv).

Pure functions of the metrics table and the definitions. Every run of a sweep's network becomes a
point at its realised coordinates (sparse_pkg.sweeps.coordinates) with its clean test accuracy,
noise score and noise score as % of its maximum. The trend claim of a sweep asks whether the
noise score moves along its first varied axis as the paper expects (it rises as a density falls
and as n grows): for each seed, Spearman's rank correlation between the axis and the noise score
over the grid (averaged over the series that hold the other axes fixed); then a one-sample
t-test of those per-seed correlations against 0, one-sided in the expected direction, the
trend claims of one protocol Holm-adjusted together, with the verdict rules of the network claims.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sparse_pkg.network_definitions import NetworkDefinition
from sparse_pkg.reporting.claim_verdicts import (
    ALPHA,
    CONTRADICTED,
    HOLDS,
    NOT_SHOWN,
    format_p,
    matching_confidence,
    per_run_metrics,
)
from sparse_pkg.reporting.markdown import table_row
from sparse_pkg.reporting.tables import (
    MIN_SEEDS_FOR_STD,
    PROTOCOL_DESCRIPTIONS,
    format_spread,
    protocol_order,
)
from sparse_pkg.statistics import holm, mean_test
from sparse_pkg.sweeps import AXES, AXIS_CODES, AXIS_LABELS, EXPECTED_TREND, coordinates

METRIC = "noise_score_percent"
"""The trend claims' metric: the noise score as % of its maximum (the same order as the score)."""
POINT_COLUMNS = ("dataset", "sweep", "network", "label", "seed", "protocol", *AXES,
                 "test_accuracy", "noise_score", "noise_score_percent")


def sweep_names(definitions: Iterable[NetworkDefinition]) -> list[str]:
    """The sweeps that generated some of ``definitions``, in order of first appearance."""
    return list(dict.fromkeys(d.sweep for d in definitions if d.sweep is not None))


def sweep_points(metrics: pd.DataFrame, definitions: Iterable[NetworkDefinition],
                 sweep: str | None) -> pd.DataFrame:
    """One row per run of the networks of ``sweep`` (None: of no sweep, the paper's shape only)
    that have rows in ``metrics``: their coordinates and scores (POINT_COLUMNS)."""
    chosen = [d for d in definitions if d.sweep == sweep and (sweep or d.model is None)]
    frames = []
    for dataset in dict.fromkeys(d.dataset for d in chosen):
        names = {d.name: d for d in chosen if d.dataset == dataset}
        subset = metrics[(metrics["dataset"] == dataset) & metrics["network"].isin(names)]
        if subset.empty:
            continue
        runs = per_run_metrics(subset)
        for axis in AXES:
            runs[axis] = [coordinates(names[n])[axis] for n in runs["network"]]
        runs["label"] = [names[n].label for n in runs["network"]]
        runs["sweep"] = sweep
        frames.append(runs)
    if not frames:
        return pd.DataFrame(columns=list(POINT_COLUMNS))
    return pd.concat(frames, ignore_index=True).loc[:, list(POINT_COLUMNS)]


def varied(points: pd.DataFrame) -> list[str]:
    """The axes along which the points differ, in AXES order (the first is the x-axis)."""
    return [axis for axis in AXES if points[axis].nunique() > 1]


def summary(points: pd.DataFrame) -> pd.DataFrame:
    """Per network and protocol: coordinates, seeds, and mean, std (ddof 0), min and max of the
    test accuracy and the noise score (% of max and count)."""
    keys = ["protocol", "network", "label", *AXES]
    rows = []
    for key, group in points.groupby(keys, sort=False):
        row = dict(zip(keys, key, strict=True))
        row["seeds"] = len(group)
        for metric in ("test_accuracy", "noise_score", "noise_score_percent"):
            values = group[metric].astype(float)
            row[f"{metric}_mean"] = values.mean()
            row[f"{metric}_std"] = values.std(ddof=0)
            row[f"{metric}_min"], row[f"{metric}_max"] = values.min(), values.max()
        rows.append(row)
    return pd.DataFrame(rows)


def _spread(row: pd.Series, metric: str, noise: bool = False) -> str:
    """The tables' mean ± std or mean (min–max) (tables.format_spread); one seed: its value."""
    if row["seeds"] == 1:
        return f"{row[f'{metric}_mean']:,.{0 if noise else 2}f}"
    return format_spread(row, metric, noise=noise)


def axis_value(axis: str, value: float) -> str:
    return f"{int(value)}" if axis == "linear_n" else f"{value:.3g}"


# --- the trend claim --------------------------------------------------------------------------

@dataclass(frozen=True)
class Trend:
    """A sweep's trend claim on one protocol: the per-seed correlations and the verdict cells."""

    sweep: str
    axis: str
    direction: str
    correlations: tuple[float, ...]
    effect: str
    bound: str
    p_value: str
    p_holm: str
    seeds: str
    verdict: str

    @property
    def claim(self) -> str:
        word = "falls" if "density" in self.axis else "grows"
        return f"Noise score rises as the {AXIS_LABELS[self.axis].split(' (')[0]} {word}"

    @property
    def test(self) -> str:
        sign = "<" if self.direction == "less" else ">"
        return f"mean over seeds of Spearman ρ({AXIS_CODES[self.axis]}, noise score) {sign} 0"


def seed_correlations(points: pd.DataFrame, axis: str, protocol: str) -> dict[int, float]:
    """Seed -> Spearman's ρ between ``axis`` and the noise score over that seed's grid points,
    averaged over the series that hold the other varied axes fixed (a series needs at least
    three values of the axis; one whose scores are all equal has no ρ and is left out)."""
    from scipy import stats

    chosen = points[points["protocol"] == protocol]
    others = [a for a in varied(chosen) if a != axis]
    result = {}
    for seed, runs in chosen.groupby("seed", sort=True):
        values = []
        for _, series in (runs.groupby(others, sort=True) if others else [((), runs)]):
            if series[axis].nunique() < 3 or series[METRIC].nunique() < 2:
                continue
            rho = stats.spearmanr(series[axis], series[METRIC]).statistic
            if np.isfinite(rho):
                values.append(float(rho))
        if values:
            result[int(seed)] = float(np.mean(values))
    return result


def trend_claims(points_by_sweep: dict[str, pd.DataFrame], protocol: str) -> list[Trend]:
    """The trend claim of each sweep on ``protocol``, Holm-adjusted together."""
    prepared = []
    for sweep, points in points_by_sweep.items():
        axes = varied(points[points["protocol"] == protocol])
        if not axes:
            continue
        axis = axes[0]
        direction = EXPECTED_TREND[axis]
        rhos = seed_correlations(points, axis, protocol)
        prepared.append((sweep, axis, direction, rhos))
    testable = [(i, mean_test(list(r.values()))) for i, (_, _, _, r) in enumerate(prepared)
                if len(r) >= 2]
    claimed = holm([t.p(prepared[i][2]) for i, t in testable])
    opposite = holm([t.p("greater" if prepared[i][2] == "less" else "less")
                     for i, t in testable])
    adjusted = {i: (t, claimed[j], opposite[j]) for j, (i, t) in enumerate(testable)}
    trends = []
    for i, (sweep, axis, direction, rhos) in enumerate(prepared):
        seeds = f"{len(rhos)}"
        effect = f"ρ = {np.mean(list(rhos.values())):+.2f}" if rhos else "–"
        if i not in adjusted:
            verdict = ("untested: needs at least two seeds with a correlation (three or more "
                       "grid values on the axis, scores that differ)")
            trends.append(Trend(sweep, axis, direction, tuple(rhos.values()), effect, "–", "–",
                                "–", seeds, verdict))
            continue
        test, p_holm, p_other = adjusted[i]
        p = test.p(direction)
        verdict = HOLDS if p_holm < ALPHA else CONTRADICTED if p_other < ALPHA else NOT_SHOWN
        confidence = matching_confidence(p, p_holm)
        sign = "≤" if direction == "less" else "≥"
        bound = f"{sign} {test.bound(direction, confidence):+.2f} ({100 * confidence:.2f} %)"
        trends.append(Trend(sweep, axis, direction, tuple(rhos.values()), effect, bound,
                            format_p(p), format_p(p_holm), seeds, verdict))
    return trends


def trend_lines() -> list[str]:
    """The heading and explanation of the sweeps' section of claims.md."""
    return ["", "### Sweeps: trends over the grid", "",
            "Effect = mean over seeds of Spearman's ρ between the sweep's first varied axis and "
            "the noise score (% of max) over the grid points of one seed (averaged over the "
            "series holding the other axes fixed). p = one-sided one-sample t-test of the "
            "per-seed ρ against 0; the trend claims of a protocol are Holm-adjusted together, "
            "with the verdict rules above."]


# --- results/sweeps/NAME.md -------------------------------------------------------------------

def sweep_markdown(points: pd.DataFrame, paper_points: pd.DataFrame, sweep: str, *,
                   source_line: str, provenance_line: str | None = None) -> str:
    """The sweep's table: one row per grid point (and per paper network of the data set, for
    reference) with its coordinates and scores, one section per protocol, then its trend."""
    axes = varied(points) or [a for a in AXES if a in points]
    lines = [f"**Sweep `{sweep}`: noise score and clean accuracy across the grid**", "",
             f"{source_line}  "]
    if provenance_line:
        lines.append(f"{provenance_line}  ")
    if points.empty:
        lines.append("No runs of this sweep in the metrics table.")
        return "\n".join(lines) + "\n"
    dataset = points["dataset"].iloc[0]
    lines.append(
        f"{points['network'].nunique()} networks of {dataset}, derived from one network of the "
        "networks file; coordinates as realised (k rounded to whole units). Noise % = noise "
        "score as % of its maximum. Mean ± std (ddof 0) over seeds; with fewer than "
        f"{MIN_SEEDS_FOR_STD} seeds, mean (min–max). Rows in *italics*: the paper's networks of "
        "this run, for reference.")
    header = ["Network", *[AXIS_LABELS[a] for a in axes], "Seeds", "Test acc. %", "Noise score",
              "Noise %"]
    for protocol in protocol_order(points["protocol"]):
        description = PROTOCOL_DESCRIPTIONS.get(protocol, "as recorded in the metrics table")
        lines += ["", f"### Protocol `{protocol}`: {description}", "", table_row(header),
                  "|---|" + "---:|" * (len(header) - 1)]
        for frame, italic in ((points, False), (paper_points, True)):
            rows = summary(frame[frame["protocol"] == protocol]) if len(frame) else frame
            if italic and len(rows):
                rows = rows.sort_values(axes[0], kind="stable")
            for _, row in rows.iterrows():
                label = f"*{row['label']}*" if italic else f"`{row['network']}`"
                lines.append(table_row([label, *[axis_value(a, row[a]) for a in axes],
                                        int(row["seeds"]), _spread(row, "test_accuracy"),
                                        _spread(row, "noise_score", noise=True),
                                        _spread(row, "noise_score_percent")]))
        (trend,) = trend_claims({sweep: points}, protocol) or (None,)
        if trend is not None:
            rhos = ", ".join(f"{r:+.2f}" for r in trend.correlations) or "none"
            lines += ["", f"Trend: {trend.claim.lower()}: {trend.effect} (per seed: {rhos}); "
                          f"{trend.test}: p = {trend.p_value}, *{trend.verdict}* (this sweep "
                          "alone; claims.md adjusts over all sweeps)."]
    return "\n".join(lines) + "\n"
