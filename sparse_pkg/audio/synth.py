"""A small speech-like synthesiser for the offline Speech Commands demo.

Each digit word is a fixed sequence of phone-like segments (voiced formant segments, fricative
noise, plosive bursts, closures). A voiced segment is a harmonic glottal source whose harmonic
amplitudes are shaped by three formant resonances evaluated at each harmonic's instantaneous
frequency (a vectorised source-filter model: no recursive filters, no per-sample Python).
Speakers differ in pitch, vocal-tract length (all formants scaled), speaking rate, spectral
tilt, formant bandwidth, loudness, recording noise floor and a per-word "accent" (habitual
formant, timing and consonant-strength deviations); every utterance adds its own onset, timing,
pitch, formant and level variation, sometimes swallows a consonant, passes a random smooth
microphone response and may carry short background sounds. Words are told apart by their
segment structure, while this spread keeps the task from being trivial.

All randomness comes from the ``numpy.random.Generator`` passed in, so a seed fixes the output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sparse_pkg.audio.wav import SAMPLE_RATE  # every synthesised signal is at 16 kHz

_MAX_HARMONIC_HZ = 7_600.0  # keep harmonics below Nyquist with a margin
_BANDWIDTHS = np.array([80.0, 110.0, 160.0])  # formant bandwidths (Hz) before speaker scaling
_FORMANT_SMOOTH_S = 0.025  # coarticulation: formant tracks are smoothed over this window
_AMP_SMOOTH_S = 0.008  # amplitude envelopes are smoothed over this window (no clicks)
# Variability: how much utterances of one word differ (tuned so that a small CNN learns the
# words well above chance but not perfectly within a few epochs).
_ACCENT_FORMANT = 0.12  # per-speaker, per-word relative formant deviation (s.d.)
_ACCENT_DURATION = 0.15  # per-speaker, per-word relative segment length deviation (s.d.)
_FORMANT_JITTER = 0.07  # per-utterance relative formant deviation (s.d.)
_DURATION_JITTER = 0.15  # per-utterance relative segment length deviation (s.d.)
_SWALLOW_PROBABILITY = 0.25  # chance that a consonant is nearly dropped
_DISTRACTOR_RATE = 2.0  # mean number of short background sounds per clip
_CHANNEL_DB = 6.0  # microphone response: random gains within +-this many dB per octave knot
_FRAME_HOP = 32  # samples between the points where harmonic amplitudes are computed


@dataclass(frozen=True)
class Segment:
    """One phone-like piece of a word.

    ``ms`` is its duration at speaking rate 1; ``voice`` and ``noise`` are the levels of the
    voiced (harmonic) and noise components relative to a full vowel; ``formants`` and
    ``formants_end`` are F1-F3 in Hz (adult male reference) at the start and end of the segment
    (a glide when they differ); ``band`` is the noise pass band in Hz.
    """

    ms: float
    voice: float = 0.0
    noise: float = 0.0
    formants: tuple[float, float, float] = (500.0, 1500.0, 2500.0)
    formants_end: tuple[float, float, float] | None = None
    band: tuple[float, float] = (1_000.0, 7_000.0)


# Reference formants (Hz) of the vowels and sonorants used below (adult male averages).
_I = (270.0, 2290.0, 3010.0)  # "ee" in three
_IH = (390.0, 1990.0, 2550.0)  # "i" in six, zero
_EH = (530.0, 1840.0, 2480.0)  # "e" in seven
_AH = (640.0, 1190.0, 2390.0)  # "u" in one
_AW = (570.0, 840.0, 2410.0)  # "o" in four
_UW = (300.0, 870.0, 2240.0)  # "oo" in two
_SCHWA = (500.0, 1500.0, 2500.0)
_AI_START = (730.0, 1090.0, 2440.0)  # diphthong "i" in five, nine
_EI_START = (480.0, 1880.0, 2500.0)  # diphthong "ei" in eight
_EI_END = (330.0, 2200.0, 2750.0)
_OU_START = (500.0, 900.0, 2400.0)  # diphthong "o" in zero
_OU_END = (360.0, 780.0, 2300.0)
_R = (420.0, 1300.0, 1600.0)  # low F3
_W = (300.0, 650.0, 2200.0)
_N = (250.0, 1100.0, 2300.0)  # nasal murmur
_V = (300.0, 1200.0, 2400.0)

_S_BAND = (4_000.0, 7_800.0)
_F_BAND = (1_200.0, 7_500.0)
_T_BAND = (2_800.0, 7_000.0)
_K_BAND = (1_500.0, 3_500.0)
_ASP_BAND = (800.0, 5_000.0)


def _vowel(ms: float, start, end=None, voice: float = 1.0) -> Segment:
    return Segment(ms=ms, voice=voice, formants=start, formants_end=end)


def _noise(ms: float, band, level: float) -> Segment:
    return Segment(ms=ms, noise=level, band=band)


def _silence(ms: float) -> Segment:
    return Segment(ms=ms)


WORD_SEGMENTS: dict[str, tuple[Segment, ...]] = {
    "zero": (
        Segment(ms=90, voice=0.25, noise=0.25, formants=_V, band=(3_800.0, 7_800.0)),
        _vowel(70, _IH),
        _vowel(70, _R, voice=0.8),
        _vowel(210, _OU_START, _OU_END),
    ),
    "one": (
        _vowel(80, _W, voice=0.6),
        _vowel(180, _AH),
        _vowel(130, _N, voice=0.35),
    ),
    "two": (
        _silence(40),
        _noise(15, _T_BAND, 0.6),
        _noise(50, _ASP_BAND, 0.2),
        _vowel(260, _UW),
    ),
    "three": (
        _noise(110, _F_BAND, 0.08),
        _vowel(70, _R, voice=0.7),
        _vowel(230, _I),
    ),
    "four": (
        _noise(120, _F_BAND, 0.12),
        _vowel(160, _AW),
        _vowel(140, _AW, _R, voice=0.8),
    ),
    "five": (
        _noise(110, _F_BAND, 0.12),
        _vowel(250, _AI_START, _I),
        Segment(ms=90, voice=0.3, noise=0.06, formants=_V, band=_F_BAND),
    ),
    "six": (
        _noise(150, _S_BAND, 0.5),
        _vowel(110, _IH),
        _silence(60),
        _noise(20, _K_BAND, 0.5),
        _noise(140, _S_BAND, 0.45),
    ),
    "seven": (
        _noise(140, _S_BAND, 0.5),
        _vowel(120, _EH),
        Segment(ms=60, voice=0.3, noise=0.06, formants=_V, band=_F_BAND),
        _vowel(70, _SCHWA, voice=0.8),
        _vowel(110, _N, voice=0.35),
    ),
    "eight": (
        _vowel(250, _EI_START, _EI_END),
        _silence(60),
        _noise(20, _T_BAND, 0.5),
        _noise(40, _ASP_BAND, 0.15),
    ),
    "nine": (
        _vowel(90, _N, voice=0.35),
        _vowel(250, _AI_START, _I),
        _vowel(130, _N, voice=0.35),
    ),
}
"""The segment structure of each word; the keys are the words the synthesiser can say."""


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


def _moving_average(x: np.ndarray, width: int, *, hold_edges: bool) -> np.ndarray:
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


def _smooth_curve(rng: np.random.Generator, n: int, points: int, spread: float) -> np.ndarray:
    """A slowly varying random curve of length n around 0 (linear through random knots)."""
    knots = rng.normal(0.0, spread, size=points)
    return np.interp(np.linspace(0.0, points - 1.0, n), np.arange(points), knots)


def _band_noise(rng: np.random.Generator, n: int, band: tuple[float, float]) -> np.ndarray:
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


def _formant_gain(freqs: np.ndarray, formants: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """Magnitude of a cascade of second-order resonances (unit gain at 0 Hz) at ``freqs``.

    ``freqs`` has shape (H, T); ``formants`` and ``bandwidths`` have shape (3, T).
    """
    gain = np.ones_like(freqs)
    for f_c, b_w in zip(formants, bandwidths, strict=True):
        f_c2 = f_c * f_c
        gain *= f_c2 / np.sqrt((f_c2 - freqs * freqs) ** 2 + (b_w * freqs) ** 2)
    return gain


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


@dataclass(frozen=True)
class _Accent:
    """A speaker's habitual way of saying one word: per-segment formant, length, level factors."""

    formants: np.ndarray  # (segments, 3, 2): start and end formant factors
    durations: np.ndarray  # (segments,)
    levels: np.ndarray  # (segments,)


def _accent(speaker: Speaker, word: str) -> _Accent:
    """The speaker's fixed accent for ``word`` (same speaker and word -> same accent)."""
    rng = np.random.default_rng([speaker.accent_seed, list(WORD_SEGMENTS).index(word)])
    count = len(WORD_SEGMENTS[word])
    return _Accent(
        formants=np.clip(rng.normal(1.0, _ACCENT_FORMANT, size=(count, 3, 2)), 0.75, 1.25),
        durations=np.clip(rng.normal(1.0, _ACCENT_DURATION, size=count), 0.6, 1.5),
        levels=rng.uniform(0.5, 1.5, size=count),
    )


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
    accent = _accent(speaker, word)
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
    floor = _band_noise(rng, length, (20.0, 7_900.0)) * 10.0 ** (floor_db / 20.0)
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
            sound = _band_noise(rng, n, (low, min(low * rng.uniform(1.3, 3.0), 7_900.0)))
        else:
            t = np.arange(n) / SAMPLE_RATE
            sound = np.sqrt(2.0) * np.sin(2 * np.pi * rng.uniform(200.0, 3_000.0) * t)
        out[start : start + n] += gain * sound * _edge_fade(n, int(0.005 * SAMPLE_RATE))
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
    accent: _Accent,
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
            burst = _band_noise(rng, stop - start, band)
            taper = np.minimum(1.0, np.minimum(frac, frac[::-1]) * (stop - start) / 80.0)
            noise[start:stop] += seg.noise * level * burst * taper

    formants = _moving_average(formants, int(_FORMANT_SMOOTH_S * SAMPLE_RATE), hold_edges=True)
    formants *= speaker.formant_scale
    voice_amp = _moving_average(voice_amp, int(_AMP_SMOOTH_S * SAMPLE_RATE), hold_edges=False)
    voiced = _harmonic_source(voice_amp, formants, speaker, rng)
    return (voiced + noise) * _edge_fade(n, int(_AMP_SMOOTH_S * SAMPLE_RATE))


def _edge_fade(n: int, width: int) -> np.ndarray:
    """Raised-cosine fade-in and fade-out of ``width`` samples over a signal of length n."""
    fade = np.ones(n)
    width = min(width, n // 2)
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(width) + 0.5) / width)
    fade[:width] = ramp
    fade[n - width :] = ramp[::-1]
    return fade


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
    f0 = base * np.exp(declination + _smooth_curve(rng, t, 6, 0.03))
    # Harmonic amplitudes on a 2 ms frame grid (they vary slowly), linearly interpolated.
    frames = np.append(np.arange(0, t, _FRAME_HOP), t - 1)
    harmonics = np.arange(1, int(_MAX_HARMONIC_HZ // f0.min()) + 1, dtype=np.float64)[:, None]
    freqs = harmonics * f0[frames][None, :]
    tracks = formants[:, lo:hi][:, frames]
    bandwidths = _BANDWIDTHS[:, None] * speaker.bandwidth_scale * (tracks / 1000.0) ** 0.3
    amps = _formant_gain(freqs, tracks, bandwidths) * harmonics**-speaker.tilt
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
