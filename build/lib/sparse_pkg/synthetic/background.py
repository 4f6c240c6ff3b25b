"""Long synthetic background recordings for the archive's ``_background_noise_`` folder."""

from __future__ import annotations

import numpy as np

from sparse_pkg.audio.wav import SAMPLE_RATE

BACKGROUND_KINDS = ("white_noise", "pink_noise", "brown_noise", "mains_hum")
"""Names of the synthetic background recordings (the ``_background_noise_`` file stems)."""


def background_noise(kind: str, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A long background recording of ``kind`` (see BACKGROUND_KINDS) as float32 samples.

    White, pink (1/f power) and brown (1/f^2 power) noise, or a 50 Hz mains hum with
    harmonics over a faint noise floor; RMS about -20 dBFS.
    """
    n = int(round(seconds * SAMPLE_RATE))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    if kind == "mains_hum":
        t = np.arange(n) / SAMPLE_RATE
        hum = sum(
            (0.6**k) * np.sin(2 * np.pi * 50.0 * (k + 1) * t + rng.uniform(0, 2 * np.pi))
            for k in range(6)
        )
        signal = hum + 0.05 * rng.standard_normal(n)
    elif kind in ("white_noise", "pink_noise", "brown_noise"):
        exponent = {"white_noise": 0.0, "pink_noise": 0.5, "brown_noise": 1.0}[kind]
        spectrum = np.fft.rfft(rng.standard_normal(n))
        shaped = spectrum / np.maximum(freqs, 20.0) ** exponent
        shaped[0] = 0.0
        signal = np.fft.irfft(shaped, n)
    else:
        raise ValueError(f"unknown background kind {kind!r}; known: {BACKGROUND_KINDS}")
    signal = signal / np.sqrt(np.mean(signal**2)) * 0.1
    return np.clip(signal, -1.0, 1.0).astype(np.float32)
