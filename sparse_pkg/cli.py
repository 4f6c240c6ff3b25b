"""What every click script shares: one-line errors, log lines, terminal detection.

Bad input (an ``InputError``, a missing file, a bad option) and an output that cannot be written
(``OutputWriteError``: full disk, permissions), both a ``UserError``, print one line naming
the file or key and what to do, and exit with status 2; ``--verbose`` shows the traceback
instead.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

import click

from sparse_pkg.errors import UserError

verbose_option = click.option(
    "--verbose", is_flag=True, help="Show full tracebacks on errors (default: one line)."
)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a UserError (bad input, failed write) into 'error: <message>' on stderr, status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, verbose: bool = False, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            if verbose:
                raise
            refuse(str(exc))

    return wrapper


def refuse(message: str) -> NoReturn:
    """Print 'error: <message>' on stderr and exit with status 2 (scripts and the Snakefile)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def log(message: str) -> None:
    """One timestamped line on stderr (what lands in a Snakemake rule's log file)."""
    click.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)


def on_terminal() -> bool:
    """True when stderr is an interactive terminal (progress bars), False in logs and CI."""
    return sys.stderr.isatty()


def stack_options(options: list[Callable[..., Any]]) -> Callable[..., Any]:
    """A decorator applying several click options, listed in the order --help shows them."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def tensor_set_output(name: str, what: str) -> Callable[..., Any]:
    """The ``name`` option (e.g. ``--out``) of a tensor set the command writes, with its SHA-256
    in a sidecar beside it (OUT.sha256) that the workflow checks before use."""
    sidecar = name.lstrip("-").upper().replace("-", "_") + ".sha256"
    return click.option(name, type=click.Path(dir_okay=False), required=True,
                        help=f"{what}; its SHA-256 goes to {sidecar}.")


def compute_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add --threads, --device and --gpu-required; see :func:`setup_compute`."""
    return stack_options([
        click.option("--threads", type=click.IntRange(min=1), required=True,
                     help="torch CPU threads."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), required=True,
                     help="Where to compute; cuda without a GPU falls back to the CPU with a "
                          "warning unless --gpu-required."),
        click.option("--gpu-required", is_flag=True,
                     help="Refuse to run when --device cuda finds no GPU."),
    ])(func)


def setup_compute(threads: int, device: str, gpu_required: bool):
    """Set torch threads and deterministic algorithms; return the torch device to use."""
    from sparse_pkg.determinism import configure_torch, resolve_device

    configure_torch(threads)
    return resolve_device(device, "error" if gpu_required else "fallback")


def log_termination(what: str) -> None:
    """On SIGTERM (what SLURM sends at a job's time limit, or on scancel), log one line saying
    so before the process ends with status 143, so the job's log tells why it stopped."""
    import signal

    def stop(signum: int, frame: Any) -> NoReturn:
        log(f"{what}: stopped by SIGTERM (a scheduler's time limit or a cancel?); finished "
            "epochs are kept: rerun to continue from the last one")
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
