"""A small speech-like synthesiser for the offline Speech Commands demo: one word, one clip.

A voiced segment (:mod:`sparse_pkg.synthetic.words`) is a harmonic glottal source whose harmonic
amplitudes are shaped by three formant resonances evaluated at each harmonic's instantaneous
frequency (a vectorised source-filter model: no recursive filters, no per-sample Python).
Besides the speaker's fixed traits (:mod:`sparse_pkg.synthetic.speakers`), every utterance adds
its own onset, timing, pitch, formant and level variation, sometimes swallows a consonant,
passes a random smooth microphone response and may carry short background sounds. Words are
told apart by their segment structure, while this spread keeps the task from being trivial.

All randomness comes from the ``numpy.random.Generator`` passed in, so a seed fixes the output.
"""

from __future__ import annotations

import numpy as np

from sparse_pkg.audio.wav import SAMPLE_RATE
from sparse_pkg.synthetic.signals import (
    band_noise,
    edge_fade,
    formant_gain,
    moving_average,
    smooth_curve,
)
from sparse_pkg.synthetic.speakers import Accent, Speaker, accent_of
from sparse_pkg.synthetic.words import WORD_SEGMENTS, Segment

_MAX_HARMONIC_HZ = 7_600.0  # keep harmonics below Nyquist with a margin
_BANDWIDTHS = np.array([80.0, 110.0, 160.0])  # formant bandwidths (Hz) before speaker scaling
_FORMANT_SMOOTH_S = 0.025  # coarticulation: formant tracks are smoothed over this window
_AMP_SMOOTH_S = 0.008  # amplitude envelopes are smoothed over this window (no clicks)
# Variability: how much utterances of one word differ (tuned, with the speakers' accents, so
# that a small CNN learns the words well above chance but not perfectly within a few epochs).
_FORMANT_JITTER = 0.07  # per-utterance relative formant deviation (s.d.)
_DURATION_JITTER = 0.15  # per-utterance relative segment length deviation (s.d.)
_SWALLOW_PROBABILITY = 0.25  # chance that a consonant is nearly dropped
_DISTRACTOR_RATE = 2.0  # mean number of short background sounds per clip
_CHANNEL_DB = 6.0  # microphone response: random gains within +-this many dB per octave knot
_FRAME_HOP = 32  # samples between the points where harmonic amplitudes are computed


def _timeline(
    segments: tuple[Segment, ...],
    rng: np.random.Generator,
    rate: float,
    accent_durations: np.ndarray,
) -> tuple[np.ndarray, list[tuple[int, int, Segment]]]:
    """Sample boundaries of each segment after rate, accent and per-utterance duration jitter."""
    scales = accent_durations * np.clip(
        rng.normal(1.0, _DURATION_JITTER, size=len(segments)), 0.6, 1.4
    )
    lengths = [
        max(int(round(s.ms * 1e-3 * SAMPLE_RATE * k / rate)), 16)
        for s, k in zip(segments, scales, strict=True)
    ]
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    spans = [(int(bounds[i]), int(bounds[i + 1]), seg) for i, seg in enumerate(segments)]
    return bounds, spans



def synthesize_word(
    word: str,
    speaker: Speaker,
    rng: np.random.Generator,
    *,
    length: int = SAMPLE_RATE,
) -> np.ndarray:
    """Synthesise one utterance of ``word`` by ``speaker`` as float32 samples of ``length``.

    The word starts at a random onset and fits inside the clip (it is time-compressed if the
    clip is too short for it). The clip passes a random smooth microphone response and gets
    the speaker's noise floor and, sometimes, short background sounds (noise bursts, tones)
    anywhere in the clip. Values lie in [-1, 1].
    """
    if word not in WORD_SEGMENTS:
        raise ValueError(f"no segment structure for word {word!r}; known: {sorted(WORD_SEGMENTS)}")
    segments = WORD_SEGMENTS[word]
    accent = accent_of(speaker, word)
    rate = speaker.rate * float(rng.uniform(0.9, 1.1))
    bounds, spans = _timeline(segments, rng, rate, accent.durations)
    n_word = int(bounds[-1])
    margin = int(0.02 * SAMPLE_RATE)
    if n_word > length - 2 * margin:  # too long for the clip: speak faster
        squeeze = (length - 2 * margin) / n_word
        bounds, spans = _timeline(segments, rng, rate / squeeze, accent.durations)
        n_word = min(int(bounds[-1]), length - 2 * margin)
    word_signal = _render(spans, n_word, speaker, accent, rng)

    out = np.zeros(length, dtype=np.float64)
    onset = int(rng.integers(margin, max(length - margin - n_word, margin) + 1))
    out[onset : onset + n_word] = word_signal[: length - onset]
    out += _distractors(rng, length)
    out = _channel(out, rng)

    level = 10.0 ** ((speaker.level_db + rng.normal(0.0, 2.0)) / 20.0)
    out *= level
    floor_db = speaker.level_db - speaker.snr_db + rng.normal(0.0, 3.0)
    floor = band_noise(rng, length, (20.0, 7_900.0)) * 10.0 ** (floor_db / 20.0)
    out += floor
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def _distractors(rng: np.random.Generator, length: int) -> np.ndarray:
    """Short background sounds at random times: band-limited noise bursts and steady tones.

    Their levels are relative to the word's voiced parts (unit RMS), between -20 and +3 dB.
    """
    out = np.zeros(length)
    for _ in range(int(rng.poisson(_DISTRACTOR_RATE))):
        n = min(int(rng.uniform(0.03, 0.25) * SAMPLE_RATE), length)
        start = int(rng.integers(0, length - n + 1))
        gain = 10.0 ** (rng.uniform(-20.0, 3.0) / 20.0)
        if rng.random() < 0.5:
            low = float(rng.uniform(300.0, 6_000.0))
            sound = band_noise(rng, n, (low, min(low * rng.uniform(1.3, 3.0), 7_900.0)))
        else:
            t = np.arange(n) / SAMPLE_RATE
            sound = np.sqrt(2.0) * np.sin(2 * np.pi * rng.uniform(200.0, 3_000.0) * t)
        out[start : start + n] += gain * sound * edge_fade(n, int(0.005 * SAMPLE_RATE))
    return out


def _channel(signal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``signal`` through a random smooth microphone response (up to about +-6 dB)."""
    spectrum = np.fft.rfft(signal)
    freqs = np.fft.rfftfreq(signal.shape[0], 1.0 / SAMPLE_RATE)
    octave = np.log2(np.maximum(freqs, 62.5) / 62.5)  # 0 .. 7 octaves above 62.5 Hz
    knots = rng.uniform(-_CHANNEL_DB, _CHANNEL_DB, size=8)
    gain_db = np.interp(octave, np.arange(8.0), knots)
    return np.fft.irfft(spectrum * 10.0 ** (gain_db / 20.0), signal.shape[0])


def _render(
    spans: list[tuple[int, int, Segment]],
    n: int,
    speaker: Speaker,
    accent: Accent,
    rng: np.random.Generator,
) -> np.ndarray:
    """Render the segment spans as n samples: voiced (harmonic) part plus noise bursts.

    The result is scaled so that the fully voiced stretches have unit RMS. Consonants (the
    segments that are not full vowels) are sometimes nearly swallowed, as in casual speech.
    """
    voice_amp = np.zeros(n)
    formants = np.zeros((3, n))
    noise = np.zeros(n)
    for index, (start, stop, seg) in enumerate(spans):
        stop = min(stop, n)
        if stop <= start:
            continue
        jitter = accent.formants[index] * np.clip(
            rng.normal(1.0, _FORMANT_JITTER, size=(3, 2)), 0.85, 1.15
        )
        f_start = np.asarray(seg.formants) * jitter[:, 0]
        f_end = np.asarray(seg.formants_end or seg.formants) * jitter[:, 1]
        frac = np.linspace(0.0, 1.0, stop - start)
        formants[:, start:stop] = f_start[:, None] + (f_end - f_start)[:, None] * frac
        level = float(rng.uniform(0.85, 1.15))
        if seg.voice < 1.0:  # a consonant: speaker's habit, and sometimes swallowed
            level *= accent.levels[index]
            if rng.random() < _SWALLOW_PROBABILITY:
                level *= float(rng.uniform(0.0, 0.3))
        voice_amp[start:stop] = seg.voice * level
        if seg.noise > 0:
            band = tuple(min(b * np.sqrt(speaker.formant_scale), 7_900.0) for b in seg.band)
            burst = band_noise(rng, stop - start, band)
            taper = np.minimum(1.0, np.minimum(frac, frac[::-1]) * (stop - start) / 80.0)
            noise[start:stop] += seg.noise * level * burst * taper

    formants = moving_average(formants, int(_FORMANT_SMOOTH_S * SAMPLE_RATE), hold_edges=True)
    formants *= speaker.formant_scale
    voice_amp = moving_average(voice_amp, int(_AMP_SMOOTH_S * SAMPLE_RATE), hold_edges=False)
    voiced = _harmonic_source(voice_amp, formants, speaker, rng)
    return (voiced + noise) * edge_fade(n, int(_AMP_SMOOTH_S * SAMPLE_RATE))


def _harmonic_source(
    voice_amp: np.ndarray, formants: np.ndarray, speaker: Speaker, rng: np.random.Generator
) -> np.ndarray:
    """Harmonic voiced signal shaped by the formant tracks, with a falling pitch contour."""
    n = voice_amp.shape[0]
    active = np.flatnonzero(voice_amp > 1e-3)
    if active.size == 0:
        return np.zeros(n)
    lo, hi = int(active[0]), int(active[-1]) + 1
    t = hi - lo
    base = speaker.pitch_hz * float(np.exp(rng.normal(0.0, 0.06)))
    declination = np.linspace(0.08, -0.1, t) * float(rng.uniform(0.5, 1.5))
    f0 = base * np.exp(declination + smooth_curve(rng, t, 6, 0.03))
    # Harmonic amplitudes on a 2 ms frame grid (they vary slowly), linearly interpolated.
    frames = np.append(np.arange(0, t, _FRAME_HOP), t - 1)
    harmonics = np.arange(1, int(_MAX_HARMONIC_HZ // f0.min()) + 1, dtype=np.float64)[:, None]
    freqs = harmonics * f0[frames][None, :]
    tracks = formants[:, lo:hi][:, frames]
    bandwidths = _BANDWIDTHS[:, None] * speaker.bandwidth_scale * (tracks / 1000.0) ** 0.3
    amps = formant_gain(freqs, tracks, bandwidths) * harmonics**-speaker.tilt
    amps *= np.clip((_MAX_HARMONIC_HZ - freqs) / 400.0, 0.0, 1.0)  # soft cut below Nyquist
    position = np.arange(t) / _FRAME_HOP
    left = np.minimum(position.astype(np.int64), frames.size - 2)
    right_weight = np.clip(position - left, 0.0, 1.0)
    left_weight = 1.0 - right_weight
    right = np.minimum(left + 1, frames.size - 1)
    # sin(h * phase) for h = 1, 2, ... by the Chebyshev recurrence: one vector op per harmonic.
    phase = 2.0 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    twice_cos = 2.0 * np.cos(phase)
    previous, current = np.zeros(t), np.sin(phase)
    wave = np.zeros(t)
    for row in amps:
        wave += (row[left] * left_weight + row[right] * right_weight) * current
        previous, current = current, twice_cos * current - previous
    full = voice_amp[lo:hi] > 0.9
    rms = np.sqrt(np.mean(wave[full] ** 2)) if full.any() else np.sqrt(np.mean(wave**2))
    out = np.zeros(n)
    out[lo:hi] = wave / max(rms, 1e-12) * voice_amp[lo:hi]
    return out

