"""Tables 1 and 2 of the paper: test accuracy and noise score per network, mean ± std over seeds.

Pure functions of the tidy metrics table (``results/metrics.parquet``: one row per dataset,
network, seed, protocol and noise level). A run is one (dataset, network, seed, protocol); its test
accuracy is its accuracy on the clean test set (noise level 0.0) and its noise score is its
``correct`` count summed over all noise levels, the clean one included (docs/protocol.md §5.2).
Means and standard deviations over seeds use numpy's ``std`` with ddof 0, as the paper did. Both
selection protocols are summarised and every table says which one a section shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from sparse_pkg.datasets import registry
from sparse_pkg.errors import InputError
from sparse_pkg.network_definitions import NetworkDefinition
from sparse_pkg.reporting.markdown import table_row
from sparse_pkg.reporting.paper_layout import LEVEL_DECIMALS, results_table_title

RUN_KEYS = ("dataset", "network", "seed", "protocol")
"""Columns that identify one run (one trained model scored at every noise level)."""
REQUIRED_COLUMNS = (*RUN_KEYS, "selected_epoch", "noise_level", "correct", "total", "accuracy")
PROTOCOL_DESCRIPTIONS = {
    "paper": "epoch with the best clean test accuracy (as in the paper; selects on the test set)",
    "final": "last epoch (no test-set selection)",
}
"""What each model-selection protocol means; every table section and figure says it."""
SUMMARY_COLUMNS = (
    "dataset", "protocol", "network", "seeds", "test_accuracy_mean", "test_accuracy_std",
    "test_accuracy_min", "test_accuracy_max", "noise_score_mean", "noise_score_std",
    "noise_score_min", "noise_score_max", "selected_epoch_mean", "noise_levels",
    "max_noise_score",
)  # fmt: skip
MIN_SEEDS_FOR_STD = 3
"""Under this many seeds a standard deviation says little: tables give the range instead, and
the noise figures draw each seed's curve instead of a ±1 std band (half the range)."""
NOT_RUN = "not run"
MISSING = "–"
PAPER_NOISE_LEVELS = tuple(round(0.05 * i, 2) for i in range(11))
"""The paper's noise levels, 0 to 50 % in steps of 5 (docs/protocol.md §3.4, §4.6)."""
PAPER_MAX_NOISE_SCORE = {name: facts.paper_max_noise_score
                         for name, facts in registry.BUILT_IN.items()}
"""The paper's maximum noise score: 11 levels x its test-set size (docs/protocol.md §3.4, §4.6).
The published noise scores are shown as a percentage of it, beside ours as a percentage of this
run's maximum, so a run with a smaller test set (the demo) can be set beside the paper."""

Definitions = Iterable[NetworkDefinition]


class MetricsError(InputError, ValueError):
    """The metrics table is inconsistent; the one-line message names the run at fault."""


def _run_name(key: tuple) -> str:
    dataset, network, seed, protocol = key
    return f"{dataset}/{network} seed {seed} protocol {protocol!r}"


def _levels_text(levels: Iterable[float]) -> str:
    return "[" + ", ".join(f"{level:g}" for level in levels) + "]"


def _most_common(values: pd.Series) -> object:
    """The most frequent value (ties: the first seen), the reference the others must match."""
    counts = values.value_counts(sort=False)
    return counts.index[int(np.argmax(counts.to_numpy()))]


def _require_agreement(values: pd.Series, dataset: str, odd: Callable[[Any], str],
                       common: Callable[[Any], str], remedy: str) -> None:
    """MetricsError naming the first run of ``dataset`` whose value differs from the most common
    one; ``odd`` and ``common`` describe that run's value and the others' in the message."""
    reference = _most_common(values)
    for key, value in values.items():
        if value != reference:
            raise MetricsError(f"metrics table: run {_run_name(key)} {odd(value)} but the other "
                               f"{dataset} runs {common(reference)}; {remedy}")


def run_scores(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per run: its clean test accuracy (%) and noise score, after validating the table.

    Columns: dataset, network, seed, protocol, selected_epoch, test_accuracy (accuracy at noise
    level 0.0, x100), noise_score (sum of ``correct`` over all levels), noise_levels (how many),
    test_size (``total`` at level 0.0) and max_noise_score (sum of ``total``). Raises
    :class:`MetricsError` (a ValueError) naming the run when a column is missing, a (run, level)
    row is duplicated, a run's noise levels or test-set sizes differ from the other runs of its
    data set, its selected epoch differs between levels, or there is no clean level.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in metrics.columns]
    if missing:
        raise MetricsError(
            f"metrics table: missing column(s) {', '.join(missing)}; "
            "rebuild results/metrics.parquet with the evaluate/aggregate rules"
        )
    keys = list(RUN_KEYS)
    frame = metrics.loc[:, list(REQUIRED_COLUMNS)].copy()
    frame["level"] = frame["noise_level"].astype(float).round(LEVEL_DECIMALS)
    duplicated = frame.duplicated([*keys, "level"])
    if duplicated.any():
        row = frame[duplicated].iloc[0]
        raise MetricsError(
            f"metrics table: run {_run_name(tuple(row[keys]))} has more than one row at noise "
            f"level {row['level']:g}; aggregate each evaluation once"
        )
    frame = frame.sort_values([*keys, "level"], kind="stable")
    runs = frame.groupby(keys, sort=False).agg(
        levels=("level", tuple),
        epochs=("selected_epoch", "nunique"),
        selected_epoch=("selected_epoch", "first"),
        noise_score=("correct", "sum"),
        max_noise_score=("total", "sum"),
    )
    for dataset, group in runs.groupby(level="dataset", sort=False):
        _require_agreement(group["levels"], dataset,
                           lambda v: f"has noise levels {_levels_text(v)}",
                           lambda v: f"have {_levels_text(v)}",
                           "re-run its evaluation at every level")
        if 0.0 not in _most_common(group["levels"]):
            raise MetricsError(
                f"metrics table: the {dataset} runs have no clean test level (noise_level 0.0); "
                "evaluate every run on the clean test set"
            )
        _require_agreement(group["max_noise_score"], dataset,
                           lambda v: f"was scored on {v:,} test samples over all levels",
                           lambda v: f"on {v:,}", "evaluate every run on the same test sets")
    varying = runs[runs["epochs"] > 1]
    if len(varying):
        raise MetricsError(
            f"metrics table: run {_run_name(varying.index[0])} has different selected_epoch "
            "values at different noise levels; each run must score one checkpoint"
        )
    clean = frame[frame["level"] == 0.0].set_index(keys)
    out = runs.reset_index()
    index = pd.MultiIndex.from_frame(out[keys])
    out["test_accuracy"] = 100.0 * clean["accuracy"].astype(float).reindex(index).to_numpy()
    out["test_size"] = clean["total"].reindex(index).to_numpy().astype(np.int64)
    out["noise_levels"] = out["levels"].map(len).astype(np.int64)
    columns = [*keys, "selected_epoch", "test_accuracy", "noise_score", "noise_levels",
               "test_size", "max_noise_score"]
    return out[columns].astype({"noise_score": np.int64, "max_noise_score": np.int64})


def _std0(values: pd.Series) -> float:
    return float(np.std(values.to_numpy(dtype=float), ddof=0))


def summarize(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, protocol, network): seeds, accuracy % and noise score mean/std, mean epoch.

    Standard deviations are numpy ``std`` with ddof 0 over the seeds (docs/protocol.md §5.2). The
    runs are validated first (see :func:`run_scores`): every run of a data set must have the
    same noise levels, else a ValueError names the run. Columns: :data:`SUMMARY_COLUMNS`;
    ``noise_levels`` and ``max_noise_score`` (levels x test size) describe the data set's test.
    """
    runs = run_scores(metrics)
    groups = runs.groupby(["dataset", "protocol", "network"], sort=False)
    summary = groups.agg(
        seeds=("seed", "nunique"),
        test_accuracy_mean=("test_accuracy", "mean"),
        test_accuracy_std=("test_accuracy", _std0),
        test_accuracy_min=("test_accuracy", "min"),
        test_accuracy_max=("test_accuracy", "max"),
        noise_score_mean=("noise_score", "mean"),
        noise_score_std=("noise_score", _std0),
        noise_score_min=("noise_score", "min"),
        noise_score_max=("noise_score", "max"),
        selected_epoch_mean=("selected_epoch", "mean"),
        noise_levels=("noise_levels", "first"),
        max_noise_score=("max_noise_score", "first"),
    ).reset_index()
    summary = summary.astype({"seeds": np.int64, "noise_levels": np.int64,
                              "max_noise_score": np.int64, "selected_epoch_mean": float})
    return summary.loc[:, list(SUMMARY_COLUMNS)]


def format_accuracy(mean: float, std: float) -> str:
    """``(99.14, 0.031)`` -> ``"99.14 ± 0.03"``: accuracy in %, two decimals."""
    return f"{mean:.2f} ± {std:.2f}"


def format_noise_score(mean: float, std: float) -> str:
    """``(74569.4, 3200.2)`` -> ``"74,569 ± 3,200"``: rounded to integers, thousands separators."""
    return f"{mean:,.0f} ± {std:,.0f}"


def format_spread(row: pd.Series, metric: str, scale: float = 1.0, noise: bool = False) -> str:
    """Mean ± std of ``metric`` over the seeds, or, with fewer than :data:`MIN_SEEDS_FOR_STD`
    seeds, the mean and the range: ``"89.28 (89.10–89.46)"``. ``scale`` multiplies every value
    (noise score -> % of max); ``noise`` formats whole noise scores."""
    mean, std = row[f"{metric}_mean"] * scale, row[f"{metric}_std"] * scale
    if row["seeds"] >= MIN_SEEDS_FOR_STD:
        return format_noise_score(mean, std) if noise else format_accuracy(mean, std)
    low, high = row[f"{metric}_min"] * scale, row[f"{metric}_max"] * scale
    if noise:
        return f"{mean:,.0f} ({low:,.0f}–{high:,.0f})"
    return f"{mean:.2f} ({low:.2f}–{high:.2f})"


def protocol_order(protocols: Iterable[str]) -> list[str]:
    """The protocols present, known ones first in :data:`PROTOCOL_DESCRIPTIONS` order, then any
    other sorted; every known protocol when none is present (an empty table still shows them)."""
    protocols = set(protocols)
    known = [p for p in PROTOCOL_DESCRIPTIONS if p in protocols]
    return known + sorted(protocols - set(known)) or list(PROTOCOL_DESCRIPTIONS)


def format_difference(value: float) -> str:
    """``0.456`` -> ``"+0.46"``: ours minus the paper's, in points, always signed."""
    return f"{value:+.2f}"


def _published_cells(d: NetworkDefinition | None, dataset: str,
                     ours: pd.Series | None) -> list[str]:
    """Paper accuracy, its Δ, paper noise score as % of the paper's maximum, its Δ."""
    p = d.published if d is not None else None
    if p is None:
        return [MISSING] * 4
    scale = 100.0 / PAPER_MAX_NOISE_SCORE[dataset]
    paper_noise = p.noise_score_mean * scale
    cells = [format_accuracy(p.test_accuracy_mean, p.test_accuracy_std), MISSING,
             format_accuracy(paper_noise, p.noise_score_std * scale), MISSING]
    if ours is not None:
        cells[1] = format_difference(ours["test_accuracy_mean"] - p.test_accuracy_mean)
        cells[3] = format_difference(ours["noise_percent_mean"] - paper_noise)
    return cells


def _published_note(dataset: str, levels: list[float]) -> str:
    """How the paper's columns are scaled, and whether this run's levels match the paper's."""
    note = (f"Paper = the published mean ± std over 10 repetitions (`paper` protocol; "
            f"docs/protocol.md §{'5.3' if dataset == 'mnist' else '5.4'}), the noise score as % "
            f"of the paper's max {PAPER_MAX_NOISE_SCORE[dataset]:,}; our noise score is also given "
            "as % of this run's max. Δ = ours − paper, in points.")
    if levels and [round(x, 2) for x in levels] != list(PAPER_NOISE_LEVELS):
        note += (f" This run scores {len(levels)} noise levels, the paper {len(PAPER_NOISE_LEVELS)}"
                 " (0-50 % in steps of 5): the noise percentages are not directly comparable.")
    return note


def results_table_markdown(
    metrics: pd.DataFrame,
    definitions: Definitions,
    dataset: str,
    *,
    source_line: str,
    title: str | None = None,
    show_published: bool = True,
    provenance_line: str | None = None,
) -> str:
    """Table 1 (MNIST) or Table 2 (GSC) as markdown, one section per selection protocol.

    Rows follow the order of ``definitions`` (networks.yaml) and show each network's label,
    "Test acc. %" (clean accuracy, "99.14 ± 0.03") and "Noise score" ("74,569 ± 3,200"), mean ±
    std over seeds. A defined network without runs is listed as "not run"; a network that has
    runs but no definition is listed last under its name; the networks of sweeps are left out
    (results/sweeps/ shows them). The header gives ``title`` (default:
    :func:`results_table_title`), ``source_line`` (where the data came from, seeds, epochs) and
    the noise-score scale. With ``show_published`` (the default), each metric is followed by the
    paper's published number ("Paper") and ours minus the paper's ("Δ"); the noise score is then
    also given as a percentage of its maximum (levels x test size), the paper's as a percentage
    of 110,000 (MNIST) or 28,072 (GSC), so runs with smaller test sets compare on the same scale.
    ``provenance_line`` (what made the results, sparse_pkg.provenance.headline) follows the
    source line.
    """
    subset = metrics[metrics["dataset"] == dataset] if "dataset" in metrics.columns else metrics
    every = [d for d in definitions if d.dataset == dataset]
    swept = {d.name for d in every if d.sweep is not None}  # shown in results/sweeps/
    subset = subset[~subset["network"].isin(swept)]
    summary = summarize(subset)
    defs = [d for d in every if d.sweep is None]
    by_name = {d.name: d for d in defs}
    names = [d.name for d in defs]
    names += [n for n in dict.fromkeys(summary["network"]) if n not in by_name]
    protocols = protocol_order(summary["protocol"])

    summary["noise_percent_mean"] = 100.0 * summary["noise_score_mean"] / summary["max_noise_score"]
    levels: list[float] = []
    lines = [f"**{title or results_table_title(dataset)}**", "", f"{source_line}  "]
    if provenance_line:
        lines.append(f"{provenance_line}  ")
    if len(summary):
        runs = run_scores(subset)
        levels = sorted(subset["noise_level"].astype(float).round(LEVEL_DECIMALS).unique())
        count, test_size = int(runs["noise_levels"].iloc[0]), int(runs["test_size"].iloc[0])
        lines.append(
            f"Noise score = correct test classifications summed over {count} noise levels "
            f"({', '.join(f'{100 * level:g}' for level in levels)} %); max "
            f"{int(runs['max_noise_score'].iloc[0]):,} ({count} levels × {test_size:,} test "
            "samples). Test acc. = clean test accuracy in %. Mean ± std (ddof 0) over seeds; "
            f"with fewer than {MIN_SEEDS_FOR_STD} seeds, mean (min–max) instead."
        )
    else:
        lines.append(f"No {dataset} runs in the metrics table.")
    if show_published:
        lines[-1] += "  "
        lines.append(_published_note(dataset, levels))

    header = ["Network", "Test acc. %", "Noise score"]
    align = ["---", "---:", "---:"]
    if show_published:
        header = ["Network", "Test acc. %", "Paper acc.", "Δ acc.", "Noise score",
                  "Noise % of max", "Paper noise %", "Δ noise %"]
        align = ["---", *["---:"] * 7]
    for protocol in protocols:
        description = PROTOCOL_DESCRIPTIONS.get(protocol, "as recorded in the metrics table")
        rows = summary[summary["protocol"] == protocol].set_index("network")
        lines += ["", f"### Protocol `{protocol}`: {description}", "",
                  table_row(header), "|" + "|".join(align) + "|"]
        for name in names:
            d = by_name.get(name)
            r = rows.loc[name] if name in rows.index else None
            if r is not None:
                ours = (format_spread(r, "test_accuracy"),
                        format_spread(r, "noise_score", noise=True),
                        format_spread(r, "noise_score", 100.0 / r["max_noise_score"]))
            else:
                ours = (NOT_RUN, NOT_RUN, NOT_RUN)
            cells = [d.label if d is not None else name, ours[0], ours[1]]
            if show_published:
                paper = _published_cells(d, dataset, r)
                cells = [cells[0], ours[0], paper[0], paper[1], ours[1], ours[2], paper[2],
                         paper[3]]
            lines.append(table_row(cells))
        seeds = rows["seeds"]
        if len(seeds) and seeds.nunique() > 1:
            counts = ", ".join(
                f"{by_name[n].label if n in by_name else n}: {int(seeds[n])}"
                for n in names if n in seeds.index
            )
            lines += ["", f"Seeds per network differ ({counts})."]
    return "\n".join(lines) + "\n"
