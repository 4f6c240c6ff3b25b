"""MNIST -> normalized train and test tensor sets (noisy test sets: commands.mnist_noise)."""

from __future__ import annotations

import click

from sparse_pkg.cli import handle_errors, log, tensor_set_output, verbose_option
from sparse_pkg.datasets.mnist import mnist_sets
from sparse_pkg.errors import InputError
from sparse_pkg.io.sidecar import write_sidecar
from sparse_pkg.io.tensors import save_tensor_set


@click.command(context_settings={"show_default": True})
@click.option("--source", type=click.Choice(["embedded", "directory"]), required=True,
              help="embedded: train on the 5,000 real MNIST training digits shipped in the "
                   "package, test on the official 10,000-digit test set shipped with them; "
                   "directory: the four official IDX files in --idx-dir.")
@click.option("--idx-dir", type=click.Path(file_okay=False), default=None,
              help="Folder with the four MNIST IDX files (with --source directory).")
@tensor_set_output("--train-out", "Training set")
@tensor_set_output("--test-out", "Clean test set")
@verbose_option
@handle_errors
def main(source, idx_dir, train_out, test_out):
    """Write MNIST tensor sets: normalized (mean 0.1307, std 0.3081) features (N, 1, 28, 28).

    Each file gets a checksum sidecar (FILE.sha256) that the workflow checks before use.
    """
    if source == "directory" and not idx_dir:
        raise InputError(
            "--idx-dir is required with --source directory (config key mnist.directory)"
        )
    train, test = mnist_sets(source, idx_dir)
    for path, tensor_set in ((train_out, train), (test_out, test)):
        save_tensor_set(path, tensor_set)
        write_sidecar(path)
    log(f"MNIST from {train.meta['source']}: {len(train)} train, {len(test)} test")


if __name__ == "__main__":
    main()
