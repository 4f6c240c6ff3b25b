"""Frozen reference of the k-winners and sparse-weight algorithms as they were before the fast
layers (masked_fill over a boolean top-k mask; dense duty-cycle counts; masked_fill_ rezero).

The fast layers in sparse_pkg.layers must reproduce these bytes exactly: outputs, gradients,
duty cycles, boost strength and sample counts. Not a test module (no ``test_`` prefix); imported by
tests/unit/test_kwinners.py and tests/unit/test_sparse_weights.py. Do not "optimise" this file.
"""

from __future__ import annotations

import torch
from torch import nn

from sparse_pkg.layers import KWinners, KWinners2d


def reference_kwinners(
    x: torch.Tensor, duty_cycle: torch.Tensor, k: int, boost_strength: float
) -> torch.Tensor:
    """Top-k of the boosted scores into a boolean mask, then masked_fill of the losers."""
    n = x[0].numel()
    flat = x.reshape(x.shape[0], n)
    if boost_strength > 0.0:
        target_density = k / n
        boost = torch.exp((target_density - duty_cycle) * boost_strength)
        scores = (x.detach() * boost).reshape(x.shape[0], n)
    else:
        scores = flat.detach()
    indices = scores.topk(k, dim=1, sorted=False).indices
    winners = torch.zeros_like(flat, dtype=torch.bool).scatter_(1, indices, True)
    return flat.masked_fill(~winners, 0.0).reshape(x.shape)


class ReferenceKWinners(nn.Module):
    """The old forward pass and bookkeeping, on a copy of a fast layer's configuration and state."""

    def __init__(self, layer: KWinners | KWinners2d) -> None:
        super().__init__()
        self.is_2d = isinstance(layer, KWinners2d)
        self.n, self.k, self.k_inference = layer.n, layer.k, layer.k_inference
        self.boost_strength = layer.boost_strength
        self.boost_strength_factor = layer.boost_strength_factor
        self.duty_cycle_period = layer.duty_cycle_period
        self.learning_iterations = layer.learning_iterations
        self.register_buffer("duty_cycle", layer.duty_cycle.detach().clone())
        self.train(layer.training)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.k >= self.n:
            return torch.relu(x)
        k = self.k if self.training else self.k_inference
        out = reference_kwinners(x, self.duty_cycle, k, self.boost_strength)
        if self.training:
            if self.is_2d:
                area = x.shape[2] * x.shape[3]
                active = (out > 0).sum(dim=(0, 2, 3), dtype=self.duty_cycle.dtype) / area
            else:
                active = (out > 0).sum(dim=0, dtype=self.duty_cycle.dtype)
            batch = x.shape[0]
            self.learning_iterations += batch
            period = min(self.duty_cycle_period, self.learning_iterations)
            self.duty_cycle.mul_(period - batch).add_(
                active.reshape(self.duty_cycle.shape)).div_(period)
        return out

    def update_boost_strength(self) -> None:
        if self.training:
            self.boost_strength *= self.boost_strength_factor


@torch.no_grad()
def reference_rezero(weight: torch.Tensor, zero_mask: torch.Tensor) -> None:
    """The old SparseWeights.rezero_weights."""
    weight.masked_fill_(zero_mask, 0.0)


def same_bytes(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal dtype, shape and bytes (so -0.0 differs from +0.0, and NaN equals the same NaN)."""
    a, b = a.detach().cpu().contiguous(), b.detach().cpu().contiguous()
    return a.dtype == b.dtype and a.shape == b.shape and \
        a.numpy().tobytes() == b.numpy().tobytes()
