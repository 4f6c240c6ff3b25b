"""What made a result: code, configuration, software and hardware, without the host's name.

Runs are byte-identical on one machine and software, not across CPUs, kernels or GPUs. So every
training epoch and every evaluation row records the environment of the process that computed it
(:func:`environment`), and the workflow writes ``results/provenance.json`` (:func:`summary`):
the version and commit of the workflow, hashes of its configuration and lock, and each distinct
environment with the runs it computed, so that a results folder mixed from two machines or two
code versions says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sparse_pkg import __version__
from sparse_pkg.io.checksum import file_digest

# The job's shell exports the workflow's commit here (the Snakefile's shell prefix, which
# Snakemake does not record: a new commit must not rerun finished training).
COMMIT_VARIABLE = "SPARSE_PKG_COMMIT"
NOT_GIT = "not a git checkout"


def git_commit(folder: str | os.PathLike) -> str:
    """The commit checked out in ``folder`` (``+dirty`` when tracked files differ from it), or
    ``not a git checkout``."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", os.fspath(folder), *args], capture_output=True,
                              text=True, check=False, timeout=30)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return NOT_GIT
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return NOT_GIT
    return head.stdout.strip() + ("+dirty" if dirty else "")


def file_sha256(path: str | os.PathLike | None) -> str:
    """SHA-256 of a file's bytes, or ``absent`` when there is none."""
    if path is None or not Path(path).is_file():
        return "absent"
    return file_digest(path, "sha256")


def config_sha256(config: Mapping[str, Any]) -> str:
    """SHA-256 of the merged configuration as canonical JSON (key order does not matter)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux, else the platform's word for it)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Processor") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def environment(device: Any = "cpu", command: str | None = None) -> dict[str, Any]:
    """The software and hardware of this process, for a job computing on ``device``.

    Keys: sparse_pkg version, workflow commit (from the job's environment), the fingerprint of
    the command's code (``command``: a name of sparse_pkg.commands), Python, torch, its CUDA
    build, cuDNN (when computing on a GPU), numpy, the device's name, the CPU model and torch's
    CPU kernel dispatch, torch's intra- and inter-op thread counts, OS and architecture.
    """
    import numpy
    import torch

    on_gpu = str(device).startswith("cuda")
    record: dict[str, Any] = {
        "sparse_pkg": __version__,
        "commit": os.environ.get(COMMIT_VARIABLE) or "unknown",
    }
    if command is not None:
        from sparse_pkg.code_fingerprint import command_fingerprint

        record["code"] = command_fingerprint(command)
    record.update({
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda or "none",
        "cudnn": str(torch.backends.cudnn.version()) if on_gpu else "not used",
        "numpy": numpy.__version__,
        "device": torch.cuda.get_device_name(torch.device(device)) if on_gpu else "cpu",
        "cpu": cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch_threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "os": f"{platform.system()} {platform.machine()}",
    })
    return record


def environment_json(record: Mapping[str, Any]) -> str:
    """The compact, key-sorted JSON form stored in the ``environment`` column of result rows."""
    return json.dumps(dict(record), sort_keys=True, separators=(",", ":"))


def _runs_by_environment(frame: Any, what: str) -> list[dict[str, Any]]:
    """Each distinct environment of ``frame`` (rows with an ``environment`` column) with the
    runs (dataset/network/seed) it computed."""
    if frame is None or "environment" not in frame.columns or frame.empty:
        return []
    groups = []
    for text, rows in frame.groupby("environment", sort=True):
        runs = sorted({f"{d}/{n}/seed_{s}" for d, n, s in
                       rows[["dataset", "network", "seed"]].itertuples(index=False)})
        groups.append({"environment": json.loads(text), what: runs})
    return groups


def summary(*, workflow: Mapping[str, Any], history: Any, metrics: Any,
            reporting: Mapping[str, Any]) -> dict[str, Any]:
    """The content of results/provenance.json.

    ``workflow``: version, commit, config and lock hashes; ``history``/``metrics``: the stacked
    tables, whose ``environment`` column says where each epoch was trained and each score
    computed; ``reporting``: the environment of the process writing this summary.
    ``environments`` counts the distinct software and hardware setups among the runs' (commit
    and code fingerprint aside: see :func:`_distinct`); more than one means a mixed folder.
    """
    record = {
        "workflow": dict(workflow),
        "training": _runs_by_environment(history, "trained"),
        "evaluation": _runs_by_environment(metrics, "evaluated"),
        "reporting": dict(reporting),
    }
    record["environments"] = len(_distinct(record))
    return record


def _distinct(record: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The environments that computed the results, told apart by everything but the commit (a
    new commit that leaves the code alone changes no number: the code fingerprint decides)."""
    unique: dict[str, dict[str, Any]] = {}
    for group in [*record["training"], *record["evaluation"]]:
        env = {k: v for k, v in group["environment"].items() if k not in ("commit", "code")}
        unique.setdefault(environment_json(env), env)
    return unique


def headline(record: Mapping[str, Any]) -> str:
    """One line for a table's header and the report: what made these numbers."""
    work = record["workflow"]
    commit = work["commit"] if work["commit"] == NOT_GIT else f"commit {work['commit'][:12]}"
    if work["commit"].endswith("+dirty"):
        commit += " with uncommitted changes"
    unique = _distinct(record)
    if len(unique) == 1:
        (env,) = unique.values()
        where = (f"computed with torch {env['torch']} on {env['device']}, CPU {env['cpu']} "
                 f"(kernels {env['cpu_capability']}), {env['torch_threads']} torch thread(s)")
    elif unique:
        where = (f"MIXED: {len(unique)} different software or hardware environments computed "
                 "these results (see provenance.json)")
    else:
        where = "no trained runs"
    return (f"Made by sparse_pkg {work['version']} ({commit}), config "
            f"{work['config_sha256'][:12]}, lock {work['lock_sha256'][:12]}; {where}.")


def provenance_markdown(record: Mapping[str, Any]) -> str:
    """provenance.json as a page of the report: the headline, the workflow's fields and one
    table row per environment with the runs it trained and evaluated."""
    from sparse_pkg.reporting.markdown import table_row

    lines = ["**Provenance: what made these results**", "", headline(record), "",
             table_row(["Workflow", "Value"]), "|---|---|"]
    lines += [table_row([key, f"`{value}`"]) for key, value in sorted(record["workflow"].items())]
    for kind, runs_key in (("training", "trained"), ("evaluation", "evaluated")):
        lines += ["", f"### Environments of {kind}", ""]
        groups = record[kind]
        if not groups:
            lines.append("None.")
            continue
        keys = sorted({k for g in groups for k in g["environment"]})
        lines += [table_row(["Field", *[f"#{i + 1}" for i in range(len(groups))]]),
                  "|---|" + "---|" * len(groups)]
        lines += [table_row([k, *[g["environment"].get(k, "") for g in groups]]) for k in keys]
        lines.append(table_row(["runs", *[f"{len(g[runs_key])}" for g in groups]]))
    return "\n".join(lines) + "\n"
