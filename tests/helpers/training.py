"""Helpers shared by the training, evaluation and train-script tests: learnable synthetic tensors,
small network definitions, a guard that restores torch's process-wide settings, and a
training process killed mid-epoch and rerun (the CPU test and the GPU tier).

Not a test module (no ``test_`` prefix); imported by tests/unit/test_training.py,
tests/unit/test_evaluation.py and tests/scripts/test_train_script.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from sparse_pkg.io.tensors import TensorSet, save_tensor_set
from sparse_pkg.network_definitions import NetworkDefinition
from sparse_pkg.networks_file import load_networks

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "config" / "networks.yaml"
DEFINITIONS = load_networks(CONFIG)
PYTHON = sys.executable
SIZE = {"mnist": 28, "gsc": 32}
CLASSES = {"mnist": 10, "gsc": 12}


def patch_data(
    dataset: str, n: int, seed: int, *, copies: int | None = None, classes: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Learnable images: weak Gaussian noise plus a bright 4-pixel-high band whose row depends
    on the class. Labels cycle through the classes (balanced), then get shuffled.

    Shapes (n, 1, S, S), or (n, copies, 1, S, S) where every copy has its own noise (as
    augmented copies would).
    """
    size, classes = SIZE[dataset], classes or CLASSES[dataset]
    generator = torch.Generator().manual_seed(seed)
    labels = (torch.arange(n) % classes)[torch.randperm(n, generator=generator)]
    shape = (n, 1, size, size) if copies is None else (n, copies, 1, size, size)
    features = 0.3 * torch.randn(shape, generator=generator)
    rows = (labels * (size - 4)) // classes  # top row of each class's band
    row_index = torch.arange(size)
    band = (row_index[None, :] >= rows[:, None]) & (row_index[None, :] < rows[:, None] + 4)
    image = 3.0 * band[:, :, None].float().expand(n, size, size).clone()
    image[:, :, :4] = 0.0  # leave a margin left and right
    image[:, :, size - 4:] = 0.0
    image = image[:, None] if copies is None else image[:, None, None]
    return features + image, labels


def tiny_definition(dataset: str, name: str = "tinySparse", **overrides) -> NetworkDefinition:
    """A small, fast network that still has every mechanism: two sparse conv layers, a sparse
    hidden layer with sparse weights, boosting, momentum, and (by default) dropout and batch
    norm. Based on the data set's sparseCNN2 entry of config/networks.yaml."""
    values = {
        "name": name, "label": "tiny sparse test network", "conv_channels": (4, 4),
        "conv_k": (100, 20) if dataset == "gsc" else (60, 15), "linear_n": 40, "linear_k": 10,
        "weight_sparsity": 0.4, "batch_norm": True, "dropout": 0.25, "momentum": 0.5,
        "lr": 0.05, "lr_factor": 0.8, "batch_size": 16, "first_epoch_batch_size": 8,
        "epochs": 6, "duty_cycle_period": 100, "published": None,
    }  # fmt: skip
    values.update(overrides)
    return dataclasses.replace(DEFINITIONS.get(dataset, "sparseCNN2"), **values)


def write_definitions(path: Path, *definitions: NetworkDefinition) -> Path:
    """Write ``definitions`` as a networks YAML file the loader accepts; returns ``path``."""
    document: dict = {}
    for definition in definitions:
        entry = definition.to_dict()
        dataset, name = entry.pop("dataset"), entry.pop("name")
        entry["conv_k"] = ["dense" if k is None else k for k in entry["conv_k"]]
        document.setdefault(dataset, {"networks": {}})["networks"][name] = entry
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@contextlib.contextmanager
def torch_settings_restored() -> Iterator[None]:
    """Run a click command in-process without leaking its ``configure_torch`` call (thread
    count, deterministic algorithms) into the rest of the test session."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Train with one torch thread: on a shared 2-core machine two threads are much slower, and
    results do not depend on it (torch settings restored afterwards)."""
    with torch_settings_restored():
        torch.set_num_threads(1)
        yield


def state_dicts_equal(a: dict, b: dict) -> bool:
    """True when two state dicts have the same keys and bit-identical tensors / equal values."""
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if torch.is_tensor(x):
            if not (torch.is_tensor(y) and x.dtype == y.dtype and torch.equal(x, y)):
                return False
        elif x != y:
            return False
    return True


# A training process killed mid-epoch and rerun (the CPU test and the GPU tier)

KILL_EPOCHS = 4


def _gsc_files(folder, n_train):
    """Training set with 2 augmented copies, test and validation sets, in TensorSet files."""
    folder.mkdir(parents=True, exist_ok=True)
    x, y = patch_data("gsc", n_train, 0, copies=2)
    save_tensor_set(folder / "train.pt", TensorSet(x, y, {"source": "synthetic-test"}))
    for name, seed in (("test", 1), ("validation", 2)):
        xs, ys = patch_data("gsc", 60, seed)
        save_tensor_set(folder / f"{name}.pt", TensorSet(xs, ys, {"noise_level": 0.0}))
    return folder


def _train_command(definitions, data, out, device):
    return [PYTHON, "-m", "sparse_pkg.commands.train", "--definitions", str(definitions),
            "--dataset", "gsc", "--network", "tinySparse", "--seed", "44",
            "--train", str(data / "train.pt"), "--test", str(data / "test.pt"),
            "--validation", str(data / "validation.pt"), "--sampling", "balanced",
            "--max-train-samples", "600", "--out-dir", str(out), "--threads", "1",
            "--device", device]  # fmt: skip


def _popen(command):
    return subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(path, process, deadline_s):
    """Poll until ``path`` exists; fail if the process ends or the deadline passes first."""
    deadline = time.monotonic() + deadline_s
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(f"train.py ended (status {process.returncode}) before writing {path.name}:"
                        f" {process.stderr.read()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{path.name} did not appear within {deadline_s} s")
        time.sleep(0.02)


def assert_kill_and_resume_is_bit_identical(tmp_path: Path, device: str) -> None:
    """A training process on ``device`` SIGKILLed mid-epoch and rerun gives the bytes of an
    uninterrupted run: history, both checkpoints, their meta; the timings of both parts kept.

    The tiny sparse network has every piece of state a resume must restore: momentum, boost
    strength and duty cycles, sparse-weight masks, dropout (global RNG), balanced draws,
    augmented copies, a first-epoch batch size, and a validation set."""
    definitions = write_definitions(tmp_path / "networks.yaml",
                                    tiny_definition("gsc", epochs=KILL_EPOCHS))
    data = _gsc_files(tmp_path / "data", 700)
    reference_out, resumed_out = tmp_path / "reference", tmp_path / "resumed"
    reference = _popen(_train_command(definitions, data, reference_out, device))
    victim = _popen(_train_command(definitions, data, resumed_out, device))

    resume_file = resumed_out / "resume.pt"
    _wait_for(resume_file, victim, deadline_s=180)
    first = torch.load(resume_file, weights_only=False)  # written atomically: always whole
    # the resume state of epoch 0 just appeared; half an epoch later the run is mid-epoch 1
    time.sleep(0.5 * first["timing"][0]["epoch_seconds"])
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=60)
    assert victim.returncode == -signal.SIGKILL
    assert not (resumed_out / "history.parquet").exists()
    assert not (resumed_out / "final.pt").exists()
    killed_at = torch.load(resume_file, weights_only=False)["epoch"]
    assert killed_at < KILL_EPOCHS - 1  # the run was cut short, with epochs left to redo

    rerun = subprocess.run(_train_command(definitions, data, resumed_out, device), cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"at epoch {killed_at + 2}/{KILL_EPOCHS}" in rerun.stderr
    assert "resuming gsc/tinySparse seed 44" in rerun.stderr
    _, reference_err = reference.communicate(timeout=300)
    assert reference.returncode == 0, reference_err
    assert "resuming" not in reference_err

    assert (resumed_out / "history.parquet").read_bytes() == \
        (reference_out / "history.parquet").read_bytes()
    history = pd.read_parquet(resumed_out / "history.parquet")
    assert history.epoch.tolist() == list(range(KILL_EPOCHS))
    assert history.validation_accuracy.notna().all()
    assert set(history.train_samples) == {600}
    for protocol in ("paper", "final"):
        ours = torch.load(resumed_out / f"{protocol}.pt", weights_only=True)
        theirs = torch.load(reference_out / f"{protocol}.pt", weights_only=True)
        assert state_dicts_equal(ours["state_dict"], theirs["state_dict"])
        assert {k: v for k, v in ours.items() if k != "state_dict"} == \
            {k: v for k, v in theirs.items() if k != "state_dict"}
    timing = pd.read_parquet(resumed_out / "timing.parquet")
    assert timing.epoch.tolist() == list(range(KILL_EPOCHS))  # timings of the killed run are kept
    assert not resume_file.exists()
