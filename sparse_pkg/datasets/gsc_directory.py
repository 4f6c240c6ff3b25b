"""A user's own extracted copy of Speech Commands (``gsc.source: directory``), checked before use.

Most labs keep the data set extracted on shared storage. Such a folder is used in place (no copy,
no extraction) once its layout is the official archive's: a folder per digit word holding
``<speaker>_nohash_<n>.wav`` clips, ``testing_list.txt`` and ``validation_list.txt``, and
``_background_noise_/`` with its recordings unless the background-noise test is off. Every
problem found is reported, one line each, so a damaged or partial copy is fixed in one go.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sparse_pkg.datasets.gsc_splits import BACKGROUND_DIR, TESTING_LIST, VALIDATION_LIST, WORDS


def _wavs(folder: Path) -> list[str]:
    return sorted(f.name for f in folder.iterdir() if f.suffix.lower() == ".wav" and f.is_file())


def _listed(path: Path) -> set[str]:
    """The digit-word clips a split list names (other words are not used here)."""
    entries = (line.strip().replace("\\", "/") for line in path.read_text().splitlines())
    return {entry for entry in entries if entry.split("/", 1)[0] in WORDS}


def directory_problems(root: str | os.PathLike, background_noise: bool) -> list[str]:
    """Every way ``root`` differs from the official layout, one line each ([] when usable)."""
    folder = Path(root)
    if not folder.is_dir():
        return [f"{folder}: not a folder; set gsc.directory to the extracted Speech Commands "
                "folder (the one holding zero/ ... nine/ and testing_list.txt)"]
    problems = []
    missing = [w for w in WORDS if not (folder / w).is_dir()]
    if missing:
        problems.append(f"{folder}: no folder for the word(s) {', '.join(missing)}; every digit "
                        "word has one in the official layout")
    present = {w: _wavs(folder / w) for w in WORDS if w not in missing}
    empty = [w for w, clips in present.items() if not clips]
    if empty:
        problems.append(f"{folder}: no .wav clips in {', '.join(f'{w}/' for w in empty)}")
    clips = {f"{w}/{name}" for w, names in present.items() for name in names}
    for name in (TESTING_LIST, VALIDATION_LIST):
        path = folder / name
        if not path.is_file():
            problems.append(f"{path}: missing; the official split lists are part of the copy "
                            "(without them the splits would not be the paper's)")
            continue
        absent = sorted(_listed(path) - clips)
        if absent:
            problems.append(f"{path}: {len(absent)} listed digit clip(s) are not in the folder "
                            f"(first: {absent[0]}); the copy is incomplete")
    if background_noise:
        noise = folder / BACKGROUND_DIR
        if not noise.is_dir() or not _wavs(noise):
            problems.append(f"{noise}: missing or without .wav recordings; copy it from the "
                            "archive, or set gsc.background_noise: false to skip that test")
    return problems


def directory_summary(root: str | os.PathLike) -> str:
    """What the copy holds, for logs and provenance: clips per split list and in total."""
    folder = Path(root)
    clips = sum(len(_wavs(folder / w)) for w in WORDS if (folder / w).is_dir())
    lists = []
    for name in (TESTING_LIST, VALIDATION_LIST):
        if (folder / name).is_file():
            lists.append(f"{len(_listed(folder / name)):,} in {name}")
    return f"{clips:,} digit clips ({', '.join(lists) or 'no split lists'})"


def directory_fingerprint(root: str | os.PathLike) -> str:
    """16 hex digits over the names and sizes of the clips and lists of ``root`` (cheap: no
    audio is read), so that a changed copy reruns the jobs that read it."""
    folder = Path(root)
    digest = hashlib.sha256()
    if not folder.is_dir():
        return "absent"
    for sub in (*WORDS, BACKGROUND_DIR):
        if (folder / sub).is_dir():
            for name in _wavs(folder / sub):
                digest.update(f"{sub}/{name}:{(folder / sub / name).stat().st_size}\n".encode())
    for name in (TESTING_LIST, VALIDATION_LIST):
        if (folder / name).is_file():
            digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return digest.hexdigest()[:16]
