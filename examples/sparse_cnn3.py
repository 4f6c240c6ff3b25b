"""A network of your own for the workflow: a three-conv sparse CNN built from sparse_pkg.layers.

Name it in a networks file as ``model: examples.sparse_cnn3:ThreeConvSparseCNN`` (the folder
Snakemake runs in must hold ``examples/``, or the module be installed) and give its settings
under ``options``; see examples/own_network.yaml. The workflow calls
``ThreeConvSparseCNN(input_shape=(C, H, W), num_classes=K, **options)``.

Each conv layer pads by 2 so that three 5x5 convolutions, each followed by 2x2 max pooling, fit
a 28x28 digit (28 -> 14 -> 7 -> 3). Each conv block ends in k-winners over its C*H*W units with
k = conv_density of them; the hidden layer has sparse weights and k-winners. It defines no
post_epoch hook: the library's end-of-epoch step (boost decay, weight re-zeroing) runs on the
k-winners and SparseWeights layers it finds inside.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sparse_pkg.layers import KWinners, KWinners2d, MaxPool2d, SparseWeights


class ThreeConvSparseCNN(nn.Module):
    """Three sparse conv blocks, one sparse hidden layer, log-softmax output."""

    def __init__(self, input_shape: tuple[int, int, int], num_classes: int,
                 channels: tuple[int, int, int] = (16, 32, 32), conv_density: float = 0.1,
                 linear_n: int = 300, linear_density: float = 0.1,
                 weight_density: float = 0.3, boost_strength: float = 1.5,
                 boost_strength_factor: float = 0.85, k_inference_factor: float = 1.5) -> None:
        super().__init__()
        if len(channels) != 3:
            raise ValueError(f"channels: give three conv layers' channels, got {channels}")
        kwinners = dict(k_inference_factor=k_inference_factor, boost_strength=boost_strength,
                        boost_strength_factor=boost_strength_factor, duty_cycle_period=1000)
        in_channels, height, width = input_shape
        blocks: list[nn.Module] = []
        for out_channels in channels:
            height, width = height // 2, width // 2  # padded conv keeps the size; pool halves it
            units = out_channels * height * width
            blocks += [
                nn.Conv2d(in_channels, out_channels, kernel_size=5, padding=2),
                MaxPool2d(2),
                KWinners2d(n=units, k=max(1, round(conv_density * units)),
                           channels=out_channels, **kwinners),
            ]
            in_channels = out_channels
        self.features = nn.Sequential(*blocks, nn.Flatten())
        fan_in = in_channels * height * width
        self.hidden = nn.Sequential(
            SparseWeights(nn.Linear(fan_in, linear_n), weight_density),
            KWinners(n=linear_n, k=max(1, round(linear_density * linear_n)), **kwinners),
        )
        self.output = nn.Linear(linear_n, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities (N, classes) of a batch (N, C, H, W)."""
        return F.log_softmax(self.output(self.hidden(self.features(x))), dim=1)
