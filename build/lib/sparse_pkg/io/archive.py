"""Safe, all-or-nothing extraction of (gzipped) tar archives downloaded from the internet.

An archive is untrusted input: every member is checked before anything is written (no absolute
paths, no ``..`` components, no symbolic or hard links leaving the destination, no device files
or FIFOs), and one bad member rejects the whole archive. Python's own ``"data"`` extraction
filter is applied as a second layer. Members are extracted into a temporary sibling folder that
is renamed to the destination only when extraction (and the caller's verification) completed,
so an interrupted run never leaves a half-extracted folder behind. Folders made here get the
usual permissions (0777 less the umask, e.g. 0755), not the 0700 of a bare temporary folder.
"""

from __future__ import annotations

import contextlib
import gzip
import lzma
import os
import posixpath
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

from sparse_pkg.errors import InputError

MemberFilter = Callable[[str], bool]
Verifier = Callable[[Sequence[str]], None]

_CORRUPT_ERRORS = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError)
DOWNLOAD_AGAIN = "delete it and download it again, or replace it with a good copy"


def normalise_member_name(name: str) -> str:
    """The member's path as a clean relative posix path (``./a//b`` -> ``a/b``), unchecked."""
    cleaned = posixpath.normpath(name.replace("\\", "/")) if name else ""
    return "" if cleaned == "." else cleaned


def _is_absolute(name: str) -> bool:
    """True for posix-absolute, backslash-rooted and Windows drive paths (``C:...``)."""
    return name.startswith(("/", "\\")) or (len(name) >= 2 and name[1] == ":")


def _has_parent_component(name: str) -> bool:
    return ".." in name.replace("\\", "/").split("/")


def _escapes(path_from_root: str) -> bool:
    """True if a relative posix path, once normalised, leaves the extraction root."""
    normal = posixpath.normpath(path_from_root)
    return normal == ".." or normal.startswith("../")


def unsafe_reason(member: tarfile.TarInfo) -> str | None:
    """Why extracting ``member`` would be unsafe, or None when it is a plain safe member.

    Hard-link targets are relative to the archive root, symbolic-link targets to the link's
    own folder; both must stay inside the destination.
    """
    name = member.name
    if _is_absolute(name):
        return "has an absolute path"
    if _has_parent_component(name):
        return "has a '..' path component"
    if normalise_member_name(name) == "" and not member.isdir():
        return "has an empty name"
    if member.ischr() or member.isblk():
        return "is a device file"
    if member.isfifo():
        return "is a FIFO"
    if member.issym() or member.islnk():
        target = member.linkname.replace("\\", "/")
        if not target or _is_absolute(target):
            return f"is a link to the absolute or empty path '{member.linkname}'"
        if member.issym():
            from_root = posixpath.join(posixpath.dirname(normalise_member_name(name)), target)
        else:
            from_root = target
        if _escapes(from_root):
            return f"is a link pointing outside the destination ('{member.linkname}')"
        return None
    if not (member.isreg() or member.isdir()):
        return "is not a regular file, folder or link"
    return None


_TAR_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")  # gzip, bzip2, xz


def archive_header_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be a tar archive (plain, gzip, bzip2 or xz), or None.

    Cheap: only the first 512 bytes are read, so a workflow can refuse a wrong file (a text
    file, a folder, a missing path) before any job starts. A damaged archive with a good
    header passes here and is caught by :func:`safe_extract`.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except FileNotFoundError:
        return "file not found"
    except IsADirectoryError:
        return "is a folder, not an archive file"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    if head.startswith(_TAR_MAGIC) or head[257:262] == b"ustar":
        return None
    return "not a tar archive (its first bytes are neither gzip, bzip2, xz nor tar)"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _extract_member(
    tar: tarfile.TarFile, member: tarfile.TarInfo, root: Path, archive: Path
) -> None:
    """Extract one already-checked member below ``root`` after a real-path containment check."""
    target = Path(os.path.realpath(root / normalise_member_name(member.name)))
    if not _inside(target, root):
        raise InputError(
            f"{archive}: member '{member.name}' would be written outside the destination through "
            "a link; the archive is unsafe: replace it with the official one"
        )
    tar.extract(member, root, filter="data")


def _umask() -> int:
    """The process's file-mode creation mask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_temp_folder(parent: str | os.PathLike, prefix: str) -> Path:
    """A new uniquely named folder in ``parent`` with the mode a plain ``mkdir`` would give.

    ``tempfile.mkdtemp`` makes its folders 0700; renamed into place, such a folder would stay
    unreadable to everyone else (a shared data folder, a group project).
    """
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    folder.chmod(0o777 & ~_umask())
    return folder


def replace_folder(tmp: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Move the finished folder ``tmp`` to ``dest``, replacing an older ``dest`` if any.

    Both are in the same parent folder, so each step is a rename; an older ``dest`` is put
    back if the final rename fails.
    """
    _commit(Path(tmp), Path(dest))


def _commit(tmp: Path, dest: Path) -> None:
    """Move the finished temporary folder to ``dest``, replacing an older ``dest`` if any."""
    old: Path | None = None
    if dest.exists() or dest.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
        os.replace(dest, old / "previous")
    try:
        os.replace(tmp, dest)
    except BaseException:
        if old is not None:  # put the previous folder back
            os.replace(old / "previous", dest)
            old.rmdir()
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def safe_extract(
    archive: str | os.PathLike,
    dest: str | os.PathLike,
    member_filter: MemberFilter | None = None,
    *,
    verify: Verifier | None = None,
    remedy: str | None = None,
) -> list[str]:
    """Extract the members of ``archive`` that ``member_filter`` accepts into folder ``dest``.

    ``member_filter`` gets each member's normalised relative posix name (``./a/b`` -> ``a/b``)
    and returns True to extract it; None extracts everything. Every member, wanted or not, is
    checked for safety first. ``verify``, if given, is called with the extracted names before
    the result is moved into place and may raise to abort. Returns the extracted names in
    archive order. Raises InputError (one line naming the archive and, where it applies, the
    member) for a missing, truncated, corrupt or unsafe archive; ``dest`` is then untouched.
    ``remedy`` ends the message for a missing, truncated or corrupt archive (default: download
    it again; for a user's own archive, name the setting that points at it).
    """
    archive_path = Path(archive)
    dest_path = Path(os.path.abspath(dest))
    if not archive_path.is_file():
        raise InputError(
            f"{archive_path}: archive not found; {remedy or 'download it again or fix the path'}"
        )
    dest_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_folder(dest_path.parent, prefix=f".{dest_path.name}.partial-")
    root = Path(os.path.realpath(tmp))
    extracted: list[str] = []
    done: set[str] = set()
    try:
        try:
            with tarfile.open(archive_path, mode="r|*") as tar:
                for member in tar:
                    reason = unsafe_reason(member)
                    if reason is not None:
                        raise InputError(
                            f"{archive_path}: member '{member.name}' {reason}; the archive is "
                            "unsafe: do not use it, replace it with the official one"
                        )
                    name = normalise_member_name(member.name)
                    if name == "":  # the archive's own root folder entry, './'
                        continue
                    if member_filter is not None and not member_filter(name):
                        continue
                    if member.islnk() and normalise_member_name(member.linkname) not in done:
                        raise InputError(
                            f"{archive_path}: member '{member.name}' is a hard link to "
                            f"'{member.linkname}', which was not extracted before it; the "
                            "archive is not in the expected form: replace it with the official one"
                        )
                    _extract_member(tar, member, root, archive_path)
                    extracted.append(name)
                    done.add(name)
        except _CORRUPT_ERRORS as exc:
            if isinstance(exc, tarfile.FilterError):
                raise InputError(
                    f"{archive_path}: member '{exc.tarinfo.name}' rejected as unsafe "
                    f"({_one_line(exc)}); replace the archive with the official one"
                ) from None
            raise InputError(
                f"{archive_path}: truncated or corrupt archive ({_one_line(exc)}); "
                f"{remedy or DOWNLOAD_AGAIN}"
            ) from None
        if verify is not None:
            verify(extracted)
        _commit(tmp, dest_path)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    return extracted
