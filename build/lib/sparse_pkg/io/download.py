"""Robust HTTP(S) download: mirrors, retries, resume, progress, checksum, atomic rename.

The pipeline fetches large archives (GSC is about 1.4 GB) over links that may drop. A
transfer streams into ``<dest>.part`` beside the target; a later attempt (in the same call
or in a rerun after a crash) resumes it with an HTTP ``Range`` request, and a server that
answers ``200`` instead of ``206`` is handled by restarting cleanly. The finished file is
checksum-verified before it is renamed to ``dest``, so ``dest`` only ever holds a complete,
verified file. Failures end in one :class:`~sparse_pkg.errors.InputError` line naming the
URL(s) and what to do. Only the standard library (urllib) is used for the transfer.
"""

from __future__ import annotations

import http.client
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from sparse_pkg.errors import InputError
from sparse_pkg.io.checksum import file_digest, verify_checksum

_CHUNK = 1 << 16
_USER_AGENT = "sparse_pkg-download/1 (+python-urllib)"
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)")
_PROGRESS_MODES = ("auto", "bar", "lines", "off")


class _AttemptFailed(Exception):
    """One transfer attempt failed; ``retry`` says whether the same URL deserves another go."""

    def __init__(self, reason: str, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


class _Progress:
    """Byte counter shown as a tqdm bar, as plain periodic lines on stderr, or not at all."""

    def __init__(self, mode: str, label: str, total: int | None, initial: int,
                 interval: float) -> None:
        self.mode = mode
        self.label = label
        self.total = total
        self.done = initial
        self.interval = interval
        self._last = time.monotonic()
        self._bar = None
        if mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=initial, unit="B", unit_scale=True,
                             unit_divisor=1024, desc=label, file=sys.stderr)
        elif mode == "lines":
            start = f" (resuming at {_human(initial)})" if initial else ""
            self._line(f"downloading {label}{start}")

    def update(self, count: int) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
        elif self.mode == "lines" and time.monotonic() - self._last >= self.interval:
            self._line(f"{self.label}: {self._amount()}")

    def close(self, finished: bool) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.mode == "lines" and finished:
            self._line(f"{self.label}: {self._amount()} done")

    def _amount(self) -> str:
        if self.total:
            return f"{_human(self.done)} of {_human(self.total)} ({100 * self.done // self.total}%)"
        return _human(self.done)

    def _line(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)
        self._last = time.monotonic()


def _human(count: int) -> str:
    """Byte count as a short human-readable string (binary units)."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"  # pragma: no cover - loop always returns


def _resolve_progress(progress: str | bool | None) -> str:
    """Map the ``progress`` argument to one of 'bar', 'lines', 'off'."""
    if progress is None or progress is True:
        progress = "auto"
    elif progress is False:
        progress = "off"
    if progress not in _PROGRESS_MODES:
        raise ValueError(f"progress must be one of {_PROGRESS_MODES}, got {progress!r}")
    if progress == "auto":
        return "bar" if sys.stderr.isatty() else "lines"
    return progress


def _one_line(exc: BaseException) -> str:
    """A short single-line description of a network exception."""
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _attempt(url: str, part: Path, timeout: float, mode: str, label: str) -> None:
    """Fetch ``url`` into ``part``, resuming from its current size; raise _AttemptFailed."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        request = urllib.request.Request(url, headers=headers)
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:
            match = _UNSATISFIED_RANGE.match(exc.headers.get("Content-Range", "") or "")
            if match and int(match.group(1)) == offset:
                return  # the part file already holds the whole resource
            part.unlink(missing_ok=True)
            raise _AttemptFailed(f"HTTP 416 when resuming at byte {offset}", retry=True) from None
        retry = exc.code >= 500 or exc.code in (408, 429)
        raise _AttemptFailed(f"HTTP {exc.code} {exc.reason}", retry=retry) from None
    except ValueError as exc:  # malformed URL: no point in retrying
        raise _AttemptFailed(_one_line(exc), retry=False) from None
    except (OSError, http.client.HTTPException) as exc:
        raise _AttemptFailed(_one_line(exc), retry=True) from None

    with response:
        status = getattr(response, "status", None) or 200
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        if status == 206 and offset:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", "") or "")
            if not match or int(match.group(1)) != offset:
                part.unlink(missing_ok=True)
                raise _AttemptFailed("server answered a resume with the wrong byte range",
                                     retry=True)
            file_mode, start = "ab", offset
            total = int(match.group(3)) if match.group(3) != "*" else None
        else:  # a full answer: a fresh start, or a server that ignores Range
            file_mode, start = "wb", 0
            total = length
        if total is None and length is not None:
            total = start + length
        progress = _Progress(mode, label, total, start, interval=10.0)
        written = start
        finished = False
        try:
            with open(part, file_mode) as handle:
                while chunk := response.read(_CHUNK):
                    handle.write(chunk)
                    written += len(chunk)
                    progress.update(len(chunk))
                handle.flush()
                os.fsync(handle.fileno())
            finished = total is None or written == total
        except (OSError, http.client.HTTPException) as exc:
            raise _AttemptFailed(f"transfer interrupted at byte {written}: {_one_line(exc)}",
                                 retry=True) from None
        finally:
            progress.close(finished)
        if not finished:
            raise _AttemptFailed(f"connection closed after {written} of {total} bytes",
                                 retry=True)


def download(
    url_or_urls: str | Sequence[str],
    dest: str | os.PathLike,
    *,
    checksum: str | None = None,
    algorithm: str = "sha256",
    timeout: float = 30,
    retries: int = 3,
    backoff: float = 0.5,
    progress: str | bool | None = None,
    hint: str | None = None,
) -> Path:
    """Download to ``dest`` (mirrors tried in order) and return its path.

    ``checksum`` (hex, ``algorithm`` 'sha256' or 'md5') is verified before the atomic rename
    of ``<dest>.part`` to ``dest``. If ``dest`` already exists it is kept when its checksum
    matches (or no checksum is given); a user-supplied ``dest`` with the wrong checksum
    raises InputError and is never deleted. Each URL gets ``1 + retries`` attempts with
    ``backoff * 2**i`` seconds between them; an interrupted transfer resumes from the
    ``.part`` file. ``timeout`` (seconds) bounds each connect/read. ``progress``: 'auto'
    (None; a tqdm bar on a terminal, plain periodic lines otherwise), 'bar', 'lines' or
    'off'. ``hint`` ends the error message (e.g. "put the archive at PATH or set config key
    K"). Raises InputError when no URL delivers a file with the right checksum.
    """
    urls = [url_or_urls] if isinstance(url_or_urls, str) else list(url_or_urls)
    if not urls:
        raise ValueError("download needs at least one URL")
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    dest = Path(dest)
    if dest.exists():
        if checksum is not None:
            verify_checksum(dest, checksum, algorithm)
        return dest
    mode = _resolve_progress(progress)
    hint = hint or f"check the network connection, or fetch the file by hand and put it at {dest}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    failures: list[str] = []
    for url in urls:
        attempt = 0
        while True:
            resumed = part.exists() and part.stat().st_size > 0
            try:
                _attempt(url, part, timeout, mode, dest.name)
            except _AttemptFailed as failure:
                if not failure.retry or attempt >= retries:
                    failures.append(f"{url} ({failure.reason})")
                    break
                time.sleep(backoff * 2**attempt)
                attempt += 1
                continue
            if checksum is not None:
                actual = file_digest(part, algorithm)
                if actual.lower() != checksum.lower():
                    part.unlink(missing_ok=True)
                    if resumed and attempt < retries:  # a stale .part: try once from scratch
                        attempt += 1
                        continue
                    failures.append(
                        f"{url} ({algorithm} mismatch: expected {checksum.lower()}, "
                        f"actual {actual})"
                    )
                    break
            os.replace(part, dest)
            return dest
    raise InputError(f"{dest}: could not download it: {'; '.join(failures)}; {hint}")
