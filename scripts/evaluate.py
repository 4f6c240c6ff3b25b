"""Score one checkpoint on the test set of one noise level (one Snakemake `evaluate` job)."""

from __future__ import annotations

import math

import click

from sparse_pkg.cli import handle_errors, log, verbose_option
from sparse_pkg.determinism import configure_torch, resolve_device
from sparse_pkg.errors import InputError
from sparse_pkg.evaluation import evaluate_checkpoint_rows
from sparse_pkg.io.atomic import atomic_path
from sparse_pkg.io.tensors import load_tensor_set
from sparse_pkg.training import load_checkpoint


@click.command(context_settings={"show_default": True})
@click.option("--checkpoint", type=click.Path(dir_okay=False), required=True,
              help="Checkpoint written by train.py (paper.pt or final.pt).")
@click.option("--test", "test_path", type=click.Path(dir_okay=False), required=True,
              help="Noisy test tensor set (.pt) of one noise level.")
@click.option("--noise-level", type=float, required=True,
              help="The noise level this file holds; must match the level recorded in it.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), required=True,
              help="Output parquet: one row with correct, total, accuracy, per-class counts.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Evaluation batch size (default: the network's test batch size).")
@click.option("--threads", type=click.IntRange(min=1), default=1, help="torch CPU threads.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              help="Where to evaluate; cuda without a GPU falls back to the CPU with a warning.")
@verbose_option
@handle_errors
def main(checkpoint, test_path, noise_level, out_path, batch_size, threads, device):
    """Score CHECKPOINT on the noisy test set of one level and write its parquet row."""
    configure_torch(threads)
    torch_device = resolve_device(device)
    model, info = load_checkpoint(checkpoint, torch_device)
    test = load_tensor_set(test_path)
    stored = test.meta.get("noise_level")
    if stored is None or not math.isclose(float(stored), noise_level, abs_tol=1e-9):
        raise InputError(
            f"{test_path}: holds noise level {stored}, not {noise_level}; pass the file of "
            "that level (or a level listed in the config's noise levels)"
        )
    geometry = info["definition"].geometry
    if tuple(test.features.shape[1:]) != (geometry.channels, geometry.height, geometry.width):
        raise InputError(
            f"{test_path}: features of shape {tuple(test.features.shape[1:])} do not fit "
            f"{info['definition'].dataset}/{info['definition'].name}; wrong data set?"
        )
    rows = evaluate_checkpoint_rows(model, info, test, noise_level, batch_size)
    with atomic_path(out_path) as tmp:
        rows.to_parquet(tmp, index=False)
    row = rows.iloc[0]
    log(f"{row.dataset}/{row.network} seed {row.seed} {row.protocol} (epoch {row.selected_epoch})"
        f" noise {noise_level:g}: {row.correct}/{row.total} = {row.accuracy:.4f}")


if __name__ == "__main__":
    main()
