"""What the workflow's rules ask a cluster for, read by Snakemake itself without running a job.

Run as a script (``python tests/helpers/rule_resources.py --workdir DIR --configfile F ...``, or
:func:`run_probe`) in its own process, because Snakemake's API changes the working directory;
it prints one JSON document:

- ``rules``: per rule, whether it is a local rule, the resources it declares (only its own and
  the profile's ``set-resources``: Snakemake's default resources are off) and their values at
  attempts 1 and 2;
- ``evaluate_group``: per attempt, what one grouped submission of ``--group-size`` evaluation
  jobs asks for, by Snakemake's own group-resource calculation under the profile's
  ``resources`` limits (null when the workflow has no ``evaluate`` rule).

Used by tests/workflow/test_cluster_resources.py and tests/slurm/test_slurm.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import click
import yaml

REPO = Path(__file__).resolve().parents[2]
ATTEMPTS = (1, 2)


def _resource_settings(profile: Path | None):
    """Resources, scopes and per-rule settings of a Snakemake profile, as the CLI passes them."""
    from snakemake.settings.types import ResourceSettings

    document = yaml.safe_load(profile.read_text()) if profile else {}
    return ResourceSettings(
        resources=document.get("resources", {}),
        overwrite_resources=document.get("set-resources", {}),
        overwrite_resource_scopes=document.get("set-resource-scopes", {}),
    )


def _expanded(rule, attempt: int) -> dict:
    """The rule's resources evaluated for one attempt (wildcards get a placeholder value)."""
    from snakemake.iocontainers import InputFiles, Wildcards

    wildcards = Wildcards(fromdict={name: "0" for name in rule.wildcard_names})
    return dict(rule.expand_resources(wildcards, InputFiles(), attempt))


def _group(workflow, rule, size: int, attempt: int) -> dict:
    """Resources of one submission grouping ``size`` jobs of ``rule`` (none depends on another)."""
    from snakemake.resources import GroupResources

    jobs = [SimpleNamespace(resources=_expanded(rule, attempt), pipe_group=None)
            for _ in range(size)]
    merged = GroupResources.basic_layered(
        toposorted_jobs=[jobs], constraints=workflow.global_resources, run_local=False,
        additive_resources=["runtime"], sortby=["runtime"])
    return {key: value for key, value in merged.items() if isinstance(value, int)}


def describe(workdir: Path, configfiles: list[Path], profile: Path | None, group_size: int) -> dict:
    """The JSON document described in the module docstring."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import ConfigSettings, OutputSettings, StorageSettings

    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow_api = api.workflow(
            snakefile=REPO / "workflow" / "Snakefile", workdir=workdir,
            config_settings=ConfigSettings(
                configfiles=configfiles,
                config={"networks_file": str(REPO / "config" / "networks.yaml")}),
            resource_settings=_resource_settings(profile), storage_settings=StorageSettings())
        workflow = workflow_api._workflow  # the parsed workflow; no DAG, no job is run
        rules = {
            rule.name: {
                "local": rule.name in workflow._localrules,
                "declared": sorted(name for name in rule.resources if not name.startswith("_")),
                "attempts": {str(a): _expanded(rule, a) for a in ATTEMPTS},
            }
            for rule in workflow.rules
        }
        evaluate = next((r for r in workflow.rules if r.name == "evaluate"), None)
        group = ({str(a): _group(workflow, evaluate, group_size, a) for a in ATTEMPTS}
                 if evaluate else None)
    return {"rules": rules, "evaluate_group": group}


def run_probe(workdir: Path, configfiles: list[Path], profile: Path | None = None,
              group_size: int = 11) -> dict:
    """Run this script in a new process (Snakemake's API changes the working directory)."""
    command = [sys.executable, __file__, "--workdir", str(workdir),
               "--group-size", str(group_size)]
    command += [arg for path in configfiles for arg in ("--configfile", str(path))]
    if profile:
        command += ["--profile", str(profile)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"{Path(__file__).name} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout)


@click.command()
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--configfile", "configfiles", type=click.Path(exists=True, path_type=Path),
              multiple=True, required=True)
@click.option("--profile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--group-size", type=int, default=11, show_default=True)
def main(workdir: Path, configfiles: tuple[Path, ...], profile: Path | None,
         group_size: int) -> None:
    """Print the rules' cluster resources as JSON (see the module docstring)."""
    workdir.mkdir(parents=True, exist_ok=True)
    document = describe(workdir.resolve(), [p.resolve() for p in configfiles], profile,
                        group_size)
    click.echo(json.dumps(document, default=str, sort_keys=True))


if __name__ == "__main__":
    main()
