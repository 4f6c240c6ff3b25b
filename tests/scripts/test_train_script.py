"""scripts/train.py: a run SIGKILLed mid-epoch and rerun gives the bytes of an uninterrupted run;
one-line errors with exit status 2; the training-set cap is applied and recorded."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from sparse_pkg.io.tensors import TensorSet, save_tensor_set
from tests.helpers.training import (
    CONFIG,
    REPO_ROOT,
    assert_kill_and_resume_is_bit_identical,
    patch_data,
    tiny_definition,
    torch_settings_restored,
    write_definitions,
)


def test_rerun_after_sigkill_mid_epoch_is_bit_identical(tmp_path):
    # tiny sparse network with every piece of state a resume must restore: momentum, boost
    # strength and duty cycles, sparse-weight masks, dropout (global RNG), balanced draws,
    # augmented copies, a first-epoch batch size, and a validation set.
    assert_kill_and_resume_is_bit_identical(tmp_path, "cpu")


# ---------------------------------------------------------------------------------------------
# In-process: errors and the training-set cap


def _invoke(args):
    path = REPO_ROOT / "scripts" / "train.py"
    spec = importlib.util.spec_from_file_location("script_train", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with torch_settings_restored():
        return CliRunner().invoke(module.main, args)


def _args(data, out, definitions=CONFIG, network="sparseCNN2", dataset="mnist", train=None):
    return ["--definitions", str(definitions), "--dataset", dataset, "--network", network,
            "--seed", "42", "--train", str(train or data / "train.pt"),
            "--test", str(data / "test.pt"), "--out-dir", str(out), "--threads", "1",
            "--device", "cpu"]


@pytest.fixture
def mnist_files(tmp_path):
    x, y = patch_data("mnist", 40, 0)
    save_tensor_set(tmp_path / "train.pt", TensorSet(x, y, {"source": "synthetic-test"}))
    xt, yt = patch_data("mnist", 20, 1)
    save_tensor_set(tmp_path / "test.pt", TensorSet(xt, yt))
    return tmp_path


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_unknown_network_exits_2_with_one_line(mnist_files):
    result = _invoke(_args(mnist_files, mnist_files / "out", network="sparseCNN9"))
    line = _one_error_line(result)
    assert str(CONFIG) in line and "sparseCNN9" in line and "denseCNN1" in line  # known names
    # a GSC-only name asked for MNIST is unknown too
    line = _one_error_line(_invoke(_args(mnist_files, mnist_files / "out",
                                         network="denseCNN2_DR00")))
    assert "no mnist network 'denseCNN2_DR00'" in line
    assert not (mnist_files / "out").exists()


def test_missing_input_files_exit_2_naming_them(mnist_files):
    line = _one_error_line(_invoke(_args(mnist_files, mnist_files / "out",
                                         train=mnist_files / "absent.pt")))
    assert "absent.pt" in line and "not found" in line
    line = _one_error_line(_invoke(_args(mnist_files, mnist_files / "out",
                                         definitions=mnist_files / "nets.yaml")))
    assert "nets.yaml" in line
    assert not (mnist_files / "out").exists()


def test_training_set_cap_is_applied_and_recorded(mnist_files):
    definitions = write_definitions(mnist_files / "networks.yaml", tiny_definition("mnist"))
    out = mnist_files / "out"
    result = _invoke(_args(mnist_files, out, definitions=definitions, network="tinySparse")
                     + ["--max-train-samples", "24", "--max-epochs", "2"])
    assert result.exit_code == 0, result.output
    history = pd.read_parquet(out / "history.parquet")
    assert history.train_samples.tolist() == [24, 24] and history.epochs.tolist() == [2, 2]
    meta = torch.load(out / "final.pt", weights_only=True)["meta"]
    assert meta["train_samples"] == 24 and meta["train_samples_available"] == 40
    assert meta["source"] == "synthetic-test" and meta["epochs_in_definition"] == 6
    assert "training mnist/tinySparse seed 42 on cpu with 24 samples" in result.stderr
