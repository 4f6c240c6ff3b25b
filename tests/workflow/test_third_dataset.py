"""A third data set through the workflow with nothing but its module and config: scikit-learn's
handwritten digits (examples/digits.py) prepared, noised, trained on, scored, tabled, drawn and
claimed; a module that is not a data set stops Snakemake in one line before any job."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.helpers.workflow import SNAKEMAKE, job_counts, run_snakemake

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(not SNAKEMAKE.exists(), reason="snakemake not in this venv"),
]


def _project(tmp_path: Path, module: str = "examples.digits") -> Path:
    """A working folder with the example's module and YAML files only, and a small config."""
    (tmp_path / "examples").mkdir()
    for name in ("digits.py", "digits_networks.yaml", "digits_claims.yaml"):
        shutil.copy(REPO / "examples" / name, tmp_path / "examples" / name)
    config = yaml.safe_load((REPO / "examples" / "digits.yaml").read_text())
    config.update({"results_dir": "results", "seeds": 2, "noise_levels": [0.0, 0.2, 0.5],
                   "compute": {"device": "cpu", "train_threads": 1, "eval_threads": 1}})
    config["datasets"]["digits"].update({"module": module, "max_epochs": 3})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_the_digits_run_end_to_end_from_their_module_and_config(tmp_path):
    pytest.importorskip("sklearn", reason="scikit-learn is not installed (dev lock only)")
    config = _project(tmp_path)
    result = run_snakemake(tmp_path, config, "--cores", "2",
                           networks_file="examples/digits_networks.yaml")
    counts = job_counts(result.stdout + result.stderr)
    assert counts["dataset_prepare"] == 1 and counts["dataset_noise"] == 3
    assert counts["train"] == 4 and "mnist_prepare" not in counts

    results = tmp_path / "results"
    metrics = pd.read_parquet(results / "metrics.parquet")
    assert set(metrics.dataset) == {"digits"} and set(metrics.total) == {449}
    assert len(metrics) == 2 * 2 * 2 * 3  # networks x seeds x protocols x levels
    table = (results / "table_digits.md").read_text()
    assert table.startswith("**scikit-learn digits (8x8): test accuracy and noise score**")
    assert "data: scikit-learn handwritten digits (1,797 images of 8x8, load_digits)" in table
    assert "| Dense CNN (digits) |" in table and "| Sparse CNN (digits) |" in table
    assert "Paper" not in table  # nothing published to set beside it
    assert (results / "digits_noise.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    claims = pd.read_csv(results / "claims.csv")
    assert set(claims[claims.section == "networks"].seeds) == {"2 / 2"}  # tested, both claims
    provenance = json.loads((results / "provenance.json").read_text())
    assert provenance["workflow"]["data_digits"].startswith(
        "scikit-learn handwritten digits (1,797 images of 8x8, load_digits) (module "
        "examples.digits); raw data SHA-256 c098c156")
    assert provenance["workflow"]["data_mnist"] == "not used"


def test_a_module_that_is_not_a_data_set_stops_the_run_in_one_line(tmp_path):
    config = _project(tmp_path, module="examples.nothing_here")
    result = run_snakemake(tmp_path, config, "-n", check=False,
                           networks_file="examples/digits_networks.yaml")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: config key datasets.digits.module (examples.nothing_here): cannot "
                      "import it (ModuleNotFoundError: No module named 'examples.nothing_here'); "
                      "install it, or put it in the folder Snakemake runs in"]
    assert not (tmp_path / "data").exists()
