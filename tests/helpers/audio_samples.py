"""Helpers for the audio tests: the real GSC sample clips as one waveform array, and librosa's
log-mel features as the reference.

Not a test module (no ``test_`` prefix); imported by tests/unit/test_audio_features.py and
tests/unit/test_augment.py. librosa is a test-only dependency.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

CLIP = 16_000


def load_sample_clips(folder: Path) -> np.ndarray:
    """Every ``<word>/*.wav`` under ``folder`` (sorted), float32 in [-1, 1], zero-padded or
    truncated at the end to 16,000 samples: (n_files, 16000)."""
    files = sorted(folder.glob("*/*.wav"))
    clips = np.zeros((len(files), CLIP), dtype=np.float32)
    for row, path in enumerate(files):
        samples, rate = sf.read(path, dtype="float32")
        assert rate == 16_000, path
        clips[row, : min(CLIP, len(samples))] = samples[:CLIP]
    return clips


def synthetic_clips(n: int, seed: int = 0) -> np.ndarray:
    """(n, 16000) float32 stand-ins for speech when the real sample is absent: a gliding tone
    with harmonics under a random envelope, plus faint noise; every third clip ends early in
    zeros like the short GSC files."""
    rng = np.random.default_rng(seed)
    t = np.arange(CLIP) / 16_000
    clips = np.zeros((n, CLIP), dtype=np.float64)
    for row in range(n):
        f0 = rng.uniform(90, 250) * (1 + rng.uniform(-0.3, 0.3) * t)
        phase = 2 * np.pi * np.cumsum(f0) / 16_000
        voice = sum(np.sin(k * phase) / k for k in range(1, 6))
        centre, width = rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.25)
        envelope = np.exp(-0.5 * ((t - centre) / width) ** 2)
        clips[row] = 0.3 * envelope * voice + 0.003 * rng.standard_normal(CLIP)
        if row % 3 == 2:
            clips[row, int(rng.uniform(0.7, 0.95) * CLIP) :] = 0.0
    return clips.astype(np.float32)


def librosa_log_mel(clips: np.ndarray) -> np.ndarray:
    """The paper's features of (n, 16000) clips computed by librosa (reflection padding).

    librosa computes the mel spectrograms of all clips in one multichannel call; the dB
    conversion, whose reference is each clip's own maximum, runs clip by clip.
    """
    import librosa

    mel = librosa.feature.melspectrogram(
        y=clips, sr=16_000, n_fft=2048, hop_length=512, n_mels=32, pad_mode="reflect"
    )
    return np.stack([librosa.power_to_db(one, ref=np.max, top_db=80) for one in mel])
