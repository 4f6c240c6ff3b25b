"""code_fingerprint: which edits change a command's fingerprint (and so rerun its jobs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sparse_pkg import code_fingerprint as fp

PACKAGE = Path(fp.__file__).resolve().parent
NEW_FUNCTION = "def _unused_helper():\n    return 1\n\n\ndef "


@pytest.fixture()
def package(tmp_path) -> Path:
    """A private copy of sparse_pkg to edit (the fingerprint reads files, never imports)."""
    root = tmp_path / "sparse_pkg"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__", "data"))
    return root


def _fingerprint(root: Path, command: str = "train") -> str:
    fp._module_info.cache_clear()
    fp.code_fingerprint.cache_clear()
    return fp.code_fingerprint(f"sparse_pkg.commands.{command}", root)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_the_closure_follows_absolute_relative_and_function_level_imports(tmp_path):
    root = tmp_path / "sparse_pkg"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "sub" / "__init__.py").write_text("from .leaf import x\n")
    (root / "sub" / "leaf.py").write_text("x = 1\n")
    (root / "other.py").write_text("y = 2\n")
    (root / "unused.py").write_text("z = 3\n")
    (root / "top.py").write_text("import os\n\ndef f():\n    from sparse_pkg import other\n"
                                 "    from sparse_pkg.sub import leaf\n    return other, leaf\n")
    assert fp.module_closure("sparse_pkg.top", root) == [
        "sparse_pkg", "sparse_pkg.other", "sparse_pkg.sub", "sparse_pkg.sub.leaf",
        "sparse_pkg.top"]


def test_a_change_to_what_the_code_does_changes_the_fingerprint(package):
    before = _fingerprint(package)
    _edit(package / "training" / "schedule.py", "def ", NEW_FUNCTION)
    assert _fingerprint(package) != before


def test_comments_docstrings_and_formatting_do_not(package):
    before = _fingerprint(package)
    schedule = package / "training" / "schedule.py"
    text = schedule.read_text()
    first_docstring = text.index('"""') + 3
    schedule.write_text("# a new comment\n" + text[:first_docstring] + "Reworded. "
                        + text[first_docstring:].replace("\n\n\n", "\n\n\n\n"))
    assert _fingerprint(package) == before


def test_a_module_outside_a_commands_closure_does_not_change_it(package):
    before = _fingerprint(package, "aggregate")
    assert "sparse_pkg.training.schedule" not in fp.module_closure(
        "sparse_pkg.commands.aggregate", package)
    _edit(package / "training" / "schedule.py", "def ", NEW_FUNCTION)
    assert _fingerprint(package, "aggregate") == before


def test_an_unknown_module_is_named():
    with pytest.raises(ValueError, match="sparse_pkg.commands.nothing: no such module"):
        fp.module_closure("sparse_pkg.commands.nothing")
