"""Tests of the network builder: shapes, layer order, sparse-weight counts, boosting decay,
entropy and seeding, for the 12 networks of config/networks.yaml."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sparse_pkg.layers import KWinners, KWinners2d, MaxPool2d, SparseWeights
from sparse_pkg.networks import SparseCNN, build_network
from sparse_pkg.networks_file import load_networks
from sparse_pkg.training.run import train_step
from tests.helpers.kwinners_reference import ReferenceKWinners, reference_rezero, same_bytes

CONFIG = Path(__file__).resolve().parents[2] / "config" / "networks.yaml"
DEFINITIONS = load_networks(CONFIG)
ALL = [(d.dataset, d.name) for d in DEFINITIONS]


def _build(dataset: str, name: str, seed: int = 0) -> SparseCNN:
    torch.manual_seed(seed)
    return build_network(DEFINITIONS.get(dataset, name))


def _stages(model: SparseCNN) -> list[tuple[str, type]]:
    return [(name, type(module)) for name, module in model.layers.named_children()]


@pytest.mark.parametrize("dataset,name", ALL)
def test_output_is_log_probabilities_of_the_right_shape(dataset, name):
    model = _build(dataset, name)
    size = {"mnist": 28, "gsc": 32}[dataset]
    classes = {"mnist": 10, "gsc": 12}[dataset]
    x = torch.randn(3, 1, size, size, generator=torch.Generator().manual_seed(1))
    for training in (True, False):
        model.train(training)
        out = model(x)
        assert out.shape == (3, classes)
        assert torch.all(out <= 0)
        torch.testing.assert_close(out.exp().sum(dim=1), torch.ones(3))
    assert model.definition is DEFINITIONS.get(dataset, name)


def test_sparse_cnn2_mnist_stages_and_sizes():
    model = _build("mnist", "sparseCNN2")
    assert _stages(model) == [
        ("conv1", nn.Conv2d), ("conv1_pool", MaxPool2d), ("conv1_kwinners", KWinners2d),
        ("conv2", nn.Conv2d), ("conv2_pool", MaxPool2d), ("conv2_kwinners", KWinners2d),
        ("flatten", nn.Flatten), ("linear", SparseWeights), ("linear_kwinners", KWinners),
        ("output", nn.Linear),
    ]  # fmt: skip
    layers = model.layers
    for conv, in_ch, out_ch in ((layers.conv1, 1, 32), (layers.conv2, 32, 64)):
        assert (conv.in_channels, conv.out_channels) == (in_ch, out_ch)
        assert (conv.kernel_size, conv.stride, conv.padding) == ((5, 5), (1, 1), (0, 0))
    # 32 x 12 x 12 = 4608 units, k 400, inference k round(400 * 1.5) = 600
    kw1 = layers.conv1_kwinners
    assert (kw1.n, kw1.k, kw1.channels, kw1.k_inference) == (4608, 400, 32, 600)
    # 64 x 4 x 4 = 1024 units, k 300, inference k 450
    kw2 = layers.conv2_kwinners
    assert (kw2.n, kw2.k, kw2.channels, kw2.k_inference) == (1024, 300, 64, 450)
    assert layers.linear.module.in_features == 1024
    assert layers.linear.module.out_features == 700
    kw3 = layers.linear_kwinners
    assert (kw3.n, kw3.k, kw3.k_inference) == (700, 100, 150)
    for kw in (kw1, kw2, kw3):
        assert kw.boost_strength == 1.5
        assert kw.boost_strength_factor == 0.85
        assert kw.duty_cycle_period == 1000
    assert (layers.output.in_features, layers.output.out_features) == (700, 10)


def test_dense_cnn1_is_all_relu():
    model = _build("mnist", "denseCNN1")
    assert _stages(model) == [
        ("conv1", nn.Conv2d), ("conv1_pool", MaxPool2d), ("conv1_relu", nn.ReLU),
        ("flatten", nn.Flatten), ("linear", nn.Linear), ("linear_relu", nn.ReLU),
        ("output", nn.Linear),
    ]  # fmt: skip
    # 30 x 12 x 12 = 4320 inputs to the hidden layer
    assert model.layers.linear.in_features == 4320
    assert model.kwinners_layers() == []
    assert model.entropy() == 0.0 and model.max_entropy() == 0.0


def test_gsc_batch_norm_and_dropout():
    dense = _build("gsc", "denseCNN2_DR05")
    assert _stages(dense) == [
        ("conv1", nn.Conv2d), ("conv1_bn", nn.BatchNorm2d), ("conv1_pool", MaxPool2d),
        ("conv1_relu", nn.ReLU), ("conv2", nn.Conv2d), ("conv2_bn", nn.BatchNorm2d),
        ("conv2_pool", MaxPool2d), ("conv2_relu", nn.ReLU), ("flatten", nn.Flatten),
        ("linear", nn.Linear), ("linear_bn", nn.BatchNorm1d), ("linear_dropout", nn.Dropout),
        ("linear_relu", nn.ReLU), ("output", nn.Linear),
    ]  # fmt: skip
    assert dense.layers.linear_dropout.p == 0.5
    # 64 x 5 x 5 = 1600 inputs to the hidden layer
    assert dense.layers.linear.in_features == 1600
    for bn in (dense.layers.conv1_bn, dense.layers.conv2_bn, dense.layers.linear_bn):
        assert bn.affine is False
        assert list(bn.parameters()) == []
    assert not any(isinstance(m, nn.Dropout) for m in _build("gsc", "denseCNN2_DR00").modules())

    sparse = _build("gsc", "SuperSparseCNN2")
    # 64 x 14 x 14 = 12544 units with k 1200; 64 x 5 x 5 = 1600 with k 200; hidden 1500 / 100
    kws = sparse.kwinners_layers()
    assert [(kw.n, kw.k) for kw in kws] == [(12544, 1200), (1600, 200), (1500, 100)]
    assert [kw.boost_strength_factor for kw in kws] == [0.9, 0.9, 0.9]
    assert (sparse.layers.output.in_features, sparse.layers.output.out_features) == (1500, 12)


# (dataset, network, hidden units, fan-in, non-zero weights per unit = round(sparsity * fan-in))
SPARSE_LINEAR = [
    ("mnist", "sparseCNN1", 150, 4320, 1296),  # 30*12*12 = 4320; 0.3 * 4320 = 1296
    ("mnist", "sparseCNN2", 700, 1024, 307),  # 64*4*4 = 1024; 0.3 * 1024 = 307.2 -> 307
    ("mnist", "denseCNN2SP3", 700, 480, 144),  # 30*4*4 = 480; 0.3 * 480 = 144
    ("mnist", "sparseCNN2DSW", 1000, 1024, 307),  # as sparseCNN2
    ("gsc", "sparseCNN2", 1000, 1600, 640),  # 64*5*5 = 1600; 0.4 * 1600 = 640
    ("gsc", "SuperSparseCNN2", 1500, 1600, 160),  # 0.1 * 1600 = 160
]


@pytest.mark.parametrize("dataset,name,units,fan_in,nonzero", SPARSE_LINEAR)
def test_sparse_linear_nonzero_count(dataset, name, units, fan_in, nonzero):
    model = _build(dataset, name)
    linear = model.layers.linear
    assert isinstance(linear, SparseWeights)
    weight = linear.module.weight
    assert weight.shape == (units, fan_in)
    assert torch.all((weight != 0).sum(dim=1) == nonzero)
    assert torch.all(linear.zero_mask.sum(dim=1) == fan_in - nonzero)
    # conv and output weights stay dense
    assert [m for m in model.modules() if isinstance(m, SparseWeights)] == [linear]
    for conv in (m for m in model.modules() if isinstance(m, nn.Conv2d)):
        assert torch.count_nonzero(conv.weight) == conv.weight.numel()
    assert torch.count_nonzero(model.layers.output.weight) == model.layers.output.weight.numel()


DENSE_WEIGHTS = [(d, n) for d, n in ALL if DEFINITIONS.get(d, n).weight_sparsity == 1.0]


def test_dense_weight_networks_are_the_expected_ones():
    assert DENSE_WEIGHTS == [
        ("mnist", "denseCNN1"), ("mnist", "denseCNN2"), ("mnist", "sparseCNN2D3"),
        ("mnist", "sparseCNN2W1"), ("gsc", "denseCNN2_DR00"), ("gsc", "denseCNN2_DR05"),
    ]  # fmt: skip


@pytest.mark.parametrize("dataset,name", DENSE_WEIGHTS)
def test_dense_weight_networks_have_no_sparse_layer(dataset, name):
    model = _build(dataset, name)
    assert type(model.layers.linear) is nn.Linear
    assert model.sparse_weight_layers() == []


def test_post_epoch_decays_boost_and_rezeroes():
    model = _build("mnist", "sparseCNN2")
    model.train()
    model.post_epoch()
    assert [kw.boost_strength for kw in model.kwinners_layers()] == pytest.approx([1.275] * 3)
    model.eval()  # the decay happens once per call whatever the mode
    model.post_epoch()
    # 1.5 * 0.85 * 0.85 = 1.08375
    assert [kw.boost_strength for kw in model.kwinners_layers()] == pytest.approx([1.08375] * 3)
    assert not model.training and not any(m.training for m in model.modules())

    weight = model.layers.linear.module.weight
    with torch.no_grad():
        weight.fill_(0.5)
    assert torch.count_nonzero(weight) == 700 * 1024
    model.post_epoch()
    assert torch.all((weight != 0).sum(dim=1) == 307)

    gsc = _build("gsc", "sparseCNN2")
    gsc.post_epoch()
    assert [kw.boost_strength for kw in gsc.kwinners_layers()] == pytest.approx([1.35] * 3)


def test_rezero_weights_after_an_optimizer_step():
    model = _build("mnist", "denseCNN2SP3")
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    model(x).sum().backward()
    opt.step()
    weight = model.layers.linear.module.weight
    assert torch.count_nonzero(weight) > 700 * 144  # the step moved masked weights
    model.rezero_weights()
    assert torch.all((weight != 0).sum(dim=1) == 144)


def _binary_entropy(p: float) -> float:
    return -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def test_entropy_and_max_entropy():
    model = _build("mnist", "sparseCNN2")
    expected_max = (
        4608 * _binary_entropy(400 / 4608)
        + 1024 * _binary_entropy(300 / 1024)
        + 700 * _binary_entropy(100 / 700)
    )
    assert model.max_entropy() == pytest.approx(expected_max, rel=1e-6)
    assert model.entropy() == 0.0  # duty cycles start at zero
    model.train()
    model(torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(2)))
    entropy = model.entropy()
    assert isinstance(entropy, float)
    # per-unit entropies sum to at most n * H(mean duty cycle) <= n * H(k/n) (concavity)
    assert 0.0 < entropy <= expected_max + 1e-3


def test_same_seed_same_weights_and_masks():
    a = _build("gsc", "sparseCNN2", seed=11).state_dict()
    b = _build("gsc", "sparseCNN2", seed=11).state_dict()
    c = _build("gsc", "sparseCNN2", seed=12).state_dict()
    assert a.keys() == b.keys() == c.keys()
    for key, value in a.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, b[key]), key
    assert "layers.linear.zero_mask" in a
    assert not torch.equal(a["layers.linear.zero_mask"], c["layers.linear.zero_mask"])
    assert not torch.equal(a["layers.conv1.weight"], c["layers.conv1.weight"])


@pytest.mark.parametrize("dataset,name", [("gsc", "sparseCNN2"), ("mnist", "denseCNN2")])
def test_channels_last_is_the_same_network_in_another_layout(dataset, name):
    """Same seed, same weights and masks; conv weights channels-last; the same evaluation
    function up to rounding (the flatten order is unchanged), but not the same bits."""
    default = _build(dataset, name).eval()
    torch.manual_seed(0)
    other = build_network(DEFINITIONS.get(dataset, name), channels_last=True).eval()
    a, b = default.state_dict(), other.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a if torch.is_tensor(a[k]))
    assert other.layers.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert default.layers.conv1.weight.is_contiguous()
    g = DEFINITIONS.get(dataset, name).geometry
    x = torch.randn(32, g.channels, g.height, g.width, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ours, theirs = default(x), other(x)
    assert torch.allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    assert not torch.equal(ours, theirs)  # documented: other numbers than the default layout


def _tied_windows(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Values from {-1, 0, 1} (most 2x2 windows hold a tie), with NaNs, -0.0 and all--inf
    windows; the first two windows are a NaN pair and a (-0.0, +0.0) pair."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randint(-1, 2, shape, generator=generator).float()
    x[0, 0, 0, :2] = float("nan")
    x[0, 0, 0, 2:4] = torch.tensor([-0.0, 0.0])
    x[0, 1, :2, :2] = float("-inf")
    x[1, 0, 1, 1] = float("nan")
    return x


def test_max_pool_is_torch_max_pool_to_the_bit():
    """Values (NaN, -0.0, ties: the first maximum in the window wins) and gradients of our max
    pool equal nn.MaxPool2d's byte for byte, in default-layout (N, C, H, W) tensors."""
    x = _tied_windows((4, 3, 10, 12), seed=1)
    ours, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, expected = MaxPool2d(2)(ours), nn.MaxPool2d(2)(theirs)
    assert same_bytes(out, expected) and out.is_contiguous()
    grad = torch.randn(expected.shape, generator=torch.Generator().manual_seed(2))
    grad[0, 0, 0, 1] = -0.0
    out.backward(grad)
    expected.backward(grad)
    assert same_bytes(ours.grad, theirs.grad) and ours.grad.is_contiguous()
    odd = _tied_windows((2, 3, 9, 7), seed=3)  # floor mode drops the last row and column
    assert same_bytes(MaxPool2d(2)(odd), F.max_pool2d(odd, 2))
    tiny = MaxPool2d(2)  # (N, C, 1, 1) outputs are in both layouts: still a copy of its buffer
    first, second = (torch.randn(2, 3, 2, 2, requires_grad=True) for _ in range(2))
    out = tiny(first)
    tiny(second)
    assert same_bytes(out, F.max_pool2d(first, 2))


class _ReferenceSparseWeights(nn.Module):
    """The wrapper as it was: masked_fill_ of the masked weights before each training pass."""

    def __init__(self, layer: SparseWeights) -> None:
        super().__init__()
        self.module, self.zero_mask = layer.module, layer.zero_mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            reference_rezero(self.module.weight, self.zero_mask)
        return self.module(x)


def _reference_network(model: SparseCNN) -> SparseCNN:
    """A copy of ``model`` built from plain default-layout ops: torch's max pool, the frozen
    k-winners of tests/helpers/kwinners_reference.py and masked_fill_ sparse weights."""
    reference = copy.deepcopy(model)
    for name, module in list(reference.layers.named_children()):
        if isinstance(module, nn.MaxPool2d):
            replacement = nn.MaxPool2d(module.kernel_size)
        elif isinstance(module, KWinners | KWinners2d):
            replacement = ReferenceKWinners(module)
        elif isinstance(module, SparseWeights):
            replacement = _ReferenceSparseWeights(module)
        else:
            continue
        setattr(reference.layers, name, replacement)
    return reference


@pytest.mark.parametrize("dataset,name,batch", [("mnist", "sparseCNN2", 16),
                                                ("gsc", "sparseCNN2", 8),
                                                ("gsc", "denseCNN2_DR05", 8)])
def test_training_steps_are_those_of_plain_ops_to_the_bit(dataset, name, batch):
    """A few SGD steps of the default network give the bytes of the same network built from
    plain default-layout ops: losses, outputs, every gradient, weight and duty cycle. Inputs
    are constant over a third of the image, so that many max-pool windows hold ties, some of
    them among the k-winners (the gradient goes to the first maximum of a window)."""
    definition = DEFINITIONS.get(dataset, name)
    model = _build(dataset, name, seed=5).train()
    reference = _reference_network(model).train()
    optimizers = [torch.optim.SGD(net.parameters(), lr=definition.lr, momentum=0.5,
                                  weight_decay=definition.weight_decay)
                  for net in (model, reference)]
    g = definition.geometry
    generator = torch.Generator().manual_seed(6)
    for step in range(3):
        x = torch.randn(batch, g.channels, g.height, g.width, generator=generator)
        x[:, :, :, : g.width // 3] = 2.0
        y = torch.randint(0, g.classes, (batch,), generator=generator)
        results = []
        for net, optimizer in zip((model, reference), optimizers, strict=True):
            torch.manual_seed(step)  # the same dropout draws
            results.append(train_step(net, optimizer, x, y))
            results.append([p.grad for p in net.parameters()])
        (ours, our_grads, theirs, their_grads) = results
        assert all(same_bytes(a, b) for a, b in zip(ours, theirs, strict=True)), step
        assert all(same_bytes(a, b) for a, b in zip(our_grads, their_grads, strict=True)), step
    ours, theirs = model.state_dict(), reference.state_dict()
    for key, value in theirs.items():
        if torch.is_tensor(value):
            assert same_bytes(ours[key], value), key
