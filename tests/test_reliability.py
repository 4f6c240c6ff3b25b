"""Whole-workflow guarantees on a scaled-down demo: determinism, idempotence, crash recovery.

Three real Snakemake runs of tests/configs/reliability.yaml in temporary folders: two from
scratch (must give the same bytes), and one killed with SIGKILL in the middle of a training job,
then run again (must reuse what was finished, resume the killed training and give the same
bytes as the uninterrupted run).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
import yaml
from workflow_helpers import SNAKEMAKE, job_counts, run_snakemake, snakemake_command, snakemake_env

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "tests" / "configs" / "reliability.yaml"
# What a user reads: every aggregated table and every report table (figures are drawn from these).
COMPARED = ["metrics.parquet", "history.parquet", "background_noise.parquet",
            "table1.md", "table2.md", "table3.md", "fig2.csv"]
VICTIM = Path("results/runs/mnist/denseCNN1/seed_42")  # the training job that gets killed

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not SNAKEMAKE.exists(), reason="snakemake not in this venv")]


def _command(workdir: Path, *args: str) -> list[str]:
    """Snakemake with the workdir's own copy of networks.yaml (tests edit it)."""
    return snakemake_command(workdir, CONFIG, *args, networks_file="networks.yaml")


def snakemake(workdir: Path, *args: str) -> str:
    """Run Snakemake in ``workdir`` (failing the test on error); return stdout + stderr."""
    result = run_snakemake(workdir, CONFIG, *args, networks_file="networks.yaml", timeout=900)
    return result.stdout + result.stderr


def _new_workdir(factory, name: str) -> Path:
    """A fresh folder holding its own copy of networks.yaml (tests edit it)."""
    workdir = factory.mktemp(name)
    shutil.copy(REPO / "config" / "networks.yaml", workdir / "networks.yaml")
    return workdir


def _files(workdir: Path) -> dict[str, tuple[int, int]]:
    """Every output file under data/ and results/ (not logs): path -> (mtime_ns, size)."""
    found = {}
    for top in ("data", "results"):
        for path in (workdir / top).rglob("*"):
            relative = path.relative_to(workdir)
            if path.is_file() and "logs" not in relative.parts and "benchmarks" not in \
                    relative.parts:
                stat = path.stat()
                found[str(relative)] = (stat.st_mtime_ns, stat.st_size)
    return found


def _finished_outputs(log: str) -> set[str]:
    """Outputs of the jobs a Snakemake log reports as finished (a job's outputs: its block's
    'output:' line; finished: a 'Finished jobid: N' line)."""
    outputs: dict[str, list[str]] = {}
    current: list[str] = []
    for line in log.splitlines():
        stripped = line.strip()
        if stripped.startswith("output: "):
            current = [p.strip() for p in stripped.removeprefix("output: ").split(",")]
        elif stripped.startswith("jobid: "):
            outputs[stripped.removeprefix("jobid: ")] = current
    finished = re.findall(r"Finished jobid: (\d+) ", log)
    return {path for job in finished for path in outputs.get(job, [])}


def _is_under(path: str, outputs: set[str]) -> bool:
    """``path`` is one of ``outputs`` or inside one of them (a directory output)."""
    return any(path == out or path.startswith(out.rstrip("/") + "/") for out in outputs)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory) -> Path:
    workdir = _new_workdir(tmp_path_factory, "clean")
    snakemake(workdir, "--cores", "2")
    return workdir


@pytest.fixture(scope="module")
def second_clean_run(tmp_path_factory) -> Path:
    workdir = _new_workdir(tmp_path_factory, "again")
    snakemake(workdir, "--cores", "2")
    return workdir


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory) -> dict:
    """A run SIGKILLed (Snakemake and every process it started) mid-training, then rerun."""
    workdir = _new_workdir(tmp_path_factory, "killed")
    log_path = workdir.parent / f"{workdir.name}.snakemake.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(_command(workdir, "--cores", "2"), env=snakemake_env(),
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        resume_file = workdir / VICTIM / "resume.pt"  # written atomically after the first epoch
        # the whole process group, as a crash or an out-of-memory kill of the session would
        _kill_when(process, resume_file)
    time.sleep(0.5)  # let the killed children go
    before = _files(workdir)
    finished = _finished_outputs(log_path.read_text())
    killed_at = torch.load(resume_file, weights_only=False)["epoch"]
    first = run_snakemake(workdir, CONFIG, "--cores", "2", networks_file="networks.yaml",
                          check=False, timeout=900)
    rerun_output = first.stdout + first.stderr
    if first.returncode != 0 and "lock" in rerun_output.lower():  # the killed run's lock
        snakemake(workdir, "--unlock")
        rerun_output = snakemake(workdir, "--cores", "2")
    else:
        assert first.returncode == 0, rerun_output[-5000:]
    return {"workdir": workdir, "before": before, "finished": finished, "killed_at": killed_at,
            "rerun_output": rerun_output}


def test_two_runs_from_scratch_give_identical_bytes(clean_run, second_clean_run):
    for name in COMPARED:
        ours = (second_clean_run / "results" / name).read_bytes()
        assert ours == (clean_run / "results" / name).read_bytes(), name


def test_a_finished_tree_has_nothing_to_do(clean_run):
    output = snakemake(clean_run, "--cores", "2")
    assert "Nothing to be done" in output
    assert job_counts(snakemake(clean_run, "-n")) == {}


def test_touching_networks_yaml_without_a_change_reruns_nothing(clean_run):
    # Snakemake compares the content of an input that is merely newer: a touch is no change
    os.utime(clean_run / "networks.yaml")
    assert job_counts(snakemake(clean_run, "-n")) == {}


def test_editing_one_network_reruns_only_its_jobs_and_the_report(clean_run):
    definitions = clean_run / "networks.yaml"
    original, stat = definitions.read_text(), definitions.stat()
    document = yaml.safe_load(original)
    document["mnist"]["networks"]["sparseCNN1"]["lr"] = 0.015
    try:
        definitions.write_text(yaml.safe_dump(document, sort_keys=False))
        output = snakemake(clean_run, "-n")
        assert job_counts(output) == {
            "train": 1, "evaluate_run": 1,  # sparseCNN1's run alone
            "aggregate": 1, "table": 2, "table3": 1, "figure4": 1, "gsc_noise_figure": 1,
            "all": 1,
        }
        assert "network=sparseCNN1" in output and "network=denseCNN1" not in output
    finally:
        definitions.write_text(original)
        os.utime(definitions, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert job_counts(snakemake(clean_run, "-n")) == {}


def test_sigkill_mid_training_then_rerun_resumes_and_matches(killed_run, clean_run):
    workdir, before = killed_run["workdir"], killed_run["before"]
    assert str(VICTIM / "final.pt") not in before  # the victim had not finished when killed
    assert killed_run["killed_at"] < 2  # epochs were left to train (3 in all)
    assert f"{VICTIM / 'resume.pt'}" in before
    # every output of a job finished before the kill is reused, untouched (outputs of jobs cut
    # off half-way, e.g. an evaluation that had written some of its levels, are redone)
    after = _files(workdir)
    reused = [path for path in before if _is_under(path, killed_run["finished"])]
    assert "data/mnist/train.pt" in reused  # mnist_prepare necessarily finished before training
    for path in reused:
        assert after.get(path) == before[path], f"{path} was rewritten"
    rerun_jobs = job_counts(killed_run["rerun_output"])
    assert "mnist_prepare" not in rerun_jobs  # finished before any training started
    finished_runs = sum(path.endswith("/history.parquet") for path in killed_run["finished"])
    assert rerun_jobs["train"] == 3 - finished_runs  # only the runs that had not finished
    # the killed training continued from its last finished epoch instead of starting over
    log = (workdir / "results/logs/train/mnist/denseCNN1/seed_42.log").read_text()
    assert f"resuming mnist/denseCNN1 seed 42 at epoch {killed_run['killed_at'] + 2}/3" in log
    assert not (workdir / VICTIM / "resume.pt").exists()  # removed once the run completed
    for name in COMPARED:
        ours = (workdir / "results" / name).read_bytes()
        assert ours == (clean_run / "results" / name).read_bytes(), name


def _kill_when(process: subprocess.Popen, path: Path, deadline_s: float = 600) -> None:
    """SIGKILL ``process`` and its whole process group as soon as ``path`` exists."""
    deadline = time.monotonic() + deadline_s
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"{path} never appeared (snakemake status {process.returncode})")
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def test_a_job_killed_between_its_outputs_is_rerun_not_refused(tmp_path_factory, clean_run):
    # gsc_eval_features writes validation.pt first and background.pt last; killed in between,
    # the job is marked incomplete with some outputs on disk. The workflow's default profile
    # (rerun-incomplete) reruns it on the next plain `snakemake` instead of refusing to go on.
    workdir = _new_workdir(tmp_path_factory, "incomplete")
    outputs = [Path("data/gsc") / name for name in
               ("validation.pt", "test.pt", "noisy/level_0.pt", "noisy/level_0.1.pt",
                "noisy/level_0.5.pt", "background.pt")]
    target = str(outputs[-1])
    process = subprocess.Popen(_command(workdir, "--cores", "1", target), env=snakemake_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    _kill_when(process, workdir / outputs[0])
    assert not (workdir / outputs[-1]).exists()  # killed in the middle of the job
    snakemake(workdir, "--unlock")
    output = snakemake(workdir, "--cores", "1", target)
    assert "incomplete" in output.lower() and "gsc_eval_features" in output
    for path in outputs:  # the same bytes as a run never interrupted
        assert (workdir / path).read_bytes() == (clean_run / path).read_bytes(), path


def test_finished_outputs_parser_reads_snakemake_logs():
    log = ("localrule train:\n    input: a\n    output: x/p.pt, x/f.pt\n    log: l\n"
           "    jobid: 3\nrule gsc_extract:\n    output: data/clips, data/m.parquet\n"
           "    jobid: 12\nrule figure2:\n    output: f.png\n    jobid: 1\n"
           "Finished jobid: 12 (Rule: gsc_extract)\nFinished jobid: 1 (Rule: figure2)\n")
    finished = _finished_outputs(log)
    assert finished == {"data/clips", "data/m.parquet", "f.png"}
    assert _is_under("data/clips/one/a.wav", finished) and not _is_under("x/p.pt", finished)
    assert not _is_under("data/clipsX/a.wav", finished)


def test_job_stats_parser_reads_snakemake_tables():
    sample = ("Job stats:\njob           count\n----------  -------\naggregate       1\n"
              "train           2\ntotal           3\n\nSelect jobs to execute...\n")
    assert job_counts(sample) == {"aggregate": 1, "train": 2}
    assert job_counts("Nothing to be done (all requested files are present).") == {}
