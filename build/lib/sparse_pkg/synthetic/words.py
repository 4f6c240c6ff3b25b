"""What the synthetic digit words are made of: phone-like segments with formant targets.

Each digit word is a fixed sequence of segments (voiced formant segments, fricative noise,
plosive bursts, closures); the synthesiser (:mod:`sparse_pkg.synthetic.speech`) tells the words
apart by this structure alone. Formants are adult male averages; speakers scale them.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    """A voiced segment with formants ``start`` (gliding to ``end`` when given)."""
    return Segment(ms=ms, voice=voice, formants=start, formants_end=end)


def _noise(ms: float, band, level: float) -> Segment:
    """A noise-only segment (fricative, burst, aspiration) in the pass band ``band``."""
    return Segment(ms=ms, noise=level, band=band)


def _silence(ms: float) -> Segment:
    """A closure: neither voice nor noise."""
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
