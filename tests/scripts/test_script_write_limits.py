"""A script that hits the file-size limit mid-write leaves no partial output."""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

from tests.helpers.write_failures import write_failure_message

REPO = Path(__file__).resolve().parents[2]
FILE_SIZE_LIMIT = 1 << 20  # 1 MiB; train.pt of the embedded MNIST subset is ~12.5 MB


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process

def test_script_hitting_the_file_size_limit_leaves_no_partial_output(tmp_path):
    out = tmp_path / "mnist"
    outputs = [out / "train.pt", out / "test.pt", out / "train.pt.sha256"]
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "prepare_mnist.py"), "--source", "embedded",
         "--train-out", str(outputs[0]), "--test-out", str(outputs[1])],
        cwd=REPO, env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True,
        timeout=300, preexec_fn=_limit_file_size,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    message = write_failure_message(outputs[0], os.strerror(errno.EFBIG))
    assert result.stderr == f"error: {message}\n"
    assert not any(p.exists() for p in outputs)
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers == []  # no partial output, no temporary file
