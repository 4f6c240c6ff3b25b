"""Model-selection protocols: which epoch's weights a run reports.

``paper``: the epoch with the best clean test accuracy, earliest on ties (what the original did;
it peeks at the test set). ``final``: the last epoch (no peeking).
"""

from __future__ import annotations

from collections.abc import Sequence

PROTOCOLS = ("paper", "final")


def select_epoch(test_accuracies: Sequence[float], protocol: str) -> int:
    """0-based epoch chosen by ``protocol`` from the per-epoch clean test accuracies."""
    if not test_accuracies:
        raise ValueError("no epochs to select from")
    if protocol == "final":
        return len(test_accuracies) - 1
    if protocol == "paper":
        best = max(test_accuracies)
        return next(i for i, acc in enumerate(test_accuracies) if acc == best)
    raise ValueError(f"unknown protocol '{protocol}' (known: {', '.join(PROTOCOLS)})")
