"""The GPU tier (`make test-gpu`, benchmarks/device_check.sh): the CUDA path of training,
evaluation, resuming and GPU sharing, on tiny data. Skipped, with the reason, where CUDA is
absent (CI and the development machines have no GPU)."""

from __future__ import annotations

import dataclasses
import re
import subprocess

import pytest
import torch
import yaml

from sparse_pkg.determinism import configure_torch
from sparse_pkg.evaluation import score_checkpoints
from sparse_pkg.io.tensors import TensorSet
from sparse_pkg.training import TrainingData, load_checkpoint, train
from tests.helpers.training import (
    DEFINITIONS,
    REPO_ROOT,
    assert_kill_and_resume_is_bit_identical,
    patch_data,
    state_dicts_equal,
    tiny_definition,
    torch_settings_restored,
)
from tests.helpers.workflow import SNAKEMAKE, snakemake_command, snakemake_env

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="no CUDA device here: the GPU tier runs where one is (make test-gpu, "
           "benchmarks/device_check.sh)")

PAPER_NETWORKS = [(d.dataset, d.name) for d in DEFINITIONS]


def _data(dataset: str, classes: int) -> TrainingData:
    x, y = patch_data(dataset, 192, 0, classes=classes)
    xt, yt = patch_data(dataset, 96, 1, classes=classes)
    return TrainingData(x, y, TensorSet(xt, yt, {"noise_level": 0.0}))


def _train_twice(tmp_path, definition, data, device="cuda"):
    outs = []
    for name in ("a", "b"):
        with torch_settings_restored():
            configure_torch(1)  # deterministic algorithms, fixed cuBLAS workspace
            train(definition, data, seed=3, out_dir=tmp_path / name, device=device, max_epochs=2)
        outs.append(tmp_path / name)
    return outs


@pytest.mark.parametrize("dataset, name", PAPER_NETWORKS)
def test_each_paper_network_trains_and_evaluates_on_cuda_twice_to_the_byte(tmp_path, dataset,
                                                                           name):
    definition = dataclasses.replace(DEFINITIONS.get(dataset, name), epochs=2, batch_size=32,
                                     first_epoch_batch_size=16)
    classes = 12 if dataset == "gsc" else 10
    first, second = _train_twice(tmp_path, definition, _data(dataset, classes))
    assert (first / "history.parquet").read_bytes() == (second / "history.parquet").read_bytes()
    for protocol in ("paper", "final"):
        ours = torch.load(first / f"{protocol}.pt", weights_only=True)["state_dict"]
        again = torch.load(second / f"{protocol}.pt", weights_only=True)["state_dict"]
        assert state_dicts_equal(ours, again), protocol
    model, info = load_checkpoint(first / "final.pt", "cuda")
    assert next(model.parameters()).is_cuda
    xt, yt = patch_data(dataset, 96, 1, classes=classes)
    (rows,) = score_checkpoints([(model, info)], TensorSet(xt, yt, {}), 0.0)
    assert rows.iloc[0].total == 96 and 0 <= rows.iloc[0].correct <= 96


def test_kill_and_resume_on_cuda_gives_the_bytes_of_an_uninterrupted_run(tmp_path):
    assert_kill_and_resume_is_bit_identical(tmp_path, "cuda")


def test_a_cpu_checkpoint_scores_on_cuda_and_a_cuda_checkpoint_on_the_cpu(tmp_path):
    """Checkpoints move between devices; the counts agree up to a few borderline samples (the
    devices' floating point differs, so not to the byte)."""
    data = _data("mnist", 10)
    test = data.test
    for trained_on, scored_on in (("cpu", "cuda"), ("cuda", "cpu")):
        out = tmp_path / trained_on
        with torch_settings_restored():
            configure_torch(1)
            train(tiny_definition("mnist", epochs=2), data, seed=5, out_dir=out,
                  device=trained_on, max_epochs=2)
        counts = {}
        for device in (trained_on, scored_on):
            model, info = load_checkpoint(out / "final.pt", device)
            counts[device] = int(score_checkpoints([(model, info)], test, 0.0)[0].iloc[0].correct)
        assert abs(counts["cpu"] - counts["cuda"]) <= 2, counts


def test_two_jobs_share_one_gpu_with_jobs_per_gpu_2(tmp_path):
    """compute.jobs_per_gpu: 2 with --resources gpu_milli=1000: two training jobs run at once
    on the one device (Snakemake's own log shows both started before either finished)."""
    if not SNAKEMAKE.exists():
        pytest.skip("snakemake not in this venv")
    config = yaml.safe_load((REPO_ROOT / "tests" / "configs" / "tiny.yaml").read_text())
    config["compute"].update(device="cuda", gpus_per_job=1, jobs_per_gpu=2)
    config["gsc"]["enabled"] = False
    config["seeds"] = 1
    path = tmp_path / "gpu.yaml"
    path.write_text(yaml.safe_dump(config))
    command = snakemake_command(tmp_path / "work", path, "--cores", "4", "--resources",
                                "gpu_milli=1000", "results/metrics.parquet")
    result = subprocess.run(command, capture_output=True, text=True, env=snakemake_env(),
                            timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert most_at_once(output, "train") == 2, output[-3000:]


def most_at_once(output: str, rule: str) -> int:
    """The most jobs of ``rule`` running at once, from Snakemake's log: a job runs from its
    "rule NAME:" block (whose "jobid: N" line names it) to "Finished jobid: N (Rule: NAME)"."""
    running: set[str] = set()
    peak, opening = 0, False
    for line in output.splitlines():
        if line.startswith(f"rule {rule}:") or line.startswith(f"localrule {rule}:"):
            opening = True
        elif opening and (started := re.match(r"\s+jobid: (\d+)$", line)):
            running.add(started.group(1))
            peak, opening = max(peak, len(running)), False
        elif finished := re.search(rf"Finished jobid: (\d+) \(Rule: {rule}\)", line):
            running.discard(finished.group(1))
    return peak
