"""config_check: a schema violation becomes one line naming the key and what to do."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from sparse_pkg.config_check import config_error, load_schema

REPO = Path(__file__).resolve().parents[1]
SCHEMA = load_schema(REPO / "workflow" / "schemas" / "config.schema.yaml")
DEMO = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml"])
def test_shipped_configs_are_valid(name):
    assert config_error(yaml.safe_load((REPO / "config" / name).read_text()), SCHEMA) is None


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
         "config key gsc.source: 'ftp' is not allowed; use one of: synthetic, download, archive"),
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
