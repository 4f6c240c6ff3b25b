"""Bad input is refused at the level users see it: each case runs the real script the way a
Snakemake rule does and expects exit status 2 and exactly one stderr line ``error: ...`` naming
the file or configuration key at fault and what to do, with no traceback (``--verbose`` shows
one instead). The library-level checks behind these messages live in test_archive.py,
test_wav.py, test_mnist.py, test_gsc_manifest.py and test_network_definitions.py.

Archive, WAV and IDX cases run as real subprocesses. Each case registers a *job* (its inputs,
built in its own folder, and the script invocations); the module fixture ``runs`` runs every
job once, several at a time, since a fresh process spends ~1.5 s of one core importing torch.
Configuration cases use click's CliRunner in-process.
"""

from __future__ import annotations

import copy
import functools
import gzip
import importlib.util
import io
import json
import os
import re
import struct
import subprocess
import sys
import tarfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
import yaml
from click.testing import CliRunner

from sparse_pkg.datasets.gsc_splits import WORDS
from sparse_pkg.io.tensors import TensorSet, load_tensor_set, save_tensor_set
from tests.helpers.training import (
    patch_data,
    tiny_definition,
    torch_settings_restored,
    write_definitions,
)

REPO = Path(__file__).resolve().parents[2]
NETWORKS = REPO / "config" / "networks.yaml"
HAS_GPU = torch.cuda.is_available()


# ---------------------------------------------------------------------------------------------
# Running scripts and checking their one error line


def run_script(script: str, *args: object) -> subprocess.CompletedProcess:
    """``python scripts/<script> ARGS`` in a fresh process from the repository root, with the
    repository on PYTHONPATH: what a Snakemake rule's shell command does."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), *map(str, args)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


Invocation = list[object]  # script name, then its arguments
JOBS: dict[str, Callable[[Path], list[Invocation]]] = {}


def job(name: str, **params: object):
    """Register a job builder: called with a fresh folder (and ``params``), it writes the case's
    inputs there and returns the script invocations to run, in order."""

    def register(build: Callable[..., list[Invocation]]):
        JOBS[name] = functools.partial(build, **params)
        return build

    return register


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Path, list[subprocess.CompletedProcess]]]:
    """Every registered job, run once: ``{name: (its folder, its processes' results)}``."""
    folders = {name: tmp_path_factory.mktemp(re.sub(r"\W+", "_", name)) for name in JOBS}
    invocations = {name: build(folders[name]) for name, build in JOBS.items()}

    def run_all(steps: list[Invocation]) -> list[subprocess.CompletedProcess]:
        return [run_script(*step) for step in steps]

    longest_first = sorted(invocations, key=lambda name: -len(invocations[name]))
    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 1))) as pool:
        futures = {name: pool.submit(run_all, invocations[name]) for name in longest_first}
    return {name: (folders[name], futures[name].result()) for name in JOBS}


def error_line(status: int, stderr: str, stdout: str, *needles: object) -> str:
    """Assert exit status 2, one stderr line starting 'error: ' holding every needle, and no
    traceback anywhere; return the line."""
    assert status == 2, stderr
    assert "Traceback" not in stderr + stdout, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    for needle in needles:
        assert str(needle) in lines[0], lines[0]
    return lines[0]


def refused(result: subprocess.CompletedProcess, *needles: object) -> str:
    return error_line(result.returncode, result.stderr, result.stdout, *needles)


def load_script(name: str):
    """Import scripts/<name> as a module, to invoke its click command in-process."""
    spec = importlib.util.spec_from_file_location(f"script_{Path(name).stem}",
                                                  REPO / "scripts" / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def invoke(command, args: list[object]):
    """Run a click command in-process (CliRunner) without leaking torch settings."""
    with torch_settings_restored():
        return CliRunner().invoke(command, [str(a) for a in args])


def refused_in_process(result, *needles: object) -> str:
    return error_line(result.exit_code, result.stderr, result.stdout, *needles)


# ---------------------------------------------------------------------------------------------
# Speech Commands archives, built in each job's folder


def sound(rate: int, seconds: float, freqs: tuple[float, ...]) -> np.ndarray:
    """A sum of tones under a smooth sin^2 envelope, sampled at ``rate`` (peak < 0.3)."""
    t = np.arange(int(round(rate * seconds))) / rate
    tones = sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)
    return 0.3 * np.sin(np.pi * t / seconds) ** 2 * tones


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, rate, subtype="PCM_16")
    return path


def write_lists(tree: Path) -> None:
    """Official split lists: speakers starting with 'b' are validation, 'c' test, else train."""
    clips = sorted(p.relative_to(tree).as_posix() for p in tree.glob("*/*_nohash_*.wav"))
    for name, first in (("validation_list.txt", "b"), ("testing_list.txt", "c")):
        listed = [c for c in clips if c.split("/")[1].startswith(first)]
        (tree / name).write_text("".join(f"{c}\n" for c in listed))


def gsc_tree(tree: Path, words=WORDS) -> Path:
    """The archive's layout: one train, validation and test clip (0.25 s) per digit word."""
    for index, word in enumerate(words):
        for speaker in ("aaaaaaaa", "bbbbbbbb", "cccccccc"):
            write_wav(tree / word / f"{speaker}_nohash_0.wav",
                      sound(16000, 0.25, (300.0 + 100 * index,)))
    write_lists(tree)
    return tree


def member(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, link: str = ""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o644
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def make_archive(path: Path, tree: Path, extra=()) -> Path:
    """tar.gz of ``tree`` as './word/clip.wav' (the official form), then the ``extra`` members."""
    with tarfile.open(path, "w:gz") as tar:
        tar.add(tree, arcname=".")
        for info, payload in extra:
            tar.addfile(info, payload)
    return path


def extract(folder: Path, archive: Path, *options: object) -> Invocation:
    """scripts/extract_gsc.py as the gsc_extract rule runs it, outputs in ``folder``."""
    return ["extract_gsc.py", "--archive", archive, "--dest", folder / "clips",
            "--manifest-out", folder / "manifest.parquet",
            "--skipped-out", folder / "skipped.json", *options]


def assert_nothing_extracted(folder: Path) -> None:
    """No clips folder, manifest or sidecar, and no hidden partial folder left behind."""
    for name in ("clips", "manifest.parquet", "skipped.json"):
        assert not (folder / name).exists(), name
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


# ---------------------------------------------------------------------------------------------
# Archives


@job("wrong checksum")
@job("wrong checksum, verbose", options=("--verbose",))
def _wrong_checksum(folder: Path, options: tuple[str, ...] = ()) -> list[Invocation]:
    archive = make_archive(folder / "speech.tar.gz", gsc_tree(folder / "staging"))
    return [extract(folder, archive, "--sha256", "0" * 64, *options)]


def test_wrong_archive_checksum_is_refused(runs):
    folder, (result,) = runs["wrong checksum"]
    archive = folder / "speech.tar.gz"
    refused(result, archive, "sha256 checksum mismatch", f"expected {'0' * 64}, got ",
            "replace it")
    assert_nothing_extracted(folder)
    assert archive.exists()  # a user's file is never deleted


def test_verbose_shows_the_traceback_instead(runs):
    folder, (result,) = runs["wrong checksum, verbose"]
    assert result.returncode != 0
    assert "Traceback (most recent call last)" in result.stderr
    assert "InputError" in result.stderr and "sha256 checksum mismatch" in result.stderr
    assert not result.stderr.startswith("error: ")
    assert_nothing_extracted(folder)


@job("truncated archive")
def _truncated_archive(folder: Path) -> list[Invocation]:
    whole = make_archive(folder / "whole.tar.gz", gsc_tree(folder / "staging")).read_bytes()
    cut = folder / "speech.tar.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    return [extract(folder, cut)]


def test_truncated_archive_is_refused(runs):
    folder, (result,) = runs["truncated archive"]
    refused(result, folder / "speech.tar.gz", "truncated or corrupt archive", "download it again")
    assert_nothing_extracted(folder)


ESCAPES = {  # kind of escape: the reason the error gives
    "parent": "has a '..' path component",
    "absolute": "has an absolute path",
    "symlink": "is a link pointing outside the destination ('../../outside.txt')",
}


def _escaping_member(kind: str, folder: Path):
    if kind == "parent":
        return member("../outside.txt", b"evil")
    if kind == "absolute":
        return member(str(folder / "outside.txt"), b"evil")
    return member("zero/link", kind=tarfile.SYMTYPE, link="../../outside.txt")


def _escaping_archive(folder: Path, kind: str) -> list[Invocation]:
    # the bad member comes last: every good member is extracted before it is met
    archive = make_archive(folder / "speech.tar.gz", gsc_tree(folder / "staging"),
                           [_escaping_member(kind, folder)])
    return [extract(folder, archive)]


for _kind in ESCAPES:
    job(f"escape {_kind}", kind=_kind)(_escaping_archive)


@pytest.mark.parametrize("kind", list(ESCAPES))
def test_member_escaping_the_destination_is_refused(runs, kind):
    folder, (result,) = runs[f"escape {kind}"]
    name = _escaping_member(kind, folder)[0].name
    refused(result, folder / "speech.tar.gz", f"member '{name}' {ESCAPES[kind]}", "unsafe",
            "replace it with the official one")
    outside = folder / "outside.txt"
    assert not outside.exists() and not outside.is_symlink()
    assert_nothing_extracted(folder)


@job("no digit folders")
def _no_digit_folders(folder: Path) -> list[Invocation]:
    other = gsc_tree(folder / "staging", words=("yes", "no", "up"))
    return [extract(folder, make_archive(folder / "speech.tar.gz", other))]


def test_archive_without_the_digit_folders_is_refused(runs):
    folder, (result,) = runs["no digit folders"]
    refused(result, folder / "speech.tar.gz",
            "no WAV files for the digit folder(s) zero, one, two, three, four, five, six, seven, "
            "eight, nine", "not the Speech Commands archive", "replace it")
    assert_nothing_extracted(folder)


# ---------------------------------------------------------------------------------------------
# WAV files

BAD_WAVS = {"empty": b"", "text": b"this is not audio, just text\n" * 20}


def _bad_wav_archive(folder: Path, kind: str) -> list[Invocation]:
    tree = gsc_tree(folder / "staging")
    (tree / "one" / "dddddddd_nohash_0.wav").write_bytes(BAD_WAVS[kind])
    return [extract(folder, make_archive(folder / "speech.tar.gz", tree))]


for _kind in BAD_WAVS:
    job(f"{_kind} wav", kind=_kind)(_bad_wav_archive)


@pytest.mark.parametrize("kind", list(BAD_WAVS))
def test_bad_wav_is_refused_naming_it_and_the_skip_key(runs, kind):
    folder, (result,) = runs[f"{kind} wav"]
    refused(result, f"{folder / 'clips' / 'one' / 'dddddddd_nohash_0.wav'}: not a readable audio "
            "file (Format not recognised", "replace it with a good copy",
            "set the config key gsc.skip_bad_wavs: true (extract_gsc.py --skip-bad)")
    assert not (folder / "manifest.parquet").exists()
    assert not (folder / "skipped.json").exists()


@job("skip bad wavs")
def _skip_bad(folder: Path) -> list[Invocation]:
    tree = gsc_tree(folder / "staging")
    (tree / "one" / "dddddddd_nohash_0.wav").write_bytes(BAD_WAVS["empty"])
    (tree / "two" / "dddddddd_nohash_0.wav").write_bytes(BAD_WAVS["text"])
    return [extract(folder, make_archive(folder / "speech.tar.gz", tree), "--skip-bad")]


def test_skip_bad_skips_bad_wavs_and_lists_them(runs):
    folder, (result,) = runs["skip bad wavs"]
    assert result.returncode == 0, result.stderr
    assert "30 digit clips" in result.stderr and "2 skipped" in result.stderr
    sidecar = json.loads((folder / "skipped.json").read_text())
    assert sidecar["count"] == 2
    assert [s["path"] for s in sidecar["skipped"]] == ["one/dddddddd_nohash_0.wav",
                                                       "two/dddddddd_nohash_0.wav"]
    assert all("not a readable audio file" in s["reason"] for s in sidecar["skipped"])
    manifest = pd.read_parquet(folder / "manifest.parquet")
    assert len(manifest) == 30 and not manifest["path"].str.contains("dddddddd").any()


@job("8 kHz wav")
def _eight_khz(folder: Path) -> list[Invocation]:
    # the same band-limited sound (all tones < 4 kHz), once at 8 kHz and once at 16 kHz
    tree = gsc_tree(folder / "staging")
    freqs = (350.0, 900.0, 2200.0)
    write_wav(tree / "zero" / "c0008000_nohash_0.wav", sound(8000, 1.0, freqs), 8000)
    write_wav(tree / "zero" / "c0016000_nohash_0.wav", sound(16000, 1.0, freqs), 16000)
    write_lists(tree)
    features = ["gsc_features.py", "eval", "--manifest", folder / "manifest.parquet",
                "--root", folder / "clips",
                "--validation-out", folder / "validation.pt", "--test-out", folder / "test.pt",
                "--threads", "1", "--device", "cpu"]  # fmt: skip
    return [extract(folder, make_archive(folder / "speech.tar.gz", tree)), features]


def test_8khz_wav_is_resampled_and_works_end_to_end(runs):
    folder, (extracted, featurized) = runs["8 kHz wav"]
    assert extracted.returncode == 0, extracted.stderr
    assert json.loads((folder / "skipped.json").read_text())["count"] == 0
    assert featurized.returncode == 0, featurized.stderr
    assert "not writable" not in featurized.stderr  # torch's warning on read-only labels
    manifest = pd.read_parquet(folder / "manifest.parquet")
    test_paths = manifest.loc[manifest["split"] == "test", "path"].tolist()
    features = load_tensor_set(folder / "test.pt").features[:, 0]  # (N, 32, 32) log-mel dB
    assert features.shape == (len(test_paths), 32, 32) == (12, 32, 32)
    low = features[test_paths.index("zero/c0008000_nohash_0.wav")]
    high = features[test_paths.index("zero/c0016000_nohash_0.wav")]
    other = features[test_paths.index("zero/cccccccc_nohash_0.wav")]
    # Measured: over the bins above -40 dB (the tones) the two differ by < 0.01 dB, on average
    # by ~0.4 dB (the near-silent bins); unresampled 8 kHz samples would be off by up to 80 dB.
    loud = high > -40
    assert loud.sum() > 100
    assert (low[loud] - high[loud]).abs().max() < 0.5
    assert (low - high).abs().mean() < 1.0
    assert (other - high).abs().mean() > 10.0  # a different sound is far away


# ---------------------------------------------------------------------------------------------
# MNIST IDX files


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(folder: Path) -> dict[str, bytes]:
    """The four official IDX files (gzip), 3 train and 2 test digits; returns their raw bytes."""
    rng = np.random.default_rng(0)
    raw = {
        "train-images-idx3-ubyte.gz": idx_bytes(rng.integers(0, 256, (3, 28, 28))),
        "train-labels-idx1-ubyte.gz": idx_bytes(np.array([5, 0, 4])),
        "t10k-images-idx3-ubyte.gz": idx_bytes(rng.integers(0, 256, (2, 28, 28))),
        "t10k-labels-idx1-ubyte.gz": idx_bytes(np.array([7, 2])),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in raw.items():
        (folder / name).write_bytes(gzip.compress(data, mtime=0))
    return raw


IDX_CASES = {  # how train-images is broken: (new file bytes from its raw IDX bytes, needles)
    "good": (lambda raw: gzip.compress(raw, mtime=0), []),
    "wrong magic": (  # data type 0x09 (signed bytes) instead of 0x08
        lambda raw: gzip.compress(b"\x00\x00\x09" + raw[3:], mtime=0),
        ["bad IDX magic number 0x00000903", "not an MNIST IDX file", "download MNIST again"],
    ),
    "truncated data": (
        lambda raw: gzip.compress(raw[:-100], mtime=0),
        ["IDX data has 2252 bytes", "3x28x28 need 2352", "delete it and download it again"],
    ),
    "header count": (  # the header says 4 images, the data holds 3
        lambda raw: gzip.compress(raw[:4] + struct.pack(">I", 4) + raw[8:], mtime=0),
        ["IDX data has 2352 bytes", "4x28x28 need 3136", "delete it and download it again"],
    ),
    "truncated gzip": (  # a download cut short
        lambda raw: gzip.compress(raw, mtime=0)[:-300],
        ["corrupt gzip data", "delete it and download it again"],
    ),
}
IMAGES = "train-images-idx3-ubyte.gz"


def _idx_job(folder: Path, case: str) -> list[Invocation]:
    raw = write_mnist(folder / "idx")
    (folder / "idx" / IMAGES).write_bytes(IDX_CASES[case][0](raw[IMAGES]))
    return [["prepare_mnist.py", "--source", "directory", "--idx-dir", folder / "idx",
             "--train-out", folder / "train.pt", "--test-out", folder / "test.pt"]]


for _case in IDX_CASES:
    job(f"idx {_case}", case=_case)(_idx_job)


def test_good_idx_files_are_accepted(runs):
    """The baseline the bad cases depart from: the same files, unbroken, are accepted."""
    folder, (result,) = runs["idx good"]
    assert result.returncode == 0, result.stderr
    assert load_tensor_set(folder / "train.pt").labels.tolist() == [5, 0, 4]


@pytest.mark.parametrize("case", [name for name in IDX_CASES if name != "good"])
def test_bad_idx_file_is_refused(runs, case):
    folder, (result,) = runs[f"idx {case}"]
    refused(result, folder / "idx" / IMAGES, *IDX_CASES[case][1])
    assert sorted(p.name for p in folder.iterdir()) == ["idx"]  # no output, no temp file


# ---------------------------------------------------------------------------------------------
# A GPU requested on a machine without one

no_gpu_only = pytest.mark.skipif(HAS_GPU, reason="this machine has a CUDA GPU: nothing to fall "
                                                 "back from or refuse")


def _tiny_mnist_run(folder: Path) -> list[object]:
    """train.py arguments: a tiny network, 40 training images, one epoch, ``--device cuda``."""
    definitions = write_definitions(folder / "networks.yaml", tiny_definition("mnist"))
    x, y = patch_data("mnist", 40, 0)
    save_tensor_set(folder / "train.pt", TensorSet(x, y, {"source": "synthetic-test"}))
    xt, yt = patch_data("mnist", 20, 1)
    save_tensor_set(folder / "test.pt", TensorSet(xt, yt))
    return ["--definitions", definitions, "--dataset", "mnist", "--network", "tinySparse",
            "--seed", "42", "--train", folder / "train.pt", "--test", folder / "test.pt",
            "--out-dir", folder / "run", "--max-epochs", "1", "--threads", "1",
            "--device", "cuda"]


if not HAS_GPU:
    job("cuda fallback")(lambda folder: [["train.py", *_tiny_mnist_run(folder)]])


@no_gpu_only
def test_cuda_without_gpu_falls_back_to_cpu_with_a_warning(runs):
    folder, (result,) = runs["cuda fallback"]
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "error: " not in result.stderr
    assert "UserWarning: device 'cuda' requested but no GPU is available; using the CPU" \
        in result.stderr
    assert "training mnist/tinySparse seed 42 on cpu" in result.stderr
    assert len(pd.read_parquet(folder / "run" / "history.parquet")) == 1
    assert torch.load(folder / "run" / "final.pt", weights_only=True)["meta"]["device"] == "cpu"


@no_gpu_only
def test_cuda_without_gpu_is_refused_with_gpu_required(tmp_path):
    result = invoke(load_script("train.py").main, [*_tiny_mnist_run(tmp_path), "--gpu-required"])
    refused_in_process(result, "device 'cuda' requested but no CUDA GPU is available",
                       "use --device cpu or auto (config key compute.device)",
                       "compute.on_missing_gpu: fallback")
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------------------------------------
# Network definitions, as train.py and report.py see them (in-process)


def _network(doc: dict, name: str = "sparseCNN2") -> dict:
    return doc["mnist"]["networks"][name]


def _drop_epochs(doc: dict) -> None:
    del doc["mnist"]["defaults"]["epochs"]  # no MNIST network sets its own


CONFIG_CASES = {  # mutation of config/networks.yaml, needles of the error line
    # sparseCNN2: linear_n 700
    "k > n": (lambda doc: _network(doc).update(linear_k=701),
              ["network mnist/sparseCNN2, key 'linear_k'", "k 701 must be in [1, linear_n=700]"]),
    "weight sparsity 0": (lambda doc: _network(doc).update(weight_sparsity=0.0),
                          ["mnist/sparseCNN2, key 'weight_sparsity'", "must be in (0, 1]"]),
    "weight sparsity > 1": (lambda doc: _network(doc).update(weight_sparsity=1.5),
                            ["mnist/sparseCNN2, key 'weight_sparsity'", "got 1.5"]),
    "unknown dataset": (lambda doc: doc.update(cifar=copy.deepcopy(doc["mnist"])),
                        ["key 'cifar': unknown data set", "use one of mnist, gsc"]),
    "missing key": (_drop_epochs, ["network mnist/denseCNN1, key 'epochs'",
                                   "missing; set it in the network entry or its defaults"]),
}


def _bad_definitions(tmp_path: Path, case: str) -> tuple[Path, list[str]]:
    mutate, needles = CONFIG_CASES[case]
    doc = yaml.safe_load(NETWORKS.read_text())
    mutate(doc)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path, needles


@pytest.fixture(scope="module")
def report_main():
    return load_script("report.py").main


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_bad_network_definitions_are_refused_by_report(tmp_path, report_main, case):
    path, needles = _bad_definitions(tmp_path, case)
    out = tmp_path / "table3.md"
    result = invoke(report_main, ["table3", "--definitions", path, "--out", out])
    refused_in_process(result, path, *needles)
    assert not out.exists()


def test_bad_network_definitions_are_refused_by_train(tmp_path):
    path, needles = _bad_definitions(tmp_path, "k > n")
    out = tmp_path / "run"
    result = invoke(load_script("train.py").main, [
        "--definitions", path, "--dataset", "mnist", "--network", "sparseCNN2", "--seed", "42",
        "--train", tmp_path / "train.pt", "--test", tmp_path / "test.pt", "--out-dir", out,
        "--threads", "1", "--device", "cpu",
    ])  # fmt: skip
    refused_in_process(result, path, *needles)
    assert not out.exists()

