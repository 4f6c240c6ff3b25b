"""scripts/aggregate.py: each kind of per-run file arrives under its own option, by name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]


def _eval_rows(network: str, level: float) -> pd.DataFrame:
    return pd.DataFrame({"dataset": ["mnist"], "network": [network], "seed": [42],
                         "protocol": ["paper"], "noise_level": [level], "correct": [9],
                         "total": [10], "accuracy": [0.9]})


def _epoch_rows(network: str, seconds: float) -> pd.DataFrame:
    return pd.DataFrame({"dataset": ["mnist"] * 2, "network": [network] * 2, "seed": [42] * 2,
                         "epoch": [1, 2], "seconds": [seconds, seconds + 1]})


def _write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def _aggregate(out: Path, *options: object) -> subprocess.CompletedProcess:
    outputs = [f"--{kind}-out={out / f'{kind}.parquet'}"
               for kind in ("metrics", "history", "timing", "background")]
    return subprocess.run([sys.executable, "-P", "-m", "sparse_pkg.commands.aggregate",
                           *map(str, options),
                           *outputs], capture_output=True, text=True, cwd=out,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))


def test_each_kind_is_read_from_the_files_named_for_it(tmp_path):
    """Files are taken by option, not sorted back into kinds by name or found beside another:
    the timings here sit apart from the histories under names of their own."""
    a, b = tmp_path / "run_a", tmp_path / "run_b"
    evals = [_write(_eval_rows("sparse", 0.1), b / "x.parquet"),
             _write(_eval_rows("dense", 0.0), a / "y.parquet")]
    histories = [_write(_epoch_rows("sparse", 5.0), b / "h.parquet"),
                 _write(_epoch_rows("dense", 3.0), a / "h.parquet")]
    timings = [_write(_epoch_rows("sparse", 50.0), tmp_path / "t1.parquet"),
               _write(_epoch_rows("dense", 30.0), tmp_path / "t2.parquet")]
    background = _write(_eval_rows("sparse", 0.0), tmp_path / "bg.parquet")
    options = [*(("--eval", p) for p in evals), *(("--history", p) for p in histories),
               *(("--timing", p) for p in timings), ("--background", background)]
    result = _aggregate(tmp_path, *(part for pair in options for part in pair))
    assert result.returncode == 0, result.stderr
    metrics = pd.read_parquet(tmp_path / "metrics.parquet")
    assert metrics[["network", "noise_level"]].values.tolist() == [["dense", 0.0],
                                                                   ["sparse", 0.1]]
    timing = pd.read_parquet(tmp_path / "timing.parquet")
    assert timing["seconds"].tolist() == [30.0, 31.0, 50.0, 51.0]  # sorted by key, not by file
    history = pd.read_parquet(tmp_path / "history.parquet")
    assert history["seconds"].tolist() == [3.0, 4.0, 5.0, 6.0]
    assert pd.read_parquet(tmp_path / "background.parquet")["network"].tolist() == ["sparse"]


def test_a_run_without_background_files_gives_an_empty_table(tmp_path):
    frame = _eval_rows("dense", 0.0)
    result = _aggregate(tmp_path, "--eval", _write(frame, tmp_path / "e.parquet"),
                        "--history", _write(_epoch_rows("dense", 1.0), tmp_path / "h.parquet"),
                        "--timing", _write(_epoch_rows("dense", 2.0), tmp_path / "t.parquet"))
    assert result.returncode == 0, result.stderr
    assert pd.read_parquet(tmp_path / "background.parquet").empty


def test_timings_are_required(tmp_path):
    result = _aggregate(tmp_path, "--eval", _write(_eval_rows("d", 0.0), tmp_path / "e.parquet"),
                        "--history", _write(_epoch_rows("d", 1.0), tmp_path / "h.parquet"))
    assert result.returncode == 2 and "--timing" in result.stderr
    assert not (tmp_path / "metrics.parquet").exists()
