"""Tests of the figures: what Figure 2 plots, the noise-curve numbers, and valid, stable files."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from sparse_pkg.datasets.mnist import normalize_pixels
from sparse_pkg.io.tensors import TensorSet
from sparse_pkg.networks_file import load_networks
from sparse_pkg.reporting.figure_data import (
    defined_networks,
    figure2_caption,
    figure2_series,
    population_std_band,
    sample_digits,
    sample_stack,
)
from sparse_pkg.reporting.figures import (
    figure2_figure,
    figure4_figure,
    footer_lines,
    noise_curves_figure,
    plot_figure2,
    plot_figure4,
    plot_noise_curves,
)
from sparse_pkg.reporting.paper_layout import FIGURE4_LEVELS, figure4_levels
from sparse_pkg.theory import DENSE_LABEL, exact_curves, match_probability

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CURVE_NS = range(300, 901, 5)
LABEL = ("demo run · data: embedded real MNIST: 5,000 training digits; official 10,000-digit "
         "test set · seeds 42–43 · epochs capped at 3, training set capped at 300")
DEFINITIONS = load_networks(Path(__file__).resolve().parents[2] / "config/networks.yaml")
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
    assert line["probability"].iloc[0] == pytest.approx(0.0010946, rel=1e-4)  # docs/protocol.md §6
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
    plot_figure2(figure2_rows(), first / "fig2.png", first / "fig2.pdf", exact_curves(CURVE_NS))
    plot_figure2(figure2_rows(), second / "fig2.png", second / "fig2.pdf", exact_curves(CURVE_NS))
    _assert_files(first / "fig2.png", first / "fig2.pdf")
    assert (first / "fig2.png").read_bytes() == (second / "fig2.png").read_bytes()
    assert (first / "fig2.pdf").read_bytes() == (second / "fig2.pdf").read_bytes()


def test_plot_noise_curves_files_and_protocols_differ(tmp_path):
    metrics = planted_metrics()
    out = {}
    for protocol in ("paper", "final"):
        png, pdf = tmp_path / protocol / "noise.png", tmp_path / protocol / "noise.pdf"
        plot_noise_curves(metrics, DEFINITIONS, "mnist", None, protocol, png, pdf,
                          title="MNIST", label=LABEL)
        _assert_files(png, pdf)
        out[protocol] = png.read_bytes(), pdf.read_bytes()
    assert out["paper"][0] != out["final"][0]
    time.sleep(1.1)  # a save date in the PDF (one-second resolution) would now differ
    again = tmp_path / "again"
    plot_noise_curves(metrics, DEFINITIONS, "mnist", None, "final", again / "noise.png",
                      again / "noise.pdf", title="MNIST", label=LABEL)
    assert ((again / "noise.png").read_bytes(), (again / "noise.pdf").read_bytes()) == out["final"]
    metrics.loc[(metrics.noise_level == 0.25) & (metrics.seed == 42), "noise_level"] = 0.3
    with pytest.raises(ValueError, match="noise levels"):
        plot_noise_curves(metrics, DEFINITIONS, "mnist", None, "paper", tmp_path / "x.png",
                          tmp_path / "x.pdf", title="MNIST", label=LABEL)
    assert not (tmp_path / "x.png").exists()


def test_figure4_shows_the_paper_levels_among_the_configured_ones():
    """Configured levels in their order, those of Figure 4A only, matched after rounding."""
    configured = [round(0.05 * i, 2) for i in range(11)][::-1] + [0.1 + 0.2]
    assert figure4_levels(configured) == [0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.1 + 0.2]
    assert figure4_levels([0.25, 0.75]) == []


def test_sample_digits_are_the_first_digit_of_each_level_in_pixel_space():
    """Keyed by the level the set holds; normalized features back to [0, 1], clamped."""
    pixels = torch.linspace(0.0, 1.0, 784).reshape(1, 1, 28, 28)
    features = torch.cat([normalize_pixels(pixels), torch.full((1, 1, 28, 28), 9.0)])
    sets = [TensorSet(features * 0 - 5.0, torch.zeros(2), {"noise_level": 0.5}),
            TensorSet(features, torch.zeros(2), {"noise_level": 0.0})]
    images = sample_digits(sets)
    assert list(images) == [0.5, 0.0]
    np.testing.assert_allclose(images[0.0], pixels[0, 0].numpy(), atol=1e-6)
    assert images[0.5].shape == (28, 28) and images[0.5].max() == 0.0  # clamped at black


def test_defined_networks_follow_the_definitions_order():
    """Networks of the data set with rows, in networks.yaml order; other data sets ignored."""
    metrics = pd.DataFrame({"dataset": ["mnist", "mnist", "gsc", "mnist"],
                            "network": ["sparseCNN2", "denseCNN1", "denseCNN1", "unknownNet"]})
    assert defined_networks(DEFINITIONS, "mnist", metrics) == ["denseCNN1", "sparseCNN2"]
    assert defined_networks(DEFINITIONS, "gsc", metrics) == []


def test_sample_stack_accepts_dict_or_array_and_checks_shapes():
    images = {level: np.full((28, 28), level) for level in FIGURE4_LEVELS}
    levels, stack = sample_stack(images, [0.1, 0.0])
    assert stack.shape == (2, 28, 28) and stack[0, 0, 0] == 0.1 and stack[1, 0, 0] == 0.0
    levels, stack = sample_stack(np.zeros((6, 1, 28, 28)), FIGURE4_LEVELS)
    assert stack.shape == (6, 28, 28)
    with pytest.raises(ValueError, match="no sample image for noise level"):
        sample_stack(images, [0.0, 0.6])
    with pytest.raises(ValueError, match="one 2-D image per level"):
        sample_stack(np.zeros((5, 28, 28)), FIGURE4_LEVELS)


def test_plot_figure4_files(tmp_path):
    rng = np.random.default_rng(0)
    images = {level: rng.random((28, 28)) for level in FIGURE4_LEVELS}
    png, pdf = tmp_path / "fig4.png", tmp_path / "fig4.pdf"
    plot_figure4(images, FIGURE4_LEVELS, planted_metrics(), DEFINITIONS, "paper", png, pdf,
                 label=LABEL)
    _assert_files(png, pdf)
    first = png.read_bytes(), pdf.read_bytes()
    plot_figure4(images, FIGURE4_LEVELS, planted_metrics(), DEFINITIONS, "paper", png, pdf,
                 label=LABEL)
    assert (png.read_bytes(), pdf.read_bytes()) == first


# --- Paper-ready output: fonts, dpi, run label, band, layout --------------------------------------


def three_seed_metrics() -> pd.DataFrame:
    """One network, three seeds: at 0 % 90/92/94 %, at 50 % 50/60/70 % (ddof 0 vs 1 differ)."""
    rows = [
        {"dataset": "mnist", "network": "sparseCNN1", "seed": seed, "protocol": "paper",
         "selected_epoch": 1, "noise_level": level, "correct": correct, "total": 10_000,
         "accuracy": correct / 10_000}
        for seed, corrects in ((1, (9000, 5000)), (2, (9200, 6000)), (3, (9400, 7000)))
        for level, correct in zip((0.0, 0.5), corrects, strict=True)
    ]
    return pd.DataFrame(rows)


def _sample_images() -> dict[float, np.ndarray]:
    rng = np.random.default_rng(0)
    return {level: rng.random((28, 28)) for level in FIGURE4_LEVELS}


def _built_figures():
    """The three figures, built (not saved), each stamped with LABEL."""
    return {
        "fig2": figure2_figure(figure2_rows(), exact_curves(CURVE_NS)),
        "fig4": figure4_figure(_sample_images(), FIGURE4_LEVELS, planted_metrics(), DEFINITIONS,
                               "paper", label=LABEL),
        "noise": noise_curves_figure(planted_metrics(), DEFINITIONS, "mnist", None, "final",
                                     title="Speech Commands: test accuracy vs white noise",
                                     label=LABEL),
    }


@pytest.fixture(scope="module")
def saved_figures(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Figure name -> (png, pdf), each written once by its plot_* function."""
    out = tmp_path_factory.mktemp("figures")
    files = {name: (out / f"{name}.png", out / f"{name}.pdf") for name in ("fig2", "fig4",
                                                                             "noise")}
    plot_figure2(figure2_rows(), *files["fig2"], exact_curves(CURVE_NS))
    plot_figure4(_sample_images(), FIGURE4_LEVELS, planted_metrics(), DEFINITIONS, "paper",
                 *files["fig4"], label=LABEL)
    plot_noise_curves(planted_metrics(), DEFINITIONS, "mnist", None, "paper", *files["noise"],
                      title="MNIST", label=LABEL)
    return files


def test_pdfs_embed_truetype_fonts(saved_figures):
    for name, (_, pdf) in saved_figures.items():
        data = pdf.read_bytes()
        assert b"/FontFile2" in data, name  # embedded TrueType (pdf.fonttype 42)
        assert b"/Type3" not in data, name


def test_pngs_are_saved_at_300_dpi(saved_figures):
    for name, (png, _) in saved_figures.items():
        with Image.open(png) as image:
            assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01), name


def test_every_figure_of_a_run_is_stamped_with_its_label_and_theory_is_not():
    for name, fig in _built_figures().items():
        texts = {t.get_text().replace("\n", " · ") for t in fig.findobj(lambda a: hasattr(
            a, "get_text") and a.get_visible())}
        assert (LABEL in texts) == (name != "fig2"), name


def test_footer_lines_break_the_label_at_its_separators():
    lines = footer_lines(LABEL)
    assert len(lines) == 2 and max(map(len, lines)) <= 110
    assert lines[1] == "epochs capped at 3, training set capped at 300"
    assert " · ".join(lines) == LABEL
    assert footer_lines("demo run") == ["demo run"]
    assert footer_lines("a" * 30 + " " + "b" * 30, width=40) == ["a" * 30, "b" * 30]


def test_population_std_band_uses_ddof_0():
    low, high = population_std_band([90.0, 92.0, 94.0])
    assert (low, high) == pytest.approx((92 - np.sqrt(8 / 3), 92 + np.sqrt(8 / 3)))


def test_noise_band_is_mean_plus_minus_population_std_and_legend_counts_seeds():
    fig = noise_curves_figure(three_seed_metrics(), DEFINITIONS, "mnist", None, "paper",
                              title="t", label=LABEL)
    ax = fig.axes[0]
    assert list(ax.lines[0].get_xdata()) == [0.0, 50.0]
    assert list(ax.lines[0].get_ydata()) == pytest.approx([92.0, 60.0])
    (band,) = ax.collections
    vertices = np.concatenate([path.vertices for path in band.get_paths()])
    for x, mean, std in ((0.0, 92.0, np.sqrt(8 / 3)), (50.0, 60.0, np.sqrt(200 / 3))):
        ys = vertices[np.isclose(vertices[:, 0], x), 1]
        assert (ys.min(), ys.max()) == pytest.approx((mean - std, mean + std)), x
    assert "mean ± 1 std over 3 seeds" in " ".join(
        ax.get_legend().get_title().get_text().split())


def test_under_three_seeds_each_seed_is_drawn_thin_beside_the_mean_and_no_band():
    fig = noise_curves_figure(planted_metrics(), DEFINITIONS, "mnist", None, "paper",
                              title="t", label=LABEL)
    ax = fig.axes[0]
    assert not ax.collections  # no band
    thin = [line for line in ax.lines if line.get_linewidth() < 1.0]
    assert len(thin) == 2 * 2  # 2 networks x 2 seeds
    curves = [pytest.approx(list(line.get_ydata())) for line in thin]
    assert [99.0, 80.0, 50.0] in curves and [99.2, 81.0, 52.0] in curves  # denseCNN1 seeds, %
    means = [line for line in ax.lines if line.get_linewidth() >= 1.0 and len(line.get_xdata())]
    assert [99.1, 80.5, 51.0] in [pytest.approx(list(m.get_ydata())) for m in means]
    title = " ".join(ax.get_legend().get_title().get_text().split())
    assert "thin lines: each of 2 seeds" in title


def _with_classes(metrics: pd.DataFrame, classes: int, per_class: int = 1000) -> pd.DataFrame:
    totals = [per_class] * classes + [0, 0]  # two outputs without test samples (GSC-like)
    return metrics.assign(per_class_total=[totals] * len(metrics))


def test_the_chance_line_is_one_over_the_test_classes_and_below_chance_is_said():
    metrics = _with_classes(planted_metrics(), 10)
    fig = noise_curves_figure(metrics, DEFINITIONS, "mnist", None, "paper", title="t",
                              label=LABEL)
    ax = fig.axes[0]
    chance = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert len(chance) == 1 and list(chance[0].get_ydata()) == [10.0, 10.0]
    texts = [t.get_text() for t in ax.texts]
    assert "chance: 1/10 test classes" in texts
    assert "below chance" not in ax.get_title(loc="left")
    low = metrics.copy()
    low.loc[low.noise_level == 0.5, "correct"] = 500  # 5 %: under the 10 % of chance
    low["accuracy"] = low["correct"] / low["total"]
    title = noise_curves_figure(low, DEFINITIONS, "mnist", None, "paper", title="t",
                                label=LABEL).axes[0].get_title(loc="left")
    assert "2 of 6 mean points lie below chance" in " ".join(title.split())


def test_the_white_noise_level_is_defined_on_the_gsc_axis():
    gsc = planted_metrics().assign(dataset="gsc")
    defs = [d for d in DEFINITIONS]
    fig = noise_curves_figure(gsc, defs, "gsc", None, "paper", title="t", label=LABEL)
    assert "(1 − a)·x + a·u, u ~ U(−1, 1)" in fig.axes[0].get_xlabel()


def test_figure2_exact_curves_are_smooth_and_points_carry_standard_errors():
    curves = exact_curves(range(300, 901, 5))
    fig = figure2_figure(figure2_rows(), curves)
    ax = fig.axes[0]
    solid = [line for line in ax.lines if line.get_linestyle() == "-" and len(line.get_xdata())
             > 20]
    assert len(solid) == 3  # a=64, a=128, dense: one smooth line each
    for line in solid:
        assert np.diff(line.get_xdata()).max() <= 5  # evaluated every 5 in n, not every 300
    assert any(len(c.get_segments()) for c in ax.collections)  # the error bars
    series = figure2_series(figure2_rows(), curves)
    p = match_probability(300, 64)
    assert series[0][2]["standard_error"].iloc[0] == pytest.approx(np.sqrt(p * (1 - p) / 1000))


def _layout_boxes(fig) -> dict[str, object]:
    """Window extents of the titles, labels, footer and legends of a drawn figure, by name."""
    from matplotlib.axes import Axes
    from matplotlib.figure import FigureBase

    boxes = {}
    for index, sub in enumerate(fig.findobj(lambda a: isinstance(a, FigureBase))):
        for number, text in enumerate(sub.texts):
            boxes[f"figure{index}.text{number}"] = text
    for index, ax in enumerate(fig.findobj(lambda a: isinstance(a, Axes))):
        for part in ("title", "_left_title", "_right_title"):
            boxes[f"axes{index}.{part}"] = getattr(ax, part)
        boxes[f"axes{index}.xlabel"] = ax.xaxis.label
        boxes[f"axes{index}.ylabel"] = ax.yaxis.label
        if ax.get_legend() is not None:
            boxes[f"axes{index}.legend"] = ax.get_legend()
    return {name: artist.get_window_extent() for name, artist in boxes.items()
            if artist.get_visible() and (not hasattr(artist, "get_text") or artist.get_text())}


def test_titles_notes_footer_and_legends_do_not_overlap():
    for name, fig in _built_figures().items():
        FigureCanvasAgg(fig).draw()
        boxes = _layout_boxes(fig)
        for (a, box_a), (b, box_b) in itertools.combinations(boxes.items(), 2):
            assert not box_a.overlaps(box_b), f"{name}: {a} overlaps {b}"
        for ax in fig.findobj(lambda a: hasattr(a, "get_legend") and a.get_legend()):
            if name != "fig2":  # noise legends sit outside the axes, off the curves
                assert not ax.get_legend().get_window_extent().overlaps(ax.bbox), name
