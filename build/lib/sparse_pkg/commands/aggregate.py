"""Stack result files of each kind into one table: a run's files into its own tables
(rule aggregate_run), then every run's tables into the results (rule aggregate)."""

from __future__ import annotations

import click

from sparse_pkg.aggregation import HISTORY_KEYS, METRICS_KEYS, concat_parquet
from sparse_pkg.cli import handle_errors, log, verbose_option
from sparse_pkg.io.atomic import write_parquet

PARQUET = click.Path(dir_okay=False)


@click.command()
@click.option("--eval", "evals", type=PARQUET, multiple=True, required=True,
              help="Metrics rows: a run's eval/level_*.parquet, or a run's stacked metrics "
                   "table; repeat for each.")
@click.option("--history", "histories", type=PARQUET, multiple=True, required=True,
              help="A run's history.parquet (or its stacked copy); repeat for each run.")
@click.option("--timing", "timings", type=PARQUET, multiple=True, required=True,
              help="A run's timing.parquet (or its stacked copy); repeat for each run.")
@click.option("--background", "backgrounds", type=PARQUET, multiple=True,
              help="A run's eval/background.parquet (or its stacked copy); repeat for each "
                   "(none: empty table).")
@click.option("--metrics-out", required=True,
              help="metrics.parquet: one row per dataset, network, seed, protocol, noise level.")
@click.option("--history-out", required=True, help="history.parquet: every epoch of every run.")
@click.option("--timing-out", required=True, help="timing.parquet: wall-clock per epoch.")
@click.option("--background-out", required=True,
              help="background_noise.parquet: scores on the background-noise test set.")
@verbose_option
@handle_errors
def main(evals, histories, timings, backgrounds, metrics_out, history_out, timing_out,
         background_out):
    """Stack the files of each kind into its table, rows sorted by their keys (a key twice is
    an error): one run's files into its tables, or every run's tables into the results."""
    metrics = concat_parquet(evals, METRICS_KEYS)
    write_parquet(metrics, metrics_out)
    write_parquet(concat_parquet(backgrounds, METRICS_KEYS), background_out)
    write_parquet(concat_parquet(histories, HISTORY_KEYS), history_out)
    write_parquet(concat_parquet(timings, HISTORY_KEYS), timing_out)
    log(f"stacked {len(evals)} metrics files ({len(metrics)} rows), {len(histories)} histories, "
        f"{len(timings)} timings and {len(backgrounds)} background-noise files")


if __name__ == "__main__":
    main()
