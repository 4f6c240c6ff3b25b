"""Tests of the network definitions: the real config/networks.yaml against docs/protocol.md, and the
loader's validation (every error is one line naming the file, the network and the key)."""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import json
import tomllib
from importlib import resources
from pathlib import Path

import pytest
import yaml

from sparse_pkg.datasets import registry
from sparse_pkg.errors import InputError
from sparse_pkg.network_definitions import (
    NetworkDefinition,
    NetworkDefinitionError,
    PublishedResult,
    conv_output_shapes,
    conv_output_units,
    input_geometry,
)
from sparse_pkg.network_schema import SCHEMA_FILE, networks_schema
from sparse_pkg.networks_file import NetworkDefinitions, load_networks

CONFIG = Path(__file__).resolve().parents[2] / "config" / "networks.yaml"


@pytest.fixture(scope="module")
def definitions() -> NetworkDefinitions:
    return load_networks(CONFIG)


# ---------------------------------------------------------------------------------------------
# The real configuration equals docs/protocol.md §3.3, §4.9, §5.3 and §5.4


def test_all_twelve_networks_in_order(definitions):
    assert [d.dataset for d in definitions] == ["mnist"] * 8 + ["gsc"] * 4
    assert [d.name for d in definitions.of("mnist")] == [
        "denseCNN1", "denseCNN2", "sparseCNN1", "sparseCNN2", "denseCNN2SP3", "sparseCNN2D3",
        "sparseCNN2W1", "sparseCNN2DSW",
    ]  # fmt: skip
    assert [d.name for d in definitions.of("gsc")] == [
        "denseCNN2_DR00", "denseCNN2_DR05", "sparseCNN2", "SuperSparseCNN2",
    ]  # fmt: skip
    for d in definitions:
        assert definitions.get(d.dataset, d.name) is d


# docs/protocol.md §3.3 table: conv channels, conv k (None = dense), n, k, weight sparsity,
# momentum, lr, epochs, first-epoch batch, boost strength.
MNIST_ROWS = {
    "denseCNN1": ((30,), (None,), 1000, 1000, 1.0, 0.9, 0.01, 15, 64, 0.0),
    "denseCNN2": ((30, 30), (None, None), 1000, 1000, 1.0, 0.9, 0.01, 15, 64, 0.0),
    "sparseCNN1": ((30,), (400,), 150, 50, 0.3, 0.0, 0.01, 15, 4, 1.5),
    "sparseCNN2": ((32, 64), (400, 300), 700, 100, 0.3, 0.0, 0.02, 10, 4, 1.5),
    "denseCNN2SP3": ((30, 30), (None, None), 700, 100, 0.3, 0.5, 0.01, 10, 4, 1.5),
    "sparseCNN2D3": ((32, 64), (400, 300), 1000, 1000, 1.0, 0.9, 0.01, 10, 64, 1.5),
    "sparseCNN2W1": ((32, 64), (400, 300), 700, 100, 1.0, 0.9, 0.01, 10, 64, 1.5),
    "sparseCNN2DSW": ((32, 64), (400, 300), 1000, 1000, 0.3, 0.9, 0.01, 10, 4, 1.5),
}


@pytest.mark.parametrize("name", list(MNIST_ROWS))
def test_mnist_rows_match_paper(definitions, name):
    d = definitions.get("mnist", name)
    channels, conv_k, n, k, ws, momentum, lr, epochs, first_batch, boost = MNIST_ROWS[name]
    assert d.conv_channels == channels
    assert d.conv_k == conv_k
    assert (d.linear_n, d.linear_k) == (n, k)
    assert d.weight_sparsity == ws
    assert d.momentum == momentum
    assert d.lr == lr
    assert d.epochs == epochs
    assert d.first_epoch_batch_size == first_batch
    assert d.boost_strength == boost
    # MNIST common values
    assert d.lr_factor == 0.8
    assert d.batch_size == 64
    assert d.boost_strength_factor == 0.85
    assert d.k_inference_factor == 1.5
    assert d.weight_decay == 0.0
    assert d.batch_norm is False
    assert d.dropout == 0.0
    assert d.test_batch_size == 1000
    assert d.duty_cycle_period == 1000
    assert d.optimizer == "sgd"


# docs/protocol.md §4.9 table: conv k, n, k, weight sparsity, dropout, momentum, lr factor,
# batch, epochs.
GSC_ROWS = {
    "denseCNN2_DR00": ((None, None), 1000, 1000, 1.0, 0.0, 0.9, 0.8, 64, 20),
    "denseCNN2_DR05": ((None, None), 1000, 1000, 1.0, 0.5, 0.9, 0.8, 64, 20),
    "sparseCNN2": ((1200, 200), 1000, 100, 0.4, 0.0, 0.0, 0.9, 16, 30),
    "SuperSparseCNN2": ((1200, 200), 1500, 100, 0.1, 0.0, 0.0, 0.9, 16, 25),
}


@pytest.mark.parametrize("name", list(GSC_ROWS))
def test_gsc_rows_match_paper(definitions, name):
    d = definitions.get("gsc", name)
    conv_k, n, k, ws, dropout, momentum, lr_factor, batch, epochs = GSC_ROWS[name]
    assert d.conv_channels == (64, 64)
    assert d.conv_k == conv_k
    assert (d.linear_n, d.linear_k) == (n, k)
    assert d.weight_sparsity == ws
    assert d.dropout == dropout
    assert d.momentum == momentum
    assert d.lr_factor == lr_factor
    assert d.batch_size == batch
    assert d.epochs == epochs
    # GSC common values; no separate first-epoch batch size
    assert d.first_epoch_batch_size == batch
    assert d.lr == 0.01
    assert d.weight_decay == 0.01
    assert d.test_batch_size == 1000
    assert d.batch_norm is True
    assert d.boost_strength == 1.5
    assert d.boost_strength_factor == 0.9
    assert d.k_inference_factor == 1.5
    assert d.duty_cycle_period == 1000


# docs/protocol.md §5.3, §5.4: label, accuracy mean/std, noise score mean/std.
PUBLISHED = {
    ("mnist", "denseCNN1"): ("Dense CNN-1", 99.14, 0.03, 74569, 3200),
    ("mnist", "denseCNN2"): ("Dense CNN-2", 99.31, 0.06, 97040, 2853),
    ("mnist", "sparseCNN1"): ("Sparse CNN-1", 98.41, 0.08, 100306, 1735),
    ("mnist", "sparseCNN2"): ("Sparse CNN-2", 99.09, 0.05, 103764, 1125),
    ("mnist", "denseCNN2SP3"): ("Dense CNN-2 SP3", 99.13, 0.07, 100318, 2762),
    ("mnist", "sparseCNN2D3"): ("Sparse CNN-2 D3", 98.89, 0.13, 102328, 1720),
    ("mnist", "sparseCNN2W1"): ("Sparse CNN-2 W1", 98.20, 0.19, 100322, 2082),
    ("mnist", "sparseCNN2DSW"): ("Sparse CNN-2 DSW", 98.92, 0.09, 70566, 2857),
    ("gsc", "denseCNN2_DR00"): ("Dense CNN-2 (DR=0.0)", 96.37, 0.37, 8730, 471),
    ("gsc", "denseCNN2_DR05"): ("Dense CNN-2 (DR=0.5)", 95.69, 0.48, 7681, 368),
    ("gsc", "sparseCNN2"): ("Sparse CNN-2", 96.65, 0.21, 11233, 1013),
    ("gsc", "SuperSparseCNN2"): ("Super-Sparse CNN-2", 96.57, 0.16, 10752, 942),
}


@pytest.mark.parametrize("key", list(PUBLISHED))
def test_labels_and_published_results(definitions, key):
    d = definitions.get(*key)
    label, acc, acc_std, noise, noise_std = PUBLISHED[key]
    assert d.label == label
    assert d.published == PublishedResult(acc, acc_std, noise, noise_std)


# ---------------------------------------------------------------------------------------------
# Geometry


def test_input_geometry():
    assert input_geometry("mnist").channels == 1
    assert (input_geometry("mnist").height, input_geometry("mnist").width) == (28, 28)
    assert input_geometry("mnist").classes == 10
    assert (input_geometry("gsc").height, input_geometry("gsc").width) == (32, 32)
    assert input_geometry("gsc").classes == 12
    with pytest.raises(ValueError, match="cifar"):
        input_geometry("cifar")


def test_conv_output_shapes_by_hand():
    # MNIST: 28 -conv5-> 24 -pool2-> 12 -conv5-> 8 -pool2-> 4
    assert conv_output_shapes("mnist", (32, 64)) == ((32, 12, 12), (64, 4, 4))
    assert conv_output_units("mnist", (32, 64)) == (4608, 1024)
    assert conv_output_units("mnist", [30]) == (4320,)
    # GSC: 32 -conv5-> 28 -pool2-> 14 -conv5-> 10 -pool2-> 5
    assert conv_output_shapes("gsc", (64, 64)) == ((64, 14, 14), (64, 5, 5))
    assert conv_output_units(input_geometry("gsc"), (64, 64)) == (12544, 1600)
    # a third MNIST conv would see 4x4 < 5x5
    with pytest.raises(ValueError, match="conv layer 3"):
        conv_output_shapes("mnist", (8, 8, 8))


def test_definition_geometry_properties(definitions):
    d = definitions.get("mnist", "sparseCNN2")
    assert d.conv_units == (4608, 1024)
    assert d.linear_fan_in == 1024
    assert d.num_classes == 10
    g = definitions.get("gsc", "SuperSparseCNN2")
    assert g.linear_fan_in == 1600
    assert g.num_classes == 12


# ---------------------------------------------------------------------------------------------
# Round trip and immutability


def test_to_dict_from_dict_round_trip_for_all(definitions):
    for d in definitions:
        data = d.to_dict()
        assert json.loads(json.dumps(data)) == data  # plain JSON-able values
        assert NetworkDefinition.from_dict(data) == d
    data = definitions.get("mnist", "denseCNN2").to_dict()
    assert data["conv_k"] == [None, None]
    assert data["published"]["noise_score_mean"] == 97040


def test_from_dict_validates_and_names_network_and_key(definitions):
    data = definitions.get("gsc", "sparseCNN2").to_dict()
    data["linear_k"] = 1001
    with pytest.raises(NetworkDefinitionError) as info:
        NetworkDefinition.from_dict(data)
    assert "gsc/sparseCNN2" in str(info.value) and "'linear_k'" in str(info.value)
    data = definitions.get("gsc", "sparseCNN2").to_dict()
    del data["published"]
    assert NetworkDefinition.from_dict(data).published is None


def test_definitions_are_frozen_and_validated_on_replace(definitions):
    d = definitions.get("mnist", "sparseCNN1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.lr = 0.1  # type: ignore[misc]
    with pytest.raises(ValueError, match="linear_k"):
        dataclasses.replace(d, linear_k=151)


def test_schema_is_package_data_and_knows_the_data_sets():
    # found through the package (not the checkout) and shipped with it, see pyproject.toml
    assert resources.files("sparse_pkg").joinpath("schemas", SCHEMA_FILE).is_file()
    globs = tomllib.loads((CONFIG.parents[1] / "pyproject.toml").read_text())["tool"][
        "setuptools"]["package-data"]["sparse_pkg"]
    assert any(fnmatch.fnmatch(f"schemas/{SCHEMA_FILE}", glob) for glob in globs)
    schema = networks_schema()
    assert tuple(schema["properties"]) == tuple(registry.BUILT_IN)
    assert schema["additionalProperties"] == {"$ref": "#/$defs/section"}  # data sets of your own


def test_get_names_the_known_networks_of_the_data_set(definitions):
    assert len(definitions) == 12
    assert definitions.of("cifar") == ()
    with pytest.raises(InputError) as info:
        definitions.get("gsc", "denseCNN1")
    message = str(info.value)
    assert str(CONFIG) in message and "no gsc network 'denseCNN1'" in message
    assert "known: SuperSparseCNN2, denseCNN2_DR00, denseCNN2_DR05, sparseCNN2" in message


def test_the_file_is_parsed_once_per_content(tmp_path, definitions):
    assert load_networks(CONFIG) is definitions
    path = _write(tmp_path, BASE)
    first = load_networks(path)
    assert load_networks(path) is first
    doc = copy.deepcopy(BASE)
    _tiny(doc)["lr"] = 0.05
    _write(tmp_path, doc)  # same path, new content: parsed again
    assert load_networks(path).get("mnist", "tiny").lr == 0.05


# ---------------------------------------------------------------------------------------------
# Loader validation: bad YAML files written to tmp_path

BASE = {
    "mnist": {
        "defaults": {
            "batch_norm": False, "dropout": 0.0, "weight_sparsity": 0.3, "boost_strength": 1.5,
            "boost_strength_factor": 0.85, "k_inference_factor": 1.5, "duty_cycle_period": 1000,
            "optimizer": "sgd", "lr": 0.01, "momentum": 0.0, "lr_factor": 0.8,
            "weight_decay": 0.0, "batch_size": 64, "first_epoch_batch_size": 4,
            "test_batch_size": 1000, "epochs": 15,
        },
        "networks": {
            "tiny": {
                "label": "Tiny", "conv_channels": [32, 64], "conv_k": [400, "dense"],
                "linear_n": 700, "linear_k": 100,
            },
        },
    },
}  # fmt: skip


def _write(tmp_path: Path, document) -> Path:
    path = tmp_path / "networks.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _tiny(document) -> dict:
    return document["mnist"]["networks"]["tiny"]


def test_base_document_is_valid_and_merges_defaults(tmp_path):
    doc = copy.deepcopy(BASE)
    _tiny(doc)["lr"] = 0.05  # per-network value overrides the default
    d = load_networks(_write(tmp_path, doc)).get("mnist", "tiny")
    assert d.conv_k == (400, None)
    assert d.lr == 0.05
    assert d.momentum == 0.0
    assert d.first_epoch_batch_size == 4
    assert d.published is None


def test_null_first_epoch_batch_means_batch_size(tmp_path):
    doc = copy.deepcopy(BASE)
    doc["mnist"]["defaults"]["first_epoch_batch_size"] = None
    _tiny(doc)["batch_size"] = 16
    d = load_networks(_write(tmp_path, doc)).get("mnist", "tiny")
    assert d.first_epoch_batch_size == 16


def _set(key, value):
    def mutate(doc):
        _tiny(doc)[key] = value

    return mutate


def _drop(key):
    def mutate(doc):
        doc["mnist"]["defaults"].pop(key, None)
        _tiny(doc).pop(key, None)

    return mutate


BAD_CASES = {
    "linear k > n": (_set("linear_k", 701), "linear_k"),
    "linear k zero": (_set("linear_k", 0), "linear_k"),
    # 32 channels x 12 x 12 = 4608 units after the first pooling
    "conv1 k > units": (_set("conv_k", [4609, "dense"]), "conv_k"),
    # 64 x 4 x 4 = 1024 units after the second pooling
    "conv2 k > units": (_set("conv_k", [400, 1025]), "conv_k"),
    "conv k count": (_set("conv_k", [400]), "conv_k"),
    "conv k word": (_set("conv_k", [400, "sparse"]), "conv_k"),
    # 28 -> 12 -> 4: a third 5x5 conv does not fit
    "three convs": (
        lambda doc: _tiny(doc).update(conv_channels=[8, 8, 8], conv_k=["dense"] * 3),
        "conv_channels",
    ),
    "conv channels type": (_set("conv_channels", [32, "x"]), "conv_channels"),
    "weight sparsity 0": (_set("weight_sparsity", 0.0), "weight_sparsity"),
    "weight sparsity > 1": (_set("weight_sparsity", 1.5), "weight_sparsity"),
    "unknown key": (_set("learning_rate", 0.1), "learning_rate"),
    "missing key": (_drop("epochs"), "epochs"),
    "missing label": (_drop("label"), "label"),
    "epochs type": (_set("epochs", "ten"), "epochs"),
    "batch float": (_set("batch_size", 64.5), "batch_size"),
    "batch bool": (_set("batch_size", True), "batch_size"),
    "batch norm type": (_set("batch_norm", "yes"), "batch_norm"),
    "lr type": (_set("lr", "fast"), "lr"),
    "lr zero": (_set("lr", 0.0), "lr"),
    "batch zero": (_set("batch_size", 0), "batch_size"),
    "first batch zero": (_set("first_epoch_batch_size", 0), "first_epoch_batch_size"),
    "test batch negative": (_set("test_batch_size", -5), "test_batch_size"),
    "epochs negative": (_set("epochs", -1), "epochs"),
    "dropout one": (_set("dropout", 1.0), "dropout"),
    "dropout negative": (_set("dropout", -0.1), "dropout"),
    "momentum negative": (_set("momentum", -0.5), "momentum"),
    "optimizer": (_set("optimizer", "adam"), "optimizer"),
    "published key": (_set("published", {"accuracy": 99.0}), "published"),
    "implied dataset": (_set("dataset", "gsc"), "dataset"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_values_name_file_network_and_key(tmp_path, case):
    mutate, key = BAD_CASES[case]
    doc = copy.deepcopy(BASE)
    mutate(doc)
    path = _write(tmp_path, doc)
    with pytest.raises(NetworkDefinitionError) as info:
        load_networks(path)
    message = str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, InputError)
    assert "\n" not in message
    assert str(path) in message
    assert "mnist/tiny" in message
    assert f"'{key}" in message


def test_unknown_dataset(tmp_path):
    doc = {"cifar": copy.deepcopy(BASE["mnist"])}
    with pytest.raises(ValueError, match=r"key 'cifar': unknown data set; use one of mnist, "
                                         r"gsc, or declare yours under config key datasets"):
        load_networks(_write(tmp_path, doc))


def test_bad_network_name(tmp_path):
    doc = copy.deepcopy(BASE)
    doc["mnist"]["networks"]["tiny-net"] = doc["mnist"]["networks"].pop("tiny")
    with pytest.raises(ValueError, match=r"mnist/tiny-net: bad network name"):
        load_networks(_write(tmp_path, doc))


def test_unknown_section_key(tmp_path):
    doc = copy.deepcopy(BASE)
    doc["mnist"]["default"] = {}
    with pytest.raises(ValueError, match=r"'mnist.default': unknown key"):
        load_networks(_write(tmp_path, doc))


def test_duplicate_network_is_rejected(tmp_path):
    text = _write(tmp_path, BASE).read_text()
    # repeat the network entry: YAML would otherwise silently keep the last one
    start = text.index("    tiny:")
    path = tmp_path / "dup.yaml"
    path.write_text(text + text[start:])
    with pytest.raises(NetworkDefinitionError, match=r"dup.yaml: invalid YAML at line \d+"):
        load_networks(path)


def test_missing_and_unparsable_files(tmp_path):
    with pytest.raises(InputError, match="nope.yaml: network definitions file not found"):
        load_networks(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("mnist: [unclosed\n")
    with pytest.raises(InputError, match="bad.yaml: invalid YAML"):
        load_networks(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(InputError, match="empty.yaml: expected a mapping"):
        load_networks(empty)
