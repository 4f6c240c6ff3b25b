"""The scaled-down demo through the user's SLURM profile on a real (loopback) SLURM cluster.

Run by `make test-slurm` (tests/slurm/run.sh starts the cluster and sets SPARSE_SLURM_CLUSTER);
skipped elsewhere. The profile used is workflow/profiles/slurm/config.yaml with the test-only
settings of tests/slurm/overrides.yaml layered on top, so what is checked here (which rules ask
for a GPU, the grouped evaluation) is the user's profile itself.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from workflow_helpers import run_snakemake

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CONFIG = HERE / "config.yaml"
USER_PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"
CLUSTER = os.environ.get("SPARSE_SLURM_CLUSTER")
GPU_RULES = {"train", "evaluate", "evaluate_run", "evaluate_background"}
COMPARED = ["metrics.parquet", "history.parquet", "table1.md", "table3.md", "fig2.csv"]

pytestmark = pytest.mark.skipif(
    not CLUSTER, reason="needs the loopback SLURM cluster that `make test-slurm` starts"
)


def layered_profile(user: dict, overrides: dict) -> dict:
    """The user's profile with the test overrides merged in (nested keys merge, others replace).

    ``cap-resources`` is not a Snakemake key: it caps every matching request of the user's
    profile (default and per rule) so that each job fits the small test node.
    """
    overrides = copy.deepcopy(overrides)
    caps = overrides.pop("cap-resources", {})

    def merge(base: dict, extra: dict) -> dict:
        out = copy.deepcopy(base)
        for key, value in extra.items():
            both_dicts = isinstance(value, dict) and isinstance(out.get(key), dict)
            out[key] = merge(out[key], value) if both_dicts else value
        return out

    profile = merge(user, overrides)
    for resources in [profile.get("default-resources", {}),
                      *profile.get("set-resources", {}).values()]:
        for key, cap in caps.items():
            if key in resources:
                resources[key] = min(resources[key], cap)
    return profile


def test_layering_keeps_the_users_gpu_requests_and_caps_the_rest():
    user = {"executor": "slurm", "default-resources": {"mem_mb": 4000, "runtime": 60},
            "set-resources": {"train": {"gpu": 1, "mem_mb": 16000, "cpus_per_task": 4}}}
    overrides = {"retries": 0, "default-resources": {"slurm_partition": "debug"},
                 "cap-resources": {"mem_mb": 400, "cpus_per_task": 1}}
    assert layered_profile(user, overrides) == {
        "executor": "slurm", "retries": 0,
        "default-resources": {"mem_mb": 400, "runtime": 60, "slurm_partition": "debug"},
        "set-resources": {"train": {"gpu": 1, "mem_mb": 400, "cpus_per_task": 1}},
    }
    assert user["set-resources"]["train"]["mem_mb"] == 16000  # the input is not modified


def _snakemake(workdir: Path, *args: str, timeout: int) -> str:
    """Run the workflow in ``workdir``; return Snakemake's output (fails the test on error)."""
    result = run_snakemake(workdir, CONFIG, *args, timeout=timeout)
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same configuration run locally and through SLURM; returns both folders and the log."""
    local = tmp_path_factory.mktemp("local")
    _snakemake(local, "--cores", "2", timeout=300)
    cluster = tmp_path_factory.mktemp("slurm")
    profile_dir = cluster / "profile"
    profile_dir.mkdir()
    profile = layered_profile(yaml.safe_load(USER_PROFILE.read_text()),
                              yaml.safe_load((HERE / "overrides.yaml").read_text()))
    (profile_dir / "config.yaml").write_text(yaml.safe_dump(profile))
    output = _snakemake(cluster, "--profile", str(profile_dir), timeout=360)
    return local, cluster, output


def _submissions(output: str) -> list[tuple[str, int, Path]]:
    """(Snakemake job id, SLURM job id, SLURM log) of every submission in Snakemake's output."""
    pattern = r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\."
    return [(job, int(slurm_id), Path(log)) for job, slurm_id, log in re.findall(pattern, output)]


def _scontrol(slurm_id: int) -> dict[str, str]:
    line = subprocess.run(["scontrol", "show", "job", "--oneliner", str(slurm_id)],
                          capture_output=True, text=True, check=True).stdout
    return dict(field.split("=", 1) for field in line.split() if "=" in field)


def _rule_of(log: Path) -> str:
    """Rule (or group) name from the plugin's log path: slurm_logs/rule_<name>/... or group_..."""
    folder = log.parts[log.parts.index("slurm_logs") + 1]
    return folder.removeprefix("rule_")


def test_every_job_went_through_sbatch(runs):
    _, cluster, output = runs
    submissions = _submissions(output)
    # mnist_prepare, table3, figure2, 2 x train, one group of the 4 evaluate jobs,
    # aggregate, table 1, figure4
    assert len(submissions) == 9, output[-4000:]
    assert sorted(_rule_of(log) for _, _, log in submissions) == sorted(
        ["mnist_prepare", "table3", "figure2", "train", "train", "group_evaluate_evaluate",
         "aggregate", "table", "figure4"])
    assert len({slurm_id for _, slurm_id, _ in submissions}) == 9
    for _, slurm_id, log in submissions:
        assert log.is_file() and log.name == f"{slurm_id}.log"  # the job's own SLURM log
        assert _scontrol(slurm_id)["JobState"] == "COMPLETED"
    finished = re.findall(r"Finished jobid: (\d+) \(Rule: (\w+)\)", output)
    submitted = {job for job, _, _ in submissions}
    for job, rule in finished:  # every job ran in SLURM: submitted alone or in the group
        assert job in submitted or rule in {"evaluate", "all"}, (job, rule)
    assert sum(rule == "evaluate" for _, rule in finished) == 4
    assert (cluster / "results" / "metrics.parquet").is_file()


def test_only_train_and_evaluate_jobs_asked_for_a_gpu(runs):
    _, _, output = runs
    for _, slurm_id, log in _submissions(output):
        rule = _rule_of(log)
        asked = _scontrol(slurm_id).get("TresPerJob", "")
        wants_gpu = rule in GPU_RULES or rule.startswith("group_evaluate")
        # the grouped evaluation runs its jobs in series on one GPU, not one GPU each
        assert asked == ("gres:gpu:1" if wants_gpu else ""), (rule, asked)


def test_outputs_equal_those_of_a_local_run(runs):
    local, cluster, _ = runs
    for name in COMPARED:
        ours = (cluster / "results" / name).read_bytes()
        assert ours == (local / "results" / name).read_bytes(), name
