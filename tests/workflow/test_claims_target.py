"""claims.md is a target of the workflow."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers.workflow import SNAKEMAKE, job_counts, run_snakemake

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not SNAKEMAKE.exists(), reason="snakemake not in this venv")
def test_claims_md_is_a_target_of_the_workflow(tmp_path):
    shutil.copy(REPO / "tests" / "configs" / "tiny.yaml", tmp_path / "tiny.yaml")
    result = run_snakemake(tmp_path, tmp_path / "tiny.yaml", "-n", "-p")
    assert job_counts(result.stdout)["claims"] == 1
    assert "sparse_pkg.commands.report claims" in result.stdout
    assert "results/claims.md" in result.stdout
    assert "--source-line 'demo run" in result.stdout  # one header line per data set
