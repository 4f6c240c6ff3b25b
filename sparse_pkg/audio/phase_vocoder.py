"""Batched phase-vocoder time stretch of STFTs, one rate per clip, librosa's algorithm.

librosa's ``phase_vocoder(D, rate, hop_length)`` reads the input at the fractional frame
positions ``0, rate, 2 rate, ...`` (below the frame count), takes the magnitude linearly
interpolated between the two neighbouring frames (zero beyond the last one), and gives it a
phase accumulated from the first frame's phase plus, per step, the expected advance
``hop * 2 pi k / n_fft`` of bin k and the wrapped deviation from it. Here every clip of a
batch has its own rate and the output has a fixed number of frames ``n_out`` for all clips:
output frame t is zero where the clip's own vocoder output has fewer than t + 1 frames. The
per-step loop becomes a gather and a cumulative sum over frames; phases are accumulated in
float64 (they grow to ~5e4 rad). :func:`stretch_weights` gives the read positions and
magnitude weights alone, which is all the augmentation needs (its features see only power).
"""

from __future__ import annotations

import math

import torch


def stretch_weights(
    rates: torch.Tensor, n_frames: int, n_out: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where each output frame reads: (left index, left weight, right weight), (batch, n_out).

    Output frame t of a clip with rate r reads position ``t * r`` (float64, like
    ``np.arange(0, n_frames, r)``, whose length is ``ceil(n_frames / r)``): its magnitude is
    ``w_left * |D[left]| + w_right * |D[left + 1]|`` with ``left = floor(t r)``, frames at or
    past ``n_frames`` being zero. Both weights are zero for output frames the clip's vocoder
    does not produce. ``left`` is at most ``n_frames``; weights are float64.
    """
    rates = rates.to(torch.float64)
    if bool((rates <= 0).any()):
        raise ValueError("stretch rates must be positive")
    steps = torch.arange(n_out, dtype=torch.float64, device=rates.device)
    positions = steps[None, :] * rates[:, None]
    valid = steps[None, :] < torch.ceil(n_frames / rates)[:, None]
    floor = torch.floor(positions)
    alpha = positions - floor
    left = floor.clamp(max=n_frames).to(torch.int64)
    return left, (1.0 - alpha) * valid, alpha * valid


def phase_vocoder(
    stft_frames: torch.Tensor,
    rates: torch.Tensor,
    hop_length: int = 512,
    n_fft: int | None = None,
    n_out: int | None = None,
) -> torch.Tensor:
    """Time-stretch complex STFTs (batch, freqs, frames) by per-clip ``rates`` (> 1 faster).

    Equals ``librosa.phase_vocoder(D[i], rate=rates[i], hop_length=hop_length)`` for each clip
    i on its first ``n_out`` frames (default: the input frame count), zero-padded where that
    output is shorter. Same complex dtype and device as the input.
    """
    if stft_frames.dim() != 3 or rates.shape != (stft_frames.shape[0],):
        raise ValueError(
            f"need (batch, freqs, frames) STFTs and one rate per clip, got "
            f"{tuple(stft_frames.shape)} and {tuple(rates.shape)}"
        )
    batch, n_freqs, n_frames = stft_frames.shape
    n_out = n_frames if n_out is None else n_out
    n_fft = 2 * (n_freqs - 1) if n_fft is None else n_fft
    device = stft_frames.device
    index, left_weight, right_weight = stretch_weights(rates.to(device), n_frames, n_out)

    padded = torch.nn.functional.pad(stft_frames, (0, 2))
    gather_index = index[:, None, :].expand(batch, n_freqs, n_out)
    left = padded.gather(2, gather_index)
    right = padded.gather(2, gather_index + 1)

    real_dtype = stft_frames.real.dtype
    magnitude = (
        left_weight.to(real_dtype)[:, None, :] * left.abs()
        + right_weight.to(real_dtype)[:, None, :] * right.abs()
    )

    bins = torch.arange(n_freqs, dtype=torch.float64, device=device)
    phase_advance = hop_length * (2.0 * math.pi / n_fft) * bins
    deviation = (
        right.angle().to(torch.float64) - left.angle().to(torch.float64) - phase_advance[:, None]
    )
    deviation = deviation - 2.0 * math.pi * torch.round(deviation / (2.0 * math.pi))
    steps = phase_advance[:, None] + deviation
    start = stft_frames[..., 0].angle().to(torch.float64)
    # exclusive sum: output frame t carries the advances of steps 0 .. t-1
    accumulated = torch.cumsum(torch.nn.functional.pad(steps[..., :-1], (1, 0)), dim=2)
    phase = start[..., None] + accumulated

    return torch.polar(magnitude.to(torch.float64), phase).to(stft_frames.dtype)
