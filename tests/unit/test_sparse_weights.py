"""Sparse weights (docs/protocol.md §1.4): exact zero counts per unit, kept through training."""

import pytest
import torch
from torch import nn

from sparse_pkg.layers import SparseWeights
from tests.helpers.kwinners_reference import reference_rezero, same_bytes


def test_zero_count_per_output_unit_linear():
    torch.manual_seed(0)
    layer = SparseWeights(nn.Linear(1024, 700), 0.3)
    # round((1 - 0.3) * 1024) = round(716.8) = 717 zeros, so 307 non-zero per unit
    assert (layer.module.weight == 0).sum(dim=1).tolist() == [717] * 700
    assert layer.zero_mask.sum(dim=1).tolist() == [717] * 700


def test_rounding_of_the_zero_count():
    torch.manual_seed(0)
    # fan-in 10, sparsity 0.25 -> round(7.5) = 8 (banker's rounding of .5 goes to even)
    layer = SparseWeights(nn.Linear(10, 3), 0.25)
    assert layer.zero_mask.sum(dim=1).tolist() == [round(7.5)] * 3 == [8] * 3


def test_zeros_survive_an_optimizer_step():
    torch.manual_seed(1)
    layer = SparseWeights(nn.Linear(20, 5), 0.3).train()
    opt = torch.optim.SGD(layer.parameters(), lr=0.5, momentum=0.9, weight_decay=0.01)
    for _ in range(2):
        opt.zero_grad()
        layer(torch.randn(4, 20)).pow(2).sum().backward()
        opt.step()
    # the step moved masked weights away from zero ...
    assert (layer.module.weight[layer.zero_mask] != 0).any()
    # ... the next training forward pass sees them at zero again
    x = torch.randn(3, 20)
    out = layer(x)
    assert not layer.module.weight[layer.zero_mask].any()
    expected = x @ (layer.module.weight * ~layer.zero_mask).T + layer.module.bias
    assert torch.allclose(out, expected)


def test_rezero_weights_after_an_epoch():
    torch.manual_seed(2)
    layer = SparseWeights(nn.Linear(18, 3), 0.5)
    with torch.no_grad():
        layer.module.weight.fill_(1.0)
    layer.rezero_weights()
    assert int((layer.module.weight == 0).sum()) == int(layer.zero_mask.sum()) == 3 * 9


def test_eval_forward_equals_wrapped_module():
    torch.manual_seed(3)
    layer = SparseWeights(nn.Linear(8, 4), 0.5).eval()
    x = torch.randn(2, 8)
    assert torch.equal(layer(x), layer.module(x))


def test_same_seed_same_mask_other_seed_other_mask():
    def mask(seed):
        torch.manual_seed(seed)
        return SparseWeights(nn.Linear(50, 10), 0.3).zero_mask

    assert torch.equal(mask(5), mask(5))
    assert not torch.equal(mask(5), mask(6))


@pytest.mark.parametrize("sparsity", [0.0, 1.0, 1.5, -0.2])
def test_sparsity_outside_open_interval_is_an_error(sparsity):
    with pytest.raises(ValueError, match="weight_sparsity"):
        SparseWeights(nn.Linear(4, 2), sparsity)


def test_wrong_module_type_is_an_error():
    with pytest.raises(TypeError, match="SparseWeights wraps nn.Linear, got Conv2d"):
        SparseWeights(nn.Conv2d(1, 1, 1), 0.5)


# ---------------------------------------------------------------------------------------------
# The fast rezero against the old masked_fill_ (tests/helpers/kwinners_reference.py): same bytes.


def _planted(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """Normal weights with -0.0, +0.0, NaN, +-inf and negatives planted everywhere."""
    generator = torch.Generator().manual_seed(11)
    weight = torch.randn(shape, generator=generator)
    flat = weight.view(-1)
    for offset, value in enumerate((-0.0, 0.0, float("nan"), float("inf"), float("-inf"))):
        flat[offset::7] = value
    return weight.to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_rezero_bytes_equal_masked_fill(dtype):
    torch.manual_seed(4)
    layer = SparseWeights(nn.Linear(60, 20), 0.3).to(dtype)
    with torch.no_grad():
        layer.module.weight.copy_(_planted(tuple(layer.module.weight.shape), dtype))
    expected = layer.module.weight.detach().clone()
    reference_rezero(expected, layer.zero_mask)
    layer.rezero_weights()
    assert same_bytes(layer.module.weight, expected)


def test_rezero_follows_a_loaded_mask():
    """The cached integer mask is rebuilt when load_state_dict writes another zero mask."""
    torch.manual_seed(5)
    layer = SparseWeights(nn.Linear(30, 8), 0.5)
    torch.manual_seed(6)
    other = SparseWeights(nn.Linear(30, 8), 0.5)
    assert not torch.equal(layer.zero_mask, other.zero_mask)
    layer.rezero_weights()  # the cache now holds the first mask
    layer.load_state_dict(other.state_dict())
    with torch.no_grad():
        layer.module.weight.fill_(1.0)
    layer.rezero_weights()
    assert torch.equal(layer.module.weight == 0, other.zero_mask)


@pytest.mark.parametrize("copy_kind", ["deepcopy", "pickle"])
def test_a_copy_after_loading_a_mask_rezeroes_with_the_loaded_mask(copy_kind):
    """A copy made between load_state_dict and the next forward must not keep the old bits."""
    import copy
    import io

    torch.manual_seed(0)
    layer = SparseWeights(nn.Linear(40, 6), 0.5)
    layer.train()
    layer(torch.ones(1, 40))  # builds the cache for the first mask
    torch.manual_seed(1)
    other = SparseWeights(nn.Linear(40, 6), 0.5)
    assert not torch.equal(other.zero_mask, layer.zero_mask)
    layer.load_state_dict(other.state_dict())
    if copy_kind == "deepcopy":
        clone = copy.deepcopy(layer)
    else:
        buffer = io.BytesIO()
        torch.save(layer, buffer)
        buffer.seek(0)
        clone = torch.load(buffer, weights_only=False)
    with torch.no_grad():
        clone.module.weight.fill_(1.0)
    clone(torch.ones(1, 40))
    assert torch.equal(clone.module.weight == 0, other.zero_mask)
