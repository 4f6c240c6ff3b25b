"""The seeding convention: every noise, augmentation and sampling stream is
``make_generator(seed, purpose, stream)``, each purpose its own, and the seeds are stable."""

from __future__ import annotations

import torch

from sparse_pkg.audio.augment import augmentation_generator
from sparse_pkg.determinism import derive_seed, make_generator
from sparse_pkg.noise.background import background_noise_generator
from sparse_pkg.noise.pixel import pixel_noise_generator
from sparse_pkg.noise.white import white_noise_generator
from sparse_pkg.training.sampling import SUBSET_SEED, subset_indices


def _draws(generator: torch.Generator) -> list[float]:
    return torch.rand(4, generator=generator, dtype=torch.float64).tolist()


def test_every_stream_is_make_generator_of_seed_purpose_and_stream():
    ours = {
        ("gsc-augmentation", 2): augmentation_generator(5, 2),
        ("gsc-white-noise", 2): white_noise_generator(5, 2),
        ("mnist-pixel-noise", 2): pixel_noise_generator(5, 2),
        ("background", None): background_noise_generator(5),
    }
    draws = {key: _draws(generator) for key, generator in ours.items()}
    for (purpose, stream), values in draws.items():
        assert values == _draws(make_generator(5, purpose, stream)), purpose
    assert len({tuple(values) for values in draws.values()}) == len(draws)  # purposes differ
    permutation = torch.randperm(50, generator=make_generator(SUBSET_SEED, "train-subset", 50))
    assert torch.equal(subset_indices(50, 7), permutation[:7].sort().values)


def test_seeds_are_stable_across_versions():
    """Pinned values: a change here changes the data order, the augmented copies and every
    noisy test set of every run, and must be deliberate."""
    assert derive_seed(7, "epoch-order", 0) == 6384165903887755326
    assert derive_seed(5, "gsc-augmentation", 2) == 9028476896025912410
    assert derive_seed(4321, "background") == 1441657489357003335
    assert _draws(make_generator(4321, "background"))[:3] == [
        0.7337225205714919, 0.6890729813641879, 0.21118364606837758]


# A SLURM job given a GPU never falls back to the CPU (sparse_pkg.determinism.resolve_device)

def test_a_cluster_job_given_a_gpu_it_cannot_use_refuses_in_one_line(monkeypatch):
    import pytest
    import torch

    from sparse_pkg.determinism import resolve_device
    from sparse_pkg.errors import InputError

    if torch.cuda.is_available():
        pytest.skip("this machine has a usable GPU: nothing to refuse")
    for name in ("SLURM_JOB_GPUS", "SLURM_STEP_GPUS", "SLURM_JOB_ID", "CUDA_VISIBLE_DEVICES"):
        monkeypatch.delenv(name, raising=False)
    assert resolve_device("auto").type == "cpu"  # no scheduler, no GPU: the CPU, as before
    monkeypatch.setenv("SLURM_JOB_ID", "7")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    monkeypatch.setenv("SLURMD_NODENAME", "node3")
    for requested in ("auto", "cuda"):
        with pytest.raises(InputError) as caught:
            resolve_device(requested, "fallback")
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith("the SLURM job was given GPU 0 on node3, but torch ")
        assert "compute.device: cpu" in message
    assert resolve_device("cpu").type == "cpu"  # asked for the CPU: no refusal
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setenv("SLURM_JOB_GPUS", "1,2")
    with pytest.raises(InputError, match="given GPU 1,2 on node3"):
        resolve_device("auto")
