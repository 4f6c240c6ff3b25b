"""The workflow configuration checked against its JSON schema, reported as one line.

Snakemake's own validator prints the whole schema and the whole config on an error; a user
needs the key at fault and what is allowed. :func:`config_error` returns that line (or None),
so the Snakefile can stop before any job runs with one clear message. It also checks what a
JSON schema cannot say (the clean level 0.0 present, at least one data set enabled) and finds
the networks file when Snakemake runs in another folder.

Run as ``python -m sparse_pkg.config_check FILE...`` it checks config files *before* Snakemake
reads them: Snakemake parses ``--configfile`` before the Snakefile runs and reports a missing
file as a traceback and a YAML syntax error without its file or line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from sparse_pkg.datasets import registry
from sparse_pkg.networks_file import UniqueKeyLoader


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


def rule_error(config: dict[str, Any]) -> str | None:
    """One line for a schema-valid config that still cannot run, or None.

    Tables 1-2, the figures and the paper's epoch selection read the clean test set, level
    0.0: without it every training would finish before the tables fail. With both data sets
    disabled there is nothing to train, and the aggregation would overwrite the results with
    an empty table.
    """
    if not any(float(level) == 0.0 for level in config.get("noise_levels", [])):
        return ("config key noise_levels: 0.0 is missing; add it (the clean test set, which the "
                "tables, the figures and the epoch selection use)")
    sections = [config.get(name, {}) for name in registry.BUILT_IN]
    sections += list((config.get("datasets") or {}).values())
    if not any(section.get("enabled", True) for section in sections):
        return ("config keys mnist.enabled, gsc.enabled (and datasets.*.enabled): all are "
                "false, so there is nothing to run; set at least one to true")
    compare = config.get("compare") or {}
    if bool(compare.get("a")) != bool(compare.get("b")):
        missing = "b" if compare.get("a") else "a"
        return (f"config key compare.{missing}: missing; give both compare.a and compare.b (two "
                "results folders), or neither")
    for key, value in _path_settings(config):
        if any(c.isspace() for c in value):
            return (f"config key {key}: {value!r} contains a space, which the workflow's shell "
                    "commands cannot pass on; choose a path without spaces (a symbolic link to "
                    "it works)")
    for key in ("data_dir", "results_dir"):
        if key in config and os.path.exists(config[key]) and not os.path.isdir(config[key]):
            return (f"config key {key}: {config[key]} is a file, not a folder; name a folder "
                    "(it is created when missing)")
    return None


def _path_settings(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, value) of every configured path the rules write into shell commands."""
    found = [(k, config[k]) for k in ("data_dir", "results_dir") if isinstance(config.get(k), str)]
    for section, key in (("gsc", "archive"), ("gsc", "directory"), ("mnist", "directory"),
                         ("compare", "a"), ("compare", "b")):
        value = (config.get(section) or {}).get(key)
        if isinstance(value, str):
            found.append((f"{section}.{key}", value))
    return found


def config_error(config: dict[str, Any], schema: dict[str, Any]) -> str | None:
    """One line naming the first bad config key and what to do, or None when the config is valid.

    Schema violations come first, ordered by their key so the message is the same from run to
    run; then the rules of :func:`rule_error`.
    """
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return rule_error(config)
    key, what = _describe(errors[0])
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"config key {key}: {what}{more}"


def resolve_config_file(value: str, workflow_file: Callable[[str], str]) -> str:
    """A file named by the config (networks_file, claims_file): ``value`` as given when it
    exists from the working folder (or is absolute), else the same relative path in the
    workflow's own source, ``workflow_file("../" + value)`` (paths relative to workflow/).

    So the default ``config/networks.yaml`` works with ``snakemake --directory elsewhere`` and in
    a deployed module, while a file of the user's own in the working folder takes precedence.
    When neither exists, ``value`` is returned unchanged and the loader names it.
    """
    if Path(value).is_absolute() or Path(value).exists():
        return value
    try:
        in_workflow = workflow_file(f"../{value}")
    except Exception:  # noqa: BLE001  a remote source without that file: the loader names it
        return value
    return str(in_workflow) if Path(in_workflow).exists() else value


def config_file_error(path: str | os.PathLike) -> str | None:
    """One line naming a config file that Snakemake cannot load (missing, unreadable, YAML
    syntax error with its line and column, not a mapping), or None when it loads."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return f"{path}: config file not found; check the path given to --configfile"
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        return f"{path}: cannot read the config file ({reason}); check the file"
    try:
        document = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506  a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start is not None and mark is not None and start.line != mark.line:
            problem += f", {context} at line {start.line + 1}"  # where the bad construct began
        if "duplicate key" in problem:
            return f"{path}:{at}: {problem}: the later one would silently win; keep one"
        return f"{path}:{at}: YAML syntax error ({problem}); fix the file there"
    if document is not None and not isinstance(document, dict):
        return (f"{path}: the top level must be a mapping of config keys (key: value lines), "
                f"not a {type(document).__name__}; see config/config.yaml")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Check each config file named on the command line; print one line per bad file."""
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print("usage: python -m sparse_pkg.config_check CONFIGFILE...", file=sys.stderr)
        return 2
    problems = [problem for problem in map(config_file_error, paths) if problem]
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
