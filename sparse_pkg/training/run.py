"""One training run: a network definition x a data set x a seed, resumable and deterministic.

The training set lives as one tensor on the device (optionally with an axis of augmented copies:
epoch e trains on copy ``e % copies``). After every epoch: boost decay and weight rezero,
clean test (and validation) accuracy, then an atomic resume state. At the end, the checkpoints of
both selection protocols, the history and the timings are written and the resume state removed.

Outputs in ``out_dir``: ``history.parquet`` (deterministic), ``timing.parquet`` (wall-clock, kept
apart so that the history is byte-identical across runs), ``paper.pt``, ``final.pt``.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from sparse_pkg.determinism import make_generator
from sparse_pkg.evaluation import count_correct
from sparse_pkg.io.atomic import write_parquet
from sparse_pkg.io.lock import exclusive_lock
from sparse_pkg.io.tensors import TensorSet
from sparse_pkg.network_definitions import NetworkDefinition
from sparse_pkg.networks import build_network
from sparse_pkg.progress import Progress
from sparse_pkg.training import hooks
from sparse_pkg.training.checkpoints import save_checkpoint
from sparse_pkg.training.memory import keep_freed_memory
from sparse_pkg.training.resume import ResumeState, rng_states, set_rng_states
from sparse_pkg.training.sampling import epoch_indices
from sparse_pkg.training.schedule import batch_size_for_epoch, lr_for_epoch
from sparse_pkg.training.selection import PROTOCOLS, select_epoch

if TYPE_CHECKING:  # pandas is imported when the outputs are written: start-up skips it
    import pandas as pd

RESUME_FILE = "resume.pt"
LOCK_FILE = ".train.lock"  # held while a process trains this run (see train)


@dataclass
class TrainingData:
    """Everything one run trains and is scored on.

    ``train_features``: (N, C, H, W), or (N, copies, C, H, W) for precomputed augmented copies
    (epoch e trains on copy ``e % copies``; samples first so every tensor indexes by sample).
    ``balanced``: draw batches with replacement, balanced over the classes present (GSC).
    """

    train_features: torch.Tensor
    train_labels: torch.Tensor
    test: TensorSet
    validation: TensorSet | None = None
    balanced: bool = False

    @property
    def copies(self) -> int:
        return self.train_features.shape[1] if self.train_features.dim() == 5 else 1

    def epoch_features(self, epoch: int) -> torch.Tensor:
        """The training features used in 0-based ``epoch``."""
        if self.train_features.dim() == 5:
            return self.train_features[:, epoch % self.copies]
        return self.train_features

    def to(self, device: torch.device) -> TrainingData:
        def move(ts: TensorSet | None) -> TensorSet | None:
            if ts is None:
                return None
            return TensorSet(ts.features.to(device), ts.labels.to(device), ts.meta)

        return TrainingData(
            self.train_features.to(device), self.train_labels.to(device), move(self.test),
            move(self.validation), self.balanced,
        )


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
               y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One SGD step on the batch (x, y); returns the detached (loss, log-probabilities).
    benchmarks/train.py times exactly this function."""
    optimizer.zero_grad(set_to_none=True)
    output = model(x)
    loss = F.nll_loss(output, y)
    loss.backward()
    optimizer.step()
    return loss.detach(), output.detach()


def train_one_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    features: torch.Tensor,
    labels: torch.Tensor,
    order: torch.Tensor,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> tuple[float, float]:
    """One pass over ``order`` in batches of `train_step`, each followed by the model's
    ``post_batch()`` when it has one; returns (mean train loss, train accuracy). The epoch loop
    of `train` and benchmarks/paper_cost.py both run exactly this."""
    model.train()
    post_batch = hooks.post_batch_hook(model)
    order = order.to(features.device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=features.device)
    correct = torch.zeros((), dtype=torch.int64, device=features.device)
    n = order.shape[0]
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        x, y = features.index_select(0, idx), labels.index_select(0, idx)
        loss, output = train_step(model, optimizer, x, y)
        if post_batch is not None:
            post_batch()
        loss_sum += loss.to(torch.float64) * idx.shape[0]
        correct += (output.argmax(dim=1) == y).sum()
        if progress is not None:
            progress(idx.shape[0])
    return float(loss_sum) / n, int(correct) / n


def _accuracy(model: torch.nn.Module, data: TensorSet | None, batch_size: int) -> float | None:
    if data is None or len(data) == 0:
        return None
    correct, _ = count_correct(model, data.features, data.labels, batch_size)
    return int(correct.sum()) / len(data)


def train(
    definition: NetworkDefinition,
    data: TrainingData,
    *,
    seed: int,
    out_dir: str | Path,
    device: torch.device | str = "cpu",
    max_epochs: int | None = None,
    meta: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
    show_progress: bool = False,
    channels_last: bool = False,
    environment: str | None = None,
) -> pd.DataFrame:
    """Train ``definition`` on ``data`` with ``seed``; write outputs to ``out_dir``.

    ``max_epochs`` caps the definition's epochs (the demo uses it); the cap and ``meta`` (e.g.
    the training-set size and data source) are recorded in the history and checkpoints. A
    ``resume.pt`` left by an interrupted run is continued from its last finished epoch.
    ``out_dir`` is locked while training: a second process on the same run (say, a rerun while
    a job orphaned by a killed Snakemake still trains) stops with InputError instead of
    training it twice at once. ``channels_last``: train in that memory layout (faster on the
    CPU, other numbers than the default layout; see sparse_pkg/networks.py), recorded in the
    checkpoints' meta so that scoring rebuilds the same layout. ``environment``: the JSON of
    :func:`sparse_pkg.provenance.environment`, stored in each epoch's history row (a run resumed
    elsewhere shows both). Returns the history.
    """
    out = Path(out_dir)
    what = f"training {definition.dataset}/{definition.name} seed {seed}"
    if channels_last and definition.model is not None:
        channels_last = False  # recorded as such: the checkpoints rebuild the model as trained
        if log:
            log(f"{definition.model}: a model of your own keeps its own memory layout "
                "(compute.channels_last applies to the paper's network only)")
    with exclusive_lock(out / LOCK_FILE, what):
        return _train(definition, data, seed=seed, out=out, device=torch.device(device),
                      max_epochs=max_epochs, meta=meta, log=log, show_progress=show_progress,
                      channels_last=bool(channels_last), environment=environment)


@dataclass
class _Run:
    """A run in progress: what it trains and the state its epochs carry forward."""

    definition: NetworkDefinition
    data: TrainingData
    seed: int
    epochs: int
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    channels_last: bool
    history: list[dict[str, Any]] = field(default_factory=list)
    timing: list[dict[str, Any]] = field(default_factory=list)
    best_state: dict[str, torch.Tensor] | None = None
    next_epoch: int = 0

    @property
    def what(self) -> str:
        return f"{self.definition.dataset}/{self.definition.name} seed {self.seed}"

    def resume_state(self, epoch: int) -> ResumeState:
        return ResumeState(
            definition=self.definition.to_dict(), seed=self.seed, epochs=self.epochs,
            epoch=epoch, model=self.model.state_dict(), optimizer=self.optimizer.state_dict(),
            history=self.history, timing=self.timing, best_state=self.best_state,
            rng=rng_states(), channels_last=self.channels_last)

    def continue_from(self, state: ResumeState) -> None:
        self.model.load_state_dict(state.model)
        self.optimizer.load_state_dict(state.optimizer)
        self.history, self.timing = state.history, state.timing
        self.best_state = state.best_state
        self.next_epoch = state.epoch + 1
        set_rng_states(state.rng)


def _train(definition: NetworkDefinition, data: TrainingData, *, seed: int, out: Path,
           device: torch.device, max_epochs: int | None, meta: dict[str, Any] | None,
           log: Callable[[str], None] | None, show_progress: bool,
           channels_last: bool = False, environment: str | None = None) -> pd.DataFrame:
    """The body of :func:`train`, run while holding the run folder's lock: set up, continue
    from a resume state if one matches, train the remaining epochs, write the outputs."""
    keep_freed_memory()  # no page faults on every step's fresh activations (see its module)
    epochs = definition.epochs if max_epochs is None else min(definition.epochs, max_epochs)
    meta = _run_meta(meta, definition, data, epochs, channels_last)
    run = _start(definition, data.to(device), seed, epochs, device, channels_last)
    _resume(run, out / RESUME_FILE, device, log)
    for epoch in range(run.next_epoch, epochs):
        _train_epoch(run, epoch, show_progress, log, environment)
        run.resume_state(epoch).save(out / RESUME_FILE)
    return _write_outputs(run, out, meta)


def _run_meta(meta: dict[str, Any] | None, definition: NetworkDefinition, data: TrainingData,
              epochs: int, channels_last: bool) -> dict[str, Any]:
    """What the checkpoints record beside the weights: the caller's meta, the epoch count (and
    the definition's), the training-set size, and the layout when it is channels-last."""
    meta = dict(meta or {})
    meta.update({"epochs": epochs, "epochs_in_definition": definition.epochs,
                 "train_samples": int(data.train_labels.shape[0])})
    if channels_last:  # only when on: default-layout outputs keep their bytes
        meta["channels_last"] = True
    return meta


def _start(definition: NetworkDefinition, data: TrainingData, seed: int, epochs: int,
           device: torch.device, channels_last: bool) -> _Run:
    """The freshly initialised network and optimizer (weights, masks and dropout all draw from
    the global generator, seeded here)."""
    torch.manual_seed(seed)
    model = build_network(definition, channels_last=channels_last).to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=definition.lr, momentum=definition.momentum,
        weight_decay=definition.weight_decay,
    )
    return _Run(definition, data, seed, epochs, model, optimizer, channels_last)


def _resume(run: _Run, path: Path, device: torch.device,
            log: Callable[[str], None] | None) -> None:
    """Continue ``run`` from the resume state at ``path`` when it belongs to this run."""
    state = ResumeState.load(path, device, log)
    if state is not None and not state.matches(run.definition, run.seed, run.epochs,
                                               run.channels_last):
        if log:
            log(f"{path}: resume state of another network definition, seed, epoch count "
                "or layout, discarded; training starts again from epoch 1")
        state = None
    if state is not None:
        run.continue_from(state)
        if log:
            log(f"resuming {run.what} at epoch {run.next_epoch + 1}/{run.epochs}")


def _train_epoch(run: _Run, epoch: int, show_progress: bool,
                 log: Callable[[str], None] | None, environment: str | None) -> None:
    """One epoch: its learning rate and batch size, a pass over the drawn order, the end-of-epoch
    step (boost decay, rezero), clean test and validation accuracy; the history and timing rows,
    and the best weights so far (``paper`` protocol)."""
    definition, data, model = run.definition, run.data, run.model
    lr = lr_for_epoch(definition, epoch)
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    batch_size = batch_size_for_epoch(definition, epoch)
    order = epoch_indices(data.train_labels, balanced=data.balanced,
                          generator=make_generator(run.seed, "epoch-order", epoch))
    bar = _progress_bar(show_progress, len(order), f"epoch {epoch + 1}/{run.epochs}")
    started = time.perf_counter()
    with bar:
        train_loss, train_acc = train_one_epoch(
            model, run.optimizer, data.epoch_features(epoch), data.train_labels, order,
            batch_size, _epoch_progress(show_progress, bar, log, len(order),
                                        f"{run.what} epoch {epoch + 1}/{run.epochs}"),
        )
    train_seconds = time.perf_counter() - started
    hooks.end_of_epoch(model)  # boost-strength decay and weight rezero, or the model's own
    test_acc = _accuracy(model, data.test, definition.test_batch_size)
    val_acc = _accuracy(model, data.validation, definition.test_batch_size)
    row = {
        "dataset": definition.dataset, "network": definition.name, "seed": run.seed,
        "epoch": epoch, "lr": lr, "batch_size": batch_size, "train_loss": train_loss,
        "train_accuracy": train_acc, "validation_accuracy": val_acc,
        "test_accuracy": test_acc, "entropy": hooks.entropy(model),
        "max_entropy": hooks.max_entropy(model),
        "epochs": run.epochs, "train_samples": int(data.train_labels.shape[0]),
    }
    if environment is not None:
        row["environment"] = environment
    run.history.append(row)
    run.timing.append({
        "dataset": definition.dataset, "network": definition.name, "seed": run.seed,
        "epoch": epoch, "epoch_seconds": time.perf_counter() - started,
        "samples_per_second": len(order) / train_seconds if train_seconds > 0 else None,
    })
    if select_epoch([r["test_accuracy"] for r in run.history], "paper") == epoch:
        run.best_state = copy.deepcopy(model.state_dict())
    if log:
        val = "" if val_acc is None else f" val {val_acc:.4f}"
        log(f"{run.what} epoch {epoch + 1}/{run.epochs} lr {lr:.5g} loss {train_loss:.4f} "
            f"train {train_acc:.4f}{val} test {test_acc:.4f} "
            f"({run.timing[-1]['epoch_seconds']:.1f} s)")


def _write_outputs(run: _Run, out: Path, meta: dict[str, Any]) -> pd.DataFrame:
    """Both protocols' checkpoints, the history and the timings; then the resume state goes."""
    accuracies = [r["test_accuracy"] for r in run.history]
    states = {"paper": run.best_state, "final": run.model.state_dict()}
    for protocol in PROTOCOLS:
        save_checkpoint(
            out / f"{protocol}.pt", states[protocol], run.definition, protocol=protocol,
            epoch=select_epoch(accuracies, protocol), seed=run.seed, meta=meta,
        )
    import pandas as pd

    frame = pd.DataFrame(run.history)
    write_parquet(frame, out / "history.parquet")
    write_parquet(pd.DataFrame(run.timing), out / "timing.parquet")
    (out / RESUME_FILE).unlink(missing_ok=True)
    return frame


def _epoch_progress(show_progress: bool, bar: Any, log: Callable[[str], None] | None,
                    total: int, what: str) -> Callable[[int], None] | None:
    """Per-batch progress: the bar on a terminal, else periodic log lines (long epochs only)."""
    if show_progress:
        return bar.update
    if log is None:
        return None
    return Progress(total, what, unit="samples", log=log).update


def _progress_bar(enabled: bool, total: int, desc: str):
    """A tqdm bar on a terminal; a no-op context otherwise (the per-epoch log line suffices)."""
    if not enabled:
        return contextlib.nullcontext()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="sample", leave=False)
