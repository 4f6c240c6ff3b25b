"""scripts/evaluate.py as a process and through click: it scores a checkpoint and refuses bad
inputs in one line."""

from __future__ import annotations

import importlib.util
import json
import subprocess

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from sparse_pkg.io.tensors import TensorSet, save_tensor_set
from sparse_pkg.networks import build_network
from sparse_pkg.training import save_checkpoint
from tests.helpers.training import (
    PYTHON,
    REPO_ROOT,
    patch_data,
    single_thread,
    tiny_definition,
    torch_settings_restored,
)

ROW_COLUMNS = [
    "dataset", "network", "seed", "protocol", "selected_epoch", "noise_level", "correct", "total",
    "accuracy", "per_class_correct", "per_class_total", "environment",
]  # fmt: skip


def _checkpoint_and_test_set(tmp_path, n_candidates=80):
    """A checkpoint of a seeded tiny MNIST network and a test set whose labels are planted from
    the network's own predictions: the first half right, the second half wrong.

    Samples whose top two log-probabilities are within 1e-3 are dropped, so the prediction cannot
    depend on floating-point details of another process. Returns (checkpoint, test file,
    expected per-class correct, expected per-class total).
    """
    definition = tiny_definition("mnist")
    torch.manual_seed(3)
    model = build_network(definition)
    save_checkpoint(tmp_path / "final.pt", model.state_dict(), definition, protocol="final",
                    epoch=5, seed=45)
    x, _ = patch_data("mnist", n_candidates, 7)
    with torch.no_grad(), single_thread():
        output = model.eval()(x)
    top2 = output.topk(2, dim=1).values
    keep = (top2[:, 0] - top2[:, 1]) > 1e-3
    x, predicted = x[keep], output.argmax(dim=1)[keep]
    half = len(predicted) // 2
    labels = torch.cat([predicted[:half], (predicted[half:] + 1) % 10])
    save_tensor_set(tmp_path / "noisy.pt", TensorSet(x, labels, {"noise_level": 0.1}))
    expected_correct = torch.bincount(predicted[:half], minlength=10).tolist()
    expected_total = torch.bincount(labels, minlength=10).tolist()
    return tmp_path / "final.pt", tmp_path / "noisy.pt", expected_correct, expected_total

def _evaluate_command(checkpoint, test, level, out):
    return [PYTHON, str(REPO_ROOT / "scripts" / "evaluate.py"), "--checkpoint", str(checkpoint),
            "--test", str(test), "--noise-level", str(level), "--out", str(out),
            "--threads", "1", "--device", "cpu", "--batch-size", "7"]  # fmt: skip

def test_checkpoint_evaluates_in_a_fresh_process(tmp_path):
    checkpoint, test, expected_correct, expected_total = _checkpoint_and_test_set(tmp_path)
    assert sum(expected_total) >= 60 and sum(expected_correct) > 0
    good_out, bad_out = tmp_path / "row.parquet", tmp_path / "bad.parquet"
    # both fresh processes at once (two cores): the right level, and a level the file is not
    good = subprocess.Popen(_evaluate_command(checkpoint, test, 0.1, good_out), cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    bad = subprocess.Popen(_evaluate_command(checkpoint, test, 0.2, bad_out), cwd=REPO_ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, good_err = good.communicate(timeout=120)
    _, bad_err = bad.communicate(timeout=120)
    assert good.returncode == 0, good_err
    row = pd.read_parquet(good_out)
    assert list(row.columns) == ROW_COLUMNS and len(row) == 1
    row = row.iloc[0]
    made_by = json.loads(row.environment)  # where the scores were computed (provenance.json)
    assert made_by["device"] == "cpu" and made_by["torch"] == torch.__version__
    assert list(row.per_class_correct) == expected_correct
    assert list(row.per_class_total) == expected_total
    assert row.correct == sum(expected_correct) and row.total == sum(expected_total)
    assert row.accuracy == pytest.approx(sum(expected_correct) / sum(expected_total), abs=0)
    assert (row.dataset, row.network, row.seed) == ("mnist", "tinySparse", 45)
    assert (row.protocol, row.selected_epoch, row.noise_level) == ("final", 5, 0.1)

    assert bad.returncode == 2
    lines = bad_err.strip().splitlines()
    assert len(lines) == 1 and str(test) in lines[0] and "0.1" in lines[0], bad_err
    assert not bad_out.exists()

def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"script_{name}", REPO_ROOT / "scripts" / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

def _invoke(args):
    with torch_settings_restored():
        return CliRunner().invoke(_load_script("evaluate.py").main, args)

def test_evaluate_rejects_a_test_set_of_another_data_set(tmp_path):
    checkpoint, _, _, _ = _checkpoint_and_test_set(tmp_path, n_candidates=4)
    x, y = patch_data("gsc", 5, 0)
    save_tensor_set(tmp_path / "gsc.pt", TensorSet(x, y, {"noise_level": 0.0}))
    result = _invoke(["--checkpoint", str(checkpoint), "--test", str(tmp_path / "gsc.pt"),
                      "--noise-level", "0", "--out", str(tmp_path / "o.parquet"),
                      "--threads", "1", "--device", "cpu"])  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "gsc.pt" in result.stderr
    assert "wrong data set" in result.stderr
    assert not (tmp_path / "o.parquet").exists()

@pytest.mark.parametrize("missing", ["checkpoint", "test"])
def test_evaluate_missing_input_exits_2_naming_it(tmp_path, missing):
    checkpoint, test, _, _ = _checkpoint_and_test_set(tmp_path, n_candidates=4)
    paths = {"checkpoint": checkpoint, "test": test}
    paths[missing] = tmp_path / f"absent_{missing}.pt"
    result = _invoke(["--checkpoint", str(paths["checkpoint"]), "--test", str(paths["test"]),
                      "--noise-level", "0.1", "--out", str(tmp_path / "o.parquet"),
                      "--threads", "1", "--device", "cpu"])  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and f"absent_{missing}.pt" in result.stderr
    assert result.stderr.startswith("error: ")
