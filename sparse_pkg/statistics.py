"""Welch's t-test over seeds (``scipy.stats``), its matching one-sided bound, the one-sample
t-test of the sweeps' trend claims, and Holm's step-down adjustment for a family of claims.

The claims verdict (``sparse_pkg.reporting.claim_verdicts``) compares two networks' per-seed
scores with a one-sided Welch test of the claimed direction against the claim's margin, and
prints the one-sided confidence bound of the same test, so that "the bound excludes the margin"
and "the test rejects" are one statement.

The one rule of our own, zero spread: when neither group varies over its seeds the standard
error is 0 and scipy returns nan. The test then follows its limit as the spread goes to 0: the
one-sided p-value is 0 on the side of (difference - margin) and 1 on the other, 0.5 each for an
exact tie, and the bound collapses to the difference.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["MeanTest", "WelchTest", "holm", "mean_test", "welch_test"]

DIRECTIONS = ("greater", "less")


class _Quiet(warnings.catch_warnings):
    """scipy warns of "catastrophic cancellation" when one group's seeds are all equal (a
    variance of exactly 0, which is right and handled); the warning would only add noise."""

    def __enter__(self):
        super().__enter__()
        warnings.filterwarnings("ignore", message="Precision loss occurred",
                                category=RuntimeWarning)


class _OneSided:
    """The two one-sided p-values of a test and the bound that matches them."""

    p_greater: float
    p_less: float
    standard_error: float

    def p(self, direction: str) -> float:
        """One-sided p-value of "greater" or "less" (see the test's docstring)."""
        return self.p_greater if direction == "greater" else self.p_less

    def bound(self, direction: str, confidence: float) -> float:
        """The one-sided ``confidence`` bound of the effect on the claimed side: a lower bound
        for 'greater', an upper bound for 'less'. It lies beyond the null value exactly when
        ``p(direction) < 1 - confidence``; with no spread, the effect itself."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        if self.standard_error == 0:
            return self._effect()
        with _Quiet():
            interval = self._scipy_test(direction).confidence_interval(
                confidence_level=confidence)
        return float(interval.low if direction == "greater" else interval.high) + self._shift()

    def _effect(self) -> float:
        raise NotImplementedError

    def _shift(self) -> float:
        return 0.0

    def _scipy_test(self, direction: str):
        raise NotImplementedError


@dataclass(frozen=True)
class WelchTest(_OneSided):
    """Welch's test of mean(a) - mean(b) against ``margin``, one-sided either way."""

    a: tuple[float, ...]
    b: tuple[float, ...]
    margin: float
    difference: float
    standard_error: float
    p_greater: float
    p_less: float

    def _effect(self) -> float:
        return self.difference

    def _shift(self) -> float:
        return self.margin

    def _scipy_test(self, direction: str):
        from scipy import stats

        shifted = [x - self.margin for x in self.a]
        return stats.ttest_ind(shifted, self.b, equal_var=False, alternative=direction)


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def welch_test(a: Sequence[float], b: Sequence[float], margin: float = 0.0) -> WelchTest:
    """Welch's t-test (``scipy.stats.ttest_ind(equal_var=False)``) of mean(a) - mean(b) vs
    ``margin``, both one-sided p-values. Needs at least two values per group (ValueError
    otherwise). Zero spread in both groups: see the module docstring."""
    a, b = tuple(float(v) for v in a), tuple(float(v) for v in b)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"Welch's test needs >= 2 values per group, got {len(a)} and {len(b)}")
    difference = _mean(a) - _mean(b)
    spread = max(a) != min(a) or max(b) != min(b)
    if not spread:
        gap = difference - margin
        p_greater = 0.0 if gap > 0 else 1.0 if gap < 0 else 0.5
        return WelchTest(a, b, margin, difference, 0.0, p_greater, 1.0 - p_greater)
    from scipy import stats

    shifted = [x - margin for x in a]
    with _Quiet():
        greater = stats.ttest_ind(shifted, b, equal_var=False, alternative="greater")
        less = stats.ttest_ind(shifted, b, equal_var=False, alternative="less")
        se = math.sqrt(stats.tvar(a) / len(a) + stats.tvar(b) / len(b))
    return WelchTest(a, b, margin, difference, se, float(greater.pvalue), float(less.pvalue))


@dataclass(frozen=True)
class MeanTest(_OneSided):
    """Student's one-sample t-test of mean(values) against 0, one-sided either way (the trend
    claims of sweeps: one correlation per seed). Zero spread follows the rule of the module
    docstring."""

    values: tuple[float, ...]
    mean: float
    standard_error: float
    p_greater: float
    p_less: float

    def _effect(self) -> float:
        return self.mean

    def _scipy_test(self, direction: str):
        from scipy import stats

        return stats.ttest_1samp(self.values, 0.0, alternative=direction)


def mean_test(values: Sequence[float]) -> MeanTest:
    """The one-sample t-test (``scipy.stats.ttest_1samp``) of mean(values) against 0, both
    one-sided p-values; needs at least two values (ValueError otherwise)."""
    values = tuple(float(v) for v in values)
    if len(values) < 2:
        raise ValueError(f"a one-sample t-test needs >= 2 values, got {len(values)}")
    mean = _mean(values)
    if max(values) == min(values):
        p_greater = 0.0 if mean > 0 else 1.0 if mean < 0 else 0.5
        return MeanTest(values, mean, 0.0, p_greater, 1.0 - p_greater)
    from scipy import stats

    greater = stats.ttest_1samp(values, 0.0, alternative="greater")
    less = stats.ttest_1samp(values, 0.0, alternative="less")
    se = math.sqrt(stats.tvar(values) / len(values))
    return MeanTest(values, mean, se, float(greater.pvalue), float(less.pvalue))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: the i-th smallest p times
    (m - i + 1), made non-decreasing along that order, capped at 1. Rejecting where the
    adjusted p is below alpha controls the family-wise error rate at alpha."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: (p_values[i], i))
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
