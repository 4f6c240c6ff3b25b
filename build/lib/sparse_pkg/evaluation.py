"""Scoring a model on a (clean or noisy) test set: correct counts, overall and per class.

Batched on the model's device, in eval mode (k-winners use their inference k). The noise score of
docs/protocol.md §3.4, §4.6 sums ``correct`` over the levels; it is computed later from these rows.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from sparse_pkg.errors import InputError
from sparse_pkg.io.tensors import TensorSet

if TYPE_CHECKING:  # pandas is imported where rows are built: a job's start-up skips it
    import pandas as pd


def labelled_noise_level(test: TensorSet, path: str, noise_level: float | None) -> float:
    """The noise level the rows of ``test`` get: the requested one, which the file must hold, or
    NaN for the background-noise set (``noise_level`` None). InputError naming ``path`` else."""
    kind = test.meta.get("noise")
    if noise_level is None:
        if kind != "background":
            raise InputError(f"{path}: not a background-noise test set; pass --noise-level")
        return math.nan
    stored = test.meta.get("noise_level")
    if stored is None or not math.isclose(float(stored), noise_level, abs_tol=1e-9):
        raise InputError(
            f"{path}: holds noise level {stored}, not {noise_level}; pass the file of "
            "that level (or a level listed in the config's noise_levels)"
        )
    return noise_level


def check_input_shape(models: list[tuple[torch.nn.Module, dict[str, Any]]], test: TensorSet,
                      path: str) -> None:
    """InputError naming ``path`` when its features do not fit the input of every checkpoint."""
    for _, info in models:
        definition = info["definition"]
        geometry = definition.geometry
        if tuple(test.features.shape[1:]) != (geometry.channels, geometry.height, geometry.width):
            raise InputError(
                f"{path}: features of shape {tuple(test.features.shape[1:])} do not "
                f"fit {definition.dataset}/{definition.name}; wrong data set?"
            )


@torch.no_grad()
def count_correct(
    model: torch.nn.Module, features: torch.Tensor, labels: torch.Tensor, batch_size: int,
    num_classes: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class (correct, total) counts of ``model`` on ``features``; restores the train mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.numel() else 1
    classes = num_classes
    correct = torch.zeros(classes, dtype=torch.int64, device=device)
    total = torch.zeros(classes, dtype=torch.int64, device=device)
    for start in range(0, labels.shape[0], batch_size):
        x = features[start:start + batch_size].to(device)
        y = labels[start:start + batch_size].to(device)
        hit = model(x).argmax(dim=1) == y
        correct += torch.bincount(y[hit], minlength=classes)[:classes]
        total += torch.bincount(y, minlength=classes)[:classes]
    model.train(was_training)
    return correct.cpu(), total.cpu()


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    """True when two models hold bit-identical state (parameters, buffers, extra state).

    Two such models of one definition give the same outputs on any input, so a run whose
    `paper` epoch is its last epoch is scored once for both protocols.
    """
    state_a, state_b = a.state_dict(), b.state_dict()
    if state_a.keys() != state_b.keys():
        return False
    for key, value in state_a.items():
        other = state_b[key]
        if torch.is_tensor(value) or torch.is_tensor(other):
            if not (torch.is_tensor(value) and torch.is_tensor(other)
                    and value.dtype == other.dtype and value.shape == other.shape
                    and torch.equal(value, other)):
                return False
        elif value != other:
            return False
    return True


def score_checkpoints(
    models: list[tuple[torch.nn.Module, dict[str, Any]]], test: TensorSet, noise_level: float,
    batch_size: int | None = None,
) -> list[pd.DataFrame]:
    """:func:`evaluate_checkpoint_rows` of each (model, info), in order.

    A checkpoint with the same definition and bit-identical weights as an earlier one (the
    `paper` and `final` checkpoints of a run whose best epoch is its last) reuses the
    earlier one's counts instead of running the test set through the network again.
    """
    scored: list[tuple[torch.nn.Module, Any, tuple[torch.Tensor, torch.Tensor]]] = []
    frames = []
    for model, info in models:
        definition = info["definition"]
        counts = next((c for m, d, c in scored if d == definition and same_weights(m, model)),
                      None)
        if counts is None:
            counts = count_correct(model, test.features, test.labels,
                                   batch_size or definition.test_batch_size,
                                   num_classes=definition.num_classes)
            scored.append((model, definition, counts))
        frames.append(evaluate_checkpoint_rows(model, info, test, noise_level, counts=counts))
    return frames


def evaluate_checkpoint_rows(
    model: torch.nn.Module, info: dict[str, Any], test: TensorSet, noise_level: float,
    batch_size: int | None = None, counts: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> pd.DataFrame:
    """One row: a checkpoint scored on one noise level's test set, with per-class counts.

    ``counts`` (per-class correct, total), when given, are this model's counts already
    computed on ``test`` (see :func:`score_checkpoints`); the model is then not run.
    """
    definition = info["definition"]
    correct, total = counts if counts is not None else count_correct(
        model, test.features, test.labels, batch_size or definition.test_batch_size,
        num_classes=definition.num_classes,
    )
    n_correct, n_total = int(correct.sum()), int(total.sum())
    row = {
        "dataset": definition.dataset,
        "network": definition.name,
        "seed": int(info["seed"]),
        "protocol": info["protocol"],
        "selected_epoch": int(info["epoch"]),
        "noise_level": float(noise_level),
        "correct": n_correct,
        "total": n_total,
        "accuracy": n_correct / n_total if n_total else float("nan"),
        "per_class_correct": correct.tolist(),
        "per_class_total": total.tolist(),
    }
    import pandas as pd

    return pd.DataFrame([row])
