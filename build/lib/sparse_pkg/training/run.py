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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from sparse_pkg.determinism import make_generator
from sparse_pkg.evaluation import count_correct
from sparse_pkg.io.atomic import write_parquet
from sparse_pkg.io.lock import exclusive_lock
from sparse_pkg.io.tensors import TensorSet, save_torch
from sparse_pkg.network_definitions import NetworkDefinition
from sparse_pkg.networks import build_network
from sparse_pkg.progress import Progress
from sparse_pkg.training.checkpoints import save_checkpoint
from sparse_pkg.training.memory import keep_freed_memory
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
    """One pass over ``order`` in batches of `train_step`; returns (mean train loss, train
    accuracy). The epoch loop of `train` and benchmarks/paper_cost.py both run exactly this."""
    model.train()
    order = order.to(features.device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=features.device)
    correct = torch.zeros((), dtype=torch.int64, device=features.device)
    n = order.shape[0]
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        x, y = features.index_select(0, idx), labels.index_select(0, idx)
        loss, output = train_step(model, optimizer, x, y)
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


def _rng_states() -> dict[str, Any]:
    states: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["cpu"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _save_resume(path: Path, state: dict[str, Any]) -> None:
    save_torch(state, path)


def _load_resume(path: Path, device: torch.device,
                 log: Callable[[str], None] | None) -> dict[str, Any] | None:
    """The resume state left by an interrupted run, or None; an unreadable one is discarded
    with a log line (writes are atomic, so only damage on disk can cause it)."""
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location=device, weights_only=False)
    except Exception as exc:
        if log:
            log(f"{path}: unreadable resume state ({type(exc).__name__}), discarded; "
                "training starts again from epoch 1")
        return None


def _same_run(state: Any, definition: NetworkDefinition, seed: int, epochs: int,
              channels_last: bool = False) -> bool:
    """True when a resume state belongs to this very run (definition, seed, epochs, layout)."""
    return (isinstance(state, dict) and state.get("definition") == definition.to_dict()
            and state.get("seed") == seed and state.get("epochs") == epochs
            and bool(state.get("channels_last", False)) == channels_last)


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
    with exclusive_lock(out / LOCK_FILE, what):
        return _train(definition, data, seed=seed, out=out, device=torch.device(device),
                      max_epochs=max_epochs, meta=meta, log=log, show_progress=show_progress,
                      channels_last=bool(channels_last), environment=environment)


def _train(definition: NetworkDefinition, data: TrainingData, *, seed: int, out: Path,
           device: torch.device, max_epochs: int | None, meta: dict[str, Any] | None,
           log: Callable[[str], None] | None, show_progress: bool,
           channels_last: bool = False, environment: str | None = None) -> pd.DataFrame:
    """The body of :func:`train`, run while holding the run folder's lock."""
    keep_freed_memory()  # no page faults on every step's fresh activations (see its module)
    resume_path = out / RESUME_FILE
    epochs = definition.epochs if max_epochs is None else min(definition.epochs, max_epochs)
    meta = dict(meta or {})
    meta.update({"epochs": epochs, "epochs_in_definition": definition.epochs,
                 "train_samples": int(data.train_labels.shape[0])})
    if channels_last:  # only when on: default-layout outputs keep their bytes
        meta["channels_last"] = True
    data = data.to(device)

    torch.manual_seed(seed)  # weight init, sparse masks, dropout: the global stream
    model = build_network(definition, channels_last=channels_last).to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=definition.lr, momentum=definition.momentum,
        weight_decay=definition.weight_decay,
    )
    history: list[dict[str, Any]] = []
    timing: list[dict[str, Any]] = []
    best_state: dict[str, torch.Tensor] | None = None
    start_epoch = 0

    what = f"{definition.dataset}/{definition.name} seed {seed}"
    state = _load_resume(resume_path, device, log)
    if state is not None and not _same_run(state, definition, seed, epochs, channels_last):
        if log:
            log(f"{resume_path}: resume state of another network definition, seed, epoch count "
                "or layout, discarded; training starts again from epoch 1")
        state = None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history, timing = state["history"], state["timing"]
        best_state = state["best_state"]
        start_epoch = state["epoch"] + 1
        _set_rng_states(state["rng"])
        if log:
            log(f"resuming {definition.dataset}/{definition.name} seed {seed} "
                f"at epoch {start_epoch + 1}/{epochs}")

    for epoch in range(start_epoch, epochs):
        lr = lr_for_epoch(definition, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch_size = batch_size_for_epoch(definition, epoch)
        order = epoch_indices(
            data.train_labels, balanced=data.balanced,
            generator=make_generator(seed, "epoch-order", epoch),
        )
        bar = _progress_bar(show_progress, len(order), f"epoch {epoch + 1}/{epochs}")
        started = time.perf_counter()
        with bar:
            train_loss, train_acc = train_one_epoch(
                model, optimizer, data.epoch_features(epoch), data.train_labels, order,
                batch_size, _epoch_progress(show_progress, bar, log, len(order),
                                            f"{what} epoch {epoch + 1}/{epochs}"),
            )
        train_seconds = time.perf_counter() - started
        model.post_epoch()  # boost-strength decay and weight rezero
        test_acc = _accuracy(model, data.test, definition.test_batch_size)
        val_acc = _accuracy(model, data.validation, definition.test_batch_size)
        row = {
            "dataset": definition.dataset, "network": definition.name, "seed": seed,
            "epoch": epoch, "lr": lr, "batch_size": batch_size, "train_loss": train_loss,
            "train_accuracy": train_acc, "validation_accuracy": val_acc,
            "test_accuracy": test_acc, "entropy": model.entropy(),
            "max_entropy": model.max_entropy(),
            "epochs": epochs, "train_samples": meta["train_samples"],
        }
        if environment is not None:
            row["environment"] = environment
        history.append(row)
        timing.append({
            "dataset": definition.dataset, "network": definition.name, "seed": seed,
            "epoch": epoch, "epoch_seconds": time.perf_counter() - started,
            "samples_per_second": len(order) / train_seconds if train_seconds > 0 else None,
        })
        accuracies = [r["test_accuracy"] for r in history]
        if select_epoch(accuracies, "paper") == epoch:
            best_state = copy.deepcopy(model.state_dict())
        _save_resume(resume_path, {
            "definition": definition.to_dict(), "seed": seed, "epochs": epochs,
            "epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "history": history, "timing": timing, "best_state": best_state,
            "rng": _rng_states(), **({"channels_last": True} if channels_last else {}),
        })
        if log:
            val = "" if val_acc is None else f" val {val_acc:.4f}"
            log(f"{definition.dataset}/{definition.name} seed {seed} epoch {epoch + 1}/{epochs}"
                f" lr {lr:.5g} loss {train_loss:.4f} train {train_acc:.4f}{val}"
                f" test {test_acc:.4f} ({timing[-1]['epoch_seconds']:.1f} s)")

    accuracies = [r["test_accuracy"] for r in history]
    selected = {p: select_epoch(accuracies, p) for p in PROTOCOLS}
    states = {"paper": best_state, "final": model.state_dict()}
    for protocol in PROTOCOLS:
        save_checkpoint(
            out / f"{protocol}.pt", states[protocol], definition, protocol=protocol,
            epoch=selected[protocol], seed=seed, meta=meta,
        )
    import pandas as pd

    frame = pd.DataFrame(history)
    write_parquet(frame, out / "history.parquet")
    write_parquet(pd.DataFrame(timing), out / "timing.parquet")
    resume_path.unlink(missing_ok=True)
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
