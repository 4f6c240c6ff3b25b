"""Markdown table rows shared by the results tables, Table 3 and results/claims.md."""

from __future__ import annotations

from collections.abc import Iterable


def escape_cell(cell: object) -> str:
    """The cell as text with its pipes escaped, so that it cannot split the row."""
    return str(cell).replace("|", "\\|")


def table_row(cells: Iterable[object]) -> str:
    """One markdown table row of escaped cells: ``| a | b |``."""
    return "| " + " | ".join(escape_cell(c) for c in cells) + " |"
