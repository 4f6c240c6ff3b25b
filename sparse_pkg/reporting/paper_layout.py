"""Which tables and figures the paper has, and what each shows.

Facts of the paper's layout, not settings: the number and title of each results table and the
networks and sample levels of Figure 4. Imports nothing heavy (no pandas, no torch), so the
workflow reads it while it parses the rules.
"""

from __future__ import annotations

from collections.abc import Iterable

from sparse_pkg.datasets import registry

TABLE_NUMBERS = {name: facts.table_number for name, facts in registry.BUILT_IN.items()}
"""The paper's number of each data set's results table (Table 1 MNIST, Table 2 GSC)."""
FIGURE4_NETWORKS = ("denseCNN1", "denseCNN2", "sparseCNN1", "sparseCNN2")
"""Networks of Figure 4B (docs/protocol.md §3.5)."""
FIGURE4_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
"""Noise levels of the sample digits in Figure 4A."""
LEVEL_DECIMALS = 9
"""Noise levels are compared after rounding to this many decimals, so 0.1 + 0.2 matches 0.3."""


def results_table_title(dataset: str) -> str:
    """The paper's title of a data set's results table, e.g. "Table 1. MNIST: test accuracy ..."."""
    return (f"Table {TABLE_NUMBERS[dataset]}. {registry.BUILT_IN[dataset].title}: test accuracy "
            "and noise score")


def table_dataset(number: int | str) -> str:
    """The data set that results table ``number`` reports: 1 -> mnist, 2 -> gsc."""
    return {str(n): d for d, n in TABLE_NUMBERS.items()}[str(number)]


def figure4_levels(levels: Iterable[float]) -> list[float]:
    """The noise levels among ``levels`` (in their order) whose sample digit Figure 4A shows."""
    shown = {round(level, LEVEL_DECIMALS) for level in FIGURE4_LEVELS}
    return [level for level in levels if round(float(level), LEVEL_DECIMALS) in shown]
