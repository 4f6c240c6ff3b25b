"""Gathering per-run files into the tidy result tables (metrics, history, timing).

Rows are sorted by their keys so that the tables' bytes do not depend on the order in which
jobs finished.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable

import pandas as pd

from sparse_pkg.errors import InputError
from sparse_pkg.io.inputs import read_input

METRICS_KEYS = ["dataset", "network", "seed", "protocol", "noise_level"]
HISTORY_KEYS = ["dataset", "network", "seed", "epoch"]


def concat_parquet(paths: Iterable[str | os.PathLike], keys: list[str]) -> pd.DataFrame:
    """Read and stack parquet files, sorted by ``keys``; duplicates of a key are an error."""
    frames = [
        read_input(path, pd.read_parquet, what="result file",
                   fix=f"delete it (rm {shlex.quote(os.fspath(path))}), then rerun snakemake: it "
                       "recomputes that file", fix_missing="rerun its job")
        for path in paths
    ]
    if not frames:
        return pd.DataFrame(columns=keys)
    table = pd.concat(frames, ignore_index=True)
    duplicated = table.duplicated(subset=keys)
    if duplicated.any():
        first = table[duplicated].iloc[0][keys].to_dict()
        raise InputError(f"two result files hold the same row {first}; remove the stale one")
    return table.sort_values(keys, kind="stable").reset_index(drop=True)
