"""Running the real workflow from tests: one Snakemake command line and one job-stats parser.

Shared by the workflow, reliability and SLURM tests, which run the repository's Snakefile in a
temporary folder with a test configuration.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
NETWORKS = REPO / "config" / "networks.yaml"


def snakemake_command(workdir: Path, configfile: Path, *args: str,
                      networks_file: str | Path = NETWORKS) -> list[str]:
    """Snakemake on the repository's Snakefile inside ``workdir`` with ``configfile``."""
    return [str(SNAKEMAKE), "--snakefile", str(REPO / "workflow" / "Snakefile"),
            "--directory", str(workdir), "--configfile", str(configfile),
            "--config", f"networks_file={networks_file}", *args]


def snakemake_env() -> dict[str, str]:
    """The environment of a run: the venv first on PATH, so the rules' `python` is ours."""
    return dict(os.environ, PATH=f"{SNAKEMAKE.parent}{os.pathsep}{os.environ['PATH']}")


def run_snakemake(workdir: Path, configfile: Path, *args: str,
                  networks_file: str | Path = NETWORKS, check: bool = True,
                  timeout: int = 1200) -> subprocess.CompletedProcess:
    """Run Snakemake to the end; with ``check``, a failure fails the test with its output.

    On timeout the process is killed with SIGKILL (Snakemake may ignore SIGTERM, SLURM.md).
    """
    result = subprocess.run(
        snakemake_command(workdir, configfile, *args, networks_file=networks_file),
        capture_output=True, text=True, env=snakemake_env(), timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n"
                             f"{result.stderr[-4000:]}")
    return result


def job_counts(output: str) -> dict[str, int]:
    """Rule -> job count from the first 'Job stats' table Snakemake printed ({} if none)."""
    counts: dict[str, int] = {}
    in_stats = False
    for line in output.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_stats = True
        elif in_stats and len(parts) == 2 and parts[1].isdigit():
            if parts[0] != "total":
                counts[parts[0]] = int(parts[1])
        elif in_stats and parts and not set(line.strip()) <= {"-", " "}:
            break
    return counts
