"""One file format for every prepared data set: a dict of tensors plus metadata.

``features`` (float32, N x 1 x H x W or N x H x W), ``labels`` (int64, N) and ``meta`` (a
JSON-able dict: source, split, noise level, seed, ...). Written atomically with torch.save.

:func:`save_torch` is the one way the package writes a torch file (tensor sets, checkpoints,
resume states): atomic, and a full disk is a one-line OutputWriteError naming the file, not
the opaque RuntimeError torch.save raises for a failed write.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import torch

from sparse_pkg.io.atomic import atomic_path
from sparse_pkg.io.inputs import read_input


@dataclass
class TensorSet:
    """Features and integer labels of one split (or one noisy test level)."""

    features: torch.Tensor
    labels: torch.Tensor
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.features.shape[0] != self.labels.shape[0]:
            raise ValueError(
                f"features ({self.features.shape[0]}) and labels ({self.labels.shape[0]}) "
                "differ in length"
            )

    def __len__(self) -> int:
        return int(self.labels.shape[0])


class _WriteErrorKeeper:
    """A binary file wrapper that remembers the OSError of a failed write.

    torch.save turns a failed write into a RuntimeError without the errno ("unexpected pos");
    keeping the original error lets :func:`save_torch` report the real reason (no space).
    """

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return self._handle.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self._handle.flush()


def save_torch(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save(obj)`` to ``path`` atomically; a failed write raises OutputWriteError.

    Written through a file object, so the archive's internal folder is always ``archive``
    (torch names it after the file otherwise, here a random temporary name).
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        keeper = _WriteErrorKeeper(handle)
        try:
            torch.save(obj, keeper)
        except RuntimeError:
            if keeper.error is None:
                raise
            raise keeper.error from None


def save_tensor_set(path: str | os.PathLike, tensor_set: TensorSet) -> None:
    """Atomically write ``tensor_set`` to ``path`` (contiguous CPU tensors)."""
    payload = {
        "features": tensor_set.features.detach().cpu().contiguous(),
        "labels": tensor_set.labels.detach().cpu().to(torch.int64).contiguous(),
        "meta": dict(tensor_set.meta),
    }
    save_torch(payload, path)


def load_tensor_set(path: str | os.PathLike, device: str | torch.device = "cpu") -> TensorSet:
    """Read a file written by :func:`save_tensor_set`; a bad file is a one-line InputError."""

    def read(file: str | os.PathLike) -> TensorSet:
        payload = torch.load(file, map_location=device, weights_only=True)
        return TensorSet(payload["features"], payload["labels"], payload.get("meta", {}))

    return read_input(path, read, what="tensor-set file",
                      fix="delete it and rerun the data preparation step",
                      fix_missing="run the data preparation step first")
