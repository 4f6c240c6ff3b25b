"""Gathering per-run files into the tidy result tables (metrics, history, timing).

Rows are sorted by their keys so that the tables' bytes do not depend on the order in which
jobs finished.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import pandas as pd

from sparse_pkg.errors import InputError
from sparse_pkg.io.atomic import atomic_path

METRICS_COLUMNS = (
    "dataset", "network", "seed", "protocol", "selected_epoch", "noise_level", "correct",
    "total", "accuracy", "per_class_correct", "per_class_total",
)
METRICS_KEYS = ["dataset", "network", "seed", "protocol", "noise_level"]
HISTORY_KEYS = ["dataset", "network", "seed", "epoch"]


def concat_parquet(paths: Iterable[str | os.PathLike], keys: list[str]) -> pd.DataFrame:
    """Read and stack parquet files, sorted by ``keys``; duplicates of a key are an error."""
    frames = []
    for path in paths:
        try:
            frames.append(pd.read_parquet(path))
        except Exception as exc:
            raise InputError(
                f"{path}: unreadable ({type(exc).__name__}); delete it and rerun its job"
            ) from None
    if not frames:
        return pd.DataFrame(columns=keys)
    table = pd.concat(frames, ignore_index=True)
    duplicated = table.duplicated(subset=keys)
    if duplicated.any():
        first = table[duplicated].iloc[0][keys].to_dict()
        raise InputError(f"two result files hold the same row {first}; remove the stale one")
    return table.sort_values(keys, kind="stable").reset_index(drop=True)


def write_table(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Atomically write ``frame`` as parquet (no index)."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
