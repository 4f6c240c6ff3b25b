"""The line every benchmark prints with its figures: which CPU, which of torch's CPU kernels,
how many threads. Speed ratios differ between CPUs of the same size, so a figure without its
machine cannot be compared with another."""

from __future__ import annotations

import torch

from sparse_pkg.provenance import cpu_model


def machine_line() -> str:
    """CPU model, torch's CPU kernel dispatch, torch version and thread counts, one line."""
    return (f"cpu={cpu_model()!r} kernels={torch.backends.cpu.get_cpu_capability()} "
            f"torch={torch.__version__} threads={torch.get_num_threads()} "
            f"interop_threads={torch.get_num_interop_threads()}")
