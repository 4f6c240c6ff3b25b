"""Figure 2: how likely a random sparse binary vector is to falsely match a stored pattern.

A stored pattern keeps ``s`` of its active bits; a random vector with ``a`` of ``n`` bits active
"matches" it when at least ``theta`` of those ``s`` bits are active in it (docs/protocol.md §6).
This module gives the exact probability (integer combinatorics, no overflow), a vectorised Monte
Carlo estimate that checks it independently, and the tidy table behind Figure 2.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "DENSE_LABEL",
    "MatchSimulation",
    "figure2_table",
    "match_probability",
    "simulate_match_frequency",
]

DENSE_LABEL = "a=n/2 (dense)"

# Trials per vectorised batch. A constant (not derived from the machine) so that a seed always
# gives the same draws; each batch holds a few arrays of this length, i.e. well under 1 MB.
_SEQUENTIAL_CHUNK = 1 << 16
# The "full" method draws chunk x n uniform keys; bound that to about 8 MB of float64.
_FULL_CHUNK_ELEMENTS = 1 << 20

SeedLike = int | Sequence[int]


def _as_int(value: object, name: str) -> int:
    """Return ``value`` as a Python int, refusing bools, floats and other non-integers."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got the bool {value!r}")
    try:
        return operator.index(value)  # accepts int and numpy integers, refuses 3.0
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def _validate(n: object, a: object, s: object, theta: object) -> tuple[int, int, int, int]:
    """Check ``0 <= theta <= s <= a <= n`` (and n >= 1); return the four values as ints."""
    n, a, s, theta = (_as_int(v, k) for v, k in ((n, "n"), (a, "a"), (s, "s"), (theta, "theta")))
    if n < 1:
        raise ValueError(f"n (vector length) must be >= 1, got n={n}")
    if not 0 <= a <= n:
        raise ValueError(f"a (active bits) must satisfy 0 <= a <= n, got a={a}, n={n}")
    if not 0 <= s <= a:
        raise ValueError(
            f"s (stored bits, sampled from the pattern's a active bits) must satisfy "
            f"0 <= s <= a, got s={s}, a={a}"
        )
    _check_threshold(s, theta)
    return n, a, s, theta


def _check_threshold(s: int, theta: int) -> None:
    """Raise ValueError unless ``0 <= theta <= s``."""
    if not 0 <= theta <= s:
        raise ValueError(
            f"theta (match threshold) must satisfy 0 <= theta <= s, got theta={theta}, s={s}"
        )


def match_probability(n: int, a: int, s: int = 24, theta: int = 12) -> float:
    """Exact probability that a uniformly random a-of-n vector has >= theta of s stored bits on.

    ``P(n, a) = sum_{b=theta..s} C(s, b) * C(n - s, a - b) / C(n, a)``, the upper tail of a
    hypergeometric distribution. Computed with exact integers and one correctly rounded
    conversion to float at the end, so it neither overflows nor loses precision at large n
    (n = 10,000 and beyond). Raises ValueError unless ``0 <= theta <= s <= a <= n``.
    """
    n, a, s, theta = _validate(n, a, s, theta)
    # b <= s <= a keeps a - b >= 0; math.comb gives 0 for the impossible a - b > n - s.
    numerator = sum(math.comb(s, b) * math.comb(n - s, a - b) for b in range(theta, s + 1))
    return float(Fraction(numerator, math.comb(n, a)))


@dataclass(frozen=True)
class MatchSimulation:
    """Outcome of a Monte Carlo run: ``matches`` of ``trials`` random vectors matched."""

    matches: int
    trials: int

    @property
    def frequency(self) -> float:
        """Fraction of trials that matched."""
        return self.matches / self.trials

    @property
    def standard_error(self) -> float:
        """Binomial standard error of :attr:`frequency`, ``sqrt(f (1 - f) / trials)``."""
        f = self.frequency
        return math.sqrt(f * (1.0 - f) / self.trials)


def _int_dtype(n: int) -> type[np.signedinteger]:
    """Smallest signed integer type that holds every value in [0, n] (keeps batches compact)."""
    for dtype in (np.int16, np.int32):
        if n <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def _overlaps_sequential(
    rng: np.random.Generator, m: int, n: int, a: int, s: int
) -> np.ndarray:
    """Stored-bit overlaps of ``m`` random a-of-n vectors, drawing only the s stored positions.

    Selection sampling (Knuth's Algorithm S): scanning positions 0, 1, ... in order, a uniformly
    random a-subset of n positions contains position i, given which earlier positions it
    contains, with probability (a - chosen so far) / (n - i). The stored pattern's s bits are
    placed at positions 0..s-1 (a uniform random vector is exchangeable, so any fixed placement
    is equivalent), so the scan can stop after s steps: the first s bits of a genuine random
    vector are drawn exactly, and the remaining n - s bits, which cannot change the overlap,
    are never generated. Each step is one exact integer draw ``U{0..n-i-1} < a - chosen`` for
    the whole batch at once.
    """
    dtype = _int_dtype(n)
    chosen = np.zeros(m, dtype=dtype)
    for i in range(s):
        chosen += rng.integers(0, n - i, size=m, dtype=dtype) < (a - chosen)
    return chosen


def _overlaps_full(rng: np.random.Generator, m: int, n: int, a: int, s: int) -> np.ndarray:
    """Stored-bit overlaps of ``m`` random a-of-n vectors, drawing every bit of every vector.

    Each vector's active set is the a largest of n i.i.d. uniform keys (a uniform a-subset);
    the overlap counts how many of its indices fall on the stored positions 0..s-1. O(n) per
    trial: the definitional reference the fast sequential method is checked against.
    """
    keys = rng.random((m, n))
    active = np.argpartition(keys, n - a, axis=1)[:, n - a :]
    return np.count_nonzero(active < s, axis=1)


def simulate_match_frequency(
    n: int,
    a: int,
    s: int = 24,
    theta: int = 12,
    trials: int = 100_000,
    seed: SeedLike = 0,
    method: Literal["sequential", "full"] = "sequential",
) -> MatchSimulation:
    """Monte Carlo estimate of :func:`match_probability` by drawing real random vectors.

    ``method="sequential"`` (default, fast: cost independent of n) draws, per trial, the bits
    of a uniformly random a-of-n vector at the s stored positions by selection sampling;
    ``method="full"`` draws whole vectors (top-a of n uniform keys), O(n) per trial. Neither
    uses the hypergeometric formula, so both check it independently. Trials run in fixed-size
    vectorised batches; ``seed`` (an int or a sequence of ints, as numpy's ``default_rng``
    takes) fully determines the result.
    """
    n, a, s, theta = _validate(n, a, s, theta)
    trials = _as_int(trials, "trials")
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got trials={trials}")
    if method == "sequential":
        draw, chunk = _overlaps_sequential, _SEQUENTIAL_CHUNK
    elif method == "full":
        draw, chunk = _overlaps_full, max(1, _FULL_CHUNK_ELEMENTS // n)
    else:
        raise ValueError(f"method must be 'sequential' or 'full', got {method!r}")
    rng = np.random.default_rng(seed)
    matches = 0
    for start in range(0, trials, chunk):
        overlaps = draw(rng, min(chunk, trials - start), n, a, s)
        matches += int(np.count_nonzero(overlaps >= theta))
    return MatchSimulation(matches=matches, trials=trials)


def figure2_table(
    ns: Iterable[int] = range(300, 3501, 200),
    actives: Iterable[int] = (64, 128, 256),
    s: int = 24,
    theta: int = 12,
    *,
    trials: int,
    seed: int,
) -> pd.DataFrame:
    """Tidy table behind Figure 2: exact and simulated match probability per (n, a).

    One row per n and per active count in ``actives`` (label "a=64", ...) plus the dense
    reference a = n // 2 (label :data:`DENSE_LABEL`). Impossible rows are skipped: a > n, and
    the dense reference when n // 2 < s; an active count below s is a ValueError. Columns: n,
    a, label, s, theta, probability (exact), frequency (simulated), standard_error, matches,
    trials (rows with no match have frequency and standard error 0; drop them on a log axis).
    Each row's simulation is seeded by ``(seed, n, a)``, so a row does not depend on which
    other rows are requested. Note (docs/protocol.md §6): with
    s = 24, theta = 12 the dense reference is about 0.58, not the ~0.005 of the original plot.
    """
    ns = [_as_int(v, "ns") for v in ns]
    actives = [_as_int(v, "actives") for v in actives]
    seed = _as_int(seed, "seed")
    s, theta = _as_int(s, "s"), _as_int(theta, "theta")
    _check_threshold(s, theta)
    for n in ns:
        if n < 1:
            raise ValueError(f"every n (vector length) must be >= 1, got n={n}")
    for a in actives:
        if a < s:
            raise ValueError(
                f"every active count must be >= s (the stored pattern samples s of its a "
                f"active bits), got a={a}, s={s}"
            )
    rows = []
    for n in ns:
        cases = [(a, f"a={a}") for a in actives if a <= n]
        if n // 2 >= s:
            cases.append((n // 2, DENSE_LABEL))
        for a, label in cases:
            sim = simulate_match_frequency(n, a, s, theta, trials=trials, seed=(seed, n, a))
            rows.append(
                {
                    "n": n,
                    "a": a,
                    "label": label,
                    "s": s,
                    "theta": theta,
                    "probability": match_probability(n, a, s, theta),
                    "frequency": sim.frequency,
                    "standard_error": sim.standard_error,
                    "matches": sim.matches,
                    "trials": sim.trials,
                }
            )
    columns = ["n", "a", "label", "s", "theta", "probability", "frequency", "standard_error",
               "matches", "trials"]
    table = pd.DataFrame(rows, columns=columns)
    int_columns = ["n", "a", "s", "theta", "matches", "trials"]
    return table.astype(dict.fromkeys(int_columns, "int64"))


def exact_curves(
    ns: Iterable[int], actives: Iterable[int] = (64, 128, 256), s: int = 24, theta: int = 12
) -> pd.DataFrame:
    """The exact match probability on a fine grid of n, for drawing Figure 2's curves smoothly.

    One row per n in ``ns`` and per active count (label "a=64", ...; a > n skipped) plus the
    dense reference a = n // 2 (label :data:`DENSE_LABEL`, where n // 2 >= s). Columns: n, a,
    label, probability. No simulation: the Monte Carlo points come from :func:`figure2_table`.
    """
    s, theta = _as_int(s, "s"), _as_int(theta, "theta")
    _check_threshold(s, theta)
    actives = [_as_int(v, "actives") for v in actives]
    rows = []
    for n in (_as_int(v, "ns") for v in ns):
        cases = [(a, f"a={a}") for a in actives if a <= n]
        if n // 2 >= s:
            cases.append((n // 2, DENSE_LABEL))
        rows += [{"n": n, "a": a, "label": label,
                  "probability": match_probability(n, a, s, theta)} for a, label in cases]
    table = pd.DataFrame(rows, columns=["n", "a", "label", "probability"])
    return table.astype({"n": "int64", "a": "int64"})
