"""Your own copy of Speech Commands: an extracted folder used in place (the real clips of
../shared/data, skipped without it), an archive that is not the official one, and what the
tables and provenance.json then say."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
import yaml

from sparse_pkg.datasets.gsc_directory import (
    directory_fingerprint,
    directory_problems,
    directory_summary,
)
from sparse_pkg.datasets.sources import GSC_SHA256
from tests.helpers.workflow import SNAKEMAKE, job_counts, run_snakemake

REPO = Path(__file__).resolve().parents[2]
TINY = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())


def _config(tmp_path: Path, gsc: dict, mnist_enabled: bool = False) -> Path:
    document = {**TINY, "seeds": 1, "mnist": {**TINY["mnist"], "enabled": mnist_enabled},
                "gsc": {**TINY["gsc"], **gsc}}
    path = tmp_path / "own.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


# --- the checks, on the real sample -----------------------------------------------------------

def test_the_sample_folder_passes_without_background_noise_and_is_summarised(gsc_sample):
    assert directory_problems(gsc_sample, background_noise=False) == []
    assert directory_summary(gsc_sample) == ("100 digit clips (22 in testing_list.txt, 16 in "
                                             "validation_list.txt)")
    (problem,) = directory_problems(gsc_sample, background_noise=True)
    assert problem.startswith(f"{gsc_sample / '_background_noise_'}: missing or without .wav")
    assert "gsc.background_noise: false" in problem


def test_every_problem_of_a_damaged_copy_is_one_line(gsc_sample, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(gsc_sample, copy)
    shutil.rmtree(copy / "three")
    for clip in (copy / "seven").glob("*.wav"):
        clip.unlink()
    (copy / "validation_list.txt").unlink()
    problems = directory_problems(copy, background_noise=False)
    assert problems[0] == (f"{copy}: no folder for the word(s) three; every digit word has one "
                           "in the official layout")
    assert problems[1] == f"{copy}: no .wav clips in seven/"
    assert problems[2].startswith(f"{copy / 'testing_list.txt'}: ")
    assert "listed digit clip(s) are not in the folder" in problems[2]
    assert problems[3].startswith(f"{copy / 'validation_list.txt'}: missing")
    assert len(problems) == 4 and all("\n" not in p for p in problems)
    assert directory_problems(tmp_path / "nowhere", False)[0].endswith(
        "(the one holding zero/ ... nine/ and testing_list.txt)")


def test_the_fingerprint_follows_the_listing(gsc_sample, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(gsc_sample, copy)
    before = directory_fingerprint(copy)
    assert directory_fingerprint(copy) == before == directory_fingerprint(gsc_sample)
    next((copy / "one").glob("*.wav")).unlink()
    assert directory_fingerprint(copy) != before


# --- the workflow on it -----------------------------------------------------------------------

pytestmark_workflow = pytest.mark.skipif(not SNAKEMAKE.exists(),
                                         reason="snakemake not in this venv")


@pytestmark_workflow
@pytest.mark.slow
def test_the_workflow_runs_on_an_extracted_copy_without_background_noise(gsc_sample, tmp_path):
    config = _config(tmp_path, {"source": "directory", "directory": str(gsc_sample),
                                "background_noise": False})
    result = run_snakemake(tmp_path, config, "--cores", "2")
    counts = job_counts(result.stdout + result.stderr)
    assert counts["gsc_index"] == 1 and "gsc_extract" not in counts
    assert "gsc_background" not in counts and "evaluate_background" not in counts
    table = (tmp_path / "results" / "table2.md").read_text()
    assert "Speech Commands (your own extracted copy)" in table
    provenance = json.loads((tmp_path / "results" / "provenance.json").read_text())
    assert provenance["workflow"]["data_gsc"] == f"your own extracted copy: {gsc_sample}"
    log = (tmp_path / "results" / "logs" / "gsc_index.log").read_text()
    assert "your own copy of Speech Commands, 100 digit clips" in log
    assert "Nothing to be done" in run_snakemake(tmp_path, config, "-n").stdout


@pytestmark_workflow
def test_a_copy_without_background_noise_folder_fails_in_one_line_when_it_is_needed(
        gsc_sample, tmp_path):
    config = _config(tmp_path, {"source": "directory", "directory": str(gsc_sample)})
    result = run_snakemake(tmp_path, config, "--cores", "1", "data/gsc/manifest.parquet",
                           check=False)
    assert result.returncode != 0
    log = (tmp_path / "results" / "logs" / "gsc_index.log").read_text().strip().splitlines()
    assert log == [f"error: {gsc_sample / '_background_noise_'}: missing or without .wav "
                   "recordings; copy it from the archive, or set gsc.background_noise: false "
                   "to skip that test"]


def _tiny_archive(path: Path) -> Path:
    """A tar.gz with a valid header (the up-front check reads it); its contents do not matter
    to a dry run."""
    with tarfile.open(path, "w:gz") as archive:
        data = b"zero\n"
        info = tarfile.TarInfo("testing_list.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


@pytestmark_workflow
@pytest.mark.parametrize("settings, check, header", [
    ({}, f"--sha256 {GSC_SHA256}", "Speech Commands v0.01 (local archive)"),
    ({"sha256": "ab" * 32}, f"--sha256 {'ab' * 32}", "NOT the official v0.01 one"),
    ({"allow_unofficial_archive": True}, None, "NOT the official v0.01 one"),
])
def test_an_archive_of_your_own_is_checked_against_your_digest_or_said_unofficial(
        tmp_path, settings, check, header):
    archive = _tiny_archive(tmp_path / "my-speech.tar.gz")
    config = _config(tmp_path, {"source": "archive", "archive": str(archive), **settings})
    result = run_snakemake(tmp_path, config, "-n", "-p", "results/table2.md")
    (extract,) = [line for line in result.stdout.splitlines()
                  if "sparse_pkg.commands.extract_gsc " in line]
    if check:
        assert check in extract
    else:
        assert "--sha256" not in extract
    assert header in result.stdout  # the table's source line is a param of its rule
