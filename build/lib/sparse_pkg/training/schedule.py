"""Per-epoch hyper-parameters: StepLR learning rate and the first-epoch batch size."""

from __future__ import annotations

from sparse_pkg.network_definitions import NetworkDefinition


def lr_for_epoch(definition: NetworkDefinition, epoch: int) -> float:
    """Learning rate of 0-based ``epoch``: ``lr * lr_factor ** epoch`` (StepLR, step 1)."""
    return definition.lr * definition.lr_factor**epoch


def batch_size_for_epoch(definition: NetworkDefinition, epoch: int) -> int:
    """Epoch 0 trains with the first-epoch batch size, every later epoch with the batch size."""
    return definition.first_epoch_batch_size if epoch == 0 else definition.batch_size
