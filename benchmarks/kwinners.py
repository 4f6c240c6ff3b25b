"""k-winners time at every paper shape: ours against each anchor algorithm, in one run.

Anchors (benchmarks/kwinners_anchors.py, re-implemented from their descriptions): the original
2019 layers (1d: batched top-k, per-sample copies; 2d: gather/scatter), nupic.torch's k-th value
threshold (``nupic_kth``) and its tie-breaking top-k (``nupic_ties``), and a plain top-k + float
mask (``topk_float``). Shapes come from config/networks.yaml (every distinct k-winners layer of
the paper's networks). Batches 16 and 64 time forward+backward in training mode (k winners, duty
cycle update); batch 1000 times an evaluation forward pass (k * k_inference_factor winners,
no_grad). Before timing a case, every candidate must give ours' outputs, input gradients and
duty cycles from the same state and input, or the run stops. Candidates are timed interleaved,
one step each in turn; times are medians, ratios anchor / ours (> 1: ours faster) are medians of
the per-round ratios.
Then ``SparseWeights.rezero_weights`` at every sparse hidden layer of the paper, against the old
``masked_fill_`` and a float 0/1 multiply.

    .venv/bin/python benchmarks/kwinners.py [--repeats 30] [--threads 1] [--device cpu|cuda]
"""

from __future__ import annotations

import copy
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/kwinners_anchors.py
from kwinners_anchors import AnchorKWinners  # noqa: E402
from machine import machine_line  # noqa: E402

from sparse_pkg.layers import KWinners, KWinners2d, SparseWeights  # noqa: E402
from sparse_pkg.layers.fastest import chosen  # noqa: E402
from sparse_pkg.networks_file import load_networks  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "config" / "networks.yaml"
ANCHORS = AnchorKWinners.ALGORITHMS
TRAIN_BATCHES, EVAL_BATCH = (16, 64), 1000


class LoopKWinners(AnchorKWinners):
    """The 2019 original algorithm for ``reference``'s shape (name kept for benchmarks/train.py)."""

    def __init__(self, reference: KWinners | KWinners2d) -> None:
        super().__init__(reference, "original")


@dataclass(frozen=True)
class Shape:
    """One k-winners layer of the paper: units (C, H, W) for 2d or (n,) for 1d, and its k."""

    units: tuple[int, ...]
    k: int
    k_inference_factor: float
    boost_strength: float
    duty_cycle_period: int

    @property
    def label(self) -> str:
        kind = "2d " if len(self.units) == 3 else "1d "
        return kind + "x".join(map(str, self.units)) + f" k={self.k}"

    def layer(self) -> KWinners | KWinners2d:
        """Our layer, with a seeded random duty cycle around the target so boosting matters."""
        options = dict(k_inference_factor=self.k_inference_factor,
                       boost_strength=self.boost_strength,
                       duty_cycle_period=self.duty_cycle_period)
        n = int(torch.tensor(self.units).prod())
        if len(self.units) == 3:
            layer = KWinners2d(n, self.k, channels=self.units[0], **options)
        else:
            layer = KWinners(n, self.k, **options)
        generator = torch.Generator().manual_seed(n + self.k)
        density = self.k / n
        layer.duty_cycle.copy_(2 * density * torch.rand(layer.duty_cycle.shape,
                                                        generator=generator))
        layer.learning_iterations = 10 * self.duty_cycle_period  # a run well under way
        return layer


def paper_shapes(config: Path = CONFIG) -> list[Shape]:
    """Every distinct k-winners layer (k < units) of the networks in ``config``, 1d then 2d."""
    shapes: set[Shape] = set()
    for d in load_networks(config):
        common = (d.k_inference_factor, d.boost_strength, d.duty_cycle_period)
        for units, k in zip(d.conv_shapes, d.conv_k, strict=True):
            if k is not None and k < units[0] * units[1] * units[2]:
                shapes.add(Shape(tuple(units), k, *common))
        if d.linear_k < d.linear_n:
            shapes.add(Shape((d.linear_n,), d.linear_k, *common))
    return sorted(shapes, key=lambda s: (len(s.units), s.units, s.k))


def sparse_weight_shapes(config: Path = CONFIG) -> list[tuple[int, int, float]]:
    """(out units, fan-in, weight sparsity) of every distinct sparse hidden linear layer."""
    shapes = {(d.linear_n, d.linear_fan_in, d.weight_sparsity)
              for d in load_networks(config) if d.weight_sparsity < 1.0}
    return sorted(shapes)


def time_rezero(units: int, fan_in: int, sparsity: float, device: str,
                repeats: int) -> dict[str, list[float]]:
    """Seconds per round of ours (integer AND), the old ``masked_fill_`` and a float-mask
    multiply (not byte-identical: it leaves -0.0), interleaved, after checking ours' bytes."""
    torch.manual_seed(0)
    layer = SparseWeights(nn.Linear(fan_in, units), sparsity).to(device)
    weight, mask = layer.module.weight, layer.zero_mask
    keep = (~mask).to(weight.dtype)
    original = weight.detach().clone()
    with torch.no_grad():
        expected = original.clone().masked_fill_(mask, 0.0)
        layer.rezero_weights()
        if not torch.equal(weight.view(torch.int32), expected.view(torch.int32)):
            raise SystemExit("rezero_weights differs from masked_fill_: benchmark invalid")
        steps = {"ours": layer.rezero_weights,
                 "masked_fill": lambda: weight.masked_fill_(mask, 0.0),
                 "float_mul": lambda: weight.mul_(keep)}
        # before each step the masked weights have moved, as after an optimizer step
        return interleaved_times(steps, repeats, device, before=lambda: weight.copy_(original))


def interleaved_times(steps: dict, repeats: int, device: str,
                      before=None) -> dict[str, list[float]]:
    """Seconds of each step per round: every step runs once a round, in rotating order;
    ``before`` (untimed) runs ahead of each step."""
    names = list(steps)
    times: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        for name in names[repeat % len(names):] + names[:repeat % len(names)]:
            if before is not None:
                before()
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            steps[name]()
            if device == "cuda":
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
    return times


def candidates(shape: Shape, training: bool) -> dict[str, nn.Module]:
    """Ours and every anchor, all from the same starting state, in the given mode."""
    ours = shape.layer().train(training)
    modules: dict[str, nn.Module] = {"ours": ours}
    for name in ANCHORS:
        modules[name] = AnchorKWinners(copy.deepcopy(ours), name).train(training)
    return modules


def make_step(module: nn.Module, x: torch.Tensor, grad: torch.Tensor,
              training: bool) -> Callable[[], torch.Tensor]:
    """One timed unit of work: forward+backward in training, a no_grad forward in evaluation."""
    def train_step() -> torch.Tensor:
        x.grad = None
        out = module(x)
        out.backward(grad)
        return out

    def eval_step() -> torch.Tensor:
        with torch.no_grad():
            return module(x)

    return train_step if training else eval_step


def check_identical(shape: Shape, batch: int, training: bool, device: str) -> None:
    """Outputs, input gradients and duty cycles of every anchor must equal ours (ties are
    absent on continuous random inputs, so even ``nupic_kth`` keeps exactly k)."""
    generator = torch.Generator().manual_seed(batch)
    x = torch.randn((batch, *shape.units), generator=generator).to(device).requires_grad_()
    grad = torch.randn(x.shape, generator=generator).to(device)
    results = {}
    for name, module in candidates(shape, training).items():
        module.to(device)
        out = make_step(module, x, grad, training)()
        results[name] = (out.detach(), None if x.grad is None else x.grad.clone(),
                         module.duty_cycle.clone())
    for name in ANCHORS:
        for what, a, b in zip(("output", "gradient", "duty cycle"), results["ours"],
                              results[name], strict=True):
            same = (a is None and b is None) or (a is not None and b is not None
                                                 and torch.equal(a, b))
            if not same:
                raise SystemExit(f"{name} {what} differs from ours at {shape.label} batch "
                                 f"{batch}: benchmark invalid")


def time_case(shape: Shape, batch: int, training: bool, device: str,
              repeats: int) -> dict[str, list[float]]:
    """Seconds per step of ReLU, ours and each anchor: one list per candidate, entry r from
    round r, in which every candidate ran once (rotating order)."""
    generator = torch.Generator().manual_seed(batch + 1)
    x = torch.randn((batch, *shape.units), generator=generator).to(device)
    x.requires_grad_(training)
    grad = torch.randn(x.shape, generator=generator).to(device)
    modules = {"relu": nn.ReLU(), **candidates(shape, training)}
    steps = {name: make_step(m.to(device), x, grad, training) for name, m in modules.items()}
    for _ in range(2):  # warm-up
        for step in steps.values():
            step()
    return interleaved_times(steps, repeats, device)


def path_of(shape: Shape, batch: int, training: bool) -> str:
    """Which winner path (topk | partition) this machine chose for the case, measured at its
    first call (sparse_pkg/layers/fastest.py); '-' when the case never asked."""
    n = int(torch.tensor(shape.units).prod())
    k = shape.k if training else min(int(round(shape.k * shape.k_inference_factor)), n)
    paths = {path for key, path in chosen().items()
             if key[0] == "top_k_mask" and key[1] == (batch, n) and key[2] == k}
    return "/".join(sorted(paths)) or "-"


def paired_ratio(anchor: list[float], ours: list[float]) -> float:
    """Median over rounds of anchor time / ours time in the same round (robust to load that
    drifts during a case on a shared machine)."""
    return statistics.median(a / b for a, b in zip(anchor, ours, strict=True))


@click.command()
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="cpu",
              show_default=True, help="Where to run; auto picks cuda when available.")
@click.option("--repeats", type=int, default=30, show_default=True,
              help="Timed steps per candidate and case.")
@click.option("--threads", type=int, default=1, show_default=True, help="torch CPU threads.")
def main(device: str, repeats: int, threads: int) -> None:
    """Print ms per step of ours and ratios anchor / ours at every paper shape and batch."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.set_num_threads(threads)
    print(f"device={device} repeats={repeats} {machine_line()}")
    cases = [(shape, batch, True) for shape in paper_shapes() for batch in TRAIN_BATCHES]
    cases += [(shape, EVAL_BATCH, False) for shape in paper_shapes()]
    for shape, batch, training in cases:
        check_identical(shape, batch, training, device)
    print("identical outputs, gradients and duty cycles: checked for every anchor and case")
    print(f"{'layer':<22}{'batch':>6}{'mode':>6}{'relu ms':>9}{'ours ms':>9}{'ours/relu':>10}"
          + "".join(f"{name:>12}" for name in ANCHORS) + "   (anchor / ours, paired)  path")
    slowest = {name: float("inf") for name in ANCHORS}
    for shape, batch, training in cases:
        rounds = time_case(shape, batch, training, device, repeats)
        ratios = {name: paired_ratio(rounds[name], rounds["ours"]) for name in ANCHORS}
        t = {name: statistics.median(values) for name, values in rounds.items()}
        for name in ANCHORS:
            slowest[name] = min(slowest[name], ratios[name])
        mode = "train" if training else "eval"
        print(f"{shape.label:<22}{batch:>6}{mode:>6}{t['relu'] * 1e3:>9.3f}"
              f"{t['ours'] * 1e3:>9.3f}{t['ours'] / t['relu']:>10.1f}"
              + "".join(f"{ratios[name]:>12.2f}" for name in ANCHORS)
              + f"  {path_of(shape, batch, training)}", flush=True)
    print("smallest ratio per anchor: "
          + ", ".join(f"{name} {value:.2f}" for name, value in slowest.items()))
    print(f"\n{'SparseWeights.rezero_weights':<34}{'ours ms':>9}{'masked_fill':>13}"
          f"{'float_mul':>11}   (anchor / ours, paired)")
    for units, fan_in, sparsity in sparse_weight_shapes():
        rounds = time_rezero(units, fan_in, sparsity, device, 3 * repeats)
        label = f"linear {units}x{fan_in} sparsity={sparsity}"
        print(f"{label:<34}{statistics.median(rounds['ours']) * 1e3:>9.3f}"
              f"{paired_ratio(rounds['masked_fill'], rounds['ours']):>13.2f}"
              f"{paired_ratio(rounds['float_mul'], rounds['ours']):>11.2f}")


if __name__ == "__main__":
    main()
