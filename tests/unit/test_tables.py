"""Tests of Tables 1 and 2: summaries of a planted metrics table, checked by hand, and markdown."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sparse_pkg.errors import InputError
from sparse_pkg.networks_file import load_networks
from sparse_pkg.reporting.paper_layout import results_table_title, table_dataset
from sparse_pkg.reporting.run_label import source_line
from sparse_pkg.reporting.tables import (
    PROTOCOL_DESCRIPTIONS,
    SUMMARY_COLUMNS,
    format_accuracy,
    format_noise_score,
    protocol_order,
    results_table_markdown,
    run_scores,
    summarize,
)

CONFIG = Path(__file__).resolve().parents[2] / "config" / "networks.yaml"
DEFINITIONS = load_networks(CONFIG)
TEST_SIZE = 10_000
LEVELS = (0.0, 0.25, 0.5)

# (protocol, network, seed) -> (selected epoch, correct at levels 0.0, 0.25, 0.5), 10,000 each
PLANTED = {
    ("paper", "denseCNN1", 42): (3, (9900, 8000, 5000)),  # 99.00 %, noise score 22,900
    ("paper", "denseCNN1", 43): (5, (9920, 8100, 5200)),  # 99.20 %, 23,220
    ("paper", "sparseCNN2", 42): (7, (9850, 9500, 9000)),  # 98.50 %, 28,350
    ("paper", "sparseCNN2", 43): (8, (9870, 9600, 9100)),  # 98.70 %, 28,570
    ("final", "denseCNN1", 42): (14, (9890, 7000, 4000)),  # 98.90 %, 20,890
    ("final", "denseCNN1", 43): (14, (9850, 7100, 4410)),  # 98.50 %, 21,360
    ("final", "sparseCNN2", 42): (9, (9800, 9400, 8800)),  # 98.00 %, 28,000
    ("final", "sparseCNN2", 43): (9, (9860, 9500, 9010)),  # 98.60 %, 28,370
}
# Hand-computed mean and std (ddof 0: half the difference of two values) over the two seeds:
# (protocol, network) -> (acc mean, acc std, noise mean, noise std, mean selected epoch)
EXPECTED = {
    ("paper", "denseCNN1"): (99.10, 0.10, 23_060, 160, 4.0),
    ("paper", "sparseCNN2"): (98.60, 0.10, 28_460, 110, 7.5),
    ("final", "denseCNN1"): (98.70, 0.20, 21_125, 235, 14.0),
    ("final", "sparseCNN2"): (98.30, 0.30, 28_185, 185, 9.0),
}


def planted_metrics() -> pd.DataFrame:
    rows = []
    for (protocol, network, seed), (epoch, corrects) in PLANTED.items():
        for level, correct in zip(LEVELS, corrects, strict=True):
            rows.append({
                "dataset": "mnist", "network": network, "seed": seed, "protocol": protocol,
                "selected_epoch": epoch, "noise_level": level, "correct": correct,
                "total": TEST_SIZE, "accuracy": correct / TEST_SIZE,
                "per_class_correct": [correct], "per_class_total": [TEST_SIZE],
            })  # fmt: skip
    return pd.DataFrame(rows)


def _rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| ")
    ]


def test_run_scores_per_run():
    runs = run_scores(planted_metrics())
    assert len(runs) == 8
    run = runs[(runs.protocol == "final") & (runs.network == "denseCNN1") & (runs.seed == 43)]
    assert run["test_accuracy"].item() == pytest.approx(98.50)
    assert run["noise_score"].item() == 9850 + 7100 + 4410
    assert run["noise_levels"].item() == 3
    assert run["test_size"].item() == TEST_SIZE
    assert run["max_noise_score"].item() == 30_000


def test_summarize_matches_hand_computed_values():
    summary = summarize(planted_metrics())
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert len(summary) == 4
    for (protocol, network), (acc, acc_std, noise, noise_std, epoch) in EXPECTED.items():
        row = summary[(summary.protocol == protocol) & (summary.network == network)].iloc[0]
        assert row["dataset"] == "mnist"
        assert row["seeds"] == 2
        assert row["test_accuracy_mean"] == pytest.approx(acc)
        assert row["test_accuracy_std"] == pytest.approx(acc_std)
        assert row["noise_score_mean"] == pytest.approx(noise)
        assert row["noise_score_std"] == pytest.approx(noise_std)
        assert row["selected_epoch_mean"] == pytest.approx(epoch)
        assert row["noise_levels"] == 3
        assert row["max_noise_score"] == 30_000


def test_summarize_std_is_ddof0_not_ddof1():
    summary = summarize(planted_metrics())
    row = summary[(summary.protocol == "final") & (summary.network == "sparseCNN2")].iloc[0]
    # ddof 1 would give 370 / sqrt(2) = 261.6
    assert row["noise_score_std"] == pytest.approx(185.0)
    assert row["noise_score_std"] != pytest.approx(np.std([28_000, 28_370], ddof=1))


def test_inconsistent_noise_levels_name_the_run():
    metrics = planted_metrics()
    drop = (
        (metrics.protocol == "final") & (metrics.network == "sparseCNN2") & (metrics.seed == 43)
        & (metrics.noise_level == 0.5)
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"mnist/sparseCNN2 seed 43 protocol 'final'") as err:
        summarize(metrics[~drop])
    assert "[0, 0.25]" in str(err.value) and "[0, 0.25, 0.5]" in str(err.value)
    assert isinstance(err.value, InputError)
    assert "\n" not in str(err.value)


def test_other_inconsistencies_are_refused():
    metrics = planted_metrics()
    with pytest.raises(ValueError, match="more than one row at noise level 0.25"):
        summarize(pd.concat([metrics, metrics.iloc[[1]]]))
    with pytest.raises(ValueError, match="no clean test level"):
        summarize(metrics[metrics.noise_level != 0.0])
    smaller = metrics.copy()
    smaller.loc[(smaller.network == "denseCNN1") & (smaller.seed == 42), "total"] = 5000
    with pytest.raises(ValueError, match="scored on 15,000 test samples"):
        summarize(smaller)
    epochs = metrics.copy()
    epochs.loc[0, "selected_epoch"] = 99
    with pytest.raises(ValueError, match="different selected_epoch"):
        summarize(epochs)
    with pytest.raises(ValueError, match="missing column.*correct"):
        summarize(metrics.drop(columns="correct"))


def test_noise_levels_may_differ_between_data_sets():
    gsc = planted_metrics().assign(dataset="gsc")
    gsc = gsc[gsc.noise_level != 0.5]
    summary = summarize(pd.concat([planted_metrics(), gsc]))
    assert sorted(summary.groupby("dataset")["noise_levels"].first().items()) == [
        ("gsc", 2), ("mnist", 3)]


def test_three_seeds_or_more_show_the_std_fewer_the_range():
    three = planted_metrics()
    third = three[three.seed == 43].assign(seed=44)
    text = results_table_markdown(pd.concat([three, third]), DEFINITIONS, "mnist", title="T",
                                  source_line="S", show_published=False)
    dense = next(r for r in _rows(text) if r[0] == "Dense CNN-1")
    assert " ± " in dense[1] and "–" not in dense[1]  # 3 seeds: mean ± std
    assert "with fewer than 3 seeds, mean (min–max) instead" in text
    two = _rows(_markdown())
    assert next(r for r in two if r[0] == "Dense CNN-1")[1] == "99.10 (99.00–99.20)"


def test_formatting():
    assert format_accuracy(99.144, 0.031) == "99.14 ± 0.03"
    assert format_noise_score(74_569.4, 3_200.2) == "74,569 ± 3,200"
    assert format_noise_score(999.6, 0.4) == "1,000 ± 0"


def _markdown(**kwargs) -> str:
    source = "Data: demo (embedded MNIST subset) · seeds 42–43 · epochs capped at 2"
    options = {"title": "Table 1. MNIST", "show_published": False, "source_line": source}
    options.update(kwargs)
    return results_table_markdown(planted_metrics(), DEFINITIONS, "mnist", **options)


def test_markdown_rows_sections_and_header():
    text = _markdown()
    lines = text.splitlines()
    assert lines[0] == "**Table 1. MNIST**"
    assert "Data: demo (embedded MNIST subset) · seeds 42–43 · epochs capped at 2" in lines[2]
    assert "3 noise levels (0, 25, 50 %)" in text
    assert "max 30,000 (3 levels × 10,000 test samples)" in text
    paper = text.index(f"### Protocol `paper`: {PROTOCOL_DESCRIPTIONS['paper']}")
    final = text.index(f"### Protocol `final`: {PROTOCOL_DESCRIPTIONS['final']}")
    assert paper < final
    assert "selects on the test set" in PROTOCOL_DESCRIPTIONS["paper"]
    assert "no test-set selection" in PROTOCOL_DESCRIPTIONS["final"]

    rows = _rows(text)
    labels = [d.label for d in DEFINITIONS.of("mnist")]
    assert rows[0] == ["Network", "Test acc. %", "Noise score"]
    assert [r[0] for r in rows[1:9]] == labels  # the paper section, in networks.yaml order
    assert rows[9] == rows[0]
    assert [r[0] for r in rows[10:]] == labels
    by_label = dict(((r[0], i < 9), r[1:]) for i, r in enumerate(rows))
    assert by_label[("Dense CNN-1", True)] == ["99.10 (99.00–99.20)", "23,060 (22,900–23,220)"]
    assert by_label[("Sparse CNN-2", True)] == ["98.60 (98.50–98.70)", "28,460 (28,350–28,570)"]
    assert by_label[("Dense CNN-1", False)] == ["98.70 (98.50–98.90)", "21,125 (20,890–21,360)"]
    assert by_label[("Sparse CNN-2", False)] == ["98.30 (98.00–98.60)", "28,185 (28,000–28,370)"]
    assert by_label[("Sparse CNN-1", True)] == ["not run", "not run"]
    assert sum(r[1:] == ["not run", "not run"] for r in rows) == 2 * 6
    assert "Paper" not in text and "74,569" not in text


def test_markdown_published_columns_and_differences():
    text = _markdown(show_published=True)
    rows = _rows(text)
    assert rows[0] == ["Network", "Test acc. %", "Paper acc.", "Δ acc.", "Noise score",
                       "Noise % of max", "Paper noise %", "Δ noise %"]
    # ours: 23,060 of max 30,000 = 76.87 %; paper: 74,569 of max 110,000 = 67.79 %
    assert rows[1] == ["Dense CNN-1", "99.10 (99.00–99.20)", "99.14 ± 0.03", "-0.04",
                       "23,060 (22,900–23,220)", "76.87 (76.33–77.40)", "67.79 ± 2.91", "+9.08"]
    # a network that was not run still shows the published numbers, without a difference
    assert rows[3] == ["Sparse CNN-1", "not run", "98.41 ± 0.08", "–", "not run", "not run",
                       "91.19 ± 1.58", "–"]
    assert "Paper = the published mean ± std over 10 repetitions" in text
    assert "docs/protocol.md §5.3" in text and "paper's max 110,000" in text
    # this planted run scores 3 levels, the paper 11: said in the header
    assert "This run scores 3 noise levels, the paper 11" in text


def _paper_scale_metrics(test_size: int, clean: int, per_level: list[int]) -> pd.DataFrame:
    """denseCNN1, two identical seeds, on the paper's 11 noise levels."""
    levels = [round(0.05 * i, 2) for i in range(11)]
    rows = [{"dataset": "mnist", "network": "denseCNN1", "seed": seed, "protocol": "paper",
             "selected_epoch": 1, "noise_level": level, "correct": correct, "total": test_size,
             "accuracy": correct / test_size}
            for seed in (42, 43) for level, correct in zip(levels, [clean, *per_level],
                                                           strict=True)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("test_size, clean, per_level", [
    (10_000, 9914, [6465] * 5 + [6466] * 5),  # the paper's own numbers: 74,569 of 110,000
    (1_000, 991, [646] * 4 + [647] * 6),  # a demo-size test set: 7,457 of 11,000, same %
])
def test_published_difference_is_on_the_same_scale(test_size, clean, per_level):
    metrics = _paper_scale_metrics(test_size, clean, per_level)
    text = results_table_markdown(metrics, DEFINITIONS, "mnist", title="T", source_line="S")
    row = _rows(text)[1]
    assert row[5] == "67.79 (67.79–67.79)" and row[6] == "67.79 ± 2.91" and row[7] == "+0.00"
    assert "not directly comparable" not in text


def test_markdown_lists_undefined_networks_and_uneven_seeds():
    metrics = planted_metrics()
    extra = metrics[(metrics.network == "denseCNN1") & (metrics.seed == 42)].assign(
        network="myNewNet")
    metrics = pd.concat([metrics, extra])
    text = results_table_markdown(metrics, DEFINITIONS, "mnist", title="T", source_line="S")
    rows = _rows(text)
    assert rows[9] == ["myNewNet", "99.00 (99.00–99.00)", "–", "–", "22,900 (22,900–22,900)",
                       "76.33 (76.33–76.33)", "–", "–"]
    assert "Seeds per network differ (Dense CNN-1: 2, Sparse CNN-2: 2, myNewNet: 1)" in text


def test_tables_are_numbered_and_titled_as_in_the_paper():
    """Table 1 is MNIST, Table 2 GSC, and the markdown's default title says so."""
    assert [table_dataset(1), table_dataset("2")] == ["mnist", "gsc"]
    assert results_table_title("gsc") == ("Table 2. Google Speech Commands: test accuracy and "
                                          "noise score")
    first = _markdown(title=None).splitlines()[0]
    assert first == "**Table 1. MNIST: test accuracy and noise score**"


def test_protocols_known_first_then_others_and_all_known_when_none():
    assert protocol_order(["x", "final", "paper", "final"]) == ["paper", "final", "x"]
    assert protocol_order([]) == list(PROTOCOL_DESCRIPTIONS)


@pytest.mark.parametrize(("dataset", "source", "seeds", "caps", "expected"), [
    ("mnist", "embedded", [42, 43], (3, 300),
     "demo run · data: embedded real MNIST: 5,000 training digits; official 10,000-digit test "
     "set · seeds 42–43 · epochs capped at 3, training set capped at 300"),
    ("gsc", "archive", [42], (None, None),
     "demo run · data: Speech Commands v0.01 (local archive) · seed 42 · paper epochs"),
])
def test_source_line_names_data_seeds_and_caps(dataset, source, seeds, caps, expected):
    assert source_line("demo", dataset, source, seeds, *caps) == expected


def test_markdown_without_runs_of_the_data_set():
    text = results_table_markdown(planted_metrics(), DEFINITIONS, "gsc", title="Table 2. GSC",
                                  source_line="S", show_published=True)
    assert "No gsc runs in the metrics table." in text
    rows = _rows(text)
    assert [r[0] for r in rows[1:5]] == [d.label for d in DEFINITIONS.of("gsc")]
    # the paper's GSC noise score as % of 11 x 2,552 = 28,072: 8,730 -> 31.10 %
    assert rows[1][1] == "not run" and rows[1][6] == "31.10 ± 1.68"
