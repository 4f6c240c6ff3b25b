"""Networks of your own (`model: package.module:Class`, sparse_pkg.own_models): loading and the
one-line refusals, the hooks training calls, and a run of the three-conv example that trains,
resumes to the same bytes and is scored from its checkpoint."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from sparse_pkg.errors import InputError
from sparse_pkg.evaluation import score_checkpoints
from sparse_pkg.io.tensors import TensorSet
from sparse_pkg.layers import KWinners, SparseWeights
from sparse_pkg.network_definitions import NetworkDefinition
from sparse_pkg.networks import SparseCNN, build_network
from sparse_pkg.networks_file import load_networks
from sparse_pkg.own_models import check_model
from sparse_pkg.training import TrainingData, hooks, load_checkpoint, train
from sparse_pkg.training.run import train_one_epoch
from sparse_pkg.user_modules import import_user_module, source_fingerprint
from tests.helpers.training import DEFINITIONS, patch_data, single_thread, state_dicts_equal

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "own_network.yaml"
HERE = "tests.unit.test_own_models"


class CountingNet(nn.Module):
    """A model with both hooks, counting their calls; a required option ``width``."""

    def __init__(self, input_shape, num_classes, width):
        super().__init__()
        c, h, w = input_shape
        self.linear = nn.Linear(c * h * w, width)
        self.out = nn.Linear(width, num_classes)
        self.batches = 0
        self.epochs = 0

    def forward(self, x):
        return F.log_softmax(self.out(torch.relu(self.linear(x.flatten(1)))), dim=1)

    def post_batch(self):
        self.batches += 1

    def post_epoch(self):
        self.epochs += 1


class NoShape(nn.Module):
    """A class without the input_shape and num_classes parameters."""

    def __init__(self, width):
        super().__init__()


NOT_A_MODULE = 3


def _entry(model: str, **options) -> dict:
    return {"label": "own", "model": model, **({"options": options} if options else {})}


def _definitions(tmp_path: Path, **entries) -> Path:
    """A networks file with the MNIST training defaults of config/networks.yaml and ``entries``."""
    document = yaml.safe_load((REPO / "config" / "networks.yaml").read_text())
    document = {"mnist": {"defaults": document["mnist"]["defaults"], "networks": entries}}
    path = tmp_path / "networks.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _own(tmp_path: Path, model: str, **options) -> NetworkDefinition:
    return load_networks(_definitions(tmp_path, own=_entry(model, **options))).get("mnist", "own")


def test_the_example_builds_from_its_entry_and_returns_log_probabilities():
    definition = load_networks(EXAMPLE).get("mnist", "sparseCNN3")
    assert definition.model == "examples.sparse_cnn3:ThreeConvSparseCNN"
    assert definition.conv_channels is None and definition.linear_n is None  # not inherited
    assert definition.lr == 0.01 and definition.first_epoch_batch_size == 4  # from defaults
    torch.manual_seed(0)
    model = build_network(definition)
    torch.manual_seed(0)
    again = build_network(definition)
    assert state_dicts_equal(model.state_dict(), again.state_dict())  # seeded: same weights
    out = model(torch.randn(5, 1, 28, 28))
    assert out.shape == (5, 10)
    assert torch.allclose(out.exp().sum(dim=1), torch.ones(5))
    assert len(hooks.kwinners_layers(model)) == 4  # three conv blocks and the hidden layer


def test_a_paper_network_keeps_the_form_it_had_before_own_models():
    form = DEFINITIONS.get("mnist", "sparseCNN1").to_dict()
    assert not {"model", "options", "sweep"} & set(form)
    assert form["conv_channels"] == [30] and form["published"]["test_accuracy_mean"] == 98.41


@pytest.mark.parametrize(("model", "options", "expected"), [
    ("examples.no_such_module:Net", {}, "cannot import examples.no_such_module "
                                        "(ModuleNotFoundError"),
    ("examples.sparse_cnn3:NoSuchNet", {}, "examples.sparse_cnn3 has no NoSuchNet"),
    (f"{HERE}:NOT_A_MODULE", {}, "NOT_A_MODULE is not a torch.nn.Module class"),
    (f"{HERE}:CountingNet", {}, "does not accept the arguments input_shape, num_classes "
                                "(missing a required argument: 'width')"),
    (f"{HERE}:CountingNet", {"width": 4, "depth": 2}, "does not accept the arguments depth, "
                                                       "input_shape, num_classes, width"),
    (f"{HERE}:NoShape", {"width": 4}, "give the class input_shape and num_classes parameters"),
])
def test_a_bad_model_is_refused_in_one_line_naming_the_network(tmp_path, model, options,
                                                               expected):
    definition = _own(tmp_path, model, **options)
    with pytest.raises(InputError) as caught:
        check_model(definition)
    message = str(caught.value)
    assert message.startswith(f"network mnist/own, key 'model' ({model}): ")
    assert expected in message
    assert "\n" not in message


def test_a_bad_model_spelling_and_a_layer_key_are_refused_by_the_loader(tmp_path):
    with pytest.raises(InputError, match=r"network mnist/own, key 'model': expected "
                                         r"package\.module:Class"):
        _own(tmp_path, "examples/sparse_cnn3.py")
    entry = {**_entry(f"{HERE}:CountingNet", width=3), "linear_n": 100}
    with pytest.raises(InputError, match=r"network mnist/own, key 'linear_n': a model of your "
                                         r"own .* does not read .*; pass it to your class "
                                         r"under options"):
        load_networks(_definitions(tmp_path, own=entry))


def test_the_fingerprint_follows_the_code_of_the_models_module(tmp_path, monkeypatch):
    package = tmp_path / "mymodels"
    package.mkdir()
    source = package / "nets.py"
    source.write_text("import torch\nclass Net(torch.nn.Module):\n    pass  # a comment\n")
    monkeypatch.chdir(tmp_path)  # found in the working folder, as in a workflow run
    definition = _own(tmp_path, "mymodels.nets:Net")
    module = import_user_module(definition.model.partition(":")[0])
    before = source_fingerprint(module)
    assert len(before) == 16
    source.write_text("import torch\nclass Net(torch.nn.Module):\n    pass  # another\n")
    assert source_fingerprint(module) == before  # a comment is not code
    source.write_text("import torch\nclass Net(torch.nn.Module):\n    x = 1\n")
    assert source_fingerprint(module) != before


def test_hooks_run_the_models_own_steps_once_per_batch_and_epoch(tmp_path):
    definition = _own(tmp_path, f"{HERE}:CountingNet", width=8)
    torch.manual_seed(0)
    model = build_network(definition)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = patch_data("mnist", 50, 0)
    train_one_epoch(model, optimizer, x, y, torch.arange(50), 16, None)
    assert model.batches == 4  # 16 + 16 + 16 + 2
    hooks.end_of_epoch(model)
    assert (model.epochs, hooks.entropy(model), hooks.max_entropy(model)) == (1, 0.0, 0.0)


class LibraryLayers(nn.Module):
    """No hooks of its own: the library's end-of-epoch step reaches its layers."""

    def __init__(self):
        super().__init__()
        self.hidden = SparseWeights(nn.Linear(20, 10), 0.5)
        self.kwinners = KWinners(n=10, k=3, boost_strength=2.0, boost_strength_factor=0.5)


def test_without_post_epoch_the_library_decays_boost_and_rezeroes_weights():
    torch.manual_seed(0)
    model = LibraryLayers()
    with torch.no_grad():
        model.hidden.module.weight.fill_(1.0)
    hooks.end_of_epoch(model)
    assert float(model.kwinners.boost_strength) == pytest.approx(1.0)
    weight, mask = model.hidden.module.weight, model.hidden.zero_mask
    assert bool((weight[mask] == 0).all()) and bool((weight[~mask] == 1).all())
    assert hooks.post_batch_hook(model) is None


def test_the_paper_network_hooks_are_its_own():
    torch.manual_seed(0)
    model = build_network(DEFINITIONS.get("mnist", "sparseCNN1"))
    assert isinstance(model, SparseCNN)
    assert hooks.entropy(model) == model.entropy()
    assert hooks.max_entropy(model) == model.max_entropy() > 0


class Stop(Exception):
    pass


def test_the_example_trains_resumes_to_the_same_bytes_and_scores(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    definition = dataclasses.replace(load_networks(EXAMPLE).get("mnist", "sparseCNN3"), epochs=3,
                                     first_epoch_batch_size=16, lr=0.05)
    x, y = patch_data("mnist", 96, 0)
    xt, yt = patch_data("mnist", 60, 1)
    data = TrainingData(x, y, TensorSet(xt, yt, {"noise_level": 0.0}))
    with single_thread():
        reference = train(definition, data, seed=7, out_dir=tmp_path / "a", channels_last=True)

        def crash_after_epoch_two(line: str) -> None:
            if "epoch 2/3" in line and "test" in line:
                raise Stop  # before the resume state of epoch 2: a rerun redoes it

        with pytest.raises(Stop):
            train(definition, data, seed=7, out_dir=tmp_path / "b", log=crash_after_epoch_two)
        lines: list[str] = []
        train(definition, data, seed=7, out_dir=tmp_path / "b", log=lines.append)
    assert any("resuming mnist/sparseCNN3 seed 7 at epoch 2/3" in line for line in lines)
    assert (tmp_path / "a" / "history.parquet").read_bytes() == \
        (tmp_path / "b" / "history.parquet").read_bytes()
    assert reference["entropy"].gt(0).all()  # the library's k-winners layers are found
    for protocol in ("paper", "final"):
        model, info = load_checkpoint(tmp_path / "b" / f"{protocol}.pt")
        other, _ = load_checkpoint(tmp_path / "a" / f"{protocol}.pt")
        assert state_dicts_equal(model.state_dict(), other.state_dict())
        assert info["definition"] == definition
        assert "channels_last" not in info["meta"]  # its own layout, whatever was asked
    (row,) = score_checkpoints([(model, info)], TensorSet(xt, yt), 0.0)
    assert isinstance(row, pd.DataFrame) and int(row["total"].iloc[0]) == 60
    best = reference["test_accuracy"].iloc[int(info["epoch"])]
    assert row["accuracy"].iloc[0] == pytest.approx(best)  # the checkpoint scores as trained
