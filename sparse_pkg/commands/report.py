"""Tables and figures of the paper from the result tables and the configuration."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd

from sparse_pkg.cli import handle_errors, log, stack_options, verbose_option
from sparse_pkg.errors import InputError
from sparse_pkg.io.atomic import atomic_path, write_text
from sparse_pkg.io.inputs import read_input
from sparse_pkg.io.tensors import load_tensor_set
from sparse_pkg.networks_file import load_networks
from sparse_pkg.provenance import environment, headline, provenance_markdown, summary
from sparse_pkg.reporting.claim_verdicts import read_figure2
from sparse_pkg.reporting.claims import load_claims
from sparse_pkg.reporting.claims_report import claim_rows, claims_markdown
from sparse_pkg.reporting.figure_data import defined_networks, sample_digits
from sparse_pkg.reporting.figures import (
    GSC_NOISE_TITLE,
    plot_figure2,
    plot_figure4,
    plot_noise_curves,
)
from sparse_pkg.reporting.html import markdown_to_html
from sparse_pkg.reporting.paper_layout import results_table_title
from sparse_pkg.reporting.sweep_figure import plot_sweep
from sparse_pkg.reporting.sweep_report import sweep_markdown, sweep_names, sweep_points
from sparse_pkg.reporting.table3 import parameters_table_markdown
from sparse_pkg.reporting.tables import results_table_markdown
from sparse_pkg.theory import DENSE_LABEL, exact_curves, figure2_table

EXACT_CURVE_STEP = 5
"""Figure 2's exact curves are evaluated every 5 in n: smooth at print size."""


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
html_option = click.option("--html", "html_out", default=None,
                           help="Also write the table as an HTML page (shown inline by "
                                "`snakemake --report`).")
provenance_option = click.option(
    "--provenance", "provenance_path", type=click.Path(dir_okay=False), default=None,
    help="results/provenance.json: its one-line summary joins the header.")
# A results table's outputs: markdown, its HTML page, and the provenance line in its header.
table_outputs = [click.option("--out", required=True), html_option, provenance_option]


def _provenance_line(path: str | None) -> str | None:
    if path is None:
        return None
    record = read_input(path, lambda p: json.loads(Path(p).read_text()), what="provenance file",
                        fix="rerun its rule (snakemake results/provenance.json)")
    return headline(record)


def _write_table(out: str, html_out: str | None, text: str, title: str) -> None:
    """The markdown table, and its HTML page when asked for."""
    write_text(out, text)
    if html_out:
        write_text(html_out, markdown_to_html(text, title))
    log(f"wrote {out}{f' and {html_out}' if html_out else ''}")


@click.group()
def main():
    """Render results/table{1,2,3}.md, claims.md, fig2, fig4 and gsc_noise (PNG + PDF)."""


@main.command("table")
@metrics_option
@definitions_option
@click.option("--dataset", required=True, help="mnist, gsc or a data set of your own.")
@click.option("--source-line", required=True, help="Header line: data source, seeds, epochs.")
@click.option("--published/--no-published", default=True, show_default=True,
              help="Show the paper's numbers, and ours minus them, beside ours.")
@click.option("--title", default=None, help="The table's title (default: the paper's).")
@stack_options(table_outputs)
@verbose_option
@handle_errors
def table_command(metrics, definitions, dataset, source_line, published, title, out, html_out,
                  provenance_path):
    """Table 1 (MNIST) or 2 (GSC), or a data set of your own's: test accuracy and noise score,
    mean ± std over seeds."""
    title = title or results_table_title(dataset)
    text = results_table_markdown(_metrics(metrics), load_networks(definitions),
                                  dataset, source_line=source_line, show_published=published,
                                  provenance_line=_provenance_line(provenance_path), title=title)
    _write_table(out, html_out, text, title)


@main.command("table3")
@definitions_option
@click.option("--out", required=True)
@html_option
@verbose_option
@handle_errors
def table3_command(definitions, out, html_out):
    """Table 3: network parameters, from the definitions alone."""
    text = parameters_table_markdown(load_networks(definitions), source=definitions) + "\n"
    _write_table(out, html_out, text, "Table 3: network parameters")


@main.command("figure2")
@click.option("--trials", type=click.IntRange(min=1), required=True)
@click.option("--seed", type=int, required=True)
@stack_options(figure_outputs)
@click.option("--csv", "csv_path", required=True, help="The plotted numbers.")
@verbose_option
@handle_errors
def figure2_command(trials, seed, png, pdf, csv_path):
    """Figure 2: match probability of sparse binary vectors, exact and simulated (pure theory:
    no run label)."""
    table = figure2_table(trials=trials, seed=seed)
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    ns = range(int(table["n"].min()), int(table["n"].max()) + 1, EXACT_CURVE_STEP)
    actives = sorted({int(a) for a, label in zip(table["a"], table["label"], strict=True)
                      if label != DENSE_LABEL})
    plot_figure2(table, png, pdf, exact_curves(ns, actives))
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
    _noise_curves(metrics, definitions, "gsc", protocol, png, pdf, GSC_NOISE_TITLE, label)


def _noise_curves(metrics: str, definitions: str, dataset: str, protocol: str, png: str,
                  pdf: str, title: str, label: str, axis_label: str | None = None) -> None:
    """Accuracy vs noise level for the networks of ``dataset`` that have runs."""
    frame = _metrics(metrics)
    defs = load_networks(definitions)
    plot_noise_curves(frame, defs, dataset, defined_networks(defs, dataset, frame), protocol,
                      png, pdf, title=title, label=label, axis_label=axis_label)
    log(f"wrote {png}, {pdf}")


@main.command("noise-curves")
@metrics_option
@definitions_option
@click.option("--dataset", required=True, help="The data set whose networks are drawn.")
@protocol_option
@click.option("--title", required=True, help="The figure's title.")
@click.option("--axis-label", required=True, help="What the noise level means (x-axis).")
@stack_options(figure_outputs)
@label_option
@verbose_option
@handle_errors
def noise_curves_command(metrics, definitions, dataset, protocol, title, axis_label, png, pdf,
                         label):
    """Accuracy vs noise level for the networks of one data set (a data set of your own)."""
    _noise_curves(metrics, definitions, dataset, protocol, png, pdf, title, label, axis_label)


def _sweep_points(metrics: pd.DataFrame, definitions, sweep: str
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs of ``sweep``, and those of the paper's networks of its data set (reference)."""
    points = sweep_points(metrics, definitions, sweep)
    dataset = next((d.dataset for d in definitions if d.sweep == sweep), None)
    paper = sweep_points(metrics, definitions, None)
    return points, paper[paper["dataset"] == dataset]


@main.command("sweep")
@metrics_option
@definitions_option
@click.option("--sweep", "sweep", required=True, help="The sweep's name (config key sweeps).")
@protocol_option
@click.option("--source-line", required=True, help="Header line: data source, seeds, epochs.")
@stack_options([*table_outputs, *figure_outputs])
@click.option("--csv", "csv_path", required=True, help="Every run of the sweep: coordinates "
                                                       "and scores.")
@verbose_option
@handle_errors
def sweep_command(metrics, definitions, sweep, protocol, source_line, out, html_out,
                  provenance_path, png, pdf, csv_path):
    """results/sweeps/NAME: the sweep's table (.md, .html), figure (.png, .pdf), runs (.csv)."""
    defs = load_networks(definitions)
    if sweep not in sweep_names(defs):
        raise InputError(f"{definitions}: no network of sweep '{sweep}'; check config key "
                         "sweeps")
    points, paper = _sweep_points(_metrics(metrics), defs, sweep)
    with atomic_path(csv_path) as tmp:
        points.to_csv(tmp, index=False)
    text = sweep_markdown(points, paper, sweep, source_line=source_line,
                          provenance_line=_provenance_line(provenance_path))
    _write_table(out, html_out, text, f"Sweep {sweep}")
    plot_sweep(points, paper, sweep, protocol, png, pdf, label=source_line)
    log(f"wrote {png}, {pdf}, {csv_path}")


@main.command("claims")
@metrics_option
@definitions_option
@click.option("--claims", "claims_path", type=click.Path(dir_okay=False), required=True,
              help="config/claims.yaml: the claims to test.")
@click.option("--figure2", "figure2_csv", type=click.Path(dir_okay=False),
              help="results/fig2.csv, for the Figure 2 claims (without it they are 'not run').")
@click.option("--source-line", "source_lines", multiple=True,
              help="Header line: data source, seeds, epochs (repeat, one per data set).")
@stack_options(table_outputs)
@click.option("--csv", "csv_path", default=None, help="Also write every verdict as a CSV row "
                                                      "(results/claims.csv).")
@verbose_option
@handle_errors
def claims_command(metrics, definitions, claims_path, figure2_csv, source_lines, out, html_out,
                   provenance_path, csv_path):
    """results/claims.md: each claim of the paper: effect, bound, raw and Holm p, verdict."""
    defs = load_networks(definitions)
    claims = load_claims(claims_path)
    figure2 = read_figure2(figure2_csv) if figure2_csv else None
    shown = Path(claims_path).resolve()  # named relative to the working folder when inside it
    if shown.is_relative_to(Path.cwd()):
        shown = shown.relative_to(Path.cwd())
    provenance = _provenance_line(provenance_path)
    frame = _metrics(metrics)
    sweeps = {name: sweep_points(frame, defs, name) for name in sweep_names(defs)}
    rows = claim_rows(claims, frame, figure2, definitions=defs,
                      sweeps={k: v for k, v in sweeps.items() if len(v)})
    text = claims_markdown(claims, frame, figure2, definitions=defs,
                           source_lines=[*source_lines, *([provenance] if provenance else [])],
                           claims_file=str(shown), rows=rows)
    if csv_path:
        with atomic_path(csv_path) as tmp:
            rows.to_csv(tmp, index=False)
    _write_table(out, html_out, text, "Does it reproduce? The paper's claims tested")


@main.command("provenance")
@click.option("--history", type=click.Path(dir_okay=False), required=True,
              help="results/history.parquet (its environment column: where each epoch ran).")
@metrics_option
@click.option("--version", "version", required=True, help="The workflow's version.")
@click.option("--commit", required=True, help="The workflow's git commit.")
@click.option("--config-sha256", required=True, help="Hash of the merged configuration.")
@click.option("--lock-sha256", required=True, help="Hash of requirements/runtime.txt.")
@click.option("--data", "data_sources", multiple=True,
              help="NAME=what the data set is (official, your own copy, synthetic); repeat.")
@click.option("--out", required=True, help="results/provenance.json")
@html_option
@verbose_option
@handle_errors
def provenance_command(history, metrics, version, commit, config_sha256, lock_sha256,
                       data_sources, out, html_out):
    """results/provenance.json: what made the results (code, config, data, software, hardware)."""
    workflow = {"version": version, "commit": commit, "config_sha256": config_sha256,
                "lock_sha256": lock_sha256}
    for item in data_sources:
        name, _, text = item.partition("=")
        workflow[f"data_{name}"] = text
    history_table = read_input(history, pd.read_parquet, what="results table",
                               fix="rerun aggregate")
    record = summary(workflow=workflow, history=history_table, metrics=_metrics(metrics),
                     reporting=environment("cpu"))
    write_text(out, json.dumps(record, indent=2, sort_keys=True) + "\n")
    if html_out:
        write_text(html_out, markdown_to_html(provenance_markdown(record), "Provenance"))
    log(f"wrote {out}: {headline(record)}")


if __name__ == "__main__":
    main()
