"""k-winners semantics of docs/protocol.md §1.1-§1.3, on small inputs checked by hand, and the
fast layers against a frozen reference of the old algorithm (same bytes)."""

import importlib
import math

import pytest
import torch

from sparse_pkg.layers import KWinners, KWinners2d, binary_entropy, kwinners, winner_mask
from tests.helpers.kwinners_reference import ReferenceKWinners, reference_kwinners, same_bytes

kwinners_module = importlib.import_module("sparse_pkg.layers.kwinners")  # the name is a function


def test_winners_without_boosting_keep_unboosted_values():
    layer = KWinners(6, 2, boost_strength=0.0).train()
    x = torch.tensor([[1.0, 5.0, 3.0, -2.0, 4.0, 0.0], [0.5, -1.0, 2.0, 3.0, -4.0, 1.0]])
    out = layer(x)
    expected = torch.tensor([[0.0, 5.0, 0.0, 0.0, 4.0, 0.0], [0.0, 0.0, 2.0, 3.0, 0.0, 0.0]])
    assert torch.equal(out, expected)


def test_boosting_changes_the_winners_but_not_the_values():
    # duty cycle [0, .5, .5, 0], k/n = .5, strength 1: boost = [e^.5, 1, 1, e^.5]
    # x = [1, 1.5, 1.2, .8] -> boosted [1.649, 1.5, 1.2, 1.319] -> winners units 0 and 1.
    x = torch.tensor([[1.0, 1.5, 1.2, 0.8]])
    duty = torch.tensor([0.0, 0.5, 0.5, 0.0])
    assert torch.equal(kwinners(x, duty, 2, 1.0), torch.tensor([[1.0, 1.5, 0.0, 0.0]]))
    # without boosting the two largest raw values win: units 1 and 2
    assert torch.equal(kwinners(x, duty, 2, 0.0), torch.tensor([[0.0, 1.5, 1.2, 0.0]]))


def test_layer_uses_its_duty_cycle_for_boosting():
    layer = KWinners(4, 2, boost_strength=1.0).eval()
    layer.duty_cycle.copy_(torch.tensor([0.0, 0.5, 0.5, 0.0]))
    layer.k_inference = 2
    out = layer(torch.tensor([[1.0, 1.5, 1.2, 0.8]]))
    assert torch.equal(out, torch.tensor([[1.0, 1.5, 0.0, 0.0]]))


def test_inference_k_is_rounded_and_capped():
    assert KWinners(10, 2, k_inference_factor=1.5).k_inference == 3
    assert KWinners(1000, 100, k_inference_factor=1.5).k_inference == 150
    assert KWinners(4, 3, k_inference_factor=1.5).k_inference == 4  # min(round(4.5), 4)
    layer = KWinners(10, 2, k_inference_factor=1.5, boost_strength=0.0)
    x = torch.arange(1.0, 11.0).unsqueeze(0)
    assert int((layer.train()(x) != 0).sum()) == 2
    assert int((layer.eval()(x) != 0).sum()) == 3
    assert torch.equal(layer.eval()(x)[0, 7:], torch.tensor([8.0, 9.0, 10.0]))


def test_k_is_exact_in_training_even_with_ties():
    layer = KWinners(50, 7, boost_strength=0.0).train()
    out = layer(torch.ones(3, 50))
    assert (out != 0).sum(dim=1).tolist() == [7, 7, 7]


def test_duty_cycle_after_two_batches_of_different_sizes():
    layer = KWinners(4, 2, boost_strength=0.0, duty_cycle_period=1000).train()
    # batch 1 (b=2): winners {0,1} and {2,3}; all positive -> counts [1,1,1,1]
    layer(torch.tensor([[4.0, 3.0, 1.0, 0.5], [0.1, 0.2, 5.0, 6.0]]))
    # period = min(1000, 2) = 2 -> d = (0 * 0 + 1) / 2 = 0.5 everywhere
    assert torch.allclose(layer.duty_cycle, torch.full((4,), 0.5))
    assert layer.learning_iterations == 2
    # batch 2 (b=3): winners {0,1}, {0,2}, {0,3}; unit 3's winner is negative (does not count)
    layer(torch.tensor([[9.0, 8.0, 1.0, 0.0], [9.0, 1.0, 8.0, 0.0], [9.0, -5.0, -6.0, -1.0]]))
    # counts [3, 1, 1, 0]; period = min(1000, 5) = 5: d = (d * (5 - 3) + counts) / 5
    expected = (torch.full((4,), 0.5) * 2 + torch.tensor([3.0, 1.0, 1.0, 0.0])) / 5
    assert torch.allclose(layer.duty_cycle, expected)
    assert layer.learning_iterations == 5


def test_duty_cycle_period_caps_the_running_mean():
    layer = KWinners(4, 2, boost_strength=0.0, duty_cycle_period=3).train()
    layer(torch.tensor([[4.0, 3.0, 1.0, 0.5], [0.1, 0.2, 5.0, 6.0]]))  # d = 0.5
    layer(torch.tensor([[9.0, 8.0, 1.0, 0.0]] * 3))  # period min(3, 5) = 3: d = (.5*0 + c)/3
    assert torch.allclose(layer.duty_cycle, torch.tensor([1.0, 1.0, 0.0, 0.0]))


def test_duty_cycle_is_not_updated_in_eval():
    layer = KWinners(4, 2).eval()
    layer(torch.rand(5, 4))
    assert torch.equal(layer.duty_cycle, torch.zeros(4)) and layer.learning_iterations == 0


def test_gradient_is_zero_off_the_winners():
    layer = KWinners(5, 2, boost_strength=0.0).train()
    x = torch.tensor([[0.3, 2.0, -1.0, 1.5, 0.1]], requires_grad=True)
    (layer(x) * torch.tensor([[10.0, 20.0, 30.0, 40.0, 50.0]])).sum().backward()
    assert torch.equal(x.grad, torch.tensor([[0.0, 20.0, 0.0, 40.0, 0.0]]))


def test_relu_fallback_when_k_reaches_n():
    layer = KWinners(4, 4).train()
    x = torch.tensor([[1.0, -2.0, 3.0, -4.0]])
    assert torch.equal(layer(x), torch.tensor([[1.0, 0.0, 3.0, 0.0]]))
    layer2d = KWinners2d(8, 8, channels=2).train()
    x2 = torch.randn(2, 2, 2, 2)
    assert torch.equal(layer2d(x2), torch.relu(x2))


def test_2d_global_topk_and_per_channel_duty_cycle():
    layer = KWinners2d(8, 3, channels=2, boost_strength=0.0).train()
    x = torch.tensor([[[[1.0, 7.0], [2.0, 3.0]], [[8.0, -1.0], [6.0, 0.5]]]])  # (1, 2, 2, 2)
    out = layer(x)
    # the three largest of all 8 units: 8 (ch1), 7 (ch0), 6 (ch1)
    expected = torch.tensor([[[[0.0, 7.0], [0.0, 0.0]], [[8.0, 0.0], [6.0, 0.0]]]])
    assert torch.equal(out, expected)
    # channel counts per sample / (H*W): ch0 1/4, ch1 2/4; period = 1
    assert torch.allclose(layer.duty_cycle.flatten(), torch.tensor([0.25, 0.5]))
    assert layer.duty_cycle.shape == (1, 2, 1, 1)


def test_2d_boost_is_per_channel():
    layer = KWinners2d(4, 2, channels=2, boost_strength=2.0).eval()
    layer.k_inference = 2
    # channel 0 was over-active (d=1), channel 1 silent (d=0); target 0.5
    # boosts: ch0 exp(-1) = .368, ch1 exp(1) = 2.718
    layer.duty_cycle.copy_(torch.tensor([1.0, 0.0]).reshape(1, 2, 1, 1))
    x = torch.tensor([[[[5.0, 4.0]], [[1.0, 2.0]]]])  # boosted: 1.84, 1.47, 2.72, 5.44
    assert torch.equal(layer(x), torch.tensor([[[[0.0, 0.0]], [[1.0, 2.0]]]]))


def test_2d_rejects_wrong_shape():
    with pytest.raises(ValueError):
        KWinners2d(8, 3, channels=2)(torch.rand(1, 2, 3, 3))
    with pytest.raises(ValueError):
        KWinners2d(9, 3, channels=2)


def test_boost_strength_decays_only_in_training():
    layer = KWinners(10, 2, boost_strength=1.5, boost_strength_factor=0.85)
    layer.train().update_boost_strength()
    layer.update_boost_strength()
    assert layer.boost_strength == pytest.approx(1.5 * 0.85**2)
    layer.eval().update_boost_strength()
    assert layer.boost_strength == pytest.approx(1.5 * 0.85**2)


def test_entropy_and_max_entropy():
    assert float(binary_entropy(torch.tensor(0.5))) == pytest.approx(1.0)
    assert float(binary_entropy(torch.tensor(0.0))) == 0.0
    h = -(0.1 * math.log2(0.1) + 0.9 * math.log2(0.9))  # H(k/n) for k/n = 0.1
    layer = KWinners(10, 1)
    assert layer.max_entropy() == pytest.approx(10 * h)
    layer.duty_cycle.fill_(0.1)
    assert float(layer.entropy()) == pytest.approx(10 * h, rel=1e-6)
    layer2d = KWinners2d(8, 2, channels=2)  # target 0.25; n / C = 4
    layer2d.duty_cycle.copy_(torch.tensor([0.25, 0.5]).reshape(1, 2, 1, 1))
    h25 = -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))
    assert float(layer2d.entropy()) == pytest.approx((h25 + 1.0) * 4, rel=1e-6)
    assert layer2d.max_entropy() == pytest.approx(8 * h25)


def test_state_dict_round_trip_restores_boost_and_iterations():
    layer = KWinners(6, 2, boost_strength=1.5, boost_strength_factor=0.5).train()
    layer(torch.rand(3, 6))
    layer.update_boost_strength()
    fresh = KWinners(6, 2, boost_strength=1.5, boost_strength_factor=0.5)
    fresh.load_state_dict(layer.state_dict())
    assert fresh.boost_strength == 0.75 and fresh.learning_iterations == 3
    assert torch.equal(fresh.duty_cycle, layer.duty_cycle)


def test_same_seed_same_outputs():
    def run():
        torch.manual_seed(3)
        layer = KWinners(100, 10, boost_strength=1.5).train()
        outs = [layer(torch.randn(8, 100)) for _ in range(3)]
        return torch.stack(outs), layer.duty_cycle.clone()

    a, b = run(), run()
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


# ---------------------------------------------------------------------------------------------
# The fast layers against the frozen reference (tests/helpers/kwinners_reference.py): same bytes.

LAYERS = {
    "1d": (lambda: KWinners(40, 6, k_inference_factor=1.5, boost_strength=1.5,
                            boost_strength_factor=0.9, duty_cycle_period=30), (8, 40)),
    "2d": (lambda: KWinners2d(48, 7, channels=3, k_inference_factor=1.5, boost_strength=1.5,
                              boost_strength_factor=0.9, duty_cycle_period=30), (8, 3, 4, 4)),
}


def tied(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Half small integers (ties everywhere, zeros included, a third of them -0.0), half normal."""
    ints = torch.randint(-3, 4, shape, generator=generator).float() * 0.5
    ints[(ints == 0) & (torch.rand(shape, generator=generator) < 0.33)] = -0.0
    normal = torch.randn(shape, generator=generator)
    return torch.where(torch.rand(shape, generator=generator) < 0.5, ints, normal)


@pytest.fixture(params=["partition", "topk"])
def winner_path(request, monkeypatch):
    """Run a test with the winners found by the partition path and by topk alone."""
    monkeypatch.setattr(winner_mask, "fastest", lambda key, candidates: request.param)
    return request.param


@pytest.mark.parametrize("kind", list(LAYERS))
def test_fast_layer_reproduces_the_reference_bytes(kind, winner_path):
    """Outputs, input gradients, duty cycles, sample counts, boost strength and state dict of
    the fast layer equal the old algorithm's bit for bit over training and evaluation steps,
    with ties at the threshold, zeros and -0.0 in the inputs and -0.0 in the gradients."""
    make, shape = LAYERS[kind]
    ours = make()
    reference = ReferenceKWinners(ours)
    generator = torch.Generator().manual_seed(7)
    for step in range(12):
        training = step % 4 != 3
        ours.train(training)
        reference.train(training)
        x = tied(shape, generator)
        grad = tied(shape, generator)
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        out_a, out_b = ours(xa), reference(xb)
        assert same_bytes(out_a, out_b), f"output, step {step}"
        out_a.backward(grad)
        out_b.backward(grad)
        assert same_bytes(xa.grad, xb.grad), f"gradient, step {step}"
        assert same_bytes(ours.duty_cycle, reference.duty_cycle), f"duty cycle, step {step}"
        assert ours.learning_iterations == reference.learning_iterations
        with torch.no_grad():  # evaluation as count_correct runs it
            assert same_bytes(ours.eval()(x), reference.eval()(x)), f"no_grad, step {step}"
        if step % 4 == 1:
            ours.train().update_boost_strength()
            reference.train().update_boost_strength()
    assert ours.boost_strength == reference.boost_strength
    state = ours.state_dict()
    assert same_bytes(state["duty_cycle"], reference.duty_cycle)
    assert state["_extra_state"] == {"boost_strength": reference.boost_strength,
                                     "learning_iterations": reference.learning_iterations}


@pytest.mark.parametrize("case", ["channels_last", "transposed", "no_boost", "float64"])
def test_fast_layer_other_layouts_and_dtypes(case, winner_path):
    """Inputs off the fast path (non-contiguous, unboosted, double) give the same bytes too."""
    generator = torch.Generator().manual_seed(3)
    kind = "1d" if case == "transposed" else "2d"
    make, shape = LAYERS[kind]
    ours = make()
    if case == "no_boost":
        ours.boost_strength = 0.0
    x = tied(shape, generator)
    if case == "float64":
        ours, x = ours.double(), x.double()
    reference = ReferenceKWinners(ours)
    if case == "channels_last":
        x = x.to(memory_format=torch.channels_last)
    if case == "transposed":
        x = x.T.contiguous().T
    grad = tied(shape, generator).to(x.dtype)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_a, out_b = ours.train()(xa), reference.train()(xb)
    out_a.backward(grad)
    out_b.backward(grad)
    assert same_bytes(out_a, out_b) and same_bytes(xa.grad, xb.grad)
    assert same_bytes(ours.duty_cycle, reference.duty_cycle)


def test_pure_function_matches_the_reference(winner_path):
    generator = torch.Generator().manual_seed(5)
    x = tied((6, 30), generator)
    duty = torch.rand(30, generator=generator) * 0.3
    for boost in (0.0, 1.5):
        with torch.no_grad():
            assert same_bytes(kwinners(x, duty, 5, boost), reference_kwinners(x, duty, 5, boost))
        assert same_bytes(kwinners(x.requires_grad_(), duty, 5, boost),
                          reference_kwinners(x, duty, 5, boost))


@pytest.mark.parametrize("path", ["float", "bool"])
def test_active_counts_either_way_are_the_boolean_sums(path, monkeypatch):
    """The float comparison and the boolean sum count alike (NaN counts as inactive)."""
    monkeypatch.setattr(kwinners_module, "fastest", lambda key, candidates: path)
    out = tied((8, 3, 4, 4), torch.Generator().manual_seed(9))
    out[0, 0, 0, :2] = float("nan")
    counts = kwinners_module.active_counts(out, (0, 2, 3), torch.float32)
    assert same_bytes(counts, (out > 0).sum(dim=(0, 2, 3), keepdim=True, dtype=torch.float32))
    assert counts.shape == (1, 3, 1, 1)
    flat = out.reshape(8, 48)
    assert same_bytes(kwinners_module.active_counts(flat, (0,), torch.float64),
                      (flat > 0).sum(dim=0, dtype=torch.float64))
