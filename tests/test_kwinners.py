"""k-winners semantics of PAPER.md section 1, on small inputs checked by hand."""

import math

import pytest
import torch

from sparse_pkg.layers import KWinners, KWinners2d, binary_entropy, kwinners


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
