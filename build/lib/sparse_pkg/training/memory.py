"""Keep the memory that one training step frees for the next (glibc's malloc on Linux).

By default glibc hands large freed blocks back to the kernel (``munmap``, or trimming the top of
the heap once more than about twice the largest recent block is free). A training step frees
tens of MB of activations and gradients at its end and asks for them again at the next
step's start, so every step touches fresh pages: each 4 KiB page is a page fault that the kernel
zero-fills, about a fifth of a CPU step for the paper's GSC networks at batch 64. Raising the
mmap and trim thresholds keeps those blocks in the process for reuse. Only where memory comes
from changes, never a computed value; the process keeps its peak memory until it exits.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD = -1  # glibc mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's upper limit on 64-bit systems
_TRIM_THRESHOLD = 2**31 - 1  # a C int: never trim short of 2 GiB free at the top


def keep_freed_memory() -> bool:
    """Serve blocks up to 32 MiB from the heap and never trim it (see the module docstring);
    True when glibc accepted both settings, False elsewhere (other platforms: nothing done)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return (mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX) == 1
            and mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD) == 1)
