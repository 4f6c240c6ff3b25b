"""File checksums (SHA-256, MD5) and their verification with a one-line error."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sparse_pkg.errors import InputError

_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of the file at ``path`` with ``algorithm`` ('sha256' or 'md5'), streamed."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_checksum(path: str | os.PathLike, expected: str, algorithm: str = "sha256",
                    remedy: str | None = None) -> None:
    """Raise InputError naming the file, expected and actual digest if they differ.

    Never deletes the file: it may be something the user supplied; ``remedy`` then replaces
    the default advice (replace it, or delete it to download again) with what to fix.
    """
    actual = file_digest(path, algorithm)
    if actual.lower() != expected.lower():
        advice = remedy or "replace it or delete it to download again"
        raise InputError(
            f"{Path(path)}: {algorithm} checksum mismatch (expected {expected.lower()}, "
            f"got {actual}); the file is corrupt or not the expected one: {advice}"
        )
