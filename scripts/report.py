"""Tables and figures of the paper from the result tables and the configuration."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from sparse_pkg.cli import handle_errors, log, stack_options, verbose_option
from sparse_pkg.datasets.mnist import MNIST_MEAN, MNIST_STD
from sparse_pkg.errors import InputError
from sparse_pkg.io.atomic import atomic_path, write_text
from sparse_pkg.io.tensors import load_tensor_set
from sparse_pkg.network_definitions import load_network_definitions
from sparse_pkg.reporting.claims import check_figure2, claims_markdown, load_claims
from sparse_pkg.reporting.figures import plot_figure2, plot_figure4, plot_noise_curves
from sparse_pkg.reporting.table3 import parameters_table_markdown
from sparse_pkg.reporting.tables import results_table_markdown
from sparse_pkg.theory import figure2_table

REPO = Path(__file__).resolve().parents[1]
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
    images, levels = {}, []
    for path in samples:
        noisy = load_tensor_set(path)
        level = float(noisy.meta["noise_level"])
        pixels = noisy.features[0, 0] * MNIST_STD + MNIST_MEAN  # back to [0, 1] pixel space
        images[level] = pixels.clamp(0.0, 1.0).numpy()
        levels.append(level)
    frame = _metrics(metrics)
    plot_figure4(images, sorted(levels), frame[frame["dataset"] == "mnist"],
                 load_network_definitions(definitions), protocol, png, pdf, label=label)
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
    frame = frame[frame["dataset"] == "gsc"]
    defs = load_network_definitions(definitions)
    networks = [n for n in defs.get("gsc", {}) if n in set(frame["network"])]
    plot_noise_curves(frame, defs, "gsc", networks, protocol, png, pdf,
                      title="Speech Commands: test accuracy vs white noise", label=label)
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
    defs = load_network_definitions(definitions)
    claims = load_claims(claims_path)
    figure2 = None
    if figure2_csv:
        try:
            figure2 = pd.read_csv(figure2_csv)
        except Exception as exc:
            raise InputError(f"{figure2_csv}: unreadable ({type(exc).__name__}); rerun the "
                             "figure2 rule") from None
        check_figure2(figure2, figure2_csv)
    shown = Path(claims_path).resolve()  # named relative to the repository when inside it
    if shown.is_relative_to(REPO):
        shown = shown.relative_to(REPO)
    text = claims_markdown(claims, _metrics(metrics), figure2, definitions=defs,
                           source_lines=source_lines, claims_file=str(shown))
    write_text(out, text)
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
