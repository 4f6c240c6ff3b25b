"""Results as data (sparse_pkg.results.load) and two folders compared (sparse_pkg.compare):
planted folders with hand-computed differences, intervals and changed verdicts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sparse_pkg import results
from sparse_pkg.errors import InputError
from sparse_pkg.reporting.comparison import (
    comparison_markdown,
    difference_interval,
    network_differences,
    paired_interval,
    verdict_changes,
)


def _folder(path: Path, correct: dict[str, list[int]], verdicts: dict[str, str] | None = None,
            provenance: bool = True) -> Path:
    """A results folder: per network, one seed per entry of its clean correct counts (of 100),
    scored at levels 0 and 0.5 (half as many right there)."""
    path.mkdir()
    rows = []
    for network, counts in correct.items():
        for seed, count in enumerate(counts, start=42):
            for level, right in ((0.0, count), (0.5, count // 2)):
                rows.append({"dataset": "mnist", "network": network, "seed": seed,
                             "protocol": "paper", "selected_epoch": 1, "noise_level": level,
                             "correct": right, "total": 100, "accuracy": right / 100})
    pd.DataFrame(rows).to_parquet(path / "metrics.parquet", index=False)
    if verdicts is not None:
        pd.DataFrame([{"section": "networks", "protocol": "paper", "claim": claim, "where": "",
                       "test": "", "effect": "", "bound": "", "p": "", "p_holm": "",
                       "seeds": "", "verdict": verdict} for claim, verdict in verdicts.items()]
                     ).to_csv(path / "claims.csv", index=False)
    if provenance:
        (path / "provenance.json").write_text(json.dumps({"workflow": {
            "version": "0.2.0", "commit": "abc", "config_sha256": "c" * 64,
            "lock_sha256": "d" * 64}, "training": [], "evaluation": []}))
    return path


def test_load_reads_the_tables_and_refuses_what_is_not_a_results_folder(tmp_path):
    folder = _folder(tmp_path / "a", {"net": [90, 80]}, provenance=False)
    run = results.load(folder)
    assert len(run.metrics) == 4 and run.history.empty and run.claims.empty
    assert run.provenance is None
    assert run.runs[["network", "seed", "test_accuracy", "noise_score"]].values.tolist() == [
        ["net", 42, 90.0, 135], ["net", 43, 80.0, 120]]
    with pytest.raises(InputError, match=r"nowhere: no such results folder"):
        results.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"empty/metrics.parquet: missing, so .* holds no "
                                         r"finished run"):
        results.load(tmp_path / "empty")
    (tmp_path / "empty" / "metrics.parquet").write_text("not parquet")
    with pytest.raises(InputError, match=r"metrics.parquet"):
        results.load(tmp_path / "empty")


def test_the_paired_interval_by_hand():
    # differences 1, 2, 3: mean 2, SE 1/sqrt(3), t(0.975, 2) = 4.302653
    mean, low, high = paired_interval([1.0, 2.0, 3.0])
    half = 4.302653 / 3 ** 0.5
    assert (mean, low, high) == pytest.approx((2.0, 2 - half, 2 + half), abs=1e-5)
    assert paired_interval([0.5, 0.5]) == (0.5, 0.5, 0.5) and paired_interval([1.0]) is None


def test_the_difference_interval_by_hand():
    # a = 1, 2, 3 and b = 2, 3, 4: difference 1, SE sqrt(1/3 + 1/3), Welch df 4, t(0.975, 4)
    # = 2.776445: 1 ± 2.266958
    gap, low, high = difference_interval([1, 2, 3], [2, 3, 4])
    assert (gap, low, high) == pytest.approx((1.0, 1 - 2.266958, 1 + 2.266958), abs=1e-5)
    assert difference_interval([1, 1], [3, 3]) == (2.0, 2.0, 2.0)  # no spread: the difference
    assert difference_interval([1], [2, 3]) is None


def test_two_folders_side_by_side_with_the_verdicts_that_changed(tmp_path):
    a = results.load(_folder(tmp_path / "a", {"dense": [90, 92], "sparse": [80, 84, 82]},
                             {"sparse is robust": "holds", "within 1 point": "not shown"}))
    b = results.load(_folder(tmp_path / "b", {"dense": [90, 92], "sparse": [70, 70],
                                              "extra": [50, 60]},
                             {"sparse is robust": "contradicted", "within 1 point": "not shown"},
                             provenance=False))
    table = network_differences(a, b).set_index("network")
    assert table.loc["dense", "same"] == "yes"  # both seeds scored identically
    # the same seeds on both sides: paired differences 0, 0
    assert table.loc["dense", "test_accuracy_diff"] == "+0.00 [+0.00, +0.00]"
    assert table.loc["sparse", "same"] == "no" and table.loc["sparse", "seeds"] == "3 / 2"
    assert table.loc["sparse", "test_accuracy_a"] == "82.00"
    # seeds 42-44 against 42-43: Welch, 80, 84, 82 against 70, 70 (SE sqrt(4/3), df 2)
    assert table.loc["sparse", "test_accuracy_diff"] == \
        f"-12.00 [{-12 - 4.302653 * (4 / 3) ** 0.5:+.2f}, {-12 + 4.302653 * (4 / 3) ** 0.5:+.2f}]"
    assert table.loc["extra", "seeds"] == "0 / 2" and table.loc["extra", "same"] == "–"
    assert table.loc["extra", "test_accuracy_diff"] == "–"
    changes = verdict_changes(a, b)
    assert changes[["claim", "verdict_a", "verdict_b"]].values.tolist() == [
        ["sparse is robust", "holds", "contradicted"]]
    text = comparison_markdown(a, b, "laptop", "cluster")
    assert "**cluster − laptop: per-network differences and changed verdicts**" in text
    assert f"cluster = `{tmp_path / 'b'}`: no provenance.json" in text
    assert "| sparse is robust | holds | contradicted |" in text
    assert "| dense | 2 / 2 | 91.00 | 91.00 | +0.00 [+0.00, +0.00] |" in text


def test_the_command_line_prints_or_writes_the_table(tmp_path):
    a = _folder(tmp_path / "a", {"net": [90, 80]})
    b = _folder(tmp_path / "b", {"net": [91, 81]})
    shown = subprocess.run([sys.executable, "-m", "sparse_pkg.compare", str(a), str(b)],
                           capture_output=True, text=True, check=True)
    assert "| net | 2 / 2 | 85.00 | 86.00 | +1.00 [+1.00, +1.00] |" in shown.stdout
    assert "Not compared: no claims.csv in A and B" in shown.stdout
    out = tmp_path / "compare.md"
    subprocess.run([sys.executable, "-m", "sparse_pkg.compare", str(a), str(b), "--out",
                    str(out), "--html", str(tmp_path / "compare.html")], check=True)
    assert out.read_text() == shown.stdout
    assert "<table" in (tmp_path / "compare.html").read_text()
    bad = subprocess.run([sys.executable, "-m", "sparse_pkg.compare", str(a),
                          str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.strip() == f"error: {tmp_path / 'nowhere'}: no such results folder; pass " \
                                 "the results_dir of a run (default: results)"
