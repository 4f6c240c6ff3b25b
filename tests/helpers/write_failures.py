"""The one line a failed output write prints (sparse_pkg.errors.OutputWriteError), spelled out
by hand so that the tests catch a change of its wording."""

from __future__ import annotations

from pathlib import Path


def write_failure_message(target: Path, reason: str) -> str:
    """``cannot write TARGET: REASON; ...`` as the scripts print it after ``error: ``."""
    return f"cannot write {target}: {reason}; free disk space or check permissions, then rerun"
