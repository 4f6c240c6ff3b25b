"""The workflow configuration checked against its JSON schema, reported as one line.

Snakemake's own validator prints the whole schema and the whole config on an error; a user
needs the key at fault and what is allowed. :func:`config_error` returns that line (or None),
so the Snakefile can stop before any job runs with one clear message.
"""

from __future__ import annotations

import os
from typing import Any

import jsonschema
import yaml


def load_schema(path: str | os.PathLike) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _key(path) -> str:
    return ".".join(str(part) for part in path) or "(top level)"


def _describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    """(config key, what is wrong and what to do) of one schema violation."""
    key = _key(error.absolute_path)
    if error.validator == "additionalProperties":  # the key name is the problem, not its value
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        prefix = f"{key}." if error.absolute_path else ""
        return (f"{prefix}{unknown[0]}",
                f"unknown key; remove it or fix its spelling (known here: {', '.join(allowed)})")
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        prefix = f"{key}." if error.absolute_path else ""
        return f"{prefix}{missing[0]}", "missing; add it (see config/config.yaml for an example)"
    if error.validator == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        return key, f"{error.instance!r} is not allowed; use one of: {choices}"
    if error.validator in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        bound = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">",
                 "exclusiveMaximum": "<"}[error.validator]
        limit = error.validator_value
        return key, f"{error.instance!r} is out of range; it must be {bound} {limit}"
    if error.validator == "oneOf" and error.context:
        return key, f"{error.instance!r} is not valid here ({error.schema.get('description', '')})"
    return key, " ".join(error.message.split())


def config_error(config: dict[str, Any], schema: dict[str, Any]) -> str | None:
    """One line naming the first bad config key and what to do, or None when the config is valid.

    Errors are ordered by their key, so the message is the same from run to run.
    """
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return None
    key, what = _describe(errors[0])
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"config key {key}: {what}{more}"
