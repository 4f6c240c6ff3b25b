"""What a data set is to the workflow: one `DatasetInfo` per data set, and data sets of your own.

Every rule, command and report takes the list of data sets and their facts from here: the input
geometry and classes the networks are built for, the noise of the robustness test, the extra
test sets, whether it has a validation set, the paper's table, and the words of its source line.

MNIST and Speech Commands are built in: their preparation is a chain of rules of its own
(download or embedded copy, extraction, features) in workflow/rules/data.smk. A data set of your
own is one module, named in the config (``datasets: {NAME: {module: package.module}}``), that
provides (checked by :func:`load_plugin`):

- ``INFO``: a `DatasetInfo` (its ``name`` is replaced by the config's key);
- ``fetch() -> dict[str, numpy.ndarray]``: the raw data, from a package or a download cache;
- ``prepare(raw, options) -> (train, test)``: two `TensorSet` of features (N, C, H, W) float32
  and int64 labels in [0, classes); ``options`` is the config entry's ``options`` mapping;
- ``noisy(test, level, seed) -> TensorSet``: the test set at one noise level (level 0: clean),
  the same for every network (seeded from ``seed`` and the level alone).

``INFO.sha256``, when set, is the SHA-256 of what ``fetch`` returns (:func:`raw_digest`): the
rule that prepares the data refuses anything else, as the built-in data sets' downloads are
checked against their published digests. The workflow then runs the same training, evaluation,
tables, claims and sweeps on it as on the paper's data sets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sparse_pkg.errors import InputError
from sparse_pkg.user_modules import import_failure, import_user_module


@dataclass(frozen=True)
class DatasetInfo:
    """The facts of one data set the workflow needs (see the module docstring)."""

    name: str
    title: str
    channels: int
    height: int
    width: int
    classes: int
    noise: str
    """The robustness test's noise in words, for the noise figure's axis."""
    source: str = ""
    """Where the data comes from, for the tables' source line (a plug-in's)."""
    extra_tests: tuple[str, ...] = ()
    validation: bool = False
    table_number: int | None = None
    """The paper's results table (1, 2); None: results/table_NAME.md."""
    paper_max_noise_score: int | None = None
    sha256: str | None = None


BUILT_IN = {
    "mnist": DatasetInfo(
        name="mnist", title="MNIST", channels=1, height=28, width=28, classes=10,
        noise="Noise level (% of pixels replaced)", table_number=1,
        paper_max_noise_score=11 * 10_000),
    "gsc": DatasetInfo(
        name="gsc", title="Google Speech Commands", channels=1, height=32, width=32, classes=12,
        noise="White-noise level a (%): each sample x becomes (1 − a)·x + a·u, u ~ U(−1, 1)",
        extra_tests=("background",), validation=True, table_number=2,
        paper_max_noise_score=11 * 2_552),
}
"""The paper's data sets: MNIST 1x28x28 with 10 classes, GSC 1x32x32 log-mel with 12."""

_PLUGINS: dict[str, tuple[DatasetInfo, Any]] = {}


class DatasetError(InputError, ValueError):
    """A data set of one's own cannot be used; one line naming the config key and the fix."""


def info(name: str) -> DatasetInfo:
    """The facts of data set ``name`` (built in, or loaded by :func:`load_plugin`)."""
    if name in BUILT_IN:
        return BUILT_IN[name]
    if name in _PLUGINS:
        return _PLUGINS[name][0]
    known = ", ".join([*BUILT_IN, *_PLUGINS])
    raise DatasetError(f"unknown data set '{name}' (known: {known}); a data set of your own is "
                       "declared under config key datasets")


def names() -> list[str]:
    """Every known data set: the built-in ones, then those loaded."""
    return [*BUILT_IN, *_PLUGINS]


def is_plugin(name: str) -> bool:
    return name in _PLUGINS


def plugin_module(name: str) -> Any:
    """The module of a data set of one's own."""
    return _PLUGINS[name][1]


def load_plugin(name: str, module_name: str) -> DatasetInfo:
    """Import a data set of one's own and register it under ``name``; DatasetError naming
    config key datasets.NAME.module when the module is missing or lacks part of the interface."""
    where = f"config key datasets.{name}.module ({module_name})"
    if name in BUILT_IN:
        raise DatasetError(f"config key datasets.{name}: '{name}' is a built-in data set; "
                           "choose another name")
    try:
        module = import_user_module(module_name)
    except Exception as exc:  # noqa: BLE001  any failure of the user's module is reported
        raise DatasetError(f"{where}: cannot import it ({import_failure(exc)}); "
                           "install it, or put it in the folder Snakemake runs in") from None
    missing = [part for part in ("INFO", "fetch", "prepare", "noisy")
               if not hasattr(module, part)]
    if missing:
        raise DatasetError(f"{where}: it lacks {', '.join(missing)} (see "
                           "sparse_pkg/datasets/registry.py for what a data set provides)")
    if not isinstance(module.INFO, DatasetInfo):
        raise DatasetError(f"{where}: INFO must be a sparse_pkg.datasets.registry.DatasetInfo")
    registered = replace(module.INFO, name=name)
    _PLUGINS[name] = (registered, module)
    return registered


def raw_digest(raw: Mapping[str, Any]) -> str:
    """SHA-256 over the arrays ``fetch`` returned: each name, dtype, shape and bytes, by name."""
    import numpy as np

    digest = hashlib.sha256()
    for key in sorted(raw):
        array = np.ascontiguousarray(raw[key])
        digest.update(f"{key}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
