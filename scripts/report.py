"""Tables and figures of the paper from the result tables and the configuration."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from sparse_pkg.cli import handle_errors, log, stack_options, verbose_option
from sparse_pkg.io.atomic import atomic_path, write_text
from sparse_pkg.io.inputs import read_input
from sparse_pkg.io.tensors import load_tensor_set
from sparse_pkg.networks_file import load_networks
from sparse_pkg.reporting.claim_verdicts import read_figure2
from sparse_pkg.reporting.claims import load_claims
from sparse_pkg.reporting.claims_report import claims_markdown
from sparse_pkg.reporting.figure_data import defined_networks, sample_digits
from sparse_pkg.reporting.figures import (
    GSC_NOISE_TITLE,
    plot_figure2,
    plot_figure4,
    plot_noise_curves,
)
from sparse_pkg.reporting.table3 import parameters_table_markdown
from sparse_pkg.reporting.tables import results_table_markdown
from sparse_pkg.theory import figure2_table

REPO = Path(__file__).resolve().parents[1]


def _metrics(path: str) -> pd.DataFrame:
    return read_input(path, pd.read_parquet, what="results table", fix="rerun aggregate")


definitions_option = click.option("--definitions", type=click.Path(dir_okay=False),
                                  required=True, help="config/networks.yaml")
metrics_option = click.option("--metrics", type=click.Path(dir_okay=False), required=True,
                              help="results/metrics.parquet")
protocol_option = click.option("--protocol", type=click.Choice(["paper", "final"]),
                               required=True,
                               help="Which model-selection protocol the figure shows.")
figure_outputs = [click.option("--png", required=True), click.option("--pdf", required=True)]
label_option = click.option("--label", required=True,
                            help="Run label drawn as the figure's footer (as the tables' header).")


@click.group()
def main():
    """Render results/table{1,2,3}.md, claims.md, fig2, fig4 and gsc_noise (PNG + PDF)."""


@main.command("table")
@metrics_option
@definitions_option
@click.option("--dataset", type=click.Choice(["mnist", "gsc"]), required=True)
@click.option("--source-line", required=True, help="Header line: data source, seeds, epochs.")
@click.option("--published/--no-published", default=True, show_default=True,
              help="Show the paper's numbers, and ours minus them, beside ours.")
@click.option("--out", required=True)
@verbose_option
@handle_errors
def table_command(metrics, definitions, dataset, source_line, published, out):
    """Table 1 (MNIST) or 2 (GSC): test accuracy and noise score, mean ± std over seeds."""
    text = results_table_markdown(_metrics(metrics), load_networks(definitions),
                                  dataset, source_line=source_line, show_published=published)
    write_text(out, text)
    log(f"wrote {out}")


@main.command("table3")
@definitions_option
@click.option("--out", required=True)
@verbose_option
@handle_errors
def table3_command(definitions, out):
    """Table 3: network parameters, from the definitions alone."""
    write_text(out, parameters_table_markdown(load_networks(definitions),
                                              source=definitions) + "\n")
    log(f"wrote {out}")


@main.command("figure2")
@click.option("--trials", type=click.IntRange(min=1), required=True)
@click.option("--seed", type=int, required=True)
@stack_options(figure_outputs)
@click.option("--csv", "csv_path", required=True, help="The plotted numbers.")
@label_option
@verbose_option
@handle_errors
def figure2_command(trials, seed, png, pdf, csv_path, label):
    """Figure 2: match probability of sparse binary vectors, exact and simulated."""
    table = figure2_table(trials=trials, seed=seed)
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    plot_figure2(table, png, pdf, label=label)
    log(f"wrote {png}, {pdf}, {csv_path}")


@main.command("figure4")
@metrics_option
@definitions_option
@click.option("--sample", "samples", multiple=True, required=True,
              help="Noisy MNIST test set of one level (repeat); its first digit is shown.")
@protocol_option
@stack_options(figure_outputs)
@label_option
@verbose_option
@handle_errors
def figure4_command(metrics, definitions, samples, protocol, png, pdf, label):
    """Figure 4: (A) a test digit at increasing noise, (B) accuracy vs noise (MNIST)."""
    images = sample_digits(load_tensor_set(path) for path in samples)
    plot_figure4(images, sorted(images), _metrics(metrics), load_networks(definitions),
                 protocol, png, pdf, label=label)
    log(f"wrote {png}, {pdf}")


@main.command("gsc-noise")
@metrics_option
@definitions_option
@protocol_option
@stack_options(figure_outputs)
@label_option
@verbose_option
@handle_errors
def gsc_noise_command(metrics, definitions, protocol, png, pdf, label):
    """Accuracy vs white-noise level for the GSC networks."""
    frame = _metrics(metrics)
    defs = load_networks(definitions)
    plot_noise_curves(frame, defs, "gsc", defined_networks(defs, "gsc", frame), protocol, png,
                      pdf, title=GSC_NOISE_TITLE, label=label)
    log(f"wrote {png}, {pdf}")


@main.command("claims")
@metrics_option
@definitions_option
@click.option("--claims", "claims_path", type=click.Path(dir_okay=False), required=True,
              help="config/claims.yaml: the claims to test.")
@click.option("--figure2", "figure2_csv", type=click.Path(dir_okay=False),
              help="results/fig2.csv, for the Figure 2 claims (without it they are 'not run').")
@click.option("--source-line", "source_lines", multiple=True,
              help="Header line: data source, seeds, epochs (repeat, one per data set).")
@click.option("--out", required=True)
@verbose_option
@handle_errors
def claims_command(metrics, definitions, claims_path, figure2_csv, source_lines, out):
    """results/claims.md: each claim of the paper with effect, 95 % CI, p-value and verdict."""
    defs = load_networks(definitions)
    claims = load_claims(claims_path)
    figure2 = read_figure2(figure2_csv) if figure2_csv else None
    shown = Path(claims_path).resolve()  # named relative to the repository when inside it
    if shown.is_relative_to(REPO):
        shown = shown.relative_to(REPO)
    text = claims_markdown(claims, _metrics(metrics), figure2, definitions=defs,
                           source_lines=source_lines, claims_file=str(shown))
    write_text(out, text)
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
