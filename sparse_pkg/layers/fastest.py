"""Of several ways to compute the same bytes, the fastest on this machine, measured once.

Which of two exact algorithms wins depends on the CPU (its vector width, caches, how torch's
kernels dispatch on it) as much as on the shape: a size threshold tuned on one machine made a
layer slower on another. So the first call of a kind (a key: operation, shape, dtype, thread
count) times every candidate in interleaved rounds (enough of them to fill a few milliseconds:
single calls of a small layer last microseconds), and later calls of that key run the one whose
fastest round was fastest, by a margin over the plainer first candidate. The candidates give
identical bytes, so the choice changes speed, never results. ``chosen()`` tells which path
each key took (the benchmarks print it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

MIN_ROUNDS = 5
MAX_ROUNDS = 200
BUDGET_SECONDS = 0.005  # a small layer's calls take microseconds: time enough rounds to tell
MARGIN = 0.03  # within 3 % the first candidate (the plainer path) is kept: a tie is not a win
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
    """Time the candidates in rotating rounds, at least MIN_ROUNDS and until BUDGET_SECONDS
    have passed (at most MAX_ROUNDS), after an untimed warm-up round; compare their fastest
    rounds (the least disturbed by the rest of the machine). A candidate must beat the first
    one by MARGIN to be chosen."""
    names = list(candidates)
    for name in names:  # warm-up: first-touch allocations and caches
        candidates[name]()
    seconds: dict[str, list[float]] = {name: [] for name in names}
    started = time.perf_counter()
    for round_ in range(MAX_ROUNDS):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            start = time.perf_counter()
            candidates[name]()
            seconds[name].append(time.perf_counter() - start)
        if round_ + 1 >= MIN_ROUNDS and time.perf_counter() - started >= BUDGET_SECONDS:
            break
    return choose({name: min(values) for name, values in seconds.items()})


def choose(best: dict[str, float]) -> str:
    """The candidate with the smallest best time, if it beats the first candidate (in the
    given order) by MARGIN; else the first."""
    names = list(best)
    first = names[0]
    other = min(names[1:], key=lambda name: best[name], default=first)
    return other if best[other] < best[first] * (1.0 - MARGIN) else first


def chosen() -> dict[Hashable, str]:
    """Every key measured in this process and the path it runs."""
    return dict(_CHOICES)


def forget() -> None:
    """Drop every choice (tests; a benchmark that measures again)."""
    _CHOICES.clear()
