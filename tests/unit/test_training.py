"""The training engine (sparse_pkg.training): learning on tiny synthetic data for a sparse and a
dense paper network per data set, the lr schedule, the first-epoch batch size, augmented copies,
the epoch samplers, both selection protocols, and determinism."""

from __future__ import annotations

import functools
import importlib
import resource
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from sparse_pkg.determinism import make_generator
from sparse_pkg.evaluation import count_correct
from sparse_pkg.io.tensors import TensorSet
from sparse_pkg.training import (
    PROTOCOLS,
    TrainingData,
    batch_size_for_epoch,
    epoch_indices,
    load_checkpoint,
    lr_for_epoch,
    select_epoch,
    train,
)
from sparse_pkg.training.memory import keep_freed_memory
from sparse_pkg.training.sampling import class_balanced_weights, subset_indices
from tests.helpers.training import (
    DEFINITIONS,
    patch_data,
    single_thread,
    state_dicts_equal,
    tiny_definition,
)

run_module = importlib.import_module("sparse_pkg.training.run")

# One sparse and one dense paper network per data set; the GSC sparse run trains on an
# augmented-copies tensor (N, 2, 1, 32, 32) with balanced sampling, as the GSC protocol does.
PAPER_RUNS = {
    ("mnist", "sparseCNN2"): {"copies": None},
    ("mnist", "denseCNN1"): {"copies": None},
    ("gsc", "sparseCNN2"): {"copies": 2},
    ("gsc", "denseCNN2_DR00"): {"copies": None},
}
TRAIN_SAMPLES, TEST_SAMPLES = 128, 120


def _data(dataset: str, n: int, copies: int | None = None, seed: int = 0) -> TrainingData:
    x, y = patch_data(dataset, n, seed, copies=copies)
    xt, yt = patch_data(dataset, TEST_SAMPLES, seed + 1000)
    return TrainingData(x, y, TensorSet(xt, yt), balanced=dataset == "gsc")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    with single_thread():
        yield


@pytest.fixture(scope="module")
def paper_runs(tmp_path_factory):
    """Two-epoch runs of the four PAPER_RUNS networks: {(dataset, name): (history, out_dir)}."""
    runs = {}
    with single_thread():
        for (dataset, name), options in PAPER_RUNS.items():
            out = tmp_path_factory.mktemp(f"{dataset}_{name}")
            data = _data(dataset, TRAIN_SAMPLES, options["copies"])
            history = train(DEFINITIONS.get(dataset, name), data, seed=42, out_dir=out,
                            max_epochs=2)
            runs[dataset, name] = (history, out)
    return runs


@pytest.mark.parametrize("key", list(PAPER_RUNS), ids=lambda k: f"{k[0]}-{k[1]}")
def test_two_epoch_run_learns(paper_runs, key):
    history, _ = paper_runs[key]
    assert list(history.epoch) == [0, 1]
    loss = history.train_loss.to_numpy()
    assert np.all(np.isfinite(loss))
    assert loss[1] < loss[0], f"train loss did not fall: {loss}"
    chance = 1.0 / DEFINITIONS.get(*key).num_classes
    # the class bands are easy: after two epochs every network is far above chance
    assert history.test_accuracy.iloc[-1] >= 4 * chance
    assert history.train_accuracy.iloc[-1] >= 4 * chance


@pytest.mark.parametrize("key", list(PAPER_RUNS), ids=lambda k: f"{k[0]}-{k[1]}")
def test_history_records_schedule_and_run_facts(paper_runs, key):
    history, out = paper_runs[key]
    definition = DEFINITIONS.get(*key)
    # docs/protocol.md §3.2, §4.8: lr * factor**e; first-epoch batch size in epoch 0 only
    expected_lr = {
        ("mnist", "sparseCNN2"): [0.02, 0.016],
        ("mnist", "denseCNN1"): [0.01, 0.008],
        ("gsc", "sparseCNN2"): [0.01, 0.009],
        ("gsc", "denseCNN2_DR00"): [0.01, 0.008],
    }[key]
    expected_batch = {
        ("mnist", "sparseCNN2"): [4, 64],
        ("mnist", "denseCNN1"): [64, 64],
        ("gsc", "sparseCNN2"): [16, 16],
        ("gsc", "denseCNN2_DR00"): [64, 64],
    }[key]
    assert history.lr.tolist() == pytest.approx(expected_lr, rel=1e-12)
    assert history.batch_size.tolist() == expected_batch
    assert set(history.dataset) == {key[0]} and set(history.network) == {key[1]}
    assert set(history.seed) == {42}
    assert set(history.epochs) == {2} and set(history.train_samples) == {TRAIN_SAMPLES}
    assert history.validation_accuracy.isna().all()  # no validation set given
    on_disk = pd.read_parquet(out / "history.parquet")
    pd.testing.assert_frame_equal(on_disk, history)
    timing = pd.read_parquet(out / "timing.parquet")
    assert timing.epoch.tolist() == [0, 1] and (timing.epoch_seconds > 0).all()
    assert not (out / "resume.pt").exists()
    sparse = key[1].startswith("sparse")
    assert (history.max_entropy > 0).all() == sparse  # only k-winners layers have entropy
    assert definition.epochs > 2  # the cap, not the definition, ended the run


@pytest.mark.parametrize("key", list(PAPER_RUNS), ids=lambda k: f"{k[0]}-{k[1]}")
def test_checkpoints_hold_the_epochs_the_history_implies(paper_runs, key):
    history, out = paper_runs[key]
    accuracies = history.test_accuracy.tolist()
    test = _data(key[0], 1).test
    for protocol in PROTOCOLS:
        model, info = load_checkpoint(out / f"{protocol}.pt")
        assert info["protocol"] == protocol and info["seed"] == 42
        assert info["epoch"] == select_epoch(accuracies, protocol)
        assert info["definition"] == DEFINITIONS.get(*key)
        assert info["meta"]["epochs"] == 2 and info["meta"]["train_samples"] == TRAIN_SAMPLES
        assert not model.training
        # the stored weights score exactly what the history says that epoch scored
        correct, total = count_correct(model, test.features, test.labels, 1000)
        assert int(correct.sum()) / int(total.sum()) == accuracies[info["epoch"]]


def test_real_mnist_digits_are_learned(mnist_t10k, tmp_path):
    """Two epochs of Dense CNN-1 on 400 real test-set digits: loss falls, far above chance."""
    from sparse_pkg.datasets.mnist import MNIST_MEAN, MNIST_STD, read_idx

    images = torch.from_numpy(read_idx(mnist_t10k / "t10k-images-idx3-ubyte.gz")[:600])
    labels = torch.from_numpy(read_idx(mnist_t10k / "t10k-labels-idx1-ubyte.gz")[:600]).long()
    x = ((images.float() / 255.0 - MNIST_MEAN) / MNIST_STD)[:, None]
    data = TrainingData(x[:400], labels[:400], TensorSet(x[400:], labels[400:]))
    history = train(DEFINITIONS.get("mnist", "denseCNN1"), data, seed=42, out_dir=tmp_path,
                    max_epochs=2)
    assert history.train_loss.iloc[1] < history.train_loss.iloc[0]
    assert history.test_accuracy.iloc[-1] > 0.5  # chance is 0.1


# ---------------------------------------------------------------------------------------------
# What the engine feeds the network: batch sizes per epoch and the augmented copy per epoch


def _record_training_batches(monkeypatch) -> list[list[torch.Tensor]]:
    """Patch the engine's network builder so every training-mode input batch is recorded,
    grouped per epoch (a new group starts after each ``post_epoch``)."""
    epochs: list[list[torch.Tensor]] = [[]]
    real_build = run_module.build_network

    def build(definition, **options):
        model = real_build(definition, **options)

        def record(module, inputs):
            if module.training:
                epochs[-1].append(inputs[0].detach().clone())

        model.register_forward_pre_hook(record)
        real_post_epoch = model.post_epoch

        def post_epoch():
            real_post_epoch()
            epochs.append([])

        model.post_epoch = post_epoch
        return model

    monkeypatch.setattr(run_module, "build_network", build)
    return epochs


def test_first_epoch_batch_size_and_lr_reach_the_optimizer(monkeypatch, tmp_path):
    # MNIST Sparse CNN-2: epoch-0 batch 4, then 64; lr 0.02, then 0.02 * 0.8 (docs/protocol.md §3.3)
    epochs = _record_training_batches(monkeypatch)
    step_lrs: list[float] = []

    class RecordingSGD(torch.optim.SGD):
        def step(self, closure=None):
            step_lrs.append(self.param_groups[0]["lr"])
            return super().step(closure)

    monkeypatch.setattr(torch.optim, "SGD", RecordingSGD)
    train(DEFINITIONS.get("mnist", "sparseCNN2"), _data("mnist", 70), seed=1, out_dir=tmp_path,
          max_epochs=2)
    sizes = [[batch.shape[0] for batch in epoch] for epoch in epochs[:-1]]
    assert sizes == [[4] * 17 + [2], [64, 6]]
    assert epochs[-1] == []
    assert step_lrs == pytest.approx([0.02] * 18 + [0.016] * 2, rel=1e-12)


def test_epoch_e_trains_on_copy_e_mod_copies(monkeypatch, tmp_path):
    x, y = patch_data("gsc", 24, 0, copies=3)
    for copy in range(3):
        x[:, copy, 0, 0, 0] = 100.0 + copy  # a marker pixel naming the copy
    xt, yt = patch_data("gsc", 12, 1)
    data = TrainingData(x, y, TensorSet(xt, yt), balanced=True)
    assert data.copies == 3
    epochs = _record_training_batches(monkeypatch)
    train(tiny_definition("gsc"), data, seed=3, out_dir=tmp_path, max_epochs=5)
    markers = [sorted({float(v) for b in epoch for v in b[:, 0, 0, 0]}) for epoch in epochs[:-1]]
    assert markers == [[100.0], [101.0], [102.0], [100.0], [101.0]]


# ---------------------------------------------------------------------------------------------
# Schedule, samplers, protocols


def test_lr_and_batch_size_per_epoch_by_hand():
    dense1 = DEFINITIONS.get("mnist", "denseCNN1")  # lr 0.01, factor 0.8, batch 64
    assert [lr_for_epoch(dense1, e) for e in range(4)] == pytest.approx(
        [0.01, 0.008, 0.0064, 0.00512], rel=1e-12
    )
    gsc_sparse = DEFINITIONS.get("gsc", "sparseCNN2")  # lr 0.01, factor 0.9, batch 16
    assert lr_for_epoch(gsc_sparse, 2) == pytest.approx(0.0081, rel=1e-12)
    sparse2 = DEFINITIONS.get("mnist", "sparseCNN2")
    assert [batch_size_for_epoch(sparse2, e) for e in range(3)] == [4, 64, 64]
    assert [batch_size_for_epoch(gsc_sparse, e) for e in range(3)] == [16, 16, 16]


def test_shuffle_sampler_is_a_seeded_permutation():
    labels = torch.tensor([0] * 30 + [1] * 5 + [2] * 15)
    first = epoch_indices(labels, balanced=False, generator=make_generator(7, "epoch-order", 0))
    assert torch.equal(first.sort().values, torch.arange(50))
    again = epoch_indices(labels, balanced=False, generator=make_generator(7, "epoch-order", 0))
    other = epoch_indices(labels, balanced=False, generator=make_generator(7, "epoch-order", 1))
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_balanced_sampler_draws_the_present_classes_uniformly():
    # 1000 samples: classes 0, 1, 2, 4, 7 hold 600, 250, 100, 40, 10; 3, 5, 6 are absent.
    counts = {0: 600, 1: 250, 2: 100, 4: 40, 7: 10}
    labels = torch.cat([torch.full((c,), k) for k, c in counts.items()])
    labels = labels[torch.randperm(1000, generator=torch.Generator().manual_seed(0))]
    weights = class_balanced_weights(labels)
    assert weights[labels == 7].tolist() == [0.1] * 10
    draws = torch.cat([
        epoch_indices(labels, balanced=True, generator=make_generator(11, "epoch-order", e))
        for e in range(20)
    ])
    assert draws.shape == (20_000,)  # one epoch = as many draws as samples
    freq = torch.bincount(labels[draws], minlength=8)
    # Each present class is Binomial(20000, 1/5): mean 4000, sd sqrt(20000*.2*.8) = 56.6. A
    # +-5 sd bound (283) fails by chance with probability < 6e-7 per class, while the unbalanced
    # frequencies (12000, 5000, 2000, 800, 200) are off by 14 sd or more.
    for cls in counts:
        assert abs(int(freq[cls]) - 4000) <= 283, freq.tolist()
    assert freq[[3, 5, 6]].tolist() == [0, 0, 0]
    # with replacement: the 10 rare samples are each drawn ~400 times within the 20 epochs
    rare = (labels[draws] == 7).nonzero().flatten()
    assert torch.unique(draws[rare]).numel() == 10


def test_subset_indices_fixed_sorted_and_capped():
    assert torch.equal(subset_indices(10, None), torch.arange(10))
    assert torch.equal(subset_indices(10, 10), torch.arange(10))
    assert torch.equal(subset_indices(10, 50), torch.arange(10))
    keep = subset_indices(1000, 100)
    assert keep.shape == (100,) and torch.unique(keep).numel() == 100
    assert torch.equal(keep, keep.sort().values) and int(keep.max()) < 1000
    assert torch.equal(keep, subset_indices(1000, 100))  # the same for every network and seed
    assert not torch.equal(keep, torch.arange(100))  # random, not the first 100
    assert set(keep.tolist()) < set(subset_indices(1000, 200).tolist())  # a larger cap nests
    with pytest.raises(ValueError, match="positive"):
        subset_indices(10, 0)


def test_select_epoch_on_planted_histories():
    planted = [0.50, 0.80, 0.70, 0.80, 0.60]
    assert select_epoch(planted, "paper") == 1  # the best, earliest of the tie
    assert select_epoch(planted, "final") == 4
    assert select_epoch([0.9, 0.1, 0.2], "paper") == 0
    assert select_epoch([0.3], "paper") == select_epoch([0.3], "final") == 0
    assert PROTOCOLS == ("paper", "final")
    with pytest.raises(ValueError, match="no epochs"):
        select_epoch([], "paper")
    with pytest.raises(ValueError, match="unknown protocol"):
        select_epoch([0.5], "best")


def _planted_accuracy_run(monkeypatch, out, accuracies, epochs):
    """A run whose per-epoch clean test accuracies are planted (validation: none)."""
    planted = iter(accuracies)

    def fake_accuracy(model, data, batch_size):
        return None if data is None else next(planted)

    monkeypatch.setattr(run_module, "_accuracy", fake_accuracy)
    data = _data("mnist", 32)
    data.validation = None
    return train(tiny_definition("mnist"), data, seed=5, out_dir=out, max_epochs=epochs)


def test_protocol_checkpoints_hold_the_selected_epochs_weights(monkeypatch, tmp_path):
    history = _planted_accuracy_run(monkeypatch, tmp_path / "a", [0.3, 0.8, 0.5, 0.8], 4)
    assert history.test_accuracy.tolist() == [0.3, 0.8, 0.5, 0.8]
    paper = torch.load(tmp_path / "a" / "paper.pt", weights_only=True)
    final = torch.load(tmp_path / "a" / "final.pt", weights_only=True)
    assert (paper["epoch"], final["epoch"]) == (1, 3)
    # A 2-epoch run with the same seed ends with the weights of epoch 1 of the 4-epoch run.
    _planted_accuracy_run(monkeypatch, tmp_path / "b", [0.3, 0.8], 2)
    two_epochs = torch.load(tmp_path / "b" / "final.pt", weights_only=True)
    assert state_dicts_equal(paper["state_dict"], two_epochs["state_dict"])
    assert not state_dicts_equal(paper["state_dict"], final["state_dict"])


# ---------------------------------------------------------------------------------------------
# Determinism and resume


def test_same_seed_resumes_another_seed_restarts(monkeypatch, tmp_path):
    """A run that crashes in its third epoch continues from the resume state when rerun and
    ends with the bytes of an uninterrupted run; a resume state of another seed is ignored."""
    definition = tiny_definition("gsc")
    data = _data("gsc", 48, copies=2)
    train(definition, data, seed=8, out_dir=tmp_path / "whole", max_epochs=4)
    train(definition, data, seed=9, out_dir=tmp_path / "seed9", max_epochs=4)

    real_epoch = run_module.train_one_epoch
    calls = []

    def crash_in_third_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as if killed: nothing after this point runs
        return real_epoch(*args, **kwargs)

    for out in ("crashed", "other_seed"):
        calls.clear()
        monkeypatch.setattr(run_module, "train_one_epoch", crash_in_third_epoch)
        with pytest.raises(KeyboardInterrupt):
            train(definition, data, seed=8, out_dir=tmp_path / out, max_epochs=4)
        assert torch.load(tmp_path / out / "resume.pt", weights_only=False)["epoch"] == 1
        monkeypatch.setattr(run_module, "train_one_epoch", real_epoch)
    logged: list[str] = []
    train(definition, data, seed=8, out_dir=tmp_path / "crashed", max_epochs=4, log=logged.append)
    assert any("resuming gsc/tinySparse seed 8 at epoch 3/4" in line for line in logged)
    assert len([line for line in logged if " epoch " in line and "resuming" not in line]) == 2
    logged.clear()
    train(definition, data, seed=9, out_dir=tmp_path / "other_seed", max_epochs=4,
          log=logged.append)
    assert not any("resuming" in line for line in logged)
    for ours, theirs in (("crashed", "whole"), ("other_seed", "seed9")):
        assert (tmp_path / ours / "history.parquet").read_bytes() == \
            (tmp_path / theirs / "history.parquet").read_bytes()
        for protocol in PROTOCOLS:
            a = torch.load(tmp_path / ours / f"{protocol}.pt", weights_only=True)
            b = torch.load(tmp_path / theirs / f"{protocol}.pt", weights_only=True)
            assert state_dicts_equal(a["state_dict"], b["state_dict"])


@pytest.mark.parametrize(
    "dataset,copies", [("mnist", None), ("gsc", 2)], ids=["mnist-shuffle", "gsc-balanced-copies"]
)
def test_same_seed_gives_identical_bytes_and_weights(tmp_path, dataset, copies):
    definition = tiny_definition(dataset)
    outs = {}
    for run, seed in (("a", 9), ("b", 9), ("c", 10)):
        data = _data(dataset, 48, copies)
        outs[run] = tmp_path / run
        train(definition, data, seed=seed, out_dir=outs[run], max_epochs=3)
    history = {run: (out / "history.parquet").read_bytes() for run, out in outs.items()}
    assert history["a"] == history["b"]
    assert history["a"] != history["c"]  # the seed matters
    for protocol in PROTOCOLS:
        a, b, c = (torch.load(outs[r] / f"{protocol}.pt", weights_only=True) for r in "abc")
        assert state_dicts_equal(a["state_dict"], b["state_dict"])
        assert a["epoch"] == b["epoch"] and a["meta"] == b["meta"]
        assert not state_dicts_equal(a["state_dict"], c["state_dict"])


def test_training_data_copies_and_move():
    data = _data("gsc", 6, copies=2)
    assert _data("gsc", 6).copies == 1
    moved = data.to(torch.device("cpu"))
    assert moved.copies == 2 and moved.balanced and moved.validation is None
    assert torch.equal(moved.epoch_features(3), data.train_features[:, 1])
    assert torch.equal(moved.test.labels, data.test.labels)


def test_corrupt_resume_state_is_discarded_with_a_log_line(tmp_path):
    """A damaged resume.pt (disk trouble; writes are atomic) is not silently ignored: the log
    says it was discarded, and the run starts over with the bytes of an uninterrupted run."""
    definition = tiny_definition("mnist")
    data = _data("mnist", 48)
    train(definition, data, seed=8, out_dir=tmp_path / "whole", max_epochs=2)
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "resume.pt").write_bytes(b"PK\x03\x04 truncated zip")
    logged: list[str] = []
    train(definition, data, seed=8, out_dir=tmp_path / "damaged", max_epochs=2,
          log=logged.append)
    discarded = [line for line in logged if "discarded" in line]
    assert len(discarded) == 1, logged
    assert discarded[0].startswith(f"{tmp_path / 'damaged' / 'resume.pt'}: unreadable resume "
                                   "state (")
    assert discarded[0].endswith("discarded; training starts again from epoch 1")
    assert (tmp_path / "damaged" / "history.parquet").read_bytes() == \
        (tmp_path / "whole" / "history.parquet").read_bytes()
    assert not (tmp_path / "damaged" / "resume.pt").exists()


def test_training_logs_progress_lines_within_an_epoch(monkeypatch, tmp_path):
    """Off a terminal, long epochs log periodic progress lines (here every batch: the pace is
    tested in test_progress.py); on a terminal the bar shows it and no lines are added."""
    eager = functools.partial(run_module.Progress, interval=0.0)
    monkeypatch.setattr(run_module, "Progress", eager)
    logged: list[str] = []
    train(tiny_definition("mnist"), _data("mnist", 48), seed=8, out_dir=tmp_path / "a",
          max_epochs=2, log=logged.append)
    progress = [line for line in logged if " samples (" in line]
    assert any(line.startswith("mnist/tinySparse seed 8 epoch 1/2: ") for line in progress)
    assert any(line.startswith("mnist/tinySparse seed 8 epoch 2/2: 48/48 samples (100 %), "
                               "done in ") for line in progress), logged


def test_channels_last_runs_are_bit_identical_to_themselves_not_to_the_default(tmp_path):
    """compute.channels_last: the same seed gives the same history and weights twice; the
    numbers differ from the default layout (documented); the checkpoints record the layout and
    load back in it, so scoring a checkpoint repeats the history's test accuracy."""
    definition = tiny_definition("gsc")
    outs = {}
    with single_thread():
        for run, channels_last in (("a", True), ("b", True), ("default", False)):
            outs[run] = tmp_path / run
            train(definition, _data("gsc", 48, 2), seed=9, out_dir=outs[run], max_epochs=2,
                  channels_last=channels_last)
        history = {run: (out / "history.parquet").read_bytes() for run, out in outs.items()}
        assert history["a"] == history["b"]
        final = {r: torch.load(outs[r] / "final.pt", weights_only=True) for r in outs}
        assert state_dicts_equal(final["a"]["state_dict"], final["b"]["state_dict"])
        assert not state_dicts_equal(final["a"]["state_dict"], final["default"]["state_dict"])
        assert final["a"]["meta"]["channels_last"] is True
        assert "channels_last" not in final["default"]["meta"]  # default bytes unchanged
        model, _ = load_checkpoint(outs["a"] / "final.pt")
        assert model.channels_last
        test = _data("gsc", 48, 2).test
        correct, _ = count_correct(model, test.features, test.labels, 1000)
        last = pd.read_parquet(outs["a"] / "history.parquet").iloc[-1]
        assert int(correct.sum()) / len(test) == last["test_accuracy"]




@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_freed_step_memory_is_reused_without_page_faults():
    """After keep_freed_memory (called by train), a 12.8 MB tensor freed and allocated again,
    as each training step does with its activations, touches no fresh page; under glibc's
    defaults each allocation would fault in its 3,125 pages."""
    assert keep_freed_memory()
    for _ in range(3):  # warm: the heap grows
        torch.ones(64, 64, 28, 28)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        torch.ones(64, 64, 28, 28)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before < 2 * 3125  # not 31,250
