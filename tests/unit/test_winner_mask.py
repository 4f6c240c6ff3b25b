"""The winner mask (sparse_pkg/layers/winner_mask.py) is exactly the mask of one ``topk`` call
over the whole batch: on rows without ties (the fast path), with ties at the threshold, NaN,
infinities and signed zeros (handed to ``topk`` row by row), in both of ``topk``'s regimes."""

import pytest
import torch

from sparse_pkg.layers import winner_mask
from sparse_pkg.layers.winner_mask import top_k_mask


def take(path: str):
    """A stand-in for sparse_pkg.layers.fastest.fastest that always picks ``path``."""
    return lambda key, candidates: path


@pytest.fixture(autouse=True)
def partition_at_every_size(monkeypatch):
    """The machine's measurement picks a path per shape; here every shape takes the partition
    path (the topk path is topk itself)."""
    monkeypatch.setattr(winner_mask, "fastest", take("partition"))


def topk_mask(scores: torch.Tensor, k: int) -> torch.Tensor:
    """The mask of one ``topk`` call over the whole batch (the definition of the winners)."""
    indices = scores.topk(k, dim=1, sorted=False).indices
    return torch.zeros_like(scores).scatter_(1, indices, 1.0)


def mixed_rows(batch: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """Rows of every kind: distinct normals, coarse integers (ties everywhere, +0.0 and -0.0),
    normals with a NaN or an infinity, and a constant row."""
    rows = []
    for i in range(batch):
        row = torch.randn(n, generator=generator)
        kind = i % 5
        if kind == 1:
            row = torch.randint(-2, 3, (n,), generator=generator).float()
            row[torch.rand(n, generator=generator) < 0.2] = -0.0
        elif kind == 2:
            row[int(torch.randint(n, (1,), generator=generator))] = float("nan")
        elif kind == 3:
            row[: 3] = float("inf")
            row[3:6] = -float("inf")
        elif kind == 4 and i % 10 == 9:
            row = torch.full((n,), 0.5)
        rows.append(row)
    return torch.stack(rows)


@pytest.mark.parametrize("n, k", [(40, 6), (1000, 10), (1000, 100), (12544, 1200), (50, 50),
                                  (50, 1)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_mask_is_topks_choice_for_every_kind_of_row(n, k, dtype):
    """(1000, 10) and (12544, 1200) fall on either side of topk's partial-sort threshold
    (k * 64 <= n), so a tied row is decided by each of its two algorithms."""
    scores = mixed_rows(20, n, torch.Generator().manual_seed(n + k)).to(dtype)
    mask = top_k_mask(scores, k, dtype)
    assert mask.dtype == dtype and mask.shape == scores.shape
    assert torch.equal(mask, topk_mask(scores, k))


def test_rows_without_ties_never_reach_topk(monkeypatch):
    """Distinct scores are decided by the partition alone (the fast path is really taken)."""
    def refuse(*args):
        raise AssertionError("topk called for rows without ties")

    monkeypatch.setattr(winner_mask, "_mask_of_topk", refuse)
    scores = torch.randn(64, 1600, generator=torch.Generator().manual_seed(1))
    mask = top_k_mask(scores, 200, torch.float32)
    assert torch.equal(mask.sum(dim=1), torch.full((64,), 200.0))
    assert torch.equal(mask, topk_mask(scores, 200))


def test_only_undecided_rows_reach_topk(monkeypatch):
    """A tie at the threshold sends that row, and only that row, to topk."""
    seen = []
    original = winner_mask._mask_of_topk

    def record(scores, k, dtype, *options):
        seen.append(scores.clone())
        return original(scores, k, dtype, *options)

    monkeypatch.setattr(winner_mask, "_mask_of_topk", record)
    scores = torch.randn(4, 10, generator=torch.Generator().manual_seed(2))
    scores[2] = torch.tensor([5.0, 4.0, 3.0, 3.0, 3.0, 1.0, 0.0, -1.0, -2.0, -3.0])
    mask = top_k_mask(scores, 3, torch.float32)
    assert len(seen) == 1 and torch.equal(seen[0], scores[2:3])
    assert torch.equal(mask, topk_mask(scores, 3))
    assert mask[2, :2].tolist() == [1.0, 1.0] and mask[2, 2:5].sum() == 1.0


def test_other_dtypes_and_a_mask_dtype_other_than_the_scores_use_topk():
    scores = mixed_rows(10, 300, torch.Generator().manual_seed(4))
    half = scores.half()
    assert torch.equal(top_k_mask(half, 30, torch.float16), topk_mask(half, 30))
    assert torch.equal(top_k_mask(scores, 30, torch.float64), topk_mask(scores, 30).double())


def test_the_topk_path_is_one_topk_call_and_may_reuse_the_scores(monkeypatch):
    monkeypatch.setattr(winner_mask, "fastest", take("topk"))
    monkeypatch.setattr(winner_mask.np, "partition", None)  # a call would fail
    scores = torch.randn(16, 150, generator=torch.Generator().manual_seed(5))
    assert torch.equal(top_k_mask(scores.clone(), 50, torch.float32), topk_mask(scores, 50))
    reused = scores.clone()
    assert top_k_mask(reused, 50, torch.float32, reuse_scores=True) is reused
    assert torch.equal(reused, topk_mask(scores, 50))


def test_the_path_is_measured_once_per_shape_dtype_and_thread_count(monkeypatch):
    """The real chooser: each key is timed at its first call, then its choice is reused; both
    paths give topk's mask whichever wins."""
    from sparse_pkg.layers import fastest as fastest_module

    monkeypatch.setattr(winner_mask, "fastest", fastest_module.fastest)
    monkeypatch.setattr(fastest_module, "_CHOICES", {})
    scores = mixed_rows(16, 1000, torch.Generator().manual_seed(6))
    threads = torch.get_num_threads()
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            assert torch.equal(top_k_mask(scores, 100, torch.float32), topk_mask(scores, 100))
            assert torch.equal(top_k_mask(scores, 100, torch.float32), topk_mask(scores, 100))
    finally:
        torch.set_num_threads(threads)
    keys = list(fastest_module.chosen())
    assert keys == [("top_k_mask", (16, 1000), 100, torch.float32, 1),
                    ("top_k_mask", (16, 1000), 100, torch.float32, 2)]
    assert set(fastest_module.chosen().values()) <= {"topk", "partition"}


def test_empty_batch():
    assert top_k_mask(torch.empty(0, 8), 3, torch.float32).shape == (0, 8)


# NaN beside a tie at the threshold: the count of scores at or above the k-th value is exactly k,
# so only the NaN itself can tell that the row is topk's to decide (topk ranks NaN highest).

def nan_and_tie_rows(n: int, k: int, nans: int, dtype: torch.dtype) -> torch.Tensor:
    """Rows of distinct scores below 1, then ``nans`` NaNs and k scores equal to 1.0 placed at
    different positions in each row."""
    generator = torch.Generator().manual_seed(1000 * nans + k)
    rows = torch.rand(4, n, generator=generator, dtype=torch.float64).mul_(0.9).to(dtype)
    for r in range(4):
        where = torch.randperm(n, generator=generator)[: nans + k]
        rows[r, where[:nans]] = float("nan")
        rows[r, where[nans:]] = 1.0
    return rows


@pytest.mark.parametrize("threads", [1, 4])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("nans", range(1, 9))
def test_nan_beside_a_tie_at_the_threshold_is_topks_choice(nans, dtype, threads):
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for k in (2, 5):
            scores = nan_and_tie_rows(4096, k, nans, dtype)
            assert torch.equal(top_k_mask(scores, k, dtype), topk_mask(scores, k)), (k, nans)
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_row_of_nan_and_a_row_whose_threshold_is_nan(dtype):
    n, k = 4096, 3
    scores = torch.rand(3, n, generator=torch.Generator().manual_seed(5), dtype=dtype)
    scores[0] = float("nan")  # every score NaN
    scores[1, :k + 2] = float("nan")  # more NaNs than winners: the k-th largest is NaN
    scores[2, 7] = float("nan")  # one NaN among distinct scores, no tie at all
    assert torch.equal(top_k_mask(scores, k, dtype), topk_mask(scores, k))


def test_kwinners_keeps_topks_winners_with_nan_and_ties():
    """Through the layer's function: the units kept are topk's (NaN passes through as NaN)."""
    from sparse_pkg.layers.kwinners import kwinners

    x = nan_and_tie_rows(4096, 2, 1, torch.float32)
    out = kwinners(x, torch.zeros(4096), 2, 0.0)
    expected = x.masked_fill(topk_mask(x, 2) == 0, 0.0)
    assert torch.equal(torch.isnan(out), torch.isnan(expected))
    assert torch.equal(out.nan_to_num(7.0), expected.nan_to_num(7.0))
