"""Log-mel features: equal to librosa's on every real sample clip, plus hand-checked pieces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sparse_pkg.audio import features as F
from tests.helpers.audio_samples import librosa_log_mel, load_sample_clips, synthetic_clips


@pytest.fixture(scope="module")
def librosa():
    """librosa, the reference (a development dependency): tests needing it skip without it."""
    return pytest.importorskip("librosa")


@pytest.fixture(scope="module")
def sample_clips(gsc_sample) -> np.ndarray:
    clips = load_sample_clips(gsc_sample)
    assert clips.shape == (100, 16_000)
    return clips


@pytest.fixture(scope="module")
def librosa_features(librosa, sample_clips) -> np.ndarray:
    return librosa_log_mel(sample_clips)


def test_filterbank_equals_librosa_slaney_mel(librosa):
    reference = librosa.filters.mel(sr=16_000, n_fft=2048, n_mels=32, dtype=np.float64)
    ours = F.slaney_mel_filterbank().numpy()
    assert ours.shape == (32, 1025)
    assert np.array_equal(ours > 0, reference > 0)
    # float64 construction: measured 8.7e-12 relative on the smallest weights
    np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=0)


def test_every_sample_clip_matches_librosa(sample_clips, librosa_features):
    """All 100 x 32 x 32 cells, floor cells included.

    Measured largest difference: 2.0e-4 dB in float32 (at a cell near -78 dB, where float32
    FFT rounding is largest relative to the cell) and 1.5e-5 dB in float64 (which is
    librosa's own float32 rounding). The float32 bound of 1e-3 dB leaves room for another
    FFT backend (cuFFT, MKL) while any real deviation shows far above it: zero instead of
    reflection padding moves edge frames by up to ~24 dB, torchaudio's float32 filterbank by
    2e-4 dB, a wrong mel scale by whole dB.
    """
    assert (librosa_features == -80.0).sum() > 1000  # the floor region is really compared
    ours = F.log_mel_spectrogram(torch.from_numpy(sample_clips))
    assert ours.dtype == torch.float32 and ours.shape == (100, 32, 32)
    assert np.abs(ours.numpy() - librosa_features).max() < 1e-3
    ours64 = F.log_mel_spectrogram(torch.from_numpy(sample_clips).double())
    assert ours64.dtype == torch.float64
    assert np.abs(ours64.numpy() - librosa_features).max() < 1e-4


def test_synthetic_clips_match_librosa(librosa):
    """Runs without the real sample: same bounds as above on 12 synthetic clips."""
    clips = synthetic_clips(12, seed=3)
    reference = librosa_log_mel(clips)
    ours = F.log_mel_spectrogram(torch.from_numpy(clips)).numpy()
    assert np.abs(ours - reference).max() < 1e-3


def test_zero_padding_would_be_caught(librosa, sample_clips, librosa_features):
    """The comparison above can fail: librosa >= 0.10's zero padding differs by far more."""
    clip = sample_clips[0]
    mel = librosa.feature.melspectrogram(
        y=clip, sr=16_000, n_fft=2048, hop_length=512, n_mels=32, pad_mode="constant"
    )
    zero_padded = librosa.power_to_db(mel, ref=np.max, top_db=80)
    assert np.abs(zero_padded - librosa_features[0]).max() > 1.0


def test_power_to_db_hand_values():
    power = torch.tensor([[[4.0, 0.4, 4e-9, 0.0]], [[0.0, 0.0, 0.0, 0.0]]])
    db = F.power_to_db(power)
    expected = torch.tensor([[[0.0, -10.0, -80.0, -80.0]], [[0.0, 0.0, 0.0, 0.0]]])
    torch.testing.assert_close(db, expected, rtol=0, atol=1e-5)
    # the floor is relative to each clip's own maximum
    assert F.power_to_db(torch.tensor([[1.0, 1e-5]]), top_db=30.0).tolist() == [[0.0, -30.0]]


def test_pure_tone_peaks_in_its_mel_band():
    """A 1 kHz tone: the loudest band is the one whose filter weights 1 kHz (bin 128) most."""
    t = torch.arange(16_000, dtype=torch.float64) / 16_000
    tone = (0.5 * torch.sin(2 * torch.pi * 1000.0 * t)).float()[None]
    features = F.log_mel_spectrogram(tone)[0]
    expected_band = int(F.slaney_mel_filterbank()[:, 128].argmax())
    assert features.mean(dim=1).argmax() == expected_band
    assert features.max() == 0.0 and features.min() >= -80.0


def test_all_zero_clip_gives_zeros_and_scale_does_not_matter():
    x = torch.randn(3, 16_000, generator=torch.Generator().manual_seed(0)) * 0.1
    x[1] = 0.0
    features = F.log_mel_spectrogram(x)
    assert torch.equal(features[1], torch.zeros(32, 32))
    # dB relative to the clip's maximum: a louder copy has the same features (to rounding)
    torch.testing.assert_close(F.log_mel_spectrogram(4.0 * x), features, rtol=0, atol=1e-3)


def test_pieces_compose_and_batches_are_independent():
    x = torch.randn(9, 16_000, generator=torch.Generator().manual_seed(1)) * 0.1
    spectrum = F.stft(x)
    assert spectrum.shape == (9, 1025, 32) and spectrum.is_complex()
    whole = F.log_mel_spectrogram(x)
    assert torch.equal(F.mel_db_from_stft(spectrum), whole)
    assert torch.equal(F.clean_features(x, batch_size=4), whole)
    assert torch.equal(F.log_mel_spectrogram(x[5:6]), whole[5:6])
    assert F.clean_features(x[:0]).shape == (0, 32, 32)


def test_window_and_filterbank_are_cached_per_device_and_dtype():
    first = F._constants(torch.device("cpu"), torch.float32)
    assert F._constants(torch.device("cpu"), torch.float32) is first
    assert F._constants(torch.device("cpu"), torch.float64)[1].dtype == torch.float64


def test_rejects_wrong_shape():
    with pytest.raises(ValueError, match="batch, samples"):
        F.log_mel_spectrogram(torch.zeros(16_000))
