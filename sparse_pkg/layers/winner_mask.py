"""Which units win: a 0/1 mask of each row's k largest scores, exactly ``topk``'s choice.

``torch.topk`` on the CPU sorts (value, index) pairs with a NaN-aware comparator; for a k-winners
layer that is most of the layer's time (about 8 ms of a 12,544-unit layer at batch 64, 1 thread).
Where the k-th largest score of a row is strictly larger than the next one, the k winners are
simply the scores at or above it, whatever algorithm picks them. So on the CPU there is a second
way: the k-th largest value from numpy's vectorised, values-only ``partition``, and the mask from
one vectorised comparison. Which way is faster depends on the shape, the thread count (numpy's
partition runs on one thread, ``topk`` shares rows among torch's) and the CPU itself, so neither
is fixed here: the first call of each shape, dtype and thread count times both and keeps the
faster (sparse_pkg/layers/fastest.py); the bytes are the same either way.

In the partition path, a row whose count of scores at or above that value is not exactly k has
a tie at the threshold. A row holding a NaN is ``topk``'s too, whatever its count (``topk``
ranks NaN highest; the comparison never selects it, and a NaN beside k tied values leaves the
count at exactly k). Only such rows are handed to ``topk`` itself, which decides a row from that
row alone, so the mask is ``topk``'s choice in every case, ties and NaN included.
"""

from __future__ import annotations

import numpy as np
import torch

from sparse_pkg.layers.fastest import fastest

_PARTITION_DTYPES = (torch.float32, torch.float64)  # 0/1 counts stay exact in these


def top_k_mask(scores: torch.Tensor, k: int, dtype: torch.dtype,
               reuse_scores: bool = False) -> torch.Tensor:
    """(batch, n) tensor of ``dtype``: 1.0 where ``scores.topk(k, dim=1)`` would pick a unit,
    0.0 elsewhere. ``scores``: (batch, n) with 1 <= k <= n. ``reuse_scores``: the caller is
    done with ``scores``, which may then hold the mask (an allocation saved on small layers)."""
    if not scores.is_cpu or scores.dtype not in _PARTITION_DTYPES or dtype != scores.dtype:
        return _mask_of_topk(scores, k, dtype, reuse_scores)
    key = ("top_k_mask", tuple(scores.shape), k, scores.dtype, torch.get_num_threads())
    path = fastest(key, {"topk": lambda: _mask_of_topk(scores, k, dtype),
                         "partition": lambda: _mask_by_partition(scores, k, dtype)})
    if path == "topk":
        return _mask_of_topk(scores, k, dtype, reuse_scores)
    return _mask_by_partition(scores, k, dtype)


def _mask_by_partition(scores: torch.Tensor, k: int, dtype: torch.dtype) -> torch.Tensor:
    """The mask from the k-th largest value of each row (numpy's partition) and a comparison;
    rows with a tie at that value or a NaN are decided by ``topk``. CPU float32/float64 only."""
    n = scores.shape[1]
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
