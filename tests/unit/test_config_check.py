"""config_check: a schema violation becomes one line naming the key and what to do."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from snakemake.utils import update_config, validate

from sparse_pkg.config_check import (
    config_error,
    config_file_error,
    load_schema,
    resolve_config_file,
)

REPO = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO / "workflow" / "schemas" / "config.schema.yaml"
SCHEMA = load_schema(SCHEMA_PATH)
DEMO = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
PAPER = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())


def _merged(base: dict, overlay: dict) -> dict:
    """``overlay`` merged over ``base`` key by key, as Snakemake merges a --configfile over the
    workflow's config/config.yaml (the real run: tests/workflow/test_workflow.py)."""
    config = copy.deepcopy(base)
    update_config(config, overlay)
    return config


def _leaves(document: dict, prefix: tuple = ()):
    for key, value in document.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def test_shipped_configs_are_valid():
    assert config_error(DEMO, SCHEMA) is None
    assert config_error(_merged(DEMO, PAPER), SCHEMA) is None


def test_paper_overlay_holds_only_what_differs_from_the_demo():
    for path, value in _leaves(PAPER):
        demo = DEMO
        for key in path:
            demo = demo.get(key, {})
        assert demo != value, f"{'.'.join(path)} repeats the demo's value; drop it there"
    assert "enabled" not in PAPER["mnist"]  # the rest comes from config/config.yaml


def _optional_without_default(schema: dict, prefix: str = ""):
    required = set(schema.get("required", []))
    for name, sub in schema.get("properties", {}).items():
        if name not in required and "default" not in sub:
            yield f"{prefix}{name}"
        yield from _optional_without_default(sub, f"{prefix}{name}.")


def test_every_optional_key_has_its_default_in_the_schema():
    """The rules read config[...] without fallbacks: a key a user may leave out needs a default
    (its one home), and so does a section, so that its own defaults are filled in."""
    assert list(_optional_without_default(SCHEMA)) == []


def test_validate_fills_nested_defaults_of_an_absent_section():
    config = {"run_label": "demo", "seeds": 1, "noise_levels": [0.0],
              "mnist": {"enabled": True, "source": "embedded"},
              "gsc": {"enabled": False, "source": "synthetic"}}
    validate(config, str(SCHEMA_PATH))  # what the Snakefile runs
    assert config["compute"]["device"] == "auto" and config["compute"]["evaluate_per"] == "level"
    assert config["figure2"] == {"trials": 200000, "seed": 0}
    assert config["gsc"]["synthetic"] == {"speakers": 100, "utterances_per_word": 200, "seed": 7}
    assert config["mnist"]["mirrors"] is None and config["gsc"]["url"] is None  # the official


def _error(change) -> str:
    config = copy.deepcopy(DEMO)
    change(config)
    return config_error(config, SCHEMA)


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda c: c.update(seeds=0), "config key seeds: 0 is out of range; it must be >= 1"),
        (lambda c: c["mnist"].update(max_epochs=0),
         "config key mnist.max_epochs: 0 is out of range; it must be >= 1"),
        (lambda c: c.update(noise_levels=[0.0, -0.5]),
         "config key noise_levels.1: -0.5 is out of range; it must be >= 0.0"),
        (lambda c: c["gsc"].update(source="ftp"),
         "config key gsc.source: 'ftp' is not allowed; use one of: synthetic, download, archive, "
         "directory"),
        (lambda c: c.pop("seeds"),
         "config key seeds: missing; add it (see config/config.yaml for an example)"),
    ],
)
def test_messages_name_the_key_and_the_fix(change, expected):
    assert _error(change) == expected


def test_unknown_key_lists_the_known_ones_of_its_section():
    line = _error(lambda c: c["compute"].update(devcie="cpu"))
    assert line.startswith("config key compute.devcie: unknown key; remove it or fix its spelling")
    assert "device" in line and "evaluate_per" in line and "\n" not in line


def test_several_problems_report_the_first_key_and_count_the_rest():
    def two(config):
        config.update(seeds=0)
        config["compute"].update(device="tpu")
    assert _error(two) == ("config key compute.device: 'tpu' is not allowed; use one of: auto, "
                           "cpu, cuda (and 1 more problem(s))")


# Rules a JSON schema cannot say, refused before any job (issue 11, cases 4 and 5)

def test_noise_levels_without_the_clean_level_are_refused():
    line = _error(lambda c: c.update(noise_levels=[0.1, 0.2]))
    assert line.startswith("config key noise_levels: 0.0 is missing; add it")
    assert _error(lambda c: c.update(noise_levels=[0, 0.1])) is None  # 0 is 0.0


def test_both_data_sets_disabled_is_refused():
    def both_off(config):
        config["mnist"]["enabled"] = False
        config["gsc"]["enabled"] = False
    assert _error(both_off) == ("config keys mnist.enabled, gsc.enabled (and "
                                "datasets.*.enabled): all are false, so there is nothing to "
                                "run; set at least one to true")
    assert _error(lambda c: c["gsc"].update(enabled=False)) is None

    def own_only(config):
        both_off(config)
        config["datasets"] = {"digits": {"module": "examples.digits"}}
    assert _error(own_only) is None  # a data set of your own is on by default
    assert _error(lambda c: (own_only(c), c["datasets"]["digits"].update(enabled=False))) \
        .startswith("config keys mnist.enabled, gsc.enabled (and datasets.*.enabled): all")


def test_compare_needs_both_folders():
    assert _error(lambda c: c.update(compare={"a": "results"})) == (
        "config key compare.b: missing; give both compare.a and compare.b (two results "
        "folders), or neither")
    assert _error(lambda c: c.update(compare={"a": "x", "b": "y"})) is None


# Config files Snakemake cannot load (case 8): `python -m sparse_pkg.config_check FILE`

def _check_file(*paths) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sparse_pkg.config_check", *map(str, paths)],
                          capture_output=True, text=True, cwd=REPO)


def test_yaml_syntax_error_names_the_file_and_the_line(tmp_path):
    bad = tmp_path / "my.yaml"
    bad.write_text("run_label: demo\nseeds: 2\nnoise_levels: [0.0, 0.1\nmnist:\n  enabled: true\n")
    result = _check_file(bad)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {bad}: line 4, column 6: YAML syntax error ")
    assert "flow sequence at line 3" in lines[0] and "fix the file there" in lines[0]


def test_missing_config_file_is_one_line(tmp_path):
    result = _check_file(tmp_path / "absent.yaml")
    assert result.returncode == 2
    assert result.stderr == (f"error: {tmp_path / 'absent.yaml'}: config file not found; check "
                             "the path given to --configfile\n")


def test_good_config_files_pass_the_file_check():
    result = _check_file(REPO / "config" / "config.yaml", REPO / "config" / "paper.yaml")
    assert result.returncode == 0 and result.stderr == ""


def test_a_list_at_the_top_is_refused(tmp_path):
    listed = tmp_path / "list.yaml"
    listed.write_text("- seeds: 2\n")
    assert config_file_error(listed).startswith(f"{listed}: the top level must be a mapping")


# networks_file from the repository when Snakemake runs elsewhere (case 9)

def _in_workflow(path: str) -> str:
    """The workflow's own file at ``path`` relative to workflow/ (the Snakefile's workflow_file)."""
    return str((REPO / "workflow" / path).resolve())


def test_networks_file_falls_back_to_the_workflows_own_copy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = str(REPO / "config" / "networks.yaml")
    assert resolve_config_file("config/networks.yaml", _in_workflow) == expected
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "networks.yaml").write_text("mnist: {}\n")
    assert resolve_config_file("config/networks.yaml", _in_workflow) == "config/networks.yaml"
    assert resolve_config_file("nowhere.yaml", _in_workflow) == "nowhere.yaml"  # loader names it
