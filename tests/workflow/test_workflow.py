"""Real Snakemake runs of the workflow on a tiny configuration, in a temporary directory."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sparse_pkg.datasets.sources import GSC_SHA256, MNIST_MIRRORS
from tests.helpers.workflow import SNAKEMAKE, job_counts, run_snakemake, snakemake_env

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "configs" / "tiny.yaml"

pytestmark = pytest.mark.skipif(not SNAKEMAKE.exists(), reason="snakemake not in this venv")


def snakemake(workdir: Path, *args: str, configfile: Path = TINY, check: bool = True):
    """Run snakemake on the repository's Snakefile inside ``workdir``."""
    return run_snakemake(workdir, configfile, *args, check=check)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """The tiny configuration run to the end once; the tests below read its outputs."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    shutil.copy(REPO / "config" / "config.yaml", workdir / "config.yaml")
    snakemake(workdir, "--cores", "2")
    return workdir


@pytest.mark.slow
def test_every_output_exists_and_is_not_empty(finished_run):
    results = finished_run / "results"
    for name in ["metrics.parquet", "history.parquet", "timing.parquet",
                 "background_noise.parquet", "table1.md", "table2.md", "table3.md",
                 "fig2.png", "fig2.pdf", "fig2.csv", "fig4.png", "fig4.pdf",
                 "gsc_noise.png", "gsc_noise.pdf"]:
        path = results / name
        assert path.is_file() and path.stat().st_size > 100, name
    assert (results / "fig2.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (results / "fig4.pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.slow
def test_metrics_hold_the_full_grid(finished_run):
    metrics = pd.read_parquet(finished_run / "results" / "metrics.parquet")
    # 2 datasets x 2 networks x 2 seeds x 2 protocols x 3 levels
    assert len(metrics) == 2 * 2 * 2 * 2 * 3
    grid = metrics.groupby(["dataset", "network"]).size().to_dict()
    assert grid == {("gsc", "denseCNN2_DR00"): 12, ("gsc", "sparseCNN2"): 12,
                    ("mnist", "denseCNN1"): 12, ("mnist", "sparseCNN1"): 12}
    assert set(metrics["noise_level"]) == {0.0, 0.1, 0.5}
    assert set(metrics["protocol"]) == {"paper", "final"}
    assert ((metrics["correct"] >= 0) & (metrics["correct"] <= metrics["total"])).all()
    mnist_total = metrics[metrics["dataset"] == "mnist"]["total"].unique()
    assert mnist_total.tolist() == [10_000]  # the official test set, shipped in the package
    history = pd.read_parquet(finished_run / "results" / "history.parquet")
    assert len(history) == 8  # 8 runs x 1 epoch
    background = pd.read_parquet(finished_run / "results" / "background_noise.parquet")
    assert len(background) == 2 * 2 * 2 and background["noise_level"].isna().all()


@pytest.mark.slow
def test_tables_have_every_network_row_and_protocol(finished_run):
    table1 = (finished_run / "results" / "table1.md").read_text()
    table2 = (finished_run / "results" / "table2.md").read_text()
    for label in ["Dense CNN-1", "Sparse CNN-1"]:
        assert f"| {label} |" in table1
    for label in ["Dense CNN-2 (DR=0.0)", "Sparse CNN-2"]:
        assert f"| {label} |" in table2
    for table in (table1, table2):
        assert "demo run" in table and "seeds 42–43" in table
        assert "`paper`" in table and "`final`" in table
    table3 = (finished_run / "results" / "table3.md").read_text()
    assert table3.count("| MNIST |") == 8 and table3.count("| GSC |") == 4


@pytest.mark.slow
def test_rebuilding_one_table_reruns_only_its_rule(finished_run):
    (finished_run / "results" / "table2.md").unlink()
    result = snakemake(finished_run, "--cores", "1", "-n", "results/table2.md")
    stats = result.stdout
    assert "table " in stats and "train" not in stats and "evaluate" not in stats
    snakemake(finished_run, "--cores", "1", "results/table2.md")
    assert (finished_run / "results" / "table2.md").is_file()
    nothing = snakemake(finished_run, "--cores", "1", "-n")
    assert "Nothing to be done" in nothing.stdout + nothing.stderr


@pytest.fixture(scope="module")
def paper_dry_run(tmp_path_factory) -> subprocess.CompletedProcess:
    """The full paper configuration's dry run, with every job's shell command (-p)."""
    return snakemake(tmp_path_factory.mktemp("paper"), "-n", "-p",
                     configfile=REPO / "config" / "paper.yaml")


def test_dry_run_of_the_paper_config_shows_the_whole_dag(paper_dry_run):
    counts = job_counts(paper_dry_run.stdout)
    # (8 MNIST + 4 GSC networks) x 10 seeds; 11 noise levels each
    assert counts["train"] == 120
    assert counts["evaluate"] == 1320
    assert counts["aggregate_run"] == 120 and counts["aggregate"] == 1
    assert counts["gsc_download"] == 1 and counts["mnist_download"] == 1


# Linux refuses one argument over 128 KiB (MAX_ARG_STRLEN), and a job's whole shell command is
# one argument of `bash -c`. Half of it leaves room for a longer results_dir and a larger grid.
COMMAND_LIMIT = 64 * 1024


def test_no_command_of_the_paper_run_nears_the_linux_limit(paper_dry_run):
    """Commands that name files of the whole grid (aggregate) must not grow with it unbounded:
    the one-stage aggregate named every level file of every run, about 110 KB."""
    commands = [line for line in paper_dry_run.stdout.splitlines() if "python -P -m " in line]
    assert any("sparse_pkg.commands.aggregate " in line for line in commands)
    longest = max(commands, key=len)
    assert len(longest) < COMMAND_LIMIT, f"{len(longest)} bytes: {longest[:200]}"


def _commands(result, script: str) -> list[str]:
    """The shell commands of a dry run (-n -p) that run ``scripts.<script>``."""
    return [line for line in result.stdout.splitlines() if f"sparse_pkg.commands.{script} " in line]


def test_paper_yaml_is_merged_key_by_key_over_the_demo(tmp_path):
    """config/paper.yaml holds only what differs; Snakemake merges it over config/config.yaml
    section by section (its real config loading, not a copy of it)."""
    result = snakemake(tmp_path, "-n", "-p", "--cores", "4", "data/gsc/train.pt",
                       "data/mnist/train.pt", configfile=REPO / "config" / "paper.yaml")
    (features,) = _commands(result, "gsc_features train")
    assert "--augmented-copies 25 " in features  # from paper.yaml
    assert "--silence-fraction 0.1 " in features and "--augment-seed 5 " in features  # the demo's
    assert "--threads 4 " in features and "--device auto" in features  # compute: both files
    (archive,) = _commands(result, "download file")
    assert "--url http://download.tensorflow.org/data/speech_commands_v0.01.tar.gz " in archive
    assert f"--sha256 {GSC_SHA256} " in archive  # the official values: url is null in the config
    (mnist,) = _commands(result, "download mnist")
    assert " ".join(f"--mirror {m}" for m in MNIST_MIRRORS) in mnist


def test_an_overlay_of_one_nested_key_keeps_the_rest_of_its_section(tmp_path):
    overlay = tmp_path / "cpu.yaml"
    overlay.write_text("compute:\n  device: cpu\n")
    result = snakemake(tmp_path, "-n", "-p", "--cores", "4", "data/gsc/train.pt",
                       "results/runs/mnist/denseCNN1/seed_42/final.pt", configfile=overlay)
    (features,) = _commands(result, "gsc_features train")
    assert "--device cpu" in features and "--augmented-copies 3 " in features
    (train,) = _commands(result, "train")
    # compute.channels_last: true is the demo's, not the schema's default (false)
    assert "--device cpu" in train and "--channels-last" in train


def test_a_config_of_the_required_keys_alone_runs_on_the_schema_defaults(tmp_path):
    """Every other key has its one default in the schema, which validate() fills in (whole
    sections too): the rules read config[...] without fallbacks of their own."""
    minimal = tmp_path / "minimal.yaml"
    minimal.write_text(yaml.safe_dump({
        "run_label": "demo", "seeds": 1, "noise_levels": [0.0],
        "mnist": {"enabled": True, "source": "embedded", "networks": ["denseCNN1"]},
        "gsc": {"enabled": True, "source": "synthetic", "networks": ["sparseCNN2"]}}))
    result = snakemake(tmp_path, "-n", "-p", "--cores", "4", "--replace-workflow-config",
                       configfile=minimal)
    (figure2,) = _commands(result, "report figure2")
    assert "--trials 200000 --seed 0 " in figure2
    (synthetic,) = _commands(result, "make_synthetic_gsc")
    assert "--speakers 100 --utterances-per-word 200 --seed 7 " in synthetic
    (features,) = _commands(result, "gsc_features train")
    assert "--augmented-copies 25 " in features and "--threads 2 " in features
    assert job_counts(result.stdout)["evaluate"] == 2  # evaluate_per: level


def _jobs(result, rule: str) -> list[tuple[set[str], dict[str, set[str]]]]:
    """Each job of ``rule`` in a dry run (-n -p): its declared inputs and the files its command
    passes under each option of sparse_pkg.commands.aggregate."""
    lines = result.stdout.splitlines()
    jobs = []
    for at in (i for i, line in enumerate(lines) if line == f"rule {rule}:"):
        declared = set(lines[at + 1].removeprefix("    input: ").split(", "))
        words = next(line for line in lines[at:]
                     if "sparse_pkg.commands.aggregate " in line).split()
        passed = {kind: {words[i + 1] for i, w in enumerate(words) if w == f"--{kind}"}
                  for kind in ("eval", "history", "timing", "background")}
        jobs.append((declared, passed))
    return jobs


def test_aggregation_declares_and_passes_every_file_by_kind(tmp_path):
    """Each run's files are stacked by its own job, then the runs' tables by aggregate; every
    file a command reads is a declared input of its job, passed under its kind's option."""
    result = snakemake(tmp_path, "-n", "-p", "results/metrics.parquet")
    runs = {f"results/runs/{d}/{n}/seed_{s}" for d, nets in
            [("mnist", ["denseCNN1", "sparseCNN1"]), ("gsc", ["denseCNN2_DR00", "sparseCNN2"])]
            for n in nets for s in (42, 43)}
    seen = set()
    for declared, passed in _jobs(result, "aggregate_run"):
        (history,) = passed["history"]
        run = history.removesuffix("/history.parquet")
        seen.add(run)
        assert passed["timing"] == {f"{run}/timing.parquet"}
        assert passed["eval"] == {f"{run}/eval/level_{lv}.parquet" for lv in ("0", "0.1", "0.5")}
        gsc = {f"{run}/eval/background.parquet"} if "/gsc/" in run else set()
        assert passed["background"] == gsc
        assert declared == set().union(*passed.values())
    assert seen == runs  # one job per run
    ((declared, passed),) = _jobs(result, "aggregate")
    for option, table in [("eval", "metrics"), ("history", "history"), ("timing", "timing")]:
        assert passed[option] == {f"{r}/tables/{table}.parquet" for r in runs}
    assert passed["background"] == {f"{r}/tables/background_noise.parquet" for r in runs
                                    if "/gsc/" in r}
    assert declared == set().union(*passed.values())


def _one_error_line(result) -> str:
    """The run stopped before any job with exactly one `error:` line and no traceback."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output[-3000:]
    assert "Traceback" not in output and 'File "' not in output, output[-3000:]
    return errors[0]


@pytest.mark.parametrize(
    "section, key, value, named",
    [
        (None, "seeds", 0, "config key seeds: 0 is out of range"),
        (None, "noise_levels", [-0.1], "config key noise_levels.0: -0.1 is out of range"),
        (None, "noise_levels", [0.1, 0.10], "config key noise_levels"),
        (None, "protocols", ["oracle"], "config key protocols.0: 'oracle' is not allowed"),
        (None, "cifar", {"enabled": True}, "config key cifar: unknown key"),  # unknown dataset
        ("gsc", "source", "nowhere", "config key gsc.source: 'nowhere' is not allowed"),
        ("compute", "device", "tpu", "config key compute.device"),
        ("mnist", "max_epochs", 0, "config key mnist.max_epochs: 0 is out of range"),
        ("gsc", "augmented_copies", -1, "config key gsc.augmented_copies"),
        ("mnist", "networks", ["noSuchNet"], "config key mnist.networks: unknown network(s) "
                                             "noSuchNet"),
        ("gsc", "archive", None, "config key gsc.archive: required"),
        (None, "noise_levels", [0.1, 0.5], "config key noise_levels: 0.0 is missing; add it"),
    ],
)
def test_bad_config_values_fail_in_one_line_naming_the_key(tmp_path, section, key, value, named):
    document = yaml.safe_load(TINY.read_text())
    target = document if section is None else document[section]
    target[key] = value
    if named.startswith("config key gsc.archive"):  # source: archive without the archive path
        document["gsc"]["source"] = "archive"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(document))
    line = _one_error_line(snakemake(tmp_path, "-n", configfile=bad, check=False))
    assert named in line


def _edit_network(document, key, value):
    document["mnist"]["networks"]["sparseCNN1"][key] = value


@pytest.mark.parametrize(
    "edit, named",
    [
        (lambda d: _edit_network(d, "linear_k", 5000), "linear_k"),  # k > n
        (lambda d: _edit_network(d, "weight_sparsity", 0.0), "weight_sparsity"),
        (lambda d: _edit_network(d, "weight_sparsity", 1.5), "weight_sparsity"),
        (lambda d: d["mnist"]["networks"]["sparseCNN1"].pop("linear_n"), "linear_n"),
        (lambda d: d.update(cifar=d["mnist"]), "cifar"),  # unknown data set section
    ],
    ids=["k>n", "sparsity0", "sparsity>1", "missing-key", "unknown-dataset"],
)
def test_bad_networks_yaml_fails_in_one_line_naming_file_and_key(tmp_path, edit, named):
    document = yaml.safe_load((REPO / "config" / "networks.yaml").read_text())
    edit(document)
    (tmp_path / "nets.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    result = snakemake(tmp_path, "-n", "--config", "networks_file=nets.yaml", check=False)
    line = _one_error_line(result)
    assert "nets.yaml" in line and named in line


def test_gpu_config_reaches_the_jobs(tmp_path):
    """compute.device: cuda with on_missing_gpu: error makes training refuse a GPU-less machine
    (the script's behaviour is tested in test_bad_inputs); fallback leaves it to warn."""
    document = yaml.safe_load(TINY.read_text())
    document["compute"].update(device="cuda", on_missing_gpu="error")
    strict = tmp_path / "strict.yaml"
    strict.write_text(yaml.safe_dump(document))
    commands = snakemake(tmp_path, "-n", "-p", configfile=strict).stdout
    trains = [line for line in commands.splitlines() if "sparse_pkg.commands.train " in line]
    assert trains and all("--device cuda" in t and "--gpu-required" in t for t in trains)
    document["compute"]["on_missing_gpu"] = "fallback"
    strict.write_text(yaml.safe_dump(document))
    commands = snakemake(tmp_path, "-n", "-p", configfile=strict).stdout
    trains = [line for line in commands.splitlines() if "sparse_pkg.commands.train " in line]
    assert trains and all("--gpu-required" not in t for t in trains)


def test_lint_is_clean(tmp_path):
    result = snakemake(tmp_path, "--lint", check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_demo_config_scores_all_levels_of_a_run_in_one_job(tmp_path):
    result = snakemake(tmp_path, "-n", configfile=REPO / "config" / "config.yaml")
    # every paper network (8 MNIST + 4 GSC) x 2 seeds; one job per run for all 11 levels
    counts = job_counts(result.stdout)
    assert counts["train"] == 24
    assert counts["evaluate_run"] == 24
    assert "\nevaluate " not in result.stdout


def test_demo_dry_run_scores_mnist_on_the_official_test_set(tmp_path):
    commands = snakemake(tmp_path, "-n", "-p", configfile=REPO / "config" / "config.yaml").stdout
    prepare = [line for line in commands.splitlines()
               if "sparse_pkg.commands.prepare_mnist" in line]
    assert len(prepare) == 1 and "--source embedded" in prepare[0], commands[-3000:]
    assert "--test-fraction" not in prepare[0] and "--split-seed" not in prepare[0]
    header = ("data: embedded real MNIST: 5,000 training digits; official 10,000-digit "
              "test set")
    table1 = [line for line in commands.splitlines()
              if "sparse_pkg.commands.report table " in line and "--dataset mnist" in line]
    assert len(table1) == 1 and header in table1[0], commands[-3000:]


@pytest.mark.slow
def test_html_report_holds_the_figures_and_tables(finished_run):
    snakemake(finished_run, "--report", "results/report.html")
    html = (finished_run / "results" / "report.html").read_text(errors="replace")
    for name in ["table1.html", "table2.html", "table3.html", "claims.html", "provenance.html",
                 "fig2.png", "fig4.png", "gsc_noise.png"]:
        assert name in html, name


# ---------------------------------------------------------------------------------------------
# Issue 11: refusals up front, errors on the console, a failed extraction keeps the previous one


def _tiny_with(tmp_path: Path, name: str, edit) -> Path:
    """A copy of the tiny config with ``edit`` applied, written to ``tmp_path / name``."""
    document = yaml.safe_load(TINY.read_text())
    edit(document)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document))
    return path


def test_both_data_sets_disabled_is_refused_and_nothing_is_overwritten(tmp_path):
    def both_off(document):
        document["mnist"]["enabled"] = False
        document["gsc"]["enabled"] = False
    config = _tiny_with(tmp_path, "off.yaml", both_off)
    results = tmp_path / "results"
    results.mkdir()
    (results / "metrics.parquet").write_bytes(b"earlier results")
    result = snakemake(tmp_path, "--cores", "1", configfile=config, check=False)
    line = _one_error_line(result)
    assert line == ("error: config keys mnist.enabled, gsc.enabled (and datasets.*.enabled): all "
                    "are false, so there is nothing to run; set at least one to true")
    assert (results / "metrics.parquet").read_bytes() == b"earlier results"
    assert sorted(p.name for p in results.iterdir()) == ["metrics.parquet"]


def test_default_networks_file_is_found_with_directory_elsewhere(tmp_path):
    """Without networks_file in the config, `--directory` elsewhere reads the repository's."""
    command = [str(SNAKEMAKE), "--snakefile", str(REPO / "workflow" / "Snakefile"),
               "--directory", str(tmp_path), "--configfile", str(TINY), "-n"]
    result = subprocess.run(command, capture_output=True, text=True, env=snakemake_env(),
                            timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert job_counts(result.stdout)["train"] == 8


def test_a_text_file_as_the_archive_is_refused_before_any_job(tmp_path):
    (tmp_path / "notes.txt").write_text("my notes\n" * 100)
    config = _tiny_with(tmp_path, "mine.yaml",
                        lambda d: d["gsc"].update(source="archive", archive="notes.txt"))
    line = _one_error_line(snakemake(tmp_path, "-n", configfile=config, check=False))
    assert line.startswith("error: config key gsc.archive: notes.txt: not a tar archive")
    assert "download" not in line


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def failed_extraction(tmp_path_factory):
    """A finished extraction (synthetic archive), then two failed ones: a user's archive cut in
    half (refused by the official SHA-256) and the synthetic archive itself cut in half in place
    (no checksum, so extraction itself fails): (workdir, store before, user's, cut in place)."""
    workdir = tmp_path_factory.mktemp("failed_extraction")
    snakemake(workdir, "--cores", "2", "data/gsc/manifest.parquet")
    store = workdir / "data" / "gsc" / "extracted"
    before = _tree_digest(store)
    archive = workdir / "data" / "gsc" / "synthetic_speech_commands.tar.gz"
    half = archive.read_bytes()[: archive.stat().st_size // 2]
    (workdir / "mine.tar.gz").write_bytes(half)
    config = _tiny_with(workdir, "mine.yaml", lambda d: d["gsc"].update(
        source="archive", archive="mine.tar.gz"))
    mine = snakemake(workdir, "--cores", "2", "data/gsc/manifest.parquet", configfile=config,
                     check=False)
    archive.write_bytes(half)  # newer than the extraction, so gsc_extract reruns on it
    cut = snakemake(workdir, "--cores", "2", "data/gsc/manifest.parquet", check=False)
    return workdir, before, mine, cut


def test_failed_extraction_keeps_the_previous_clips_manifest_and_sidecar(failed_extraction):
    workdir, before, mine, cut = failed_extraction
    assert mine.returncode != 0 and cut.returncode != 0
    assert "truncated or corrupt archive" in cut.stdout + cut.stderr
    store = workdir / "data" / "gsc" / "extracted"
    assert {"manifest.parquet", "manifest_skipped.json"} <= set(before)
    digits = [n for n in before if n.endswith(".wav") and "_background_noise_" not in n]
    assert len(digits) == 120  # the tiny synthetic archive's digit clips
    assert _tree_digest(store) == before  # every clip, the manifest and the sidecar
    leftovers = [p.name for p in store.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_failed_jobs_error_line_is_on_the_console(failed_extraction):
    """show-failed-logs (workflow/profiles/default): the log's one line reaches the console,
    and for a user's own archive it names the config key to fix, not a download."""
    _, _, result, _ = failed_extraction
    console = result.stdout + result.stderr
    errors = [line for line in console.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, console[-3000:]
    assert errors[0].startswith(f"error: mine.tar.gz: sha256 checksum mismatch (expected "
                                f"{GSC_SHA256}, got ")
    assert errors[0].endswith(": fix the config key gsc.archive (now mine.tar.gz): point it at "
                              "a good copy of speech_commands_v0.01.tar.gz")
    assert "results/logs/gsc_extract.log" in console


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_run_checks_the_config_file_before_snakemake(tmp_path):
    """`make run CONFIG=...` checks the file first (python -m sparse_pkg.config_check: file
    and line of a YAML error, one line for a missing file; tested in test_config_check)."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    result = subprocess.run(["make", "--no-print-directory", "-n", "-o", ".venv/.installed-runtime",
                             "run", "CONFIG=my_config.yaml"],
                            cwd=REPO, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines() if line.strip()]
    assert commands[0].endswith("python -m sparse_pkg.config_check my_config.yaml")
    assert "snakemake --cores" in commands[1]
    assert "--configfile my_config.yaml" in result.stdout


# The report, in an environment installed from the runtime lock alone (what `make run` makes)

@pytest.fixture(scope="module")
def runtime_python(tmp_path_factory) -> Path:
    """A fresh venv with the runtime lock's exact, hash-checked packages and the project itself
    (a normal, non-editable install), and nothing of the dev lock. uv links from its cache, so
    only the first build on a machine downloads torch."""
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        pytest.skip("uv is not in this venv (make test installs it from the dev lock)")
    venv = tmp_path_factory.mktemp("runtime") / "venv"
    subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)],
                   check=True)
    python = venv / "bin" / "python"
    source = venv.parent / "source"  # built from a copy: a build leaves build/ in its source
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "sparse_pkg", source / "sparse_pkg",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for args in (["--require-hashes", "-r", str(REPO / "requirements" / "runtime.txt")],
                 ["--no-deps", str(source)]):
        done = subprocess.run([str(uv), "pip", "install", "--quiet", "--python", str(python),
                               *args], capture_output=True, text=True, timeout=1500)
        assert done.returncode == 0, done.stderr[-3000:]
    return python


def _report_entries(report: Path) -> dict[str, dict]:
    """Snakemake's report: each result's name -> its mime type and decoded content."""
    text = report.read_text()
    entries = {}
    pattern = (r'"name": "([^"]+)", "filename": "[^"]+".*?"mime_type": "([^"]+)".*?'
               r'"data_uri": "data:[^"]*;base64,([A-Za-z0-9+/=]+)"')
    for name, mime, data in re.findall(pattern, text, flags=re.S):
        entries[name] = {"mime": mime, "content": base64.b64decode(data)}
    return entries


@pytest.mark.slow
def test_the_report_shows_tables_inline_from_the_runtime_install(finished_run, runtime_python):
    bin_dir = runtime_python.parent
    assert not (bin_dir / "pytest").exists() and (bin_dir / "snakemake").exists()
    report = finished_run / "results" / "report.html"
    result = subprocess.run(
        [str(bin_dir / "snakemake"), "--snakefile", str(REPO / "workflow" / "Snakefile"),
         "--configfile", str(TINY), "--config", f"networks_file={REPO / 'config/networks.yaml'}",
         "--report", str(report)],
        cwd=finished_run, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}"))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    entries = _report_entries(report)
    for name in ("table1.html", "table2.html", "table3.html", "claims.html", "provenance.html"):
        assert entries[name]["mime"] == "text/html", name  # shown in the page, not a download
        page = entries[name]["content"].decode()
        assert "<table>" in page and "<th" in page, name
    for name in ("table1.html", "table2.html", "claims.html", "provenance.html"):
        assert "Made by sparse_pkg " in entries[name]["content"].decode(), name
    assert {"fig2.png", "fig4.png", "gsc_noise.png"} <= set(entries)
    assert not any(name.endswith(".md") for name in entries)


@pytest.mark.slow
def test_provenance_records_what_made_the_run(finished_run):
    """Each field of results/provenance.json against what this test finds independently."""
    import platform
    import socket

    import torch

    import sparse_pkg
    from sparse_pkg.provenance import NOT_GIT, cpu_model

    text = (finished_run / "results" / "provenance.json").read_text()
    record = json.loads(text)
    work = record["workflow"]
    assert work["version"] == sparse_pkg.__version__
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    if head.returncode == 0:
        assert work["commit"].removesuffix("+dirty") == head.stdout.strip()
    else:
        assert work["commit"] == NOT_GIT
    lock = hashlib.sha256((REPO / "requirements" / "runtime.txt").read_bytes()).hexdigest()
    assert work["lock_sha256"] == lock
    assert re.fullmatch(r"[0-9a-f]{64}", work["config_sha256"])
    runs = {f"{d}/{n}/seed_{s}" for d, nets in
            [("mnist", ["denseCNN1", "sparseCNN1"]), ("gsc", ["denseCNN2_DR00", "sparseCNN2"])]
            for n in nets for s in (42, 43)}
    for kind, key in (("training", "trained"), ("evaluation", "evaluated")):
        assert {r for group in record[kind] for r in group[key]} == runs, kind
        for group in record[kind]:
            env = group["environment"]
            assert env["sparse_pkg"] == sparse_pkg.__version__
            assert env["commit"] == work["commit"]
            assert env["torch"] == torch.__version__ and env["device"] == "cpu"
            assert env["cpu"] == cpu_model()
            assert env["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
            assert env["torch_threads"] == 1  # train_threads and eval_threads of tiny.yaml
            assert env["python"] == platform.python_version()
    assert record["environments"] == 1
    assert socket.gethostname() not in text
    headline = f"Made by sparse_pkg {sparse_pkg.__version__} "
    for name in ("table1.md", "table2.md", "claims.md"):
        table = (finished_run / "results" / name).read_text()
        assert headline in table and work["config_sha256"][:12] in table, name
    history = pd.read_parquet(finished_run / "results" / "history.parquet")
    assert history["environment"].map(lambda e: json.loads(e)["device"]).eq("cpu").all()


@pytest.mark.slow
def test_every_claim_row_of_a_real_run_has_its_bound_agree_with_its_verdict(finished_run):
    """claims.md of the tiny run: on each network row, the one-sided bound lies beyond the
    margin of `Test` exactly when the verdict is *holds*; p (Holm) is never below p."""
    text = (finished_run / "results" / "claims.md").read_text()
    header = "| Claim | Where | Test | Effect | Bound (level) | p (one-sided) | p (Holm) |"
    assert header in text
    rows = [[cell.strip() for cell in line.strip("|").split(" | ")]
            for line in text.splitlines() if line.startswith("| ") and "(level)" not in line
            and line.count(" | ") == 8]
    assert len(rows) == 2 * 9  # both protocols, every network claim of config/claims.yaml
    checked = 0
    for claim, _, test, _, bound, p, p_holm, _, verdict in rows:
        if bound == "–":
            continue
        direction, margin = re.search(r" ([<>]) ([-+]?[\d,.]+) \(", test).groups()
        value = float(bound.split(" (")[0][2:].replace(",", ""))
        margin_value = float(margin.replace(",", ""))
        beyond = value > margin_value if direction == ">" else value < margin_value
        assert beyond == (verdict == "*holds*"), (claim, test, bound, verdict)
        assert float(p_holm.split()[0]) >= float(p.split()[0]), claim
        checked += 1
    assert checked == 2 * 3  # the tiny run tests 3 claims a protocol: the rest have no runs
