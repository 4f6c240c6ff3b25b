"""Tables 1 and 2 of the paper: test accuracy and noise score per network, mean ± std over seeds.

Pure functions of the tidy metrics table (``results/metrics.parquet``: one row per dataset,
network, seed, protocol and noise level). A run is one (dataset, network, seed, protocol); its test
accuracy is its accuracy on the clean test set (noise level 0.0) and its noise score is its
``correct`` count summed over all noise levels, the clean one included (PAPER.md sections 3-5).
Means and standard deviations over seeds use numpy's ``std`` with ddof 0, as the paper did. Both
selection protocols are summarised and every table says which one a section shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from sparse_pkg.errors import InputError
from sparse_pkg.network_definitions import NetworkDefinition, iter_definitions

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
    "noise_score_mean", "noise_score_std", "selected_epoch_mean", "noise_levels",
    "max_noise_score",
)  # fmt: skip
NOT_RUN = "not run"
MISSING = "–"
_LEVEL_DECIMALS = 9  # noise levels are compared after rounding, so 0.1 + 0.2 matches 0.3

Definitions = Mapping[str, Mapping[str, NetworkDefinition]] | Iterable[NetworkDefinition]


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
    frame["level"] = frame["noise_level"].astype(float).round(_LEVEL_DECIMALS)
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
        reference = _most_common(group["levels"])
        for key, levels in group["levels"].items():
            if levels != reference:
                raise MetricsError(
                    f"metrics table: run {_run_name(key)} has noise levels {_levels_text(levels)}"
                    f" but the other {dataset} runs have {_levels_text(reference)}; "
                    "re-run its evaluation at every level"
                )
        if 0.0 not in reference:
            raise MetricsError(
                f"metrics table: the {dataset} runs have no clean test level (noise_level 0.0); "
                "evaluate every run on the clean test set"
            )
        reference_max = _most_common(group["max_noise_score"])
        for key, value in group["max_noise_score"].items():
            if value != reference_max:
                raise MetricsError(
                    f"metrics table: run {_run_name(key)} was scored on {value:,} test samples "
                    f"over all levels but the other {dataset} runs on {reference_max:,}; "
                    "evaluate every run on the same test sets"
                )
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

    Standard deviations are numpy ``std`` with ddof 0 over the seeds (PAPER.md section 5). The
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
        noise_score_mean=("noise_score", "mean"),
        noise_score_std=("noise_score", _std0),
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


def _protocol_order(protocols: Iterable[str]) -> list[str]:
    known = [p for p in PROTOCOL_DESCRIPTIONS if p in set(protocols)]
    return known + sorted(set(protocols) - set(known))


def _published_cells(d: NetworkDefinition | None) -> tuple[str, str]:
    p = d.published if d is not None else None
    if p is None:
        return MISSING, MISSING
    return (format_accuracy(p.test_accuracy_mean, p.test_accuracy_std),
            format_noise_score(p.noise_score_mean, p.noise_score_std))


def _escape(cell: object) -> str:
    return str(cell).replace("|", "\\|")


def results_table_markdown(
    metrics: pd.DataFrame,
    definitions: Definitions,
    dataset: str,
    *,
    title: str,
    source_line: str,
    show_published: bool = False,
) -> str:
    """Table 1 (MNIST) or Table 2 (GSC) as markdown, one section per selection protocol.

    Rows follow the order of ``definitions`` (networks.yaml) and show each network's label,
    "Test score" (clean accuracy %, "99.14 ± 0.03") and "Noise score" ("74,569 ± 3,200"), mean ±
    std over seeds. A defined network without runs is listed as "not run"; a network that has
    runs but no definition is listed last under its name. The header gives ``title``,
    ``source_line`` (where the data came from, seeds, epochs) and the noise-score scale. With
    ``show_published``, a "Paper" column after each metric gives the published numbers.
    """
    subset = metrics[metrics["dataset"] == dataset] if "dataset" in metrics.columns else metrics
    summary = summarize(subset)
    defs = [d for d in iter_definitions(definitions) if d.dataset == dataset]
    by_name = {d.name: d for d in defs}
    names = [d.name for d in defs]
    names += [n for n in dict.fromkeys(summary["network"]) if n not in by_name]
    protocols = _protocol_order(summary["protocol"]) if len(summary) else list(
        PROTOCOL_DESCRIPTIONS)

    lines = [f"**{title}**", "", f"{source_line}  "]
    if len(summary):
        runs = run_scores(subset)
        levels = sorted(subset["noise_level"].astype(float).round(_LEVEL_DECIMALS).unique())
        count, test_size = int(runs["noise_levels"].iloc[0]), int(runs["test_size"].iloc[0])
        lines.append(
            f"Noise score = correct test classifications summed over {count} noise levels "
            f"({', '.join(f'{100 * level:g}' for level in levels)} %); max "
            f"{int(runs['max_noise_score'].iloc[0]):,} ({count} levels × {test_size:,} test "
            "samples). Test score = clean test accuracy in %. Mean ± std (ddof 0) over seeds."
        )
    else:
        lines.append(f"No {dataset} runs in the metrics table.")

    header = ["Network", "Test score", "Noise score"]
    align = ["---", "---:", "---:"]
    if show_published:
        header = ["Network", "Test score", "Paper", "Noise score", "Paper"]
        align = ["---", "---:", "---:", "---:", "---:"]
    for protocol in protocols:
        description = PROTOCOL_DESCRIPTIONS.get(protocol, "as recorded in the metrics table")
        rows = summary[summary["protocol"] == protocol].set_index("network")
        lines += ["", f"### Protocol `{protocol}`: {description}", "",
                  "| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
        for name in names:
            d = by_name.get(name)
            if name in rows.index:
                r = rows.loc[name]
                ours = (format_accuracy(r["test_accuracy_mean"], r["test_accuracy_std"]),
                        format_noise_score(r["noise_score_mean"], r["noise_score_std"]))
            else:
                ours = (NOT_RUN, NOT_RUN)
            cells = [d.label if d is not None else name, ours[0], ours[1]]
            if show_published:
                paper = _published_cells(d)
                cells = [cells[0], ours[0], paper[0], ours[1], paper[1]]
            lines.append("| " + " | ".join(_escape(c) for c in cells) + " |")
        seeds = rows["seeds"]
        if len(seeds) and seeds.nunique() > 1:
            counts = ", ".join(
                f"{by_name[n].label if n in by_name else n}: {int(seeds[n])}"
                for n in names if n in seeds.index
            )
            lines += ["", f"Seeds per network differ ({counts})."]
    return "\n".join(lines) + "\n"
