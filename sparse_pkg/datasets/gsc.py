"""Google Speech Commands v0.01: extract the digit words, build the split manifest, load clips.

The manifest is one row per digit clip (path relative to the data root, word, speaker,
utterance, label index into LABELS, split) taken from the archive's official
``testing_list.txt`` / ``validation_list.txt`` filtered to the digit words, or from the data
set's hashing rule when the lists are absent. Clips load as one float32 (N, 16000) tensor.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch

from sparse_pkg.audio.wav import CLIP_SAMPLES, fix_length, read_wav, to_16k
from sparse_pkg.datasets.gsc_splits import (
    BACKGROUND_DIR,
    TESTING_LIST,
    VALIDATION_LIST,
    WORDS,
    label_index,
    parse_clip_name,
    which_set,
)
from sparse_pkg.datasets.sources import GSC_ARCHIVE
from sparse_pkg.errors import InputError
from sparse_pkg.io.archive import make_temp_folder, replace_folder, safe_extract
from sparse_pkg.io.atomic import atomic_path, write_parquet, write_text
from sparse_pkg.io.inputs import read_input
from sparse_pkg.progress import Progress

MANIFEST_COLUMNS = ("path", "word", "speaker", "utterance", "label", "split")


def wanted_member(name: str) -> bool:
    """True for the archive members the pipeline uses: digit folders, background noise, lists."""
    top = name.split("/", 1)[0]
    return top in WORDS or top == BACKGROUND_DIR or name in (TESTING_LIST, VALIDATION_LIST)


def _require_digit_folders(archive: Path):
    def verify(names: Sequence[str]) -> None:
        present = {name.split("/", 1)[0] for name in names if name.endswith(".wav")}
        missing = [word for word in WORDS if word not in present]
        if missing:
            raise InputError(
                f"{archive}: no WAV files for the digit folder(s) {', '.join(missing)}; it is not "
                f"the Speech Commands archive ({GSC_ARCHIVE}): replace it"
            )

    return verify


def extract_gsc(archive: str | os.PathLike, dest: str | os.PathLike, *,
                remedy: str | None = None) -> list[str]:
    """Safely extract the ten digit folders, ``_background_noise_/`` and the two split lists.

    All or nothing: ``dest`` appears only when every digit folder held WAV files. Returns the
    extracted member names. Raises InputError naming the archive when it is missing, corrupt,
    unsafe or lacks a digit folder; ``remedy`` replaces the advice to download it again.
    """
    archive_path = Path(archive)
    return safe_extract(
        archive_path, dest, wanted_member, verify=_require_digit_folders(archive_path),
        remedy=remedy,
    )


STORE_CLIPS = "clips"
STORE_MANIFEST = "manifest.parquet"
STORE_SKIPPED = "manifest_skipped.json"


def extract_to_store(
    archive: str | os.PathLike, store: str | os.PathLike, *, skip_bad: bool = False,
    remedy: str | None = None, shown_root: str | os.PathLike | None = None,
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Extract, build the manifest and read every clip, then replace ``store`` in one rename.

    ``store`` holds ``clips/``, ``manifest.parquet`` and ``manifest_skipped.json`` of one
    archive, always together: everything is built in a temporary sibling folder, so a failure
    (bad archive, bad WAV, full disk) leaves the previous store as it was. Errors about a clip
    name it under ``shown_root`` (the folder the user sees) rather than the temporary folder.
    Returns the manifest and the skipped clips.
    """
    store_path = Path(os.path.abspath(store))
    store_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_folder(store_path.parent, prefix=f".{store_path.name}.partial-")
    try:
        clips = tmp / STORE_CLIPS
        extract_gsc(archive, clips, remedy=remedy)
        try:
            manifest = build_manifest(clips)
            _, skipped = load_clips(manifest, clips, skip_bad=skip_bad)
        except InputError as exc:
            if shown_root is None:
                raise
            raise InputError(str(exc).replace(str(clips), str(shown_root))) from None
        manifest = without_skipped(manifest, skipped)
        write_parquet(manifest, tmp / STORE_MANIFEST)
        write_skipped_sidecar(skipped, tmp / STORE_SKIPPED)
        replace_folder(tmp, store_path)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    return manifest, skipped


def _link_or_copy(source: str, target: str) -> None:
    """A hard link (instant, no extra disk); a copy where the file system has none."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def publish_store(store: str | os.PathLike, clips_dest: str | os.PathLike,
                  manifest_out: str | os.PathLike, skipped_out: str | os.PathLike) -> None:
    """Give the store's clips, manifest and sidecar their workflow paths.

    ``clips_dest`` becomes a tree of hard links to the store's clips (built beside it, then
    renamed), the manifest and sidecar are copied atomically. Deleting these copies, as
    Snakemake does with the outputs of a job it reruns or that failed, leaves the store's
    files in place.
    """
    source = Path(store)
    dest = Path(os.path.abspath(clips_dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_folder(dest.parent, prefix=f".{dest.name}.partial-")
    try:
        shutil.copytree(source / STORE_CLIPS, tmp / "tree", copy_function=_link_or_copy)
        replace_folder(tmp / "tree", dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for name, out in ((STORE_MANIFEST, manifest_out), (STORE_SKIPPED, skipped_out)):
        with atomic_path(out) as part:
            shutil.copyfile(source / name, part)


def _read_list(path: Path) -> set[str]:
    """The digit-word clip paths named by a split list (posix; other words dropped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: unreadable split list ({type(exc).__name__}); extract the archive again"
        ) from None
    entries = (line.strip().replace("\\", "/") for line in text.splitlines())
    return {entry for entry in entries if entry.split("/", 1)[0] in WORDS}


def _official_splits(root: Path) -> tuple[set[str], set[str]] | None:
    """(test, validation) path sets from the official lists, or None when both are absent."""
    test_file, valid_file = root / TESTING_LIST, root / VALIDATION_LIST
    if not test_file.exists() and not valid_file.exists():
        return None
    for present, absent in ((test_file, valid_file), (valid_file, test_file)):
        if present.exists() and not absent.exists():
            raise InputError(
                f"{absent}: missing while {present.name} is present; extract the archive again "
                "(both lists or neither)"
            )
    test, validation = _read_list(test_file), _read_list(valid_file)
    both = sorted(test & validation)
    if both:
        raise InputError(
            f"{test_file}: '{both[0]}' is also in {VALIDATION_LIST}; replace the lists with the "
            "official ones"
        )
    return test, validation


def build_manifest(root: str | os.PathLike) -> pd.DataFrame:
    """One row per digit clip under ``root``, sorted by path.

    Columns: path (relative posix), word, speaker, utterance (int64), label (int64 index into
    LABELS) and split ('train' | 'validation' | 'test'). Splits come from the official lists
    (filtered to the digit words) when present, else from :func:`which_set`.
    """
    root_path = Path(root)
    if not root_path.is_dir():
        raise InputError(f"{root_path}: data folder not found; extract the archive first")
    paths = sorted(
        f"{word}/{file.name}"
        for word in WORDS
        if (root_path / word).is_dir()
        for file in (root_path / word).iterdir()
        if file.suffix.lower() == ".wav" and file.is_file()
    )
    if not paths:
        raise InputError(
            f"{root_path}: no digit clips (<word>/<speaker>_nohash_<n>.wav for zero ... nine); "
            "extract the Speech Commands archive here"
        )
    rows = []
    for path in paths:
        word = path.split("/", 1)[0]
        try:
            speaker, utterance = parse_clip_name(path)
        except ValueError:
            raise InputError(
                f"{root_path / path}: not named <speaker>_nohash_<n>.wav; remove or rename it"
            ) from None
        rows.append((path, word, speaker, utterance, label_index(word)))
    frame = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS[:5]))
    official = _official_splits(root_path)
    if official is None:
        frame["split"] = [which_set(path) for path in paths]
    else:
        test, validation = official
        frame["split"] = [
            "test" if path in test else "validation" if path in validation else "train"
            for path in paths
        ]
    return frame.astype({"utterance": "int64", "label": "int64"}).reset_index(drop=True)


def read_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """Read a manifest (a parquet file); a bad file is a one-line InputError."""
    frame = read_input(path, pd.read_parquet, what="manifest",
                       fix="delete it and rerun the data preparation step",
                       fix_missing="run the data preparation step")
    missing = [column for column in MANIFEST_COLUMNS if column not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: manifest lacks column(s) {', '.join(missing)}; delete it and rerun the data "
            "preparation step"
        )
    return frame


def load_clips(
    manifest: pd.DataFrame, root: str | os.PathLike, *, skip_bad: bool = False
) -> tuple[torch.Tensor, list[dict[str, str]]]:
    """The manifest's clips as one float32 (N, 16000) tensor, in manifest order.

    Each clip is read with soundfile, scaled to [-1, 1], averaged to mono, resampled to 16 kHz
    if needed and zero-padded at the end or truncated to 16,000 samples. A bad file (missing,
    unreadable, not audio, empty) raises InputError naming it and the config key
    ``gsc.skip_bad_wavs`` (``--skip-bad``); with ``skip_bad`` it is left out
    instead and listed in the returned ``skipped`` list as ``{"path", "reason"}`` (manifest
    path), so the rows kept are the manifest rows whose path is not in that list.
    """
    root_path = Path(root)
    paths = [str(p) for p in manifest["path"]]
    out = torch.zeros((len(paths), CLIP_SAMPLES), dtype=torch.float32)
    skipped: list[dict[str, str]] = []
    kept = 0
    progress = Progress(len(paths), "reading clips", unit="clips")
    for rel in paths:
        try:
            samples, rate = read_wav(root_path / rel)
        except InputError as exc:
            if not skip_bad:
                raise InputError(
                    f"{exc}, or skip bad clips: set the config key gsc.skip_bad_wavs: true "
                    "(extract_gsc.py --skip-bad)"
                ) from None
            skipped.append({"path": rel, "reason": str(exc)})
            progress.update()
            continue
        out[kept] = fix_length(to_16k(samples, rate), CLIP_SAMPLES)
        kept += 1
        progress.update()
    return out[:kept].contiguous(), skipped


def without_skipped(manifest: pd.DataFrame, skipped: Sequence[dict[str, str]]) -> pd.DataFrame:
    """The manifest without the rows of the clips ``load_clips`` skipped as unreadable."""
    if not skipped:
        return manifest
    bad = {s["path"] for s in skipped}
    return manifest[~manifest["path"].isin(bad)].reset_index(drop=True)


def write_skipped_sidecar(skipped: Sequence[dict[str, str]], path: str | os.PathLike) -> None:
    """Atomically write ``{"count": n, "skipped": [...]}`` as JSON beside the manifest."""
    payload = {"count": len(skipped), "skipped": list(skipped)}
    write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")
