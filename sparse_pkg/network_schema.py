"""The JSON schema of config/networks.yaml, and its violations as one line each.

The schema (``sparse_pkg/schemas/networks.schema.yaml``, package data so that an installed package
finds it) holds every type, range, choice and required key of a network definition. This module
loads it once, validates with "number" meaning a finite number and "integer" a true int (YAML
gives ``64.0`` and ``true`` for typos), and words the first violation of a definition as
``(key, problem)`` for the one-line errors of sparse_pkg.network_definitions.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

import jsonschema
import yaml

SCHEMA_FILE = "networks.schema.yaml"
_TYPE_WORDS = {"integer": "an integer", "number": "a number", "boolean": "true or false",
               "string": "a string", "array": "a list", "object": "a mapping", "null": "null"}


def _is_number(_checker: Any, value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def _is_integer(_checker: Any, value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"number": _is_number, "integer": _is_integer}),
)


@functools.cache
def networks_schema() -> dict[str, Any]:
    """The schema of the networks file, read once from the package."""
    text = resources.files("sparse_pkg").joinpath("schemas", SCHEMA_FILE).read_text("utf-8")
    return yaml.safe_load(text)


@functools.cache
def _definition_validator() -> jsonschema.protocols.Validator:
    return Validator(networks_schema()["$defs"]["definition"])


def first_error(errors: Iterable[jsonschema.ValidationError],
                order: Mapping[str, Any]) -> jsonschema.ValidationError | None:
    """The violation to report: a wrong key before a missing one before a bad value, then by
    the order of the keys in ``order`` (the schema's properties), so the message is stable."""
    rank = {"additionalProperties": 0, "required": 1}
    keys = list(order)

    def position(error: jsonschema.ValidationError) -> tuple:
        path = [str(part) for part in error.absolute_path]
        top = keys.index(path[0]) if path and path[0] in keys else -1
        return rank.get(error.validator, 2), top, path

    return min(errors, key=position, default=None)


def definition_problem(data: Mapping[str, Any]) -> tuple[str, str] | None:
    """(key, what is wrong) for the first schema violation of one merged definition, or None."""
    schema = networks_schema()["$defs"]["definition"]
    error = first_error(_definition_validator().iter_errors(data), schema["properties"])
    return None if error is None else describe(error)


def _interval(schema: Mapping[str, Any]) -> str:
    low = next(((b, schema[k]) for k, b in (("minimum", "["), ("exclusiveMinimum", "("))
                if k in schema), None)
    high = next(((b, schema[k]) for k, b in (("maximum", "]"), ("exclusiveMaximum", ")"))
                 if k in schema), None)
    if low and high:
        return f"must be in {low[0]}{low[1]}, {high[1]}{high[0]}"
    if low:
        return f"must be {'>=' if low[0] == '[' else '>'} {low[1]}"
    return f"must be {'<=' if high[0] == ']' else '<'} {high[1]}"


def _expected(schema: Mapping[str, Any]) -> str:
    """'an integer', 'a mapping or null', "an integer, 'dense' or null" (anyOf branches)."""
    if "anyOf" in schema:
        words = [_expected(branch) for branch in schema["anyOf"]]
    elif "const" in schema:
        return repr(schema["const"])
    else:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        words = [_TYPE_WORDS[kind] for kind in kinds]
    return ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else words[0]


def _yaml_float_hint(value: Any) -> str:
    """A hint for a number YAML read as a string: YAML 1.1 wants a dot in ``1e-2``."""
    if not isinstance(value, str):
        return ""
    try:
        number = float(value)
    except ValueError:
        return ""
    mantissa, _, exponent = value.lower().partition("e")
    fixed = f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exponent}" if exponent else value
    return (f"; YAML reads {value} as text: write {fixed} or {number:g} (a number needs a dot "
            "before the exponent)")


def describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    """(dotted key, what is wrong and what to do) of one violation inside a definition."""
    key = ".".join(str(p) for p in error.absolute_path if not isinstance(p, int))
    schema, value, kind = error.schema, error.instance, error.validator
    hint = f" ({schema['description']})" if "description" in schema else ""
    if kind in ("additionalProperties", "required"):
        return _key_problem(key, kind, schema, value, error.validator_value)
    if kind in ("type", "anyOf"):
        expected = _expected(schema)
        if expected == "a number" and isinstance(value, float):
            expected = "a finite number"
        return key, f"expected {expected}, got {value!r}{hint}{_yaml_float_hint(value)}"
    if kind == "minItems":
        return key, f"expected a non-empty list, got {value!r}{hint}"
    if kind == "enum":
        return key, f"unknown {key} {value!r}; use one of {', '.join(schema['enum'])}"
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        return key, f"{_interval(schema)}{hint}, got {value!r}"
    if kind == "pattern":
        return key, f"expected {schema['description']}, got {value!r}"
    return key, " ".join(error.message.split())


def _key_problem(key: str, kind: str, schema: Mapping[str, Any], value: Mapping[str, Any],
                 required: Any) -> tuple[str, str]:
    """An unknown or a missing key, inside the definition (``key`` empty) or nested in it."""
    if kind == "required":
        name = next(k for k in required if k not in value)
        if key:
            return f"{key}.{name}", "missing"
        return name, "missing; set it in the network entry or its defaults"
    name = sorted(str(k) for k in set(value) - set(schema["properties"]))[0]
    if key:
        return f"{key}.{name}", f"unknown key; allowed: {', '.join(schema['properties'])}"
    return name, "unknown key; check its spelling in the network definition"
