"""Speech Commands archive -> extracted digit clips + the manifest of splits and labels."""

from __future__ import annotations

import click

from sparse_pkg.cli import handle_errors, log, verbose_option
from sparse_pkg.datasets.gsc import (
    build_manifest,
    extract_gsc,
    load_clips,
    write_manifest,
    write_skipped_sidecar,
)
from sparse_pkg.io.checksum import verify_checksum


@click.command(context_settings={"show_default": True})
@click.option("--archive", type=click.Path(dir_okay=False), required=True,
              help="speech_commands_v0.01.tar.gz (real or synthetic).")
@click.option("--sha256", default=None,
              help="Verify the archive first (for an archive the user supplied).")
@click.option("--dest", type=click.Path(file_okay=False), required=True,
              help="Folder for the ten digit folders, _background_noise_ and the lists.")
@click.option("--manifest-out", type=click.Path(dir_okay=False), required=True,
              help="Manifest parquet: path, word, speaker, utterance, label, split.")
@click.option("--skipped-out", type=click.Path(dir_okay=False), required=True,
              help="JSON sidecar listing the WAVs skipped as unreadable (with --skip-bad).")
@click.option("--skip-bad", is_flag=True,
              help="Skip unreadable or empty WAVs (listed in the sidecar) instead of stopping.")
@verbose_option
@handle_errors
def main(archive, sha256, dest, manifest_out, skipped_out, skip_bad):
    """Extract safely, build the manifest from the official lists and check every clip reads."""
    if sha256:
        verify_checksum(archive, sha256, "sha256")
    extract_gsc(archive, dest)
    manifest = build_manifest(dest)
    _, skipped = load_clips(manifest, dest, skip_bad=skip_bad)
    if skipped:
        bad = {s["path"] for s in skipped}
        manifest = manifest[~manifest["path"].isin(bad)].reset_index(drop=True)
    write_manifest(manifest, manifest_out)
    write_skipped_sidecar(skipped, skipped_out)
    counts = manifest["split"].value_counts().to_dict()
    log(f"{archive}: {len(manifest)} digit clips {counts}, {len(skipped)} skipped")


if __name__ == "__main__":
    main()
