"""Does the paper reproduce? Each claim of ``config/claims.yaml`` tested on this run's results.

Network claims compare two networks of one data set over seeds, per selection protocol: the
effect is the difference of the per-seed means (first network minus second) in the claim's unit,
with a two-sided 95 % Welch confidence interval and a one-sided Welch t-test of the claimed
direction against the claim's margin (``sparse_pkg.statistics``). Verdicts: *holds* at p < 0.01;
*contradicted* when the opposite one-sided test gives p < 0.01; *not shown* otherwise; a group
with fewer than two seeds cannot be tested and says so; a network absent from the run is
"not run". Figure 2 claims read the table behind Figure 2 (``results/fig2.csv``).

The claims themselves are data (``config/claims.yaml``): this module only knows the kinds of
claim and the metrics, so adding a claim never needs code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sparse_pkg.errors import InputError
from sparse_pkg.network_definitions import NetworkDefinition
from sparse_pkg.reporting.tables import NOT_RUN, PROTOCOL_DESCRIPTIONS, run_scores
from sparse_pkg.statistics import welch_test

ALPHA = 0.01
"""Significance level of every verdict."""
HOLDS, NOT_SHOWN, CONTRADICTED = "holds", "not shown", "contradicted"
NEEDS_TWO_SEEDS = "untested: the t-test needs at least two seeds per network"
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


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim: cells of its row in results/claims.md."""

    effect: str
    interval: str
    p_value: str
    seeds: str
    verdict: str


# --- the claims file -------------------------------------------------------------------------

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
        values["dataset"] = _choice(path, where, entry["dataset"], "dataset", ("mnist", "gsc"))
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


# --- formatting --------------------------------------------------------------------------------

def format_p(p: float) -> str:
    """A p-value for the table: three decimals, or scientific notation below 0.001."""
    if p == 0:
        return "0 (no spread)"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _format_value(metric: str, value: float, signed: bool = True) -> str:
    sign = "+" if signed else ""
    if metric == "noise_score":
        return f"{value:{sign},.0f}"
    return f"{value:{sign}.2f}"


def _label(definitions, dataset: str, name: str) -> str:
    d = (definitions or {}).get(dataset, {}).get(name)
    return d.label if d is not None else name


def claim_test(claim: Claim, definitions=None) -> str:
    """The claim as the inequality that is tested, e.g. "Sparse CNN-1 − Dense CNN-1 > 0"."""
    if claim.kind == "figure2_falls":
        return "P(n, a) falls at every step of n, a = " + ", ".join(map(str, claim.actives))
    if claim.kind == "figure2_simulation":
        return f"|simulated − exact| ≤ {claim.standard_errors:g} binomial SE"
    sign = ">" if claim.direction == "greater" else "<"
    unit = METRICS[claim.metric][1]
    return (f"{_label(definitions, claim.dataset, claim.network)} − "
            f"{_label(definitions, claim.dataset, claim.versus)} {sign} "
            f"{_format_value(claim.metric, claim.margin, signed=False)} ({unit})")


# --- network claims ---------------------------------------------------------------------------

def per_run_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per run with every claim metric (validated as the tables validate the runs)."""
    if metrics.empty:
        columns = ["dataset", "network", "seed", "protocol", *(c for c, _ in METRICS.values())]
        return pd.DataFrame(columns=columns)
    parts = []
    for _, group in metrics.groupby("dataset", sort=False):
        runs = run_scores(group)
        runs["noise_score_percent"] = 100.0 * runs["noise_score"] / runs["max_noise_score"]
        parts.append(runs)
    return pd.concat(parts, ignore_index=True)


def network_verdict(claim: Claim, runs: pd.DataFrame, protocol: str,
                    definitions: Mapping[str, Mapping[str, NetworkDefinition]] | None = None
                    ) -> Verdict:
    """Effect, 95 % CI, one-sided p-value, seeds and verdict of a network claim.

    With ``definitions``, a network they lack is named in the "not run" verdict.
    """
    column = METRICS[claim.metric][0]
    chosen = runs[(runs["dataset"] == claim.dataset) & (runs["protocol"] == protocol)]
    first = chosen.loc[chosen["network"] == claim.network, column].astype(float).tolist()
    second = chosen.loc[chosen["network"] == claim.versus, column].astype(float).tolist()
    if not first or not second:
        known = (definitions or {}).get(claim.dataset, {})
        undefined = [n for n in (claim.network, claim.versus)
                     if definitions is not None and n not in known]
        reason = (f" ({', '.join(undefined)}: not a {claim.dataset} network of the networks "
                  "file)" if undefined else "")
        return Verdict(NOT_RUN, "–", "–", f"{len(first)} / {len(second)}", NOT_RUN + reason)
    seeds = f"{len(first)} / {len(second)}"
    difference = sum(first) / len(first) - sum(second) / len(second)
    effect = _format_value(claim.metric, difference)
    if len(first) < 2 or len(second) < 2:
        return Verdict(effect, "–", "–", seeds, NEEDS_TWO_SEEDS)
    result = welch_test(first, second, margin=claim.margin)
    p, p_other = ((result.p_greater, result.p_less) if claim.direction == "greater"
                  else (result.p_less, result.p_greater))
    verdict = HOLDS if p < ALPHA else CONTRADICTED if p_other < ALPHA else NOT_SHOWN
    interval = (f"[{_format_value(claim.metric, result.ci_low)}, "
                f"{_format_value(claim.metric, result.ci_high)}]")
    return Verdict(effect, interval, format_p(p), seeds, verdict)


# --- Figure 2 claims --------------------------------------------------------------------------

FIGURE2_COLUMNS = ("n", "a", "label", "probability", "frequency", "trials")
"""Columns of results/fig2.csv that the Figure 2 claims read (sparse_pkg.theory.figure2_table)."""


def check_figure2(table: pd.DataFrame, path: str) -> pd.DataFrame:
    """The Figure 2 table, or InputError naming ``path`` when a needed column is missing."""
    missing = [c for c in FIGURE2_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; rebuild it with the "
                         "figure2 rule")
    return table


def _curve(figure2: pd.DataFrame, a: int) -> pd.DataFrame:
    rows = figure2[(figure2["a"] == a) & (figure2["label"] == f"a={a}")]
    return rows.sort_values("n")


def falls_verdict(claim: Claim, figure2: pd.DataFrame | None) -> Verdict:
    """Whether the exact probability falls at every step of n on each fixed-a curve."""
    curves = {a: _curve(figure2, a) for a in claim.actives} if figure2 is not None else {}
    present = {a: c for a, c in curves.items() if len(c) >= 2}
    if not present:
        return Verdict(NOT_RUN, "–", "–", "–", NOT_RUN)
    rises = []
    for a, curve in present.items():
        n, p = curve["n"].tolist(), curve["probability"].tolist()
        rises += [f"a={a}: n {n[i]:,} → {n[i + 1]:,}" for i in range(len(p) - 1)
                  if not p[i + 1] < p[i]]
    steps = sum(len(c) - 1 for c in present.values())
    spans = "; ".join(f"a={a}: {c['probability'].iloc[0]:.3g} (n={c['n'].iloc[0]:,}) → "
                      f"{c['probability'].iloc[-1]:.3g} (n={c['n'].iloc[-1]:,})"
                      for a, c in present.items())
    absent = [str(a) for a in claim.actives if a not in present]
    note = f"; a = {', '.join(absent)} not in the table" if absent else ""
    if rises:
        return Verdict(f"does not fall at {len(rises)} of {steps} steps ({rises[0]}){note}",
                       "–", "exact", "–", CONTRADICTED)
    return Verdict(f"falls at all {steps} steps: {spans}{note}", "–", "exact", "–", HOLDS)


def _binomial_upper_tail(k: int, n: int, q: float) -> float:
    """P(X >= k) for X ~ Binomial(n, q), summed exactly term by term."""
    return min(1.0, math.fsum(math.comb(n, j) * q**j * (1 - q) ** (n - j) for j in range(k, n + 1)))


def simulation_verdict(claim: Claim, figure2: pd.DataFrame | None) -> Verdict:
    """Whether the Monte Carlo points lie within k binomial SEs of the exact curve.

    The SE of each point is ``sqrt(p (1 - p) / trials)`` with p the exact probability (so it is
    defined where no trial matched). Even when every point is simulated correctly, each one lies
    outside k SEs with probability q = erfc(k / sqrt 2) (normal approximation); the claim is
    contradicted when more points lie outside than that allows (binomial test, p < 0.01).
    """
    if figure2 is None or figure2.empty:
        return Verdict(NOT_RUN, "–", "–", "–", NOT_RUN)
    p = figure2["probability"].astype(float)
    se = (p * (1.0 - p) / figure2["trials"].astype(float)) ** 0.5
    gap = (figure2["frequency"].astype(float) - p).abs()
    outside = int(((gap > claim.standard_errors * se) & (gap > 0)).sum())
    total = len(figure2)
    chance = math.erfc(claim.standard_errors / math.sqrt(2.0))
    p_value = _binomial_upper_tail(outside, total, chance)
    worst = float((gap / se.where(se > 0)).max()) if (se > 0).any() else 0.0
    effect = (f"{total - outside} of {total} points within {claim.standard_errors:g} SE "
              f"(chance alone puts {total * chance:.2f} outside; largest gap {worst:.2f} SE)")
    verdict = CONTRADICTED if p_value < ALPHA else HOLDS
    return Verdict(effect, "–", format_p(p_value) if outside else "–", "–", verdict)


# --- the report -------------------------------------------------------------------------------

def _escape(cell: object) -> str:
    return str(cell).replace("|", "\\|")


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(_escape(c) for c in cells) + " |"


def _where(claim: Claim) -> str:
    return f"{claim.paper}; docs/protocol.md {claim.section}"


def claims_markdown(
    claims: Sequence[Claim],
    metrics: pd.DataFrame,
    figure2: pd.DataFrame | None,
    *,
    definitions: Mapping[str, Mapping[str, NetworkDefinition]] | None = None,
    source_lines: Sequence[str] = (),
    claims_file: str = "config/claims.yaml",
) -> str:
    """results/claims.md: one section per selection protocol for the network claims, then the
    Figure 2 claims; every row gives effect, 95 % CI, one-sided p, seeds and verdict."""
    runs = per_run_metrics(metrics)
    present = [p for p in PROTOCOL_DESCRIPTIONS if p in set(runs["protocol"])]
    protocols = present + sorted(set(runs["protocol"]) - set(present)) or list(
        PROTOCOL_DESCRIPTIONS)
    lines = ["**Does it reproduce? The paper's claims tested on this run**", ""]
    lines += [f"{line}  " for line in source_lines]
    lines += [
        f"Claims from `{claims_file}`. Effect = difference of the means over seeds (first "
        "network − second) in the claim's unit; 95 % CI = two-sided Welch interval of that "
        "difference; p = one-sided Welch t-test over seeds of the claimed inequality (`Test`). "
        f"Verdict: *{HOLDS}* (p < {ALPHA:g}), *{CONTRADICTED}* (the opposite one-sided test "
        f"gives p < {ALPHA:g}), *{NOT_SHOWN}* otherwise; a network with one seed cannot be "
        "tested. Accuracy claims are non-inferiority tests: \"within 1 point\" is tested as "
        "sparse − dense > −1 point, so a sparse network that beats its dense twin satisfies "
        "it. Seeds = seeds of the first / second network. With no spread over seeds in either "
        "network the test takes its limit (p = 0 or 1).",
    ]
    header = ["Claim", "Where", "Test", "Effect", "95 % CI", "p (one-sided)", "Seeds",
              "Verdict"]
    network_claims = [c for c in claims if c.kind == "networks"]
    if network_claims:
        for protocol in protocols:
            description = PROTOCOL_DESCRIPTIONS.get(protocol, "as recorded in the metrics table")
            lines += ["", f"### Protocol `{protocol}`: {description}", "", _row(header),
                      "|---|---|---|---:|---:|---:|---:|---|"]
            for claim in network_claims:
                v = network_verdict(claim, runs, protocol, definitions)
                lines.append(_row([claim.claim, _where(claim), claim_test(claim, definitions),
                                   v.effect, v.interval, v.p_value, v.seeds,
                                   f"*{v.verdict}*"]))
    theory = [c for c in claims if c.kind != "networks"]
    if theory:
        lines += ["", "### Figure 2: theory (no trained networks)", "",
                  _row(["Claim", "Where", "Test", "Result", "p", "Verdict"]),
                  "|---|---|---|---|---:|---|"]
        for claim in theory:
            check = falls_verdict if claim.kind == "figure2_falls" else simulation_verdict
            v = check(claim, figure2)
            lines.append(_row([claim.claim, _where(claim), claim_test(claim), v.effect,
                               v.p_value, f"*{v.verdict}*"]))
    return "\n".join(lines) + "\n"
