"""Evaluation: per-class counts of a planted model, the parquet row of a checkpoint, checkpoint
round trips, and scripts/evaluate.py scoring a checkpoint in a fresh process."""

from __future__ import annotations

import copy
import math

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sparse_pkg.errors import InputError
from sparse_pkg.evaluation import (
    check_input_shape,
    count_correct,
    evaluate_checkpoint_rows,
    labelled_noise_level,
    score_checkpoints,
)
from sparse_pkg.io.tensors import TensorSet
from sparse_pkg.networks import build_network
from sparse_pkg.training import load_checkpoint, save_checkpoint
from tests.helpers.training import (
    DEFINITIONS,
    patch_data,
    state_dicts_equal,
)

ROW_COLUMNS = [
    "dataset", "network", "seed", "protocol", "selected_epoch", "noise_level", "correct", "total",
    "accuracy", "per_class_correct", "per_class_total",
]  # fmt: skip


class PlantedModel(nn.Module):
    """In eval mode predicts the class written in pixel (0, 0) of each sample; in train mode
    always predicts class 0 (so counts reveal the mode they were taken in)."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.classes = classes
        self.scale = nn.Parameter(torch.ones(()))  # gives the model a device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        predicted = torch.zeros_like(x[:, 0, 0, 0], dtype=torch.long)
        if not self.training:
            predicted = x[:, 0, 0, 0].long()
        return F.log_softmax(F.one_hot(predicted, self.classes).float() * 10 * self.scale, dim=1)


# labels and planted predictions; per class (0..3): correct 1, 2, 1, 2 of 2, 3, 2, 3
LABELS = torch.tensor([0, 0, 1, 1, 1, 2, 2, 3, 3, 3])
PREDICTED = torch.tensor([0, 2, 1, 1, 0, 2, 3, 3, 3, 1])


def _planted_features() -> torch.Tensor:
    features = torch.rand(10, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    features[:, 0, 0, 0] = PREDICTED.float()
    return features


@pytest.mark.parametrize("batch_size", [1, 3, 4, 10, 1000])
def test_count_correct_per_class_on_a_planted_model(batch_size):
    model = PlantedModel(4).train()
    correct, total = count_correct(model, _planted_features(), LABELS, batch_size)
    assert correct.tolist() == [1, 2, 1, 2]
    assert total.tolist() == [2, 3, 2, 3]
    assert correct.dtype == total.dtype == torch.int64
    assert model.training  # the mode is restored


def test_count_correct_pads_to_num_classes_and_keeps_eval_mode():
    model = PlantedModel(6).eval()
    correct, total = count_correct(model, _planted_features(), LABELS, 3, num_classes=6)
    assert correct.tolist() == [1, 2, 1, 2, 0, 0]
    assert total.tolist() == [2, 3, 2, 3, 0, 0]
    assert not model.training


def test_evaluate_checkpoint_rows_on_a_planted_model():
    definition = DEFINITIONS.get("mnist", "denseCNN1")
    info = {"definition": definition, "seed": 43, "protocol": "final", "epoch": 9}
    test = TensorSet(_planted_features(), LABELS, {"noise_level": 0.25})
    for batch_size in (None, 3):
        rows = evaluate_checkpoint_rows(PlantedModel(10), info, test, 0.25, batch_size)
        assert list(rows.columns) == ROW_COLUMNS and len(rows) == 1
        row = rows.iloc[0].to_dict()
        assert row["per_class_correct"] == [1, 2, 1, 2] + [0] * 6  # padded to the 10 classes
        assert row["per_class_total"] == [2, 3, 2, 3] + [0] * 6
        expected = {"dataset": "mnist", "network": "denseCNN1", "seed": 43, "protocol": "final",
                    "selected_epoch": 9, "noise_level": 0.25, "correct": 6, "total": 10,
                    "accuracy": 0.6}  # fmt: skip
        assert {k: row[k] for k in expected} == expected


def test_score_checkpoints_runs_identical_checkpoints_once():
    """paper.pt = final.pt (best epoch = last): one pass; any other difference: its own pass."""
    definition = DEFINITIONS.get("mnist", "sparseCNN1")
    torch.manual_seed(0)
    base = build_network(definition).eval()
    twin = copy.deepcopy(base)
    boosted = copy.deepcopy(base).train()
    boosted.post_epoch()  # only the boost strength (extra state) differs
    boosted.eval()
    changed = copy.deepcopy(base)
    with torch.no_grad():
        changed.layers.output.bias[3] += 1.0
    models = [base, twin, boosted, changed]
    runs = [0] * len(models)
    for index, model in enumerate(models):
        model.register_forward_hook(lambda *_, i=index: runs.__setitem__(i, runs[i] + 1))
    infos = [{"definition": definition, "seed": 42, "protocol": protocol, "epoch": 2}
             for protocol in ("paper", "final", "paper", "final")]
    test = TensorSet(torch.randn(30, 1, 28, 28, generator=torch.Generator().manual_seed(1)),
                     torch.arange(30) % 10, {})
    frames = score_checkpoints(list(zip(models, infos, strict=True)), test, 0.1, batch_size=10)
    assert runs == [3, 0, 3, 3]  # 3 batches each, none for the twin
    assert [f.iloc[0]["protocol"] for f in frames] == ["paper", "final", "paper", "final"]
    for model, info, rows in zip(models, infos, frames, strict=True):
        direct = evaluate_checkpoint_rows(model, info, test, 0.1, batch_size=10)
        pd.testing.assert_frame_equal(rows, direct)


def test_checkpoint_round_trip_rebuilds_the_trained_state(tmp_path):
    definition = DEFINITIONS.get("mnist", "sparseCNN1")
    torch.manual_seed(0)
    model = build_network(definition).train()
    x, _ = patch_data("mnist", 8, 0)
    model(x)  # duty cycles and learning iterations move away from their initial values
    model.post_epoch()  # boost strength decays 1.5 -> 1.275
    save_checkpoint(tmp_path / "c.pt", model.state_dict(), definition, protocol="paper",
                    epoch=4, seed=46, meta={"source": "synthetic"})
    loaded, info = load_checkpoint(tmp_path / "c.pt")
    assert not loaded.training
    assert state_dicts_equal(loaded.state_dict(), model.state_dict())
    assert loaded.kwinners_layers()[0].boost_strength == pytest.approx(1.5 * 0.85)
    assert loaded.kwinners_layers()[0].learning_iterations == 8
    assert info["definition"] == definition and info["epoch"] == 4 and info["seed"] == 46
    assert info["protocol"] == "paper" and info["meta"] == {"source": "synthetic"}
    assert "state_dict" not in info
    model.eval()
    assert torch.equal(loaded(x), model(x))


def test_load_checkpoint_errors_are_one_line_naming_the_file(tmp_path):
    missing = tmp_path / "missing.pt"
    with pytest.raises(InputError, match="missing.pt: checkpoint not found") as err:
        load_checkpoint(missing)
    assert "\n" not in str(err.value)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="corrupt.pt: not a readable checkpoint") as err:
        load_checkpoint(corrupt)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------------------------------------
# scripts/evaluate.py














def test_rows_are_labelled_with_the_level_the_file_holds():
    """The requested level when the file holds it; NaN for the background set; else one line."""
    noisy = TensorSet(torch.zeros(1, 1, 2, 2), torch.zeros(1, dtype=torch.long),
                      {"noise": "pixel", "noise_level": 0.30000000000000004})
    assert labelled_noise_level(noisy, "n.pt", 0.3) == 0.3
    with pytest.raises(InputError, match=r"^n\.pt: holds noise level 0\.3.*, not 0\.2;"):
        labelled_noise_level(noisy, "n.pt", 0.2)
    with pytest.raises(InputError, match=r"^n\.pt: not a background-noise test set"):
        labelled_noise_level(noisy, "n.pt", None)
    background = TensorSet(noisy.features, noisy.labels, {"noise": "background"})
    assert math.isnan(labelled_noise_level(background, "b.pt", None))


def test_a_test_set_must_fit_every_checkpoints_input():
    """A 28x28 set fits an MNIST definition; a GSC-shaped one is refused naming the file."""
    info = {"definition": DEFINITIONS.get("mnist", "denseCNN1")}
    check_input_shape([(None, info)], TensorSet(torch.zeros(2, 1, 28, 28), torch.zeros(2)), "m")
    with pytest.raises(InputError, match=r"^g\.pt: features of shape \(1, 32, 32\) do not fit "
                                         r"mnist/denseCNN1; wrong data set\?$"):
        check_input_shape([(None, info)], TensorSet(torch.zeros(2, 1, 32, 32), torch.zeros(2)),
                          "g.pt")


