"""MNIST -> normalized train and test tensor sets (the noisy test sets: scripts/mnist_noise.py)."""

from __future__ import annotations

import click

from sparse_pkg.cli import handle_errors, log, verbose_option
from sparse_pkg.datasets.mnist import (
    load_embedded_mnist,
    load_mnist_idx,
    load_packaged_mnist_test,
    to_tensor_set,
)
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
@click.option("--train-out", type=click.Path(dir_okay=False), required=True,
              help="Training set; its SHA-256 goes to TRAIN_OUT.sha256.")
@click.option("--test-out", type=click.Path(dir_okay=False), required=True,
              help="Clean test set; its SHA-256 goes to TEST_OUT.sha256.")
@verbose_option
@handle_errors
def main(source, idx_dir, train_out, test_out):
    """Write MNIST tensor sets: normalized (mean 0.1307, std 0.3081) features (N, 1, 28, 28).

    Each file gets a checksum sidecar (FILE.sha256) that the workflow checks before use.
    """
    if source == "embedded":
        train_x, train_y = load_embedded_mnist()
        test_x, test_y = load_packaged_mnist_test()
        origin = (f"embedded real MNIST: {len(train_y)} training digits, official "
                  f"{len(test_y)}-digit test set")
    else:
        if not idx_dir:
            raise InputError(
                "--idx-dir is required with --source directory (config key mnist.directory)"
            )
        train_x, train_y, test_x, test_y = load_mnist_idx(idx_dir)
        origin = f"MNIST IDX files in {idx_dir}"
    meta = {"source": origin, "dataset": "mnist"}
    save_tensor_set(train_out, to_tensor_set(train_x, train_y, {**meta, "split": "train"}))
    write_sidecar(train_out)
    save_tensor_set(test_out, to_tensor_set(test_x, test_y, {**meta, "split": "test"}))
    write_sidecar(test_out)
    log(f"MNIST from {origin}: {len(train_y)} train, {len(test_y)} test")


if __name__ == "__main__":
    main()
