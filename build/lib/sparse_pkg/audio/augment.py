"""Training augmentation of GSC clips (docs/protocol.md §4.5), vectorised over the batch.

Per clip, each step independently with its own probability (0.5 in the paper), in order:
amplitude x U(0.7, 1.1); speed-and-pitch change by linear-interpolation resampling with
``speed = 1 / (1 + U(-0.2, 0.2))``, length fixed back to 16,000 samples; STFT; phase-vocoder
time stretch at rate ``1 + U(-0.2, 0.2)``; time shift by U{-8..8} frames with zero fill;
frame count fixed back to 32; mel + dB as for the clean features.

Randomness is split from the work: :func:`draw_augmentations` draws every clip's parameters
from a CPU ``torch.Generator`` (so CPU and GPU runs draw identical parameters), and
:func:`apply_augmentations` applies them to a batch on the waveforms' device. The pipeline
precomputes augmented copies of the training set: :func:`augmentation_generator` derives copy
``copy_index``'s generator from the seed and :func:`augment_dataset` produces its features.

The STFT is only ever turned into power, so the stretch, shift and frame fix act on
magnitudes, as one per-clip matrix over frames (:func:`time_warp_matrix`, built from the phase
vocoder's read positions, :func:`vocoder_read_weights`); the phases the vocoder would carry
cannot change the features.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from sparse_pkg.audio.features import (
    N_FRAMES,
    N_MELS,
    mel_db_from_power,
    progress_chunks,
    resolve_chunking,
    stft,
)
from sparse_pkg.determinism import make_generator

# The purpose mixed into the seed: augmentation never shares a random stream with anything else.
AUGMENTATION_PURPOSE = "gsc-augmentation"


@dataclass(frozen=True)
class AugmentationParams:
    """Probabilities and ranges of the four random steps; defaults are the paper's."""

    amplitude_probability: float = 0.5
    amplitude_range: tuple[float, float] = (0.7, 1.1)
    speed_probability: float = 0.5
    speed_max_scale: float = 0.2
    stretch_probability: float = 0.5
    stretch_max_scale: float = 0.2
    shift_probability: float = 0.5
    max_shift: int = 8

    def __post_init__(self) -> None:
        probabilities = (self.amplitude_probability, self.speed_probability,
                         self.stretch_probability, self.shift_probability)
        if not all(0.0 <= p <= 1.0 for p in probabilities):
            raise ValueError(f"augmentation probabilities must be in [0, 1], got {probabilities}")
        low, high = self.amplitude_range
        if not 0.0 <= low <= high:
            raise ValueError(f"amplitude_range must be 0 <= low <= high, got {(low, high)}")
        for name in ("speed_max_scale", "stretch_max_scale"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.max_shift < 0:
            raise ValueError(f"max_shift must be >= 0, got {self.max_shift}")

    @classmethod
    def with_probability(cls, probability: float, **ranges) -> AugmentationParams:
        """The paper's ranges (or ``ranges`` overrides) with every step at ``probability``."""
        return cls(
            amplitude_probability=probability,
            speed_probability=probability,
            stretch_probability=probability,
            shift_probability=probability,
            **ranges,
        )


@dataclass(frozen=True)
class AugmentationDraws:
    """Per-clip parameters; a step not applied to a clip holds its identity value.

    ``amplitude`` (factor, 1 = off), ``speed`` (resampling step, 1 = off), ``stretch_rate``
    (vocoder rate, 1 = off), all float64; ``shift`` (frames, 0 = off), int64. CPU tensors.
    """

    amplitude: torch.Tensor
    speed: torch.Tensor
    stretch_rate: torch.Tensor
    shift: torch.Tensor

    def __len__(self) -> int:
        return int(self.amplitude.shape[0])

    def __getitem__(self, index: slice) -> AugmentationDraws:
        return AugmentationDraws(
            self.amplitude[index], self.speed[index], self.stretch_rate[index], self.shift[index]
        )


def augmentation_generator(seed: int, copy_index: int) -> torch.Generator:
    """CPU generator of augmented copy ``copy_index`` under ``seed``.

    ``make_generator(seed, "gsc-augmentation", copy_index)``: a stream of its own, unrelated to
    neighbouring seeds or copies and to every other stream of the project.
    """
    return make_generator(seed, AUGMENTATION_PURPOSE, copy_index)


def draw_augmentations(
    n_clips: int, generator: torch.Generator, params: AugmentationParams | None = None
) -> AugmentationDraws:
    """Draw the random parameters of ``n_clips`` clips from ``generator``.

    One (n_clips, 8) float64 uniform draw: per step an apply-or-not number and a value, so
    the draws of the whole set depend only on the generator's state.
    """
    p = AugmentationParams() if params is None else params
    u = torch.rand((n_clips, 8), generator=generator, dtype=torch.float64,
                   device=generator.device).cpu()
    low, high = p.amplitude_range
    amplitude = torch.where(u[:, 0] < p.amplitude_probability, low + (high - low) * u[:, 1], 1.0)
    speed_scale = p.speed_max_scale * (2.0 * u[:, 3] - 1.0)
    speed = torch.where(u[:, 2] < p.speed_probability, 1.0 / (1.0 + speed_scale), 1.0)
    stretch_scale = p.stretch_max_scale * (2.0 * u[:, 5] - 1.0)
    stretch_rate = torch.where(u[:, 4] < p.stretch_probability, 1.0 + stretch_scale, 1.0)
    shift_value = torch.floor(u[:, 7] * (2 * p.max_shift + 1)).to(torch.int64) - p.max_shift
    shift = torch.where(u[:, 6] < p.shift_probability, shift_value, 0)
    return AugmentationDraws(amplitude, speed, stretch_rate, shift)


def scale_amplitude(waveforms: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """Multiply clip i by ``factors[i]``, the factor cast to the waveforms' dtype first."""
    return waveforms * factors.to(waveforms.device, waveforms.dtype)[:, None]


def change_speed(waveforms: torch.Tensor, speeds: torch.Tensor) -> torch.Tensor:
    """Resample each clip with step ``speeds[i]`` by linear interpolation, same length out.

    Clip i becomes ``np.interp(np.arange(0, L, speed), np.arange(L), x)`` (computed in
    float64 like numpy, then cast back) truncated or zero-padded at the end to its original
    length L. Clips with speed 1 are returned untouched and cost nothing.
    """
    batch, length = waveforms.shape
    device = waveforms.device
    active = torch.nonzero(speeds.cpu() != 1.0).squeeze(1).to(device)
    if active.numel() == 0:
        return waveforms
    speeds = speeds.to(device, torch.float64)[active]
    steps = torch.arange(length, dtype=torch.float64, device=device)
    positions = steps[None, :] * speeds[:, None]
    valid = steps[None, :] < torch.ceil(length / speeds)[:, None]
    floor = torch.floor(positions)
    left = floor.clamp(max=length - 1).to(torch.int64)
    right = (left + 1).clamp(max=length - 1)
    source = waveforms[active]
    low = source.gather(1, left).to(torch.float64)
    high = source.gather(1, right).to(torch.float64)
    # np.interp's form, slope * (x - xp[j]) + fp[j]; past the last sample left == right
    values = low + (high - low) * (positions - floor)
    resampled = (values * valid).to(waveforms.dtype)
    return waveforms.index_copy(0, active, resampled)


def vocoder_read_weights(
    rates: torch.Tensor, n_frames: int, n_out: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where librosa's phase vocoder reads each output frame: (left, w_left, w_right), each
    (batch, n_out).

    ``librosa.phase_vocoder(D, rate)`` reads D at the positions ``0, rate, 2 rate, ...`` below
    the frame count (``np.arange(0, n_frames, rate)``, ``ceil(n_frames / rate)`` of them, in
    float64) and takes the magnitude linearly interpolated between the two neighbouring frames,
    zero beyond the last one: ``w_left * |D[left]| + w_right * |D[left + 1]|`` with
    ``left = floor(t r)``, at most ``n_frames``. Both weights (float64) are zero for output
    frames the clip's vocoder does not produce. Here each clip has its own rate.
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


def time_warp_matrix(
    rates: torch.Tensor, shifts: torch.Tensor, n_frames: int, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Per-clip (batch, n_frames, n_frames) map of STFT magnitudes: stretch, shift, fix.

    ``|D| @ W`` equals, per clip, ``|fix(shift(phase_vocoder(D, rate), shift))|``: the
    vocoder's output (``ceil(n_frames / rate)`` frames, magnitudes interpolated linearly
    between neighbouring input frames), shifted within that length with zero fill, then
    truncated or zero-padded to ``n_frames``. The shift acts before the frame count is fixed,
    so a slowed-down clip's frames past ``n_frames`` can be shifted into view. Rate 1 and
    shift 0 give the identity, so untouched clips keep their exact magnitudes.
    """
    shifts = shifts.to(rates.device, torch.int64)
    batch = rates.shape[0]
    max_source = n_frames + max(0, int(shifts.max())) if batch else n_frames
    left, w_left, w_right = vocoder_read_weights(rates, n_frames, max_source)
    out_frames = torch.arange(n_frames, device=rates.device)[None, :]
    source = out_frames + shifts[:, None]
    produced = torch.ceil(n_frames / rates.to(torch.float64))[:, None]
    inside = (source >= 0) & (source < produced) & (out_frames < produced)
    source = source.clamp(0, max_source - 1)
    keep = inside.to(torch.float64)
    # output frame t reads input frames `first` and `first + 1` (frames >= n_frames are zero)
    first = left.gather(1, source)[:, None, :]
    first_weight = (w_left.gather(1, source) * keep)[:, None, :]
    second_weight = (w_right.gather(1, source) * keep)[:, None, :]
    frame = torch.arange(n_frames, device=rates.device)[None, :, None]
    weights = (frame == first) * first_weight + (frame == first + 1) * second_weight
    return weights.to(dtype)


def apply_augmentations(waveforms: torch.Tensor, draws: AugmentationDraws) -> torch.Tensor:
    """Augmented log-mel features (batch, 32, 32) of (batch, 16000) waveforms, given draws.

    Runs on the waveforms' device; float32 unless the waveforms are float64. A clip whose
    draws are all identities gets exactly its clean features. The stretch, shift and frame
    fix act on magnitudes through one batched matrix product (:func:`time_warp_matrix`);
    the features only see power, so the vocoder's phases are not needed.
    """
    if waveforms.dim() != 2 or waveforms.shape[0] != len(draws):
        raise ValueError(
            f"need (batch, samples) waveforms with one draw per clip, got {tuple(waveforms.shape)}"
            f" and {len(draws)} draws"
        )
    dtype = torch.float64 if waveforms.dtype == torch.float64 else torch.float32
    device = waveforms.device
    x = change_speed(scale_amplitude(waveforms.to(dtype), draws.amplitude), draws.speed)
    magnitude = stft(x).abs()
    warp = time_warp_matrix(draws.stretch_rate.to(device), draws.shift.to(device),
                            magnitude.shape[-1], dtype)
    return mel_db_from_power(torch.bmm(magnitude, warp).square())


def augment_dataset(
    waveforms: torch.Tensor,
    seed: int,
    copy_index: int,
    params: AugmentationParams | None = None,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Features (N, 32, 32) of augmented copy ``copy_index`` of a whole set, on the CPU.

    Draws for all N clips come from ``augmentation_generator(seed, copy_index)``; the work runs in
    chunks of ``batch_size`` (default :func:`~sparse_pkg.audio.features.default_batch_size`)
    on ``device`` (default: the waveforms' device). Same (seed, copy_index) -> same bytes; on the
    CPU whatever the batch size (tested).
    """
    batch_size, target = resolve_chunking(waveforms, batch_size, device)
    n_clips = waveforms.shape[0]
    draws = draw_augmentations(n_clips, augmentation_generator(seed, copy_index), params)
    chunks = [
        apply_augmentations(waveforms[start : start + batch_size].to(target),
                            draws[start : start + batch_size]).cpu()
        for start in progress_chunks(n_clips, batch_size, f"augmented copy {copy_index}")
    ]
    if not chunks:
        return torch.empty((0, N_MELS, N_FRAMES), dtype=torch.float32)
    return torch.cat(chunks)
