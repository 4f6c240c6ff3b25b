"""Welch's t-test and confidence interval over seeds, without scipy.

The claims verdict (``sparse_pkg.reporting.claim_verdicts``) compares two networks' per-seed
scores. The runtime dependencies do not include scipy, so the Student t distribution is computed
here: its CDF from the regularized incomplete beta function (a continued fraction evaluated
with the modified Lentz method), its quantile by safeguarded Newton steps on that CDF. Both are
checked against ``scipy.stats`` in the tests to about 1e-12 relative.

Zero spread: when neither group varies over its seeds the standard error is 0. The test then
follows its limit as the spread goes to 0: t is +inf or -inf by the sign of (difference -
margin), so the one-sided p-value is 0 on the claimed side and 1 on the other, and the
confidence interval collapses to the difference; an exact tie (difference == margin) gives t = 0
and p = 0.5. (scipy returns nan in all three cases.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["WelchResult", "betainc", "t_cdf", "t_ppf", "t_sf", "welch_test"]

_EPS = 1e-16
_TINY = 1e-300
_MAX_ITERATIONS = 10_000


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of I_x(a, b) (modified Lentz); converges fast for x < (a+1)/(a+b+2)."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, _MAX_ITERATIONS):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            step = c * d
            result *= step
        if abs(step - 1.0) < _EPS:
            return result
    raise ArithmeticError(f"incomplete beta: no convergence for a={a}, b={b}, x={x}")


def _betainc_pair(a: float, b: float, x: float, y: float) -> tuple[float, float]:
    """(I_x(a, b), 1 - I_x(a, b)) where y = 1 - x is passed exactly (not recomputed from x).

    The continued fraction runs on whichever side converges fast (the symmetry
    I_x(a, b) = 1 - I_y(b, a)); taking y from the caller keeps precision when x is near 1.
    """
    if x == 0.0 or y == 0.0:
        return (0.0, 1.0) if x == 0.0 else (1.0, 0.0)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log(y))
    if x < (a + 1.0) / (a + b + 2.0):
        value = front * _beta_continued_fraction(a, b, x) / a
        return value, 1.0 - value
    complement = front * _beta_continued_fraction(b, a, y) / b
    return 1.0 - complement, complement


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if a <= 0 or b <= 0:
        raise ValueError(f"betainc needs a > 0 and b > 0, got a={a}, b={b}")
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"betainc needs 0 <= x <= 1, got x={x}")
    return _betainc_pair(a, b, x, 1.0 - x)[0]


def t_sf(t: float, df: float) -> float:
    """Upper tail P(T > t) of Student's t with ``df`` > 0 (real) degrees of freedom.

    The tail beyond |t| is 0.5 * I_x(df/2, 1/2) with x = df / (df + t^2); it and its
    complement are computed directly (1 - x as t^2 / (df + t^2)), so small p-values and
    values of t near 0 keep their relative precision.
    """
    if df <= 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")
    if math.isnan(t):
        return math.nan
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    if t == 0:
        return 0.5
    tail, centre = _t_tails(abs(t), df)
    return tail if t > 0 else 0.5 + 0.5 * centre


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) of Student's t with ``df`` > 0 degrees of freedom."""
    return t_sf(-t, df)


def _t_pdf(t: float, df: float) -> float:
    log_norm = (math.lgamma((df + 1) / 2) - math.lgamma(df / 2)
                - 0.5 * math.log(df * math.pi))
    return math.exp(log_norm - (df + 1) / 2 * math.log1p(t * t / df))


def t_ppf(q: float, df: float) -> float:
    """Quantile of Student's t: the t with P(T <= t) = q, for 0 < q < 1 and df > 0.

    Newton steps on :func:`t_cdf` from a bracket that doubles until it holds the root; a step
    that leaves the bracket is replaced by bisection, so it always converges.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile level must be in (0, 1), got {q}")
    if q == 0.5:
        return 0.0
    # Solve on the smaller tail: 1 - q is exact for q >= 0.5, and q itself for q < 0.5.
    return -_upper_quantile(q, df) if q < 0.5 else _upper_quantile(1.0 - q, df)


def _t_tails(t: float, df: float) -> tuple[float, float]:
    """For t >= 0: (P(T > t), P(-t < T < t)), each computed without cancellation."""
    square = t * t
    tail, centre = _betainc_pair(df / 2.0, 0.5, df / (df + square), square / (df + square))
    return 0.5 * tail, centre


def _upper_quantile(target: float, df: float) -> float:
    """The t > 0 with t_sf(t, df) = target, for 0 < target < 0.5.

    Near the centre (target > 0.25) it solves P(-t < T < t) = 1 - 2 target instead, which
    stays precise for tiny t. Newton steps, with bisection whenever a step leaves the bracket.
    """
    use_centre = target > 0.25
    goal = 1.0 - 2.0 * target if use_centre else target

    def gap(t: float) -> float:  # increasing in t
        tail, centre = _t_tails(t, df)
        return centre - goal if use_centre else goal - tail

    low, high = 0.0, 1.0
    while gap(high) < 0:
        low, high = high, 2.0 * high
    t = 0.5 * (low + high)
    for _ in range(500):
        value = gap(t)
        if value == 0:
            return t
        if value < 0:
            low = t
        else:
            high = t
        slope = _t_pdf(t, df) * (2.0 if use_centre else 1.0)
        new = t - value / slope
        if not low < new < high:
            new = 0.5 * (low + high)
        if abs(new - t) <= 2e-16 * abs(new) or high - low <= 2e-16 * high:
            return new
        t = new
    return t


@dataclass(frozen=True)
class WelchResult:
    """Welch's unequal-variance t-test of mean(a) - mean(b) against a margin.

    ``difference`` is mean(a) - mean(b); ``t`` is (difference - margin) / standard_error;
    ``p_greater`` tests difference > margin, ``p_less`` difference < margin (one-sided); the
    interval is the two-sided ``confidence`` interval of the difference (Welch-Satterthwaite df).
    """

    difference: float
    margin: float
    standard_error: float
    df: float
    t: float
    p_greater: float
    p_less: float
    ci_low: float
    ci_high: float
    n_a: int
    n_b: int


def _mean_var(values: Sequence[float]) -> tuple[float, float]:
    mean = math.fsum(values) / len(values)
    return mean, math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)


def welch_test(a: Sequence[float], b: Sequence[float], margin: float = 0.0,
               confidence: float = 0.95) -> WelchResult:
    """Welch's t-test of mean(a) - mean(b) vs ``margin``, and its confidence interval.

    Sample variances use ddof 1. Needs at least two values in each group (ValueError
    otherwise). Zero spread in both groups: see the module docstring.
    """
    a, b = [float(v) for v in a], [float(v) for v in b]
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"Welch's test needs >= 2 values per group, got {len(a)} and {len(b)}")
    mean_a, var_a = _mean_var(a)
    mean_b, var_b = _mean_var(b)
    difference = mean_a - mean_b
    share_a, share_b = var_a / len(a), var_b / len(b)
    se = math.sqrt(share_a + share_b)
    if se > 0:
        df = (share_a + share_b) ** 2 / (share_a**2 / (len(a) - 1) + share_b**2 / (len(b) - 1))
        t = (difference - margin) / se
        half = t_ppf(0.5 + confidence / 2.0, df) * se
    else:  # no spread at all: the limit of the test as the spread goes to 0
        df = float(len(a) + len(b) - 2)
        gap = difference - margin
        t = math.copysign(math.inf, gap) if gap != 0 else 0.0
        half = 0.0
    return WelchResult(
        difference=difference, margin=margin, standard_error=se, df=df, t=t,
        p_greater=t_sf(t, df), p_less=t_cdf(t, df),
        ci_low=difference - half, ci_high=difference + half, n_a=len(a), n_b=len(b),
    )
