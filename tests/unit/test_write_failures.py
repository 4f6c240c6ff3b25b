"""A full disk or a permission error while writing an output leaves no partial file: the target
is absent or still holds its previous complete content, no temporary sibling is left, and the
script says so in one line naming the file (``error: cannot write PATH: ...; free disk space or
check permissions, then rerun``, exit status 2)."""

from __future__ import annotations

import errno
import io
import os
import re
from pathlib import Path

import click
import pandas as pd
import pyarrow.parquet
import pytest
import torch
from click.testing import CliRunner

from sparse_pkg.cli import handle_errors, verbose_option
from sparse_pkg.errors import InputError, OutputWriteError, UserError
from sparse_pkg.io.atomic import atomic_path, write_bytes, write_parquet, write_text
from sparse_pkg.io.tensors import TensorSet, load_tensor_set, save_tensor_set, save_torch
from tests.helpers.write_failures import write_failure_message

TEMP_NAME = re.compile(r"^\..+\.tmp$")  # atomic_path's temporary sibling: .<name>.<random>.tmp
ROOM = 4096  # bytes the "disk" takes before it is full


# ---------------------------------------------------------------------------------------------
# The writers the scripts use for their outputs, each writing version 1 or 2 of a file


def _chunks(path: Path, version: int) -> None:
    """A caller of atomic_path writing by itself in chunks (as CSV and figure writers do)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        for _ in range(10):
            handle.write(bytes([version]) * 10_000)


def _frame(version: int) -> pd.DataFrame:
    return pd.DataFrame({"run": range(20_000), "score": [float(version)] * 20_000})


PYTHON_WRITERS = {  # written through Python file objects
    "write_bytes": lambda path, v: write_bytes(path, bytes([v]) * 100_000),
    "write_text": lambda path, v: write_text(path, f"version {v}\n" * 10_000),
    "atomic_path": _chunks,
    "save_tensor_set": lambda path, v: save_tensor_set(
        path, TensorSet(torch.full((200, 1, 28, 28), float(v)), torch.zeros(200))),
    "save_torch": lambda path, v: save_torch({"weight": torch.full((50_000,), float(v))}, path),
}
PARQUET_WRITERS = {  # written by pyarrow's native file I/O
    "write_parquet": lambda path, v: write_parquet(_frame(v), path),
}
WRITERS = {**PYTHON_WRITERS, **PARQUET_WRITERS}


# ---------------------------------------------------------------------------------------------
# Injected failures


class _FillingFile:
    """A file on a disk with ``room`` bytes left: a write that does not fit writes what fits,
    then raises ENOSPC, as a real full disk does. ``landed`` counts the bytes written."""

    def __init__(self, handle, room: int) -> None:
        self._handle, self.room, self.landed = handle, room, 0

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        fits = min(len(view), self.room)
        self._handle.write(view[:fits])
        self._handle.flush()
        self.room -= fits
        self.landed += fits
        if fits < len(view):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return fits

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._handle.close()


@pytest.fixture
def python_disk_full(monkeypatch) -> list[_FillingFile]:
    """Temporary files opened for writing through open() land on a disk with ROOM bytes left;
    returns the list of those files."""
    opened: list[_FillingFile] = []
    real_open = io.open

    def fake_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if "w" in mode and isinstance(file, str | os.PathLike) \
                and TEMP_NAME.match(Path(file).name):
            opened.append(_FillingFile(handle, ROOM))
            return opened[-1]
        return handle

    monkeypatch.setattr(io, "open", fake_open)  # Path.open
    monkeypatch.setattr("builtins.open", fake_open)
    return opened


@pytest.fixture
def parquet_disk_full(monkeypatch) -> list[int]:
    """pyarrow's parquet writer gets half the file out, then the disk is full; returns the
    numbers of bytes that landed."""
    landed: list[int] = []
    real_write_table = pyarrow.parquet.write_table

    def fake_write_table(table, where, *args, filesystem=None, **kwargs):
        buffer = pyarrow.BufferOutputStream()
        real_write_table(table, buffer, *args, **kwargs)
        half = buffer.getvalue().to_pybytes()[: buffer.getvalue().size // 2]
        if isinstance(where, str | os.PathLike):
            with open(where, "wb") as handle:
                handle.write(half)
        else:
            where.write(half)
        landed.append(len(half))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pyarrow.parquet, "write_table", fake_write_table)
    return landed


@pytest.fixture
def rename_denied(monkeypatch) -> list[int]:
    """Renaming a temporary file over its target raises PermissionError (as a read-only
    target folder does); returns the sizes the temporary files had at the rename."""
    sizes: list[int] = []
    real_replace = os.replace

    def fake_replace(src, dst, *args, **kwargs):
        if TEMP_NAME.match(Path(src).name):
            sizes.append(Path(src).stat().st_size)
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(src), None,
                                  os.fspath(dst))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", fake_replace)
    return sizes


def _folder_state(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir())


def _old_version(target: Path, writer: str, existed: bool) -> bytes | None:
    if not existed:
        return None
    WRITERS[writer](target, 1)
    return target.read_bytes()


def _assert_untouched(target: Path, before: bytes | None) -> None:
    """The target is as it was (absent, or complete old bytes) and nothing else is beside it."""
    if before is None:
        assert _folder_state(target) == []
    else:
        assert _folder_state(target) == [target.name]  # no temporary sibling
        assert target.read_bytes() == before


# ---------------------------------------------------------------------------------------------
# In-process: every writer, disk full part-way and permission denied at the rename


@pytest.mark.parametrize("existed", [False, True], ids=["new", "replacing"])
@pytest.mark.parametrize("writer", list(PYTHON_WRITERS))
def test_disk_full_mid_write_python_writers(tmp_path, writer, existed, request):
    target = tmp_path / "out" / "result.bin"
    before = _old_version(target, writer, existed)
    opened = request.getfixturevalue("python_disk_full")
    with pytest.raises(OutputWriteError) as caught:
        WRITERS[writer](target, 2)
    assert [f.landed for f in opened] == [ROOM]  # bytes reached the temporary file, then ENOSPC
    assert caught.value.error.errno == errno.ENOSPC and caught.value.path == str(target)
    assert str(caught.value) == write_failure_message(target, "No space left on device")
    _assert_untouched(target, before)


@pytest.mark.parametrize("existed", [False, True], ids=["new", "replacing"])
@pytest.mark.parametrize("writer", list(PARQUET_WRITERS))
def test_disk_full_mid_write_parquet_writers(tmp_path, writer, existed, request):
    target = tmp_path / "out" / "table.parquet"
    before = _old_version(target, writer, existed)
    landed = request.getfixturevalue("parquet_disk_full")
    with pytest.raises(OutputWriteError) as caught:
        WRITERS[writer](target, 2)
    assert len(landed) == 1 and landed[0] > 1000
    assert str(caught.value) == write_failure_message(target, "No space left on device")
    _assert_untouched(target, before)


@pytest.mark.parametrize("existed", [False, True], ids=["new", "replacing"])
@pytest.mark.parametrize("writer", list(WRITERS))
def test_permission_denied_at_rename(tmp_path, writer, existed, request):
    target = tmp_path / "out" / "result.bin"
    before = _old_version(target, writer, existed)
    sizes = request.getfixturevalue("rename_denied")
    with pytest.raises(OutputWriteError) as caught:
        WRITERS[writer](target, 2)
    assert len(sizes) == 1 and sizes[0] > 1000  # the complete new file was there, not renamed
    assert isinstance(caught.value.error, PermissionError)
    assert str(caught.value) == write_failure_message(target, "Permission denied")
    _assert_untouched(target, before)


def test_writers_work_without_injected_failures(tmp_path):
    """The baseline: each writer's version 2 replaces version 1 and reads back."""
    for writer in WRITERS:
        target = tmp_path / writer / "result.bin"
        WRITERS[writer](target, 1)
        first = target.read_bytes()
        WRITERS[writer](target, 2)
        assert target.read_bytes() != first, writer
        assert _folder_state(target) == [target.name], writer
    assert load_tensor_set(tmp_path / "save_tensor_set" / "result.bin").features.max() == 2.0
    assert pd.read_parquet(tmp_path / "write_parquet" / "result.bin")["score"].eq(2.0).all()


# ---------------------------------------------------------------------------------------------
# OutputWriteError: only write failures of outputs, one line at the command line


def test_unwritable_output_folder_is_an_output_write_error(tmp_path):
    """A real OS error: the output's folder cannot be made because a file has its name."""
    (tmp_path / "results").write_text("a file, not a folder")
    target = tmp_path / "results" / "table.md"
    with pytest.raises(OutputWriteError) as caught:
        write_text(target, "x")
    assert str(caught.value).startswith(f"cannot write {target}: ")
    assert isinstance(caught.value, UserError) and not isinstance(caught.value, InputError)
    assert isinstance(caught.value.error, OSError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


def test_oserror_about_another_file_is_not_an_output_write_error(tmp_path):
    """An input missing while an output is written is that input's error, not a write error."""
    target = tmp_path / "out.bin"
    with pytest.raises(FileNotFoundError) as caught, atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        (tmp_path / "missing-input.bin").read_bytes()
    assert not isinstance(caught.value, OutputWriteError)
    assert list(tmp_path.iterdir()) == []  # temporary file removed all the same


@click.command()
@click.option("--out", required=True)
@verbose_option
@handle_errors
def _write_command(out):
    write_text(out, "hello\n")


def test_cli_reports_a_write_failure_in_one_line(tmp_path, rename_denied):
    target = tmp_path / "table.md"
    result = CliRunner().invoke(_write_command, ["--out", str(target)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {write_failure_message(target, 'Permission denied')}\n"
    verbose = CliRunner().invoke(_write_command, ["--out", str(target), "--verbose"])
    assert verbose.exit_code == 1 and isinstance(verbose.exception, OutputWriteError)
    assert isinstance(verbose.exception.__cause__, PermissionError)  # the traceback shows both
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# A real process hitting a real OS limit: the file size limit (EFBIG, like a full disk)





