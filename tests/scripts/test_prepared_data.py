"""Prepared data sets: level names, one noisy MNIST set per job, checksum sidecars."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sparse_pkg.datasets.mnist import (
    features_to_uint8,
    load_packaged_mnist_test,
    to_tensor_set,
)
from sparse_pkg.errors import InputError
from sparse_pkg.io.sidecar import sidecar_path, verify_sidecar, write_sidecar
from sparse_pkg.io.tensors import save_tensor_set
from sparse_pkg.noise import level_name, level_stream
from sparse_pkg.noise.pixel import pixel_noise_test_set

REPO = Path(__file__).resolve().parents[2]


def run_script(name: str, *args: object) -> subprocess.CompletedProcess:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, str(REPO / "scripts" / name), *map(str, args)],
                          env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize(("level", "name"), [
    (0.0, "0"), (0.05, "0.05"), (0.5, "0.5"), (1.0, "1"), (1e-05, "0.00001"),
    (0.1234567, "0.1234567"), (0.35000000000000003, "0.35000000000000003"), (2.5e-7, "0.00000025"),
])
def test_level_names_are_exact_decimals_without_exponent(level, name):
    assert level_name(level) == name
    assert float(level_name(level)) == level  # never rounded


def test_normalized_features_give_back_their_exact_pixels():
    every_value = torch.arange(256, dtype=torch.uint8).reshape(1, 16, 16)
    assert torch.equal(features_to_uint8(to_tensor_set(every_value, [0]).features), every_value)
    with pytest.raises(InputError, match="x.pt: not normalized 8-bit MNIST pixels"):
        features_to_uint8(torch.full((1, 1, 28, 28), 0.5), "x.pt")


def test_a_noisy_level_from_the_saved_test_set_has_the_bytes_of_one_made_from_the_images(
        tmp_path):
    """mnist_noise.py (one job per level, reading test.pt) writes exactly what prepare_mnist.py
    wrote for the level when it made every level from the raw images in one job."""
    images, labels = load_packaged_mnist_test()
    test_x, test_y = images[:1000], labels[:1000]  # a slice keeps the test quick
    meta = {"source": "official MNIST test set (first 1000 digits)", "dataset": "mnist",
            "split": "test"}
    save_tensor_set(tmp_path / "test.pt", to_tensor_set(test_x, test_y, meta))
    for level in (0.0, 0.35):
        result = run_script("mnist_noise.py", "--test", tmp_path / "test.pt", "--noise-level",
                            level, "--noise-seed", 1234, "--out", tmp_path / "noisy.pt")
        assert result.returncode == 0, result.stderr
        direct = pixel_noise_test_set(test_x, test_y, level, level_stream(level), 1234, meta)
        save_tensor_set(tmp_path / "direct.pt", direct)
        assert (tmp_path / "noisy.pt").read_bytes() == (tmp_path / "direct.pt").read_bytes()
        verify_sidecar(tmp_path / "noisy.pt")  # the sidecar was written with it


def test_sidecar_catches_a_truncated_or_changed_file(tmp_path):
    data = tmp_path / "train.pt"
    data.write_bytes(b"prepared bytes" * 1000)
    digest = write_sidecar(data)
    assert sidecar_path(data).read_text() == f"{digest}  train.pt\n"  # sha256sum -c format
    assert verify_sidecar(data) == digest
    os.truncate(data, 100)
    with pytest.raises(InputError, match=rf"{data}: content differs .* `rm {data}`"):
        verify_sidecar(data)
    sidecar_path(data).unlink()
    with pytest.raises(InputError, match=r"train.pt.sha256: missing"):
        verify_sidecar(data)


def test_verify_script_refuses_in_one_line_with_the_command_that_rebuilds(tmp_path):
    data = tmp_path / "level_0.5.pt"
    data.write_bytes(b"x" * 5000)
    write_sidecar(data)
    stamp = tmp_path / "level_0.5.pt.verified"
    assert run_script("verify_data.py", data, "--out", stamp).returncode == 0
    assert stamp.read_text().split()[0] == sidecar_path(data).read_text().split()[0]
    stamp.unlink()
    data.write_bytes(b"y" * 5000)  # same size, other content
    result = run_script("verify_data.py", data, "--out", stamp)
    assert result.returncode == 2 and not stamp.exists()
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {data}: content differs")
    assert f"`rm {data}`" in result.stderr
