"""MNIST -> normalized train/test tensor sets and one pixel-noise test set per noise level."""

from __future__ import annotations

import click

from sparse_pkg.cli import handle_errors, log, verbose_option
from sparse_pkg.datasets.mnist import (
    load_embedded_mnist,
    load_mnist_idx,
    split_embedded,
    to_tensor_set,
)
from sparse_pkg.errors import InputError
from sparse_pkg.io.tensors import save_tensor_set
from sparse_pkg.noise import level_stream
from sparse_pkg.noise.pixel import pixel_noise_test_set


@click.command(context_settings={"show_default": True})
@click.option("--source", type=click.Choice(["embedded", "directory"]), required=True,
              help="embedded: the real MNIST subset shipped in the package, split into train "
                   "and test; directory: the four official IDX files in --idx-dir.")
@click.option("--idx-dir", type=click.Path(file_okay=False), default=None,
              help="Folder with the four MNIST IDX files (with --source directory).")
@click.option("--test-fraction", type=float, default=0.2,
              help="Share of the embedded subset held out as the test set.")
@click.option("--split-seed", type=int, default=0, help="Seed of the embedded split.")
@click.option("--noise-level", "levels", type=float, multiple=True, required=True,
              help="A pixel-noise level (repeat the option); 0 gives the clean test set.")
@click.option("--noise-seed", type=int, required=True,
              help="Base seed of the pixel noise: every network sees the same noisy images.")
@click.option("--train-out", type=click.Path(dir_okay=False), required=True)
@click.option("--test-out", type=click.Path(dir_okay=False), required=True)
@click.option("--noisy-out", type=click.Path(dir_okay=False), multiple=True, required=True,
              help="Output file of each --noise-level, in the same order.")
@verbose_option
@handle_errors
def main(source, idx_dir, test_fraction, split_seed, levels, noise_seed, train_out, test_out,
         noisy_out):
    """Write MNIST tensor sets: normalized (mean 0.1307, std 0.3081) features (N, 1, 28, 28).

    Pixel noise (PAPER.md 3): int(784 * level) distinct pixels per image set to
    0.1307 + 2 * 0.3081 in [0, 1] pixel space, before normalization.
    """
    if len(levels) != len(noisy_out):
        raise InputError("--noisy-out must be given once per --noise-level")
    if source == "embedded":
        images, labels = load_embedded_mnist()
        train_x, train_y, test_x, test_y = split_embedded(images, labels, test_fraction, split_seed)
        origin = f"embedded MNIST subset ({len(images)} real digits)"
    else:
        if not idx_dir:
            raise InputError(
                "--idx-dir is required with --source directory (config key mnist.directory)"
            )
        train_x, train_y, test_x, test_y = load_mnist_idx(idx_dir)
        origin = f"MNIST IDX files in {idx_dir}"
    meta = {"source": origin, "dataset": "mnist"}
    save_tensor_set(train_out, to_tensor_set(train_x, train_y, {**meta, "split": "train"}))
    save_tensor_set(test_out, to_tensor_set(test_x, test_y, {**meta, "split": "test"}))
    for level, path in zip(levels, noisy_out, strict=True):
        noisy = pixel_noise_test_set(test_x, test_y, level, level_stream(level), noise_seed,
                                     {**meta, "split": "test"})
        save_tensor_set(path, noisy)
    log(f"MNIST from {origin}: {len(train_y)} train, {len(test_y)} test, "
        f"{len(levels)} noise levels")


if __name__ == "__main__":
    main()
