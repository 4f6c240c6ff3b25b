"""Figures 2 and 4 of the paper and the GSC noise curves, drawn from the pipeline's tables.

Pure functions of their inputs (the Figure 2 table of :mod:`sparse_pkg.theory`, the tidy metrics
table, the network definitions): each writes a PNG and a PDF atomically and returns nothing.
Figures are built on :class:`matplotlib.figure.Figure` directly (Agg rendering, no pyplot state)
and saved without creator, producer or date metadata, so the same inputs give the same bytes.
"""

from __future__ import annotations

import functools
import os
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence

import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sparse_pkg.io.atomic import atomic_path
from sparse_pkg.network_definitions import iter_definitions
from sparse_pkg.reporting.tables import PROTOCOL_DESCRIPTIONS, Definitions, run_scores
from sparse_pkg.theory import DENSE_LABEL

FIGURE4_NETWORKS = ("denseCNN1", "denseCNN2", "sparseCNN1", "sparseCNN2")
"""Networks of Figure 4B (PAPER.md section 3)."""
FIGURE4_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
"""Noise levels of the sample digits in Figure 4A."""
NOISE_AXIS_LABELS = {
    "mnist": "Noise level (% of pixels replaced)",
    "gsc": "White-noise level a (%)",
}
FIGURE2_COLUMNS = ("n", "a", "label", "s", "theta", "probability", "frequency", "matches",
                   "trials")
_PNG_METADATA = {"Software": None}
_PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}
_DPI = 150
_LEVEL_DECIMALS = 9

PathLike = str | os.PathLike


def _save(fig: Figure, png_path: PathLike, pdf_path: PathLike) -> None:
    """Write ``fig`` as PNG and PDF, each atomically and without run-dependent metadata."""
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png", dpi=_DPI, metadata=_PNG_METADATA)
    with atomic_path(pdf_path) as tmp:
        fig.savefig(tmp, format="pdf", metadata=_PDF_METADATA)


def _default_style(plot: Callable[..., None]) -> Callable[..., None]:
    """Draw with matplotlib's default style, so a user's matplotlibrc cannot change the output."""

    @functools.wraps(plot)
    def wrapper(*args, **kwargs) -> None:
        with matplotlib.style.context("default"):
            plot(*args, **kwargs)

    return wrapper


def _protocol_text(protocol: str) -> str:
    """The selection protocol in words, wrapped to fit under a title."""
    text = f"protocol '{protocol}': {PROTOCOL_DESCRIPTIONS.get(protocol, protocol)}"
    return textwrap.fill(text, width=72)


# --- Figure 2 ----------------------------------------------------------------------------------


def figure2_series(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """What Figure 2 draws, per curve: ``(label, line, points)`` in legend order.

    ``line`` holds n and the exact probability of every row of that label, sorted by n;
    ``points`` holds n and the simulated frequency of the rows with at least one match (a zero
    frequency has no place on the log axis). Curves with a fixed a come first, ordered by a;
    the dense reference (label ``DENSE_LABEL``) comes last. ValueError on missing columns.
    """
    missing = [c for c in FIGURE2_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"Figure 2 table: missing column(s) {', '.join(missing)}")
    labels = list(dict.fromkeys(table["label"]))
    fixed = sorted((x for x in labels if x != DENSE_LABEL),
                   key=lambda x: int(table.loc[table["label"] == x, "a"].min()))
    out = []
    for label in fixed + [x for x in labels if x == DENSE_LABEL]:
        rows = table[table["label"] == label].sort_values("n", kind="stable")
        line = rows[["n", "probability"]].reset_index(drop=True)
        points = rows.loc[rows["matches"] > 0, ["n", "frequency"]].reset_index(drop=True)
        out.append((label, line, points))
    return out


def figure2_caption(table: pd.DataFrame) -> str:
    """Caption of Figure 2; says what the dense line a = n/2 gives by the formula (PAPER.md 6)."""
    text = ("Lines: exact formula; points: simulated frequencies (n without a simulated match "
            "omitted on the log axis).")
    dense = table.loc[table["label"] == DENSE_LABEL, "probability"]
    if len(dense):
        text += (f"\nThe dense line a = n/2 follows the formula (≈{dense.mean():.2f}), unlike the "
                 "≈0.005 of the original figure.")
    return text


@_default_style
def plot_figure2(table: pd.DataFrame, png_path: PathLike, pdf_path: PathLike) -> None:
    """Figure 2: false-match probability vs vector length n, exact (lines) and simulated (points).

    Log y axis; one curve per active count a and the dense reference a = n/2. The caption says
    that the dense line follows the formula (about 0.58 with s = 24, theta = 12), unlike the
    ~0.005 of the original figure (PAPER.md section 6).
    """
    series = figure2_series(table)
    s, theta = int(table["s"].iloc[0]), int(table["theta"].iloc[0])
    trials = int(table["trials"].max())
    fig = Figure(figsize=(6.4, 5.2))  # fixed margins: a layout engine would double the time
    fig.subplots_adjust(left=0.12, right=0.97, top=0.93, bottom=0.17)
    ax = fig.add_subplot()
    for index, (label, line, points) in enumerate(series):
        color = f"C{index}"
        ax.plot(line["n"], line["probability"], color=color, label=label)
        ax.plot(points["n"], points["frequency"], "o", color=color, markersize=4,
                markerfacecolor="none")
    ax.set_yscale("log")
    ax.set_xlabel("Vector length n")
    ax.set_ylabel("Probability of a false match")
    ax.grid(True, which="major", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="0.3", marker="o", linestyle="none",
                          markerfacecolor="none"))
    labels.append(f"simulated ({trials:,} trials)")
    ax.legend(handles, labels, loc="lower left", fontsize=8)
    ax.set_title(f"Figure 2. Match probability of random sparse vectors (s = {s}, θ = {theta})",
                 fontsize=10)
    fig.text(0.01, 0.01, figure2_caption(table), fontsize=7, va="bottom")
    _save(fig, png_path, pdf_path)


# --- Noise curves ------------------------------------------------------------------------------


def _labels(definitions: Definitions, dataset: str) -> dict[str, str]:
    return {d.name: d.label for d in iter_definitions(definitions) if d.dataset == dataset}


def noise_curve_table(
    metrics: pd.DataFrame, dataset: str, networks: Sequence[str] | None, protocol: str
) -> pd.DataFrame:
    """Accuracy (%) per (network, noise level): mean and std (ddof 0) over seeds.

    Only ``dataset`` and ``protocol`` rows are used; ``networks`` (None: every network present)
    fixes the order, and networks without rows are left out. Columns: network, noise_level (%),
    accuracy_mean, accuracy_std, seeds. The runs are validated as for the tables.
    """
    rows = metrics[(metrics["dataset"] == dataset) & (metrics["protocol"] == protocol)]
    run_scores(rows)  # same consistency checks as the tables (one level set per data set, ...)
    present = list(dict.fromkeys(rows["network"]))
    order = [n for n in (present if networks is None else networks) if n in set(present)]
    rows = rows[rows["network"].isin(order)].assign(
        level=lambda f: f["noise_level"].astype(float).round(_LEVEL_DECIMALS),
        pct=lambda f: 100.0 * f["accuracy"].astype(float),
    )
    curve = rows.groupby(["network", "level"]).agg(
        accuracy_mean=("pct", "mean"),
        accuracy_std=("pct", lambda v: float(np.std(v.to_numpy(), ddof=0))),
        seeds=("seed", "nunique"),
    ).reset_index()
    curve["noise_level"] = 100.0 * curve.pop("level")
    curve["rank"] = curve["network"].map({n: i for i, n in enumerate(order)})
    curve = curve.sort_values(["rank", "noise_level"], kind="stable").drop(columns="rank")
    columns = ["network", "noise_level", "accuracy_mean", "accuracy_std", "seeds"]
    return curve[columns].reset_index(drop=True)


def _draw_noise_curves(
    ax: Axes, metrics: pd.DataFrame, definitions: Definitions, dataset: str,
    networks: Sequence[str] | None, protocol: str,
) -> None:
    """Mean accuracy vs noise level per network, with a ±1 std band over seeds, on ``ax``."""
    curve = noise_curve_table(metrics, dataset, networks, protocol)
    labels = _labels(definitions, dataset)
    markers = "osD^vP*X"
    for index, (name, group) in enumerate(curve.groupby("network", sort=False)):
        x, mean, std = (group[c].to_numpy() for c in ("noise_level", "accuracy_mean",
                                                       "accuracy_std"))
        color = f"C{index % 10}"
        ax.plot(x, mean, marker=markers[index % len(markers)], markersize=4, color=color,
                label=labels.get(name, name))
        ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)
    if curve.empty:
        ax.text(0.5, 0.5, f"no {dataset} runs of these networks", transform=ax.transAxes,
                ha="center", va="center")
    else:
        ax.legend(fontsize=8, loc="lower left")
    ax.set_xlabel(NOISE_AXIS_LABELS.get(dataset, "Noise level (%)"))
    ax.set_ylabel("Test accuracy (%)")
    ax.grid(True, alpha=0.3)


@_default_style
def plot_noise_curves(
    metrics: pd.DataFrame, definitions: Definitions, dataset: str,
    networks: Sequence[str] | None, protocol: str, png_path: PathLike, pdf_path: PathLike,
    title: str,
) -> None:
    """Accuracy (%) vs noise level (%) per network: mean over seeds, band of ±1 std.

    Used for Figure 4B and for the GSC noise curves (``networks`` None: all present). The legend
    uses the definitions' labels; the subtitle names the selection protocol.
    """
    fig = Figure(figsize=(6.4, 4.8), layout="constrained")
    ax = fig.add_subplot()
    _draw_noise_curves(ax, metrics, definitions, dataset, networks, protocol)
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_title(_protocol_text(protocol), fontsize=8, loc="right")
    _save(fig, png_path, pdf_path)


# --- Figure 4 ----------------------------------------------------------------------------------


def _sample_stack(
    sample_images: Mapping[float, np.ndarray] | np.ndarray, levels: Iterable[float]
) -> tuple[list[float], np.ndarray]:
    """The images to show, one per level, as an array (levels, H, W); ValueError on a mismatch."""
    levels = [float(level) for level in levels]
    if isinstance(sample_images, Mapping):
        by_level = {round(float(k), _LEVEL_DECIMALS): v for k, v in sample_images.items()}
        absent = [lv for lv in levels if round(lv, _LEVEL_DECIMALS) not in by_level]
        if absent:
            raise ValueError(f"Figure 4: no sample image for noise level(s) {absent}")
        images = [np.asarray(by_level[round(lv, _LEVEL_DECIMALS)], dtype=float) for lv in levels]
        shapes = {img.shape for img in images}
        if len(shapes) != 1:
            raise ValueError(f"Figure 4: sample images differ in shape: {sorted(shapes)}")
        stack = np.stack(images)
    else:
        stack = np.asarray(sample_images, dtype=float)
        if stack.ndim == 4 and stack.shape[1] == 1:  # (levels, 1, H, W)
            stack = stack[:, 0]
    if stack.ndim != 3 or stack.shape[0] != len(levels):
        raise ValueError(
            f"Figure 4: expected one 2-D image per level ({len(levels)}), got shape {stack.shape}"
        )
    return levels, stack


@_default_style
def plot_figure4(
    sample_images: Mapping[float, np.ndarray] | np.ndarray, levels: Iterable[float],
    metrics: pd.DataFrame, definitions: Definitions, protocol: str,
    png_path: PathLike, pdf_path: PathLike,
) -> None:
    """Figure 4: (A) a test digit at each noise level; (B) MNIST accuracy vs noise level.

    ``sample_images`` maps noise level -> 2-D image in [0, 1] pixel space, or is an array
    (levels, 28, 28) in the order of ``levels``. Panel B draws the noise curves of
    :data:`FIGURE4_NETWORKS` (those present in ``metrics``) as :func:`plot_noise_curves` does.
    """
    levels, stack = _sample_stack(sample_images, levels)
    fig = Figure(figsize=(7.2, 6.4), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=(1, 2.6))
    image_axes = top.subplots(1, len(levels), squeeze=False)[0]
    for ax, level, image in zip(image_axes, levels, stack, strict=True):
        ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_title(f"{100 * level:g} %", fontsize=9)
        ax.set_axis_off()
    top.suptitle("A", x=0.01, ha="left", fontweight="bold", fontsize=12)
    ax = bottom.subplots()
    _draw_noise_curves(ax, metrics, definitions, "mnist", FIGURE4_NETWORKS, protocol)
    ax.set_title("MNIST: test accuracy vs noise", fontsize=10, loc="left")
    ax.set_title(_protocol_text(protocol), fontsize=8, loc="right")
    bottom.suptitle("B", x=0.01, ha="left", fontweight="bold", fontsize=12)
    _save(fig, png_path, pdf_path)
