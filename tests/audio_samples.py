"""Helpers for the audio tests: the real GSC sample clips as one waveform array, and librosa's
log-mel features as the reference.

Not a test module (no ``test_`` prefix); imported by tests/test_audio_features.py and
tests/test_augment.py. librosa is a test-only dependency.
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
