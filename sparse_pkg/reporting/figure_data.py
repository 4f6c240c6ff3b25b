"""The numbers and text behind the figures: what Figure 2 plots, the noise curves' rows and the
sample digits of Figure 4A. Pure functions of the pipeline's tables; drawing them is
:mod:`sparse_pkg.reporting.figures`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from sparse_pkg.datasets.mnist import unnormalize_pixels
from sparse_pkg.io.tensors import TensorSet
from sparse_pkg.reporting.paper_layout import LEVEL_DECIMALS
from sparse_pkg.reporting.tables import Definitions, run_scores
from sparse_pkg.theory import DENSE_LABEL

FIGURE2_COLUMNS = ("n", "a", "label", "s", "theta", "probability", "frequency", "matches",
                   "trials")


def figure2_series(table: pd.DataFrame, curves: pd.DataFrame | None = None
                   ) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """What Figure 2 draws, per curve: ``(label, line, points)`` in legend order.

    ``line`` holds n and the exact probability, sorted by n: from ``curves`` (the fine grid of
    :func:`sparse_pkg.theory.exact_curves`) when given, else from the table's own rows.
    ``points`` holds n, the simulated frequency and its binomial standard error
    ``sqrt(p (1 - p) / trials)`` (p the exact probability) of the rows with at least one match
    (a zero frequency has no place on the log axis). Curves with a fixed a come first, ordered
    by a; the dense reference (label ``DENSE_LABEL``) comes last. ValueError on missing columns.
    """
    missing = [c for c in FIGURE2_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"Figure 2 table: missing column(s) {', '.join(missing)}")
    labels = list(dict.fromkeys(table["label"]))
    fixed = sorted((x for x in labels if x != DENSE_LABEL),
                   key=lambda x: int(table.loc[table["label"] == x, "a"].min()))
    lines_from = table if curves is None else curves
    out = []
    for label in fixed + [x for x in labels if x == DENSE_LABEL]:
        rows = table[table["label"] == label].sort_values("n", kind="stable")
        exact = lines_from[lines_from["label"] == label].sort_values("n", kind="stable")
        line = exact[["n", "probability"]].reset_index(drop=True)
        simulated = rows.loc[rows["matches"] > 0]
        p = simulated["probability"].astype(float)
        points = pd.DataFrame({
            "n": simulated["n"].to_numpy(), "frequency": simulated["frequency"].to_numpy(),
            "standard_error": np.sqrt(p * (1.0 - p) / simulated["trials"]).to_numpy(),
        })
        out.append((label, line, points))
    return out


def figure2_caption(table: pd.DataFrame) -> str:
    """Caption of Figure 2; says what the dense line a = n/2 gives (docs/protocol.md §6)."""
    text = ("Lines: exact formula; points: simulated frequencies with ±1 binomial standard "
            "error (n without a simulated match omitted on the log axis).")
    dense = table.loc[table["label"] == DENSE_LABEL, "probability"]
    if len(dense):
        text += (f"\nThe dense line a = n/2 follows the formula (≈{dense.mean():.2f}), unlike the "
                 "≈0.005 of the original figure.")
    return text


def network_labels(definitions: Definitions, dataset: str) -> dict[str, str]:
    """Network name -> legend label, for the networks that ``definitions`` give a data set."""
    return {d.name: d.label for d in definitions if d.dataset == dataset}


def defined_networks(definitions: Definitions, dataset: str, metrics: pd.DataFrame) -> list[str]:
    """The data set's networks, in the order of ``definitions``, that have rows in ``metrics``;
    not those of sweeps (results/sweeps/ shows them)."""
    present = set(metrics.loc[metrics["dataset"] == dataset, "network"])
    return [d.name for d in definitions
            if d.dataset == dataset and d.name in present and d.sweep is None]


def noise_rows(
    metrics: pd.DataFrame, dataset: str, networks: Sequence[str] | None, protocol: str
) -> pd.DataFrame:
    """The tidy rows a noise figure draws: one per (network, seed, noise level).

    Only ``dataset`` and ``protocol`` rows are used; ``networks`` (None: every network present)
    fixes the order, and networks without rows are left out. Columns: network, seed,
    noise_level (%), accuracy (%), sorted by network order, level and seed. The runs are
    validated as for the tables.
    """
    rows = metrics[(metrics["dataset"] == dataset) & (metrics["protocol"] == protocol)]
    run_scores(rows)  # same consistency checks as the tables (one level set per data set, ...)
    present = list(dict.fromkeys(rows["network"]))
    order = [n for n in (present if networks is None else networks) if n in set(present)]
    rows = rows[rows["network"].isin(order)]
    tidy = pd.DataFrame({
        "network": rows["network"].astype(str),
        "seed": rows["seed"],
        "noise_level": 100.0 * rows["noise_level"].astype(float).round(LEVEL_DECIMALS),
        "accuracy": 100.0 * rows["accuracy"].astype(float),
    })
    tidy["rank"] = tidy["network"].map({n: i for i, n in enumerate(order)})
    tidy = tidy.sort_values(["rank", "noise_level", "seed"], kind="stable").drop(columns="rank")
    return tidy.reset_index(drop=True)


def test_classes(metrics: pd.DataFrame, dataset: str) -> int | None:
    """How many classes the data set's test set holds (labels with test samples), from the
    per-class totals of its metrics rows; None when the rows do not record them."""
    rows = metrics[metrics["dataset"] == dataset]
    if rows.empty or "per_class_total" not in rows.columns:
        return None
    totals = np.sum(np.stack([np.asarray(t, dtype=np.int64) for t in rows["per_class_total"]]),
                    axis=0)
    return int(np.count_nonzero(totals)) or None


def population_std_band(values: Iterable[float]) -> tuple[float, float]:
    """Mean ± 1 population std (numpy ``std``, ddof 0), as the tables compute std over seeds.

    Given to seaborn as ``errorbar``: its own ``"sd"`` is pandas' sample std (ddof 1), which
    would draw a wider band than the std the tables print.
    """
    array = np.asarray(values, dtype=float)
    mean, std = float(array.mean()), float(np.std(array, ddof=0))
    return mean - std, mean + std


def seeds_text(rows: pd.DataFrame) -> str:
    """'N seeds' (or 'N–M seeds' when networks differ) from the distinct seeds of each network."""
    counts = sorted(set(rows.groupby("network")["seed"].nunique()))
    if not counts:
        return "0 seeds"
    span = str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    return f"{span} seed{'' if span == '1' else 's'}"


def sample_stack(
    sample_images: Mapping[float, np.ndarray] | np.ndarray, levels: Iterable[float]
) -> tuple[list[float], np.ndarray]:
    """The images to show, one per level, as an array (levels, H, W); ValueError on a mismatch."""
    levels = [float(level) for level in levels]
    if isinstance(sample_images, Mapping):
        by_level = {round(float(k), LEVEL_DECIMALS): v for k, v in sample_images.items()}
        absent = [lv for lv in levels if round(lv, LEVEL_DECIMALS) not in by_level]
        if absent:
            raise ValueError(f"Figure 4: no sample image for noise level(s) {absent}")
        images = [np.asarray(by_level[round(lv, LEVEL_DECIMALS)], dtype=float) for lv in levels]
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


def sample_digits(noisy_sets: Iterable[TensorSet]) -> dict[float, np.ndarray]:
    """Noise level -> the first digit of that level's noisy MNIST test set, in [0, 1] pixel space:
    the images of Figure 4A."""
    return {float(noisy.meta["noise_level"]): unnormalize_pixels(noisy.features[0, 0]).numpy()
            for noisy in noisy_sets}
