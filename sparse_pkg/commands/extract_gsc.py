"""Speech Commands archive -> extracted digit clips + the manifest of splits and labels.

The extraction itself lives in --store (clips, manifest, sidecar), replaced in one rename only
when everything succeeded; --dest, --manifest-out and --skipped-out are links and copies of it.
Snakemake deletes those declared outputs before it reruns the job and when the job fails; the
store, which is not a declared output, keeps the previous extraction through both.
"""

from __future__ import annotations

from pathlib import Path

import click

from sparse_pkg.cli import handle_errors, log, stack_options, verbose_option
from sparse_pkg.datasets.gsc import extract_to_store, publish_store
from sparse_pkg.datasets.sources import GSC_ARCHIVE, GSC_SHA256
from sparse_pkg.errors import InputError
from sparse_pkg.io.checksum import verify_checksum

# The outputs of both ways to a manifest (this archive's extraction, a folder's index_gsc).
MANIFEST_OPTIONS = [
    click.option("--manifest-out", type=click.Path(dir_okay=False), required=True,
                 help="Manifest parquet: path, word, speaker, utterance, label, split."),
    click.option("--skipped-out", type=click.Path(dir_okay=False), required=True,
                 help="JSON sidecar listing the WAVs skipped as unreadable (with --skip-bad)."),
    click.option("--skip-bad", is_flag=True,
                 help="Skip unreadable or empty WAVs (listed in the sidecar) instead of "
                      "stopping."),
]


@click.command(context_settings={"show_default": True})
@click.option("--archive", type=click.Path(dir_okay=False), required=True,
              help="speech_commands_v0.01.tar.gz (real or synthetic).")
@click.option("--sha256", default=None,
              help="Verify the archive against this digest first (an archive the user supplied; "
                   "the workflow passes the official one).")
@click.option("--dest", type=click.Path(file_okay=False), required=True,
              help="Folder for the ten digit folders, _background_noise_ and the lists.")
@stack_options(MANIFEST_OPTIONS)
@click.option("--store", type=click.Path(file_okay=False), default=None,
              help="Folder holding the extraction itself [default: 'extracted' beside --dest].")
@click.option("--config-key", default=None,
              help="The config key that names --archive (a user's own archive): errors say to "
                   "fix it instead of downloading again.")
@verbose_option
@handle_errors
def main(archive, sha256, dest, manifest_out, skipped_out, skip_bad, store, config_key):
    """Extract safely, build the manifest from the official lists and check every clip reads."""
    remedy = None
    if config_key:
        remedy = (f"fix the config key {config_key} (now {archive}): point it at a good copy of "
                  f"{GSC_ARCHIVE}")
    if not Path(archive).is_file():
        raise InputError(f"{archive}: archive not found; "
                         f"{remedy or 'download it again or fix the path'}")
    if sha256:
        verify_checksum(archive, sha256, "sha256", remedy=remedy)
        if config_key and sha256 != GSC_SHA256:
            log(f"{archive}: your own archive, checked against your SHA-256 (gsc.sha256): this "
                "run is NOT on the official Speech Commands v0.01 archive")
    elif config_key:
        log(f"{archive}: no SHA-256 checked (gsc.allow_unofficial_archive: true): this run is NOT "
            "on the official Speech Commands v0.01 archive")
    store = store or str(Path(dest).parent / "extracted")
    manifest, skipped = extract_to_store(archive, store, skip_bad=skip_bad, remedy=remedy,
                                         shown_root=dest)
    publish_store(store, dest, manifest_out, skipped_out)
    counts = manifest["split"].value_counts().to_dict()
    log(f"{archive}: {len(manifest)} digit clips {counts}, {len(skipped)} skipped")


if __name__ == "__main__":
    main()
