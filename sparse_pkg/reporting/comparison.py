"""Two results folders side by side: per network, B − A with its interval over seeds, and the
verdicts that changed (``python -m sparse_pkg.compare A B``, rule compare).

For each data set, protocol and network in either folder: the seeds of each, the clean test
accuracy and the noise score (% of max, so that runs with other test-set sizes or levels stay on
one scale) of A and B as means over seeds, and B − A with its two-sided 95 % interval over
seeds: a paired t interval of the per-seed differences when both folders hold the same seeds
(a seed fixes the initial weights and the data order, so those runs pair), Welch's otherwise
(sparse_pkg.statistics; with no spread, the interval is the difference).
"Same" says whether every seed both folders share scored exactly alike (same correct counts at
every level), what two runs on one machine and software give. The verdicts of claims.csv are
joined by section, protocol and claim; those that differ are listed.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from sparse_pkg.provenance import headline
from sparse_pkg.reporting.markdown import table_row
from sparse_pkg.reporting.tables import PROTOCOL_DESCRIPTIONS, protocol_order
from sparse_pkg.results import Results
from sparse_pkg.statistics import mean_test, welch_test

CONFIDENCE = 0.95
"""Two-sided level of the intervals of B − A."""
METRICS = (("test_accuracy", "Test acc. %", 2), ("noise_score_percent", "Noise %", 2))


def difference_interval(a: Sequence[float], b: Sequence[float]
                        ) -> tuple[float, float, float] | None:
    """(B − A, low, high): the difference of the means with its two-sided Welch interval at
    CONFIDENCE; None when a side has fewer than two seeds."""
    if len(a) < 2 or len(b) < 2:
        return None
    test = welch_test(b, a)
    tail = 1.0 - (1.0 - CONFIDENCE) / 2.0
    return test.difference, test.bound("greater", tail), test.bound("less", tail)


def paired_interval(differences: Sequence[float]) -> tuple[float, float, float] | None:
    """(mean, low, high) of per-seed differences B − A with their two-sided t interval at
    CONFIDENCE (the same seed on both sides: same initial weights and data order); None with
    fewer than two seeds."""
    if len(differences) < 2:
        return None
    test = mean_test(differences)
    tail = 1.0 - (1.0 - CONFIDENCE) / 2.0
    return test.mean, test.bound("greater", tail), test.bound("less", tail)


def _difference_cell(a: dict[int, float], b: dict[int, float], decimals: int) -> str:
    """B − A [low, high]: paired by seed when both hold the same seeds, else Welch."""
    if not a or not b:
        return "–"
    if set(a) == set(b):
        result = paired_interval([b[seed] - a[seed] for seed in sorted(a)])
    else:
        result = difference_interval(list(a.values()), list(b.values()))
    if result is None:
        gap = sum(b.values()) / len(b) - sum(a.values()) / len(a)
        return f"{gap:+.{decimals}f} (one seed: no interval)"
    gap, low, high = result
    return f"{gap:+.{decimals}f} [{low:+.{decimals}f}, {high:+.{decimals}f}]"


def _mean_cell(values: dict[int, float], decimals: int) -> str:
    return f"{sum(values.values()) / len(values):.{decimals}f}" if values else "–"


def _same(a: pd.DataFrame, b: pd.DataFrame, key: tuple) -> str:
    """'yes' when the seeds both hold have identical correct counts at every level."""
    columns = ["seed", "noise_level", "correct", "total"]
    pick = ["dataset", "network", "protocol"]

    def rows(metrics: pd.DataFrame) -> pd.DataFrame:
        chosen = metrics[(metrics[pick] == pd.Series(key, index=pick)).all(axis=1)]
        return chosen[columns].sort_values(columns[:2]).reset_index(drop=True)

    mine, theirs = rows(a), rows(b)
    shared = sorted(set(mine["seed"]) & set(theirs["seed"]))
    if not shared:
        return "–"
    mine = mine[mine["seed"].isin(shared)].reset_index(drop=True)
    theirs = theirs[theirs["seed"].isin(shared)].reset_index(drop=True)
    return "yes" if mine.equals(theirs) else "no"


def network_differences(a: Results, b: Results) -> pd.DataFrame:
    """One row per (dataset, protocol, network) in either folder: seeds, means, B − A cells."""
    runs_a, runs_b = a.runs, b.runs
    keys = ["dataset", "protocol", "network"]
    every = pd.concat([runs_a[keys], runs_b[keys]]).drop_duplicates()
    order = {p: i for i, p in enumerate(protocol_order(every["protocol"]))}  # paper first
    datasets = {d: i for i, d in enumerate(dict.fromkeys(every["dataset"]))}
    every = every.sort_values(["dataset", "protocol"], kind="stable",
                              key=lambda c: c.map(datasets if c.name == "dataset" else order))
    rows = []
    for key in every.itertuples(index=False):
        pick_a = (runs_a[keys] == pd.Series(key, index=keys)).all(axis=1)
        pick_b = (runs_b[keys] == pd.Series(key, index=keys)).all(axis=1)
        row = dict(zip(keys, key, strict=True))
        row["seeds"] = f"{int(pick_a.sum())} / {int(pick_b.sum())}"
        for metric, _, decimals in METRICS:
            values_a = dict(zip(runs_a.loc[pick_a, "seed"].astype(int),
                                runs_a.loc[pick_a, metric].astype(float), strict=True))
            values_b = dict(zip(runs_b.loc[pick_b, "seed"].astype(int),
                                runs_b.loc[pick_b, metric].astype(float), strict=True))
            row[f"{metric}_a"] = _mean_cell(values_a, decimals)
            row[f"{metric}_b"] = _mean_cell(values_b, decimals)
            row[f"{metric}_diff"] = _difference_cell(values_a, values_b, decimals)
        row["same"] = _same(a.metrics, b.metrics, (key.dataset, key.network, key.protocol))
        rows.append(row)
    return pd.DataFrame(rows)


def verdict_changes(a: Results, b: Results) -> pd.DataFrame | None:
    """The claims whose verdict differs between the folders (None: a folder has no
    claims.csv); columns section, protocol, claim, verdict_a, verdict_b."""
    if a.claims.empty or b.claims.empty:
        return None
    keys = ["section", "protocol", "claim"]
    left = a.claims[[*keys, "verdict"]].fillna({"protocol": ""})
    right = b.claims[[*keys, "verdict"]].fillna({"protocol": ""})
    joined = left.merge(right, on=keys, how="outer", suffixes=("_a", "_b"))
    joined = joined.fillna({"verdict_a": "not in A", "verdict_b": "not in B"})
    return joined[joined["verdict_a"] != joined["verdict_b"]].reset_index(drop=True)


def comparison_markdown(a: Results, b: Results, name_a: str = "A", name_b: str = "B") -> str:
    """The comparison as markdown (see the module docstring)."""
    lines = [f"**{name_b} − {name_a}: per-network differences and changed verdicts**", ""]
    for name, run in ((name_a, a), (name_b, b)):
        made = headline(run.provenance) if run.provenance else "no provenance.json"
        lines.append(f"{name} = `{run.folder}`: {made}  ")
    lines.append(
        f"Means over seeds; B − A with its two-sided {100 * CONFIDENCE:g} % interval over seeds: "
        "paired by seed when both folders hold the same seeds (the same seed starts from the same "
        "weights and data order), else Welch's; with no spread, the difference alone. "
        "Noise % = noise score as % of "
        "its maximum (levels × test size), comparable across test-set sizes. Seeds = A / B. "
        "Same = the seeds both folders hold scored identically at every level.")
    table = network_differences(a, b)
    header = ["Network", "Seeds", *[f"{label} {side}" for _, label, _ in METRICS
                                    for side in (name_a, name_b, "B − A")], "Same"]
    header = [h.replace("B − A", f"{name_b} − {name_a}") for h in header]
    for (dataset, protocol), group in table.groupby(["dataset", "protocol"], sort=False):
        description = PROTOCOL_DESCRIPTIONS.get(protocol, "as recorded")
        lines += ["", f"### {dataset}, protocol `{protocol}`: {description}", "",
                  table_row(header), "|---|---:|" + "---:|" * 6 + "---|"]
        for _, row in group.iterrows():
            cells = [row["network"], row["seeds"]]
            for metric, _, _ in METRICS:
                cells += [row[f"{metric}_a"], row[f"{metric}_b"], row[f"{metric}_diff"]]
            lines.append(table_row([*cells, row["same"]]))
    lines += ["", "### Verdicts", ""]
    changes = verdict_changes(a, b)
    if changes is None:
        missing = " and ".join(n for n, r in ((name_a, a), (name_b, b)) if r.claims.empty)
        lines.append(f"Not compared: no claims.csv in {missing} (written by rule claims).")
    elif changes.empty:
        lines.append(f"Every verdict of {len(a.claims)} claim rows is the same in both.")
    else:
        lines += [f"{len(changes)} verdict(s) differ:", "",
                  table_row(["Section", "Protocol", "Claim", f"Verdict {name_a}",
                             f"Verdict {name_b}"]), "|---|---|---|---|---|"]
        lines += [table_row([r.section, r.protocol or "–", r.claim, r.verdict_a, r.verdict_b])
                  for r in changes.itertuples(index=False)]
    return "\n".join(lines) + "\n"
