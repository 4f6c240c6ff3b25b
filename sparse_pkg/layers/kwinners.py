"""k-winners-take-all activations with boosting (docs/protocol.md §1.1-§1.3, §1.5).

Pure functions (``kwinners``, ``update_duty_cycle``, ``binary_entropy``) sit beside
the modules that own the state (duty cycles, boost strength, sample count). The modules are thin:
pick k for the mode, call the function, update the duty cycle in training.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from sparse_pkg.layers.fastest import fastest
from sparse_pkg.layers.winner_mask import top_k_mask

# threshold_backward(values, mask, 0.5): values where mask > 0.5, else +0.0; its gradient is the
# same op on the incoming gradient. Exactly masked_fill's bytes both ways, on a vectorised kernel.
_keep_where_mask = torch.ops.aten.threshold_backward


def kwinners(
    x: torch.Tensor, duty_cycle: torch.Tensor, k: int, boost_strength: float
) -> torch.Tensor:
    """Keep the k largest boosted units of each sample of ``x``; zero the rest (contiguous
    output shaped like ``x``).

    Winners are chosen on ``x * exp((k/n - duty_cycle) * boost_strength)`` but the unboosted
    values pass through. ``duty_cycle`` broadcasts against ``x`` (per unit or per channel); for
    (batch, C, H, W) inputs the top-k runs over all C*H*W units of a sample. The winners are
    exactly those of one ``topk`` call on the boosted scores, ties included (found faster on the
    CPU: sparse_pkg/layers/winner_mask.py), and the output holds the bytes of ``masked_fill``
    over that mask: winners copied, +0.0 elsewhere (never -0.0), so the gradient is the identity
    at the winners and +0.0 elsewhere. The float 0/1 mask is applied by a vectorised select.
    """
    batch, n = x.shape[0], math.prod(x.shape[1:])
    scores, boosted = x.detach(), boost_strength > 0.0  # boosted scores are a buffer of ours
    if boosted:
        scores = scores * torch.rsub(duty_cycle, k / n).mul_(boost_strength).exp_()
    if x.dim() == 2 and x.is_contiguous():  # (batch, n) already: no view costs a call
        return _keep_where_mask(x, top_k_mask(scores, k, x.dtype, boosted), 0.5)
    mask = top_k_mask(scores.reshape(batch, n), k, x.dtype, boosted)
    if x.is_contiguous():  # no reshape of x: it would be one more autograd node
        return _keep_where_mask(x, mask.view(x.shape), 0.5)
    return _keep_where_mask(x.reshape(batch, n), mask, 0.5).view(x.shape)


def active_counts(out: torch.Tensor, dims: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """``(out > 0).sum(dim=dims)`` in ``dtype``: how often each unit (``dims=(0,)``, shape (n,))
    or channel (``dims=(0, 2, 3)``, shape (1, C, 1, 1)) was active in the batch.

    Two exact ways: a boolean comparison summed with a dtype cast (two calls), or the comparison
    written as 0.0/1.0 straight into a float tensor and summed (vectorised, one more call). Sums
    of 0/1 are exact integers, so the bytes are equal; which is faster depends on the size and
    the CPU, so the first call of each shape times both (sparse_pkg/layers/fastest.py).
    """
    keepdim = len(dims) > 1

    def by_bool() -> torch.Tensor:
        return torch.gt(out, 0).sum(dim=dims, keepdim=keepdim, dtype=dtype)

    def by_float() -> torch.Tensor:
        positive = torch.empty(out.shape, dtype=dtype, device=out.device)
        return torch.gt(out, 0, out=positive).sum(dim=dims, keepdim=keepdim)  # no autograd

    if not out.is_cpu:
        return by_bool()
    key = ("active_counts", tuple(out.shape), dims, out.dtype, dtype, torch.get_num_threads())
    path = fastest(key, {"bool": by_bool, "float": by_float})
    return by_bool() if path == "bool" else by_float()


def update_duty_cycle(
    duty_cycle: torch.Tensor,
    active_counts: torch.Tensor,
    batch_size: int,
    learning_iterations: int,
    duty_cycle_period: int,
) -> None:
    """In-place running mean of activity: ``(d * (period - b) + counts) / period``.

    ``learning_iterations`` is the number of samples seen including this batch, so the period
    grows with the first batches and then stays at ``duty_cycle_period``.
    """
    period = min(duty_cycle_period, learning_iterations)
    duty_cycle.mul_(period - batch_size).add_(active_counts).div_(period)


def binary_entropy(p: torch.Tensor) -> torch.Tensor:
    """Elementwise ``-p log2 p - (1-p) log2 (1-p)``, with 0 log 0 = 0."""
    p = p.clamp(0.0, 1.0)
    q = 1.0 - p
    return -(torch.xlogy(p, p) + torch.xlogy(q, q)) / math.log(2.0)


class _KWinnersBase(nn.Module):
    """State and bookkeeping shared by the 1d and 2d layers."""

    def __init__(
        self,
        n: int,
        k: int,
        k_inference_factor: float,
        boost_strength: float,
        boost_strength_factor: float,
        duty_cycle_period: int,
        duty_cycle_shape: tuple[int, ...],
    ) -> None:
        super().__init__()
        if n <= 0 or k <= 0:
            raise ValueError(f"k-winners needs n > 0 and k > 0 (got n={n}, k={k})")
        if boost_strength < 0.0:
            raise ValueError(f"boost_strength must be >= 0 (got {boost_strength})")
        if duty_cycle_period <= 0:
            raise ValueError(f"duty_cycle_period must be > 0 (got {duty_cycle_period})")
        self.n = int(n)
        self.k = int(k)
        self.k_inference_factor = float(k_inference_factor)
        self.k_inference = min(int(round(self.k * self.k_inference_factor)), self.n)
        self.boost_strength = float(boost_strength)
        self.boost_strength_factor = float(boost_strength_factor)
        self.duty_cycle_period = int(duty_cycle_period)
        self.learning_iterations = 0
        self.register_buffer("duty_cycle", torch.zeros(duty_cycle_shape))

    @property
    def is_relu(self) -> bool:
        """With k >= n every unit wins: the layer is a plain ReLU."""
        return self.k >= self.n

    def _record_activity(self, batch_size: int, active: torch.Tensor) -> None:
        """Training bookkeeping after a k-winners step: samples seen, then the duty cycle
        (``active``: this batch's activity, shaped like the duty cycle)."""
        self.learning_iterations += batch_size
        update_duty_cycle(
            self.duty_cycle, active, batch_size,
            self.learning_iterations, self.duty_cycle_period,
        )

    def update_boost_strength(self) -> None:
        """Decay the boost strength by its factor, in training mode only (nupic.torch's rule for
        a per-epoch callback over a model that may be in either mode)."""
        if self.training:
            self.decay_boost_strength()

    def decay_boost_strength(self) -> None:
        """Decay the boost strength by its factor, whatever the mode: the end of an epoch."""
        self.boost_strength *= self.boost_strength_factor

    def get_extra_state(self) -> dict:
        """Python-side state saved in ``state_dict`` so a resumed run continues exactly."""
        return {
            "boost_strength": self.boost_strength,
            "learning_iterations": self.learning_iterations,
        }

    def set_extra_state(self, state: dict) -> None:
        self.boost_strength = float(state["boost_strength"])
        self.learning_iterations = int(state["learning_iterations"])

    def max_entropy(self) -> float:
        """Entropy of a layer whose units are all active with exactly the target density."""
        return float(self.n * binary_entropy(torch.tensor(self.k / self.n, dtype=torch.float64)))

    def extra_repr(self) -> str:
        return (
            f"n={self.n}, k={self.k}, k_inference={self.k_inference}, "
            f"boost_strength={self.boost_strength}, boost_strength_factor="
            f"{self.boost_strength_factor}, duty_cycle_period={self.duty_cycle_period}"
        )


class KWinners(_KWinnersBase):
    """k-winners-take-all over the n units of a linear layer's output (batch, n).

    Training keeps exactly ``k`` winners and updates the per-unit duty cycle; evaluation keeps
    ``min(round(k * k_inference_factor), n)``. With k >= n the layer is a plain ReLU.
    """

    def __init__(
        self,
        n: int,
        k: int,
        k_inference_factor: float = 1.0,
        boost_strength: float = 1.0,
        boost_strength_factor: float = 1.0,
        duty_cycle_period: int = 1000,
    ) -> None:
        super().__init__(
            n, k, k_inference_factor, boost_strength, boost_strength_factor,
            duty_cycle_period, (n,),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.is_relu:
            return torch.relu(x)
        k = self.k if self.training else self.k_inference
        out = kwinners(x, self.duty_cycle, k, self.boost_strength)
        if self.training:
            counts = active_counts(out, (0,), self.duty_cycle.dtype)
            self._record_activity(x.shape[0], counts)
        return out

    def entropy(self) -> torch.Tensor:
        """Sum of the units' binary entropies of their duty cycles (bits)."""
        return binary_entropy(self.duty_cycle).sum()


class KWinners2d(_KWinnersBase):
    """k-winners over all C*H*W units of a conv block's output, per-channel boosting.

    ``n`` is C*H*W of the input; the top-k is global per sample, while duty cycles (shape
    (1, C, 1, 1)) count a channel's active units per sample divided by H*W.
    """

    def __init__(
        self,
        n: int,
        k: int,
        channels: int,
        k_inference_factor: float = 1.0,
        boost_strength: float = 1.0,
        boost_strength_factor: float = 1.0,
        duty_cycle_period: int = 1000,
    ) -> None:
        if channels <= 0 or n % channels:
            raise ValueError(f"n={n} must be a positive multiple of channels={channels}")
        super().__init__(
            n, k, k_inference_factor, boost_strength, boost_strength_factor,
            duty_cycle_period, (1, channels, 1, 1),
        )
        self.channels = int(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or math.prod(x.shape[1:]) != self.n or x.shape[1] != self.channels:
            raise ValueError(
                f"KWinners2d expects (batch, {self.channels}, H, W) with C*H*W={self.n}, "
                f"got {tuple(x.shape)}"
            )
        if self.is_relu:
            return torch.relu(x)
        k = self.k if self.training else self.k_inference
        out = kwinners(x, self.duty_cycle, k, self.boost_strength)
        if self.training:
            # a channel's active units per sample, as a fraction of its H*W positions
            area = x.shape[2] * x.shape[3]
            counts = active_counts(out, (0, 2, 3), self.duty_cycle.dtype)
            active = counts / area
            self._record_activity(x.shape[0], active)
        return out

    def entropy(self) -> torch.Tensor:
        """Sum over channels of the duty cycles' binary entropies, scaled by n / C."""
        return binary_entropy(self.duty_cycle).sum() * (self.n / self.channels)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, " + super().extra_repr()
