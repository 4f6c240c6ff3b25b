"""Reading an input file, or stopping with one line that names it and says what to do.

Every reader of a file the pipeline itself wrote earlier (tensor sets, checkpoints, manifests,
result tables) fails the same two ways: the file is missing (an earlier step has not run) or
it cannot be read (damaged, foreign, cut short). :func:`read_input` turns both into one
:class:`~sparse_pkg.errors.InputError` line, so the readers state only what the file is and
how to get a good one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from sparse_pkg.errors import InputError

T = TypeVar("T")


def read_input(
    path: str | os.PathLike,
    read: Callable[[str | os.PathLike], T],
    *,
    what: str,
    fix: str,
    fix_missing: str | None = None,
) -> T:
    """``read(path)``, or an InputError line naming ``path``.

    A missing file gives ``'<path>: <what> not found; <fix_missing>'`` (``fix`` when None);
    any other failure ``'<path>: not a readable <what> (<exception type>); <fix>'``.
    """
    try:
        return read(path)
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found; {fix_missing or fix}") from None
    except Exception as exc:  # corrupt, truncated or foreign file
        raise InputError(
            f"{path}: not a readable {what} ({type(exc).__name__}); {fix}"
        ) from None
