"""Which units win: a 0/1 mask of each row's k largest scores, exactly ``topk``'s choice.

``torch.topk`` on the CPU sorts (value, index) pairs with a NaN-aware comparator; for a k-winners
layer that is most of the layer's time (about 8 ms of a 12,544-unit layer at batch 64, 1 thread).
Where the k-th largest score of a row is strictly larger than the next one, the k winners are
simply the scores at or above it, whatever algorithm picks them. So on the CPU the k-th largest
value comes from numpy's vectorised, values-only ``partition`` (4-5x faster than ``topk``), and
the mask from one vectorised comparison. Under 4,096 scores a lone ``topk`` call is cheaper than
those few calls, and stays (benchmarks/kwinners.py). numpy's partition runs on one thread while
``topk`` shares the rows among torch's threads, so with more than 3 torch threads ``topk`` stays
too (1 thread: 3.1-4.3x faster by partition; 2 threads: 1.8-2.8x).

A row whose count of scores at or above that value is not exactly k has a tie at the threshold.
A row holding a NaN is ``topk``'s too, whatever its count (``topk`` ranks NaN highest; the
comparison never selects it, and a NaN beside k tied values leaves the count at exactly k).
Only such rows are handed to ``topk`` itself, which decides a row from that row alone, so the
mask is ``topk``'s choice in every case, ties and NaN included.
"""

from __future__ import annotations

import numpy as np
import torch

_PARTITION_DTYPES = (torch.float32, torch.float64)  # 0/1 counts stay exact in these
# Under this many scores a lone topk call costs less than the partition path's few calls
# (benchmarks/kwinners.py, 1 thread: the 150-unit layer at batch 16).
_PARTITION_MIN_SCORES = 4096
_PARTITION_MAX_THREADS = 3  # beyond this, topk's share of rows per thread is as fast


def top_k_mask(scores: torch.Tensor, k: int, dtype: torch.dtype,
               reuse_scores: bool = False) -> torch.Tensor:
    """(batch, n) tensor of ``dtype``: 1.0 where ``scores.topk(k, dim=1)`` would pick a unit,
    0.0 elsewhere. ``scores``: (batch, n) with 1 <= k <= n. ``reuse_scores``: the caller is
    done with ``scores``, which may then hold the mask (an allocation saved on small layers)."""
    n = scores.shape[1]
    if (scores.numel() < _PARTITION_MIN_SCORES or not scores.is_cpu
            or scores.dtype not in _PARTITION_DTYPES or dtype != scores.dtype
            or torch.get_num_threads() > _PARTITION_MAX_THREADS):
        return _mask_of_topk(scores, k, dtype, reuse_scores)
    values = scores.detach().numpy()
    parted = np.partition(values, n - k, axis=1)
    kth = parted[:, n - k : n - k + 1]
    mask = torch.from_numpy(np.greater_equal(values, kth).astype(values.dtype))
    # numpy ranks NaN above every number, so a row's NaNs all land among its top k (or make the
    # k-th value NaN): a NaN there flags the row even when its count happens to be exactly k.
    with_nan = np.isnan(parted[:, n - k :]).any(axis=1)
    undecided = np.flatnonzero((mask.numpy().sum(axis=1) != k) | with_nan)
    if undecided.size:  # a tie at the threshold or a NaN: topk's own choice for those rows
        rows = torch.from_numpy(undecided)
        mask[rows] = _mask_of_topk(scores.detach()[rows], k, dtype)
    return mask


def _mask_of_topk(scores: torch.Tensor, k: int, dtype: torch.dtype,
                  reuse_scores: bool = False) -> torch.Tensor:
    """The mask by one ``topk`` call (any device and dtype)."""
    indices = scores.topk(k, dim=1, sorted=False).indices
    if reuse_scores and scores.dtype == dtype and scores.is_contiguous():
        return scores.zero_().scatter_(1, indices, 1.0)
    return torch.zeros(scores.shape, dtype=dtype, device=scores.device).scatter_(1, indices, 1.0)
