"""White-noise test sets: the mixing formula, the noise's distribution, streams and features."""

from __future__ import annotations

import pytest
import torch

from sparse_pkg.audio.features import clean_features, log_mel_spectrogram
from sparse_pkg.noise import level_stream
from sparse_pkg.noise.white import (
    add_white_noise,
    white_noise_features,
    white_noise_generator,
)


def _clips(n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 16_000, generator=torch.Generator().manual_seed(seed)) * 1.6 - 0.8


def test_level_zero_is_the_clean_waveform_and_draws_nothing():
    x = _clips(3)
    generator = white_noise_generator(1, 0)
    assert torch.equal(add_white_noise(x, 0.0, generator), x)
    # nothing was drawn: the generator's stream is where a fresh one starts
    assert torch.equal(torch.rand(5, generator=generator),
                       torch.rand(5, generator=white_noise_generator(1, 0)))


def test_noise_is_uniform_on_minus_a_to_a():
    """x' - x (1 - a) = a u: u must have mean 0, variance 1/3, a flat histogram, |u| <= 1."""
    x = _clips(64, seed=1)
    level = 0.3
    noisy = add_white_noise(x, level, white_noise_generator(2, level_stream(level)))
    u = ((noisy.double() - x.double() * (1 - level)) / level).flatten()
    n = u.numel()  # 1,024,000 samples
    assert u.abs().max() <= 1.0 + 1e-5
    assert abs(u.mean()) < 4 * (1 / 3 / n) ** 0.5  # 4 sigma
    assert abs(u.var() - 1 / 3) < 0.002  # sigma of the variance estimate ~ 3e-4
    histogram = torch.histc(u, bins=10, min=-1.0, max=1.0) / n
    assert torch.all((histogram - 0.1).abs() < 0.003)  # sigma ~ 3e-4 per bin


def test_full_level_replaces_the_signal():
    x = _clips(2)
    noisy_a = add_white_noise(x, 1.0, white_noise_generator(3, 7))
    noisy_b = add_white_noise(torch.zeros_like(x), 1.0, white_noise_generator(3, 7))
    assert torch.equal(noisy_a, noisy_b)


def test_hand_checked_mixture():
    x = torch.tensor([[0.5, -1.0, 0.0, 0.25]])
    generator = white_noise_generator(4, 9)
    u = 2 * torch.rand(x.shape, generator=white_noise_generator(4, 9)) - 1
    noisy = add_white_noise(x, 0.25, generator)
    torch.testing.assert_close(noisy, 0.75 * x + 0.25 * u, rtol=0, atol=1e-7)


def test_streams_are_reproducible_and_distinct():
    x = _clips(2)
    first = add_white_noise(x, 0.1, white_noise_generator(5, 100_000))
    assert torch.equal(first, add_white_noise(x, 0.1, white_noise_generator(5, 100_000)))
    assert not torch.equal(first, add_white_noise(x, 0.1, white_noise_generator(5, 150_000)))
    assert not torch.equal(first, add_white_noise(x, 0.1, white_noise_generator(6, 100_000)))


def test_level_zero_features_equal_clean_features_bit_for_bit():
    x = _clips(7) * 0.2
    clean = clean_features(x, batch_size=3)
    assert torch.equal(white_noise_features(x, 0.0, level_stream(0.0), seed=1, batch_size=3),
                       clean)
    assert torch.equal(white_noise_features(x, 0.0, 0, seed=1, batch_size=512), clean)


def test_features_per_level_are_chunk_independent_and_regenerable_alone():
    x = _clips(5) * 0.2
    chunked = white_noise_features(x, 0.05, level_stream(0.05), seed=3, batch_size=2)
    alone = white_noise_features(x, 0.05, level_stream(0.05), seed=3, batch_size=512)
    assert torch.equal(chunked, alone)
    # the features are those of the noisy waveforms
    loud = white_noise_features(x, 0.5, level_stream(0.5), seed=3, batch_size=2)
    noisy = add_white_noise(x, 0.5, white_noise_generator(3, level_stream(0.5)))
    assert torch.equal(loud, log_mel_spectrogram(noisy))
    assert (loud - white_noise_features(x, 0.0, 0, seed=3)).abs().max() > 1.0
    assert white_noise_features(x[:0], 0.1, 1, seed=3).shape == (0, 32, 32)


def test_bad_arguments():
    with pytest.raises(ValueError, match="level"):
        add_white_noise(_clips(1), 1.5, white_noise_generator(0, 0))
