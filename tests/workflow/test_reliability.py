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

from tests.helpers.workflow import (
    SNAKEMAKE,
    job_counts,
    run_snakemake,
    snakemake_command,
    snakemake_env,
)

REPO = Path(__file__).resolve().parents[2]
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
            "train": 1, "evaluate_run": 1, "aggregate_run": 1,  # sparseCNN1's run alone
            "aggregate": 1, "table": 2, "table3": 1, "figure4": 1, "gsc_noise_figure": 1,
            "claims": 1, "provenance": 1, "all": 1,
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
    finished_runs = sum(re.fullmatch(r"results/runs/[^/]+/[^/]+/seed_\d+/history\.parquet", path)
                        is not None for path in killed_run["finished"])  # not tables/history
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
    # gsc_eval_features writes validation.pt first and test.pt's checksum last; killed in
    # between, the job is marked incomplete with some outputs on disk. The workflow's default
    # profile (rerun-incomplete) reruns it on the next plain `snakemake` instead of refusing.
    workdir = _new_workdir(tmp_path_factory, "incomplete")
    outputs = [Path("data/gsc") / name for name in
               ("validation.pt", "validation.pt.sha256", "test.pt", "test.pt.sha256")]
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


# --- Nothing recomputed that need not be, nothing lost on a damaged cache ---------------------

PREPARATION = {"mnist_prepare", "gsc_extract", "gsc_eval_features", "gsc_train_features", "train"}


def _variant(tmp_path: Path, edit) -> Path:
    """A copy of the test configuration changed by ``edit(document)``."""
    document = yaml.safe_load(CONFIG.read_text())
    edit(document)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _dry_run(workdir: Path, configfile: Path) -> str:
    result = run_snakemake(workdir, configfile, "-n", networks_file="networks.yaml")
    return result.stdout + result.stderr


def test_adding_a_noise_level_reruns_only_its_noisy_sets_and_evaluations(clean_run, tmp_path):
    variant = _variant(tmp_path, lambda d: d["noise_levels"].append(0.3))
    output = _dry_run(clean_run, variant)
    counts = job_counts(output)
    assert not PREPARATION & set(counts), counts  # no training, no clean set rewritten
    assert counts["mnist_noise"] == 1 and counts["gsc_noise"] == 1
    assert counts["verify_data"] == 2  # the two new files only
    assert counts["evaluate_run"] == 3  # evaluate_per: run scores a run's levels in one job
    noisy = re.findall(r"wildcards: level=(\S+)", output)
    assert noisy and set(noisy) == {"0.3"}


def test_a_new_noise_seed_reruns_only_noisy_sets_and_evaluations(clean_run, tmp_path):
    def reseed(document):
        document["mnist"]["noise_seed"] = 99
        document["gsc"]["noise_seed"] = 98

    counts = job_counts(_dry_run(clean_run, _variant(tmp_path, reseed)))
    assert not PREPARATION & set(counts), counts
    assert counts["mnist_noise"] == 3 and counts["gsc_noise"] == 3
    assert counts["gsc_background"] == 1 and counts["evaluate_background"] == 1
    assert counts["evaluate_run"] == 3


def _copy(source: Path, target: Path) -> Path:
    """``cp -a``, as a user copies a project: times, modes and Snakemake's records kept."""
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)
    return target


def _copy_of_clean_run(clean_run: Path, name: str) -> Path:
    """A finished tree to damage, beside the original (the same depth: a repository file given
    as an input is recorded relative to the working folder)."""
    return _copy(clean_run, clean_run.with_name(f"{clean_run.name}_{name}"))


def _run_files(workdir: Path) -> dict[str, tuple[int, int]]:
    """Every file of every run folder (checkpoints, histories, evaluations): mtime and size."""
    return {path: stat for path, stat in _files(workdir).items() if path.startswith("results/runs")}


def _hint(workdir: Path, log: str) -> str:
    """The command the one-line error of a verify_data log tells the user to type."""
    line = (workdir / "results/logs/verify_data" / log).read_text().strip().splitlines()[-1]
    assert line.startswith("error: "), line
    return re.search(r"`([^`]+)`", line).group(1)


def test_a_truncated_training_set_stops_the_run_before_training_and_loses_nothing(clean_run):
    workdir = _copy_of_clean_run(clean_run, "truncated_train")
    runs, train = _run_files(workdir), workdir / "data/mnist/train.pt"
    original = train.read_bytes()
    os.truncate(train, len(original) // 2)  # a full disk, an interrupted copy
    result = run_snakemake(workdir, CONFIG, "--cores", "2", networks_file="networks.yaml",
                           check=False, timeout=900)
    assert result.returncode != 0
    assert _run_files(workdir) == runs  # no training job started: every run file untouched
    hint = _hint(workdir, "mnist/train.log")
    assert hint == "rm data/mnist/train.pt"
    subprocess.run(hint, shell=True, cwd=workdir, check=True)
    counts = job_counts(snakemake(workdir, "-n"))
    # rebuilt, and what reads it reruns: the two MNIST trainings (and the noisy sets made
    # from the test set written with it); nothing of GSC
    assert counts["mnist_prepare"] == 1 and counts["train"] == 2
    assert counts["evaluate_run"] == 2  # the MNIST runs; the GSC data and run are left alone
    assert not {"gsc_extract", "gsc_eval_features", "gsc_noise", "gsc_train_features"} & set(
        counts), counts


def test_a_truncated_noisy_level_is_caught_and_rm_rebuilds_only_it(clean_run):
    workdir = _copy_of_clean_run(clean_run, "truncated_level")
    runs, level = _run_files(workdir), workdir / "data/gsc/noisy/level_0.5.pt"
    original = level.read_bytes()
    os.truncate(level, len(original) - 1000)
    result = run_snakemake(workdir, CONFIG, "--cores", "2", networks_file="networks.yaml",
                           check=False, timeout=900)
    assert result.returncode != 0
    assert _run_files(workdir) == runs  # evaluations and checkpoints untouched
    hint = _hint(workdir, "gsc/noisy/level_0.5.log")
    assert hint == "rm data/gsc/noisy/level_0.5.pt"
    subprocess.run(hint, shell=True, cwd=workdir, check=True)
    counts = job_counts(snakemake(workdir, "--cores", "2"))  # the hint's command works
    assert counts["gsc_noise"] == 1 and counts["verify_data"] == 1
    assert counts["evaluate_run"] == 1  # the one GSC run's evaluation, no training
    assert not PREPARATION & set(counts) and "mnist_noise" not in counts, counts
    assert level.read_bytes() == original
    # checkpoints and histories untouched; the rescored run's eval files and tables are rewritten
    trained = {p: s for p, s in runs.items() if "/eval/" not in p and "/tables/" not in p}
    assert {p: s for p, s in _run_files(workdir).items() if p in trained} == trained
    for name in COMPARED:
        assert (workdir / "results" / name).read_bytes() == \
            (clean_run / "results" / name).read_bytes(), name


def _project_snakemake(project: Path, *args: str) -> str:
    """Snakemake as a user runs it in a checkout: its own Snakefile, config and networks file."""
    result = subprocess.run(
        [str(SNAKEMAKE), "--snakefile", str(project / "workflow" / "Snakefile"), "--directory",
         str(project), "--configfile", str(project / "quick.yaml"), *args],
        capture_output=True, text=True, env=snakemake_env(), timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    return output


def test_a_copied_project_plans_nothing(tmp_path):
    """A checkout with its finished results, copied (cp -a) elsewhere and the original removed:
    nothing to redo, because nothing Snakemake records (params, commands, input file names)
    holds the project's location."""
    project = tmp_path / "project"
    for part in ("workflow", "scripts", "sparse_pkg", "config", "envs"):
        shutil.copytree(REPO / part, project / part,
                        ignore=shutil.ignore_patterns("__pycache__"))

    def quick(document):  # every rule of the demo DAG, short trainings
        document["mnist"].update(max_epochs=1, max_train_samples=300)

    shutil.copy(_variant(tmp_path, quick), project / "quick.yaml")
    _project_snakemake(project, "--cores", "2")
    moved = _copy(project, tmp_path / "elsewhere" / "deeper" / "project")
    shutil.rmtree(project)
    assert "Nothing to be done" in _project_snakemake(moved, "-n")


def test_levels_are_written_exactly_in_file_names(tmp_path):
    """1e-05 as 'level_1e-05' broke evaluate_per: level (the level wildcard is a plain decimal)
    and 0.1234567 was rounded to 0.123457."""
    variant = _variant(tmp_path, lambda d: (d.update(noise_levels=[0.0, 1e-05, 0.1234567]),
                                            d["compute"].update(evaluate_per="level")))
    output = run_snakemake(tmp_path, variant, "-n", networks_file=REPO / "config/networks.yaml",
                           check=False).stdout
    assert "data/mnist/noisy/level_0.00001.pt" in output, output[-3000:]
    assert "eval/level_0.1234567.parquet" in output and "e-05" not in output
    assert job_counts(output)["evaluate"] == 3 * 3  # 3 runs x 3 levels


# ---------------------------------------------------------------------------------------------
# Results that heal: checkpoints and evaluation tables are targets; definitions keyed by content

GSC_RUN = Path("results/runs/gsc/sparseCNN2/seed_42")  # the run of 1 epoch: quick to retrain


def _bytes(workdir: Path, relative: Path | str) -> bytes:
    return (workdir / relative).read_bytes()


def test_a_truncated_checkpoint_names_the_command_and_that_command_heals_it(clean_run):
    workdir = _copy_of_clean_run(clean_run, "truncated_checkpoint")
    checkpoint = GSC_RUN / "final.pt"
    evaluation = GSC_RUN / "eval/level_0.5.parquet"
    before = {p: _bytes(workdir, p) for p in (GSC_RUN / "history.parquet", evaluation)}
    os.truncate(workdir / checkpoint, 100)
    (workdir / evaluation).unlink()  # the evaluation must run again, on the damaged file
    failed = run_snakemake(workdir, CONFIG, "--cores", "2", networks_file="networks.yaml",
                           check=False, timeout=900)
    assert failed.returncode != 0
    logs = (workdir / "results/logs/evaluate/gsc/sparseCNN2/seed_42").glob("*.log")
    (line,) = {log.read_text().strip().splitlines()[-1] for log in logs
               if "not a readable checkpoint" in log.read_text()}
    assert line.startswith(f"error: {checkpoint}: not a readable checkpoint"), line
    command = re.search(r"\(rm ([^)]+)\)", line).group(1)
    assert command == str(checkpoint) and "then rerun snakemake" in line
    subprocess.run(["rm", command], cwd=workdir, check=True)
    counts = job_counts(snakemake(workdir, "--cores", "2"))  # the plain rerun the line asks for
    assert counts["train"] == 1 and "mnist_prepare" not in counts, counts
    for path, content in before.items():
        assert _bytes(workdir, path) == content, path  # rebuilt to the byte
    for name in COMPARED:
        assert _bytes(workdir, f"results/{name}") == _bytes(clean_run, f"results/{name}"), name


def test_deleted_runs_and_evaluations_are_rebuilt_by_a_plain_rerun(clean_run):
    workdir = _copy_of_clean_run(clean_run, "deleted_runs")
    shutil.rmtree(workdir / "results" / "runs" / "gsc")
    (workdir / "results/runs/mnist/sparseCNN1/seed_42/eval/level_0.1.parquet").unlink()
    counts = job_counts(snakemake(workdir, "--cores", "2"))
    assert counts["train"] == 1 and counts["evaluate_run"] == 2, counts  # gsc run; mnist rescored
    assert _run_files(workdir).keys() == _run_files(clean_run).keys()
    for name in COMPARED:
        assert _bytes(workdir, f"results/{name}") == _bytes(clean_run, f"results/{name}"), name


def test_the_networks_file_spelled_otherwise_or_copied_plans_nothing(clean_run, tmp_path):
    """Runs depend on their definitions' content, not on how the file's path is spelled."""
    copy = tmp_path / "elsewhere" / "my-networks.yaml"
    copy.parent.mkdir()
    shutil.copy(clean_run / "networks.yaml", copy)
    for spelling in ("./networks.yaml", str(clean_run / "networks.yaml"), str(copy)):
        output = run_snakemake(clean_run, CONFIG, "-n", networks_file=spelling).stdout
        assert "Nothing to be done" in output, (spelling, output[-2000:])


def test_a_results_folder_with_a_space_is_refused_in_one_line(tmp_path):
    overlay = tmp_path / "space.yaml"
    overlay.write_text('results_dir: "my results"\n')
    done = run_snakemake(tmp_path, CONFIG, "-n", "--configfile", str(CONFIG), str(overlay),
                         networks_file=REPO / "config" / "networks.yaml", check=False)
    assert done.returncode != 0 and not (tmp_path / "my").exists()
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: config key results_dir: 'my results' contains a space, which the "
                      "workflow's shell commands cannot pass on; choose a path without spaces "
                      "(a symbolic link to it works)"]
