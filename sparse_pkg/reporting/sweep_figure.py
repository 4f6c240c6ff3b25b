"""results/sweeps/NAME.png and .pdf: noise score and clean accuracy against the sweep's axis.

Two panels share the x-axis, the sweep's first varied axis (sparse_pkg.sweeps.AXES order): the
noise score as % of its maximum, and the clean test accuracy. One line per series (a fixed value
of each other varied axis); a point is the mean over seeds with a bar of ±1 std (ddof 0, as the
tables) from 3 seeds, of the min–max range below that. The paper's networks of the run are
marked as stars at their own coordinates and labelled. Saved as the other figures are
(sparse_pkg.reporting.figures: default style, metadata-free, atomic).
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from sparse_pkg.reporting.figures import (
    PathLike,
    _default_style,
    _footer,
    _protocol_text,
    _save,
)
from sparse_pkg.reporting.sweep_report import axis_value, summary, varied
from sparse_pkg.reporting.tables import MIN_SEEDS_FOR_STD
from sparse_pkg.sweeps import AXIS_LABELS, AXIS_WORDS

PANELS = (("noise_score_percent", "Noise score (% of max)"),
          ("test_accuracy", "Clean test accuracy (%)"))


def _errors(rows: pd.DataFrame, metric: str) -> tuple[list[float], list[float]]:
    """Lower and upper bar lengths: ±1 std from MIN_SEEDS_FOR_STD seeds, else the range."""
    mean = rows[f"{metric}_mean"]
    if int(rows["seeds"].min()) >= MIN_SEEDS_FOR_STD:
        std = rows[f"{metric}_std"]
        return list(std), list(std)
    return list(mean - rows[f"{metric}_min"]), list(rows[f"{metric}_max"] - mean)


@_default_style
def sweep_figure(points: pd.DataFrame, paper_points: pd.DataFrame, sweep: str, protocol: str,
                 *, label: str) -> Figure:
    """The figure of one sweep on one protocol (see the module docstring)."""
    fig = Figure(figsize=(10.0, 4.4), layout="constrained")
    axes = fig.subplots(1, 2)
    chosen = summary(points[points["protocol"] == protocol]) if len(points) else points
    varied_axes = varied(points) if len(points) else []
    x = varied_axes[0] if varied_axes else "linear_activation_density"
    others = varied_axes[1:]
    paper = (summary(paper_points[paper_points["protocol"] == protocol])
             if len(paper_points) else paper_points)
    seeds = int(chosen["seeds"].min()) if len(chosen) else 0
    what = "±1 std" if seeds >= MIN_SEEDS_FOR_STD else "min–max"
    for ax, (metric, ylabel) in zip(axes, PANELS, strict=True):
        ax.set_xlabel(AXIS_LABELS[x])
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        if chosen.empty:
            ax.text(0.5, 0.5, "no runs of this sweep", transform=ax.transAxes, ha="center")
            continue
        groups = chosen.groupby(others, sort=True) if others else [((), chosen)]
        for index, (key, series) in enumerate(groups):
            key = key if isinstance(key, tuple) else (key,)
            series = series.sort_values(x)
            name = ", ".join(f"{AXIS_WORDS[a]} {axis_value(a, v)}"
                             for a, v in zip(others, key, strict=True)) or sweep
            lower, upper = _errors(series, metric)
            ax.errorbar(series[x], series[f"{metric}_mean"], yerr=[lower, upper], marker="o",
                        markersize=4, capsize=3, linewidth=1.2, color=f"C{index % 10}",
                        label=name)
        for _, row in paper.iterrows():
            ax.plot([row[x]], [row[f"{metric}_mean"]], marker="*", markersize=11, color="0.2",
                    linestyle="none", zorder=5)
            ax.annotate(row["label"], (row[x], row[f"{metric}_mean"]), xytext=(4, 3),
                        textcoords="offset points", fontsize=7, color="0.2")
        values = list(chosen[x]) + list(paper[x]) if len(paper) else list(chosen[x])
        if x != "linear_n" and min(values) > 0 and max(values) / min(values) >= 10:
            ax.set_xscale("log")
    if len(chosen):
        handles, labels = axes[0].get_legend_handles_labels()
        if paper is not None and len(paper):
            handles.append(axes[0].lines[-1])
            labels.append("the paper's networks (this run)")
        axes[1].legend(handles, labels, fontsize=7, frameon=False, loc="best",
                       title=f"mean, {what} over {seeds} seed(s)", title_fontsize=7)
    fig.suptitle(f"Sweep '{sweep}': robustness and accuracy across the grid", x=0.01, ha="left",
                 fontsize=11)
    axes[0].set_title(_protocol_text(protocol), fontsize=8, loc="left")
    _footer(fig, label)
    return fig


def plot_sweep(points: pd.DataFrame, paper_points: pd.DataFrame, sweep: str, protocol: str,
               png_path: PathLike, pdf_path: PathLike, *, label: str) -> None:
    """Write the sweep's figure as PNG and PDF."""
    _save(sweep_figure(points, paper_points, sweep, protocol, label=label), png_path, pdf_path)
