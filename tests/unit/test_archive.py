"""Safe tar.gz extraction: unsafe members rejected, filter honoured, corrupt archives reported."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

from sparse_pkg.errors import InputError
from sparse_pkg.io.archive import archive_header_problem, normalise_member_name, safe_extract


def _member(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, link: str = ""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.mode = 0o644
    return info, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def _make_archive(path: Path, members) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, payload in members:
            tar.addfile(info, payload)
    return path


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_good_archive_extracts_only_wanted_members(tmp_path):
    archive = _make_archive(
        tmp_path / "good.tar.gz",
        [
            _member("./", kind=tarfile.DIRTYPE),
            _member("./keep/a.txt", b"alpha"),
            _member("./skip/b.txt", b"beta"),
            _member("keep/sub/c.txt", b"gamma"),
            _member("keep/link", kind=tarfile.SYMTYPE, link="a.txt"),
            _member("top.txt", b"top"),
        ],
    )
    dest = tmp_path / "out"
    names = safe_extract(archive, dest, lambda name: name.split("/")[0] == "keep")
    assert names == ["keep/a.txt", "keep/sub/c.txt", "keep/link"]
    assert (dest / "keep" / "a.txt").read_bytes() == b"alpha"
    assert (dest / "keep" / "sub" / "c.txt").read_bytes() == b"gamma"
    assert (dest / "keep" / "link").is_symlink()
    assert (dest / "keep" / "link").read_bytes() == b"alpha"
    assert not (dest / "skip").exists()
    assert not (dest / "top.txt").exists()
    assert _leftovers(tmp_path) == []


def test_no_filter_extracts_everything(tmp_path):
    archive = _make_archive(
        tmp_path / "all.tar.gz", [_member("x/1.txt", b"1"), _member("y.txt", b"2")]
    )
    assert safe_extract(archive, tmp_path / "d") == ["x/1.txt", "y.txt"]
    assert (tmp_path / "d" / "y.txt").read_bytes() == b"2"


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (_member("/abs/evil.txt", b"x"), "absolute"),
        (_member("data/../../evil.txt", b"x"), "'..'"),
        (_member("data/..", kind=tarfile.DIRTYPE), "'..'"),
        (_member("data/link", kind=tarfile.SYMTYPE, link="../../outside"), "outside"),
        (_member("data/abs", kind=tarfile.SYMTYPE, link="/etc/passwd"), "absolute"),
        (_member("data/hard", kind=tarfile.LNKTYPE, link="../outside.txt"), "outside"),
        (_member("data/hardabs", kind=tarfile.LNKTYPE, link="/etc/passwd"), "absolute"),
        (_member("data/dev", kind=tarfile.CHRTYPE), "device"),
        (_member("data/blk", kind=tarfile.BLKTYPE), "device"),
        (_member("data/fifo", kind=tarfile.FIFOTYPE), "FIFO"),
        (_member("./", b"x"), "empty name"),
    ],
)
def test_unsafe_member_rejects_archive(tmp_path, member, reason):
    info = member[0]
    archive = _make_archive(
        tmp_path / "evil.tar.gz", [_member("data/ok.txt", b"fine"), (info, member[1])]
    )
    dest = tmp_path / "out"
    with pytest.raises(InputError) as caught:
        safe_extract(archive, dest)
    message = str(caught.value)
    assert "\n" not in message
    assert str(archive) in message
    assert f"'{info.name}'" in message
    assert reason in message
    assert not dest.exists()
    assert not (tmp_path / "outside").exists()
    assert _leftovers(tmp_path) == []


def test_unsafe_member_rejected_even_when_filtered_out(tmp_path):
    archive = _make_archive(
        tmp_path / "evil.tar.gz",
        [_member("keep/a.txt", b"a"), _member("other/l", kind=tarfile.SYMTYPE, link="/etc")],
    )
    with pytest.raises(InputError, match="other/l"):
        safe_extract(archive, tmp_path / "out", lambda name: name.startswith("keep/"))
    assert not (tmp_path / "out").exists()


def test_symlinked_folder_cannot_smuggle_files_outside(tmp_path):
    # 'a' -> '.' is inside; 'a/../../x' is caught lexically, so chain via two links instead.
    archive = _make_archive(
        tmp_path / "chain.tar.gz",
        [
            _member("d", kind=tarfile.SYMTYPE, link="."),
            _member("e", kind=tarfile.SYMTYPE, link="d/.."),
        ],
    )
    with pytest.raises(InputError, match="member 'e' rejected as unsafe"):
        safe_extract(archive, tmp_path / "out")


def test_hardlink_to_unextracted_member_is_reported(tmp_path):
    archive = _make_archive(
        tmp_path / "hl.tar.gz",
        [_member("skip/a.txt", b"a"), _member("keep/h", kind=tarfile.LNKTYPE, link="skip/a.txt")],
    )
    with pytest.raises(InputError, match="hard link"):
        safe_extract(archive, tmp_path / "out", lambda name: name.startswith("keep/"))


def test_hardlink_inside_is_extracted(tmp_path):
    archive = _make_archive(
        tmp_path / "hl.tar.gz",
        [_member("a.txt", b"same"), _member("b.txt", kind=tarfile.LNKTYPE, link="a.txt")],
    )
    safe_extract(archive, tmp_path / "out")
    assert (tmp_path / "out" / "b.txt").read_bytes() == b"same"


def _random_archive(path: Path) -> Path:
    payload = np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    return _make_archive(path, [_member("a/big.bin", payload), _member("a/after.txt", b"z")])


@pytest.mark.parametrize("keep_fraction", [0.5, 0.999])
def test_truncated_archive_is_input_error(tmp_path, keep_fraction):
    good = _random_archive(tmp_path / "good.tar.gz").read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(good[: int(len(good) * keep_fraction)])
    dest = tmp_path / "out"
    with pytest.raises(InputError) as caught:
        safe_extract(cut, dest)
    message = str(caught.value)
    assert str(cut) in message and "download it again" in message and "\n" not in message
    assert not dest.exists()
    assert _leftovers(tmp_path) == []


def test_not_an_archive_is_input_error(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"<html>not found</html>")
    with pytest.raises(InputError, match="corrupt"):
        safe_extract(junk, tmp_path / "out")


def test_missing_archive_is_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        safe_extract(tmp_path / "absent.tar.gz", tmp_path / "out")


def test_failed_extraction_keeps_previous_dest_and_success_replaces_it(tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(_random_archive(tmp_path / "good.tar.gz").read_bytes()[:5000])
    with pytest.raises(InputError):
        safe_extract(cut, dest)
    assert (dest / "old.txt").read_text() == "old"

    safe_extract(tmp_path / "good.tar.gz", dest)
    assert not (dest / "old.txt").exists()
    assert (dest / "a" / "after.txt").read_bytes() == b"z"
    assert _leftovers(tmp_path) == []


def test_verify_hook_can_abort_before_commit(tmp_path):
    archive = _make_archive(tmp_path / "a.tar.gz", [_member("x.txt", b"1")])
    seen = []

    def verify(names):
        seen.extend(names)
        raise InputError("nope")

    with pytest.raises(InputError, match="nope"):
        safe_extract(archive, tmp_path / "out", verify=verify)
    assert seen == ["x.txt"]
    assert not (tmp_path / "out").exists()
    assert _leftovers(tmp_path) == []


def test_normalise_member_name():
    assert normalise_member_name("./a//b/./c.wav") == "a/b/c.wav"
    assert normalise_member_name("./") == ""
    assert normalise_member_name("a\\b") == "a/b"


@pytest.mark.parametrize("umask, mode", [(0o022, 0o755), (0o027, 0o750), (0o077, 0o700)])
def test_extracted_folder_gets_the_umask_mode_not_0700(tmp_path, umask, mode):
    archive = _make_archive(tmp_path / "a.tar.gz", [_member("x.txt", b"1")])
    old = os.umask(umask)
    try:
        safe_extract(archive, tmp_path / "out")
    finally:
        os.umask(old)
    assert (tmp_path / "out").stat().st_mode & 0o777 == mode


def test_remedy_replaces_the_advice_to_download_again(tmp_path):
    junk = tmp_path / "mine.tar.gz"
    junk.write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    with pytest.raises(InputError) as caught:
        safe_extract(junk, tmp_path / "out", remedy="fix the config key gsc.archive")
    assert str(caught.value).endswith("; fix the config key gsc.archive")
    assert "download" not in str(caught.value)


def test_header_check_tells_a_text_file_from_an_archive(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 200)
    assert archive_header_problem(text).startswith("not a tar archive")
    assert archive_header_problem(tmp_path / "absent.tar.gz") == "file not found"
    assert archive_header_problem(tmp_path) == "is a folder, not an archive file"
    gz = _make_archive(tmp_path / "a.tar.gz", [_member("x.txt", b"1")])
    assert archive_header_problem(gz) is None
    with tarfile.open(tmp_path / "a.tar", "w") as tar:
        tar.addfile(*_member("x.txt", b"1"))
    assert archive_header_problem(tmp_path / "a.tar") is None
