"""Training throughput (samples/s) of every paper network for one epoch: our engine vs a baseline.

Ours: the engine's ``_train_one_epoch`` with the whole training tensor on the device, batches
gathered by ``index_select`` from the epoch's index order (a permutation for MNIST, balanced draws
for GSC) and vectorised k-winners. Baseline: the straightforward way, in the style of the original
2019 code: a ``torch.utils.data.DataLoader`` over per-sample items of a ``TensorDataset``
(``shuffle=True``), each batch moved to the device, ``loss.item()`` per batch, and a copy of the
same network (same initial weights) whose k-winners layers pick winners one sample at a time
(``LoopKWinners`` of benchmarks/kwinners.py). Data are synthetic tensors of each data set's
geometry; before timing, both models are checked to compute the same forward pass.

    .venv/bin/python benchmarks/train.py [--device auto|cpu|cuda] [--samples 512] [--threads N]
                                         [--network NAME ...]
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

import click
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/kwinners.py
from kwinners import LoopKWinners  # noqa: E402

from sparse_pkg.determinism import make_generator  # noqa: E402
from sparse_pkg.layers import KWinners, KWinners2d  # noqa: E402
from sparse_pkg.network_definitions import (  # noqa: E402
    NetworkDefinition,
    iter_definitions,
    load_network_definitions,
)
from sparse_pkg.networks import SparseCNN, build_network  # noqa: E402
from sparse_pkg.training.run import _train_one_epoch  # noqa: E402
from sparse_pkg.training.sampling import epoch_indices  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "config" / "networks.yaml"


def synthetic_set(definition: NetworkDefinition, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded random features (n, C, H, W) and labels of the network's data-set geometry."""
    geometry = definition.geometry
    generator = make_generator("benchmark-train", definition.dataset, n)
    features = torch.randn(n, geometry.channels, geometry.height, geometry.width,
                           generator=generator)
    labels = torch.randint(0, geometry.classes, (n,), generator=generator)
    return features, labels


def with_loop_kwinners(model: SparseCNN) -> nn.Module:
    """A deep copy of ``model`` whose KWinners / KWinners2d stages run the per-sample loop."""
    baseline = copy.deepcopy(model)
    for name, module in list(baseline.layers.named_children()):
        if isinstance(module, KWinners | KWinners2d):
            setattr(baseline.layers, name, LoopKWinners(module))
    return baseline


def make_optimizer(model: nn.Module, definition: NetworkDefinition) -> torch.optim.Optimizer:
    """SGD with the definition's hyper-parameters, as the engine builds it."""
    return torch.optim.SGD(model.parameters(), lr=definition.lr, momentum=definition.momentum,
                           weight_decay=definition.weight_decay)


def check_same_forward(model: SparseCNN, features: torch.Tensor, device: torch.device) -> None:
    """Both implementations must compute the same training-mode forward pass, or the timing
    compares different work."""
    ours = copy.deepcopy(model).to(device).train()
    theirs = with_loop_kwinners(model).to(device).train()
    x = features[:16].to(device)
    with torch.no_grad():
        torch.manual_seed(1)  # the same dropout mask for both
        a = ours(x)
        torch.manual_seed(1)
        b = theirs(x)
    if not torch.allclose(a, b, rtol=1e-4, atol=1e-5):
        raise SystemExit(f"{model.definition.dataset}/{model.definition.name}: the baseline "
                         "disagrees with our network; benchmark invalid")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ours(model: SparseCNN, definition: NetworkDefinition, features: torch.Tensor,
              labels: torch.Tensor, batch_size: int, device: torch.device) -> float:
    """Samples/s of one epoch through the engine's ``_train_one_epoch``."""
    model = copy.deepcopy(model).to(device)
    features, labels = features.to(device), labels.to(device)
    optimizer = make_optimizer(model, definition)
    order = epoch_indices(labels, balanced=definition.dataset == "gsc",
                          generator=make_generator("benchmark-order", 0))
    _train_one_epoch(model, optimizer, features, labels, order[:2 * batch_size], batch_size,
                     None)  # warm-up
    synchronize(device)
    start = time.perf_counter()
    _train_one_epoch(model, optimizer, features, labels, order, batch_size, None)
    synchronize(device)
    return len(order) / (time.perf_counter() - start)


def baseline_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, loader: DataLoader,
                   device: torch.device) -> tuple[float, int]:
    """One epoch the straightforward way: per-sample dataset, a batch at a time to the device."""
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        output = model(x)
        loss = F.nll_loss(output, y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(y)
        correct += int((output.argmax(dim=1) == y).sum())
        seen += len(y)
    return total_loss / seen, correct


def time_baseline(model: SparseCNN, definition: NetworkDefinition, features: torch.Tensor,
                  labels: torch.Tensor, batch_size: int, device: torch.device) -> float:
    """Samples/s of one epoch of the DataLoader + per-sample k-winners baseline."""
    baseline = with_loop_kwinners(model).to(device)
    optimizer = make_optimizer(baseline, definition)
    dataset = TensorDataset(features, labels)
    generator = torch.Generator().manual_seed(0)
    warm_up = DataLoader(torch.utils.data.Subset(dataset, range(2 * batch_size)),
                         batch_size=batch_size)
    baseline_epoch(baseline, optimizer, warm_up, device)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator)
    synchronize(device)
    start = time.perf_counter()
    baseline_epoch(baseline, optimizer, loader, device)
    synchronize(device)
    return len(dataset) / (time.perf_counter() - start)


@click.command()
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True, help="Where to train; auto picks cuda when available.")
@click.option("--samples", type=click.IntRange(min=16), default=512, show_default=True,
              help="Training samples per timed epoch (per network and implementation).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="torch CPU threads (default: torch's own choice).")
@click.option("--network", "networks", multiple=True,
              help="Only these network names (repeatable; default: all 12).")
@click.option("--definitions", type=click.Path(dir_okay=False, exists=True),
              default=str(CONFIG), show_default=True, help="Network definitions file.")
def main(device: str, samples: int, threads: int | None, networks: tuple[str, ...],
         definitions: str) -> None:
    """Print training samples/s per network, ours vs the baseline, and the ratio."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    torch_device = torch.device(device)
    if threads:
        torch.set_num_threads(threads)
    selected = [d for d in iter_definitions(load_network_definitions(definitions))
                if not networks or d.name in networks]
    if not selected:
        raise click.BadParameter(f"no network named {', '.join(networks)}", param_hint="--network")
    print(f"device={device} torch={torch.__version__} threads={torch.get_num_threads()} "
          f"samples={samples} (one epoch each; batch = the network's batch size after epoch 0)")
    print(f"{'dataset':<8}{'network':<16}{'batch':>6}{'ours/s':>10}{'baseline/s':>12}"
          f"{'ours/baseline':>15}")
    ratios = []
    for definition in selected:
        torch.manual_seed(0)
        model = build_network(definition)
        features, labels = synthetic_set(definition, samples)
        check_same_forward(model, features, torch_device)
        batch_size = definition.batch_size
        ours = time_ours(model, definition, features, labels, batch_size, torch_device)
        base = time_baseline(model, definition, features, labels, batch_size, torch_device)
        ratios.append(ours / base)
        print(f"{definition.dataset:<8}{definition.name:<16}{batch_size:>6}{ours:>10.1f}"
              f"{base:>12.1f}{ours / base:>15.2f}", flush=True)
    geometric_mean = torch.tensor(ratios).log().mean().exp().item()
    print(f"geometric mean of ours/baseline over {len(ratios)} networks: {geometric_mean:.2f}")


if __name__ == "__main__":
    main()
