"""Gather every run's evaluation rows, histories and timings into the result tables."""

from __future__ import annotations

from pathlib import Path

import click

from sparse_pkg.aggregation import HISTORY_KEYS, METRICS_KEYS, concat_parquet, write_table
from sparse_pkg.cli import handle_errors, log, verbose_option


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--metrics-out", required=True,
              help="metrics.parquet: one row per dataset, network, seed, protocol, noise level.")
@click.option("--history-out", required=True, help="history.parquet: every epoch of every run.")
@click.option("--timing-out", required=True, help="timing.parquet: wall-clock per epoch.")
@click.option("--background-out", required=True,
              help="background_noise.parquet: scores on the background-noise test set.")
@verbose_option
@handle_errors
def main(files, metrics_out, history_out, timing_out, background_out):
    """Sort FILES (eval/level_*.parquet, eval/background.parquet, history.parquet) into the
    tables; each run's timing.parquet is read from beside its history."""
    paths = [Path(f) for f in files]
    levels = [p for p in paths if p.parent.name == "eval" and p.name.startswith("level_")]
    background = [p for p in paths if p.parent.name == "eval" and p.name == "background.parquet"]
    histories = [p for p in paths if p.name == "history.parquet"]
    metrics = concat_parquet(levels, METRICS_KEYS)
    write_table(metrics, metrics_out)
    write_table(concat_parquet(background, METRICS_KEYS), background_out)
    write_table(concat_parquet(histories, HISTORY_KEYS), history_out)
    write_table(concat_parquet([p.with_name("timing.parquet") for p in histories], HISTORY_KEYS),
                timing_out)
    log(f"aggregated {len(levels)} evaluation files ({len(metrics)} rows) and "
        f"{len(histories)} histories")


if __name__ == "__main__":
    main()
