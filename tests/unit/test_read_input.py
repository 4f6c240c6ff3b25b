"""read_input: a missing or unreadable input file is one InputError line naming it and the fix;
and the readers built on it keep their messages."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from sparse_pkg.aggregation import concat_parquet
from sparse_pkg.errors import InputError
from sparse_pkg.io.inputs import read_input
from sparse_pkg.io.tensors import load_tensor_set


def test_missing_and_unreadable_files_are_one_line_each(tmp_path):
    absent, bad = tmp_path / "absent.parquet", tmp_path / "bad.parquet"
    bad.write_text("not parquet\n")
    with pytest.raises(InputError) as missing:
        read_input(absent, pd.read_parquet, what="table", fix="delete it and rerun",
                   fix_missing="run the step first")
    assert str(missing.value) == f"{absent}: table not found; run the step first"
    with pytest.raises(InputError) as broken:
        read_input(bad, pd.read_parquet, what="table", fix="delete it and rerun")
    message = str(broken.value)
    assert message.startswith(f"{bad}: not a readable table (") and "\n" not in message
    assert message.endswith("); delete it and rerun")
    with pytest.raises(InputError, match="table not found; delete it and rerun$"):
        read_input(absent, pd.read_parquet, what="table", fix="delete it and rerun")


def test_a_good_file_is_read(tmp_path):
    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "good.parquet")
    assert read_input(tmp_path / "good.parquet", pd.read_parquet, what="t", fix="f")["a"].sum() == 3


def test_readers_name_the_file_and_the_step_to_rerun(tmp_path):
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 cut short")
    broken = tmp_path / "broken.parquet"
    with pytest.raises(InputError) as caught:
        concat_parquet([broken], ["run"])
    assert re.fullmatch(rf"{re.escape(str(broken))}: not a readable result file \(.*\); "
                        rf"delete it \(rm {re.escape(str(broken))}\), then rerun snakemake: "
                        "it recomputes that file", str(caught.value))
    with pytest.raises(InputError, match="absent.pt: tensor-set file not found; run the data "
                                         "preparation step first$"):
        load_tensor_set(tmp_path / "absent.pt")
