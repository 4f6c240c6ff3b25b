"""Training step time: our default step against the 2019 original model classes, and the
channels-last layout (config key ``compute.channels_last``), in one run.

Every candidate is the same network with the same initial weights, trained by the engine's own
``train_step`` (zero the gradients, forward, NLL loss, backward, SGD step), so only the model
classes and the memory layout differ:

- ``original``: the 2019 model classes, re-implemented in benchmarks/kwinners_anchors.py from
  their description: k-winners 1d by a per-sample loop, 2d by gather/scatter with a custom
  backward; sparse weights re-zeroed before each training forward pass by index assignment
  (``weight[rows, cols] = 0`` over the masked positions); max pooling by ``nn.MaxPool2d``.
- ``ours``: ``build_network(definition)``, what every run uses by default (winners by numpy's
  partition, sparse_pkg/layers/winner_mask.py; max pooling by the channels-last kernel,
  sparse_pkg/layers/pooling.py; both with the same bytes).
- ``channels_last``: ``build_network(definition, channels_last=True)``: other numbers.

Before timing, ``original`` must give exactly ours' output and loss of a training step (same
dropout draws) and ``channels_last`` the same evaluation-mode output up to rounding (in training,
rounding can flip a k-winners tie and the batch statistics spread it). Steps are timed
interleaved (one step of each candidate in turn, each on the same batch of seeded random inputs),
after warm-up steps, in a process that keeps freed memory for reuse as training does
(``--release-freed-memory``: glibc's defaults, under which every step of every candidate also
pays page faults on fresh memory, which shrinks all ratios). The table shows median step times
and the medians of the per-round ratios: original / ours (> 1: ours faster) and
channels_last / ours (< 1: channels-last faster).

    .venv/bin/python benchmarks/train.py [--threads 1] [--repeats 40] [--device cpu|cuda]
                                         [--case DATASET/NETWORK/BATCH ...]
                                         [--release-freed-memory]
"""

from __future__ import annotations

import copy
import statistics
import sys
import time
from pathlib import Path

import click
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/kwinners_anchors.py
from kwinners_anchors import anchor_copy  # noqa: E402
from machine import machine_line  # noqa: E402

from sparse_pkg.determinism import make_generator  # noqa: E402
from sparse_pkg.layers import KWinners, KWinners2d, SparseWeights  # noqa: E402
from sparse_pkg.network_definitions import NetworkDefinition  # noqa: E402
from sparse_pkg.networks import SparseCNN, build_network  # noqa: E402
from sparse_pkg.networks_file import load_networks  # noqa: E402
from sparse_pkg.training import memory  # noqa: E402
from sparse_pkg.training.run import train_step  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "config" / "networks.yaml"
CASES = ("gsc/sparseCNN2/16", "gsc/sparseCNN2/64", "gsc/denseCNN2_DR00/64",
         "mnist/sparseCNN2/64", "mnist/denseCNN2/64")
CANDIDATES = ("original", "ours", "channels_last")


class OriginalSparseWeights(nn.Module):
    """The 2019 sparse-weight wrapper: the masked positions as index tensors, set to zero by
    index assignment before every training forward pass."""

    def __init__(self, reference: SparseWeights) -> None:
        super().__init__()
        self.module = reference.module
        self.zero_index = reference.zero_mask.nonzero(as_tuple=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            with torch.no_grad():
                self.module.weight[self.zero_index] = 0.0
        return self.module(x)


def original_model(model: SparseCNN) -> nn.Module:
    """A deep copy of ``model`` with the 2019 k-winners and sparse-weight classes."""
    original = copy.deepcopy(model)
    for name, module in list(original.layers.named_children()):
        if isinstance(module, KWinners | KWinners2d):
            setattr(original.layers, name, anchor_copy(module, "original"))
        elif isinstance(module, SparseWeights):
            setattr(original.layers, name, OriginalSparseWeights(module))
        elif isinstance(module, nn.MaxPool2d):  # ours is a subclass with a faster kernel
            setattr(original.layers, name, nn.MaxPool2d(module.kernel_size))
    return original


def candidate_models(definition: NetworkDefinition, device: torch.device) -> dict[str, nn.Module]:
    """The three candidates with the same initial weights and masks (seed 0)."""
    torch.manual_seed(0)
    ours = build_network(definition)
    torch.manual_seed(0)  # seeding again, not load_state_dict: see the report on deepcopy
    channels_last = build_network(definition, channels_last=True)
    models = {"original": original_model(ours), "ours": ours, "channels_last": channels_last}
    return {name: model.to(device).train() for name, model in models.items()}


def make_optimizer(model: nn.Module, definition: NetworkDefinition) -> torch.optim.Optimizer:
    """SGD with the definition's hyper-parameters, as the engine builds it."""
    return torch.optim.SGD(model.parameters(), lr=definition.lr, momentum=definition.momentum,
                           weight_decay=definition.weight_decay)


def batch(definition: NetworkDefinition, size: int,
          device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded random inputs and labels of the data set's geometry."""
    g = definition.geometry
    generator = make_generator(0, f"benchmark-train-{definition.dataset}", size)
    x = torch.randn(size, g.channels, g.height, g.width, generator=generator)
    y = torch.randint(0, g.classes, (size,), generator=generator)
    return x.to(device), y.to(device)


def check_candidates(models: dict[str, nn.Module], definition: NetworkDefinition,
                     x: torch.Tensor, y: torch.Tensor, label: str) -> None:
    """Original must equal ours exactly, channels-last up to rounding; else the run stops."""
    outputs = {}
    for name, model in models.items():
        model = copy.deepcopy(model)
        torch.manual_seed(1)  # the same dropout draws for every candidate
        outputs[name] = train_step(model, make_optimizer(model, definition), x, y)
    if not all(torch.equal(a, b) for a, b in zip(outputs["original"], outputs["ours"],
                                                 strict=True)):
        raise SystemExit(f"{label}: the original model classes disagree with ours; invalid")
    with torch.no_grad():  # eval mode: a training step's batch statistics amplify rounding
        ours, other = (copy.deepcopy(models[n]).eval()(x) for n in ("ours", "channels_last"))
    if not torch.allclose(ours, other, rtol=1e-3, atol=1e-3):
        raise SystemExit(f"{label}: channels-last computes another function; invalid")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_case(definition: NetworkDefinition, size: int, repeats: int, warm_up: int,
              device: torch.device) -> dict[str, list[float]]:
    """Per-step seconds of each candidate, interleaved, ``repeats`` rounds after warm-up."""
    models = candidate_models(definition, device)
    x, y = batch(definition, size, device)
    check_candidates(models, definition, x, y, f"{definition.dataset}/{definition.name} b{size}")
    optimizers = {name: make_optimizer(m, definition) for name, m in models.items()}
    times: dict[str, list[float]] = {name: [] for name in models}
    for round_ in range(warm_up + repeats):
        for name, model in models.items():
            synchronize(device)
            start = time.perf_counter()
            train_step(model, optimizers[name], x, y)
            synchronize(device)
            if round_ >= warm_up:
                times[name].append(time.perf_counter() - start)
    return times


def median_ratio(a: list[float], b: list[float]) -> float:
    """Median of the per-round ratios a/b (robust to a slow round shared by both)."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


@click.command()
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="cpu",
              show_default=True, help="Where to train; auto picks cuda when available.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="torch CPU threads.")
@click.option("--repeats", type=click.IntRange(min=3), default=40, show_default=True,
              help="Timed steps per candidate and case.")
@click.option("--warm-up", type=click.IntRange(min=1), default=5, show_default=True,
              help="Untimed steps per candidate first.")
@click.option("--case", "cases", multiple=True, default=CASES, show_default=True,
              help="DATASET/NETWORK/BATCH (repeatable).")
@click.option("--definitions", type=click.Path(dir_okay=False, exists=True),
              default=str(CONFIG), show_default=True, help="Network definitions file.")
@click.option("--keep-freed-memory/--release-freed-memory", default=True, show_default=True,
              help="Keep freed memory in the process, as training does "
                   "(sparse_pkg/training/memory.py), or leave malloc's defaults.")
def main(device: str, threads: int, repeats: int, warm_up: int, cases: tuple[str, ...],
         definitions: str, keep_freed_memory: bool) -> None:
    """Print median step times and ratios: original / ours and channels_last / ours."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    torch_device = torch.device(device)
    torch.set_num_threads(threads)
    kept = keep_freed_memory and memory.keep_freed_memory()
    all_definitions = load_networks(definitions)
    print(f"device={device} {machine_line()}\n"
          f"repeats={repeats} keep_freed_memory={kept} "
          "(interleaved; median ms per step; same initial weights)")
    print(f"{'case':<24}{'original':>10}{'ours':>9}{'ch.last':>9}"
          f"{'original/ours':>15}{'ch.last/ours':>14}", flush=True)
    for case in cases:
        dataset, network, size = case.split("/")
        if network not in [d.name for d in all_definitions.of(dataset)]:
            raise click.BadParameter(f"no {dataset} network {network!r}", param_hint="--case")
        times = time_case(all_definitions.get(dataset, network), int(size), repeats, warm_up,
                          torch_device)
        ms = {name: 1000 * statistics.median(t) for name, t in times.items()}
        print(f"{case:<24}{ms['original']:>10.2f}{ms['ours']:>9.2f}{ms['channels_last']:>9.2f}"
              f"{median_ratio(times['original'], times['ours']):>15.2f}"
              f"{median_ratio(times['channels_last'], times['ours']):>14.2f}", flush=True)


if __name__ == "__main__":
    main()
