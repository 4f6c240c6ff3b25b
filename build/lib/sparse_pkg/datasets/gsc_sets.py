"""The Speech Commands tensor sets the pipeline prepares: one split's clips, the silence class
and the training features (clean, or augmented copies) of docs/protocol.md §4.4-§4.5."""

from __future__ import annotations

import os

import torch

from sparse_pkg.audio.augment import augment_dataset
from sparse_pkg.audio.features import clean_features
from sparse_pkg.datasets.gsc import load_clips, read_manifest
from sparse_pkg.datasets.gsc_splits import label_index
from sparse_pkg.errors import InputError


def load_split(manifest_path: str | os.PathLike, root: str | os.PathLike,
               split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Waveforms (N, 16000) and int64 labels of one split of the manifest, in manifest order.

    A split without clips is one InputError line naming the manifest.
    """
    manifest = read_manifest(manifest_path)
    rows = manifest[manifest["split"] == split]
    if rows.empty:
        raise InputError(f"{manifest_path}: no {split} clips; is the archive complete?")
    waveforms, _ = load_clips(rows, root)
    return waveforms, torch.from_numpy(rows["label"].to_numpy(dtype="int64", copy=True))


def add_silence(waveforms: torch.Tensor, labels: torch.Tensor,
                fraction: float) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The set with ``int(N * fraction)`` all-zero clips labelled silence appended at the end.

    Returns the waveforms, the labels and the number of silence clips added.
    """
    n_silence = int(len(labels) * fraction)
    waveforms = torch.cat([waveforms, torch.zeros(n_silence, waveforms.shape[1])])
    labels = torch.cat([labels, torch.full((n_silence,), label_index("silence"))])
    return waveforms, labels, n_silence


def training_features(waveforms: torch.Tensor, copies: int, seed: int,
                      device: str | torch.device | None = None) -> torch.Tensor:
    """Training features: clean (N, 32, 32) when ``copies`` is 0, else (N, copies, 32, 32), the
    augmented copies that epoch e draws from (copy e mod copies), each seeded by (seed, copy)."""
    if copies == 0:
        return clean_features(waveforms, device=device)
    return torch.stack([augment_dataset(waveforms, seed, copy, device=device)
                        for copy in range(copies)], dim=1)
