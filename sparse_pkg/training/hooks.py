"""What training asks of any model beyond ``forward``: its per-batch and per-epoch steps and the
entropy of its k-winners layers, for the paper's network and for a network of one's own alike.

A model may define ``post_batch()`` (run after every optimizer step) and ``post_epoch()`` (run
once after every epoch). Without ``post_epoch`` the library's end-of-epoch step runs: every
k-winners layer of sparse_pkg.layers inside the model decays its boost strength, then every
SparseWeights layer re-zeroes its masked weights (docs/protocol.md §1.3-§1.4).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from sparse_pkg.layers import KWinners, KWinners2d, SparseWeights


def kwinners_layers(model: nn.Module) -> list[KWinners | KWinners2d]:
    """The library's k-winners layers inside ``model``, input to output."""
    return [m for m in model.modules() if isinstance(m, KWinners | KWinners2d)]


def post_batch_hook(model: nn.Module) -> Callable[[], None] | None:
    """The model's ``post_batch`` method, or None when it has none."""
    hook = getattr(model, "post_batch", None)
    return hook if callable(hook) else None


def end_of_epoch(model: nn.Module) -> None:
    """The model's ``post_epoch()``, or else the library's: boost decay, then weight re-zeroing."""
    hook = getattr(model, "post_epoch", None)
    if callable(hook):
        hook()
        return
    for layer in kwinners_layers(model):
        layer.decay_boost_strength()
    for layer in model.modules():
        if isinstance(layer, SparseWeights):
            layer.rezero_weights()


def entropy(model: nn.Module) -> float:
    """Sum of the k-winners layers' duty-cycle entropies in bits (0.0 without any)."""
    return float(sum(float(layer.entropy()) for layer in kwinners_layers(model)))


def max_entropy(model: nn.Module) -> float:
    """Sum of the k-winners layers' maximum entropies in bits (0.0 without any)."""
    return float(sum(layer.max_entropy() for layer in kwinners_layers(model)))
