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


# Snakemake workflow catalog conventions: one version everywhere, a changelog entry for it,
# the configuration documented key by key, the catalog's usage file.

def test_one_version_in_pyproject_package_citation_and_changelog():
    import sparse_pkg

    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert sparse_pkg.__version__ == version
    assert yaml.safe_load((REPO / "CITATION.cff").read_text())["version"] == version
    assert f"\n## {version}\n" in (REPO / "CHANGELOG.md").read_text()


def _leaf_keys(properties: dict, prefix: str = "") -> list[str]:
    """Every setting of the config schema (sections are not settings), nested as a.b.c."""
    keys = []
    for name, spec in properties.items():
        if isinstance(spec, dict) and "properties" in spec:
            keys += _leaf_keys(spec["properties"], f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


def _documented(key: str, text: str) -> bool:
    """``key`` is named in ``text`` as `key`, or by a wildcard of its section (`a.*`,
    `a.*_threads`), or beside a sibling in one cell (`a.x`, `a.y`)."""
    section, _, name = key.rpartition(".")
    forms = [f"`{key}`"]
    if section:
        forms += [f"`{section}.*`", f"`{section}.*_{name.rpartition('_')[2]}`"]
    return any(form in text for form in forms)


def test_every_config_key_is_documented_in_config_readme():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    documented = (REPO / "config" / "README.md").read_text()
    missing = [k for k in _leaf_keys(schema["properties"]) if not _documented(k, documented)]
    assert not missing, f"config/README.md does not document: {', '.join(missing)}"


def test_the_workflow_catalog_file_says_how_to_deploy():
    usage = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())["usage"]
    assert set(usage) == {"mandatory-flags", "software-stack-deployment", "report"}
    assert usage["report"] is True and usage["software-stack-deployment"]["conda"] is True
    assert "sparse_pkg" in usage["mandatory-flags"]["desc"]
