"""exclusive_lock: one process at a time per run folder, released even when its holder is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sparse_pkg.errors import InputError
from sparse_pkg.io.lock import exclusive_lock
from sparse_pkg.io.tensors import TensorSet
from sparse_pkg.training import TrainingData, train
from sparse_pkg.training.run import LOCK_FILE
from tests.helpers.training import patch_data, tiny_definition

REPO = Path(__file__).resolve().parents[2]
HOLD = ("import sys, time; from sparse_pkg.io.lock import exclusive_lock\n"
        "with exclusive_lock(sys.argv[1], 'test'):\n"
        "    print('held', flush=True); time.sleep(120)\n")


def _holder(lock: Path) -> subprocess.Popen:
    """Another process holding ``lock`` (it says 'held' once it does)."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE,
                               text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert process.stdout.readline().strip() == "held"
    return process


def test_lock_is_exclusive_names_the_holder_and_is_released_on_exit(tmp_path):
    lock = tmp_path / "run" / "x.lock"
    with exclusive_lock(lock, "run A"):
        assert lock.read_text() == f"{os.getpid()}\n"
        with pytest.raises(InputError, match=rf"pid {os.getpid()}\) is already working on run A"):
            with exclusive_lock(lock, "run A"):
                pass
    with exclusive_lock(lock, "run A"):  # free again after the block
        pass


def test_lock_of_a_sigkilled_holder_is_free(tmp_path):
    lock = tmp_path / "x.lock"
    holder = _holder(lock)
    with pytest.raises(InputError, match=f"pid {holder.pid}"):
        with exclusive_lock(lock, "run A"):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    deadline = time.monotonic() + 10
    while True:  # the kernel drops the lock with the process
        try:
            with exclusive_lock(lock, "run A"):
                break
        except InputError:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_train_refuses_a_run_folder_another_process_is_training(tmp_path):
    definition = tiny_definition("mnist", epochs=1)
    x, y = patch_data("mnist", 40, 0)
    xt, yt = patch_data("mnist", 20, 1)
    data = TrainingData(train_features=x, train_labels=y, test=TensorSet(xt, yt))
    holder = _holder(tmp_path / "out" / LOCK_FILE)
    try:
        with pytest.raises(InputError, match="already working on training mnist/tinySparse seed 3"):
            train(definition, data, seed=3, out_dir=tmp_path / "out")
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [LOCK_FILE]
    finally:
        holder.kill()
        holder.wait(timeout=30)
    history = train(definition, data, seed=3, out_dir=tmp_path / "out")  # free once it is gone
    assert len(history) == 1
