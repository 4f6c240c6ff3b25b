"""Build a paper network (docs/protocol.md §2) from its `NetworkDefinition`.

Shape: ``[conv(k5, s1, p0) -> (BatchNorm2d) -> MaxPool2d(2) -> k-winners-2d or ReLU] x 1|2 ->
flatten -> linear(n) [sparse weights when weight_sparsity < 1] -> (BatchNorm1d) -> (dropout) ->
k-winners or ReLU -> linear(classes) -> log-softmax``. Conv weights are always dense; batch norms
have no affine parameters. Modules are created in a fixed order, so ``torch.manual_seed(s)``
followed by `build_network` always gives the same weights and sparse-weight masks. Max pooling
runs the CPU's fast channels-last kernel in either layout, with the bytes of ``nn.MaxPool2d``
(sparse_pkg/layers/pooling.py).

``channels_last=True`` (config key ``compute.channels_last``) keeps the conv weights and the conv
blocks' activations in channels-last memory order (N, H, W, C), for which the CPU's convolution,
max-pool and batch-norm kernels are faster. The network is the same function with the same
weights, but the kernels sum in another order, so the numbers differ in the last bits from the
default layout and a training run diverges from it; with the option on, a run is still
bit-identical to itself. Flatten reads the units in (C, H, W) order in either layout.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from sparse_pkg.layers import KWinners, KWinners2d, MaxPool2d, SparseWeights
from sparse_pkg.network_definitions import CONV_KERNEL_SIZE, POOL_SIZE, NetworkDefinition
from sparse_pkg.own_models import build_own_model


class SparseCNN(nn.Module):
    """The paper's CNN for one `NetworkDefinition`; ``forward`` returns log-probabilities.

    The layers live in ``self.layers`` (an ``nn.Sequential`` with named stages ``conv1``,
    ``conv1_bn``, ``conv1_pool``, ``conv1_kwinners`` or ``conv1_relu``, ..., ``flatten``,
    ``linear``, ``linear_bn``, ``linear_dropout``, ``linear_kwinners`` or ``linear_relu``,
    ``output``); ``self.definition`` is the definition it was built from.
    """

    def __init__(self, definition: NetworkDefinition, channels_last: bool = False) -> None:
        super().__init__()
        self.definition = definition
        self.channels_last = bool(channels_last)
        d = definition
        stages: OrderedDict[str, nn.Module] = OrderedDict()
        in_channels = d.geometry.channels
        for index, ((channels, height, width), k) in enumerate(
            zip(d.conv_shapes, d.conv_k, strict=True), start=1
        ):
            prefix = f"conv{index}"
            stages[prefix] = nn.Conv2d(
                in_channels, channels, kernel_size=CONV_KERNEL_SIZE, stride=1, padding=0
            )
            if d.batch_norm:
                stages[f"{prefix}_bn"] = nn.BatchNorm2d(channels, affine=False)
            stages[f"{prefix}_pool"] = MaxPool2d(POOL_SIZE)
            units = channels * height * width
            if k is None or k >= units:
                stages[f"{prefix}_relu"] = nn.ReLU()
            else:
                stages[f"{prefix}_kwinners"] = KWinners2d(
                    n=units,
                    k=k,
                    channels=channels,
                    k_inference_factor=d.k_inference_factor,
                    boost_strength=d.boost_strength,
                    boost_strength_factor=d.boost_strength_factor,
                    duty_cycle_period=d.duty_cycle_period,
                )
            in_channels = channels
        stages["flatten"] = nn.Flatten()
        linear: nn.Module = nn.Linear(d.linear_fan_in, d.linear_n)
        if d.weight_sparsity < 1.0:
            linear = SparseWeights(linear, d.weight_sparsity)
        stages["linear"] = linear
        if d.batch_norm:
            stages["linear_bn"] = nn.BatchNorm1d(d.linear_n, affine=False)
        if d.dropout > 0.0:
            stages["linear_dropout"] = nn.Dropout(d.dropout)
        if d.linear_k >= d.linear_n:
            stages["linear_relu"] = nn.ReLU()
        else:
            stages["linear_kwinners"] = KWinners(
                n=d.linear_n,
                k=d.linear_k,
                k_inference_factor=d.k_inference_factor,
                boost_strength=d.boost_strength,
                boost_strength_factor=d.boost_strength_factor,
                duty_cycle_period=d.duty_cycle_period,
            )
        stages["output"] = nn.Linear(d.linear_n, d.num_classes)
        self.layers = nn.Sequential(stages)
        if self.channels_last:  # only the 4-d tensors (conv weights) change their layout
            self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities (batch, classes) of a batch of inputs (batch, C, H, W)."""
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return F.log_softmax(self.layers(x), dim=1)

    def kwinners_layers(self) -> list[KWinners | KWinners2d]:
        """The k-winners layers (1d and 2d), input to output."""
        return [m for m in self.modules() if isinstance(m, KWinners | KWinners2d)]

    def sparse_weight_layers(self) -> list[SparseWeights]:
        """The sparse-weight wrappers (at most the hidden linear layer)."""
        return [m for m in self.modules() if isinstance(m, SparseWeights)]

    def rezero_weights(self) -> None:
        """Set every sparse-weight layer's masked weights back to zero."""
        for layer in self.sparse_weight_layers():
            layer.rezero_weights()

    def post_epoch(self) -> None:
        """End-of-epoch step: decay every k-winners boost strength by its factor and re-zero
        the sparse weights. Call exactly once per epoch; it decays whatever mode the model is in.
        """
        for layer in self.kwinners_layers():
            layer.decay_boost_strength()
        self.rezero_weights()

    def entropy(self) -> float:
        """Sum of the k-winners layers' duty-cycle entropies in bits (0.0 without any)."""
        return float(sum(float(layer.entropy()) for layer in self.kwinners_layers()))

    def max_entropy(self) -> float:
        """Sum of the k-winners layers' maximum entropies in bits (0.0 without any)."""
        return float(sum(layer.max_entropy() for layer in self.kwinners_layers()))


def build_network(definition: NetworkDefinition, channels_last: bool = False) -> nn.Module:
    """A fresh, randomly initialised network for ``definition`` (weights from torch's global
    RNG: seed it first for reproducible weights and masks): the paper's `SparseCNN`, or the
    class a ``model:`` entry names (sparse_pkg/own_models.py). ``channels_last``: see the module
    docstring (same weights either way); a model of one's own keeps its own layout."""
    if definition.model is not None:
        return build_own_model(definition)
    return SparseCNN(definition, channels_last=channels_last)
