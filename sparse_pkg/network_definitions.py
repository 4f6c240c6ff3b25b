"""The paper's network definitions: an immutable, validated record per network, and geometry.

`config/networks.yaml` holds every network of the paper (docs/protocol.md §3.3, §4.9);
sparse_pkg.networks_file reads it. A `NetworkDefinition` is checked against the schema
(sparse_pkg.network_schema) and, here, against what a schema cannot say: conv k against the units
of its layer, linear_k against linear_n, one k per conv layer. Errors are one line naming the
network and the key. The input geometry of each data set lives here too, so that layer sizes
such as "units after the first pooling" are computed in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from sparse_pkg.datasets import registry
from sparse_pkg.errors import InputError
from sparse_pkg.network_schema import definition_problem, networks_schema

CONV_KERNEL_SIZE = 5
"""Every conv layer: kernel 5, stride 1, no padding (docs/protocol.md §2.1)."""
POOL_SIZE = 2
"""Every conv layer is followed by max-pooling with kernel and stride 2."""
DENSE = "dense"
"""The `conv_k` value (besides null) that makes a conv layer's activation a plain ReLU."""


LAYER_KEYS = ("conv_channels", "conv_k", "linear_n", "linear_k", "weight_sparsity", "batch_norm",
              "dropout", "boost_strength", "boost_strength_factor", "k_inference_factor",
              "duty_cycle_period")
"""The keys that shape the paper's network; a model of one's own (key ``model``) takes its shape
from ``options`` instead (sparse_pkg/own_models.py)."""
OPTIONAL_KEYS = (*LAYER_KEYS, "model", "options", "sweep", "data_geometry")
"""Keys `NetworkDefinition.to_dict` leaves out when they are None."""


class NetworkDefinitionError(InputError, ValueError):
    """A network definition is malformed; the one-line message names the network and the key."""


@dataclass(frozen=True)
class InputGeometry:
    """Shape of one input sample of a data set, and its number of classes."""

    channels: int
    height: int
    width: int
    classes: int


def input_geometry(dataset: str) -> InputGeometry:
    """The input geometry of ``dataset`` (sparse_pkg.datasets.registry: MNIST 1x28x28 with 10
    classes, GSC 1x32x32 log-mel with 12, or a data set of one's own that is loaded);
    ValueError for any other name."""
    try:
        facts = registry.info(dataset)
    except (InputError, TypeError):
        raise ValueError(
            f"unknown dataset {dataset!r}; expected one of {', '.join(registry.names())}"
        ) from None
    return InputGeometry(facts.channels, facts.height, facts.width, facts.classes)


def _geometry(dataset: str, data_geometry: Any) -> InputGeometry:
    """The geometry a definition is built for: its own ``data_geometry`` (a data set of one's
    own, recorded so jobs and checkpoints need no registry), else its data set's."""
    return InputGeometry(*data_geometry) if data_geometry else input_geometry(dataset)


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
    """Everything that defines one network and its training (see config/networks.yaml).

    ``conv_k[i]`` is None for a conv layer with a plain ReLU; ``linear_k == linear_n`` makes the
    hidden layer a plain ReLU; ``weight_sparsity`` 1.0 means dense hidden-layer weights.
    ``data_geometry`` (channels, height, width, classes) is set for the networks of a data set
    of one's own. ``model`` ("package.module:Class") names a network of one's own, built with
    ``options`` (sparse_pkg/own_models.py); its layer keys (`LAYER_KEYS`) are then None.
    ``sweep`` names the sweep that generated the network (sparse_pkg/sweeps.py), None for a
    network of the file.
    Every field but the first three defaults to None only so that these can be left out; the
    schema decides which are required.
    """

    dataset: str
    name: str
    label: str
    conv_channels: tuple[int, ...] | None = None
    conv_k: tuple[int | None, ...] | None = None
    linear_n: int | None = None
    linear_k: int | None = None
    weight_sparsity: float | None = None
    batch_norm: bool | None = None
    dropout: float | None = None
    boost_strength: float | None = None
    boost_strength_factor: float | None = None
    k_inference_factor: float | None = None
    duty_cycle_period: int | None = None
    optimizer: str | None = None
    lr: float | None = None
    momentum: float | None = None
    lr_factor: float | None = None
    weight_decay: float | None = None
    batch_size: int | None = None
    first_epoch_batch_size: int | None = None
    test_batch_size: int | None = None
    epochs: int | None = None
    published: PublishedResult | None = None
    model: str | None = None
    options: dict[str, Any] | None = None
    sweep: str | None = None
    data_geometry: tuple[int, int, int, int] | None = None

    def __post_init__(self) -> None:  # also checks dataclasses.replace()
        check_definition(self.to_dict(), f"network definition {self.dataset}/{self.name}")

    @property
    def geometry(self) -> InputGeometry:
        """Input geometry of this network's data set."""
        return _geometry(self.dataset, self.data_geometry)

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
        """Plain-Python form (lists, dicts, None for dense conv k) for checkpoints and JSON.

        Keys a definition does not use are left out: ``model``, ``options`` and ``sweep`` of a
        paper network (so its form, and the params and checkpoints made from it, are those of
        a definition without these keys), the layer keys of a model of one's own."""
        out: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None and field.name in OPTIONAL_KEYS:
                continue
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, PublishedResult):
                value = {f.name: getattr(value, f.name) for f in fields(PublishedResult)}
            elif isinstance(value, dict):
                value = dict(value)
            out[field.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str | None = None) -> NetworkDefinition:
        """Build a definition from `to_dict()` output or a merged networks-file entry (conv k
        'dense' for a plain ReLU). Raises NetworkDefinitionError naming ``where`` (by default
        the network) and the bad key."""
        if not isinstance(data, Mapping):
            raise NetworkDefinitionError(
                f"network definition: expected a mapping, got {type(data).__name__}"
            )
        where = where or f"network definition {data.get('dataset')}/{data.get('name')}"
        check_definition(data, where)
        values = dict(data)
        if "conv_channels" in data:
            values["conv_channels"] = tuple(data["conv_channels"])
        if "conv_k" in data:
            values["conv_k"] = tuple(None if k == DENSE else k for k in data["conv_k"])
        if data.get("data_geometry"):
            values["data_geometry"] = tuple(data["data_geometry"])
        for key in _NUMBER_KEYS:
            if key in data:
                values[key] = float(data[key])
        if (published := data.get("published")) is not None:
            values["published"] = PublishedResult(**{k: float(v) for k, v in published.items()})
        return cls(**values)


_NUMBER_KEYS = tuple(key for key, rule in networks_schema()["$defs"]["definition"]["properties"]
                     .items() if rule.get("type") == "number")
"""Keys the schema types as numbers: stored as floats (so 0 and 0.0 give the same JSON)."""


def _fail(where: str, key: str, problem: str) -> NetworkDefinitionError:
    return NetworkDefinitionError(f"{where}, key '{key}': {problem}")


def check_definition(data: Mapping[str, Any], where: str) -> None:
    """Check one merged definition against the schema, then across its keys; raise one line."""
    problem = definition_problem(data)
    if problem is None and data.get("model") is None:
        problem = _layer_problem(data)
    if problem is not None:
        raise _fail(where, *problem)


def _layer_problem(data: Mapping[str, Any]) -> tuple[str, str] | None:
    """What a schema cannot say: one conv k per conv layer, a conv stack that fits the input,
    each conv k within its layer's units after pooling, linear_k within linear_n."""
    channels, conv_k = data["conv_channels"], data["conv_k"]
    if len(conv_k) != len(channels):
        return "conv_k", (f"has {len(conv_k)} entries but conv_channels has {len(channels)}; "
                          f"give one k (or '{DENSE}') per conv layer")
    try:
        units = conv_output_units(_geometry(data["dataset"], data.get("data_geometry")),
                                  channels)
    except ValueError as err:
        return "conv_channels", f"too many conv layers: {err}"
    for index, (k, n) in enumerate(zip(conv_k, units, strict=True), start=1):
        if isinstance(k, int) and not 1 <= k <= n:
            return "conv_k", (f"k {k} of conv layer {index} must be in [1, {n}] "
                              f"(its units after pooling), or '{DENSE}'")
    if data["linear_k"] > data["linear_n"]:
        return "linear_k", f"k {data['linear_k']} must be in [1, linear_n={data['linear_n']}]"
    return None
