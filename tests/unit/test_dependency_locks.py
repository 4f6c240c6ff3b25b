"""The dependency locks agree with pyproject.toml, with each other, with the conda environment
and with the installed packages; torch and torchaudio are the verified pair.

Each check is a function returning its list of problems, run once on the real files and once on
a planted disagreement, so the test proves it can fail.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = REPO / "requirements" / "runtime.txt"
DEV_LOCK = REPO / "requirements" / "dev.txt"
TORCH_PAIR = REPO / "requirements" / "torch-pair.txt"
CONDA_ENV = REPO / "envs" / "sparse.yaml"

_spec = importlib.util.spec_from_file_location(
    "conda_env_from_lock", REPO / "scripts" / "maintenance" / "conda_env_from_lock.py")
lockfile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lockfile)


def pyproject_requirements(extra: str | None = None, text: str | None = None) -> list[Requirement]:
    """The runtime dependencies of pyproject.toml, or those of one optional extra."""
    project = tomllib.loads(text or (REPO / "pyproject.toml").read_text())["project"]
    declared = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [Requirement(line) for line in declared]


def pins_by_name(pins) -> dict[str, list]:
    by_name: dict[str, list] = {}
    for pin in pins:
        by_name.setdefault(pin.name, []).append(pin)
    return by_name


def lock_problems(requirements: list[Requirement], pins) -> list[str]:
    """Declared packages missing from the lock, or locked at a version outside their range."""
    locked = pins_by_name(pins)
    problems = []
    for req in requirements:
        name = canonicalize_name(req.name)
        if name not in locked:
            problems.append(f"{req.name} is declared ({req}) but not in the lock")
            continue
        for pin in locked[name]:
            if not req.specifier.contains(pin.version, prereleases=True):
                problems.append(f"{name}=={pin.version} is outside the declared range {req}")
    return problems


def unbounded(requirements: list[Requirement]) -> list[str]:
    """Declared packages without an upper bound (a new major could install unnoticed)."""
    return [str(req) for req in requirements
            if not any(spec.operator in {"<", "<=", "==", "~=", "==="} for spec in req.specifier)]


def superset_problems(runtime, dev) -> list[str]:
    """Runtime pins that the dev lock lacks or pins differently (tests must test what runs)."""
    dev_lines = {pin.line() for pin in dev}
    return [f"{pin.line()} is in the runtime lock but not in the dev lock"
            for pin in runtime if pin.line() not in dev_lines]


def pair_problems(pins, pair_text: str) -> list[str]:
    """torch/torchaudio pins of a lock that differ from the verified pair."""
    pair = {canonicalize_name(Requirement(line).name): str(Requirement(line).specifier)[2:]
            for line in pair_text.splitlines() if line.strip() and not line.startswith("#")}
    locked = pins_by_name(pins)
    return [f"{name}: lock has {[p.version for p in locked.get(name, [])]}, pair file {version}"
            for name, version in pair.items()
            if [p.version for p in locked.get(name, [])] != [version]]


def installed_problems(pins) -> list[str]:
    """Locked packages (for this interpreter) not installed at exactly the locked version."""
    from packaging.markers import Marker

    problems = []
    for pin in pins:
        if pin.marker and not Marker(pin.marker).evaluate():
            continue
        try:
            version = importlib.metadata.version(pin.name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{pin.name} is locked but not installed")
            continue
        if version != pin.version:
            problems.append(f"{pin.name} {version} is installed, the lock says {pin.version}")
    return problems


@pytest.fixture(scope="module")
def runtime_pins():
    return lockfile.read_lock(RUNTIME_LOCK)


@pytest.fixture(scope="module")
def dev_pins():
    return lockfile.read_lock(DEV_LOCK)


def test_runtime_lock_holds_every_runtime_dependency_in_range(runtime_pins):
    assert lock_problems(pyproject_requirements(), runtime_pins) == []


def test_dev_lock_holds_runtime_and_dev_dependencies_in_range(dev_pins):
    declared = pyproject_requirements() + pyproject_requirements("dev")
    assert lock_problems(declared, dev_pins) == []


def test_runtime_lock_holds_no_test_tools(runtime_pins):
    names = {pin.name for pin in runtime_pins}
    assert not names & {"pytest", "ruff", "librosa", "numba", "snakefmt", "uv"}
    assert {"scipy", "pygments"} <= names  # the claims' statistics; the report's highlighting


def test_planted_disagreements_are_found(runtime_pins):
    pyproject = (REPO / "pyproject.toml").read_text()
    missing = pyproject.replace('"tqdm>=4.66,<5",', '"tqdm>=4.66,<5",\n    "rich>=13,<14",')
    assert lock_problems(pyproject_requirements(text=missing), runtime_pins) == [
        "rich is declared (rich<14,>=13) but not in the lock"]
    out_of_range = pyproject.replace('"numpy>=1.26,<3"', '"numpy>=1.26,<2"')
    assert any("numpy==" in p and "outside" in p
               for p in lock_problems(pyproject_requirements(text=out_of_range), runtime_pins))
    no_bound = pyproject.replace('"click>=8.1,<9"', '"click>=8.1"')
    assert unbounded(pyproject_requirements(text=no_bound)) == ["click>=8.1"]


def test_every_declared_dependency_has_an_upper_bound():
    assert unbounded(pyproject_requirements() + pyproject_requirements("dev")) == []


def test_dev_lock_pins_every_runtime_package_identically(runtime_pins, dev_pins):
    assert superset_problems(runtime_pins, dev_pins) == []
    planted = [p._replace(version="0.0.1") if p.name == "pandas" else p for p in dev_pins]
    assert len(superset_problems(runtime_pins, planted)) == 1


def test_torch_and_torchaudio_are_the_verified_pair(runtime_pins, dev_pins):
    pair = TORCH_PAIR.read_text()
    assert "torch==" in pair and "torchaudio==" in pair
    assert pair_problems(runtime_pins, pair) == []
    assert pair_problems(dev_pins, pair) == []
    assert pair_problems(runtime_pins, pair.replace("torchaudio==2.11.0", "torchaudio==2.11.1"))


def test_the_installed_environment_is_the_dev_lock(dev_pins):
    """make test installs the dev lock; anything else installed in its place shows up here."""
    assert installed_problems(dev_pins) == []
    planted = [p._replace(version="0.0.1") if p.name == "click" else p for p in dev_pins]
    assert installed_problems(planted) == [
        f"click {importlib.metadata.version('click')} is installed, the lock says 0.0.1"]


def test_the_pinned_pair_loads_and_resamples():
    """The real failure mode of a mismatched pair is an OSError at import: import it for real."""
    import torch
    import torchaudio.functional

    assert torch.__version__.split("+")[0] == importlib.metadata.version("torch").split("+")[0]
    out = torchaudio.functional.resample(torch.ones(1, 800), 8000, 16000)
    assert out.shape == (1, 1600)


def test_conda_environment_is_generated_from_the_runtime_lock(runtime_pins):
    text = CONDA_ENV.read_text()
    assert text == lockfile.conda_env(runtime_pins), (
        "envs/sparse.yaml differs from the runtime lock; regenerate it with `make lock`")
    import yaml

    pip_section = next(d["pip"] for d in yaml.safe_load(text)["dependencies"]
                       if isinstance(d, dict))
    assert pip_section == [pin.line() for pin in runtime_pins]
    planted = text.replace("torchaudio==2.11.0", "torchaudio==2.11.1")
    assert planted != lockfile.conda_env(runtime_pins)


def test_read_lock_parses_markers_and_refuses_ranges(tmp_path):
    lock = tmp_path / "lock.txt"
    lock.write_text("# comment\nNumPy_X==1.2 ; python_full_version < '3.12' \\\n"
                    "    --hash=sha256:00\nclick==8.1.0 \\\n    --hash=sha256:11\n")
    assert [p.line() for p in lockfile.read_lock(lock)] == [
        "numpy-x==1.2 ; python_full_version < '3.12'", "click==8.1.0"]
    lock.write_text("click>=8\n")
    with pytest.raises(ValueError, match="not an exact pin"):
        lockfile.read_lock(lock)
