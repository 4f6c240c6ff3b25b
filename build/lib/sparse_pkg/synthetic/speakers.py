"""Synthetic speakers: fixed voice characteristics and each speaker's habitual accent per word.

Speakers differ in pitch, vocal-tract length (all formants scaled), speaking rate, spectral
tilt, formant bandwidth, loudness, recording noise floor and a per-word "accent" (habitual
formant, timing and consonant-strength deviations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sparse_pkg.synthetic.words import WORD_SEGMENTS

_ACCENT_FORMANT = 0.12  # per-speaker, per-word relative formant deviation (s.d.)
_ACCENT_DURATION = 0.15  # per-speaker, per-word relative segment length deviation (s.d.)


@dataclass(frozen=True)
class Speaker:
    """Fixed voice characteristics of one synthetic speaker."""

    pitch_hz: float  # mean fundamental frequency
    formant_scale: float  # vocal-tract length: all formants are multiplied by this
    rate: float  # speaking rate: segment durations are divided by this
    tilt: float  # glottal source roll-off exponent (harmonic h has amplitude h**-tilt)
    bandwidth_scale: float  # formant bandwidth multiplier (breathy / muffled voices > 1)
    level_db: float  # level of the voiced parts in dBFS (RMS)
    snr_db: float  # level of the voice above the recording's noise floor
    accent_seed: int  # seeds the speaker's habitual per-word formant, timing and level habits


def draw_speaker(rng: np.random.Generator) -> Speaker:
    """Draw a speaker: an adult male, adult female or child voice with random details."""
    kind = rng.choice(3, p=[0.45, 0.45, 0.10])
    pitch_range = ((85.0, 155.0), (160.0, 260.0), (230.0, 330.0))[kind]
    scale_range = ((0.90, 1.05), (1.05, 1.22), (1.18, 1.35))[kind]
    return Speaker(
        pitch_hz=float(rng.uniform(*pitch_range)),
        formant_scale=float(rng.uniform(*scale_range)),
        rate=float(rng.uniform(0.8, 1.3)),
        tilt=float(rng.uniform(0.5, 1.3)),
        bandwidth_scale=float(rng.uniform(0.8, 1.6)),
        level_db=float(rng.uniform(-36.0, -16.0)),
        snr_db=float(rng.uniform(10.0, 55.0)),
        accent_seed=int(rng.integers(0, 2**63 - 1)),
    )


@dataclass(frozen=True)
class Accent:
    """A speaker's habitual way of saying one word: per-segment formant, length, level factors."""

    formants: np.ndarray  # (segments, 3, 2): start and end formant factors
    durations: np.ndarray  # (segments,)
    levels: np.ndarray  # (segments,)


def accent_of(speaker: Speaker, word: str) -> Accent:
    """The speaker's fixed accent for ``word`` (same speaker and word -> same accent)."""
    rng = np.random.default_rng([speaker.accent_seed, list(WORD_SEGMENTS).index(word)])
    count = len(WORD_SEGMENTS[word])
    return Accent(
        formants=np.clip(rng.normal(1.0, _ACCENT_FORMANT, size=(count, 3, 2)), 0.75, 1.25),
        durations=np.clip(rng.normal(1.0, _ACCENT_DURATION, size=count), 0.6, 1.5),
        levels=rng.uniform(0.5, 1.5, size=count),
    )

