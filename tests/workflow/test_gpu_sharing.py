"""Several train/evaluate jobs per GPU (compute.jobs_per_gpu), checked on the CPU.

What the workflow declares (Snakemake dry runs of the demo configuration with GPU keys set),
what Snakemake's local scheduler makes of those declarations (a stand-in workflow of sleeping
jobs with the same resources), the schema's cap, and what the SLURM plugin would submit for the
profile's whole-GPU requests and for its documented sharding alternative. No GPU is used.
"""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from tests.helpers.workflow import SNAKEMAKE, snakemake_command, snakemake_env

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "config" / "config.yaml"
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"
GPU_RULES = {"train", "evaluate", "evaluate_background"}
GPU_MILLI = 1000  # a GPU's gpu_milli capacity (common.smk)

pytestmark = pytest.mark.skipif(not SNAKEMAKE.exists(), reason="snakemake not in this venv")


def dry_run(tmp: Path, compute: dict, *args: str) -> subprocess.CompletedProcess:
    """``snakemake -n`` of the demo configuration with ``compute`` keys on top."""
    extra = tmp / "compute.yaml"
    extra.write_text(yaml.safe_dump({"compute": compute}))
    command = snakemake_command(tmp / "work", DEMO, "-n", "--cores", "2", *args)
    command.insert(command.index("--config"), str(extra))  # a second --configfile
    return subprocess.run(command, capture_output=True, text=True, env=snakemake_env(),
                          timeout=300, check=False)


def planned_resources(output: str) -> dict[str, list[dict[str, str]]]:
    """Rule -> the resources of each of its jobs, as a dry run prints them."""
    plan: dict[str, list[dict[str, str]]] = {}
    rule = None
    for line in output.splitlines():
        if match := re.match(r"\s*(?:local)?rule (\w+):$", line):
            rule = match.group(1)
        elif rule and (match := re.match(r"\s*resources: (.*)$", line)):
            pairs = (item.split("=", 1) for item in match.group(1).split(", "))
            plan.setdefault(rule, []).append({key: value for key, value in pairs})
            rule = None
    return plan


@pytest.mark.parametrize("jobs_per_gpu", [1, 4])
def test_each_gpu_job_declares_its_share_of_a_gpu(tmp_path, jobs_per_gpu):
    """Every train/evaluate job asks for gpu=1 and gpu_milli=1000 // jobs_per_gpu; no other
    job asks for either."""
    done = dry_run(tmp_path, {"gpus_per_job": 1, "jobs_per_gpu": jobs_per_gpu,
                              "evaluate_per": "level"}, "--resources", "gpu_milli=1000")
    assert done.returncode == 0, done.stderr[-3000:]
    plan = planned_resources(done.stdout)
    assert GPU_RULES <= set(plan) and len(plan) > len(GPU_RULES)
    for rule, jobs in plan.items():
        for resources in jobs:
            declared = (resources.get("gpu"), resources.get("gpu_milli"))
            expected = ("1", str(GPU_MILLI // jobs_per_gpu)) if rule in GPU_RULES else (None, None)
            assert declared == expected, (rule, resources)


def test_a_cpu_run_declares_no_gpu_share(tmp_path):
    """gpus_per_job: 0 (the default) keeps GPU resources off every job, whatever jobs_per_gpu."""
    done = dry_run(tmp_path, {"gpus_per_job": 0, "jobs_per_gpu": 4})
    assert done.returncode == 0, done.stderr[-3000:]
    plan = planned_resources(done.stdout)
    assert "train" in plan
    assert not [r for jobs in plan.values() for r in jobs if {"gpu", "gpu_milli"} & set(r)]


@pytest.mark.parametrize("value", [0, 33])
def test_jobs_per_gpu_out_of_range_is_refused_naming_the_key(tmp_path, value):
    done = dry_run(tmp_path, {"gpus_per_job": 1, "jobs_per_gpu": value})
    assert done.returncode != 0
    assert "jobs_per_gpu" in done.stdout + done.stderr


def test_every_allowed_jobs_per_gpu_fits_exactly_that_many_jobs_on_a_gpu():
    """n jobs of 1000 // n fit in 1000, n + 1 do not, for every n the schema allows."""
    compute = yaml.safe_load(SCHEMA.read_text())["properties"]["compute"]["properties"]
    cap = compute["jobs_per_gpu"]["maximum"]
    for n in range(compute["jobs_per_gpu"]["minimum"], cap + 1):
        share = GPU_MILLI // n
        assert n * share <= GPU_MILLI < (n + 1) * share, n


STAND_IN = """
rule all:
    input: expand("done_{{i}}", i=range({jobs}))

rule work:
    output: "done_{{i}}"
    resources: gpu={gpu}, gpu_milli={gpu_milli}
    shell: "date +%s.%N > {{output}}; sleep 1.5; date +%s.%N >> {{output}}"
"""


def most_at_once(folder: Path) -> int:
    """The largest number of stand-in jobs whose [start, end] intervals overlap."""
    events = []
    for path in folder.glob("done_*"):
        start, end = (float(x) for x in path.read_text().split())
        events += [(start, 1), (end, -1)]
    running = peak = 0
    for _, step in sorted(events):
        running += step
        peak = max(peak, running)
    return peak


@pytest.mark.parametrize("jobs_per_gpu", [1, 3])
def test_local_scheduler_runs_jobs_per_gpu_jobs_at_once(tmp_path, jobs_per_gpu):
    """With the README's `--resources gpu_milli=1000` (one GPU) and more cores than jobs,
    Snakemake runs exactly jobs_per_gpu jobs of the planned train resources at once."""
    done = dry_run(tmp_path, {"gpus_per_job": 1, "jobs_per_gpu": jobs_per_gpu})
    assert done.returncode == 0, done.stderr[-3000:]
    train = planned_resources(done.stdout)["train"][0]
    stand_in = tmp_path / "stand_in"
    stand_in.mkdir()
    (stand_in / "Snakefile").write_text(textwrap.dedent(STAND_IN).format(
        jobs=2 * jobs_per_gpu, gpu=train["gpu"], gpu_milli=train["gpu_milli"]))
    run = subprocess.run([str(SNAKEMAKE), "--cores", "8", "--resources", "gpu_milli=1000",
                          "--directory", str(stand_in), "--snakefile",
                          str(stand_in / "Snakefile")],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    assert most_at_once(stand_in) == jobs_per_gpu


def sbatch_gpu_options(resources: dict) -> str:
    """What the SLURM executor plugin adds to sbatch for a job with these resources."""
    plugin = pytest.importorskip("snakemake_executor_plugin_slurm.utils")

    class Resources(dict):
        __getattr__ = dict.get

    return plugin.set_gres_string(SimpleNamespace(resources=Resources(resources))).strip()


def test_slurm_jobs_ask_for_a_whole_gpu_unless_the_documented_shards():
    """The profile's GPU rules submit --gpus=1 (gpu_milli is not SLURM's); the commented
    sharding example of the profile submits --gres=shard:N and no --gpus."""
    profile = yaml.safe_load(PROFILE.read_text())
    for rule in ("train", "evaluate", "evaluate_run", "evaluate_background"):
        resources = {**profile["set-resources"][rule], "gpu_milli": 250}
        assert sbatch_gpu_options(resources) == "--gpus=1", rule
    example = next(line for line in PROFILE.read_text().splitlines()
                   if re.match(r"#\s+train: \{gpu: 0, gres:", line))
    shards = yaml.safe_load(example.lstrip("# "))["train"]
    assert sbatch_gpu_options(shards) == f"--gres={shards['gres']}"

