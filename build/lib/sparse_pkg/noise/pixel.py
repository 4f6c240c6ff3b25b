"""Pixel noise for the MNIST robustness test (docs/protocol.md §3.4, Figure 4).

At noise level ``p`` each image gets ``int(784 * p)`` distinct random pixels set to
``0.1307 + 2 * 0.3081`` (two standard deviations above the mean) in [0, 1] pixel space,
before normalization. The pixel choice is vectorised over the batch (argsort of uniform
random keys per image) and drawn from an explicit torch.Generator,
:func:`pixel_noise_generator` ``(seed, stream)``, so a fixed seed gives the same noisy test set
for every network and on every device.
"""

from __future__ import annotations

import numpy as np
import torch

from sparse_pkg.datasets.mnist import MNIST_MEAN, MNIST_STD, normalize_pixels, uint8_to_unit
from sparse_pkg.determinism import make_generator
from sparse_pkg.io.tensors import TensorSet

# The purpose mixed into the seed: pixel noise never shares a random stream with anything else.
PIXEL_NOISE_PURPOSE = "mnist-pixel-noise"

#: The value written into noisy pixels, in [0, 1] pixel space.
NOISE_VALUE = MNIST_MEAN + 2 * MNIST_STD


def noisy_pixel_count(level: float, num_pixels: int = 784) -> int:
    """Number of pixels replaced at ``level``: ``int(num_pixels * level)``.

    Computed exactly like the original, as a Python float product truncated towards zero
    (784 * 0.35 = 274.40000000000003 -> 274). Levels 0, 0.05, ..., 0.5 give 0, 39, 78,
    117, 156, 196, 235, 274, 313, 352, 392 pixels.
    """
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"noise level must be in [0, 1], got {level}")
    return int(num_pixels * float(level))


def add_pixel_noise(
    images: torch.Tensor, level: float, generator: torch.Generator
) -> torch.Tensor:
    """Return a copy of ``images`` with ``int(H*W*level)`` distinct pixels per image noised.

    ``images``: float pixels in [0, 1] (or uint8, scaled by 1/255), shape (N, H, W) or
    (N, 1, H, W). The random keys are drawn on the generator's device and the chosen
    pixels set to :data:`NOISE_VALUE`; the result is float32 on ``images``' device, same
    shape, not normalized. Level 0 returns an unchanged copy.
    """
    if images.dtype == torch.uint8:
        images = uint8_to_unit(images)
    elif not images.is_floating_point():
        raise ValueError(f"images must be float pixels in [0, 1] or uint8, got {images.dtype}")
    noisy = images.to(torch.float32, copy=True)
    count = images.shape[0]
    flat = noisy.reshape(count, -1)
    num_pixels = flat.shape[1]
    k = noisy_pixel_count(level, num_pixels)
    if k == 0 or count == 0:
        return noisy
    keys = torch.rand(count, num_pixels, generator=generator, device=generator.device)
    chosen = torch.argsort(keys, dim=1, stable=True)[:, :k].to(flat.device)
    flat.scatter_(1, chosen, NOISE_VALUE)
    return noisy


def pixel_noise_generator(seed: int, stream: int) -> torch.Generator:
    """CPU generator for the pixel noise of stream ``stream`` under ``seed``.

    ``make_generator(seed, "mnist-pixel-noise", stream)``; callers take the stream from
    :func:`sparse_pkg.noise.level_stream` (the level's value), so nearby seeds and levels get
    unrelated noise and each level can be regenerated on its own.
    """
    return make_generator(seed, PIXEL_NOISE_PURPOSE, stream)


def pixel_noise_test_set(
    images_uint8: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor,
    level: float,
    stream: int,
    seed: int,
    meta: dict | None = None,
) -> TensorSet:
    """One normalized noisy test set (features float32 N x 1 x 28 x 28) for ``level``.

    The noise comes from :func:`pixel_noise_generator` ``(seed, stream)``; pass
    ``stream=level_stream(level)``. Every network sees identical noisy images. ``meta`` gains
    noise_level, noise_pixels, noise_seed and noise_stream.
    """
    generator = pixel_noise_generator(seed, stream)
    noisy = add_pixel_noise(uint8_to_unit(images_uint8), level, generator)
    labels = labels if torch.is_tensor(labels) else torch.from_numpy(np.asarray(labels))
    info = dict(meta or {})
    pixels_per_image = int(np.prod(tuple(noisy.shape[1:])))
    info.update(noise_level=float(level), noise_pixels=noisy_pixel_count(level, pixels_per_image),
                noise_seed=int(seed), noise_stream=int(stream))
    return TensorSet(normalize_pixels(noisy).unsqueeze(1).contiguous(), labels.to(torch.int64),
                     info)

