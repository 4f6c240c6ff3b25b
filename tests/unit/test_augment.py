"""Training augmentation: each step against numpy/librosa, the whole chain, draws, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sparse_pkg.audio import augment as A
from sparse_pkg.audio.features import log_mel_spectrogram, slaney_mel_filterbank, stft
from tests.helpers.audio_samples import load_sample_clips, synthetic_clips


@pytest.fixture(scope="module")
def librosa():
    """librosa, the reference (a development dependency): tests needing it skip without it."""
    return pytest.importorskip("librosa")

ALWAYS = A.AugmentationParams.with_probability(1.0)
NEVER = A.AugmentationParams.with_probability(0.0)


@pytest.fixture(scope="module")
def sample_clips(request) -> np.ndarray:
    """The 100 real GSC sample clips when present; synthetic stand-ins otherwise, so the
    step-by-step comparisons with numpy/librosa always run."""
    try:
        folder = request.getfixturevalue("gsc_sample")
    except pytest.skip.Exception:
        return synthetic_clips(100)
    return load_sample_clips(folder)


def _noise(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 16_000, generator=torch.Generator().manual_seed(seed)) * 0.1


def _reference_chain(librosa, clip, amplitude, speed, rate, shift, mel_basis):
    """The augmentation of one clip written plainly with numpy and librosa, step by step."""
    y = clip * amplitude
    y = np.interp(np.arange(0, len(y), speed), np.arange(len(y)), y).astype(np.float32)
    y = np.pad(y[:16_000], (0, max(0, 16_000 - len(y))))
    spectrum = librosa.stft(y, n_fft=2048, hop_length=512, pad_mode="reflect")
    if rate != 1.0:
        spectrum = librosa.phase_vocoder(spectrum, rate=rate, hop_length=512)
    spectrum = _shift_then_fix(spectrum, shift)
    return librosa.power_to_db(mel_basis @ np.abs(spectrum) ** 2, ref=np.max, top_db=80)


def _shift_then_fix(spectrum: np.ndarray, shift: int, n_frames: int = 32) -> np.ndarray:
    """Shift by padding one end with zeros and cropping the other, then pad/crop to 32."""
    before, after = max(0, -shift), max(0, shift)
    shifted = np.pad(spectrum, ((0, 0), (before, after)))
    shifted = shifted[:, after : shifted.shape[1] - before]
    fixed = shifted[:, :n_frames]
    return np.pad(fixed, ((0, 0), (0, n_frames - fixed.shape[1])))


# ---- draws -----------------------------------------------------------------------------------


def test_draw_ranges_with_every_step_forced():
    draws = A.draw_augmentations(4000, torch.Generator().manual_seed(0), ALWAYS)
    assert 0.7 <= draws.amplitude.min() < 0.705 and 1.095 < draws.amplitude.max() < 1.1
    assert 1 / 1.2 < draws.speed.min() < 0.84 and 1.24 < draws.speed.max() <= 1.25
    assert 0.8 <= draws.stretch_rate.min() < 0.805 and 1.195 < draws.stretch_rate.max() < 1.2
    assert set(draws.shift.tolist()) == set(range(-8, 9))
    assert draws.shift.dtype == torch.int64 and draws.amplitude.dtype == torch.float64


def test_default_draws_apply_each_step_half_the_time_independently():
    draws = A.draw_augmentations(4000, torch.Generator().manual_seed(1))
    applied = torch.stack([draws.amplitude != 1, draws.speed != 1,
                           draws.stretch_rate != 1, draws.shift != 0]).double()
    # shift 0 is also a valid applied value (1 in 17), so its rate is 0.5 * 16/17
    expected = torch.tensor([0.5, 0.5, 0.5, 0.5 * 16 / 17], dtype=torch.float64)
    assert torch.all((applied.mean(dim=1) - expected).abs() < 0.04)  # ~5 sigma for n = 4000
    both = (applied[0] * applied[1]).mean()
    assert abs(both - 0.25) < 0.035


def test_params_are_validated():
    with pytest.raises(ValueError, match="probabilities"):
        A.AugmentationParams(amplitude_probability=1.5)
    with pytest.raises(ValueError, match="max_shift"):
        A.AugmentationParams(max_shift=-1)
    with pytest.raises(ValueError, match="speed_max_scale"):
        A.AugmentationParams(speed_max_scale=1.0)


# ---- single steps against references -----------------------------------------------------------


def test_amplitude_is_exactly_numpy_float32_scaling(sample_clips):
    factors = torch.tensor([0.7, 0.8123456789, 1.0, 1.0999], dtype=torch.float64)
    ours = A.scale_amplitude(torch.from_numpy(sample_clips[:4]), factors).numpy()
    for row, factor in enumerate(factors.tolist()):
        assert np.array_equal(ours[row], sample_clips[row] * np.float32(factor))


def test_speed_change_equals_np_interp_then_fixed_length(sample_clips):
    speeds = torch.tensor([1 / 1.2, 0.9, 1.0, 1.1, 1.25], dtype=torch.float64)
    clips = sample_clips[10:15]
    ours = A.change_speed(torch.from_numpy(clips), speeds).numpy()
    for row, speed in enumerate(speeds.tolist()):
        resampled = np.interp(np.arange(0, 16_000, speed), np.arange(16_000), clips[row])
        resampled = resampled.astype(np.float32)[:16_000]
        expected = np.pad(resampled, (0, 16_000 - len(resampled)))
        assert np.array_equal(ours[row], expected), speed  # bit-exact: same float64 arithmetic


def test_time_warp_matrix_by_hand():
    rates = torch.tensor([0.5, 2.0, 1.0, 1.0], dtype=torch.float64)
    shifts = torch.tensor([0, 0, 0, 1])
    warp = A.time_warp_matrix(rates, shifts, n_frames=4, dtype=torch.float64)
    # rate 0.5 reads positions 0, 0.5, 1, 1.5 (8 frames produced, the first 4 kept)
    assert warp[0].tolist() == [[1, 0.5, 0, 0], [0, 0.5, 1, 0.5], [0, 0, 0, 0.5], [0, 0, 0, 0]]
    # rate 2 produces ceil(4 / 2) = 2 frames, reading frames 0 and 2; the rest is zero
    assert warp[1].tolist() == [[1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    assert torch.equal(warp[2], torch.eye(4, dtype=torch.float64))
    assert warp[3].tolist() == [[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]


def test_time_warp_equals_librosa_vocoder_then_shift_then_fix(librosa, sample_clips):
    """Includes the cases where order matters: a slowed clip shifted forward brings frames
    past 32 into view; a sped-up clip shifted backward loses frames past its own length."""
    cases = [(0.85, 6), (0.85, -3), (1.15, -5), (1.15, 4), (1.0, 8), (1.0, -8), (0.8, 8)]
    rates = torch.tensor([r for r, _ in cases], dtype=torch.float64)
    shifts = torch.tensor([s for _, s in cases])
    spectra = stft(torch.from_numpy(sample_clips[30 : 30 + len(cases)]).double())
    warp = A.time_warp_matrix(rates, shifts, 32, dtype=torch.float64)
    ours = torch.bmm(spectra.abs(), warp).numpy()
    for row, (rate, shift) in enumerate(cases):
        stretched = librosa.phase_vocoder(spectra[row].numpy(), rate=rate, hop_length=512)
        expected = np.abs(_shift_then_fix(stretched, shift))
        np.testing.assert_allclose(ours[row], expected, rtol=0, atol=1e-9 * expected.max())


# ---- the whole chain ---------------------------------------------------------------------------


def test_every_step_forced_matches_the_plain_librosa_chain(librosa, sample_clips):
    """24 real clips, every step applied: within 1e-3 dB of numpy/librosa on all cells
    (measured 2.1e-4 dB over all 100 clips; float32 FFT rounding near the -80 dB floor)."""
    clips = sample_clips[::4][:24]
    draws = A.draw_augmentations(len(clips), A.augmentation_generator(3, 0), ALWAYS)
    ours = A.apply_augmentations(torch.from_numpy(clips), draws).numpy()
    mel_basis = slaney_mel_filterbank().numpy().astype(np.float32)
    for row in range(len(clips)):
        expected = _reference_chain(
            librosa, clips[row], np.float32(draws.amplitude[row]), float(draws.speed[row]),
            float(draws.stretch_rate[row]), int(draws.shift[row]), mel_basis,
        )
        assert np.abs(ours[row] - expected).max() < 1e-3, row


def test_no_step_applied_gives_the_clean_features_exactly(sample_clips):
    clips = torch.from_numpy(sample_clips[:16])
    draws = A.draw_augmentations(16, torch.Generator().manual_seed(5), NEVER)
    assert torch.equal(A.apply_augmentations(clips, draws), log_mel_spectrogram(clips))


def test_augmentation_changes_features_and_keeps_silence_silent():
    x = _noise(8)
    x[3] = 0.0
    draws = A.draw_augmentations(8, torch.Generator().manual_seed(2), ALWAYS)
    augmented = A.apply_augmentations(x, draws)
    assert augmented.shape == (8, 32, 32) and augmented.dtype == torch.float32
    assert torch.equal(augmented[3], torch.zeros(32, 32))
    assert (augmented - log_mel_spectrogram(x)).abs().amax(dim=(1, 2))[[0, 1, 2, 4]].min() > 0.1
    assert augmented.max() == 0.0 and augmented.min() >= -80.0


# ---- reproducibility ---------------------------------------------------------------------------


def test_same_seed_and_copy_give_the_same_bytes_whatever_the_batch_size():
    x = _noise(11, seed=4)
    first = A.augment_dataset(x, seed=7, copy_index=2, batch_size=4)
    assert first.shape == (11, 32, 32)
    assert torch.equal(first, A.augment_dataset(x, seed=7, copy_index=2, batch_size=512))
    assert torch.equal(first[5:6], A.augment_dataset(x, 7, 2, batch_size=1)[5:6])
    assert not torch.equal(first, A.augment_dataset(x, seed=7, copy_index=3))
    assert not torch.equal(first, A.augment_dataset(x, seed=8, copy_index=2))
    assert A.augment_dataset(x[:0], seed=7, copy_index=2).shape == (0, 32, 32)


def test_generator_streams_are_distinct_and_reproducible():
    a = torch.rand(4, generator=A.augmentation_generator(1, 0))
    assert torch.equal(a, torch.rand(4, generator=A.augmentation_generator(1, 0)))
    assert not torch.equal(a, torch.rand(4, generator=A.augmentation_generator(1, 1)))
    assert not torch.equal(a, torch.rand(4, generator=A.augmentation_generator(0, 1)))
