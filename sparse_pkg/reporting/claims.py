"""The paper's claims as data: ``config/claims.yaml`` read and validated into Claim records.

The claims are data: this module only knows the kinds of claim and the metrics, so adding a
claim never needs code. :mod:`sparse_pkg.reporting.claim_verdicts` tests each claim on a run's
results; :mod:`sparse_pkg.reporting.claims_report` writes results/claims.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sparse_pkg.errors import InputError

KINDS = ("networks", "figure2_falls", "figure2_simulation")
METRICS = {
    # metric -> (column of the per-run table, unit shown after the effect)
    "test_accuracy": ("test_accuracy", "points of clean accuracy"),
    "noise_score": ("noise_score", "noise score"),
    "noise_score_percent": ("noise_score_percent", "points of the max noise score"),
}
_COMMON_KEYS = ("id", "claim", "paper", "section", "kind")
_KIND_KEYS = {
    "networks": ("dataset", "metric", "network", "versus", "direction", "margin"),
    "figure2_falls": ("actives",),
    "figure2_simulation": ("standard_errors",),
}
_OPTIONAL = {"margin": 0.0}
_ID = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True)
class Claim:
    """One entry of the claims file (see config/claims.yaml for the meaning of each key)."""

    id: str
    claim: str
    paper: str
    section: str
    kind: str
    dataset: str | None = None
    metric: str | None = None
    network: str | None = None
    versus: str | None = None
    direction: str | None = None
    margin: float = 0.0
    actives: tuple[int, ...] = ()
    standard_errors: float = 3.0


def _bad(path: str, where: str, problem: str) -> InputError:
    return InputError(f"{path}: {where}: {problem}; fix the entry (see the comments at the top "
                      "of config/claims.yaml)")


def _text(path: str, where: str, entry: Mapping, key: str) -> str:
    value = entry[key]
    if not isinstance(value, str) or not value.strip():
        raise _bad(path, where, f"{key} must be a non-empty string, got {value!r}")
    return value.strip()


def _number(path: str, where: str, value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(path, where, f"{key} must be a number, got {value!r}")
    return float(value)


def _choice(path: str, where: str, value: Any, key: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise _bad(path, where, f"{key} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _claim(path: str, index: int, entry: Any) -> Claim:
    """Validate one entry; every problem is one line naming the file and the entry."""
    where = f"claims[{index}]"
    if not isinstance(entry, Mapping):
        raise _bad(path, where, "expected a mapping of keys")
    if isinstance(entry.get("id"), str):
        where = f"claim {entry['id']!r}"
    missing = [k for k in _COMMON_KEYS if k not in entry]
    if missing:
        raise _bad(path, where, f"missing key {missing[0]}")
    kind = _choice(path, where, entry["kind"], "kind", KINDS)
    allowed = set(_COMMON_KEYS) | set(_KIND_KEYS[kind])
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise _bad(path, where, f"unknown key {unknown[0]} for kind {kind} "
                   f"(allowed: {', '.join(sorted(allowed))})")
    entry = {**{k: v for k, v in _OPTIONAL.items() if k in _KIND_KEYS[kind]}, **entry}
    missing = [k for k in _KIND_KEYS[kind] if k not in entry]
    if missing:
        raise _bad(path, where, f"missing key {missing[0]} (needed by kind {kind})")
    claim_id = _text(path, where, entry, "id")
    if not _ID.fullmatch(claim_id):
        raise _bad(path, where, "id must be letters, digits and _ only")
    values: dict[str, Any] = {k: _text(path, where, entry, k) for k in _COMMON_KEYS}
    if kind == "networks":
        values["dataset"] = _text(path, where, entry, "dataset")  # a name the run may not have
        values["metric"] = _choice(path, where, entry["metric"], "metric", tuple(METRICS))
        values["direction"] = _choice(path, where, entry["direction"], "direction",
                                      ("greater", "less"))
        values["margin"] = _number(path, where, entry["margin"], "margin")
        values["network"] = _text(path, where, entry, "network")
        values["versus"] = _text(path, where, entry, "versus")
        if values["network"] == values["versus"]:
            raise _bad(path, where, "network and versus must differ")
    elif kind == "figure2_falls":
        actives = entry["actives"]
        if (not isinstance(actives, list) or not actives
                or not all(isinstance(a, int) and not isinstance(a, bool) and a > 0
                           for a in actives)):
            raise _bad(path, where, f"actives must be a list of positive integers, got {actives!r}")
        values["actives"] = tuple(actives)
    else:
        values["standard_errors"] = _number(path, where, entry["standard_errors"],
                                            "standard_errors")
        if values["standard_errors"] <= 0:
            raise _bad(path, where, "standard_errors must be > 0")
    return Claim(**values)


def load_claims(path: str | Path) -> list[Claim]:
    """Read and validate a claims file.

    Raises :class:`InputError` (one line naming the file and the entry) on any problem. Network
    names are not checked here: a claim about a network that the networks file lacks (a trimmed
    file, a typo) is reported as "not run" with the reason, like any network absent from a run.
    """
    path = str(path)
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc}); pass the path of "
                         "config/claims.yaml") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}: not valid YAML{line}; fix the syntax") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("claims"), list):
        raise InputError(f"{path}: expected a top-level key `claims:` holding a list of claims")
    claims = [_claim(path, i, entry) for i, entry in enumerate(document["claims"])]
    seen: set[str] = set()
    for claim in claims:
        if claim.id in seen:
            raise _bad(path, f"claim {claim.id!r}", "id used twice; ids must be unique")
        seen.add(claim.id)
    return claims
