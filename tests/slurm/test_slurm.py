"""The scaled-down demo through the user's SLURM profile on a real (loopback) SLURM cluster.

Run by `make test-slurm` (tests/slurm/run.sh starts the cluster and sets SPARSE_SLURM_CLUSTER);
skipped elsewhere. The profile is given as README says, `--workflow-profile`: it is
workflow/profiles/slurm/config.yaml with the test-only settings of tests/slurm/overrides.yaml
layered on top, so what is checked here (which rules ask
for a GPU, the grouped evaluation, which rules stay on the submit host, the memory and time each
submission asks for) is the user's profile and the rules' own declarations.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from tests.helpers.rule_resources import run_probe
from tests.helpers.workflow import job_counts, run_snakemake

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CONFIG = HERE / "config.yaml"
USER_PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"
CLUSTER = os.environ.get("SPARSE_SLURM_CLUSTER")
GPU_RULES = {"train", "evaluate", "evaluate_run", "evaluate_background"}
# The local rules (workflow/Snakefile): run by the submitting Snakemake, never through sbatch
LOCAL_RULES = {"mnist_download", "gsc_download", "verify_data", "aggregate_run", "aggregate",
               "table", "table3", "claims", "provenance", "figure2", "figure4",
               "gsc_noise_figure", "all"}
GROUP = "group_evaluate_evaluate"  # the plugin's log folder of a grouped evaluation submission
COMPARED = ["metrics.parquet", "history.parquet", "table1.md", "table3.md", "fig2.csv"]

pytestmark = pytest.mark.skipif(
    not CLUSTER, reason="needs the loopback SLURM cluster that `make test-slurm` starts"
)


def layered_profile(user: dict, overrides: dict, declared: dict[str, dict] | None = None) -> dict:
    """The user's profile with the test overrides merged in (nested keys merge, others replace).

    ``cap-resources`` is not a Snakemake key: it caps every matching request of the user's
    profile (default and per rule) and of the rules' own ``declared`` resources (rule -> values,
    as tests/helpers/rule_resources.py reads them), so that each job fits the small test node.
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
    for rule, values in (declared or {}).items():
        for key, cap in caps.items():
            asked = profile.get("set-resources", {}).get(rule, {}).get(key, values.get(key))
            if isinstance(asked, int) and asked > cap:
                profile.setdefault("set-resources", {}).setdefault(rule, {})[key] = cap
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
    declared = {"train": {"mem_mb": 16000, "runtime": 720}, "evaluate": {"mem_mb": 300}}
    layered = layered_profile({"executor": "slurm", "set-resources": {"train": {"gpu": 1}}},
                              {"cap-resources": {"mem_mb": 400, "runtime": 10}}, declared)
    assert layered["set-resources"] == {"train": {"gpu": 1, "mem_mb": 400, "runtime": 10}}


def _snakemake(workdir: Path, *args: str, timeout: int) -> str:
    """Run the workflow in ``workdir``; return Snakemake's output (fails the test on error)."""
    result = run_snakemake(workdir, CONFIG, *args, timeout=timeout)
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same configuration run locally and through SLURM. Gives both folders (``local``,
    ``cluster``), the cluster run's log (``output``), the local run's job counts per rule
    (``counts``) and what each rule asked for (``asked``: its own resources, capped by the test
    profile)."""
    local = tmp_path_factory.mktemp("local")
    counts = job_counts(_snakemake(local, "--cores", "2", timeout=300))
    cluster = tmp_path_factory.mktemp("slurm")
    profile_dir = cluster / "profile"
    profile_dir.mkdir()
    rules = run_probe(tmp_path_factory.mktemp("probe"), [CONFIG])["rules"]
    declared = {name: rule["attempts"]["1"] for name, rule in rules.items()}
    profile = layered_profile(yaml.safe_load(USER_PROFILE.read_text()),
                              yaml.safe_load((HERE / "overrides.yaml").read_text()), declared)
    (profile_dir / "config.yaml").write_text(yaml.safe_dump(profile))
    output = _snakemake(cluster, "--workflow-profile", str(profile_dir), timeout=360)
    overridden = profile.get("set-resources", {})
    asked = {rule: {**values, **overridden.get(rule, {})} for rule, values in declared.items()}
    return SimpleNamespace(local=local, cluster=cluster, output=output, counts=counts,
                           asked=asked)


def _expected_submissions(counts: dict[str, int]) -> list[str]:
    """One submission per job of a cluster rule, one for the (at most 11) evaluation jobs."""
    alone = [rule for rule, n in counts.items() for _ in range(n)
             if rule not in LOCAL_RULES and rule != "evaluate"]
    return alone + [GROUP] * (0 < counts.get("evaluate", 0) <= 11)


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


def _finished(output: str) -> list[tuple[str, str]]:
    """(Snakemake job id, rule) of every job Snakemake reports finished."""
    return re.findall(r"Finished jobid: (\d+) \(Rule: (\w+)\)", output)


def _slurm_jobs() -> dict[int, str]:
    """Every job the test cluster knows, finished ones included (MinJobAge=300): id -> comment.

    The SLURM plugin comments each job with ``rule_<name>`` (and its wildcards).
    """
    lines = subprocess.run(["scontrol", "show", "job", "--oneliner"],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    fields = [dict(f.split("=", 1) for f in line.split() if "=" in f) for line in lines]
    return {int(job["JobId"]): job.get("Comment", "") for job in fields if "JobId" in job}


def _megabytes(text: str) -> int:
    """SLURM's memory field (``400M``, ``16G``) in MB."""
    return int(float(text[:-1]) * {"M": 1, "G": 1024, "T": 1024**2}[text[-1]])


def _minutes(text: str) -> int:
    """SLURM's time field (``00:40:00``, ``1-12:00:00``) in minutes."""
    days, _, clock = text.rpartition("-")
    hours, minutes, _ = (int(part) for part in clock.split(":"))
    return int(days or 0) * 24 * 60 + hours * 60 + minutes


def test_every_cluster_job_went_through_sbatch(runs):
    submissions = _submissions(runs.output)
    expected = _expected_submissions(runs.counts)
    # mnist_prepare, the noisy test sets, 2 x train and one group of the 4 evaluate jobs
    assert {"mnist_prepare", "train", GROUP} <= set(expected) and runs.counts["evaluate"] == 4
    assert sorted(_rule_of(log) for _, _, log in submissions) == sorted(expected), \
        runs.output[-4000:]
    assert len({slurm_id for _, slurm_id, _ in submissions}) == len(expected)
    for _, slurm_id, log in submissions:
        assert log.is_file() and log.name == f"{slurm_id}.log"  # the job's own SLURM log
        assert _scontrol(slurm_id)["JobState"] == "COMPLETED"
    finished = _finished(runs.output)
    submitted = {job for job, _, _ in submissions}
    for job, rule in finished:  # every other job ran in SLURM: submitted alone or in the group
        assert job in submitted or rule in LOCAL_RULES | {"evaluate"}, (job, rule)
    assert sum(rule == "evaluate" for _, rule in finished) == 4
    assert (runs.cluster / "results" / "metrics.parquet").is_file()


def test_local_rules_ran_on_the_submit_host(runs):
    """Local rules got no SLURM job id, and SLURM never saw them; every other job it did."""
    output = runs.output
    submissions = _submissions(output)
    submitted = {job for job, _, _ in submissions}
    local = [(job, rule) for job, rule in _finished(output) if rule in LOCAL_RULES]
    in_dag = LOCAL_RULES & set(runs.counts)
    assert {"verify_data", "aggregate", "table", "figure2", "all"} <= in_dag
    assert {rule for _, rule in local} == in_dag, output[-4000:]
    assert len(local) == sum(runs.counts[rule] for rule in in_dag)
    for job, rule in local:
        assert job not in submitted, (job, rule)
        assert f"localrule {rule}:" in output, rule  # Snakemake ran it itself
    known = _slurm_jobs()
    assert set(known) == {slurm_id for _, slurm_id, _ in submissions}, known
    ran_in_slurm = {comment.removeprefix("rule_").split("_wildcards_")[0]
                    for comment in known.values()}
    assert not ran_in_slurm & LOCAL_RULES, ran_in_slurm


def test_each_submission_asks_for_its_rules_memory_and_time(runs):
    """sbatch --mem and -t come from the rules' mem_mb and runtime (capped for the test node);
    the grouped evaluation asks for one member's memory and the members' runtimes summed."""
    asked = runs.asked
    members = sum(rule == "evaluate" for _, rule in _finished(runs.output))
    for _, slurm_id, log in _submissions(runs.output):
        rule = _rule_of(log)
        job = _scontrol(slurm_id)
        if rule == GROUP:
            memory = asked["evaluate"]["mem_mb"]
            minutes = members * asked["evaluate"]["runtime"]
        else:
            memory, minutes = asked[rule]["mem_mb"], asked[rule]["runtime"]
        assert _megabytes(job["MinMemoryNode"]) == memory, (rule, job["MinMemoryNode"])
        assert _minutes(job["TimeLimit"]) == minutes, (rule, job["TimeLimit"])


def test_only_train_and_evaluate_jobs_asked_for_a_gpu(runs):
    for _, slurm_id, log in _submissions(runs.output):
        rule = _rule_of(log)
        asked = _scontrol(slurm_id).get("TresPerJob", "")
        wants_gpu = rule in GPU_RULES or rule.startswith("group_evaluate")
        # the grouped evaluation runs its jobs in series on one GPU, not one GPU each
        assert asked == ("gres:gpu:1" if wants_gpu else ""), (rule, asked)


def test_outputs_equal_those_of_a_local_run(runs):
    for name in COMPARED:
        ours = (runs.cluster / "results" / name).read_bytes()
        assert ours == (runs.local / "results" / name).read_bytes(), name
