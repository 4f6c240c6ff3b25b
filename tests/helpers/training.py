"""Helpers shared by the training, evaluation and train-script tests: learnable synthetic tensors,
small network definitions, and a guard that restores torch's process-wide settings.

Not a test module (no ``test_`` prefix); imported by tests/unit/test_training.py,
tests/unit/test_evaluation.py and tests/scripts/test_train_script.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

import torch
import yaml

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
