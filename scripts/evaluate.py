"""Score a run's checkpoints on one noisy test set (one Snakemake `evaluate` job)."""

from __future__ import annotations

import math

import click
import pandas as pd

from sparse_pkg.cli import handle_errors, log, verbose_option
from sparse_pkg.determinism import configure_torch, resolve_device
from sparse_pkg.errors import InputError
from sparse_pkg.evaluation import evaluate_checkpoint_rows
from sparse_pkg.io.atomic import atomic_path
from sparse_pkg.io.tensors import load_tensor_set
from sparse_pkg.training import load_checkpoint


def _check_test_set(test, test_path: str, noise_level: float | None) -> float:
    """The level the rows are labelled with: the requested one, which the file must hold."""
    kind = test.meta.get("noise")
    if noise_level is None:
        if kind != "background":
            raise InputError(f"{test_path}: not a background-noise test set; pass --noise-level")
        return math.nan
    stored = test.meta.get("noise_level")
    if stored is None or not math.isclose(float(stored), noise_level, abs_tol=1e-9):
        raise InputError(
            f"{test_path}: holds noise level {stored}, not {noise_level}; pass the file of "
            "that level (or a level listed in the config's noise_levels)"
        )
    return noise_level


@click.command(context_settings={"show_default": True})
@click.option("--checkpoint", "checkpoints", type=click.Path(dir_okay=False), multiple=True,
              required=True, help="Checkpoint written by train.py (paper.pt, final.pt); repeat "
                                  "to score several protocols on the same test set.")
@click.option("--test", "test_path", type=click.Path(dir_okay=False), required=True,
              help="Noisy test tensor set (.pt) of one noise level, or the background-noise set.")
@click.option("--noise-level", type=float, default=None,
              help="The noise level the file holds (checked against the file); omit for the "
                   "background-noise test set.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), required=True,
              help="Output parquet: one row per checkpoint with correct, total, accuracy and "
                   "per-class counts.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Evaluation batch size (default: the network's test batch size).")
@click.option("--threads", type=click.IntRange(min=1), default=1, help="torch CPU threads.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              help="Where to evaluate; cuda without a GPU falls back to the CPU with a warning "
                   "unless --gpu-required.")
@click.option("--gpu-required", is_flag=True, help="Refuse to run when --device cuda has no GPU.")
@verbose_option
@handle_errors
def main(checkpoints, test_path, noise_level, out_path, batch_size, threads, device,
         gpu_required):
    """Score each CHECKPOINT on the test set of one noise level; write their parquet rows."""
    configure_torch(threads)
    torch_device = resolve_device(device, "error" if gpu_required else "fallback")
    test = load_tensor_set(test_path)
    level = _check_test_set(test, test_path, noise_level)
    frames = []
    for checkpoint in checkpoints:
        model, info = load_checkpoint(checkpoint, torch_device)
        geometry = info["definition"].geometry
        if tuple(test.features.shape[1:]) != (geometry.channels, geometry.height, geometry.width):
            raise InputError(
                f"{test_path}: features of shape {tuple(test.features.shape[1:])} do not fit "
                f"{info['definition'].dataset}/{info['definition'].name}; wrong data set?"
            )
        rows = evaluate_checkpoint_rows(model, info, test, level, batch_size)
        frames.append(rows)
        row = rows.iloc[0]
        log(f"{row.dataset}/{row.network} seed {row.seed} {row.protocol} "
            f"(epoch {row.selected_epoch}) noise {level:g}: {row.correct}/{row.total} "
            f"= {row.accuracy:.4f}")
    with atomic_path(out_path) as tmp:
        pd.concat(frames, ignore_index=True).to_parquet(tmp, index=False)


if __name__ == "__main__":
    main()
