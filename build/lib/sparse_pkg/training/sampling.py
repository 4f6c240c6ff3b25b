"""The order in which one epoch visits the training samples.

MNIST: a permutation (shuffled without replacement). GSC: drawn with replacement, weighted so the
classes present are balanced, one epoch = as many draws as samples (docs/protocol.md §4.3).
"""

from __future__ import annotations

import torch

from sparse_pkg.determinism import make_generator

# The training subset of a capped run is the same for every run seed: its seed is fixed.
SUBSET_SEED = 0


def class_balanced_weights(labels: torch.Tensor) -> torch.Tensor:
    """Per-sample weights 1 / (count of its class), so every class present is equally likely."""
    counts = torch.bincount(labels)
    return 1.0 / counts[labels].to(torch.float64)


def epoch_indices(
    labels: torch.Tensor, *, balanced: bool, generator: torch.Generator
) -> torch.Tensor:
    """Indices of one epoch's samples, in order, on the CPU (``len(labels)`` of them)."""
    labels = labels.cpu()
    n = labels.shape[0]
    if balanced:
        return torch.multinomial(
            class_balanced_weights(labels), n, replacement=True, generator=generator
        )
    return torch.randperm(n, generator=generator)


def subset_indices(n_total: int, n_keep: int | None) -> torch.Tensor:
    """Sorted indices of a fixed random subset of ``n_keep`` samples (all when None or larger).

    The first ``n_keep`` of one permutation from ``make_generator(SUBSET_SEED, "train-subset",
    n_total)``: the subset depends only on the sizes, not on the run's seed, so every network and
    seed of a capped run trains on the same samples, and a larger cap keeps every sample of a
    smaller one.
    """
    if n_keep is None or n_keep >= n_total:
        return torch.arange(n_total)
    if n_keep <= 0:
        raise ValueError(f"training-set cap must be positive (got {n_keep})")
    generator = make_generator(SUBSET_SEED, "train-subset", n_total)
    return torch.randperm(n_total, generator=generator)[:n_keep].sort().values
