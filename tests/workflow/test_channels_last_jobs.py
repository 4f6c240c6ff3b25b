"""compute.channels_last reaches the train jobs' commands."""

from __future__ import annotations

import yaml

from tests.helpers.training import REPO_ROOT
from tests.helpers.workflow import run_snakemake


def test_channels_last_config_reaches_the_train_jobs(tmp_path):
    """compute.channels_last: true adds --channels-last to every train command (dry run -p);
    the default leaves the commands, and so the jobs' params, as they were."""
    tiny = REPO_ROOT / "tests" / "configs" / "tiny.yaml"
    document = yaml.safe_load(tiny.read_text())
    for on in (True, False):
        document.setdefault("compute", {})["channels_last"] = on
        config = tmp_path / f"config_{on}.yaml"
        config.write_text(yaml.safe_dump(document))
        commands = run_snakemake(tmp_path, config, "-n", "-p").stdout
        trains = [line for line in commands.splitlines() if "sparse_pkg.commands.train " in line]
        assert trains and all(("--channels-last" in t) == on for t in trains)
