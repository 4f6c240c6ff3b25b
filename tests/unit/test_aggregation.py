"""sparse_pkg.aggregation: stacking run by run, then the runs, gives the one-stage tables' bytes.

The workflow stacks each run's files into its own tables (rule aggregate_run) and then those
tables into the results (rule aggregate), so that no command names every file of the grid; the
results must be exactly what stacking every file at once gives.
"""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

from sparse_pkg.aggregation import HISTORY_KEYS, METRICS_KEYS, concat_parquet
from sparse_pkg.errors import InputError
from sparse_pkg.io.atomic import write_parquet

RUNS = [(d, n, s) for d, nets in [("mnist", ["dense", "sparse"]), ("gsc", ["dense", "sparse"])]
        for n in nets for s in (42, 43)]
LEVELS = [0.0, 0.05, 0.1, 0.15]


def _eval_rows(run: tuple, level: float) -> pd.DataFrame:
    """One level file: a row per protocol, with per-class lists as the evaluation writes."""
    dataset, network, seed = run
    correct = [[seed % 7 + i, int(level * 100) + i] for i in range(2)]
    return pd.DataFrame({
        "dataset": dataset, "network": network, "seed": seed, "protocol": ["paper", "final"],
        "selected_epoch": [2, 3], "noise_level": level, "correct": [c[0] + c[1] for c in correct],
        "total": 20, "accuracy": [(c[0] + c[1]) / 20 for c in correct],
        "per_class_correct": correct, "per_class_total": [[10, 10], [10, 10]]})


def _epoch_rows(run: tuple, scale: float) -> pd.DataFrame:
    """A history or timing: MNIST runs have no validation set (None), GSC runs do."""
    dataset, network, seed = run
    validation = [None] * 3 if dataset == "mnist" else [0.5 * scale, 0.6, 0.7]
    return pd.DataFrame({"dataset": dataset, "network": network, "seed": seed, "epoch": [0, 1, 2],
                         "seconds": [scale * seed + e for e in range(3)],
                         "validation_accuracy": validation})


@pytest.fixture
def run_files(tmp_path) -> dict:
    """Each run's files by kind, written in a shuffled order of runs and levels."""
    runs = RUNS.copy()
    random.Random(0).shuffle(runs)
    files: dict = {}
    for run in runs:
        folder = tmp_path / "runs" / "/".join(map(str, run))
        kinds = {"eval": [], "history": [], "timing": [], "background": []}
        for level in random.Random(run[2]).sample(LEVELS, len(LEVELS)):
            kinds["eval"].append(folder / f"eval/level_{level}.parquet")
            write_parquet(_eval_rows(run, level), kinds["eval"][-1])
        for kind, scale in (("history", 1.0), ("timing", 10.0)):
            kinds[kind].append(folder / f"{kind}.parquet")
            write_parquet(_epoch_rows(run, scale), kinds[kind][-1])
        if run[0] == "gsc":
            kinds["background"].append(folder / "eval/background.parquet")
            write_parquet(_eval_rows(run, 0.0), kinds["background"][-1])
        files[run] = kinds
    return files


KEYS = {"eval": METRICS_KEYS, "history": HISTORY_KEYS, "timing": HISTORY_KEYS,
        "background": METRICS_KEYS}


def _stack(paths: list[Path], keys: list[str], out: Path) -> Path:
    write_parquet(concat_parquet(paths, keys), out)
    return out


@pytest.mark.parametrize("kind", list(KEYS))
def test_two_stages_give_the_bytes_of_one(run_files, tmp_path, kind):
    keys = KEYS[kind]
    everything = [p for files in run_files.values() for p in files[kind]]
    one = _stack(everything, keys, tmp_path / "one.parquet")
    per_run = [_stack(files[kind], keys, tmp_path / "tables" / f"{i}.parquet")
               for i, files in enumerate(run_files.values()) if files[kind]]
    two = _stack(per_run, keys, tmp_path / "two.parquet")
    assert one.read_bytes() == two.read_bytes()
    table = pd.read_parquet(two)
    assert len(table) == sum(len(pd.read_parquet(p)) for p in everything)
    assert table[keys].equals(table[keys].sort_values(keys, ignore_index=True))


def test_a_row_in_two_runs_tables_is_refused(run_files, tmp_path):
    files = next(iter(run_files.values()))
    table = _stack(files["eval"], METRICS_KEYS, tmp_path / "a.parquet")
    copy = _stack(files["eval"], METRICS_KEYS, tmp_path / "b.parquet")
    with pytest.raises(InputError, match="hold the same row"):
        concat_parquet([table, copy], METRICS_KEYS)
