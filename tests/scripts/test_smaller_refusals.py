"""The smaller cases a careful reader hit: a training stopped by SIGTERM says so in its log and
resumes; the other data set's tensors, a duplicate config key, a number YAML reads as text, a
path with a space and a data folder that is a file each stop with one line."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from sparse_pkg.config_check import config_file_error, rule_error
from sparse_pkg.errors import InputError
from sparse_pkg.networks_file import load_networks
from tests.helpers.training import (
    CONFIG,
    KILL_EPOCHS,
    _gsc_files,
    _popen,
    _train_command,
    _wait_for,
    tiny_definition,
    write_definitions,
)
from tests.helpers.workflow import SNAKEMAKE, run_snakemake

TINY = CONFIG.parents[1] / "tests" / "configs" / "tiny.yaml"


def test_a_training_stopped_by_sigterm_says_so_and_a_rerun_resumes(tmp_path):
    definitions = write_definitions(tmp_path / "networks.yaml",
                                    tiny_definition("gsc", epochs=KILL_EPOCHS))
    data = _gsc_files(tmp_path / "data", 700)
    out = tmp_path / "run"
    victim = _popen(_train_command(definitions, data, out, "cpu"))
    _wait_for(out / "resume.pt", victim, deadline_s=180)
    time.sleep(0.2)
    victim.send_signal(signal.SIGTERM)
    _, stderr = victim.communicate(timeout=60)
    assert victim.returncode == 128 + signal.SIGTERM, stderr
    lines = [line for line in stderr.splitlines() if "SIGTERM" in line]
    assert len(lines) == 1 and "training gsc/tinySparse seed 44: stopped by SIGTERM" in lines[0]
    assert "rerun to continue from the last one" in lines[0]
    rerun = subprocess.run(_train_command(definitions, data, out, "cpu"), capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0 and "resuming gsc/tinySparse seed 44" in rerun.stderr


def test_training_on_the_other_data_sets_tensors_is_one_line(tmp_path):
    data = _gsc_files(tmp_path / "gsc", 40)  # 32 x 32 GSC features for an MNIST network
    definitions = write_definitions(tmp_path / "networks.yaml", tiny_definition("mnist"))
    command = _train_command(definitions, data, tmp_path / "run", "cpu")
    command[command.index("gsc")] = "mnist"
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith(f"error: {data / 'train.pt'}: features of "
                                                     "shape (2, 1, 32, 32) do not fit "
                                                     "mnist/tinySparse (input (1, 28, 28))")
    assert "Traceback" not in done.stderr


def test_a_duplicate_config_key_is_named_with_its_line(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text("seeds: 2\nrun_label: demo\nseeds: 3\n")
    assert config_file_error(path) == (f"{path}: line 3, column 1: duplicate key 'seeds': the "
                                       "later one would silently win; keep one")


@pytest.mark.skipif(not SNAKEMAKE.exists(), reason="snakemake not in this venv")
def test_snakemake_refuses_a_config_file_with_a_duplicate_key(tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("compute:\n  device: cpu\ncompute:\n  device: cuda\n")
    done = run_snakemake(tmp_path, TINY, "-n", "--configfile", str(TINY), str(overlay),
                         check=False)
    assert done.returncode != 0
    assert f"error: {overlay}: line 3, column 1: duplicate key 'compute'" in done.stderr


def test_a_number_yaml_reads_as_text_gets_a_hint(tmp_path):
    text = CONFIG.read_text()
    assert "    lr: 0.01\n" in text
    path = tmp_path / "networks.yaml"
    path.write_text(text.replace("    lr: 0.01\n", "    lr: 1e-2\n", 1))
    with pytest.raises(InputError) as caught:
        load_networks(path)
    message = str(caught.value)
    assert "lr" in message and "'1e-2'" in message and "\n" not in message
    assert message.endswith("YAML reads 1e-2 as text: write 1.0e-2 or 0.01 (a number needs a "
                            "dot before the exponent)")


@pytest.mark.parametrize("config, expected", [
    ({"results_dir": "my results"}, "config key results_dir: 'my results' contains a space"),
    ({"data_dir": "data\tset"}, "config key data_dir: 'data\\tset' contains a space"),
    ({"gsc": {"enabled": True, "archive": "/data/speech commands.tar.gz"}},
     "config key gsc.archive: '/data/speech commands.tar.gz' contains a space"),
])
def test_paths_with_spaces_are_refused_up_front(config, expected):
    base = {"noise_levels": [0.0], "mnist": {"enabled": True}, "gsc": {"enabled": False}}
    problem = rule_error({**base, **config})
    assert problem is not None and problem.startswith(expected)


def test_a_data_folder_that_is_a_file_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").write_text("not a folder")
    problem = rule_error({"noise_levels": [0.0], "mnist": {"enabled": True}, "data_dir": "data"})
    assert problem == ("config key data_dir: data is a file, not a folder; name a folder (it is "
                       "created when missing)")
