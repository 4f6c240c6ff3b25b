"""Licence and citation metadata agree with each other and with pyproject.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_license_citation_and_pyproject_agree():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert project["license"] == "MIT" == citation["license"]
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    assert citation["version"] == project["version"]
    assert citation["cff-version"] == "1.2.0" and citation["authors"] and citation["message"]
    paper = citation["preferred-citation"]
    assert paper["url"] == project["urls"]["Paper"] == "https://arxiv.org/abs/1903.11257"
    assert [a["family-names"] for a in paper["authors"]] == ["Ahmad", "Scheinkman"]


def test_data_licences_are_stated():
    readme = (REPO / "README.md").read_text()
    assert "CC BY-SA 3.0" in readme and "CC BY 4.0" in readme
    data_readme = (REPO / "sparse_pkg" / "data" / "README.md").read_text()
    assert "CC BY-SA 3.0" in data_readme
