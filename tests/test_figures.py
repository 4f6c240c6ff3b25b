"""Tests of the figures: what Figure 2 plots, the noise-curve numbers, and valid, stable files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sparse_pkg.network_definitions import load_network_definitions
from sparse_pkg.reporting.figures import (
    FIGURE4_LEVELS,
    _sample_stack,
    figure2_caption,
    figure2_series,
    noise_curve_table,
    plot_figure2,
    plot_figure4,
    plot_noise_curves,
)
from sparse_pkg.theory import DENSE_LABEL, match_probability

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DEFINITIONS = load_network_definitions(Path(__file__).resolve().parents[1] / "config/networks.yaml")
# (protocol, network, seed) -> correct of 10,000 at noise levels 0.0, 0.25, 0.5
PLANTED = {
    ("paper", "denseCNN1", 42): (9900, 8000, 5000),
    ("paper", "denseCNN1", 43): (9920, 8100, 5200),
    ("paper", "sparseCNN2", 42): (9850, 9500, 9000),
    ("paper", "sparseCNN2", 43): (9870, 9600, 9100),
    ("final", "denseCNN1", 42): (9890, 7000, 4000),
    ("final", "denseCNN1", 43): (9850, 7100, 4410),
    ("final", "sparseCNN2", 42): (9800, 9400, 8800),
    ("final", "sparseCNN2", 43): (9860, 9500, 9010),
}


def planted_metrics() -> pd.DataFrame:
    rows = [
        {"dataset": "mnist", "network": network, "seed": seed, "protocol": protocol,
         "selected_epoch": 3, "noise_level": level, "correct": correct, "total": 10_000,
         "accuracy": correct / 10_000}
        for (protocol, network, seed), corrects in PLANTED.items()
        for level, correct in zip((0.0, 0.25, 0.5), corrects, strict=True)
    ]
    return pd.DataFrame(rows)


def figure2_rows() -> pd.DataFrame:
    """A small Figure 2 table; two rows have no simulated match (a=64 at n=900, a=128 at n=900)."""
    rows = []
    for n in (300, 600, 900):
        cases = [(128, "a=128", {300: 80, 600: 3, 900: 0}[n]),
                 (64, "a=64", {300: 2, 600: 1, 900: 0}[n]),
                 (n // 2, DENSE_LABEL, 580)]
        for a, label, matches in cases:
            rows.append({"n": n, "a": a, "label": label, "s": 24, "theta": 12,
                         "probability": match_probability(n, a), "frequency": matches / 1000,
                         "standard_error": 0.0, "matches": matches, "trials": 1000})
    return pd.DataFrame(rows)


def _assert_files(png: Path, pdf: Path) -> None:
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert png.stat().st_size > 10_000 and pdf.stat().st_size > 5_000
    assert b"%%EOF" in pdf.read_bytes()[-32:]
    assert sorted(p.name for p in png.parent.iterdir()) == sorted({png.name, pdf.name})


def test_figure2_series_order_and_zero_match_points_skipped():
    series = figure2_series(figure2_rows())
    assert [label for label, _, _ in series] == ["a=64", "a=128", DENSE_LABEL]
    label, line, points = series[0]
    assert line["n"].tolist() == [300, 600, 900]
    assert line["probability"].iloc[0] == pytest.approx(0.0010946, rel=1e-4)  # PAPER.md 6
    assert points["n"].tolist() == [300, 600]  # n=900 had 0 matches: no point on a log axis
    assert points["frequency"].tolist() == [0.002, 0.001]
    assert series[1][2]["n"].tolist() == [300, 600]
    assert series[2][2]["n"].tolist() == [300, 600, 900]
    with pytest.raises(ValueError, match="missing column.*matches"):
        figure2_series(figure2_rows().drop(columns="matches"))


def test_figure2_caption_states_the_dense_value():
    caption = figure2_caption(figure2_rows())
    assert "follows the formula (≈0.58)" in caption
    assert "0.005 of the original figure" in caption
    no_dense = figure2_rows()
    assert "dense" not in figure2_caption(no_dense[no_dense.label != DENSE_LABEL])


def test_plot_figure2_writes_valid_deterministic_files(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    plot_figure2(figure2_rows(), first / "fig2.png", first / "fig2.pdf")
    plot_figure2(figure2_rows(), second / "fig2.png", second / "fig2.pdf")
    _assert_files(first / "fig2.png", first / "fig2.pdf")
    assert (first / "fig2.png").read_bytes() == (second / "fig2.png").read_bytes()
    assert (first / "fig2.pdf").read_bytes() == (second / "fig2.pdf").read_bytes()


def test_noise_curve_table_mean_and_std_over_seeds():
    curve = noise_curve_table(planted_metrics(), "mnist", ["sparseCNN2", "denseCNN2",
                                                           "denseCNN1"], "final")
    assert curve["network"].tolist() == ["sparseCNN2"] * 3 + ["denseCNN1"] * 3  # order kept
    assert curve["noise_level"].tolist() == [0.0, 25.0, 50.0] * 2
    dense = curve[curve.network == "denseCNN1"]
    # seeds 42, 43 at 25 %: 70.00 and 71.00 -> 70.50 ± 0.50; at 50 %: 40.00 and 44.10
    assert dense["accuracy_mean"].tolist() == pytest.approx([98.70, 70.50, 42.05])
    assert dense["accuracy_std"].tolist() == pytest.approx([0.20, 0.50, 2.05])
    assert dense["seeds"].tolist() == [2, 2, 2]
    every = noise_curve_table(planted_metrics(), "mnist", None, "paper")
    assert list(dict.fromkeys(every["network"])) == ["denseCNN1", "sparseCNN2"]
    assert noise_curve_table(planted_metrics(), "gsc", None, "paper").empty


def test_plot_noise_curves_files_and_protocols_differ(tmp_path):
    metrics = planted_metrics()
    out = {}
    for protocol in ("paper", "final"):
        png, pdf = tmp_path / protocol / "noise.png", tmp_path / protocol / "noise.pdf"
        plot_noise_curves(metrics, DEFINITIONS, "mnist", None, protocol, png, pdf, "MNIST")
        _assert_files(png, pdf)
        out[protocol] = png.read_bytes()
    assert out["paper"] != out["final"]
    metrics.loc[(metrics.noise_level == 0.25) & (metrics.seed == 42), "noise_level"] = 0.3
    with pytest.raises(ValueError, match="noise levels"):
        plot_noise_curves(metrics, DEFINITIONS, "mnist", None, "paper", tmp_path / "x.png",
                          tmp_path / "x.pdf", "MNIST")
    assert not (tmp_path / "x.png").exists()


def test_sample_stack_accepts_dict_or_array_and_checks_shapes():
    images = {level: np.full((28, 28), level) for level in FIGURE4_LEVELS}
    levels, stack = _sample_stack(images, [0.1, 0.0])
    assert stack.shape == (2, 28, 28) and stack[0, 0, 0] == 0.1 and stack[1, 0, 0] == 0.0
    levels, stack = _sample_stack(np.zeros((6, 1, 28, 28)), FIGURE4_LEVELS)
    assert stack.shape == (6, 28, 28)
    with pytest.raises(ValueError, match="no sample image for noise level"):
        _sample_stack(images, [0.0, 0.6])
    with pytest.raises(ValueError, match="one 2-D image per level"):
        _sample_stack(np.zeros((5, 28, 28)), FIGURE4_LEVELS)


def test_plot_figure4_files(tmp_path):
    rng = np.random.default_rng(0)
    images = {level: rng.random((28, 28)) for level in FIGURE4_LEVELS}
    png, pdf = tmp_path / "fig4.png", tmp_path / "fig4.pdf"
    plot_figure4(images, FIGURE4_LEVELS, planted_metrics(), DEFINITIONS, "paper", png, pdf)
    _assert_files(png, pdf)
    first = png.read_bytes()
    plot_figure4(images, FIGURE4_LEVELS, planted_metrics(), DEFINITIONS, "paper", png, pdf)
    assert png.read_bytes() == first
