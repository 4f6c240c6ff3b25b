"""scripts/train.py: a run SIGKILLed mid-epoch and rerun gives the bytes of an uninterrupted run;
one-line errors with exit status 2; the training-set cap is applied and recorded."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import time

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from sparse_pkg.io.tensors import TensorSet, save_tensor_set
from tests.helpers.training import (
    CONFIG,
    PYTHON,
    REPO_ROOT,
    patch_data,
    state_dicts_equal,
    tiny_definition,
    torch_settings_restored,
    write_definitions,
)

EPOCHS = 4


def _gsc_files(folder, n_train):
    """Training set with 2 augmented copies, test and validation sets, in TensorSet files."""
    folder.mkdir(parents=True, exist_ok=True)
    x, y = patch_data("gsc", n_train, 0, copies=2)
    save_tensor_set(folder / "train.pt", TensorSet(x, y, {"source": "synthetic-test"}))
    for name, seed in (("test", 1), ("validation", 2)):
        xs, ys = patch_data("gsc", 60, seed)
        save_tensor_set(folder / f"{name}.pt", TensorSet(xs, ys, {"noise_level": 0.0}))
    return folder


def _train_command(definitions, data, out, *extra):
    return [PYTHON, str(REPO_ROOT / "scripts" / "train.py"), "--definitions", str(definitions),
            "--dataset", "gsc", "--network", "tinySparse", "--seed", "44",
            "--train", str(data / "train.pt"), "--test", str(data / "test.pt"),
            "--validation", str(data / "validation.pt"), "--sampling", "balanced",
            "--max-train-samples", "600", "--out-dir", str(out), "--threads", "1",
            "--device", "cpu", *extra]  # fmt: skip


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


def test_rerun_after_sigkill_mid_epoch_is_bit_identical(tmp_path):
    # tiny sparse network with every piece of state a resume must restore: momentum, boost
    # strength and duty cycles, sparse-weight masks, dropout (global RNG), balanced draws,
    # augmented copies, a first-epoch batch size, and a validation set.
    definitions = write_definitions(tmp_path / "networks.yaml",
                                    tiny_definition("gsc", epochs=EPOCHS))
    data = _gsc_files(tmp_path / "data", 700)
    reference_out, resumed_out = tmp_path / "reference", tmp_path / "resumed"
    reference = _popen(_train_command(definitions, data, reference_out))
    victim = _popen(_train_command(definitions, data, resumed_out))

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
    assert killed_at < EPOCHS - 1  # the run was cut short, with epochs left to redo

    rerun = subprocess.run(_train_command(definitions, data, resumed_out), cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"at epoch {killed_at + 2}/{EPOCHS}" in rerun.stderr
    assert "resuming gsc/tinySparse seed 44" in rerun.stderr
    _, reference_err = reference.communicate(timeout=300)
    assert reference.returncode == 0, reference_err
    assert "resuming" not in reference_err

    assert (resumed_out / "history.parquet").read_bytes() == \
        (reference_out / "history.parquet").read_bytes()
    history = pd.read_parquet(resumed_out / "history.parquet")
    assert history.epoch.tolist() == list(range(EPOCHS))
    assert history.validation_accuracy.notna().all()
    assert set(history.train_samples) == {600}
    for protocol in ("paper", "final"):
        ours = torch.load(resumed_out / f"{protocol}.pt", weights_only=True)
        theirs = torch.load(reference_out / f"{protocol}.pt", weights_only=True)
        assert state_dicts_equal(ours["state_dict"], theirs["state_dict"])
        assert {k: v for k, v in ours.items() if k != "state_dict"} == \
            {k: v for k, v in theirs.items() if k != "state_dict"}
    timing = pd.read_parquet(resumed_out / "timing.parquet")
    assert timing.epoch.tolist() == list(range(EPOCHS))  # timings of the killed run are kept
    assert not resume_file.exists()


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
