"""The original's background-noise test set: test clips mixed with recorded background noise.

What the original did (Numenta's GSC preprocessing, adapted from tugstugi's
pytorch-speech-commands): all WAVs of ``_background_noise_/`` are loaded at 16 kHz,
concatenated, and cut into non-overlapping one-second pieces (the tail shorter than a second is
dropped). Each test clip, with probability 0.5, takes a uniformly chosen piece and a weight
``w ~ U(0, 0.45)`` and becomes ``x * (1 - w) + w * noise``. The original mixed the complex
STFTs of the clip and the piece; the STFT is linear, so mixing the waveforms, as done here,
gives the same spectrogram up to float rounding. The original concatenated the files in
``os.listdir`` order (unspecified); here they are sorted by file name so the pool is
reproducible. The random choices come from :func:`background_noise_generator` ``(seed)``, one
stream for the whole test set.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from sparse_pkg.audio.wav import CLIP_SAMPLES, read_wav, to_16k
from sparse_pkg.determinism import make_generator
from sparse_pkg.errors import InputError

# The purpose mixed into the seed: background noise never shares a stream with anything else.
BACKGROUND_NOISE_PURPOSE = "background"


def background_noise_generator(seed: int) -> torch.Generator:
    """CPU generator of the background-noise test set under ``seed``.

    ``make_generator(seed, "background")``: the purpose has a single stream (one test set).
    """
    return make_generator(seed, BACKGROUND_NOISE_PURPOSE)


def load_background_noises(folder: str | os.PathLike) -> list[torch.Tensor]:
    """Every ``*.wav`` in ``folder`` (sorted by name) as a 1-D float32 16 kHz tensor."""
    path = Path(folder)
    if not path.is_dir():
        raise InputError(
            f"{path}: background-noise folder not found; extract the Speech Commands archive "
            "(it holds _background_noise_/)"
        )
    files = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() == ".wav")
    if not files:
        raise InputError(f"{path}: no .wav recordings in the background-noise folder")
    return [to_16k(*read_wav(file)).to(torch.float32) for file in files]


def noise_pieces(noises: Sequence[torch.Tensor], length: int = CLIP_SAMPLES) -> torch.Tensor:
    """The recordings concatenated and cut into non-overlapping (R, length) pieces."""
    if not noises:
        raise ValueError("no background-noise recordings given")
    joined = torch.cat([n.reshape(-1).to(torch.float32) for n in noises])
    count = joined.numel() // length
    if count == 0:
        raise ValueError(
            f"background noise totals {joined.numel()} samples, less than one {length}-sample clip"
        )
    return joined[: count * length].reshape(count, length)


def draw_background_mix(
    n: int,
    num_pieces: int,
    generator: torch.Generator,
    probability: float = 0.5,
    max_weight: float = 0.45,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random choices for ``n`` clips: (applied mask, piece index, weight), all on the CPU.

    Draws, in this order, n uniforms for the mask (``< probability``), n piece indices in
    [0, num_pieces) and n weights ``U(0, max_weight)``; clips not mixed get weight 0.
    """
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability must lie in [0, 1], got {probability}")
    if max_weight < 0.0:
        raise ValueError(f"max_weight must be >= 0, got {max_weight}")
    applied = torch.rand(n, generator=generator) < probability
    index = torch.randint(num_pieces, (n,), generator=generator)
    weight = torch.rand(n, generator=generator) * max_weight
    return applied, index, torch.where(applied, weight, torch.zeros_like(weight))


def mix_background_noise(
    waveforms: torch.Tensor,
    noises: Sequence[torch.Tensor],
    generator: torch.Generator,
    probability: float = 0.5,
    max_weight: float = 0.45,
) -> torch.Tensor:
    """``waveforms`` (N, L) with a random background-noise piece mixed into about half of them.

    Clip i, when chosen, becomes ``x * (1 - w) + w * piece`` with the piece and ``w`` from
    :func:`draw_background_mix`; the others are returned bit-identical. ``generator`` is a CPU
    torch.Generator: the same seed gives the same output on any device.
    """
    if waveforms.dim() != 2:
        raise ValueError(f"waveforms must be (N, L), got shape {tuple(waveforms.shape)}")
    pieces = noise_pieces(noises, waveforms.shape[1]).to(waveforms.device, waveforms.dtype)
    applied, index, weight = draw_background_mix(
        waveforms.shape[0], pieces.shape[0], generator, probability, max_weight
    )
    applied = applied.to(waveforms.device).unsqueeze(1)
    weight = weight.to(waveforms.device, waveforms.dtype).unsqueeze(1)
    mixed = waveforms * (1 - weight) + weight * pieces[index.to(waveforms.device)]
    return torch.where(applied, mixed, waveforms)
