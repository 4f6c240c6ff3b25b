"""One MNIST pixel-noise test set from the clean test set (one `mnist_noise` job per level)."""

from __future__ import annotations

import click

from sparse_pkg.cli import handle_errors, log, tensor_set_output, verbose_option
from sparse_pkg.datasets.mnist import features_to_uint8
from sparse_pkg.io.sidecar import write_sidecar
from sparse_pkg.io.tensors import load_tensor_set, save_tensor_set
from sparse_pkg.noise import level_stream
from sparse_pkg.noise.pixel import pixel_noise_test_set


@click.command(context_settings={"show_default": True})
@click.option("--test", "test_path", type=click.Path(dir_okay=False), required=True,
              help="Clean test set written by prepare_mnist.py.")
@click.option("--noise-level", "level", type=click.FloatRange(0.0, 1.0), required=True,
              help="Share of pixels noised per image; 0 gives the clean test set.")
@click.option("--noise-seed", type=int, required=True,
              help="Base seed of the pixel noise: every network sees the same noisy images.")
@tensor_set_output("--out", "Noisy test set")
@verbose_option
@handle_errors
def main(test_path, level, noise_seed, out):
    """Pixel noise (docs/protocol.md §3.4): int(784 * level) distinct pixels per image set to
    0.1307 + 2 * 0.3081 in [0, 1] pixel space, before normalization.

    The noise of a level is seeded from the base seed and the level's value alone, so each
    level is its own job and adding a level leaves the others' files unchanged.
    """
    test = load_tensor_set(test_path)
    images = features_to_uint8(test.features, test_path)
    noisy = pixel_noise_test_set(images, test.labels, level, level_stream(level), noise_seed,
                                 test.meta)
    save_tensor_set(out, noisy)
    write_sidecar(out)
    log(f"MNIST pixel noise {level:g}: {noisy.meta['noise_pixels']} pixels in each of "
        f"{len(noisy)} test images")


if __name__ == "__main__":
    main()
