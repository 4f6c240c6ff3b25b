"""Sparse building blocks of the paper: k-winners activations and sparse weights."""

from sparse_pkg.layers.kwinners import (
    KWinners,
    KWinners2d,
    binary_entropy,
    kwinners,
    kwinners2d,
    update_duty_cycle,
)
from sparse_pkg.layers.sparse_weights import SparseWeights, SparseWeights2d, random_zero_mask

__all__ = [
    "KWinners",
    "KWinners2d",
    "SparseWeights",
    "SparseWeights2d",
    "binary_entropy",
    "kwinners",
    "kwinners2d",
    "random_zero_mask",
    "update_duty_cycle",
]
