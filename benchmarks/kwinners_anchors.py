"""Re-implementations of other k-winners layers, written here from their descriptions, so that
benchmarks can time ours against each algorithm in one process.

Each anchor is a module built from one of our ``KWinners`` / ``KWinners2d`` layers (same n, k,
boost strength, duty cycle and sample count) and computes the same winners, output values and
duty cycles with its own algorithm:

- ``original``: the 2019 layers of the paper's code. 1d: one top-k call over the batch, then a
  Python loop over the samples copying each one's winners, in a custom autograd function that
  loops again for the gradient.
  2d: one vectorised top-k over C*H*W, output and gradient built by gather/scatter in a custom
  autograd function.
- ``nupic_kth``: nupic.torch's k-th value threshold (``kthvalue``), no tie breaking (a tie at the
  threshold keeps more than k units), ``masked_fill`` of the units under the threshold.
- ``nupic_ties``: nupic.torch with tie breaking: top-k indices into a boolean mask, ``masked_fill``.
- ``topk_float``: a plain top-k, a float 0/1 mask, a multiply (losers become -0.0 where x < 0).

All count a unit as active when its output is > 0, as the layers do, and use the running-mean duty
cycle of docs/protocol.md §1.3.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from sparse_pkg.layers import KWinners, KWinners2d


class _LoopPassWinners(torch.autograd.Function):
    """2019 1d layer: the winners of the whole batch by one top-k call, then the winners' values
    copied one sample at a time; the gradient copied one sample at a time."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, boosted: torch.Tensor, k: int) -> torch.Tensor:
        out = torch.zeros_like(x)
        chosen = boosted.topk(k, dim=1, sorted=False).indices
        for i in range(x.shape[0]):
            out[i, chosen[i]] = x[i, chosen[i]]
        ctx.save_for_backward(chosen)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (chosen,) = ctx.saved_tensors
        grad_x = torch.zeros_like(grad)
        for i in range(grad.shape[0]):
            grad_x[i, chosen[i]] = grad[i, chosen[i]]
        return grad_x, None, None


class _GatherScatterWinners(torch.autograd.Function):
    """2019 2d layer: one top-k over the flattened units, gather/scatter forward and backward."""

    @staticmethod
    def forward(ctx, flat: torch.Tensor, boosted: torch.Tensor, k: int) -> torch.Tensor:
        indices = boosted.topk(k, dim=1, sorted=False).indices
        ctx.save_for_backward(indices)
        return torch.zeros_like(flat).scatter_(1, indices, flat.gather(1, indices))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (indices,) = ctx.saved_tensors
        return torch.zeros_like(grad).scatter_(1, indices, grad.gather(1, indices)), None, None


class AnchorKWinners(nn.Module):
    """One anchor algorithm (``original``, ``nupic_kth``, ``nupic_ties``, ``topk_float``) with
    the configuration and state of ``reference`` (copied: the reference is left alone)."""

    ALGORITHMS = ("original", "nupic_kth", "nupic_ties", "topk_float")

    def __init__(self, reference: KWinners | KWinners2d, algorithm: str) -> None:
        super().__init__()
        if algorithm not in self.ALGORITHMS:
            raise ValueError(f"unknown anchor {algorithm!r}; use one of {self.ALGORITHMS}")
        self.algorithm = algorithm
        self.is_2d = isinstance(reference, KWinners2d)
        self.n, self.k, self.k_inference = reference.n, reference.k, reference.k_inference
        self.boost_strength = reference.boost_strength
        self.duty_cycle_period = reference.duty_cycle_period
        self.learning_iterations = reference.learning_iterations
        self.register_buffer("duty_cycle", reference.duty_cycle.detach().clone())
        self.train(reference.training)

    def boosted(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """Boosted scores (batch, n): x * exp((k/n - duty cycle) * boost strength)."""
        boost = torch.exp((k / self.n - self.duty_cycle) * self.boost_strength)
        return (x.detach() * boost).reshape(x.shape[0], self.n)

    def select(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """The anchor's output, (batch, n)."""
        flat, boosted = x.reshape(x.shape[0], self.n), self.boosted(x, k)
        if self.algorithm == "original":
            function = _GatherScatterWinners if self.is_2d else _LoopPassWinners
            return function.apply(flat, boosted, k)
        if self.algorithm == "nupic_kth":
            threshold = boosted.kthvalue(self.n - k + 1, dim=1, keepdim=True).values
            return flat.masked_fill(boosted < threshold, 0.0)
        indices = boosted.topk(k, dim=1, sorted=False).indices
        if self.algorithm == "nupic_ties":
            off = torch.ones_like(boosted, dtype=torch.bool).scatter_(1, indices, False)
            return flat.masked_fill(off, 0.0)
        return flat * torch.zeros_like(boosted).scatter_(1, indices, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.k >= self.n:
            return torch.relu(x)
        k = self.k if self.training else self.k_inference
        out = self.select(x, k).reshape(x.shape)
        if self.training:
            if self.is_2d:
                area = x.shape[2] * x.shape[3]
                active = (out > 0).sum(dim=(0, 2, 3), dtype=self.duty_cycle.dtype) / area
            else:
                active = (out > 0).sum(dim=0, dtype=self.duty_cycle.dtype)
            self.update_duty_cycle(x.shape[0], active.reshape(self.duty_cycle.shape))
        return out

    def update_duty_cycle(self, batch: int, active: torch.Tensor) -> None:
        """Running mean over min(period, samples seen) samples."""
        self.learning_iterations += batch
        period = min(self.duty_cycle_period, self.learning_iterations)
        self.duty_cycle.mul_(period - batch).add_(active).div_(period)


def anchor_copy(reference: KWinners | KWinners2d, algorithm: str) -> AnchorKWinners:
    """An anchor with a deep copy of the reference's state (so both can run side by side)."""
    return AnchorKWinners(copy.deepcopy(reference), algorithm)
