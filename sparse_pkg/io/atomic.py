"""Atomic file writes: write to a temporary sibling, fsync, then rename over the target.

A crash, a full disk or a permission error never leaves a partial output behind: either the
old file (or none) or the complete new one is at the final path. A write that fails with an
OSError (no space, no permission, file too large) is raised as :class:`OutputWriteError`, a
one-line error naming the target, which the click scripts print without a traceback.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sparse_pkg.errors import OutputWriteError

if TYPE_CHECKING:  # pandas is imported by whoever made the frame; importing it here costs time
    import pandas as pd


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _is_write_failure(exc: OSError, paths: tuple[Path, ...]) -> bool:
    """True when ``exc`` comes from writing one of ``paths``, not from reading some input.

    Write errors carry no file name (``write``, pyarrow) or the temporary file, the target or
    its folder (``open``, ``mkdir``, ``rename``); an error naming another file is not ours.
    """
    if exc.filename is None:
        return True
    try:
        return Path(os.fsdecode(exc.filename)) in paths
    except TypeError:
        return False


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    The caller writes the file at the yielded path by any means (torch.save, pandas, ...).
    On any exception the temporary file is removed and the target is left untouched; an
    OSError from writing the output (full disk, permissions) becomes an OutputWriteError
    naming ``path``.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as exc:
        raise OutputWriteError(target, exc) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes 0600; outputs follow the umask
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if _is_write_failure(exc, (tmp, target, target.parent)):
            raise OutputWriteError(target, exc) from exc
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Atomically write ``data`` to ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_if_changed(target: str | os.PathLike, data: bytes) -> bool:
    """Atomically make ``target`` hold ``data``, leaving it untouched (mtime included) when it
    already does. Returns True when it wrote."""
    existing = Path(target)
    if existing.is_file() and existing.read_bytes() == data:
        return False
    write_bytes(target, data)
    return True


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write UTF-8 ``text`` to ``path``."""
    write_bytes(path, text.encode("utf-8"))


def write_parquet(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Atomically write the pandas ``frame`` to ``path`` as parquet, without its index."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
