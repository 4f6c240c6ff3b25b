"""Speech Commands clips -> 32x32 log-mel tensor sets: train (+ silence, augmented copies),
validation and test, one white-noise test set per level, the background-noise test set.

Every file gets a checksum sidecar (FILE.sha256) that the workflow checks before use."""

from __future__ import annotations

import click
import torch

from sparse_pkg.audio.features import clean_features
from sparse_pkg.cli import (
    compute_options,
    handle_errors,
    log,
    setup_compute,
    stack_options,
    verbose_option,
)
from sparse_pkg.datasets.gsc import BACKGROUND_DIR
from sparse_pkg.datasets.gsc_sets import add_silence, load_split, training_features
from sparse_pkg.io.sidecar import write_sidecar
from sparse_pkg.io.tensors import TensorSet, save_tensor_set
from sparse_pkg.noise import level_stream
from sparse_pkg.noise.background import (
    background_noise_generator,
    load_background_noises,
    mix_background_noise,
)
from sparse_pkg.noise.white import white_noise_features


def _save(path: str, features: torch.Tensor, labels: torch.Tensor, meta: dict) -> None:
    """Write (N, 1, 32, 32) features and their checksum sidecar."""
    save_tensor_set(path, TensorSet(features.unsqueeze(-3).contiguous(), labels, meta))
    write_sidecar(path)


@click.group()
def main():
    """GSC features (docs/protocol.md §4.4): 16 kHz clips fixed to 16,000 samples, power mel
    spectrogram (n_fft 2048, hop 512, 32 Slaney mel bands, reflection padding), dB relative to
    each clip's maximum, floored at -80 dB."""


manifest_options = stack_options([
    click.option("--manifest", type=click.Path(dir_okay=False), required=True),
    click.option("--root", type=click.Path(file_okay=False), required=True,
                 help="Folder the manifest's paths are relative to."),
])
noise_seed_option = click.option(
    "--noise-seed", type=int, required=True,
    help="Seed of the white and background noise: every network sees the same clips.")


@main.command("eval")
@manifest_options
@click.option("--validation-out", required=True)
@click.option("--test-out", required=True)
@compute_options
@verbose_option
@handle_errors
def eval_command(manifest, root, validation_out, test_out, threads, device, gpu_required):
    """Clean validation and test features (what training scores after every epoch)."""
    target = setup_compute(threads, device, gpu_required)
    meta = {"dataset": "gsc", "source": str(root)}
    waveforms, labels = load_split(manifest, root, "validation")
    _save(validation_out, clean_features(waveforms, device=target), labels,
          {**meta, "split": "validation"})
    waveforms, labels = load_split(manifest, root, "test")
    _save(test_out, clean_features(waveforms, device=target), labels, {**meta, "split": "test"})
    log(f"GSC eval features: {len(labels)} test clips")


@main.command("noisy")
@manifest_options
@click.option("--noise-level", "level", type=click.FloatRange(0.0, 1.0), required=True,
              help="White-noise level; 0 gives the clean test set.")
@noise_seed_option
@click.option("--out", required=True, help="Test features at this white-noise level.")
@compute_options
@verbose_option
@handle_errors
def noisy_command(manifest, root, level, noise_seed, out, threads, device, gpu_required):
    """One white-noise test set (one job per level): x (1 - a) + a u, u ~ U(-1, 1), on the
    test clips, seeded from the noise seed and the level's value alone."""
    target = setup_compute(threads, device, gpu_required)
    waveforms, labels = load_split(manifest, root, "test")
    features = white_noise_features(waveforms, level, level_stream(level), noise_seed,
                                    device=target)
    _save(out, features, labels, {"dataset": "gsc", "source": str(root), "split": "test",
                                  "noise": "white", "noise_level": level,
                                  "noise_seed": noise_seed})
    log(f"GSC white noise {level:g}: {len(labels)} test clips")


@main.command("background")
@manifest_options
@noise_seed_option
@click.option("--out", required=True,
              help="Background-noise test set (clips mixed with p=0.5 at weight U(0, 0.45)).")
@compute_options
@verbose_option
@handle_errors
def background_command(manifest, root, noise_seed, out, threads, device, gpu_required):
    """The test clips mixed with the archive's background-noise recordings."""
    target = setup_compute(threads, device, gpu_required)
    waveforms, labels = load_split(manifest, root, "test")
    noises = load_background_noises(f"{root}/{BACKGROUND_DIR}")
    mixed = mix_background_noise(waveforms, noises, background_noise_generator(noise_seed))
    _save(out, clean_features(mixed, device=target), labels,
          {"dataset": "gsc", "source": str(root), "split": "test", "noise": "background",
           "noise_seed": noise_seed})
    log(f"GSC background noise: {len(labels)} test clips")


@main.command("train")
@click.option("--manifest", type=click.Path(dir_okay=False), required=True)
@click.option("--root", type=click.Path(file_okay=False), required=True)
@click.option("--silence-fraction", type=click.FloatRange(0.0, 1.0), required=True,
              help="All-zero clips labelled silence, share of the train size.")
@click.option("--augmented-copies", type=click.IntRange(min=0), required=True,
              help="Augmented copies to precompute (epoch e uses copy e mod copies); 0 = clean.")
@click.option("--augment-seed", type=int, required=True)
@click.option("--out", required=True, help="Training tensor set: features (N, copies, 1, 32, "
                                           "32), or (N, 1, 32, 32) without augmentation.")
@compute_options
@verbose_option
@handle_errors
def train_command(manifest, root, silence_fraction, augmented_copies, augment_seed, out,
                  threads, device, gpu_required):
    """Training features: the train split plus silence, clean or as augmented copies."""
    target = setup_compute(threads, device, gpu_required)
    waveforms, labels, n_silence = add_silence(*load_split(manifest, root, "train"),
                                               silence_fraction)
    features = training_features(waveforms, augmented_copies, augment_seed, device=target)
    _save(out, features, labels,
          {"dataset": "gsc", "source": str(root), "split": "train", "silence": n_silence,
           "augmented_copies": augmented_copies, "augment_seed": augment_seed})
    log(f"GSC train features: {len(labels)} clips ({n_silence} silence) x "
        f"{max(augmented_copies, 1)} copies")


if __name__ == "__main__":
    main()
