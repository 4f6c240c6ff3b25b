"""Score a run's checkpoints on one noisy test set (one Snakemake `evaluate` job)."""

from __future__ import annotations

import click

from sparse_pkg.cli import compute_options, handle_errors, log, setup_compute, verbose_option
from sparse_pkg.errors import InputError
from sparse_pkg.evaluation import check_input_shape, labelled_noise_level, score_checkpoints
from sparse_pkg.io.atomic import write_parquet
from sparse_pkg.io.tensors import load_tensor_set
from sparse_pkg.provenance import environment, environment_json
from sparse_pkg.training import load_checkpoint


@click.command(context_settings={"show_default": True})
@click.option("--checkpoint", "checkpoints", type=click.Path(dir_okay=False), multiple=True,
              required=True, help="Checkpoint written by train.py (paper.pt, final.pt); repeat "
                                  "to score several protocols on the same test sets.")
@click.option("--test", "test_paths", type=click.Path(dir_okay=False), multiple=True,
              required=True, help="Noisy test tensor set (.pt) of one noise level, or the "
                                  "background-noise set; repeat for several levels.")
@click.option("--noise-level", "levels", type=float, multiple=True,
              help="The noise level of each --test file, in order (checked against the file); "
                   "omit for the background-noise test set.")
@click.option("--out", "out_paths", type=click.Path(dir_okay=False), multiple=True,
              required=True, help="Output parquet of each --test file, in order: one row per "
                                  "checkpoint with correct, total, accuracy, per-class counts.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Evaluation batch size (default: the network's test batch size).")
@compute_options
@verbose_option
@handle_errors
def main(checkpoints, test_paths, levels, out_paths, batch_size, threads, device, gpu_required):
    """Score each CHECKPOINT on each noisy test set; write one parquet per test set.

    One process can score all levels of a run (torch is imported and the checkpoints loaded
    once), or a single level, as the workflow's evaluation granularity asks. Checkpoints with
    identical weights (paper epoch = last epoch) are run through the network once.
    """
    if len(out_paths) != len(test_paths) or levels and len(levels) != len(test_paths):
        raise InputError("give one --out (and one --noise-level, except for the background "
                         "set) per --test file")
    torch_device = setup_compute(threads, device, gpu_required)
    models = [load_checkpoint(checkpoint, torch_device) for checkpoint in checkpoints]
    made_by = environment_json(environment(torch_device, "evaluate"))
    for index, (test_path, out_path) in enumerate(zip(test_paths, out_paths, strict=True)):
        test = load_tensor_set(test_path)
        level = labelled_noise_level(test, test_path, levels[index] if levels else None)
        check_input_shape(models, test, test_path)
        frames = score_checkpoints(models, test, level, batch_size)
        for rows in frames:
            row = rows.iloc[0]
            log(f"{row.dataset}/{row.network} seed {row.seed} {row.protocol} "
                f"(epoch {row.selected_epoch}) noise {level:g}: {row.correct}/{row.total} "
                f"= {row.accuracy:.4f}")
        import pandas as pd  # imported once rows exist: a job's start-up skips it

        rows = pd.concat(frames, ignore_index=True)
        rows["environment"] = made_by  # where these scores were computed (provenance.json)
        write_parquet(rows, out_path)


if __name__ == "__main__":
    main()
