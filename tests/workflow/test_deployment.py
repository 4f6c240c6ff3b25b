"""The workflow deployed the Snakemake ways: as a module of another workflow, with --directory
from a third folder, and rerun after a change to the library it calls.

Each runs real Snakemake to the end on a small configuration (MNIST only for the code-change
test). The jobs run the installed sparse_pkg (python -m sparse_pkg.commands.NAME); nothing puts
a checkout on PYTHONPATH except where a test installs an edited copy of the library on purpose.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers.workflow import SNAKEMAKE, job_counts, snakemake_env

REPO = Path(__file__).resolve().parents[2]
TINY = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())

pytestmark = [pytest.mark.skipif(not SNAKEMAKE.exists(), reason="snakemake not in this venv"),
              pytest.mark.slow]


def _run(cwd: Path, *args: str, env: dict | None = None, check: bool = True,
         timeout: int = 900) -> str:
    """``snakemake ARGS`` typed in ``cwd``; its whole output."""
    result = subprocess.run([str(SNAKEMAKE), *args], cwd=cwd, capture_output=True, text=True,
                            env=env or snakemake_env(), timeout=timeout)
    output = result.stdout + result.stderr
    if check:
        assert result.returncode == 0, output[-4000:]
    return output


def _write_yaml(path: Path, document: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


MODULE_SNAKEFILE = """\
configfile: "config/config.yaml"


module sparse:
    snakefile:
        "{snakefile}"
    config:
        config


use rule * from sparse as sparse_*
"""


def test_deployed_as_a_module_from_another_folder(tmp_path):
    """A deploying workflow (a Snakefile with `module` + `use rule *`, its own config that
    overrides two keys, no networks file of its own) runs the tiny config to the end."""
    deploy = tmp_path / "my analysis"
    config = {**TINY, "results_dir": "sparse-results", "seeds": 1}  # the two overridden keys
    config.pop("networks_file", None)
    _write_yaml(deploy / "config" / "config.yaml", config)
    (deploy / "Snakefile").write_text(
        MODULE_SNAKEFILE.format(snakefile=REPO / "workflow" / "Snakefile"))
    output = _run(deploy, "--cores", "2")
    assert "sparse_train" in output and "sparse_all" in output
    results = deploy / "sparse-results"
    for name in ("table1.md", "table1.html", "table2.md", "claims.md", "claims.html",
                 "provenance.json", "fig4.png", "gsc_noise.png"):
        assert (results / name).stat().st_size > 100, name
    assert not (deploy / "results").exists()
    provenance = json.loads((results / "provenance.json").read_text())
    trained = [run for group in provenance["training"] for run in group["trained"]]
    assert sorted(trained) == ["gsc/denseCNN2_DR00/seed_42", "gsc/sparseCNN2/seed_42",
                               "mnist/denseCNN1/seed_42", "mnist/sparseCNN1/seed_42"]
    assert "Nothing to be done" in _run(deploy, "-n")


def test_run_with_directory_elsewhere_from_a_third_folder(tmp_path):
    """`snakemake -s CHECKOUT/workflow/Snakefile --directory WORK` typed in yet another folder:
    the default networks and claims files come from the workflow's own config/."""
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    elsewhere.mkdir()
    overlay = _write_yaml(tmp_path / "small.yaml", {**TINY, "seeds": 1})
    _run(elsewhere, "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(work),
         "--configfile", str(overlay), "--cores", "2")
    for name in ("table1.md", "table2.md", "table3.md", "claims.md", "provenance.json"):
        assert (work / "results" / name).is_file(), name
    assert not (elsewhere / "results").exists() and not (elsewhere / ".snakemake").exists()
    assert "config/claims.yaml" in (work / "results" / "claims.md").read_text()


# A change to the library the rules call reruns exactly the jobs whose code changed.

MNIST_ONLY = {**TINY, "seeds": 1, "gsc": {"enabled": False}}


@pytest.fixture(scope="module")
def edited_library_run(tmp_path_factory):
    """A copy of sparse_pkg first on PYTHONPATH (for Snakemake and its jobs) and a finished
    MNIST-only run made with it; gives (workdir, library copy, environment, config)."""
    base = tmp_path_factory.mktemp("edited_library")
    library = base / "lib" / "sparse_pkg"
    shutil.copytree(REPO / "sparse_pkg", library, ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(snakemake_env(), PYTHONPATH=str(library.parent))
    config = _write_yaml(base / "mnist.yaml", MNIST_ONLY)
    work = base / "work"
    args = ("-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(work),
            "--configfile", str(config))
    _run(base, *args, "--cores", "2", env=env)
    made_by = json.loads((work / "results" / "provenance.json").read_text())
    assert made_by["reporting"]["sparse_pkg"]  # the copy served Snakemake and its jobs
    return work, library, env, args


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_a_docstring_or_comment_edit_plans_nothing(edited_library_run):
    work, library, env, args = edited_library_run
    schedule = library / "training" / "schedule.py"
    original = schedule.read_text()
    try:
        _edit(schedule, "StepLR learning rate", "StepLR learning rate (reworded)")
        _edit(schedule, "def lr_for_epoch", "# a comment\ndef lr_for_epoch")
        assert "Nothing to be done" in _run(work.parent, *args, "-n", env=env)
    finally:
        schedule.write_text(original)


def test_a_changed_learning_rate_schedule_reruns_training_and_what_follows(edited_library_run):
    work, library, env, args = edited_library_run
    schedule = library / "training" / "schedule.py"
    original = schedule.read_text()
    try:
        _edit(schedule, "return definition.lr * definition.lr_factor**epoch",
              "return 2 * definition.lr * definition.lr_factor**epoch")
        output = _run(work.parent, *args, "-n", env=env)
    finally:
        schedule.write_text(original)
    counts = job_counts(output)
    assert counts["train"] == 2 and counts["evaluate_run"] == 2, output[-3000:]
    assert {"aggregate", "table", "claims", "provenance"} <= set(counts)
    # data preparation, Figure 2 and Table 3 run no training code: left alone
    assert not {"mnist_prepare", "mnist_noise", "verify_data", "figure2", "table3"} & set(counts)
    assert "params have changed since last execution" in output, output[-3000:]


def test_the_edited_copy_was_really_used(edited_library_run):
    """The copy on PYTHONPATH, not the installed package, is what Snakemake fingerprinted: an
    edit there is seen (the two tests above could otherwise pass vacuously)."""
    work, library, env, args = edited_library_run
    probe = subprocess.run(
        [str(SNAKEMAKE.with_name("python")), "-c",
         "import sparse_pkg.code_fingerprint as f; print(f.ROOT)"],
        env=env, capture_output=True, text=True, check=True, cwd=work.parent)
    assert Path(probe.stdout.strip()) == library
    assert os.environ.get("PYTHONPATH", "") != env["PYTHONPATH"]


@pytest.mark.parametrize("installed", ["0.0.1", None])
def test_another_or_no_installed_package_is_refused_in_one_line(tmp_path, installed):
    """The rules run the installed sparse_pkg's commands: a package of another version (first
    on PYTHONPATH here) or none at all stops Snakemake before any job, in one line."""
    import sparse_pkg

    library = tmp_path / "lib"
    (library / "sparse_pkg").mkdir(parents=True)
    # another version, or (a Python without the package) one that fails to import
    (library / "sparse_pkg" / "__init__.py").write_text(
        f'__version__ = "{installed}"\n' if installed else "raise ImportError('hidden')\n")
    env = dict(snakemake_env(), PYTHONPATH=str(library))
    output = _run(tmp_path, "-s", str(REPO / "workflow" / "Snakefile"), "-n", env=env,
                  check=False)
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output[-3000:]
    if installed:
        assert errors[0].startswith(
            f"error: this workflow is version {sparse_pkg.__version__} but the installed "
            f"sparse_pkg is 0.0.1 ({library / 'sparse_pkg'}); install version")
    else:
        assert errors[0].startswith("error: the Python package sparse_pkg is not installed")
    assert "Traceback" not in output
