"""scripts/download.py as a process: SIGKILLed mid-transfer, it resumes from its .part file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers.http_server import PAYLOAD, SHA256


def test_killed_download_script_resumes_on_rerun(server, tmp_path):
    """The real script, SIGKILLed mid-transfer, continues from its .part file when rerun."""
    server.routes["/f.bin"] = (PAYLOAD, "stall_first")
    dest, part = tmp_path / "f.bin", tmp_path / "f.bin.part"
    repo = Path(__file__).resolve().parents[2]
    command = [sys.executable, str(repo / "scripts" / "download.py"), "file",
               "--url", f"{server.base}/f.bin", "--sha256", SHA256, "--out", str(dest)]
    env = dict(os.environ, PYTHONPATH=str(repo))
    victim = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20  # well inside the script's read timeout
    while not (part.exists() and part.stat().st_size > 0):  # the first chunks are on disk
        assert victim.poll() is None and time.monotonic() < deadline, victim.communicate()
        time.sleep(0.02)
    time.sleep(0.2)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    server.release.set()
    kept = part.stat().st_size
    assert not dest.exists() and 0 < kept < len(PAYLOAD)

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert dest.read_bytes() == PAYLOAD and not part.exists()
    assert server.log == [("/f.bin", None), ("/f.bin", f"bytes={kept}-")]  # resumed, not restarted
