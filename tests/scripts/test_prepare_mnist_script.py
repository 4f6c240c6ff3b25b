"""scripts/prepare_mnist.py on the packaged digits: the sets it writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from sparse_pkg.datasets.mnist import (
    load_packaged_mnist_test,
)
from sparse_pkg.io.tensors import load_tensor_set

REPO = Path(__file__).resolve().parents[2]


def test_prepare_mnist_embedded_trains_on_5000_and_tests_on_the_official_10000(tmp_path):
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "sparse_pkg.commands.prepare_mnist", "--source", "embedded",
         "--train-out", tmp_path / "train.pt", "--test-out", tmp_path / "test.pt"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True,
        timeout=300)
    assert result.returncode == 0, result.stderr
    train, test = load_tensor_set(tmp_path / "train.pt"), load_tensor_set(tmp_path / "test.pt")
    assert train.features.shape == (5_000, 1, 28, 28)
    assert np.bincount(train.labels.numpy()).tolist() == [500] * 10
    assert test.features.shape == (10_000, 1, 28, 28)
    _, official_labels = load_packaged_mnist_test()
    assert np.array_equal(test.labels.numpy(), official_labels)
    assert "official 10000-digit test set" in test.meta["source"]
    for name in ("train.pt.sha256", "test.pt.sha256"):
        assert (tmp_path / name).is_file()
