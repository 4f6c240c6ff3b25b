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
from sparse_pkg.reporting.sweep_report import trend_claims, trend_lines
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


CSV_COLUMNS = ("section", "protocol", "claim", "where", "test", "effect", "bound", "p",
               "p_holm", "seeds", "verdict")
"""results/claims.csv: one row per claim tested (and per protocol for network and sweep claims)."""


def claim_rows(
    claims: Sequence[Claim],
    metrics: pd.DataFrame,
    figure2: pd.DataFrame | None,
    *,
    definitions: Iterable[NetworkDefinition] | None = None,
    sweeps: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Every verdict of claims.md as data (CSV_COLUMNS): section networks, figure2 or sweeps."""
    runs = per_run_metrics(metrics)
    rows = []
    network_claims = [c for c in claims if c.kind == "networks"]
    for protocol in protocol_order(runs["protocol"]) if network_claims else []:
        verdicts = network_verdicts(network_claims, runs, protocol, definitions)
        for claim, v in zip(network_claims, verdicts, strict=True):
            rows.append(("networks", protocol, claim.claim, _where(claim),
                         claim_test(claim, definitions), v.effect, v.interval, v.p_value,
                         v.p_holm, v.seeds, v.verdict))
    for claim in (c for c in claims if c.kind != "networks"):
        check = falls_verdict if claim.kind == "figure2_falls" else simulation_verdict
        v = check(claim, figure2)
        rows.append(("figure2", "", claim.claim, _where(claim), claim_test(claim), v.effect,
                     "–", v.p_value, "–", "–", v.verdict))
    if sweeps:
        for protocol in protocol_order(pd.concat(list(sweeps.values()))["protocol"]):
            for t in trend_claims(sweeps, protocol):
                rows.append(("sweeps", protocol, t.claim, f"results/sweeps/{t.sweep}.md", t.test,
                             t.effect, t.bound, t.p_value, t.p_holm, t.seeds, t.verdict))
    return pd.DataFrame(rows, columns=list(CSV_COLUMNS))


def _table(rows: pd.DataFrame, columns: Sequence[str], header: Sequence[str],
           align: str) -> list[str]:
    lines = [table_row(header), align]
    for _, row in rows.iterrows():
        cells = [row[c] for c in columns]
        cells[-1] = f"*{cells[-1]}*"
        lines.append(table_row(cells))
    return lines


def claims_markdown(
    claims: Sequence[Claim],
    metrics: pd.DataFrame,
    figure2: pd.DataFrame | None,
    *,
    definitions: Iterable[NetworkDefinition] | None = None,
    source_lines: Sequence[str] = (),
    claims_file: str = "config/claims.yaml",
    sweeps: dict[str, pd.DataFrame] | None = None,
    rows: pd.DataFrame | None = None,
) -> str:
    """results/claims.md: one section per selection protocol for the network claims, then the
    Figure 2 claims, then the sweeps' trend claims; every network row gives effect, one-sided
    bound, raw and Holm p, seeds and verdict. ``rows``: the `claim_rows` of these arguments,
    when already computed."""
    if rows is None:
        rows = claim_rows(claims, metrics, figure2, definitions=definitions, sweeps=sweeps)
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
        "(p = 0 or 1) and the bound is the effect. The same rows: claims.csv.",
    ]
    header = ["Claim", "Where", "Test", "Effect", "Bound (level)", "p (one-sided)", "p (Holm)",
              "Seeds", "Verdict"]
    columns = ["claim", "where", "test", "effect", "bound", "p", "p_holm", "seeds", "verdict"]
    networks = rows[rows["section"] == "networks"]
    for protocol in dict.fromkeys(networks["protocol"]):
        description = PROTOCOL_DESCRIPTIONS.get(protocol, "as recorded in the metrics table")
        lines += ["", f"### Protocol `{protocol}`: {description}", ""]
        lines += _table(networks[networks["protocol"] == protocol], columns, header,
                        "|---|---|---|---:|---:|---:|---:|---:|---|")
    theory = rows[rows["section"] == "figure2"]
    if len(theory):
        lines += ["", "### Figure 2: theory (no trained networks)", ""]
        lines += _table(theory, ["claim", "where", "test", "effect", "p", "verdict"],
                        ["Claim", "Where", "Test", "Result", "p", "Verdict"],
                        "|---|---|---|---|---:|---|")
    trends = rows[rows["section"] == "sweeps"]
    if len(trends):
        lines += trend_lines()
        for protocol in dict.fromkeys(trends["protocol"]):
            lines += ["", f"Protocol `{protocol}`:", ""]
            lines += _table(trends[trends["protocol"] == protocol], columns,
                            ["Claim", "Sweep", *header[2:]],
                            "|---|---|---|---:|---:|---:|---:|---:|---|")
    return "\n".join(lines) + "\n"
