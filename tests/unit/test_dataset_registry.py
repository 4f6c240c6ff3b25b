"""The data-set interface (sparse_pkg.datasets.registry): the built-in facts every rule and report
reads, a data set of your own loaded from its module and refused in one line when it is not one,
its raw-data checksum, the commands that prepare it, and no data-set list typed out elsewhere."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from sparse_pkg.datasets import registry
from sparse_pkg.errors import InputError
from sparse_pkg.io.tensors import load_tensor_set
from sparse_pkg.networks_file import _parse, load_networks
from sparse_pkg.user_modules import source_fingerprint

REPO = Path(__file__).resolve().parents[2]

PLUGIN = '''
import numpy as np
import torch
from sparse_pkg.datasets.registry import DatasetInfo
from sparse_pkg.io.tensors import TensorSet

INFO = DatasetInfo(name="x", title="Tiny", channels=1, height=6, width=6, classes=3,
                   noise="noise", source="made up", sha256=SHA)

def fetch():
    return {"labels": np.arange(12) % 3}

def prepare(raw, options):
    labels = torch.from_numpy(raw["labels"]).to(torch.int64)
    features = torch.zeros(12, 1, 6, options.get("width", 6))
    return TensorSet(features[:8], labels[:8]), TensorSet(features[8:], labels[8:])

def noisy(test, level, seed):
    return TensorSet(test.features + level, test.labels, dict(test.meta))
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A module `tinydata` in a working folder (as in a workflow run), with the right digest."""
    digest = registry.raw_digest({"labels": np.arange(12) % 3})
    (tmp_path / "tinydata.py").write_text(PLUGIN.replace("SHA", repr(digest)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(registry, "_PLUGINS", {})
    yield tmp_path
    sys.modules.pop("tinydata", None)


def test_the_built_in_data_sets_and_their_facts():
    assert registry.names() == ["mnist", "gsc"]
    mnist, gsc = registry.info("mnist"), registry.info("gsc")
    assert (mnist.channels, mnist.height, mnist.width, mnist.classes) == (1, 28, 28, 10)
    assert (gsc.height, gsc.classes, gsc.extra_tests, gsc.validation) == (32, 12,
                                                                          ("background",), True)
    assert (mnist.table_number, gsc.table_number) == (1, 2)
    assert (mnist.paper_max_noise_score, gsc.paper_max_noise_score) == (110_000, 28_072)
    with pytest.raises(InputError, match=r"unknown data set 'cifar' \(known: mnist, gsc\)"):
        registry.info("cifar")


def test_raw_digest_by_hand():
    labels = np.array([1, 2], dtype=np.int64)
    expected = hashlib.sha256(b"labels|<i8|(2,)|" + labels.tobytes()).hexdigest()
    assert registry.raw_digest({"labels": labels}) == expected
    assert registry.raw_digest({"labels": labels.astype(np.int32)}) != expected  # dtype counts


def test_a_module_is_loaded_under_its_config_name(plugin):
    facts = registry.load_plugin("tiny", "tinydata")
    assert facts.name == "tiny" and registry.names() == ["mnist", "gsc", "tiny"]
    assert registry.is_plugin("tiny") and registry.info("tiny").classes == 3
    assert len(source_fingerprint(registry.plugin_module("tiny"))) == 16
    networks = {"tiny": {"networks": {"net": {
        "label": "t", "conv_channels": [4], "conv_k": ["dense"], "linear_n": 8, "linear_k": 8,
        "weight_sparsity": 1.0, "batch_norm": False, "dropout": 0.0, "boost_strength": 0.0,
        "boost_strength_factor": 1.0, "k_inference_factor": 1.0, "duty_cycle_period": 10,
        "optimizer": "sgd", "lr": 0.1, "momentum": 0.0, "lr_factor": 1.0, "weight_decay": 0.0,
        "batch_size": 4, "first_epoch_batch_size": 4, "test_batch_size": 4, "epochs": 1}}}}
    path = plugin / "networks.yaml"
    path.write_text(yaml.safe_dump(networks))
    (net,) = load_networks(path)
    assert net.data_geometry == (1, 6, 6, 3) and net.conv_units == (4,)  # 6 -> 2 -> 1
    assert net.num_classes == 3
    copy = load_networks(path).to_yaml()  # what the jobs read
    registry._PLUGINS.clear()  # a job has no registry: the copy's entries carry the geometry
    assert list(_parse(copy, "copy")) == [net]
    with pytest.raises(InputError, match=r"key 'tiny': unknown data set"):
        _parse(path.read_text(), "networks.yaml")


@pytest.mark.parametrize(("source", "expected"), [
    (None, "cannot import it (ModuleNotFoundError: No module named 'nowhere')"),
    ("def fetch(): pass\n", "it lacks INFO, prepare, noisy"),
    ("INFO = 3\nfetch = prepare = noisy = print\n", "INFO must be a "
                                                   "sparse_pkg.datasets.registry.DatasetInfo"),
    ("raise RuntimeError('broken')\n", "cannot import it (RuntimeError: broken)"),
])
def test_a_module_that_is_not_a_data_set_is_refused_in_one_line(plugin, source, expected):
    name = "nowhere" if source is None else f"bad{abs(hash(source))}"  # one module per case
    if source is not None:
        (plugin / f"{name}.py").write_text(source)
    with pytest.raises(InputError) as caught:
        registry.load_plugin("mine", name)
    assert str(caught.value).startswith(f"config key datasets.mine.module ({name}): ")
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    sys.modules.pop(name, None)
    with pytest.raises(InputError, match="'gsc' is a built-in data set; choose another name"):
        registry.load_plugin("gsc", "tinydata")


def _prepare(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sparse_pkg.commands.prepare_dataset", "--dataset", "tiny",
         "--module", "tinydata", "--train-out", "train.pt", "--test-out", "test.pt", *extra],
        cwd=folder, capture_output=True, text=True)


def test_the_commands_prepare_check_and_noise_a_data_set_of_your_own(plugin):
    done = _prepare(plugin)
    assert done.returncode == 0, done.stderr
    train, test = load_tensor_set(plugin / "train.pt"), load_tensor_set(plugin / "test.pt")
    assert (len(train), len(test)) == (8, 4) and (plugin / "train.pt.sha256").is_file()
    assert train.meta["raw_sha256"] == registry.raw_digest({"labels": np.arange(12) % 3})
    noisy = subprocess.run(
        [sys.executable, "-m", "sparse_pkg.commands.dataset_noise", "--dataset", "tiny",
         "--module", "tinydata", "--test", "test.pt", "--noise-level", "0.25", "--noise-seed",
         "1", "--out", "noisy.pt"], cwd=plugin, capture_output=True, text=True)
    assert noisy.returncode == 0, noisy.stderr
    result = load_tensor_set(plugin / "noisy.pt")
    assert result.meta["noise_level"] == 0.25 and bool((result.features == 0.25).all())

    wrong = _prepare(plugin, "--options", '{"width": 5}')  # features (N, 1, 6, 5)
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines()[-1] == (
        "error: data set tiny: prepare() returned a train set with features of shape "
        "(8, 1, 6, 5), not (N, 1, 6, 6); fix the module's prepare or its INFO")
    source = (plugin / "tinydata.py").read_text()
    (plugin / "tinydata.py").write_text(source.replace('    return {"labels"',
                                                       '    import no_such_reader\n'
                                                       '    return {"labels"'))
    missing = _prepare(plugin)
    assert missing.returncode == 2 and missing.stderr.strip().splitlines()[-1] == (
        "error: data set tiny (tinydata): fetch() needs a package that is not installed (No "
        "module named 'no_such_reader'); install it where the jobs run (e.g. pip install "
        "no_such_reader)")
    (plugin / "tinydata.py").write_text(source.replace("% 3}", "% 2}"))  # other raw data
    changed = _prepare(plugin)
    assert changed.returncode == 2
    assert re.search(r"error: data set tiny \(tinydata\): the fetched data has SHA-256 "
                     r"[0-9a-f]{64}, not the [0-9a-f]{64} its INFO declares", changed.stderr)


def test_the_digits_example_declares_the_digest_of_what_it_fetches():
    pytest.importorskip("sklearn", reason="scikit-learn is not installed (dev lock only)")
    sys.path.insert(0, str(REPO))
    try:
        import examples.digits as digits
    finally:
        sys.path.remove(str(REPO))
    raw = digits.fetch()
    assert registry.raw_digest(raw) == digits.INFO.sha256
    train, test = digits.prepare(raw, {})
    assert (len(train), len(test)) == (1348, 449)
    assert abs(float(train.features.mean())) < 1e-6  # normalized by the training set
    noisy = digits.noisy(test, 0.5, 3)
    changed = (noisy.features != test.features).reshape(len(test), -1).sum(dim=1)
    assert int(changed.max()) <= 32 and int((noisy.features == 2.0).reshape(len(test), -1)
                                             .sum(dim=1).min()) == 32  # int(64 x 0.5)
    assert torch.equal(digits.noisy(test, 0.5, 3).features, noisy.features)  # seeded


def test_no_list_of_data_sets_is_typed_out_in_the_rules_and_commands():
    """Every rule, script and command takes the data sets from the registry."""
    pattern = re.compile(r"mnist\|gsc|gsc\|mnist|\(\s*[\"']mnist[\"'],\s*[\"']gsc[\"']\s*\)|"
                         r"\[\s*[\"']mnist[\"'],\s*[\"']gsc[\"']\s*\]")
    files = [*REPO.glob("workflow/**/*.smk"), REPO / "workflow" / "Snakefile",
             *REPO.glob("scripts/**/*.py"), *REPO.glob("sparse_pkg/**/*.py")]
    found = [f"{path.relative_to(REPO)}:{number}"
             for path in files for number, line in enumerate(path.read_text().splitlines(), 1)
             if pattern.search(line)]
    assert found == []


def test_the_interface_is_documented_where_a_user_looks():
    text = textwrap.dedent(registry.__doc__)
    for part in ("INFO", "fetch()", "prepare(raw, options)", "noisy(test, level, seed)",
                 "sha256"):
        assert part in text
