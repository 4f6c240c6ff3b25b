"""Sparse weights: a fixed random set of each unit's weights held at zero (docs/protocol.md §1.4).

``weight_sparsity`` is the fraction of weights that stay non-zero; each output unit (row of a
linear layer) gets exactly ``round((1 - weight_sparsity) * fan_in)``
zeros, drawn once from torch's global RNG at construction so a seed fixes the mask.
"""

from __future__ import annotations

import torch
from torch import nn


def random_zero_mask(out_units: int, fan_in: int, weight_sparsity: float) -> torch.Tensor:
    """Boolean (out_units, fan_in) mask, True at the ``round((1-s)*fan_in)`` zeroed inputs per unit.

    Each row is an independent uniformly random subset (argsort of uniform keys from the global
    RNG), drawn in one vectorised call.
    """
    if not 0.0 < weight_sparsity < 1.0:
        raise ValueError(
            f"weight_sparsity must be in (0, 1) for sparse weights (got {weight_sparsity}); "
            "1.0 means dense: use the plain layer"
        )
    num_zeros = int(round((1.0 - weight_sparsity) * fan_in))
    order = torch.rand(out_units, fan_in).argsort(dim=1)
    mask = torch.zeros(out_units, fan_in, dtype=torch.bool)
    mask.scatter_(1, order[:, :num_zeros], True)
    return mask


# an integer dtype of each float element size, to zero weights by their bits
_SAME_SIZE_INT = {2: torch.int16, 4: torch.int32, 8: torch.int64}


class _SparseWeightsBase(nn.Module):
    """Wraps a layer; zeroes the masked weights at construction, before each training forward
    pass, and on ``rezero_weights()`` (called after every epoch)."""

    def __init__(self, module: nn.Module, weight_sparsity: float) -> None:
        super().__init__()
        self.module = module
        self.weight_sparsity = float(weight_sparsity)
        out_units = module.weight.shape[0]
        fan_in = module.weight[0].numel()
        mask = random_zero_mask(out_units, fan_in, weight_sparsity)
        self.register_buffer("zero_mask", mask.reshape(module.weight.shape))
        self.rezero_weights()

    @torch.no_grad()
    def rezero_weights(self) -> None:
        """Set the masked weights back to exactly +0.0, the bytes ``masked_fill_`` would write.

        An in-place AND of the weight's bits with a cached integer mask (all ones where kept,
        all zeros where masked): about 15x faster than ``masked_fill_`` on the CPU, and unlike a
        multiply by a 0/1 float mask it leaves no -0.0 (negative weight * 0) or NaN (inf * 0).
        """
        weight = self.module.weight
        bits = self._keep_bits(weight)
        if bits is None:
            weight.masked_fill_(self.zero_mask, 0.0)
        else:
            weight.view(bits.dtype).bitwise_and_(bits)

    def _keep_bits(self, weight: torch.Tensor) -> torch.Tensor | None:
        """``~zero_mask`` as all-ones/all-zeros integers of the weight's element size, rebuilt
        whenever the mask (moved, loaded: its version changes) or the weight's dtype changes."""
        int_dtype = _SAME_SIZE_INT.get(weight.element_size())
        if int_dtype is None:
            return None
        mask = self.zero_mask
        cached = getattr(self, "_keep_cache", None)  # (mask, its version, dtype, bits)
        if cached is None or cached[0] is not mask or cached[1:3] != (mask._version, int_dtype):
            bits = mask.to(int_dtype).sub_(1)  # True -> 0, False -> -1 (all bits set)
            cached = (mask, mask._version, int_dtype, bits)
            self._keep_cache = cached
        return cached[3]

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        self.__dict__.pop("_keep_cache", None)  # a loaded mask must rebuild the bits
        super()._load_from_state_dict(*args, **kwargs)

    def __getstate__(self) -> dict:
        """Copies and pickles carry no cache: a copied mask starts a fresh version count."""
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__
        return {k: v for k, v in state.items() if k != "_keep_cache"}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.rezero_weights()
        return self.module(x)

    def extra_repr(self) -> str:
        return f"weight_sparsity={self.weight_sparsity}"


class SparseWeights(_SparseWeightsBase):
    """Sparse-weight wrapper of an ``nn.Linear``: each row keeps ``weight_sparsity`` of inputs."""

    def __init__(self, module: nn.Linear, weight_sparsity: float) -> None:
        if not isinstance(module, nn.Linear):
            raise TypeError(f"SparseWeights wraps nn.Linear, got {type(module).__name__}")
        super().__init__(module, weight_sparsity)
