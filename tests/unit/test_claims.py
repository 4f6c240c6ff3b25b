"""results/claims.md: scipy's Welch test, its bound and Holm, verdicts on planted metrics tables,
the claims file (validation, a user-added claim), the Figure 2 claims on the real theory output, and
the claims rule in a Snakemake dry run."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from sparse_pkg.errors import InputError
from sparse_pkg.networks_file import load_networks
from sparse_pkg.reporting.claim_verdicts import (
    CONTRADICTED,
    HOLDS,
    NEEDS_TWO_SEEDS,
    NOT_SHOWN,
    check_figure2,
    falls_verdict,
    network_verdict,
    network_verdicts,
    per_run_metrics,
    read_figure2,
    simulation_verdict,
)
from sparse_pkg.reporting.claims import load_claims
from sparse_pkg.reporting.claims_report import claims_markdown
from sparse_pkg.statistics import holm, welch_test
from sparse_pkg.theory import figure2_table

REPO = Path(__file__).resolve().parents[2]
CLAIMS = REPO / "config" / "claims.yaml"
DEFINITIONS = load_networks(REPO / "config" / "networks.yaml")
TEST_SIZE = 1000
LEVELS = (0.0, 0.25, 0.5)

# Fixed samples: group sizes 2-5, equal and unequal spreads, a large and a tiny difference.
SAMPLES = [
    ([9900.0, 9920.0, 9870.0], [9850.0, 9870.0]),
    ([98.1, 98.4, 98.2, 98.9, 98.3], [99.2, 99.1, 99.3]),
    ([1.0, 2.0], [1.5, 1.6, 1.7, 1.4]),
    ([100306.0, 101200.0, 99800.0, 100950.0], [74569.0, 71000.0, 78100.0, 76020.0]),
    ([0.5, 0.50001, 0.49999], [0.5, 0.5002, 0.4998]),
]


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


# --- statistics: scipy's Welch test, its one-sided bound, Holm ---------------------------------

@pytest.mark.parametrize("a, b", SAMPLES)
@pytest.mark.parametrize("margin", [0.0, -1.0, 25.0])
def test_welch_is_scipys_ttest_ind_against_the_margin(a, b, margin):
    from scipy import stats

    result = welch_test(a, b, margin=margin)
    shifted = [x - margin for x in a]  # testing mean(a) - mean(b) against a margin
    greater = stats.ttest_ind(shifted, b, equal_var=False, alternative="greater")
    less = stats.ttest_ind(shifted, b, equal_var=False, alternative="less")
    assert result.p("greater") == float(greater.pvalue)
    assert result.p("less") == float(less.pvalue)
    assert result.difference == pytest.approx(sum(a) / len(a) - sum(b) / len(b), rel=1e-12)
    low = float(greater.confidence_interval(0.99).low) + margin
    assert result.bound("greater", 0.99) == pytest.approx(low, rel=1e-12)
    high = float(less.confidence_interval(0.99).high) + margin
    assert result.bound("less", 0.99) == pytest.approx(high, rel=1e-12)


@pytest.mark.parametrize("a, b", SAMPLES)
@pytest.mark.parametrize("direction", ["greater", "less"])
def test_the_bound_lies_beyond_the_margin_exactly_when_p_is_below_its_level(a, b, direction):
    """Planted at the boundary: the margin set where the one-sided p is exactly 1 %, then
    nudged either way; the 99 % bound and the test agree on every side of it."""
    from scipy import optimize

    def p_minus_alpha(margin: float) -> float:
        return welch_test(a, b, margin=margin).p(direction) - 0.01

    difference = welch_test(a, b).difference
    spread = abs(difference) + max(map(abs, a + b)) + 1.0
    edge = optimize.brentq(p_minus_alpha, difference - 10 * spread, difference + 10 * spread,
                           xtol=1e-13, rtol=1e-15)
    for nudge in (-1e-6, 1e-6):
        margin = edge + nudge * max(1.0, abs(edge))
        test = welch_test(a, b, margin=margin)
        beyond = (test.bound(direction, 0.99) > margin if direction == "greater"
                  else test.bound(direction, 0.99) < margin)
        assert beyond == (test.p(direction) < 0.01), (margin, test.p(direction))


def test_welch_without_any_spread_takes_the_limit():
    higher = welch_test([3.0, 3.0, 3.0], [1.0, 1.0])
    assert (higher.p_greater, higher.p_less, higher.standard_error) == (0.0, 1.0, 0.0)
    assert higher.bound("greater", 0.99) == higher.bound("less", 0.99) == 2.0
    lower = welch_test([1.0, 1.0], [3.0, 3.0])
    assert (lower.p_greater, lower.p_less) == (1.0, 0.0)
    tie = welch_test([2.0, 2.0], [1.0, 1.0], margin=1.0)
    assert (tie.p_greater, tie.p_less) == (0.5, 0.5)


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # scipy, on the constant group
def test_welch_with_one_constant_group_is_scipys():
    from scipy import stats

    a, b = [5.0, 5.0, 5.0], [4.0, 4.5, 3.9, 4.2]
    expected = stats.ttest_ind(a, b, equal_var=False, alternative="greater")
    assert welch_test(a, b).p_greater == float(expected.pvalue)


def test_welch_refuses_one_value():
    with pytest.raises(ValueError, match=">= 2 values per group"):
        welch_test([1.0], [1.0, 2.0])


def test_holm_against_a_hand_computed_example():
    # sorted: 0.005 x 4 = 0.02; 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04 -> 0.06
    # (step-down: never below the previous adjusted value); order of the input kept
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.2, 0.6]) == pytest.approx([0.4, 0.6])
    assert holm([0.7, 0.9, 0.95]) == [1.0, 1.0, 1.0]  # capped at 1
    assert holm([0.01]) == [0.01] and holm([]) == []


# --- network claims on planted metrics tables -------------------------------------------------

def metrics_table(scores: dict[tuple[str, str], list[tuple[int, ...]]],
                  dataset: str = "mnist") -> pd.DataFrame:
    """(protocol, network) -> per seed, correct counts at LEVELS (of TEST_SIZE each)."""
    rows = []
    for (protocol, network), seeds in scores.items():
        for seed, corrects in enumerate(seeds, start=42):
            for level, correct in zip(LEVELS, corrects, strict=True):
                rows.append({
                    "dataset": dataset, "network": network, "seed": seed, "protocol": protocol,
                    "selected_epoch": 1, "noise_level": level, "correct": correct,
                    "total": TEST_SIZE, "accuracy": correct / TEST_SIZE,
                })  # fmt: skip
    return pd.DataFrame(rows)


def claims_by_id(path: Path = CLAIMS) -> dict:
    return {c.id: c for c in load_claims(path)}


# The sparse network is clearly WORSE under noise than the dense one: "sparse > dense" is
# contradicted. Its clean accuracy is 0.3 points lower: the "within 1 point" claim holds.
CONTRADICTING = {
    ("paper", "sparseCNN1"): [(980, 500, 200), (981, 510, 190), (979, 505, 210)],
    ("paper", "denseCNN1"): [(983, 800, 600), (984, 810, 590), (982, 790, 610)],
}


def test_planted_contradiction_is_contradicted():
    runs = per_run_metrics(metrics_table(CONTRADICTING))
    claims = claims_by_id()
    noise = network_verdict(claims["mnist_cnn1_noise"], runs, "paper")
    assert noise.verdict == CONTRADICTED
    assert noise.effect == "-698"  # mean noise score 1,685 - 2,383
    assert noise.seeds == "3 / 3"
    accuracy = network_verdict(claims["mnist_cnn1_accuracy"], runs, "paper")
    assert accuracy.verdict == HOLDS and accuracy.effect == "-0.30"


def test_verdict_p_value_and_bound_are_scipys_welch():
    from scipy import stats

    scores = {("paper", "sparseCNN1"): [(980, 900, 800), (975, 910, 790), (985, 880, 820)],
              ("paper", "denseCNN1"): [(983, 870, 760), (984, 860, 790)]}
    runs = per_run_metrics(metrics_table(scores))
    verdict = network_verdict(claims_by_id()["mnist_cnn1_noise"], runs, "paper")
    sparse, dense = [2680.0, 2675.0, 2685.0], [2613.0, 2634.0]
    expected = stats.ttest_ind(sparse, dense, equal_var=False, alternative="greater")
    assert verdict.p_value == verdict.p_holm == f"{float(expected.pvalue):.3f}"  # alone: no Holm
    low = float(expected.confidence_interval(0.99).low)
    assert verdict.interval == f"≥ {low:+,.0f} (99.00 %)"
    assert verdict.verdict == (HOLDS if expected.pvalue < 0.01 else NOT_SHOWN)


def _runs(values: dict[str, list[float]]) -> pd.DataFrame:
    """Per-run noise scores of MNIST networks under protocol ``paper`` (network -> seeds)."""
    return pd.DataFrame([{"dataset": "mnist", "protocol": "paper", "network": network,
                          "seed": 42 + i, "noise_score": value}
                         for network, seeds in values.items() for i, value in enumerate(seeds)])


def test_holm_can_turn_holds_into_not_shown_and_the_bound_follows_the_verdict():
    """Two claims, each with raw p = 0.007 (planted): alone each holds; as a family of two
    their Holm p is 0.014, so neither holds, and each bound's level moves so that the bound no
    longer clears the margin."""
    from scipy import optimize

    base = [1000.0, 1010.0, 1020.0]

    def p_of(shift: float) -> float:
        return welch_test([v + shift for v in base], base).p("greater")

    shift = optimize.brentq(lambda d: p_of(d) - 0.007, 0.0, 200.0, xtol=1e-12)
    runs = _runs({"sparseCNN1": [v + shift for v in base], "denseCNN1": base,
                  "sparseCNN2": [v + shift for v in base], "denseCNN2": base})
    claims = claims_by_id()
    family = [claims["mnist_cnn1_noise"], claims["mnist_cnn2_noise"]]
    alone = [network_verdict(c, runs, "paper") for c in family]
    together = network_verdicts(family, runs, "paper")
    for one, both in zip(alone, together, strict=True):
        assert one.verdict == HOLDS and one.p_value == one.p_holm == "0.007"
        assert one.interval.startswith("≥ +") and one.interval.endswith("(99.00 %)")
        assert both.verdict == NOT_SHOWN and both.p_value == "0.007" and both.p_holm == "0.014"
        assert both.interval.endswith("(99.50 %)")  # 1 - 0.01 x 0.007 / 0.014
        bound = float(both.interval.split(" (")[0].removeprefix("≥ ").replace(",", ""))
        assert bound <= 0.0  # the margin: not cleared, as the verdict says


def test_bound_and_verdict_agree_on_every_row_of_a_planted_family():
    """Nine claims of one protocol with effects from clearly positive to clearly negative:
    on every row, "the bound lies beyond the margin" is "holds"."""
    base = [1000.0, 1013.0, 990.0]
    values = {"denseCNN1": base, "denseCNN2": base, "sparseCNN2": base}
    shifts = {"sparseCNN1": 300.0, "sparseCNN2DSW": -200.0, "sparseCNN2D3": 12.0,
              "sparseCNN2W1": 40.0, "denseCNN2SP3": -5.0}
    values.update({name: [v + d for v in base] for name, d in shifts.items()})
    claims = [c for c in claims_by_id().values() if c.kind == "networks" and c.dataset == "mnist"]
    claims = [dataclasses.replace(c, network=name, versus="denseCNN1", metric="noise_score",
                                  margin=0.0, direction=direction)
              for c in claims[:1] for name in shifts for direction in ("greater", "less")]
    verdicts = network_verdicts(claims, _runs(values), "paper")
    assert {v.verdict for v in verdicts} == {HOLDS, NOT_SHOWN, CONTRADICTED}
    for claim, verdict in zip(claims, verdicts, strict=True):
        bound = float(verdict.interval.split(" (")[0][2:].replace(",", ""))
        beyond = bound > 0.0 if claim.direction == "greater" else bound < 0.0
        assert beyond == (verdict.verdict == HOLDS), (claim.network, claim.direction, verdict)


def test_a_weak_difference_is_not_shown():
    scores = {("final", "sparseCNN1"): [(980, 800, 700), (981, 600, 500)],
              ("final", "denseCNN1"): [(983, 700, 600), (984, 710, 590)]}
    runs = per_run_metrics(metrics_table(scores))
    assert network_verdict(claims_by_id()["mnist_cnn1_noise"], runs, "final").verdict == NOT_SHOWN


def test_one_seed_needs_two_seeds_and_has_no_p_value():
    scores = {("paper", "sparseCNN1"): [(980, 900, 800)],
              ("paper", "denseCNN1"): [(983, 700, 600), (984, 710, 591)]}
    runs = per_run_metrics(metrics_table(scores))
    verdict = network_verdict(claims_by_id()["mnist_cnn1_noise"], runs, "paper")
    assert verdict.verdict == NEEDS_TWO_SEEDS and "at least two seeds" in verdict.verdict
    assert verdict.p_value == "–" and verdict.interval == "–"
    assert verdict.seeds == "1 / 2" and verdict.effect == "+396"  # 2,680 - 2,284


def test_markdown_sections_not_run_rows_and_header():
    both = {**CONTRADICTING, **{("final", k[1]): v for k, v in CONTRADICTING.items()}}
    text = claims_markdown(load_claims(CLAIMS), metrics_table(both), None,
                           definitions=DEFINITIONS,
                           source_lines=["demo run · data: embedded · seeds 42–44"])
    assert "demo run · data: embedded · seeds 42–44" in text
    paper, final = text.index("### Protocol `paper`"), text.index("### Protocol `final`")
    assert paper < final
    rows = [line for line in text.splitlines() if line.startswith("| Sparse CNN-1 is more")]
    assert len(rows) == 2 and all(f"*{CONTRADICTED}*" in r for r in rows)
    gsc = [line for line in text.splitlines() if "white noise" in line and line.startswith("|")]
    assert len(gsc) == 8 and all(r.endswith("| *not run* |") for r in gsc)
    assert "non-inferiority" in text and "p < 0.01" in text
    figure2 = [line for line in text.splitlines() if "| Figure 2;" in line]
    assert len(figure2) == 2 and all("*not run*" in r for r in figure2)


# --- the claims file --------------------------------------------------------------------------

def test_the_shipped_claims_cover_the_issue():
    claims = claims_by_id()
    pairs = {(c.dataset, c.metric, c.network, c.versus, c.direction, c.margin)
             for c in claims.values() if c.kind == "networks"}
    for sparse, dense in [("sparseCNN1", "denseCNN1"), ("sparseCNN2", "denseCNN2")]:
        assert ("mnist", "noise_score", sparse, dense, "greater", 0.0) in pairs
        assert ("mnist", "test_accuracy", sparse, dense, "greater", -1.0) in pairs
    assert ("mnist", "noise_score", "sparseCNN2DSW", "sparseCNN2", "less", 0.0) in pairs
    for sparse in ("sparseCNN2", "SuperSparseCNN2"):
        for dense in ("denseCNN2_DR00", "denseCNN2_DR05"):
            assert ("gsc", "noise_score", sparse, dense, "greater", 0.0) in pairs
    kinds = [c.kind for c in claims.values()]
    assert "figure2_falls" in kinds and "figure2_simulation" in kinds


def test_a_claim_added_to_the_file_appears_in_the_output(tmp_path):
    document = yaml.safe_load(CLAIMS.read_text())
    document["claims"].append({
        "id": "my_claim", "claim": "Sparse CNN-1 beats Dense CNN-1 by 5 points of max noise",
        "paper": "Table 1", "section": "§3.4", "kind": "networks", "dataset": "mnist",
        "metric": "noise_score_percent", "network": "sparseCNN1", "versus": "denseCNN1",
        "direction": "greater", "margin": 5,
    })  # fmt: skip
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    text = claims_markdown(load_claims(path), metrics_table(CONTRADICTING), None,
                           definitions=DEFINITIONS)
    row = next(line for line in text.splitlines() if "by 5 points of max noise" in line)
    assert "> 5.00 (points of the max noise score)" in row
    assert row.endswith(f"| *{CONTRADICTED}* |")  # sparse is 23 points of max *below* dense


def test_a_claim_about_an_undefined_network_is_not_run_with_the_reason(tmp_path):
    document = yaml.safe_load(CLAIMS.read_text())
    document["claims"][0]["network"] = "sparseCNN9"  # a typo, or a trimmed networks file
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    text = claims_markdown(load_claims(path), metrics_table(CONTRADICTING), None,
                           definitions=DEFINITIONS)
    row = next(line for line in text.splitlines() if line.startswith("| Sparse CNN-1 is more"))
    assert "sparseCNN9 − Dense CNN-1" in row
    assert row.endswith("| *not run (sparseCNN9: not a mnist network of the networks file)* |")


@pytest.mark.parametrize("edit, named", [
    (lambda c: c[0].pop("metric"), "claim 'mnist_cnn1_noise': missing key metric"),
    (lambda c: c[1].update(metric="loss"), "claim 'mnist_cnn2_noise': metric must be one of"),
    (lambda c: c[2].update(network=""), "claim 'mnist_cnn1_accuracy': network must be a non-empty"),
    (lambda c: c[3].update(margin="one"), "claim 'mnist_cnn2_accuracy': margin must be a number"),
    (lambda c: c[4].update(colour="red"), "unknown key colour"),
    (lambda c: c[5].update(id=c[0]["id"]), "id used twice"),
    (lambda c: c[6].update(direction="up"), "direction must be one of greater, less"),
    (lambda c: c[7].update(versus=c[7]["network"]), "network and versus must differ"),
    (lambda c: c[-2].update(actives=[]), "actives must be a list of positive integers"),
    (lambda c: c[-1].update(standard_errors=0), "standard_errors must be > 0"),
    (lambda c: c.append("just text"), "claims[11]: expected a mapping"),
])  # fmt: skip
def test_bad_claims_fail_in_one_line_naming_file_and_entry(tmp_path, edit, named):
    document = yaml.safe_load(CLAIMS.read_text())
    edit(document["claims"])
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    with pytest.raises(InputError) as err:
        load_claims(path)
    message = str(err.value)
    assert named in message and message.startswith(f"{path}: ") and "\n" not in message


def test_unreadable_claims_files_fail_in_one_line(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        load_claims(tmp_path / "absent.yaml")
    (tmp_path / "bad.yaml").write_text("claims: [\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_claims(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- a\n")
    with pytest.raises(InputError, match="top-level key `claims:`"):
        load_claims(tmp_path / "list.yaml")


# --- Figure 2 claims --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def figure2() -> pd.DataFrame:
    """The real Figure 2 table (exact curve and simulation), with fewer trials to stay fast."""
    return figure2_table(trials=4000, seed=0)


def test_figure2_claims_hold_on_the_real_theory_output(figure2):
    claims = claims_by_id()
    falls = falls_verdict(claims["figure2_falls_with_n"], figure2)
    assert falls.verdict == HOLDS and "falls at all 48 steps" in falls.effect
    simulated = simulation_verdict(claims["figure2_simulation_agrees"], figure2)
    assert simulated.verdict == HOLDS
    assert simulated.effect.startswith(f"{len(figure2)} of {len(figure2)} points within 3 SE")


def test_figure2_claims_catch_a_rising_curve_and_a_biased_simulation(figure2):
    claims = claims_by_id()
    rising = figure2.copy()
    row = rising.index[(rising.label == "a=128") & (rising.n == 1100)][0]
    rising.loc[row, "probability"] = rising.loc[row - 4, "probability"] * 2  # above n = 900
    falls = falls_verdict(claims["figure2_falls_with_n"], rising)
    assert falls.verdict == CONTRADICTED and "a=128: n 900 → 1,100" in falls.effect
    biased = figure2.copy()
    se = (biased.probability * (1 - biased.probability) / biased.trials) ** 0.5
    biased["frequency"] = biased.probability + 4 * se  # every point 4 SE too high
    verdict = simulation_verdict(claims["figure2_simulation_agrees"], biased)
    assert verdict.verdict == CONTRADICTED and verdict.effect.startswith("0 of")


def test_one_point_outside_three_se_is_within_chance(figure2):
    shifted = figure2.copy()
    p = shifted.loc[0, "probability"]
    shifted.loc[0, "frequency"] = p + 3.5 * math.sqrt(p * (1 - p) / shifted.loc[0, "trials"])
    verdict = simulation_verdict(claims_by_id()["figure2_simulation_agrees"], shifted)
    assert verdict.verdict == HOLDS and verdict.effect.startswith(f"{len(figure2) - 1} of")


def test_figure2_table_missing_a_column_is_refused(figure2):
    with pytest.raises(InputError, match=r"fig2.csv: missing column\(s\) probability"):
        check_figure2(figure2.drop(columns="probability"), "results/fig2.csv")


def test_figure2_csv_is_read_or_refused_in_one_line(figure2, tmp_path):
    figure2.to_csv(tmp_path / "fig2.csv", index=False)
    pd.testing.assert_frame_equal(read_figure2(str(tmp_path / "fig2.csv")), figure2,
                                  check_dtype=False)
    (tmp_path / "bad.csv").write_bytes(b"")
    with pytest.raises(InputError, match=r"bad\.csv: .*\(EmptyDataError\); rerun the figure2 "
                                         "rule$"):
        read_figure2(str(tmp_path / "bad.csv"))


# --- the script and the workflow --------------------------------------------------------------


def test_claims_command_writes_the_file(tmp_path, figure2):
    import importlib.util

    spec = importlib.util.spec_from_file_location("report_script", REPO / "scripts" / "report.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    metrics_table(CONTRADICTING).to_parquet(tmp_path / "metrics.parquet")
    figure2.to_csv(tmp_path / "fig2.csv", index=False)
    out = tmp_path / "claims.md"
    result = CliRunner().invoke(script.main, [
        "claims", "--metrics", str(tmp_path / "metrics.parquet"),
        "--definitions", str(REPO / "config" / "networks.yaml"), "--claims", str(CLAIMS),
        "--figure2", str(tmp_path / "fig2.csv"), "--source-line", "demo run · MNIST line",
        "--source-line", "demo run · GSC line", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "demo run · MNIST line  \ndemo run · GSC line" in text
    assert "Claims from `config/claims.yaml`" in text
    assert text.count(f"*{HOLDS}*") >= 3  # accuracy claim, both Figure 2 claims
