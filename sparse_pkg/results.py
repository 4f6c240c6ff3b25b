"""A results folder as data: ``load(folder)`` returns its tables as pandas frames.

    >>> from sparse_pkg import results
    >>> run = results.load("results")
    >>> run.runs.groupby(["dataset", "network", "protocol"]).noise_score.mean()

What a folder holds is the workflow's results_dir (docs/outputs.md): ``metrics.parquet`` (one row
per dataset, network, seed, protocol and noise level) is required; ``history.parquet``,
``timing.parquet``, ``background_noise.parquet``, ``claims.csv`` and ``provenance.json`` are read
when present (empty frames or None when not, so older folders load too).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from sparse_pkg.errors import InputError
from sparse_pkg.io.inputs import read_input

__all__ = ["Results", "load"]


@dataclass(frozen=True)
class Results:
    """The tables of one results folder (see the module docstring)."""

    folder: Path
    metrics: pd.DataFrame
    history: pd.DataFrame
    timing: pd.DataFrame
    background_noise: pd.DataFrame
    claims: pd.DataFrame
    provenance: dict[str, Any] | None

    @cached_property
    def runs(self) -> pd.DataFrame:
        """One row per run (dataset, network, seed, protocol): its clean test accuracy (%),
        noise score, noise score as % of its maximum, and selected epoch; validated as the
        tables validate them."""
        from sparse_pkg.reporting.claim_verdicts import per_run_metrics

        return per_run_metrics(self.metrics)


def _optional(path: Path, reader) -> Any:
    if not path.is_file():
        return None
    return read_input(path, reader, what="results file",
                      fix="rerun the workflow to rebuild it (snakemake)")


def load(folder: str | os.PathLike) -> Results:
    """The tables of the results folder ``folder``; InputError (one line) when it is not one."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: no such results folder; pass the results_dir of a run "
                         "(default: results)")
    metrics_path = root / "metrics.parquet"
    if not metrics_path.is_file():
        raise InputError(f"{metrics_path}: missing, so {root} holds no finished run; run the "
                         "workflow there first (snakemake --cores all)")
    metrics = read_input(metrics_path, pd.read_parquet, what="results file",
                         fix="rerun the workflow to rebuild it (snakemake)")
    frames = {name: _optional(root / f"{name}.parquet", pd.read_parquet)
              for name in ("history", "timing", "background_noise")}
    claims = _optional(root / "claims.csv", pd.read_csv)
    provenance = _optional(root / "provenance.json", lambda p: json.loads(Path(p).read_text()))
    return Results(
        folder=root, metrics=metrics,
        **{name: frame if frame is not None else pd.DataFrame() for name, frame in frames.items()},
        claims=claims if claims is not None else pd.DataFrame(), provenance=provenance)
