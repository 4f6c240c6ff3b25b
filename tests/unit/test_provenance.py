"""provenance: the environment record, the summary of a results folder and its one-line form."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest
import torch

from sparse_pkg import __version__
from sparse_pkg.provenance import (
    COMMIT_VARIABLE,
    NOT_GIT,
    config_sha256,
    cpu_model,
    environment,
    environment_json,
    file_sha256,
    git_commit,
    headline,
    provenance_markdown,
    summary,
)

WORKFLOW = {"version": "0.2.0", "commit": "0123456789abcdef0123", "config_sha256": "c" * 64,
            "lock_sha256": "d" * 64}


def test_the_environment_names_software_and_hardware_but_no_host(monkeypatch):
    monkeypatch.setenv(COMMIT_VARIABLE, "abc123")
    torch.set_num_threads(1)
    record = environment("cpu", "evaluate")
    assert record["sparse_pkg"] == __version__ and record["commit"] == "abc123"
    assert record["torch"] == torch.__version__
    assert record["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert record["torch_threads"] == 1 and record["device"] == "cpu"
    assert record["cudnn"] == "not used" and record["cpu"] == cpu_model()
    assert len(record["code"]) == 16
    import socket

    assert socket.gethostname() not in json.dumps(record)


def test_a_job_outside_the_workflow_records_an_unknown_commit(monkeypatch):
    monkeypatch.delenv(COMMIT_VARIABLE, raising=False)
    assert environment("cpu")["commit"] == "unknown" and "code" not in environment("cpu")


def test_git_commit_of_a_checkout_and_of_a_plain_folder(tmp_path):
    assert git_commit(tmp_path) == NOT_GIT
    run = {"cwd": tmp_path, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q"], **run)
    (tmp_path / "f").write_text("1")
    subprocess.run(["git", "add", "f"], **run)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
                   **run)
    head = subprocess.run(["git", "rev-parse", "HEAD"], text=True, **run).stdout.strip()
    assert git_commit(tmp_path) == head
    (tmp_path / "f").write_text("2")
    assert git_commit(tmp_path) == head + "+dirty"


def test_hashes_of_config_and_files(tmp_path):
    assert config_sha256({"a": 1, "b": [2]}) == config_sha256({"b": [2], "a": 1})
    assert config_sha256({"a": 1}) != config_sha256({"a": 2})
    (tmp_path / "lock.txt").write_bytes(b"abc")
    assert file_sha256(tmp_path / "lock.txt") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    assert file_sha256(tmp_path / "none.txt") == "absent"


def _rows(envs: dict[str, dict]) -> pd.DataFrame:
    """Result rows: run name -> environment."""
    rows = []
    for run, env in envs.items():
        dataset, network, seed = run.split("/")
        rows.append({"dataset": dataset, "network": network, "seed": int(seed),
                     "environment": environment_json(env)})
    return pd.DataFrame(rows)


BASE = {"sparse_pkg": "0.2.0", "commit": "a", "code": "f" * 16, "python": "3.11.7",
        "torch": "2.11.0", "cuda": "13.0", "cudnn": "not used", "numpy": "2.4.6",
        "device": "cpu", "cpu": "Some CPU", "cpu_capability": "AVX2", "torch_threads": 1,
        "interop_threads": 2, "os": "Linux x86_64"}


def test_one_environment_gives_one_line_naming_it():
    history = _rows({"mnist/dense/42": BASE, "mnist/sparse/42": BASE})
    other_commit = {**BASE, "commit": "b", "code": "e" * 16}  # same software and hardware
    record = summary(workflow=WORKFLOW, history=history,
                     metrics=_rows({"mnist/dense/42": other_commit}), reporting=BASE)
    assert record["environments"] == 1
    assert record["training"][0]["trained"] == ["mnist/dense/seed_42", "mnist/sparse/seed_42"]
    line = headline(record)
    assert line.startswith("Made by sparse_pkg 0.2.0 (commit 0123456789ab), config cccccccccccc,")
    assert "torch 2.11.0 on cpu, CPU Some CPU (kernels AVX2), 1 torch thread(s)" in line


def test_a_mixed_folder_says_so():
    history = _rows({"mnist/dense/42": BASE,
                     "mnist/dense/43": {**BASE, "cpu_capability": "AVX512"}})
    record = summary(workflow=WORKFLOW, history=history, metrics=None, reporting=BASE)
    assert record["environments"] == 2
    assert "MIXED: 2 different software or hardware environments" in headline(record)
    page = provenance_markdown(record)
    assert "| cpu_capability | AVX2 | AVX512 |" in page


@pytest.mark.parametrize("commit, shown", [
    (NOT_GIT, f"({NOT_GIT})"), ("0123456789abcdef+dirty", "(commit 0123456789ab with uncommitted")])
def test_the_headline_names_the_commit_or_its_absence(commit, shown):
    record = summary(workflow={**WORKFLOW, "commit": commit}, history=None, metrics=None,
                     reporting=BASE)
    assert shown in headline(record) and "no trained runs" in headline(record)
