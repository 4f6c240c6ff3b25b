"""Tests of Table 3: every row derived by hand (docs/protocol.md §5.5), and the footnotes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sparse_pkg.networks_file import load_networks
from sparse_pkg.reporting.table3 import (
    COLUMNS,
    format_percent,
    parameters_table,
    parameters_table_markdown,
)

CONFIG = Path(__file__).resolve().parents[2] / "config" / "networks.yaml"
DEFINITIONS = load_networks(CONFIG)
M = "–"

# Units after pooling: MNIST 28 -conv5-> 24 -pool-> 12 -conv5-> 8 -pool-> 4, so
# C*144 after L1 and C*16 after L2; GSC 32 -> 28 -> 14 -> 10 -> 5, so C*196 and C*25.
EXPECTED = [
    # Dense CNN-1: all dense; no second conv
    ["MNIST", "Dense CNN-1", 30, "100.0 %", M, M, 1000, "100.0 %", "100.0 %"],
    ["MNIST", "Dense CNN-2", 30, "100.0 %", 30, "100.0 %", 1000, "100.0 %", "100.0 %"],
    # 400 / (30*144 = 4320) = 9.26 %; 50 / 150 = 33.33 %; weights 0.3
    ["MNIST", "Sparse CNN-1", 30, "9.3 %", M, M, 150, "33.3 %", "30.0 %"],
    # 400 / (32*144 = 4608) = 8.68 %; 300 / (64*16 = 1024) = 29.30 %; 100 / 700 = 14.29 %
    ["MNIST", "Sparse CNN-2", 32, "8.7 %", 64, "29.3 %", 700, "14.3 %", "30.0 %"],
    # dense convs (30, 30); 100 / 700 = 14.29 %; weights 0.3
    ["MNIST", "Dense CNN-2 SP3", 30, "100.0 %", 30, "100.0 %", 700, "14.3 %", "30.0 %"],
    # sparse convs as Sparse CNN-2; 1000 / 1000 dense; weights 1.0
    ["MNIST", "Sparse CNN-2 D3", 32, "8.7 %", 64, "29.3 %", 1000, "100.0 %", "100.0 %"],
    # as Sparse CNN-2 with dense weights
    ["MNIST", "Sparse CNN-2 W1", 32, "8.7 %", 64, "29.3 %", 700, "14.3 %", "100.0 %"],
    # sparse convs; dense activations 1000 / 1000; weights 0.3
    ["MNIST", "Sparse CNN-2 DSW", 32, "8.7 %", 64, "29.3 %", 1000, "100.0 %", "30.0 %"],
    ["GSC", "Dense CNN-2 (DR=0.0)", 64, "100.0 %", 64, "100.0 %", 1000, "100.0 %", "100.0 %"],
    ["GSC", "Dense CNN-2 (DR=0.5)", 64, "100.0 %", 64, "100.0 %", 1000, "100.0 %", "100.0 %"],
    # 1200 / (64*196 = 12544) = 9.57 %; 200 / (64*25 = 1600) = 12.5 %; 100 / 1000; weights 0.4
    ["GSC", "Sparse CNN-2", 64, "9.6 %", 64, "12.5 %", 1000, "10.0 %", "40.0 %"],
    # as above; 100 / 1500 = 6.67 %; weights 0.1
    ["GSC", "Super-Sparse CNN-2", 64, "9.6 %", 64, "12.5 %", 1500, "6.7 %", "10.0 %"],
]


def test_columns_are_those_of_the_paper():
    assert list(parameters_table(DEFINITIONS).columns) == [
        "Dataset", "Network", "L1 filters", "L1 sparsity", "L2 filters", "L2 sparsity",
        "L3 N", "L3 sparsity", "Weight sparsity",
    ]  # fmt: skip
    assert list(COLUMNS) == list(parameters_table(DEFINITIONS).columns)


@pytest.mark.parametrize("index", range(len(EXPECTED)))
def test_rows_equal_hand_computed_values(index):
    table = parameters_table(DEFINITIONS)
    assert len(table) == 12
    assert table.iloc[index].tolist() == EXPECTED[index]


def test_accepts_the_collection_or_any_iterable():
    collection = parameters_table(DEFINITIONS)
    flat = parameters_table(list(DEFINITIONS))
    assert collection.equals(flat)
    gsc_only = parameters_table(DEFINITIONS.of("gsc"))
    assert gsc_only["Dataset"].tolist() == ["GSC"] * 4


def test_format_percent():
    assert format_percent(400 / 4608) == "8.7 %"
    assert format_percent(1.0) == "100.0 %"
    assert format_percent(100 / 1500) == "6.7 %"


def _markdown_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_markdown_table_marks_the_two_published_differences():
    text = parameters_table_markdown(DEFINITIONS)
    rows = _markdown_rows(text)
    assert rows[0] == list(COLUMNS)
    assert len(rows) == 13
    by_key = {(row[0], row[1]): row for row in rows[1:]}
    assert by_key[("MNIST", "Dense CNN-2 SP3")][4] == "30 [a]"
    assert by_key[("MNIST", "Sparse CNN-2")][3] == "8.7 %"
    assert by_key[("GSC", "Sparse CNN-2")][3] == "9.6 % [b]"
    assert by_key[("GSC", "Super-Sparse CNN-2")][3] == "9.6 % [b]"
    assert by_key[("MNIST", "Sparse CNN-1")][4:6] == [M, M]
    # only those three cells carry a marker
    assert sum("[" in cell for row in rows for cell in row) == 3
    assert "[a] The published Table 3 prints 64 for Dense CNN-2 SP3" in text
    assert "has 30" in text
    assert "[b] The published Table 3 prints 9.5 % for the GSC L1 sparsity" in text
    assert "1,200 / 12,544" in text and "= 9.6 %" in text
    assert "[c]" not in text
    assert "computed from `config/networks.yaml`" in text


def test_markdown_footnotes_follow_the_configuration():
    mnist = list(DEFINITIONS.of("mnist"))
    text = parameters_table_markdown(mnist, source="my/networks.yaml")
    assert "[b]" not in text and "9.5 %" not in text
    assert "computed from `my/networks.yaml`" in text
    # a configuration that matches the published 64 filters needs no footnote
    sp3 = dataclasses.replace(DEFINITIONS.get("mnist", "denseCNN2SP3"), conv_channels=(30, 64))
    text = parameters_table_markdown([sp3])
    assert "[a]" not in text
    assert _markdown_rows(text)[1][4] == "64"
