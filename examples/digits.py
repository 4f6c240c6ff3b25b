"""A data set of your own for the workflow: scikit-learn's handwritten digits (1,797 images of
8x8 pixels, 10 classes), shipped with scikit-learn and read offline.

Declared in the config as ``datasets: {digits: {module: examples.digits}}`` with a ``digits``
section in the networks file (examples/digits.yaml, examples/digits_networks.yaml). It provides
what sparse_pkg/datasets/registry.py asks of a data set: ``INFO``, ``fetch``, ``prepare`` and
``noisy``. scikit-learn is not in the runtime lock: install it to run this example.

The split is a fixed, seeded permutation (options ``test_fraction``, ``split_seed``); pixels are
scaled to [0, 1] and normalized by the training set's mean and standard deviation. The
robustness test is the paper's MNIST pixel noise on this scale: at level p, int(64 p) distinct
random pixels of each test image are set to two standard deviations above the mean.
"""

from __future__ import annotations

import numpy as np
import torch

from sparse_pkg.datasets.registry import DatasetInfo
from sparse_pkg.determinism import make_generator
from sparse_pkg.io.tensors import TensorSet
from sparse_pkg.noise import level_stream

INFO = DatasetInfo(
    name="digits", title="scikit-learn digits (8x8)", channels=1, height=8, width=8, classes=10,
    noise="Noise level (% of the 64 pixels set to mean + 2 std)",
    source="scikit-learn handwritten digits (1,797 images of 8x8, load_digits)",
    sha256="c098c15646a5c3a4fe78e5673cf5c1c1a1b421f22760e5f47be51ba4537b8cfd",
)
NOISE_VALUE = 2.0
"""A noisy pixel, after normalization: two standard deviations above the mean."""


def fetch() -> dict[str, np.ndarray]:
    """The images (1797, 8, 8) in 0..16 and their labels, as scikit-learn ships them."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return {"images": digits.images, "labels": digits.target}


def prepare(raw: dict[str, np.ndarray], options: dict) -> tuple[TensorSet, TensorSet]:
    """Seeded train/test split; features (N, 1, 8, 8) float32, normalized by the training set."""
    fraction = float(options.get("test_fraction", 0.25))
    order = np.random.default_rng(int(options.get("split_seed", 0))).permutation(
        len(raw["labels"]))
    test_count = int(round(fraction * len(order)))
    pixels = torch.from_numpy(raw["images"] / 16.0).to(torch.float32)[:, None]
    labels = torch.from_numpy(raw["labels"]).to(torch.int64)
    test_index = torch.from_numpy(np.sort(order[:test_count]))
    train_index = torch.from_numpy(np.sort(order[test_count:]))
    mean = float(pixels[train_index].mean())
    std = float(pixels[train_index].std())
    meta = {"source": "sklearn-digits", "pixel_mean": mean, "pixel_std": std}

    def split(index: torch.Tensor, extra: dict) -> TensorSet:
        return TensorSet((pixels[index] - mean) / std, labels[index], {**meta, **extra})

    return split(train_index, {}), split(test_index, {"noise_level": 0.0})


def noisy(test: TensorSet, level: float, seed: int) -> TensorSet:
    """The test set with int(64 * level) random pixels per image set to NOISE_VALUE."""
    count, pixels = test.features.shape[0], test.features[0].numel()
    flat = test.features.reshape(count, pixels).clone()
    k = int(pixels * float(level))
    if k:
        generator = make_generator(seed, "digits-pixel-noise", level_stream(level))
        keys = torch.rand(count, pixels, generator=generator)
        flat.scatter_(1, torch.argsort(keys, dim=1, stable=True)[:, :k], NOISE_VALUE)
    return TensorSet(flat.reshape(test.features.shape), test.labels.clone(),
                     {**test.meta, "noise": "pixel", "noise_pixels": k})
