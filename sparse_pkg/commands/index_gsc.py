"""A user's extracted Speech Commands folder -> the manifest of splits and labels (in place).

The rule for ``gsc.source: directory``: the folder is checked against the official layout (every
problem on its own line), every digit clip is read once, and the manifest is written; the clips
stay where they are, and the feature steps read them from there.
"""

from __future__ import annotations

import sys

import click

from sparse_pkg.cli import handle_errors, log, stack_options, verbose_option
from sparse_pkg.commands.extract_gsc import MANIFEST_OPTIONS
from sparse_pkg.datasets.gsc import (
    build_manifest,
    load_clips,
    without_skipped,
    write_skipped_sidecar,
)
from sparse_pkg.datasets.gsc_directory import directory_problems, directory_summary
from sparse_pkg.io.atomic import write_parquet


@click.command(context_settings={"show_default": True})
@click.option("--root", type=click.Path(), required=True,
              help="The extracted folder (zero/ ... nine/, testing_list.txt, "
                   "validation_list.txt, _background_noise_/).")
@stack_options(MANIFEST_OPTIONS)
@click.option("--background-noise/--no-background-noise", default=True,
              help="Whether _background_noise_/ is needed (the background-noise test).")
@verbose_option
@handle_errors
def main(root, manifest_out, skipped_out, skip_bad, background_noise):
    """Check the folder's layout and counts, read every clip, write the manifest."""
    problems = directory_problems(root, background_noise)
    if problems:
        for problem in problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(2)
    manifest = build_manifest(root)
    _, skipped = load_clips(manifest, root, skip_bad=skip_bad)
    manifest = without_skipped(manifest, skipped)
    write_parquet(manifest, manifest_out)
    write_skipped_sidecar(skipped, skipped_out)
    counts = manifest["split"].value_counts().to_dict()
    log(f"{root}: your own copy of Speech Commands, {directory_summary(root)}; {counts}, "
        f"{len(skipped)} skipped")


if __name__ == "__main__":
    main()
