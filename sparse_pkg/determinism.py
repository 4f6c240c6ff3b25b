"""Seeds, generators, torch settings and device choice: every random stream derives from a seed.

Each stream (weight init, data order per epoch, augmentation per epoch, noise per level) gets its
own generator seeded from the run's seed and a label, so a run can be resumed at any epoch and
any noise level regenerated alone, with identical bytes.
"""

from __future__ import annotations

import hashlib
import warnings

import torch

from sparse_pkg.errors import InputError


def derive_seed(*parts: int | str | float) -> int:
    """A 63-bit seed from any sequence of ints/strings (stable across runs and platforms)."""
    text = "\x1f".join(repr(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") >> 1


def make_generator(
    *parts: int | str | float, device: str | torch.device = "cpu"
) -> torch.Generator:
    """A torch.Generator on ``device`` seeded with ``derive_seed(*parts)``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(derive_seed(*parts))
    return generator


def configure_torch(threads: int | None = None, deterministic: bool = True) -> None:
    """Set torch's CPU threads and deterministic algorithms (bit-identical results on CPU)."""
    if threads:
        torch.set_num_threads(int(threads))
    if deterministic:
        # warn_only: a CUDA kernel without a deterministic variant should warn, not stop a GPU run
        torch.use_deterministic_algorithms(True, warn_only=True)


def resolve_device(requested: str = "auto", on_missing_gpu: str = "fallback") -> torch.device:
    """Map 'auto' | 'cpu' | 'cuda' to a device.

    A GPU requested on a machine without one falls back to the CPU with a warning, or raises
    InputError when ``on_missing_gpu`` is 'error'.
    """
    if requested not in {"auto", "cpu", "cuda"}:
        raise InputError(f"device '{requested}': use auto, cpu or cuda")
    if requested == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if requested == "cuda":
        if on_missing_gpu == "error":
            raise InputError(
                "device 'cuda' requested but no CUDA GPU is available: use --device cpu or "
                "auto (config key compute.device), or drop --gpu-required to fall back to the "
                "CPU (compute.on_missing_gpu: fallback)"
            )
        warnings.warn(
            "device 'cuda' requested but no GPU is available; using the CPU", stacklevel=2
        )
    return torch.device("cpu")
