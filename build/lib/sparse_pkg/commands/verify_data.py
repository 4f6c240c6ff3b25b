"""Check a prepared data set against the checksum its producer recorded (one `verify_data` job).

Runs before any training or evaluation job that reads the file: a damaged file stops the
workflow here, so no job that has finished outputs is started on it (Snakemake deletes the
outputs of a job that fails). Reads bytes only; torch is not imported.
"""

from __future__ import annotations

import click

from sparse_pkg.cli import handle_errors, log, verbose_option
from sparse_pkg.io.atomic import write_text
from sparse_pkg.io.sidecar import verify_sidecar


@click.command()
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Stamp written when DATA matches its sidecar DATA.sha256 (holds the digest).")
@verbose_option
@handle_errors
def main(data, out):
    """Compare DATA's SHA-256 with DATA.sha256; write --out on a match, refuse otherwise."""
    digest = verify_sidecar(data)
    write_text(out, f"{digest}  {data}\n")
    log(f"{data}: checksum {digest[:12]}... matches")


if __name__ == "__main__":
    main()
