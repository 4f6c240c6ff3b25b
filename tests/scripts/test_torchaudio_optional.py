"""A broken torchaudio fails only the resampling of non-16 kHz audio, with one clear line.

The failure is planted as it happens in the field: a torchaudio whose compiled extension does not
load against the installed torch raises OSError ("undefined symbol ...") at import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p.stem for p in (REPO / "sparse_pkg" / "commands").glob("*.py")
                 if p.stem != "__init__")


@pytest.fixture()
def broken_torchaudio_env(tmp_path):
    """Environment whose `import torchaudio` raises the mismatched-pair OSError."""
    package = tmp_path / "fake" / "torchaudio"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "raise OSError('libtorchaudio.so: undefined symbol: "
        "torch_exception_get_what_without_backtrace')\n")
    (package / "functional.py").write_text("")
    path = os.pathsep.join([str(package.parent), str(REPO)])
    return dict(os.environ, PYTHONPATH=path)


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=300)


def test_the_planted_torchaudio_is_really_broken(broken_torchaudio_env):
    result = run_python("import torchaudio", broken_torchaudio_env)
    assert result.returncode != 0 and "undefined symbol" in result.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_starts_without_torchaudio(script, broken_torchaudio_env):
    """Run as the rules run them: `python -P -m sparse_pkg.commands.NAME` from the checkout."""
    result = subprocess.run([sys.executable, "-P", "-m", f"sparse_pkg.commands.{script}", "--help"],
                            capture_output=True, text=True, env=broken_torchaudio_env,
                            cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_16khz_audio_and_features_need_no_torchaudio(broken_torchaudio_env):
    code = """
import sys, torch
from sparse_pkg.audio.wav import to_16k
from sparse_pkg.audio.features import log_mel_spectrogram as log_mel
x = torch.zeros(16000)
assert to_16k(x, 16000) is x
print(tuple(log_mel(x[None]).shape), 'torchaudio' in sys.modules)
"""
    result = run_python(code, broken_torchaudio_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "False"


def test_resampling_with_a_broken_torchaudio_is_one_line_naming_the_fix(broken_torchaudio_env):
    code = """
import torch
from sparse_pkg.audio.wav import to_16k
from sparse_pkg.errors import InputError
try:
    to_16k(torch.zeros(8000), 8000)
except InputError as exc:
    print(exc)
"""
    result = run_python(code, broken_torchaudio_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("torchaudio cannot be loaded (libtorchaudio.so: undefined symbol")
    assert "requirements/runtime.txt" in lines[0] and "8000" not in lines[0][:20]
