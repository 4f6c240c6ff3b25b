"""benchmarks/device_check.sh, the one call that runs the GPU tier and the paper-cost projection
on a CUDA machine: its dry run on this CPU-only machine (the real run needs a GPU)."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "device_check.sh"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=60, cwd="/")


def test_dry_run_names_each_step_with_its_limit_inside_eight_minutes(tmp_path):
    result = _run("--dry-run", "--out", str(tmp_path / "report"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    steps = [line for line in lines if line.startswith("would run (")]
    assert [line.split()[2].strip("(,") for line in steps] == ["device", "gpu_tier",
                                                                "paper_cost"]
    assert "-m pytest -v -rs -p no:cacheprovider tests/gpu" in steps[1]
    assert "benchmarks/paper_cost.py --device cuda --concurrent 1,2,4" in steps[2]
    limits = [int(line.split("at most ")[1].split()[0]) for line in steps]
    assert sum(limits) < 8 * 60
    assert lines[-1] == f"would write {tmp_path / 'report'}/report.md"
    assert not (tmp_path / "report").exists()  # a dry run writes nothing


def test_an_unknown_option_is_refused_in_one_line():
    result = _run("--gpu")
    assert result.returncode == 2
    assert result.stderr.strip() == ("device_check.sh: unknown option --gpu "
                                     "(use --dry-run, --out DIR)")
