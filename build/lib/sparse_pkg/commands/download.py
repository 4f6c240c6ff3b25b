"""Download one file (mirrors tried in order), resumable, checksum-verified, atomic."""

from __future__ import annotations

import click

from sparse_pkg.cli import handle_errors, log, verbose_option
from sparse_pkg.datasets.mnist import download_mnist
from sparse_pkg.io.download import download


@click.group()
def main():
    """Downloads for the workflow: the Speech Commands archive or the four MNIST files."""


@main.command("file")
@click.option("--url", "urls", multiple=True, required=True,
              help="URL to fetch; repeat for mirrors, tried in order.")
@click.option("--sha256", required=True, help="Expected SHA-256 of the file.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Destination.")
@click.option("--hint", default=None,
              help="What to tell the user when every URL fails (e.g. the config key to set).")
@verbose_option
@handle_errors
def file_command(urls, sha256, out, hint):
    """Fetch one file to --out (an interrupted transfer resumes from OUT.part)."""
    download(list(urls), out, checksum=sha256, algorithm="sha256", hint=hint)
    log(f"downloaded {out}")


@main.command("mnist")
@click.option("--mirror", "mirrors", multiple=True, required=True,
              help="Base URL of an MNIST mirror; repeat, tried in order.")
@click.option("--out-dir", type=click.Path(file_okay=False), required=True)
@verbose_option
@handle_errors
def mnist_command(mirrors, out_dir):
    """Fetch the four MNIST IDX files into --out-dir, verifying each official MD5."""
    download_mnist(out_dir, list(mirrors),
                   hint=f"put the four files into {out_dir} yourself, or set config key "
                        "mnist.source: directory with mnist.directory")
    log(f"MNIST files in {out_dir}")


if __name__ == "__main__":
    main()
