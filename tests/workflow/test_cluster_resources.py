"""What the workflow asks a cluster for: local rules, memory and time per rule, GPUs, groups.

Fast (no job runs, no SLURM): tests/helpers/rule_resources.py parses the workflow with
Snakemake's API
for the full paper configuration and reports each rule's resources at attempts 1 and 2.
The same things on a real SLURM cluster: tests/slurm/test_slurm.py (`make test-slurm`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers.rule_resources import run_probe
from tests.helpers.workflow import SNAKEMAKE

REPO = Path(__file__).resolve().parents[2]
PAPER = REPO / "config" / "paper.yaml"
PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"
LOCAL_RULES = {"mnist_download", "gsc_download", "verify_data", "aggregate_run", "aggregate",
               "table", "table3", "claims", "provenance", "figure2", "figure4",
               "gsc_noise_figure", "sweep_report", "all"}
GPU_RULES = {"train", "evaluate", "evaluate_run", "evaluate_background"}
GROUP_SIZE = 11  # the profile's group-components: evaluate: 11

pytestmark = pytest.mark.skipif(not SNAKEMAKE.exists(), reason="snakemake not in this venv")


def probe(tmp: Path, compute: dict | None = None, profile: Path | None = None) -> dict:
    """The rules' resources for config/paper.yaml (plus ``compute`` keys) and ``profile``."""
    extra = tmp / "extra.yaml"
    extra.write_text(yaml.safe_dump({"compute": compute or {}}))
    return run_probe(tmp / "work", [PAPER, extra], profile, group_size=GROUP_SIZE)


@pytest.fixture(scope="module")
def with_profile(tmp_path_factory) -> dict:
    """The paper run as the SLURM profile submits it."""
    return probe(tmp_path_factory.mktemp("profile"), profile=PROFILE)


@pytest.fixture(scope="module", params=["level", "run"])
def own(request, tmp_path_factory) -> dict:
    """The rules alone (no profile), one GPU per job, for both evaluation layouts."""
    return probe(tmp_path_factory.mktemp(f"own_{request.param}"),
                 compute={"evaluate_per": request.param, "gpus_per_job": 1})


def cluster_rules(document: dict) -> dict:
    return {name: rule for name, rule in document["rules"].items() if not rule["local"]}


def test_downloads_and_report_steps_are_local_rules(with_profile):
    """Downloads need the internet compute nodes may lack; checksum checks and report steps
    take seconds (a cluster job would wait in the queue longer than it runs)."""
    local = {name for name, rule in with_profile["rules"].items() if rule["local"]}
    assert local == LOCAL_RULES


def test_every_cluster_rule_declares_memory_and_runtime(own):
    rules = cluster_rules(own)
    assert {"train", "mnist_prepare", "gsc_train_features"} <= set(rules)
    for name, rule in rules.items():
        assert {"mem_mb", "runtime"} <= set(rule["declared"]), name
        first = rule["attempts"]["1"]
        assert first["mem_mb"] >= 1000 and first["runtime"] >= 5, (name, first)


def test_memory_and_runtime_grow_with_the_attempt(own):
    """`retries` then resubmits a job that ran out of memory or time with more of both."""
    for name, rule in cluster_rules(own).items():
        first, second = rule["attempts"]["1"], rule["attempts"]["2"]
        for resource in ("mem_mb", "runtime"):
            assert second[resource] > first[resource], (name, resource, first, second)


def test_gpus_per_job_gives_train_and_evaluate_a_gpu(own):
    """compute.gpus_per_job (gpu_resources() in common.smk) still reaches the GPU rules only."""
    for name, rule in own["rules"].items():
        gpus = rule["attempts"]["1"].get("gpu", 0)
        assert gpus == (1 if name in GPU_RULES else 0), (name, gpus)
    assert GPU_RULES & set(own["rules"])


def test_a_grouped_evaluation_asks_for_one_gpu_and_one_jobs_memory(with_profile):
    """11 evaluation jobs in one submission run in series: 1 GPU, 1 job's memory and CPUs,
    the runtimes summed (without the profile's gpu limit: 11 GPUs, 11 CPUs, 11x memory)."""
    single = with_profile["rules"]["evaluate"]["attempts"]
    for attempt, group in with_profile["evaluate_group"].items():
        job = single[attempt]
        assert group["gpu"] == 1 == job["gpu"], group
        assert group["mem_mb"] == job["mem_mb"], group
        assert group["_cores"] == job["_cores"], group
        assert group["runtime"] == GROUP_SIZE * job["runtime"], group


def test_the_slurm_profile_leaves_memory_and_time_to_the_rules():
    """A profile-wide mem_mb or runtime would override the rules' sizes and their growth."""
    profile = yaml.safe_load(PROFILE.read_text())
    sections = [profile.get("default-resources") or {},
                *(profile.get("set-resources") or {}).values()]
    for section in sections:
        assert not {"mem_mb", "mem", "runtime", "cpus_per_task"} & set(section), section


def test_the_slurm_workflow_profile_keeps_the_default_profiles_settings():
    """`--workflow-profile workflow/profiles/slurm` replaces workflow/profiles/default: crash
    recovery (rerun-incomplete) and the failed job's log on the console must not be lost."""
    default = yaml.safe_load((REPO / "workflow" / "profiles" / "default" / "config.yaml")
                             .read_text())
    slurm = yaml.safe_load(PROFILE.read_text())
    assert default == {"rerun-incomplete": True, "show-failed-logs": True}
    assert {key: slurm.get(key) for key in default} == default
    assert "--profile workflow/profiles/slurm" not in (REPO / "README.md").read_text()
