"""Scoring a model on a (clean or noisy) test set: correct counts, overall and per class.

Batched on the model's device, in eval mode (k-winners use their inference k). The noise score of
docs/protocol.md §3.4, §4.6 sums ``correct`` over the levels; it is computed later from these rows.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch

from sparse_pkg.io.tensors import TensorSet


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


def evaluate_checkpoint_rows(
    model: torch.nn.Module, info: dict[str, Any], test: TensorSet, noise_level: float,
    batch_size: int | None = None,
) -> pd.DataFrame:
    """One row: a checkpoint scored on one noise level's test set, with per-class counts."""
    definition = info["definition"]
    correct, total = count_correct(
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
    return pd.DataFrame([row])
