"""Figures 2 and 4 of the paper and the GSC noise curves, drawn from the pipeline's tables.

Pure functions of their inputs (the Figure 2 table of :mod:`sparse_pkg.theory`, the tidy metrics
table, the network definitions, the run label); the numbers drawn come from
:mod:`sparse_pkg.reporting.figure_data`. ``*_figure`` builds the :class:`matplotlib.figure.Figure`
(a seam for tests), ``plot_*`` writes it as a 300 dpi PNG and a PDF with embedded TrueType fonts,
atomically. Figures are built on Figure objects directly (Agg
rendering, no pyplot state; seaborn draws on the given ``ax``) and saved without creator,
producer or date metadata, so the same inputs give the same bytes. Every figure of trained
networks carries the run label (the tables' source line) as a footer; Figure 2, pure theory,
does not.
"""

from __future__ import annotations

import functools
import os
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

import matplotlib.style
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from sparse_pkg.datasets import registry
from sparse_pkg.io.atomic import atomic_path
from sparse_pkg.reporting.figure_data import (
    figure2_caption,
    figure2_series,
    network_labels,
    noise_rows,
    population_std_band,
    sample_stack,
    seeds_text,
    test_classes,
)
from sparse_pkg.reporting.paper_layout import FIGURE4_NETWORKS
from sparse_pkg.reporting.tables import MIN_SEEDS_FOR_STD, PROTOCOL_DESCRIPTIONS, Definitions

NOISE_AXIS_LABELS = {name: facts.noise for name, facts in registry.BUILT_IN.items()}
GSC_NOISE_TITLE = "Speech Commands: test accuracy vs white noise"
_PNG_METADATA = {"Software": None}
_PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}
_DPI = 300
_STYLE = ["default", {"pdf.fonttype": 42, "ps.fonttype": 42}]
"""Matplotlib's defaults (a user's matplotlibrc cannot change the output), TrueType in PDF/PS."""
_MARKERS = "osD^vP*X"
_FOOTER_WIDTH = 110
"""Characters per footer line (7 pt on a 6.4 in wide figure)."""

PathLike = str | os.PathLike
T = TypeVar("T")


def _save(fig: Figure, png_path: PathLike, pdf_path: PathLike) -> None:
    """Write ``fig`` as PNG (300 dpi) and PDF (TrueType fonts), atomically, metadata-free."""
    with matplotlib.style.context(_STYLE):  # pdf.fonttype is read at save time
        with atomic_path(png_path) as tmp:
            fig.savefig(tmp, format="png", dpi=_DPI, metadata=_PNG_METADATA)
        with atomic_path(pdf_path) as tmp:
            fig.savefig(tmp, format="pdf", metadata=_PDF_METADATA)


def _default_style(plot: Callable[..., T]) -> Callable[..., T]:
    """Draw under :data:`_STYLE`, so a user's matplotlibrc cannot change the figure."""

    @functools.wraps(plot)
    def wrapper(*args, **kwargs) -> T:
        with matplotlib.style.context(_STYLE):
            return plot(*args, **kwargs)

    return wrapper


def footer_lines(label: str, width: int = _FOOTER_WIDTH) -> list[str]:
    """The label in lines of at most ``width`` characters, broken at its " · " separators.

    Keeps each part of the source line ("seeds 42–43", "epochs capped at 3") on one line; a
    part longer than ``width`` is wrapped at spaces.
    """
    lines: list[str] = []
    for part in label.split(" · "):
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines.extend(textwrap.wrap(part, width=width) or [""])
    return lines


def _footer(fig: Figure, label: str) -> Text:
    """Stamp the run label (the tables' source line) as a small grey footer at the bottom left.

    Drawn as the figure's ``supxlabel``, so a constrained layout keeps room for it.
    """
    return fig.supxlabel("\n".join(footer_lines(label)), x=0.01, ha="left", fontsize=7,
                         color="0.35")


def _protocol_text(protocol: str) -> str:
    """The selection protocol in words, wrapped to fit under a title."""
    text = f"protocol '{protocol}': {PROTOCOL_DESCRIPTIONS.get(protocol, protocol)}"
    return textwrap.fill(text, width=72)


def _subtitle(protocol: str, note: str | None) -> str:
    """The protocol line, and the below-chance note when there is one."""
    return _protocol_text(protocol) + ("\n" + textwrap.fill(note, width=80) if note else "")


# --- Figure 2 ----------------------------------------------------------------------------------


@_default_style
def figure2_figure(table: pd.DataFrame, curves: pd.DataFrame | None = None) -> Figure:
    """Figure 2: false-match probability vs vector length n, exact (lines) and simulated
    (points with ±1 binomial standard error).

    Log y axis; one curve per active count a and the dense reference a = n/2, drawn from
    ``curves`` (the exact formula on a fine grid of n, :func:`sparse_pkg.theory.exact_curves`)
    when given. The caption says that the dense line follows the formula (about 0.58 with
    s = 24, theta = 12), unlike the ~0.005 of the original figure (docs/protocol.md §6). Pure
    theory: no run label, since no run made it.
    """
    series = figure2_series(table, curves)
    s, theta = int(table["s"].iloc[0]), int(table["theta"].iloc[0])
    trials = int(table["trials"].max())
    fig = Figure(figsize=(6.4, 5.2))  # fixed margins: a layout engine would double the time
    caption = "\n".join(textwrap.fill(line, width=_FOOTER_WIDTH)
                        for line in figure2_caption(table).splitlines())
    caption_y = 0.02
    bottom = caption_y + 0.115 + 0.022 * (caption.count("\n") + 1)  # x label above the caption
    fig.subplots_adjust(left=0.12, right=0.97, top=0.93, bottom=bottom)
    ax = fig.add_subplot()
    for index, (curve_label, line, points) in enumerate(series):
        color = f"C{index}"
        ax.plot(line["n"], line["probability"], color=color, label=curve_label, linewidth=1.2)
        # the lower bar stops short of 0, which a log axis cannot show
        lower = np.minimum(points["standard_error"], 0.999 * points["frequency"])
        ax.errorbar(points["n"], points["frequency"], yerr=[lower, points["standard_error"]],
                    fmt="o", color=color, markersize=4, markerfacecolor="none", elinewidth=0.8,
                    capsize=2)
    ax.set_yscale("log")
    ax.set_xlabel("Vector length n")
    ax.set_ylabel("Probability of a false match")
    ax.grid(True, which="major", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="0.3", marker="o", linestyle="none",
                          markerfacecolor="none"))
    labels.append(f"simulated ± 1 SE ({trials:,} trials)")
    ax.legend(handles, labels, loc="lower left", fontsize=8)
    ax.set_title(f"Figure 2. Match probability of random sparse vectors (s = {s}, θ = {theta})",
                 fontsize=10)
    fig.text(0.01, caption_y, caption, fontsize=7, va="bottom")
    return fig


def plot_figure2(table: pd.DataFrame, png_path: PathLike, pdf_path: PathLike,
                 curves: pd.DataFrame | None = None) -> None:
    """Write :func:`figure2_figure` as PNG and PDF."""
    _save(figure2_figure(table, curves), png_path, pdf_path)


# --- Noise curves ------------------------------------------------------------------------------


def _draw_noise_curves(
    ax: Axes, metrics: pd.DataFrame, definitions: Definitions, dataset: str,
    networks: Sequence[str] | None, protocol: str, axis_label: str | None = None,
) -> str | None:
    """Mean accuracy vs noise level per network over seeds, on ``ax``; returns a note to show
    under the title when some mean falls below chance (else None).

    With at least :data:`MIN_SEEDS_FOR_STD` seeds per network, a ±1 std band (ddof 0, matching
    the tables) surrounds the mean; with fewer, where such a band would be half the range and
    hide that there are separate curves, each seed's curve is drawn thin under the mean. Drawn
    by seaborn's ``lineplot`` on the tidy rows of :func:`noise_rows` (no bootstrap, so the
    drawing is deterministic). A dotted line marks chance, 1 / the number of test classes. The
    legend sits outside the axes, right; its title says what the lines are and the seed count.
    """
    rows = noise_rows(metrics, dataset, networks, protocol)
    ax.set_xlabel(axis_label or NOISE_AXIS_LABELS.get(dataset, "Noise level (%)"))
    ax.set_ylabel("Test accuracy (%)")
    ax.grid(True, alpha=0.3)
    if rows.empty:
        ax.text(0.5, 0.5, f"no {dataset} runs of these networks", transform=ax.transAxes,
                ha="center", va="center")
        return None
    labels = network_labels(definitions, dataset)
    names = list(dict.fromkeys(rows["network"]))
    shown = [labels.get(n, n) for n in names]
    if len(set(shown)) < len(shown):  # two networks with one label: tell them apart by name
        shown = names
    rows = rows.assign(network=rows["network"].map(dict(zip(names, shown, strict=True))))
    palette = {n: f"C{i % 10}" for i, n in enumerate(shown)}
    common = {"data": rows, "x": "noise_level", "y": "accuracy", "hue": "network",
              "hue_order": shown, "palette": palette, "ax": ax}
    few_seeds = int(rows.groupby("network")["seed"].nunique().min()) < MIN_SEEDS_FOR_STD
    if few_seeds:
        sns.lineplot(**common, units="seed", estimator=None, linewidth=0.7, alpha=0.45,
                     legend=False)
        band = {"errorbar": None}
        what = f"mean; thin lines:\neach of {seeds_text(rows)}"
    else:
        band = {"errorbar": population_std_band, "err_style": "band",
                "err_kws": {"alpha": 0.2, "linewidth": 0}}
        what = f"mean ± 1 std\nover {seeds_text(rows)}"
    sns.lineplot(**common, style="network", style_order=shown, estimator="mean", **band,
                 markers={n: _MARKERS[i % len(_MARKERS)] for i, n in enumerate(shown)},
                 dashes=False, markersize=5, markeredgewidth=0)
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, title_fontsize=8,
                    title=f"Network\n({what})", frameon=False)
    classes = test_classes(metrics, dataset)
    if classes is None:
        return None
    chance = 100.0 / classes
    ax.axhline(chance, color="0.35", linestyle=":", linewidth=1.0)
    ax.annotate(f"chance: 1/{classes} test classes", xy=(1.0, chance), xycoords=("axes fraction",
                "data"), xytext=(-2, 2), textcoords="offset points", ha="right", va="bottom",
                fontsize=7, color="0.35")
    means = rows.groupby(["network", "noise_level"])["accuracy"].mean()
    below = means[means < chance]
    if below.empty:
        return None
    return (f"{len(below)} of {len(means)} mean points lie below chance: the networks may "
            "answer a class the test set does not hold"
            + (" (silence, unknown)" if dataset == "gsc" else ""))


@_default_style
def noise_curves_figure(
    metrics: pd.DataFrame, definitions: Definitions, dataset: str,
    networks: Sequence[str] | None, protocol: str, *, title: str, label: str,
    axis_label: str | None = None,
) -> Figure:
    """Accuracy (%) vs noise level (%) per network: mean over seeds, band of ±1 std (ddof 0).

    Used for the GSC noise curves (``networks`` None: all present). The legend uses the
    definitions' labels; the title is above a subtitle naming the selection protocol, and the
    footer is the run ``label``.
    """
    fig = Figure(figsize=(7.2, 4.8), layout="constrained")
    ax = fig.add_subplot()
    note = _draw_noise_curves(ax, metrics, definitions, dataset, networks, protocol, axis_label)
    fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    ax.set_title(_subtitle(protocol, note), fontsize=8, loc="left")
    _footer(fig, label)
    return fig


def plot_noise_curves(
    metrics: pd.DataFrame, definitions: Definitions, dataset: str,
    networks: Sequence[str] | None, protocol: str, png_path: PathLike, pdf_path: PathLike,
    *, title: str, label: str, axis_label: str | None = None,
) -> None:
    """Write :func:`noise_curves_figure` as PNG and PDF."""
    fig = noise_curves_figure(metrics, definitions, dataset, networks, protocol, title=title,
                              label=label, axis_label=axis_label)
    _save(fig, png_path, pdf_path)


# --- Figure 4 ----------------------------------------------------------------------------------


@_default_style
def figure4_figure(
    sample_images: Mapping[float, np.ndarray] | np.ndarray, levels: Iterable[float],
    metrics: pd.DataFrame, definitions: Definitions, protocol: str, *, label: str,
) -> Figure:
    """Figure 4: (A) a test digit at each noise level; (B) MNIST accuracy vs noise level.

    ``sample_images`` maps noise level -> 2-D image in [0, 1] pixel space, or is an array
    (levels, 28, 28) in the order of ``levels``. Panel B draws the noise curves of
    :data:`FIGURE4_NETWORKS` (those present in ``metrics``) as :func:`noise_curves_figure`
    does. The footer is the run ``label``.
    """
    levels, stack = sample_stack(sample_images, levels)
    fig = Figure(figsize=(7.2, 6.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=(1, 2.6))
    image_axes = top.subplots(1, len(levels), squeeze=False)[0]
    for ax, level, image in zip(image_axes, levels, stack, strict=True):
        ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_title(f"{100 * level:g} %", fontsize=9)
        ax.set_axis_off()
    top.suptitle("A   A test digit at each pixel-noise level", x=0.01, ha="left",
                 fontweight="bold", fontsize=11)
    ax = bottom.subplots()
    note = _draw_noise_curves(ax, metrics, definitions, "mnist", FIGURE4_NETWORKS, protocol)
    ax.set_title(_subtitle(protocol, note), fontsize=8, loc="left")
    bottom.suptitle("B   MNIST: test accuracy vs noise", x=0.01, ha="left", fontweight="bold",
                    fontsize=11)
    _footer(fig, label)
    return fig


def plot_figure4(
    sample_images: Mapping[float, np.ndarray] | np.ndarray, levels: Iterable[float],
    metrics: pd.DataFrame, definitions: Definitions, protocol: str,
    png_path: PathLike, pdf_path: PathLike, *, label: str,
) -> None:
    """Write :func:`figure4_figure` as PNG and PDF."""
    fig = figure4_figure(sample_images, levels, metrics, definitions, protocol, label=label)
    _save(fig, png_path, pdf_path)
