"""Two results folders side by side (sparse_pkg/reporting/comparison.py), as markdown on stdout
or in --out (and HTML with --html); also `python -m sparse_pkg.compare A B`."""

from __future__ import annotations

import click

from sparse_pkg import results
from sparse_pkg.cli import handle_errors, log, verbose_option
from sparse_pkg.io.atomic import write_text
from sparse_pkg.reporting.comparison import comparison_markdown
from sparse_pkg.reporting.html import markdown_to_html


@click.command(context_settings={"show_default": True})
@click.argument("folder_a", type=click.Path(file_okay=False))
@click.argument("folder_b", type=click.Path(file_okay=False))
@click.option("--name-a", default="A", help="What to call FOLDER_A in the table.")
@click.option("--name-b", default="B", help="What to call FOLDER_B in the table.")
@click.option("--out", default=None, help="Write the markdown here instead of stdout.")
@click.option("--html", "html_out", default=None, help="Also write it as an HTML page.")
@verbose_option
@handle_errors
def main(folder_a, folder_b, name_a, name_b, out, html_out):
    """Per-network differences B − A (intervals over seeds) and the verdicts that changed,
    between the results folders FOLDER_A and FOLDER_B."""
    text = comparison_markdown(results.load(folder_a), results.load(folder_b), name_a, name_b)
    if out is None:
        click.echo(text, nl=False)
    else:
        write_text(out, text)
        log(f"wrote {out}")
    if html_out:
        write_text(html_out, markdown_to_html(text, f"{name_b} − {name_a}"))


if __name__ == "__main__":
    main()
