"""config/networks.yaml read once per process into one collection of network definitions.

`load_networks(path)` reads the file, checks its layout against the schema (data sets, their
`defaults` and `networks`, network names), merges each network's entry over its data set's
defaults and builds a `NetworkDefinition` from it (which checks every value). The result is cached
by resolved path and content, so the Snakefile, a script and the reporting code that all ask for
the file parse it once. Every error is one line naming the file, the network and the key.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import yaml

from sparse_pkg.errors import InputError
from sparse_pkg.io.inputs import read_input
from sparse_pkg.network_definitions import (
    DATASETS,
    LAYER_KEYS,
    NetworkDefinition,
    NetworkDefinitionError,
)
from sparse_pkg.network_schema import Validator, first_error, networks_schema


class NetworkDefinitions:
    """Every network of one networks file, in file order (data set by data set)."""

    def __init__(self, source: str, definitions: tuple[NetworkDefinition, ...]) -> None:
        self.source = source
        self._all = definitions

    def __iter__(self) -> Iterator[NetworkDefinition]:
        return iter(self._all)

    def __len__(self) -> int:
        return len(self._all)

    def of(self, dataset: str) -> tuple[NetworkDefinition, ...]:
        """The definitions of one data set, in file order (empty when it has none)."""
        return tuple(d for d in self._all if d.dataset == dataset)

    def get(self, dataset: str, name: str) -> NetworkDefinition:
        """One definition; a one-line InputError naming the known ones when it is not there."""
        for definition in self.of(dataset):
            if definition.name == name:
                return definition
        known = ", ".join(sorted(d.name for d in self.of(dataset))) or "none"
        raise InputError(f"{self.source}: no {dataset} network '{name}' (known: {known}); "
                         "use one of those or define it there")


_CACHE: dict[tuple[Path, str], NetworkDefinitions] = {}


def load_networks(path: str | os.PathLike) -> NetworkDefinitions:
    """The validated definitions of a networks file (see config/networks.yaml), parsed once per
    process and content. A missing or unreadable file raises an InputError, bad YAML or any bad
    value a NetworkDefinitionError (an InputError too) naming the file, the network and the key."""
    text = read_input(path, lambda p: Path(p).read_text(encoding="utf-8"),
                      what="network definitions file", fix="pass the path of config/networks.yaml")
    key = (Path(path).resolve(), text)
    if key not in _CACHE:
        _CACHE[key] = _parse(text, str(path))
    return _CACHE[key]


def _parse(text: str, source: str) -> NetworkDefinitions:
    try:
        document = yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise NetworkDefinitionError(f"{source}: invalid YAML{at}: {problem}") from None
    schema = networks_schema()
    error = first_error(Validator(schema).iter_errors(document), schema["properties"])
    if error is not None:
        raise NetworkDefinitionError(_layout_problem(error, source))
    definitions = []
    for dataset, section in document.items():
        defaults = section.get("defaults") or {}
        for name, entry in section["networks"].items():
            where = f"{source}: network {dataset}/{name}"
            merged = {**_defaults_for(defaults, entry, where), **entry, "dataset": dataset,
                      "name": name}
            if merged.get("first_epoch_batch_size", 0) is None:  # null: same as batch_size
                merged["first_epoch_batch_size"] = merged.get("batch_size")
            definitions.append(NetworkDefinition.from_dict(merged, where))
    return NetworkDefinitions(source, tuple(definitions))


def _defaults_for(defaults: dict, entry: dict, where: str) -> dict:
    """The defaults an entry merges over: all of them for a paper network; for a model of one's
    own (key ``model``) only the training keys, as the layer keys shape the paper's network.
    Such an entry giving a layer key itself is refused: the model would silently ignore it."""
    if "model" not in entry:
        return defaults
    given = [key for key in LAYER_KEYS if key in entry]
    if given:
        raise NetworkDefinitionError(
            f"{where}, key '{given[0]}': a model of your own (model: {entry['model']}) does not "
            "read the paper network's layer keys; pass it to your class under options")
    return {key: value for key, value in defaults.items() if key not in LAYER_KEYS}


def _layout_problem(error: jsonschema.ValidationError, source: str) -> str:
    """One line for a schema violation of the file's layout (above the network entries)."""
    path = [str(part) for part in error.absolute_path]
    kind, value = error.validator, error.instance
    names = "propertyNames" in error.schema_path  # the violation is a key, ``value``
    if kind == "additionalProperties":
        allowed = ", ".join(error.schema["properties"])
        unknown = sorted(str(k) for k in set(value) - set(error.schema["properties"]))[0]
        if not path:
            return f"{source}, key '{unknown}': unknown dataset; use one of {allowed}"
        return f"{source}, key '{'.'.join(path)}.{unknown}': unknown key; allowed: {allowed}"
    if not path:
        return (f"{source}: expected a mapping of data sets ({', '.join(DATASETS)}) "
                "at the top level")
    dataset, key = path[0], ".".join(path)
    if len(path) == 1:  # a data set's section
        if kind == "required":
            return f"{source}, key '{key}.networks': expected a non-empty mapping of networks"
        return f"{source}, key '{key}': expected a mapping"
    if path[1] == "defaults":
        if names:
            return f"{source}, key '{key}.{value}': not allowed; it is implied"
        return f"{source}, key '{key}': expected a mapping"
    if len(path) == 2:  # the networks mapping
        if names:
            return (f"{source}: network {dataset}/{value}: bad network name; "
                    "use only letters, digits and '_'")
        return f"{source}, key '{key}': expected a non-empty mapping of networks"
    where = f"{source}: network {dataset}/{path[2]}"
    if names:
        return f"{where}, key '{value}': not allowed; it is implied by the file's structure"
    return f"{where}: expected a mapping of keys"


class UniqueKeyLoader(yaml.SafeLoader):
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


UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)
