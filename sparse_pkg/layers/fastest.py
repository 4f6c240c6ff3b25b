"""Of several ways to compute the same bytes, the fastest on this machine, measured once.

Which of two exact algorithms wins depends on the CPU (its vector width, caches, how torch's
kernels dispatch on it) as much as on the shape: a size threshold tuned on one machine made a
layer slower on another. So the first call of a kind (a key: operation, shape, dtype, thread
count) times every candidate a few rounds, interleaved, and later calls of that key run the
one with the smallest median. The candidates give identical bytes, so the choice changes
speed, never results. ``chosen()`` tells which path each key took (the benchmarks print it).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Hashable
from typing import Any

ROUNDS = 5  # timed rounds per candidate, after one untimed warm-up round
_CHOICES: dict[Hashable, str] = {}


def fastest(key: Hashable, candidates: dict[str, Callable[[], Any]]) -> str:
    """The name of the fastest candidate for ``key``, timing them at its first call.

    Each candidate is a call without arguments and without side effects on anything the
    caller keeps (its result is discarded).
    """
    choice = _CHOICES.get(key)
    if choice is None:
        choice = _measure(candidates)
        _CHOICES[key] = choice
    return choice


def _measure(candidates: dict[str, Callable[[], Any]]) -> str:
    names = list(candidates)
    for name in names:  # warm-up: first-touch allocations and caches
        candidates[name]()
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(ROUNDS):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            start = time.perf_counter()
            candidates[name]()
            seconds[name].append(time.perf_counter() - start)
    return min(names, key=lambda name: (statistics.median(seconds[name]), names.index(name)))


def chosen() -> dict[Hashable, str]:
    """Every key measured in this process and the path it runs."""
    return dict(_CHOICES)


def forget() -> None:
    """Drop every choice (tests; a benchmark that measures again)."""
    _CHOICES.clear()
