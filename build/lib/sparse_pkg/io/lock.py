"""An exclusive, crash-proof lock on a file: one process at a time works on a folder.

Built on ``fcntl.flock``: the kernel releases the lock when its holder dies, even by SIGKILL,
so a crashed run never leaves a stale lock behind. Used so that a training run orphaned by a
killed Snakemake cannot be trained twice at once by a rerun.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sparse_pkg.errors import InputError


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if absent) for the ``with`` block.

    If another live process holds it, raise InputError at once naming ``what``, the holder's
    pid and what to do, instead of waiting.
    """
    lock_path = Path(path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise InputError(
                f"{lock_path}: another process (pid {holder}) is already working on {what}; "
                "wait for it to end or stop it, then rerun"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
