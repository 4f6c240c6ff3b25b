"""The paper's network definitions: a validated, immutable record per network, and its loader.

`config/networks.yaml` holds every network of the paper (docs/protocol.md §3.3, §4.9); this module
reads it into `NetworkDefinition` records, checks every value (one-line errors naming the file,
the network and the key) and knows the input geometry of each data set, so that layer sizes such
as "units after the first pooling" are computed in one place.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

from sparse_pkg.errors import InputError

CONV_KERNEL_SIZE = 5
"""Every conv layer: kernel 5, stride 1, no padding (docs/protocol.md §2.1)."""
POOL_SIZE = 2
"""Every conv layer is followed by max-pooling with kernel and stride 2."""
DENSE = "dense"
"""The `conv_k` value (besides null) that makes a conv layer's activation a plain ReLU."""
NAME_PATTERN = re.compile(r"[A-Za-z0-9_]+")
"""Network names are Snakemake wildcards and file names."""
OPTIMIZERS = ("sgd",)


class NetworkDefinitionError(InputError, ValueError):
    """A network definition is malformed; the one-line message names the network and the key."""


@dataclass(frozen=True)
class InputGeometry:
    """Shape of one input sample of a data set, and its number of classes."""

    channels: int
    height: int
    width: int
    classes: int


INPUT_GEOMETRY: dict[str, InputGeometry] = {
    "mnist": InputGeometry(channels=1, height=28, width=28, classes=10),
    "gsc": InputGeometry(channels=1, height=32, width=32, classes=12),
}
"""Input geometry per data set: MNIST 1x28x28 with 10 classes, GSC 1x32x32 log-mel with 12."""
DATASETS = tuple(INPUT_GEOMETRY)


def input_geometry(dataset: str) -> InputGeometry:
    """The input geometry of ``dataset`` ("mnist" or "gsc"); ValueError for any other name."""
    try:
        return INPUT_GEOMETRY[dataset]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}"
        ) from None


def conv_output_shapes(
    geometry: InputGeometry | str, conv_channels: tuple[int, ...] | list[int]
) -> tuple[tuple[int, int, int], ...]:
    """(C, H, W) after each conv layer's max-pooling: conv kernel 5, stride 1, no padding, pool 2.

    E.g. MNIST with channels (32, 64): 28 -> 24 -> 12, then 12 -> 8 -> 4, giving
    ((32, 12, 12), (64, 4, 4)). ValueError when the image becomes too small for a layer.
    """
    geo = input_geometry(geometry) if isinstance(geometry, str) else geometry
    height, width = geo.height, geo.width
    shapes = []
    for index, channels in enumerate(conv_channels, start=1):
        height, width = height - CONV_KERNEL_SIZE + 1, width - CONV_KERNEL_SIZE + 1
        height, width = height // POOL_SIZE, width // POOL_SIZE
        if height < 1 or width < 1:
            raise ValueError(
                f"conv layer {index} gets an input smaller than its {CONV_KERNEL_SIZE}x"
                f"{CONV_KERNEL_SIZE} kernel followed by {POOL_SIZE}x{POOL_SIZE} pooling"
            )
        shapes.append((int(channels), height, width))
    return tuple(shapes)


def conv_output_units(
    geometry: InputGeometry | str, conv_channels: tuple[int, ...] | list[int]
) -> tuple[int, ...]:
    """Units C*H*W after each conv layer's pooling (what a conv k-winners k is counted over)."""
    return tuple(c * h * w for c, h, w in conv_output_shapes(geometry, conv_channels))


@dataclass(frozen=True)
class PublishedResult:
    """A network's results as reported by the paper (Tables 1 and 2): mean and std over 10 runs."""

    test_accuracy_mean: float
    test_accuracy_std: float
    noise_score_mean: float
    noise_score_std: float


@dataclass(frozen=True)
class NetworkDefinition:
    """Everything that defines one paper network and its training (see config/networks.yaml).

    ``conv_k[i]`` is None for a conv layer with a plain ReLU; ``linear_k == linear_n`` makes the
    hidden layer a plain ReLU; ``weight_sparsity`` 1.0 means dense hidden-layer weights.
    """

    dataset: str
    name: str
    label: str
    conv_channels: tuple[int, ...]
    conv_k: tuple[int | None, ...]
    linear_n: int
    linear_k: int
    weight_sparsity: float
    batch_norm: bool
    dropout: float
    boost_strength: float
    boost_strength_factor: float
    k_inference_factor: float
    duty_cycle_period: int
    optimizer: str
    lr: float
    momentum: float
    lr_factor: float
    weight_decay: float
    batch_size: int
    first_epoch_batch_size: int
    test_batch_size: int
    epochs: int
    published: PublishedResult | None = None

    def __post_init__(self) -> None:
        _validate(self, where=f"network definition {self.dataset}/{self.name}")

    @property
    def geometry(self) -> InputGeometry:
        """Input geometry of this network's data set."""
        return INPUT_GEOMETRY[self.dataset]

    @property
    def num_classes(self) -> int:
        """Number of output classes (10 for MNIST, 12 for GSC)."""
        return self.geometry.classes

    @property
    def conv_shapes(self) -> tuple[tuple[int, int, int], ...]:
        """(C, H, W) after each conv layer's pooling."""
        return conv_output_shapes(self.geometry, self.conv_channels)

    @property
    def conv_units(self) -> tuple[int, ...]:
        """Units C*H*W after each conv layer's pooling."""
        return conv_output_units(self.geometry, self.conv_channels)

    @property
    def linear_fan_in(self) -> int:
        """Inputs of the hidden linear layer: the units after the last conv layer."""
        return self.conv_units[-1]

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (lists, dicts, None for dense conv k) for checkpoints and JSON."""
        out: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, PublishedResult):
                value = {f.name: getattr(value, f.name) for f in fields(PublishedResult)}
            out[field.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkDefinition:
        """Rebuild a definition from `to_dict()` output (or any mapping of the same keys).

        Raises NetworkDefinitionError (a ValueError) naming the network and the bad key.
        """
        if not isinstance(data, Mapping):
            raise NetworkDefinitionError(
                f"network definition: expected a mapping, got {type(data).__name__}"
            )
        where = f"network definition {data.get('dataset')}/{data.get('name')}"
        return _build(data, where)


# ----------------------------------------------------------------------------------------------
# Validation and conversion of raw mappings


_REQUIRED = tuple(f.name for f in fields(NetworkDefinition) if f.name != "published")
_ALLOWED = frozenset(_REQUIRED) | {"published"}
_PUBLISHED_KEYS = tuple(f.name for f in fields(PublishedResult))


def _fail(where: str, key: str, problem: str) -> NetworkDefinitionError:
    return NetworkDefinitionError(f"{where}, key '{key}': {problem}")


def _as_int(where: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, key, f"expected an integer, got {value!r}")
    return value


def _as_float(where: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, key, f"expected a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise _fail(where, key, f"expected a finite number, got {value!r}")
    return value


def _as_bool(where: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, key, f"expected true or false, got {value!r}")
    return value


def _as_str(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, key, f"expected a non-empty string, got {value!r}")
    return value


def _as_int_list(where: str, key: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise _fail(where, key, f"expected a non-empty list of integers, got {value!r}")
    return tuple(_as_int(where, key, item) for item in value)


def _as_conv_k(where: str, key: str, value: Any) -> tuple[int | None, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise _fail(where, key, f"expected a list of integers or '{DENSE}', got {value!r}")
    out: list[int | None] = []
    for item in value:
        if item is None or item == DENSE:
            out.append(None)
        elif isinstance(item, int) and not isinstance(item, bool):
            out.append(item)
        else:
            raise _fail(where, key, f"expected an integer, '{DENSE}' or null, got {item!r}")
    return tuple(out)


def _as_published(where: str, key: str, value: Any) -> PublishedResult | None:
    if value is None or isinstance(value, PublishedResult):
        return value
    if not isinstance(value, Mapping):
        raise _fail(where, key, f"expected a mapping of {', '.join(_PUBLISHED_KEYS)} or null")
    unknown = sorted(set(value) - set(_PUBLISHED_KEYS))
    if unknown:
        allowed = ", ".join(_PUBLISHED_KEYS)
        raise _fail(where, f"{key}.{unknown[0]}", f"unknown key; allowed: {allowed}")
    missing = [k for k in _PUBLISHED_KEYS if k not in value]
    if missing:
        raise _fail(where, f"{key}.{missing[0]}", "missing")
    return PublishedResult(**{k: _as_float(where, f"{key}.{k}", value[k]) for k in _PUBLISHED_KEYS})


_CONVERTERS: dict[str, Callable[[str, str, Any], Any]] = {
    "dataset": _as_str,
    "name": _as_str,
    "label": _as_str,
    "conv_channels": _as_int_list,
    "conv_k": _as_conv_k,
    "linear_n": _as_int,
    "linear_k": _as_int,
    "weight_sparsity": _as_float,
    "batch_norm": _as_bool,
    "dropout": _as_float,
    "boost_strength": _as_float,
    "boost_strength_factor": _as_float,
    "k_inference_factor": _as_float,
    "duty_cycle_period": _as_int,
    "optimizer": _as_str,
    "lr": _as_float,
    "momentum": _as_float,
    "lr_factor": _as_float,
    "weight_decay": _as_float,
    "batch_size": _as_int,
    "first_epoch_batch_size": _as_int,
    "test_batch_size": _as_int,
    "epochs": _as_int,
    "published": _as_published,
}


def _build(data: Mapping[str, Any], where: str) -> NetworkDefinition:
    """Check keys and types of ``data`` and convert it into a NetworkDefinition."""
    unknown = sorted(str(k) for k in set(data) - _ALLOWED)
    if unknown:
        raise _fail(where, unknown[0], "unknown key; check its spelling in the network definition")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise _fail(where, missing[0], "missing; set it in the network entry or its defaults")
    values = {key: _CONVERTERS[key](where, key, data[key]) for key in _REQUIRED}
    values["published"] = _as_published(where, "published", data.get("published"))
    _validate(SimpleNamespace(**values), where)
    return NetworkDefinition(**values)


def _validate(d: NetworkDefinition | SimpleNamespace, where: str) -> None:
    """Range and consistency checks on a typed definition; raises NetworkDefinitionError."""
    if d.dataset not in INPUT_GEOMETRY:
        allowed = ", ".join(DATASETS)
        raise _fail(where, "dataset", f"unknown dataset {d.dataset!r}; use one of {allowed}")
    if not NAME_PATTERN.fullmatch(d.name):
        raise _fail(where, "name", "use only letters, digits and '_' (it is a file name)")
    if any(c < 1 for c in d.conv_channels):
        raise _fail(where, "conv_channels", "every conv layer needs at least 1 channel")
    if len(d.conv_k) != len(d.conv_channels):
        raise _fail(
            where,
            "conv_k",
            f"has {len(d.conv_k)} entries but conv_channels has {len(d.conv_channels)}; "
            "give one k (or 'dense') per conv layer",
        )
    try:
        units = conv_output_units(INPUT_GEOMETRY[d.dataset], d.conv_channels)
    except ValueError as err:
        raise _fail(where, "conv_channels", f"too many conv layers: {err}") from None
    for index, (k, n) in enumerate(zip(d.conv_k, units, strict=True), start=1):
        if k is not None and not 1 <= k <= n:
            raise _fail(
                where,
                "conv_k",
                f"k {k} of conv layer {index} must be in [1, {n}] "
                f"(its units after pooling), or '{DENSE}'",
            )
    if d.linear_n < 1:
        raise _fail(where, "linear_n", f"must be at least 1, got {d.linear_n}")
    if not 1 <= d.linear_k <= d.linear_n:
        raise _fail(where, "linear_k", f"k {d.linear_k} must be in [1, linear_n={d.linear_n}]")
    if not 0.0 < d.weight_sparsity <= 1.0:
        raise _fail(
            where, "weight_sparsity", f"must be in (0, 1] (1 = dense), got {d.weight_sparsity}"
        )
    if not 0.0 <= d.dropout < 1.0:
        raise _fail(where, "dropout", f"must be in [0, 1), got {d.dropout}")
    non_negative = ("boost_strength", "momentum", "weight_decay")
    for key in non_negative:
        if getattr(d, key) < 0:
            raise _fail(where, key, f"must be >= 0, got {getattr(d, key)}")
    positive = (
        "boost_strength_factor", "k_inference_factor", "duty_cycle_period", "lr", "lr_factor",
        "batch_size", "first_epoch_batch_size", "test_batch_size", "epochs",
    )  # fmt: skip
    for key in positive:
        if getattr(d, key) <= 0:
            raise _fail(where, key, f"must be > 0, got {getattr(d, key)}")
    if d.optimizer not in OPTIMIZERS:
        allowed = ", ".join(OPTIMIZERS)
        raise _fail(where, "optimizer", f"unknown optimizer {d.optimizer!r}; use one of {allowed}")


# ----------------------------------------------------------------------------------------------
# The YAML file


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects duplicate keys (a silently shadowed network is a bug)."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    loader.flatten_mapping(node)
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)

_SECTION_KEYS = {"defaults", "networks"}


def parse_network_definitions(
    document: Any, source: str = "networks config"
) -> dict[str, dict[str, NetworkDefinition]]:
    """Turn the parsed YAML document into definitions keyed by dataset, then network name.

    Each network's entry is merged over its data set's ``defaults``. ``first_epoch_batch_size:
    null`` means "same as batch_size". Errors name ``source``, the network and the key.
    """
    if not isinstance(document, Mapping) or not document:
        raise NetworkDefinitionError(
            f"{source}: expected a mapping of data sets ({', '.join(DATASETS)}) at the top level"
        )
    out: dict[str, dict[str, NetworkDefinition]] = {}
    for dataset, section in document.items():
        if dataset not in INPUT_GEOMETRY:
            raise NetworkDefinitionError(
                f"{source}, key '{dataset}': unknown dataset; use one of {', '.join(DATASETS)}"
            )
        if not isinstance(section, Mapping):
            raise NetworkDefinitionError(f"{source}, key '{dataset}': expected a mapping")
        unknown = sorted(str(k) for k in set(section) - _SECTION_KEYS)
        if unknown:
            raise NetworkDefinitionError(
                f"{source}, key '{dataset}.{unknown[0]}': unknown key; allowed: defaults, networks"
            )
        defaults = section.get("defaults") or {}
        networks = section.get("networks")
        if not isinstance(defaults, Mapping):
            raise NetworkDefinitionError(f"{source}, key '{dataset}.defaults': expected a mapping")
        if not isinstance(networks, Mapping) or not networks:
            raise NetworkDefinitionError(
                f"{source}, key '{dataset}.networks': expected a non-empty mapping of networks"
            )
        for key in ("dataset", "name"):
            if key in defaults:
                raise NetworkDefinitionError(
                    f"{source}, key '{dataset}.defaults.{key}': not allowed; it is implied"
                )
        out[dataset] = {}
        for name, entry in networks.items():
            where = f"{source}: network {dataset}/{name}"
            if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
                raise NetworkDefinitionError(
                    f"{where}: bad network name; use only letters, digits and '_'"
                )
            if not isinstance(entry, Mapping):
                raise NetworkDefinitionError(f"{where}: expected a mapping of keys")
            for key in ("dataset", "name"):
                if key in entry:
                    raise _fail(where, key, "not allowed; it is implied by the file's structure")
            merged = {**defaults, **entry, "dataset": dataset, "name": name}
            if merged.get("first_epoch_batch_size", 0) is None:
                merged["first_epoch_batch_size"] = merged.get("batch_size")
            out[dataset][name] = _build(merged, where)
    return out


def load_network_definitions(path: str | os.PathLike) -> dict[str, dict[str, NetworkDefinition]]:
    """Read and validate a networks YAML file (see config/networks.yaml).

    Returns ``{dataset: {network name: NetworkDefinition}}`` in file order. A missing or
    unparsable file, or any bad value, raises NetworkDefinitionError (an InputError and a
    ValueError) with a one-line message naming the file, the network and the key.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise NetworkDefinitionError(
            f"{path}: cannot read the network definitions ({err.strerror or err}); "
            "pass the path of config/networks.yaml"
        ) from None
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise NetworkDefinitionError(f"{path}: invalid YAML{at}: {problem}") from None
    return parse_network_definitions(document, source=str(path))


def iter_definitions(
    definitions: Mapping[str, Mapping[str, NetworkDefinition]] | Any,
) -> list[NetworkDefinition]:
    """Flatten the loader's nested dict (or any iterable of definitions) into a list, in order."""
    if isinstance(definitions, NetworkDefinition):
        return [definitions]
    if isinstance(definitions, Mapping):
        out: list[NetworkDefinition] = []
        for value in definitions.values():
            out.extend(iter_definitions(value))
        return out
    out = []
    for item in definitions:
        if not isinstance(item, NetworkDefinition):
            raise TypeError(f"expected NetworkDefinition objects, got {type(item).__name__}")
        out.append(item)
    return out
