"""Downloads against a local HTTP server on 127.0.0.1: complete, resumed, mirrors, failures."""

from __future__ import annotations

import socket

import pytest

from sparse_pkg.errors import InputError
from sparse_pkg.io.download import download
from tests.helpers.http_server import MD5, PAYLOAD, SHA256


def _dead_url() -> str:
    """A URL on a 127.0.0.1 port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/file.bin"


@pytest.mark.parametrize(
    ("algorithm", "digest"), [("sha256", SHA256), ("md5", MD5)], ids=["sha256", "md5"]
)
def test_complete_download_is_verified_and_renamed(server, tmp_path, algorithm, digest):
    server.routes["/f.bin"] = (PAYLOAD, "plain")
    dest = tmp_path / "sub" / "f.bin"
    result = download(f"{server.base}/f.bin", dest, checksum=digest, algorithm=algorithm,
                      progress="off")
    assert result == dest
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "sub" / "f.bin.part").exists()
    assert server.log == [("/f.bin", None)]


def test_dropped_connection_resumes_with_range(server, tmp_path):
    server.routes["/f.bin"] = (PAYLOAD, "drop")
    dest = tmp_path / "f.bin"
    download(f"{server.base}/f.bin", dest, checksum=SHA256, retries=2, backoff=0, progress="off")
    assert dest.read_bytes() == PAYLOAD
    half = len(PAYLOAD) // 2
    assert server.log == [("/f.bin", None), ("/f.bin", f"bytes={half}-")]


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    server.routes["/f.bin"] = (PAYLOAD, "drop_ignore_range")
    dest = tmp_path / "f.bin"
    download(f"{server.base}/f.bin", dest, checksum=SHA256, retries=2, backoff=0, progress="off")
    assert dest.read_bytes() == PAYLOAD  # not the first half twice
    assert server.log[1] == ("/f.bin", f"bytes={len(PAYLOAD) // 2}-")


def test_rerun_resumes_existing_part_file(server, tmp_path):
    server.routes["/f.bin"] = (PAYLOAD, "plain")
    dest = tmp_path / "f.bin"
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD[:1000])
    download(f"{server.base}/f.bin", dest, checksum=SHA256, progress="off")
    assert dest.read_bytes() == PAYLOAD
    assert server.log == [("/f.bin", "bytes=1000-")]


def test_complete_part_file_answered_416_is_finished(server, tmp_path):
    server.routes["/f.bin"] = (PAYLOAD, "plain")
    dest = tmp_path / "f.bin"
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD)
    download(f"{server.base}/f.bin", dest, checksum=SHA256, progress="off")
    assert dest.read_bytes() == PAYLOAD
    assert server.log == [("/f.bin", f"bytes={len(PAYLOAD)}-")]


def test_stale_part_file_with_wrong_bytes_is_refetched(server, tmp_path):
    server.routes["/f.bin"] = (PAYLOAD, "plain")
    dest = tmp_path / "f.bin"
    (tmp_path / "f.bin.part").write_bytes(b"x" * 1000)
    download(f"{server.base}/f.bin", dest, checksum=SHA256, retries=1, backoff=0, progress="off")
    assert dest.read_bytes() == PAYLOAD
    assert server.log == [("/f.bin", "bytes=1000-"), ("/f.bin", None)]


def test_server_error_is_retried(server, tmp_path):
    server.routes["/f.bin"] = (PAYLOAD, "fail_first")
    dest = tmp_path / "f.bin"
    download(f"{server.base}/f.bin", dest, checksum=SHA256, retries=1, backoff=0, progress="off")
    assert dest.read_bytes() == PAYLOAD
    assert len(server.log) == 2


def test_checksum_mismatch_names_file_expected_and_actual(server, tmp_path):
    server.routes["/f.bin"] = (PAYLOAD, "plain")
    dest = tmp_path / "f.bin"
    wrong = "0" * 64
    with pytest.raises(InputError) as info:
        download(f"{server.base}/f.bin", dest, checksum=wrong, progress="off")
    message = str(info.value)
    assert str(dest) in message and wrong in message and SHA256 in message
    assert "\n" not in message
    assert not dest.exists() and not (tmp_path / "f.bin.part").exists()


def test_unreachable_url_raises_one_line_naming_url_and_hint(tmp_path):
    url = _dead_url()
    with pytest.raises(InputError) as info:
        download(url, tmp_path / "f.bin", retries=1, backoff=0, timeout=5, progress="off",
                 hint="put the archive at /x/f.bin or set config key data.archive")
    message = str(info.value)
    assert url in message and "config key data.archive" in message
    assert "\n" not in message
    assert not (tmp_path / "f.bin").exists()


def test_mirror_fallback_after_404_without_retrying_it(server, tmp_path):
    server.routes["/good/f.bin"] = (PAYLOAD, "plain")
    dest = tmp_path / "f.bin"
    download([f"{server.base}/missing/f.bin", f"{server.base}/good/f.bin"], dest,
             checksum=SHA256, retries=3, backoff=0, progress="off")
    assert dest.read_bytes() == PAYLOAD
    assert [path for path, _ in server.log] == ["/missing/f.bin", "/good/f.bin"]


def test_all_mirrors_failing_lists_each(server, tmp_path):
    dead = _dead_url()
    with pytest.raises(InputError) as info:
        download([f"{server.base}/missing/f.bin", dead, "not-a-url"], tmp_path / "f.bin",
                 retries=2, backoff=0, timeout=5, progress="off")
    message = str(info.value)
    assert f"{server.base}/missing/f.bin (HTTP 404" in message and dead in message
    assert "not-a-url (unknown url type" in message
    assert len(server.log) == 1  # a 404 is not retried


def test_existing_good_file_is_not_downloaded_again(server, tmp_path):
    dest = tmp_path / "f.bin"
    dest.write_bytes(PAYLOAD)
    assert download(_dead_url(), dest, checksum=SHA256, progress="off") == dest
    assert download(f"{server.base}/f.bin", dest, checksum=SHA256, progress="off") == dest
    assert server.log == []


def test_existing_bad_user_file_is_reported_and_kept(tmp_path):
    dest = tmp_path / "f.bin"
    dest.write_bytes(b"user data")
    with pytest.raises(InputError, match="checksum mismatch") as info:
        download(_dead_url(), dest, checksum=SHA256, progress="off")
    assert SHA256 in str(info.value)
    assert dest.read_bytes() == b"user data"


def test_plain_progress_lines_on_a_non_terminal(server, tmp_path, capsys):
    server.routes["/f.bin"] = (PAYLOAD, "plain")
    download(f"{server.base}/f.bin", tmp_path / "f.bin", progress="lines")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "downloading f.bin"
    assert lines[-1] == "f.bin: 195.3 KiB of 195.3 KiB (100%) done"


def test_progress_bar_mode_draws_a_tqdm_bar(server, tmp_path, capsys):
    server.routes["/f.bin"] = (PAYLOAD, "plain")
    download(f"{server.base}/f.bin", tmp_path / "f.bin", progress="bar")
    err = capsys.readouterr().err
    assert "f.bin: 100%" in err and "195k/195k" in err


