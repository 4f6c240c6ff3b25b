"""Table 3 of the paper: each network's layer sizes and sparsities, computed from its definition.

Nothing here comes from training: the table is a pure function of the network definitions
(config/networks.yaml). L1/L2 sparsity = conv k / units after that layer's pooling, L3 sparsity
= k / n of the hidden linear layer, weight sparsity = fraction of its weights that stay non-zero;
100.0 % means dense. Two cells of the published table disagree with the configurations the paper
trained; the markdown version marks them and says why in footnotes.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from sparse_pkg.network_definitions import NetworkDefinition
from sparse_pkg.reporting.markdown import table_row

COLUMNS = (
    "Dataset", "Network", "L1 filters", "L1 sparsity", "L2 filters", "L2 sparsity",
    "L3 N", "L3 sparsity", "Weight sparsity",
)  # fmt: skip
MISSING = "–"
"""Cell text for a layer the network does not have (e.g. the second conv of a one-conv net)."""
DATASET_LABELS = {"mnist": "MNIST", "gsc": "GSC"}

# Cells as printed in the published Table 3 that the networks' own configurations contradict,
# keyed by (dataset, network name, column). Only used to flag and explain the difference.
PUBLISHED_CELLS: dict[tuple[str, str, str], str | int] = {
    ("gsc", "sparseCNN2", "L1 sparsity"): "9.5 %",
    ("gsc", "SuperSparseCNN2", "L1 sparsity"): "9.5 %",
    ("mnist", "denseCNN2SP3", "L2 filters"): 64,
}

Definitions = Iterable[NetworkDefinition]


def format_percent(fraction: float) -> str:
    """``0.0868...`` -> ``"8.7 %"``: one decimal, a space before the sign (100.0 % = dense)."""
    return f"{100.0 * fraction:.1f} %"


def _row(d: NetworkDefinition) -> dict[str, object]:
    if len(d.conv_channels) > 2:
        raise ValueError(
            f"network {d.dataset}/{d.name}: Table 3 has room for 2 conv layers, "
            f"it has {len(d.conv_channels)}"
        )
    row: dict[str, object] = {
        "Dataset": DATASET_LABELS.get(d.dataset, d.dataset),
        "Network": d.label,
    }
    for index in (1, 2):
        if index <= len(d.conv_channels):
            k, units = d.conv_k[index - 1], d.conv_units[index - 1]
            row[f"L{index} filters"] = d.conv_channels[index - 1]
            row[f"L{index} sparsity"] = format_percent(1.0 if k is None else min(k, units) / units)
        else:
            row[f"L{index} filters"] = MISSING
            row[f"L{index} sparsity"] = MISSING
    row["L3 N"] = d.linear_n
    row["L3 sparsity"] = format_percent(d.linear_k / d.linear_n)
    row["Weight sparsity"] = format_percent(d.weight_sparsity)
    return row


def parameters_table(definitions: Definitions) -> pd.DataFrame:
    """One row per network (in the given order) with the columns of the paper's Table 3.

    ``definitions``: the networks file's definitions (sparse_pkg.networks_file) or any iterable
    of them. Filter counts and N are integers; sparsities are strings such as ``"8.7 %"``;
    a missing second conv layer shows ``"–"`` in both of its cells.
    """
    rows = [_row(d) for d in definitions]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def parameters_table_markdown(
    definitions: Definitions, source: str = "config/networks.yaml"
) -> str:
    """Table 3 as a markdown table with footnotes.

    Only the networks of the paper's shape are rows; networks of one's own (``model``) and the
    networks of sweeps are named in a last note. Cells that differ from the published Table 3
    (GSC L1 sparsity printed 9.5 %, Dense CNN-2 SP3 printed with 64 L2 filters) get a marker and
    a footnote; a last note says that every cell is computed from ``source``.
    """
    every = list(definitions)
    defs = [d for d in every if d.model is None and d.sweep is None]
    own = [d for d in every if d.model is not None and d.sweep is None]
    swept = [d for d in every if d.sweep is not None]
    table = parameters_table(defs)
    notes: list[str] = []
    markers: dict[tuple[int, str], str] = {}
    for row_index, d in enumerate(defs):
        for column in COLUMNS:
            published = PUBLISHED_CELLS.get((d.dataset, d.name, column))
            ours = table.at[row_index, column]
            if published is None or str(published) == str(ours):
                continue
            text = _explain(d, column, published, ours)
            if text not in notes:  # one footnote for identical explanations (both GSC L1 cells)
                notes.append(text)
            markers[(row_index, column)] = f"[{chr(ord('a') + notes.index(text))}]"

    lines = [
        "**Table 3.** Network parameters: filters and k-winners sparsity (k / units) of the conv "
        "layers L1 and L2, units N and sparsity of the hidden layer L3, and the fraction of L3 "
        "weights that are non-zero (100.0 % = dense).",
        "",
        table_row(COLUMNS),
        "|" + "|".join("---" if c in ("Dataset", "Network") else "---:" for c in COLUMNS) + "|",
    ]
    for row_index, row in table.iterrows():
        cells = []
        for column in COLUMNS:
            text = str(row[column])
            marker = markers.get((row_index, column))
            cells.append(f"{text} {marker}" if marker else text)
        lines.append(table_row(cells))
    lines.append("")
    lines.extend(f"[{chr(ord('a') + i)}] {note}  " for i, note in enumerate(notes))
    lines.append(
        f"Every cell is computed from `{source}`, the configurations that are trained; "
        "none is copied from the paper."
    )
    if own:
        lines[-1] += "  "
        lines.append("Networks of your own, not in this table (their layers are their class's): "
                     + "; ".join(f"{d.label} (`{d.model}`)" for d in own) + ".")
    if swept:
        sweeps = sorted({d.sweep for d in swept})
        lines[-1] += "  "
        lines.append(f"Not shown: the {len(swept)} networks generated by the sweep(s) "
                     f"{', '.join(sweeps)} (results/sweeps/).")
    return "\n".join(lines) + "\n"


def _explain(d: NetworkDefinition, column: str, published: object, ours: object) -> str:
    """Footnote text for a cell that differs from the published Table 3."""
    layer = int(column[1]) - 1 if column[:2] in ("L1", "L2") else len(d.conv_k)
    if column.endswith("sparsity") and layer < len(d.conv_k) and d.conv_k[layer] is not None:
        k, units = d.conv_k[layer], d.conv_units[layer]
        c, h, w = d.conv_shapes[layer]
        return (
            f"The published Table 3 prints {published} for the {d.dataset.upper()} {column}, but "
            f"the configuration gives {k:,} / {units:,} ({c} x {h} x {w} units after pooling) "
            f"= {ours}."
        )
    return (
        f"The published Table 3 prints {published} for {d.label} ({column}), but its "
        f"configuration, which is what was trained, has {ours}."
    )
