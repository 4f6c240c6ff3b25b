"""Cheap job processes: the scripts start without the compiler stack or pandas, and the cheap
determinism switch sets exactly what ``torch.use_deterministic_algorithms`` sets.

Each check runs in a subprocess: imports and torch's global flags must not leak into (or come
from) the test session.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]

# Modules a train/evaluate job must not import before its first useful work: the compiler stack
# that torch.use_deterministic_algorithms pulls in, and the table/plot libraries (pandas and
# pyarrow are imported when the outputs are written).
NOT_AT_START = ("torch._dynamo", "torch._inductor", "sympy", "pandas", "pyarrow", "matplotlib",
                "scipy", "seaborn")


def run_python(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -P ARGS`` the way the workflow's rules run the commands."""
    env = dict(os.environ)
    env.pop("CUBLAS_WORKSPACE_CONFIG", None)
    env.pop("TORCHINDUCTOR_DETERMINISTIC", None)
    return subprocess.run([sys.executable, "-P", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False)


def imported_modules(importtime_stderr: str) -> set[str]:
    """Module names listed by ``python -X importtime`` on stderr."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def heavy(names: set[str]) -> list[str]:
    """The modules of NOT_AT_START (or their submodules) among ``names``."""
    return sorted(n for n in names if any(n == m or n.startswith(m + ".") for m in NOT_AT_START))


@pytest.mark.parametrize("script", ["evaluate", "train"])
def test_job_start_up_imports_no_compiler_and_no_pandas(script, tmp_path):
    """The real job command, run until its first input file is read (a missing one: exit 2 after
    options, threads, determinism and device are set), imports none of NOT_AT_START."""
    missing = str(tmp_path / "missing")
    common = ["--test", f"{missing}.pt", "--threads", "1", "--device", "cpu"]
    if script == "evaluate":
        args = ["--checkpoint", f"{missing}.pt", "--out", f"{missing}.parquet", "--noise-level",
                "0", *common]
        expected = "checkpoint not found"
    else:
        args = ["--definitions", f"{missing}.yaml", "--dataset", "mnist", "--network", "x",
                "--seed", "42", "--train", f"{missing}.pt", "--out-dir", missing, *common]
        expected = "network definitions file not found"
    done = run_python("-X", "importtime", "-m", f"sparse_pkg.commands.{script}", *args,
                      cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert expected in done.stderr  # it got as far as its first input file
    names = imported_modules(done.stderr)
    assert {"torch", "sparse_pkg.cli", "sparse_pkg.determinism"} <= names  # the parse works
    assert heavy(names) == []


def test_configure_torch_sets_what_use_deterministic_algorithms_sets(tmp_path):
    """Same ATen flags (deterministic, warn-only, NaN-filled empty memory) as torch's own switch,
    the compiler's flag once it is imported, cuBLAS's fixed workspace, and no compiler import."""
    code = textwrap.dedent("""
        import json, os, sys
        import torch
        mode = sys.argv[1]
        if mode == "ours":
            from sparse_pkg.determinism import configure_torch
            configure_torch(1)
        else:
            torch.use_deterministic_algorithms(True, warn_only=True)
        before = sorted(m for m in ("torch._dynamo", "sympy") if m in sys.modules)
        import torch._inductor.config as inductor_config
        import torch.utils.deterministic
        print(json.dumps({
            "deterministic": torch.are_deterministic_algorithms_enabled(),
            "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
            "fill": torch.utils.deterministic.fill_uninitialized_memory,
            "inductor": inductor_config.deterministic,
            "compiler_before": before,
            "cublas": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
        }))
    """)
    states = {}
    for mode in ("ours", "torch"):
        done = run_python("-c", code, mode, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        states[mode] = json.loads(done.stdout)
    ours, theirs = states["ours"], states["torch"]
    assert ours["compiler_before"] == []
    assert ours["cublas"] == ":4096:8"
    for key in ("deterministic", "warn_only", "fill", "inductor"):
        assert ours[key] == theirs[key] is True, key


def deterministic_switch_statements(func) -> list[str]:
    """The statements of a function's body (docstring dropped), unparsed."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    body = tree.body[0].body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return [ast.unparse(statement) for statement in body]


# What torch.use_deterministic_algorithms does, as sparse_pkg.determinism mirrors it. A torch
# that does more fails here: mirror the new setting in enable_deterministic_algorithms.
MIRRORED = [
    "import torch._inductor.config as inductor_config",
    "inductor_config.deterministic = mode",
    "_C._set_deterministic_algorithms(mode, warn_only=warn_only)",
]


def test_installed_torch_switch_does_only_what_we_mirror():
    """The installed torch's use_deterministic_algorithms sets nothing beyond MIRRORED."""
    assert deterministic_switch_statements(torch.use_deterministic_algorithms) == MIRRORED
