"""Checksum sidecars of prepared data sets: ``X.sha256`` next to ``X``, written by its producer.

The workflow checks a prepared file against its sidecar in a cheap job of its own before any
training or evaluation job that reads it is started, so a file damaged after it was made (cut
short by a full disk, edited, half-copied) stops the run before Snakemake could delete the
outputs of a job that failed reading it. The sidecar uses ``sha256sum``'s format, so
``sha256sum -c X.sha256`` run in the file's folder checks it by hand too.
"""

from __future__ import annotations

import os
from pathlib import Path

from sparse_pkg.errors import InputError
from sparse_pkg.io.atomic import write_text
from sparse_pkg.io.checksum import file_digest

SUFFIX = ".sha256"


def sidecar_path(path: str | os.PathLike) -> Path:
    """Where the checksum of ``path`` is kept: the same name with ``.sha256`` appended."""
    path = Path(path)
    return path.with_name(path.name + SUFFIX)


def write_sidecar(path: str | os.PathLike) -> str:
    """Record the SHA-256 of the finished file ``path`` in its sidecar (atomic); return it."""
    digest = file_digest(path)
    write_text(sidecar_path(path), f"{digest}  {Path(path).name}\n")
    return digest


def recorded_digest(path: str | os.PathLike) -> str:
    """The digest the producer of ``path`` recorded; a missing or garbled sidecar is refused."""
    sidecar = sidecar_path(path)
    try:
        fields = sidecar.read_text().split()
    except FileNotFoundError:
        raise InputError(f"{sidecar}: missing; {rebuild_hint(path)}") from None
    if len(fields) != 2 or len(fields[0]) != 64 or fields[1] != Path(path).name:
        raise InputError(f"{sidecar}: not a checksum line for {Path(path).name}; "
                         f"{rebuild_hint(path)}")
    return fields[0].lower()


def verify_sidecar(path: str | os.PathLike) -> str:
    """Check ``path`` against its sidecar and return the digest; a mismatch is an InputError
    naming the file and the command that rebuilds it."""
    expected = recorded_digest(path)
    try:
        actual = file_digest(path)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found; run snakemake again to rebuild it") from None
    if actual != expected:
        raise InputError(f"{path}: content differs from the checksum recorded when it was made "
                         f"({sidecar_path(path).name}): cut short or changed since; "
                         f"{rebuild_hint(path)}")
    return actual


def rebuild_hint(path: str | os.PathLike) -> str:
    """What to type: delete the damaged file, then rerun snakemake, which rebuilds it."""
    return f"delete it with `rm {path}` and run snakemake again to rebuild it"
