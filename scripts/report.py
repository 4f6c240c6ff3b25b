"""Tables and figures of the paper from the result tables and the configuration."""

from __future__ import annotations

import click
import pandas as pd

from sparse_pkg.cli import handle_errors, log, stack_options, verbose_option
from sparse_pkg.datasets.mnist import MNIST_MEAN, MNIST_STD
from sparse_pkg.errors import InputError
from sparse_pkg.io.atomic import atomic_path, write_text
from sparse_pkg.io.tensors import load_tensor_set
from sparse_pkg.network_definitions import load_network_definitions
from sparse_pkg.reporting.figures import plot_figure2, plot_figure4, plot_noise_curves
from sparse_pkg.reporting.table3 import parameters_table_markdown
from sparse_pkg.reporting.tables import results_table_markdown
from sparse_pkg.theory import figure2_table

TITLES = {"mnist": "Table 1. MNIST: test accuracy and noise score",
          "gsc": "Table 2. Google Speech Commands: test accuracy and noise score"}


def _metrics(path: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:
        raise InputError(f"{path}: unreadable ({type(exc).__name__}); rerun aggregate") from None


definitions_option = click.option("--definitions", type=click.Path(dir_okay=False),
                                  required=True, help="config/networks.yaml")
metrics_option = click.option("--metrics", type=click.Path(dir_okay=False), required=True,
                              help="results/metrics.parquet")
protocol_option = click.option("--protocol", type=click.Choice(["paper", "final"]),
                               default="paper", show_default=True,
                               help="Which model-selection protocol the figure shows.")
figure_outputs = [click.option("--png", required=True), click.option("--pdf", required=True)]


@click.group()
def main():
    """Render results/table{1,2,3}.md, fig2, fig4 and gsc_noise (PNG + PDF)."""


@main.command("table")
@metrics_option
@definitions_option
@click.option("--dataset", type=click.Choice(["mnist", "gsc"]), required=True)
@click.option("--source-line", required=True, help="Header line: data source, seeds, epochs.")
@click.option("--published", is_flag=True, help="Show the paper's numbers beside ours.")
@click.option("--out", required=True)
@verbose_option
@handle_errors
def table_command(metrics, definitions, dataset, source_line, published, out):
    """Table 1 (MNIST) or 2 (GSC): test accuracy and noise score, mean ± std over seeds."""
    frame = _metrics(metrics)
    text = results_table_markdown(
        frame[frame["dataset"] == dataset], load_network_definitions(definitions), dataset,
        title=TITLES[dataset], source_line=source_line, show_published=published,
    )
    write_text(out, text)
    log(f"wrote {out}")


@main.command("table3")
@definitions_option
@click.option("--out", required=True)
@verbose_option
@handle_errors
def table3_command(definitions, out):
    """Table 3: network parameters, from the definitions alone."""
    write_text(out, parameters_table_markdown(load_network_definitions(definitions),
                                              source=definitions) + "\n")
    log(f"wrote {out}")


@main.command("figure2")
@click.option("--trials", type=click.IntRange(min=1), default=200_000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@stack_options(figure_outputs)
@click.option("--csv", "csv_path", required=True, help="The plotted numbers.")
@verbose_option
@handle_errors
def figure2_command(trials, seed, png, pdf, csv_path):
    """Figure 2: match probability of sparse binary vectors, exact and simulated."""
    table = figure2_table(trials=trials, seed=seed)
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    plot_figure2(table, png, pdf)
    log(f"wrote {png}, {pdf}, {csv_path}")


@main.command("figure4")
@metrics_option
@definitions_option
@click.option("--sample", "samples", multiple=True, required=True,
              help="Noisy MNIST test set of one level (repeat); its first digit is shown.")
@protocol_option
@stack_options(figure_outputs)
@verbose_option
@handle_errors
def figure4_command(metrics, definitions, samples, protocol, png, pdf):
    """Figure 4: (A) a test digit at increasing noise, (B) accuracy vs noise (MNIST)."""
    images, levels = {}, []
    for path in samples:
        noisy = load_tensor_set(path)
        level = float(noisy.meta["noise_level"])
        pixels = noisy.features[0, 0] * MNIST_STD + MNIST_MEAN  # back to [0, 1] pixel space
        images[level] = pixels.clamp(0.0, 1.0).numpy()
        levels.append(level)
    frame = _metrics(metrics)
    plot_figure4(images, sorted(levels), frame[frame["dataset"] == "mnist"],
                 load_network_definitions(definitions), protocol, png, pdf)
    log(f"wrote {png}, {pdf}")


@main.command("gsc-noise")
@metrics_option
@definitions_option
@protocol_option
@stack_options(figure_outputs)
@verbose_option
@handle_errors
def gsc_noise_command(metrics, definitions, protocol, png, pdf):
    """Accuracy vs white-noise level for the GSC networks."""
    frame = _metrics(metrics)
    frame = frame[frame["dataset"] == "gsc"]
    defs = load_network_definitions(definitions)
    networks = [n for n in defs.get("gsc", {}) if n in set(frame["network"])]
    plot_noise_curves(frame, defs, "gsc", networks, protocol, png, pdf,
                      title=f"Speech Commands: accuracy vs white noise ({protocol} protocol)")
    log(f"wrote {png}, {pdf}")


if __name__ == "__main__":
    main()
