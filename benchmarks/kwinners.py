"""Forward+backward time of KWinners / KWinners2d at the paper's shapes, in one run.

Compares our vectorised layers with (a) a plain ReLU and (b) a per-sample Python-loop top-k in
the style of the original 2019 code, after checking that (b) computes the same outputs as ours.
Prints milliseconds per step and the ratios.

    .venv/bin/python benchmarks/kwinners.py [--device cpu|cuda] [--repeats 50] [--threads N]
"""

from __future__ import annotations

import statistics
import time

import click
import torch
from torch import nn

from sparse_pkg.layers import KWinners, KWinners2d


class LoopKWinners(nn.Module):
    """Baseline: same semantics as KWinners/KWinners2d, but top-k and masking one sample at a
    time in Python, as the original per-sample implementation did."""

    def __init__(self, reference: KWinners | KWinners2d) -> None:
        super().__init__()
        self.ref = reference

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ref = self.ref
        boost = torch.exp((ref.k / ref.n - ref.duty_cycle) * ref.boost_strength)
        if boost.dim() == 4:  # per-channel (1, C, 1, 1) -> (C, 1, 1) against one (C, H, W) sample
            boost = boost[0]
        outputs = []
        for i in range(x.shape[0]):
            sample = x[i]
            boosted = (sample.detach() * boost).flatten()
            idx = boosted.topk(ref.k).indices
            mask = torch.zeros(ref.n, device=x.device)
            mask[idx] = 1.0
            outputs.append(sample * mask.reshape(sample.shape))
        out = torch.stack(outputs)
        batch = x.shape[0]
        ref.learning_iterations += batch
        period = min(ref.duty_cycle_period, ref.learning_iterations)
        if x.dim() == 4:
            active = (out > 0).sum(dim=(0, 2, 3)).float() / (x.shape[2] * x.shape[3])
            active = active.reshape(ref.duty_cycle.shape)
        else:
            active = (out > 0).sum(dim=0).float()
        ref.duty_cycle.mul_(period - batch).add_(active).div_(period)
        return out


def time_step(module: nn.Module, shape: tuple[int, ...], device: str, repeats: int) -> float:
    """Median seconds of one forward+backward pass on a fresh random batch."""
    x = torch.randn(shape, device=device, requires_grad=True)
    grad = torch.randn(shape, device=device)
    for _ in range(3):  # warm-up
        module(x).backward(grad)
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        module(x).backward(grad)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_layer(kind: str) -> KWinners | KWinners2d:
    if kind == "1d":
        return KWinners(1000, 100, k_inference_factor=1.5, boost_strength=1.5)
    return KWinners2d(64 * 14 * 14, 1200, channels=64, k_inference_factor=1.5, boost_strength=1.5)


def check_baseline_agrees(kind: str, device: str) -> None:
    """The baseline must compute what ours computes, or its timing means nothing."""
    torch.manual_seed(0)
    ours, theirs = make_layer(kind).to(device).train(), make_layer(kind).to(device).train()
    shape = (16, 1000) if kind == "1d" else (16, 64, 14, 14)
    for _ in range(3):
        x = torch.randn(shape, device=device)
        if not torch.equal(ours(x), LoopKWinners(theirs)(x)):
            raise SystemExit(f"baseline disagrees with KWinners ({kind}); benchmark invalid")
    if not torch.allclose(ours.duty_cycle, theirs.duty_cycle):
        raise SystemExit(f"baseline duty cycles disagree ({kind}); benchmark invalid")


@click.command()
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True, help="Where to run; auto picks cuda when available.")
@click.option("--repeats", type=int, default=50, show_default=True,
              help="Timed forward+backward passes per case (median reported).")
@click.option("--threads", type=int, default=None,
              help="torch CPU threads (default: torch's own choice).")
def main(device: str, repeats: int, threads: int | None) -> None:
    """Print ms per forward+backward step and the speed ratios."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if threads:
        torch.set_num_threads(threads)
    print(f"device={device} torch={torch.__version__} threads={torch.get_num_threads()} "
          f"repeats={repeats}")
    for kind in ("1d", "2d"):
        check_baseline_agrees(kind, device)
    header = f"{'layer':<34}{'batch':>6}{'relu ms':>10}{'ours ms':>10}{'loop ms':>10}" \
             f"{'ours/relu':>11}{'loop/ours':>11}"
    print(header)
    for kind, label in (("1d", "KWinners n=1000 k=100"), ("2d", "KWinners2d 64x14x14 k=1200")):
        for batch in (16, 64):
            shape = (batch, 1000) if kind == "1d" else (batch, 64, 14, 14)
            relu = time_step(nn.ReLU(), shape, device, repeats)
            ours = time_step(make_layer(kind).to(device).train(), shape, device, repeats)
            loop = time_step(LoopKWinners(make_layer(kind).to(device).train()), shape, device,
                             max(5, repeats // 5))
            print(f"{label:<34}{batch:>6}{relu * 1e3:>10.3f}{ours * 1e3:>10.3f}"
                  f"{loop * 1e3:>10.3f}{ours / relu:>11.2f}{loop / ours:>11.1f}")


if __name__ == "__main__":
    main()
