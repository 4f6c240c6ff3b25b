"""Background-noise test set: noise pool, random choices and the mixing rule."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from sparse_pkg.errors import InputError
from sparse_pkg.noise.background import (
    draw_background_mix,
    load_background_noises,
    mix_background_noise,
    noise_pieces,
)


def _noises():
    return [torch.linspace(-1, 1, 50_000), torch.sin(torch.arange(30_000) * 0.01)]


def test_noise_pieces_concatenate_and_drop_tail():
    pieces = noise_pieces([torch.arange(5.0), torch.arange(5.0) + 10], length=4)
    assert pieces.tolist() == [[0.0, 1.0, 2.0, 3.0], [4.0, 10.0, 11.0, 12.0]]
    assert noise_pieces(_noises()).shape == (5, 16000)
    with pytest.raises(ValueError):
        noise_pieces([torch.zeros(10)], length=16)


def test_mix_is_deterministic_per_seed():
    clips = torch.rand(64, 16000, generator=torch.Generator().manual_seed(1)) - 0.5
    a = mix_background_noise(clips, _noises(), torch.Generator().manual_seed(7))
    b = mix_background_noise(clips, _noises(), torch.Generator().manual_seed(7))
    c = mix_background_noise(clips, _noises(), torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_draw_probability_and_weight_range():
    applied, index, weight = draw_background_mix(4000, 5, torch.Generator().manual_seed(0))
    assert abs(applied.float().mean().item() - 0.5) < 0.04
    assert ((weight[applied] >= 0) & (weight[applied] < 0.45)).all()
    assert weight[applied].max() > 0.44 and weight[applied].min() < 0.01
    assert abs(weight[applied].mean().item() - 0.225) < 0.01
    assert (weight[~applied] == 0).all()
    assert set(index.tolist()) == {0, 1, 2, 3, 4}


def test_mix_follows_the_formula_and_leaves_others_untouched():
    clips = torch.rand(200, 16000, generator=torch.Generator().manual_seed(3)) - 0.5
    mixed = mix_background_noise(clips, _noises(), torch.Generator().manual_seed(11))
    applied, index, weight = draw_background_mix(200, 5, torch.Generator().manual_seed(11))
    pieces = noise_pieces(_noises())
    assert 0 < applied.sum() < 200
    assert torch.equal(mixed[~applied], clips[~applied])
    w = weight[applied].unsqueeze(1)
    expected = clips[applied] * (1 - w) + w * pieces[index[applied]]
    torch.testing.assert_close(mixed[applied], expected, rtol=0, atol=1e-6)
    assert not torch.equal(mixed[applied], clips[applied])


def test_probability_extremes():
    clips = torch.rand(20, 16000, generator=torch.Generator().manual_seed(5))
    none = mix_background_noise(clips, _noises(), torch.Generator().manual_seed(0), 0.0)
    assert torch.equal(none, clips)
    every = mix_background_noise(clips, _noises(), torch.Generator().manual_seed(0), 1.0)
    assert (every != clips).any(dim=1).all()


def test_load_background_noises_sorted_and_16k(tmp_path):
    folder = tmp_path / "_background_noise_"
    folder.mkdir()
    sf.write(folder / "b_low.wav", np.full(8000, 16384, np.int16), 8000, subtype="PCM_16")
    sf.write(folder / "a_hum.wav", np.full(20000, -8192, np.int16), 16000, subtype="PCM_16")
    (folder / "README.md").write_text("not audio")
    noises = load_background_noises(folder)
    assert [n.shape[0] for n in noises] == [20000, 16000]
    assert torch.equal(noises[0], torch.full((20000,), -0.25))
    assert abs(noises[1][2000:-2000].mean().item() - 0.5) < 1e-3


def test_load_background_noises_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_background_noises(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .wav"):
        load_background_noises(tmp_path / "empty")
