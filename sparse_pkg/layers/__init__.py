"""Building blocks of the paper's networks: k-winners activations (their winners found by
``winner_mask``), sparse weights, and a faster max pool with nn.MaxPool2d's bytes."""

from sparse_pkg.layers.kwinners import (
    KWinners,
    KWinners2d,
    binary_entropy,
    kwinners,
    update_duty_cycle,
)
from sparse_pkg.layers.pooling import MaxPool2d
from sparse_pkg.layers.sparse_weights import SparseWeights, random_zero_mask

__all__ = [
    "KWinners",
    "KWinners2d",
    "MaxPool2d",
    "SparseWeights",
    "binary_entropy",
    "kwinners",
    "random_zero_mask",
    "update_duty_cycle",
]
