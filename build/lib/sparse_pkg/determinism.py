"""Seeds, generators, torch settings and device choice: every random stream derives from a seed.

Every random stream but weight init (torch's global generator, seeded with the run's seed) gets
its own generator from :func:`make_generator` ``(seed, purpose, stream)``: the seed the user set,
a purpose string naming what the numbers are for (data order, augmentation, one kind of noise)
and a stream number within that purpose (an epoch, an augmented copy, a noise level's
``level_stream``). So a run can be resumed at any epoch and any noise level regenerated alone,
with identical bytes, and no two purposes ever share a stream.
"""

from __future__ import annotations

import hashlib
import os
import sys
import warnings

import torch

from sparse_pkg.errors import InputError


def derive_seed(*parts: int | str | float) -> int:
    """A 63-bit seed from any sequence of ints/strings (stable across runs and platforms)."""
    text = "\x1f".join(repr(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") >> 1


def make_generator(
    seed: int, purpose: str, stream: int | None = None, *, device: str | torch.device = "cpu"
) -> torch.Generator:
    """A torch.Generator on ``device`` for stream ``stream`` of ``purpose`` under ``seed``.

    Seeded with ``derive_seed(seed, purpose, stream)``, or ``derive_seed(seed, purpose)`` for a
    purpose that has a single stream (``stream`` None).
    """
    parts = (seed, purpose) if stream is None else (seed, purpose, stream)
    generator = torch.Generator(device=device)
    generator.manual_seed(derive_seed(*parts))
    return generator


# cuBLAS is deterministic only with a fixed workspace (CUDA >= 10.2); read at its first use.
CUBLAS_WORKSPACE = ":4096:8"


def configure_torch(threads: int | None = None, deterministic: bool = True) -> None:
    """Set torch's CPU threads and deterministic algorithms (bit-identical results on CPU)."""
    if threads:
        torch.set_num_threads(int(threads))
    if deterministic:
        # warn_only: a CUDA kernel without a deterministic variant should warn, not stop a GPU run
        enable_deterministic_algorithms(warn_only=True)


def enable_deterministic_algorithms(warn_only: bool = True) -> None:
    """What ``torch.use_deterministic_algorithms(True)`` sets, without its import of the compiler.

    That function sets two things: ATen's global flag (deterministic kernels, on the CPU and on
    CUDA, and NaN-filled uninitialised memory) and ``torch._inductor.config.deterministic``,
    which only ``torch.compile`` reads; importing it pulls in torch._dynamo, torch._inductor and
    sympy (seconds per process, for a compiler this package never uses). So the ATen flag is set
    directly, and the compiler gets the same setting through its environment variable, read if
    and when it is first imported (or set directly when it already is). For CUDA, cuBLAS gets a
    fixed workspace and cuDNN deterministic algorithms; a user's own CUBLAS_WORKSPACE_CONFIG wins.
    tests/scripts/test_startup.py checks this against what the installed torch's function does.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    os.environ["TORCHINDUCTOR_DETERMINISTIC"] = "1"
    inductor_config = sys.modules.get("torch._inductor.config")
    if inductor_config is not None:
        inductor_config.deterministic = True
    torch._C._set_deterministic_algorithms(True, warn_only=warn_only)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def scheduler_gpus() -> str:
    """The GPUs a SLURM job was given ('' outside such a job): SLURM_JOB_GPUS or
    SLURM_STEP_GPUS, else CUDA_VISIBLE_DEVICES inside a SLURM job."""
    for name in ("SLURM_JOB_GPUS", "SLURM_STEP_GPUS"):
        if os.environ.get(name, "").strip():
            return os.environ[name].strip()
    if os.environ.get("SLURM_JOB_ID"):
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").strip()
        if visible and visible not in ("-1", "NoDevFiles"):
            return visible
    return ""


def cuda_problem() -> str:
    """Why torch cannot use CUDA here, in torch's own words (first line)."""
    try:
        torch.cuda.init()
    except Exception as exc:  # noqa: BLE001  any failure is the reason to report
        text = str(exc).strip().splitlines()
        return text[0] if text else type(exc).__name__
    return "torch.cuda.is_available() is False"


def resolve_device(requested: str = "auto", on_missing_gpu: str = "fallback") -> torch.device:
    """Map 'auto' | 'cpu' | 'cuda' to a device.

    A GPU requested on a machine without one falls back to the CPU with a warning, or raises
    InputError when ``on_missing_gpu`` is 'error'. A SLURM job that was given a GPU it cannot
    use raises InputError whatever ``requested`` ('auto' or 'cuda') and ``on_missing_gpu`` say.
    """
    if requested not in {"auto", "cpu", "cuda"}:
        raise InputError(f"device '{requested}': use auto, cpu or cuda")
    if requested == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if given := scheduler_gpus():
        # A cluster job that was given a GPU never trains on the CPU instead (for hours,
        # silently): the node's driver and this torch build are what needs fixing.
        node = os.environ.get("SLURMD_NODENAME", "this node")
        raise InputError(
            f"the SLURM job was given GPU {given} on {node}, but torch {torch.__version__} "
            f"(built for CUDA {torch.version.cuda or 'none'}) cannot use it: {cuda_problem()}; "
            "install a torch build that the node's NVIDIA driver supports, or run on the CPU "
            "(config key compute.device: cpu)")
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
