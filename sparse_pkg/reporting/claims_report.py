"""results/claims.md: each claim of ``config/claims.yaml`` with its test and verdict, as markdown.

One section per selection protocol for the network claims, then one for the Figure 2 claims
(:mod:`sparse_pkg.reporting.claim_verdicts` computes every row).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from sparse_pkg.network_definitions import NetworkDefinition
from sparse_pkg.reporting.claim_verdicts import (
    ALPHA,
    CONTRADICTED,
    HOLDS,
    NOT_SHOWN,
    falls_verdict,
    format_value,
    network_verdicts,
    per_run_metrics,
    simulation_verdict,
)
from sparse_pkg.reporting.claims import METRICS, Claim
from sparse_pkg.reporting.markdown import table_row
from sparse_pkg.reporting.sweep_report import trend_section
from sparse_pkg.reporting.tables import PROTOCOL_DESCRIPTIONS, protocol_order


def _label(definitions, dataset: str, name: str) -> str:
    return next((d.label for d in definitions or () if (d.dataset, d.name) == (dataset, name)),
                name)


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
            f"{format_value(claim.metric, claim.margin, signed=False)} ({unit})")


def _where(claim: Claim) -> str:
    return f"{claim.paper}; docs/protocol.md {claim.section}"


def claims_markdown(
    claims: Sequence[Claim],
    metrics: pd.DataFrame,
    figure2: pd.DataFrame | None,
    *,
    definitions: Iterable[NetworkDefinition] | None = None,
    source_lines: Sequence[str] = (),
    claims_file: str = "config/claims.yaml",
    sweeps: dict[str, pd.DataFrame] | None = None,
) -> str:
    """results/claims.md: one section per selection protocol for the network claims, then the
    Figure 2 claims; every network row gives effect, one-sided bound, raw and Holm p, seeds and
    verdict. ``sweeps`` (name -> the runs of sweep_report.sweep_points) adds each sweep's trend
    claim."""
    runs = per_run_metrics(metrics)
    protocols = protocol_order(runs["protocol"])
    lines = ["**Does it reproduce? The paper's claims tested on this run**", ""]
    lines += [f"{line}  " for line in source_lines]
    lines += [
        f"Claims from `{claims_file}`. Effect = difference of the means over seeds (first "
        "network − second) in the claim's unit. p = one-sided Welch t-test over seeds of the "
        "claimed inequality (`Test`); the network claims of a protocol are one family of tests, "
        "so p (Holm) is their Holm-adjusted p-value and the verdict is taken on it: "
        f"*{HOLDS}* (p (Holm) < {ALPHA:g}), *{CONTRADICTED}* (the opposite one-sided tests, "
        f"Holm-adjusted alike, give p < {ALPHA:g}), *{NOT_SHOWN}* otherwise. Bound = the "
        "one-sided confidence bound of the effect from the same test, at the level in brackets, "
        f"1 − {ALPHA:g} × p / p (Holm): it lies beyond the margin of `Test` exactly when the "
        f"claim *{HOLDS}*. A network with one seed cannot be tested. Accuracy claims are "
        "non-inferiority tests: \"within 1 point\" is tested as sparse − dense > −1 point, so a "
        "sparse network that beats its dense twin satisfies it. Seeds = seeds of the first / "
        "second network. With no spread over seeds in either network the test takes its limit "
        "(p = 0 or 1) and the bound is the effect.",
    ]
    header = ["Claim", "Where", "Test", "Effect", "Bound (level)", "p (one-sided)", "p (Holm)",
              "Seeds", "Verdict"]
    network_claims = [c for c in claims if c.kind == "networks"]
    if network_claims:
        for protocol in protocols:
            description = PROTOCOL_DESCRIPTIONS.get(protocol, "as recorded in the metrics table")
            lines += ["", f"### Protocol `{protocol}`: {description}", "", table_row(header),
                      "|---|---|---|---:|---:|---:|---:|---:|---|"]
            verdicts = network_verdicts(network_claims, runs, protocol, definitions)
            for claim, v in zip(network_claims, verdicts, strict=True):
                lines.append(table_row([claim.claim, _where(claim), claim_test(claim, definitions),
                                        v.effect, v.interval, v.p_value, v.p_holm, v.seeds,
                                        f"*{v.verdict}*"]))
    theory = [c for c in claims if c.kind != "networks"]
    if theory:
        lines += ["", "### Figure 2: theory (no trained networks)", "",
                  table_row(["Claim", "Where", "Test", "Result", "p", "Verdict"]),
                  "|---|---|---|---|---:|---|"]
        for claim in theory:
            check = falls_verdict if claim.kind == "figure2_falls" else simulation_verdict
            v = check(claim, figure2)
            lines.append(table_row([claim.claim, _where(claim), claim_test(claim), v.effect,
                               v.p_value, f"*{v.verdict}*"]))
    if sweeps:
        lines += trend_section(sweeps, protocol_order(
            pd.concat(list(sweeps.values()))["protocol"]))
    return "\n".join(lines) + "\n"
