"""Benchmark: Figure 2 Monte Carlo throughput (trials per second), fast sampler vs naive loop.

Times, in one run, sparse_pkg.theory.simulate_match_frequency with its default sequential
sampler and with whole random vectors ("full"), against a naive baseline that draws one
a-of-n vector per Python loop iteration with numpy's ``Generator.choice(replace=False)``.
Run by hand: ``.venv/bin/python benchmarks/theory.py [--n 1000 --a 128 ...]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/machine.py
from machine import machine_line  # noqa: E402

from sparse_pkg.theory import match_probability, simulate_match_frequency


def naive_match_frequency(n: int, a: int, s: int, theta: int, trials: int, seed: int) -> float:
    """Baseline: one random a-subset per Python iteration; fraction with >= theta stored bits."""
    rng = np.random.default_rng(seed)
    matches = 0
    for _ in range(trials):
        active = rng.choice(n, a, replace=False)
        matches += int(np.count_nonzero(active < s) >= theta)
    return matches / trials


def _rate(run, trials: int) -> tuple[float, float]:
    """Run ``run()`` once; return (its result, trials per second)."""
    start = time.perf_counter()
    result = run()
    return result, trials / (time.perf_counter() - start)


def main() -> None:
    """Parse arguments, time the three samplers once each, print rates and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="vector length")
    parser.add_argument("--a", type=int, default=128, help="active bits of the random vector")
    parser.add_argument("--s", type=int, default=24, help="stored bits of the pattern")
    parser.add_argument("--theta", type=int, default=12, help="match threshold")
    parser.add_argument("--trials", type=int, default=4_000_000, help="trials, sequential")
    parser.add_argument("--full-trials", type=int, default=50_000, help="trials, full vectors")
    parser.add_argument("--naive-trials", type=int, default=20_000, help="trials, naive loop")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n, a, s, theta = args.n, args.a, args.s, args.theta

    exact = match_probability(n, a, s, theta)
    fast, fast_rate = _rate(
        lambda: simulate_match_frequency(n, a, s, theta, args.trials, args.seed), args.trials
    )
    full, full_rate = _rate(
        lambda: simulate_match_frequency(
            n, a, s, theta, args.full_trials, args.seed, method="full"
        ),
        args.full_trials,
    )
    naive, naive_rate = _rate(
        lambda: naive_match_frequency(n, a, s, theta, args.naive_trials, args.seed),
        args.naive_trials,
    )

    print(machine_line())
    print(f"n={n} a={a} s={s} theta={theta}: exact P = {exact:.6g}")
    rows = [
        ("sequential (default)", args.trials, fast.frequency, fast_rate),
        ("full vectors", args.full_trials, full.frequency, full_rate),
        ("naive loop (choice)", args.naive_trials, naive, naive_rate),
    ]
    for name, trials, frequency, rate in rows:
        print(f"{name:<22} {trials:>10,d} trials  freq {frequency:.6g}  {rate:>14,.0f} trials/s")
    print(f"speed-up sequential / naive: {fast_rate / naive_rate:,.1f}x")
    print(f"speed-up full / naive:       {full_rate / naive_rate:,.1f}x")


if __name__ == "__main__":
    main()
