"""Signal building blocks of the synthesiser: smoothing, band-limited noise, resonances, fades.

All operate on numpy float64 arrays at 16 kHz and draw randomness only from the generator
passed in.
"""

from __future__ import annotations

import numpy as np

from sparse_pkg.audio.wav import SAMPLE_RATE


def moving_average(x: np.ndarray, width: int, *, hold_edges: bool) -> np.ndarray:
    """Centred moving average along the last axis (via cumulative sums).

    Outside the signal the edge values are held (``hold_edges``) or taken as zero (a fade).
    """
    if width <= 1:
        return x
    half = width // 2
    head = np.repeat(x[..., :1], half, axis=-1)
    tail = np.repeat(x[..., -1:], width - half, axis=-1)
    if not hold_edges:
        head, tail = np.zeros_like(head), np.zeros_like(tail)
    padded = np.concatenate([head, x, tail], axis=-1)
    csum = np.cumsum(padded, axis=-1, dtype=np.float64)
    return ((csum[..., width:] - csum[..., :-width]) / width)[..., : x.shape[-1]]


def smooth_curve(rng: np.random.Generator, n: int, points: int, spread: float) -> np.ndarray:
    """A slowly varying random curve of length n around 0 (linear through random knots)."""
    knots = rng.normal(0.0, spread, size=points)
    return np.interp(np.linspace(0.0, points - 1.0, n), np.arange(points), knots)


def band_noise(rng: np.random.Generator, n: int, band: tuple[float, float]) -> np.ndarray:
    """Unit-RMS Gaussian noise of length n limited to ``band`` (Hz) with soft band edges."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    low, high = band
    edge = 0.15 * (high - low) + 50.0
    gain = (
        1.0
        / (1.0 + np.exp(-(freqs - low) / (edge / 4)))
        / (1.0 + np.exp((freqs - high) / (edge / 4)))
    )
    out = np.fft.irfft(spectrum * gain, n)
    rms = np.sqrt(np.mean(out**2))
    return out / rms if rms > 0 else out


def formant_gain(freqs: np.ndarray, formants: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """Magnitude of a cascade of second-order resonances (unit gain at 0 Hz) at ``freqs``.

    ``freqs`` has shape (H, T); ``formants`` and ``bandwidths`` have shape (3, T).
    """
    gain = np.ones_like(freqs)
    for f_c, b_w in zip(formants, bandwidths, strict=True):
        f_c2 = f_c * f_c
        gain *= f_c2 / np.sqrt((f_c2 - freqs * freqs) ** 2 + (b_w * freqs) ** 2)
    return gain


def edge_fade(n: int, width: int) -> np.ndarray:
    """Raised-cosine fade-in and fade-out of ``width`` samples over a signal of length n."""
    fade = np.ones(n)
    width = min(width, n // 2)
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(width) + 0.5) / width)
    fade[:width] = ramp
    fade[n - width :] = ramp[::-1]
    return fade

