"""A network of your own through the workflow: the three-conv example of examples/ trained,
scored at every level, tabled and claimed beside a paper network with nothing but its module and
a networks file; a bad `model:` entry refused in one line before any job; an edit of the class
reruns its jobs only."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.helpers.workflow import SNAKEMAKE, job_counts, run_snakemake

REPO = Path(__file__).resolve().parents[2]
TINY = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())

pytestmark = pytest.mark.skipif(not SNAKEMAKE.exists(), reason="snakemake not in this venv")

CLAIM = """\
claims:
  - id: own_more_robust
    claim: The own three-conv network is more robust than Sparse CNN-1
    paper: none
    section: "-"
    kind: networks
    dataset: mnist
    network: sparseCNN3
    versus: sparseCNN1
    metric: noise_score
    direction: greater
    margin: 0
"""


def _project(tmp_path: Path, networks: dict | None = None) -> tuple[Path, Path]:
    """A working folder holding only a copy of examples/, a networks file and a config."""
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    document = yaml.safe_load((REPO / "examples" / "own_network.yaml").read_text())
    if networks is not None:
        document["mnist"]["networks"] = networks
    (tmp_path / "networks.yaml").write_text(yaml.safe_dump(document))
    (tmp_path / "claims.yaml").write_text(CLAIM)
    config = {**TINY, "claims_file": "claims.yaml",
              "mnist": {**TINY["mnist"], "networks": "all", "max_train_samples": 200},
              "gsc": {**TINY["gsc"], "enabled": False}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, tmp_path / "networks.yaml"


def test_the_example_runs_end_to_end_beside_a_paper_network(tmp_path):
    config, networks = _project(tmp_path)
    result = run_snakemake(tmp_path, config, "--cores", "2", networks_file=networks)
    counts = job_counts(result.stdout + result.stderr)
    assert counts["train"] == 4 and counts["evaluate_run"] == 4  # 2 networks x 2 seeds

    metrics = pd.read_parquet(tmp_path / "results" / "metrics.parquet")
    own = metrics[metrics.network == "sparseCNN3"]
    assert sorted(own.noise_level.unique()) == [0.0, 0.1, 0.5]
    assert len(own) == 2 * 2 * 3 and (own.total == 10_000).all()  # seeds x protocols x levels
    history = pd.read_parquet(tmp_path / "results" / "history.parquet")
    assert (history[history.network == "sparseCNN3"].entropy > 0).all()

    table = (tmp_path / "results" / "table1.md").read_text()
    (row,) = [line for line in table.splitlines() if line.startswith("| Sparse CNN-3 (own) |")][:1]
    assert "not run" not in row
    assert "`examples.sparse_cnn3:ThreeConvSparseCNN`" in \
        (tmp_path / "results" / "table3.md").read_text()
    claims = (tmp_path / "results" / "claims.md").read_text()
    assert "| The own three-conv network is more robust than Sparse CNN-1 |" in claims
    assert "Sparse CNN-3 (own) − Sparse CNN-1 > 0" in claims

    # Editing the class (not a comment) reruns its jobs and what follows, not the paper network's.
    module = tmp_path / "examples" / "sparse_cnn3.py"
    module.write_text(module.read_text().replace("duty_cycle_period=1000",
                                                 "duty_cycle_period=500"))
    plan = run_snakemake(tmp_path, config, "-n", networks_file=networks)
    assert job_counts(plan.stdout)["train"] == 2


@pytest.mark.parametrize(("entry", "expected"), [
    ({"label": "x", "model": "examples.no_such:Net"},
     "network mnist/sparseCNN3, key 'model' (examples.no_such:Net): cannot import "
     "examples.no_such (ModuleNotFoundError"),
    ({"label": "x", "model": "examples.sparse_cnn3:ThreeConvSparseCNN",
      "options": {"depth": 4}},
     "its constructor does not accept the arguments depth, input_shape, num_classes"),
    ({"label": "x", "model": "examples.sparse_cnn3:torch"},
     "torch is not a torch.nn.Module class"),
])
def test_a_bad_model_entry_stops_the_workflow_in_one_line_before_any_job(tmp_path, entry,
                                                                         expected):
    config, networks = _project(tmp_path, {"sparseCNN3": entry})
    result = run_snakemake(tmp_path, config, "--cores", "1", networks_file=networks, check=False)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and expected in errors[0], result.stderr[-2000:]
    assert errors[0].startswith(f"error: {networks}: network mnist/sparseCNN3")
    assert not (tmp_path / "data").exists() and not (tmp_path / "results").exists()


def test_an_own_network_on_speech_commands_is_scored_on_every_noise_kind(tmp_path):
    """White noise at every level and the background-noise set, as the paper's GSC networks."""
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    document = yaml.safe_load((REPO / "config" / "networks.yaml").read_text())
    document = {"gsc": {"defaults": document["gsc"]["defaults"], "networks": {
        "ownGsc": {"label": "own", "model": "examples.sparse_cnn3:ThreeConvSparseCNN",
                   "momentum": 0.0, "lr_factor": 0.9, "batch_size": 16, "epochs": 2}}}}
    networks = tmp_path / "networks.yaml"
    networks.write_text(yaml.safe_dump(document))
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({**TINY, "seeds": 1, "mnist": {**TINY["mnist"],
                                                                     "enabled": False},
                                      "gsc": {**TINY["gsc"], "networks": "all"}}))
    plan = run_snakemake(tmp_path, config, "-n", "-p", networks_file=networks)
    counts = job_counts(plan.stdout)
    assert counts["train"] == 1 and counts["evaluate_run"] == 1
    assert counts["evaluate_background"] == 1
    (evaluate,) = [line for line in plan.stdout.splitlines()
                   if "sparse_pkg.commands.evaluate " in line and "--noise-level" in line]
    assert evaluate.count("--noise-level") == 3  # every level of the config
