"""Benchmark: GSC feature extraction, ours (batched torch) against librosa clip by clip.

Four timings in one run, in clips per second: clean log-mel features and augmented features,
each by ``sparse_pkg.audio`` (whole batches on --device) and by a plain per-clip
numpy/librosa version of the same computation (the way the original preprocessed). Also
prints what precomputing augmented copies of the full training set costs in memory and time.

Uses the real sample clips of ../shared/data/gsc-v0.01-sample (or $SPARSE_SHARED_DATA) when
present, repeated to reach --clips; synthetic noise otherwise. Needs librosa for the reference
side (a development dependency); without it only our side is timed.

    .venv/bin/python benchmarks/features.py --clips 2000 --device cpu
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click
import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/machine.py
from machine import machine_line  # noqa: E402

from sparse_pkg.audio.augment import AugmentationParams, augment_dataset
from sparse_pkg.audio.features import clean_features, default_batch_size

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = "gsc-v0.01-sample"
CLIP = 16_000


def _sample_folder() -> Path:
    base = os.environ.get("SPARSE_SHARED_DATA")
    return (Path(base) if base else REPO.parent / "shared" / "data") / SAMPLE_DIR


def load_clips(n: int, seed: int = 0) -> tuple[np.ndarray, str]:
    """``n`` one-second float32 clips: the real sample repeated, or synthetic noise."""
    files = sorted(_sample_folder().glob("*/*.wav"))
    if files:
        base = np.zeros((len(files), CLIP), dtype=np.float32)
        for row, path in enumerate(files):
            samples, _ = sf.read(path, dtype="float32")
            base[row, : min(CLIP, len(samples))] = samples[:CLIP]
        return np.resize(base, (n, CLIP)), f"{len(files)} real GSC sample clips, repeated"
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal((n, CLIP))).astype(np.float32), "synthetic noise"


def _timed(function, device: torch.device, repeats: int) -> float:
    """Best of ``repeats`` wall-clock runs (a shared machine only ever adds time)."""
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        function()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


class LibrosaReference:
    """The same features computed clip by clip with numpy and librosa."""

    def __init__(self) -> None:
        import librosa

        self.librosa = librosa
        self.mel_basis = librosa.filters.mel(sr=16_000, n_fft=2048, n_mels=32)

    def clean(self, clip: np.ndarray) -> np.ndarray:
        mel = self.librosa.feature.melspectrogram(
            y=clip, sr=16_000, n_fft=2048, hop_length=512, n_mels=32, pad_mode="reflect"
        )
        return self.librosa.power_to_db(mel, ref=np.max, top_db=80)

    def augmented(self, clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Amplitude, speed, STFT, vocoder stretch, shift, fix frames, mel + dB; p = 0.5 each."""
        y = clip
        if rng.random() < 0.5:
            y = y * np.float32(rng.uniform(0.7, 1.1))
        if rng.random() < 0.5:
            speed = 1.0 / (1.0 + rng.uniform(-0.2, 0.2))
            y = np.interp(np.arange(0, len(y), speed), np.arange(len(y)), y).astype(np.float32)
            y = np.pad(y[:CLIP], (0, max(0, CLIP - len(y))))
        spectrum = self.librosa.stft(y, n_fft=2048, hop_length=512, pad_mode="reflect")
        n_frames = spectrum.shape[1]
        if rng.random() < 0.5:
            rate = 1.0 + rng.uniform(-0.2, 0.2)
            spectrum = self.librosa.phase_vocoder(spectrum, rate=rate, hop_length=512)
        if rng.random() < 0.5:
            shift = int(rng.integers(-8, 9))
            before, after = max(0, -shift), max(0, shift)
            spectrum = np.pad(spectrum, ((0, 0), (before, after)))
            spectrum = spectrum[:, after : spectrum.shape[1] - before]
        spectrum = spectrum[:, :n_frames]
        spectrum = np.pad(spectrum, ((0, 0), (0, n_frames - spectrum.shape[1])))
        power = self.mel_basis @ (np.abs(spectrum) ** 2)
        return self.librosa.power_to_db(power, ref=np.max, top_db=80)


@click.command()
@click.option("--clips", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Clips our batched extraction processes.")
@click.option("--reference-clips", type=click.IntRange(min=1), default=200, show_default=True,
              help="Clips librosa processes (at most --clips; it is slow, so fewer suffice).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Clips per chunk (default: the library's choice for the device).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="torch CPU threads (default: torch's choice).")
@click.option("--train-clips", type=click.IntRange(min=1), default=20_350, show_default=True,
              help="Training-set size for the cost estimate (GSC digits ~18,500 + 10% silence).")
@click.option("--copies", type=click.IntRange(min=1), default=25, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True,
              help="Each timing is the best of this many runs.")
def main(clips, reference_clips, device, batch_size, threads, train_clips, copies, repeats):
    """Clips per second of clean and augmented GSC features: ours vs librosa per clip."""
    if threads:
        torch.set_num_threads(threads)
    target = torch.device(device)
    data, source = load_clips(clips)
    waveforms = torch.from_numpy(data)
    click.echo(f"data: {source}; device {target}; torch threads {torch.get_num_threads()}; "
               f"batch {batch_size or default_batch_size(target)}; best of {repeats}\n"
               f"{machine_line()}")

    clean_features(waveforms[:64], batch_size, target)  # warm up caches and kernels
    clean_s = _timed(lambda: clean_features(waveforms, batch_size, target), target, repeats)
    augment_s = _timed(
        lambda: augment_dataset(waveforms, 0, 0, AugmentationParams(), batch_size, target),
        target, repeats,
    )
    ours = {"clean": clips / clean_s, "augmented": clips / augment_s}
    click.echo(f"ours     clean     {ours['clean']:10.1f} clips/s  ({clips} clips)")
    click.echo(f"ours     augmented {ours['augmented']:10.1f} clips/s  ({clips} clips)")

    try:
        reference = LibrosaReference()
    except ImportError:
        click.echo("librosa not installed: no reference timings")
        reference = None
    if reference is not None:
        n_ref = min(reference_clips, clips)
        reference.clean(data[0])  # librosa loads lazily: keep that out of the timing
        rng = np.random.default_rng(0)
        reference.augmented(data[0], rng)
        lib_clean_s = _timed(lambda: [reference.clean(c) for c in data[:n_ref]], target, repeats)
        lib_aug_s = _timed(lambda: [reference.augmented(c, rng) for c in data[:n_ref]], target,
                           repeats)
        lib = {"clean": n_ref / lib_clean_s, "augmented": n_ref / lib_aug_s}
        for kind in ("clean", "augmented"):
            click.echo(f"librosa  {kind:9} {lib[kind]:10.1f} clips/s  ({n_ref} clips, one by "
                       f"one)   ours / librosa = {ours[kind] / lib[kind]:.1f}x")

    copy_bytes = train_clips * 32 * 32 * 4
    click.echo(
        f"precomputing {copies} augmented copies of {train_clips} training clips: "
        f"{copies * copy_bytes / 1e9:.2f} GB float32 ({copy_bytes / 1e6:.0f} MB per copy), "
        f"{copies * train_clips / ours['augmented'] / 60:.1f} min here; augmenting on the fly "
        f"instead costs {train_clips / ours['augmented']:.0f} s per epoch of every run"
    )


if __name__ == "__main__":
    main()
