"""The claims command writes claims.md from the run's tables."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sparse_pkg.reporting.claim_verdicts import (
    HOLDS,
)
from tests.unit.test_claims import metrics_table

REPO = Path(__file__).resolve().parents[2]
CLAIMS = REPO / "config" / "claims.yaml"
CONTRADICTING = {
    ("paper", "sparseCNN1"): [(980, 500, 200), (981, 510, 190), (979, 505, 210)],
    ("paper", "denseCNN1"): [(983, 800, 600), (984, 810, 590), (982, 790, 610)],
}


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
