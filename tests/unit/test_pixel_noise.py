"""Pixel noise (docs/protocol.md §3.4): exact counts, distinct pixels, seeding, normalization."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sparse_pkg.datasets.mnist import read_idx, to_tensor_set
from sparse_pkg.noise import level_stream
from sparse_pkg.noise.pixel import (
    NOISE_VALUE,
    add_pixel_noise,
    noisy_pixel_count,
    pixel_noise_generator,
    pixel_noise_test_set,
)

LEVELS = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]
# int(784 * p) by hand: 39.2 -> 39, 78.4 -> 78, 117.6 -> 117, ..., 274.4 -> 274, 392.
COUNTS = [0, 39, 78, 117, 156, 196, 235, 274, 313, 352, 392]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_noise_value_is_two_standard_deviations_above_the_mean():
    assert NOISE_VALUE == pytest.approx(0.7469, abs=1e-12)


def test_pixel_counts_follow_int_784_p():
    assert [noisy_pixel_count(p) for p in LEVELS] == COUNTS
    # Levels produced by np.arange carry float error (0.35000000000000003): same counts.
    assert [noisy_pixel_count(p) for p in np.arange(0.0, 0.51, 0.05)] == COUNTS
    assert noisy_pixel_count(0.35) == 274 and noisy_pixel_count(1.0) == 784
    with pytest.raises(ValueError):
        noisy_pixel_count(1.5)


@pytest.mark.parametrize("background", [0.0, 1.0])
@pytest.mark.parametrize(("level", "count"), [(0.05, 39), (0.35, 274), (0.5, 392)])
def test_exactly_int_784_p_distinct_pixels_per_image(background, level, count):
    clean = torch.full((64, 28, 28), background)
    noisy = add_pixel_noise(clean, level, _gen(0))
    hit = noisy == torch.tensor(NOISE_VALUE, dtype=torch.float32)
    assert hit.flatten(1).sum(1).tolist() == [count] * 64
    assert torch.all(noisy[~hit] == background)
    assert torch.equal(clean, torch.full((64, 28, 28), background))  # input untouched
    # every image gets its own pixels
    masks = hit.flatten(1)
    assert not torch.equal(masks[0], masks[1])


def test_counts_on_real_digits(mnist_t10k):
    images = torch.from_numpy(read_idx(mnist_t10k / "t10k-images-idx3-ubyte.gz")[:300])
    # No uint8 value / 255 equals 0.7469 (190.46 / 255), so every noise pixel is new.
    for level, count in zip(LEVELS, COUNTS, strict=True):
        noisy = add_pixel_noise(images, level, _gen(5))
        hit = noisy == torch.tensor(NOISE_VALUE, dtype=torch.float32)
        assert hit.flatten(1).sum(1).eq(count).all()
        clean = images.to(torch.float32) / 255
        assert torch.equal(noisy[~hit], clean[~hit])


def test_level_zero_equals_clean_and_is_a_copy():
    clean = torch.rand(8, 1, 28, 28, generator=_gen(1))
    noisy = add_pixel_noise(clean, 0.0, _gen(2))
    assert torch.equal(noisy, clean) and noisy.data_ptr() != clean.data_ptr()
    assert noisy.shape == (8, 1, 28, 28)


def test_same_seed_same_noise_other_seed_other_noise():
    clean = torch.zeros(16, 28, 28)
    first = add_pixel_noise(clean, 0.2, _gen(7))
    assert torch.equal(first, add_pixel_noise(clean, 0.2, _gen(7)))
    assert not torch.equal(first, add_pixel_noise(clean, 0.2, _gen(8)))


def test_noise_positions_are_spread_over_the_image():
    noisy = add_pixel_noise(torch.zeros(2000, 28, 28), 0.1, _gen(3))
    frequency = (noisy > 0).double().mean(0)  # each pixel is picked with probability 78/784
    assert frequency.mean().item() == pytest.approx(78 / 784, abs=1e-12)
    assert frequency.min().item() > 0.05 and frequency.max().item() < 0.15


def test_noisy_test_sets_are_normalized_and_reproducible_per_level():
    images = np.zeros((10, 28, 28), dtype=np.uint8)
    labels = np.arange(10)
    sets = [pixel_noise_test_set(images, labels, level, level_stream(level), seed=42,
                                 meta={"split": "test"}) for level in (0.0, 0.1, 0.5)]
    assert [s.meta["noise_pixels"] for s in sets] == [0, 78, 392]
    assert sets[1].meta == {"split": "test", "noise_level": 0.1, "noise_pixels": 78,
                            "noise_seed": 42, "noise_stream": 100_000}
    assert torch.equal(sets[0].features, to_tensor_set(images, labels).features)
    feats = sets[2].features.double()
    assert feats.shape == (10, 1, 28, 28) and sets[2].labels.tolist() == list(range(10))
    # normalized noise value (mean + 2 std - mean) / std = 2, background -mean/std
    assert (feats - 2.0).abs().lt(1e-6).flatten(1).sum(1).tolist() == [392] * 10
    assert (feats + 0.1307 / 0.3081).abs().lt(1e-6).sum().item() == 10 * (784 - 392)
    again = pixel_noise_test_set(images, labels, 0.5, stream=level_stream(0.5), seed=42)
    assert torch.equal(again.features, sets[2].features)
    other_stream = pixel_noise_test_set(images, labels, 0.5, stream=level_stream(0.1), seed=42)
    assert not torch.equal(other_stream.features, sets[2].features)


def test_pixel_noise_streams_differ_by_seed_and_stream():
    draws = {tuple(torch.rand(2, generator=pixel_noise_generator(s, i)).tolist())
             for s in range(5) for i in range(11)}
    assert len(draws) == 55
    assert torch.equal(torch.rand(3, generator=pixel_noise_generator(42, 3)),
                       torch.rand(3, generator=pixel_noise_generator(42, 3)))
