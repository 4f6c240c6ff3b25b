"""Shared fixtures: the real data samples of ../shared/data (skipped with a reason when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.http_server import reset, running_server

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    override = os.environ.get("SPARSE_SHARED_DATA")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder holding mnist-t10k/ and gsc-v0.01-sample/; skips the test when it is absent."""
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"real-data sample folder {path} is absent (set SPARSE_SHARED_DATA to use one)")
    return path


@pytest.fixture(scope="session")
def gsc_sample(shared_data: Path) -> Path:
    path = shared_data / "gsc-v0.01-sample"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def mnist_t10k(shared_data: Path) -> Path:
    path = shared_data / "mnist-t10k"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="module")
def _running_server():
    """A local HTTP file server (tests/helpers/http_server.py), shared by a module's tests."""
    with running_server() as httpd:
        yield httpd


@pytest.fixture
def server(_running_server):
    """The local file server with empty routes and request log; ``server.base`` is its URL."""
    return reset(_running_server)
