"""Per-job fixed cost: how long a train or evaluate process takes before (and around) its work.

Every Snakemake train/evaluate job is a fresh ``python -P -m sparse_pkg.commands.NAME``
process, run the way the rules run it (the installed package). Timed cases, each a subprocess:

- ``python``: the bare interpreter (``-c pass``);
- ``import torch``: the reference; the target is start-up <= 1.5x this;
- ``evaluate start-up`` / ``train start-up``: the script up to its first useful work (options
  parsed, torch threads, determinism and device set), stopped there by an input file that does
  not exist (the script's one-line error, exit status 2, is checked);
- ``evaluate tiny job`` / ``train tiny job``: a whole job on tiny inputs (100 test images, one
  level; 64 training images, one epoch): start-up plus writing the outputs, i.e. the fixed cost
  that every one of the paper's evaluate jobs pays on top of its real work.

Cases run interleaved (one of each per round, order rotated), after one untimed warm-up round;
medians are printed with the ratio to ``import torch``.

    .venv/bin/python benchmarks/startup.py [--repeats 7] [--no-jobs]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/machine.py
from machine import machine_line  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFINITIONS = REPO / "config" / "networks.yaml"
NETWORK = "sparseCNN2"  # an MNIST network of config/networks.yaml


def make_inputs(folder: Path) -> dict[str, str]:
    """A tiny MNIST training set, one noisy test level and a checkpoint, written in ``folder``."""
    import torch

    from sparse_pkg.io.tensors import TensorSet, save_tensor_set
    from sparse_pkg.networks import build_network
    from sparse_pkg.networks_file import load_networks
    from sparse_pkg.training import save_checkpoint

    generator = torch.Generator().manual_seed(0)
    train = TensorSet(torch.rand(64, 1, 28, 28, generator=generator),
                      torch.randint(0, 10, (64,), generator=generator), {"source": "benchmark"})
    test = TensorSet(torch.rand(100, 1, 28, 28, generator=generator),
                     torch.randint(0, 10, (100,), generator=generator),
                     {"noise": "pixel", "noise_level": 0.0})
    paths = {name: str(folder / f"{name}.pt") for name in ("train", "test", "checkpoint")}
    save_tensor_set(paths["train"], train)
    save_tensor_set(paths["test"], test)
    definition = load_networks(DEFINITIONS).get("mnist", NETWORK)
    torch.manual_seed(0)
    save_checkpoint(paths["checkpoint"], build_network(definition).state_dict(), definition,
                    protocol="paper", epoch=0, seed=42)
    return paths


def cases(folder: Path, paths: dict[str, str], jobs: bool) -> dict[str, tuple[list[str], int]]:
    """Name -> (python arguments, expected exit status)."""
    missing = str(folder / "missing")
    train_args = ["-m", "sparse_pkg.commands.train", "--dataset", "mnist", "--network", NETWORK,
                  "--seed", "42", "--test", paths["test"], "--threads", "1", "--device", "auto"]
    evaluate_args = ["-m", "sparse_pkg.commands.evaluate", "--test", paths["test"],
                     "--noise-level", "0",
                     "--threads", "1", "--device", "auto"]
    chosen = {
        "python": (["-c", "pass"], 0),
        "import torch": (["-c", "import torch"], 0),
        "evaluate start-up": ([*evaluate_args, "--checkpoint", f"{missing}.pt",
                               "--out", f"{missing}.parquet"], 2),
        "train start-up": ([*train_args, "--definitions", f"{missing}.yaml",
                            "--train", paths["train"], "--out-dir", missing], 2),
    }
    if jobs:
        chosen["evaluate tiny job"] = ([*evaluate_args, "--checkpoint", paths["checkpoint"],
                                        "--out", str(folder / "level_0.parquet")], 0)
        chosen["train tiny job"] = ([*train_args, "--definitions", str(DEFINITIONS),
                                     "--train", paths["train"], "--max-epochs", "1",
                                     "--out-dir", str(folder / "run")], 0)
    return chosen


def time_once(args: list[str], expected: int, cwd: Path) -> float:
    """Wall seconds of one ``python -P ARGS`` process; stops if its exit status is unexpected."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-P", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != expected:
        raise SystemExit(f"python -P {' '.join(args)}: exit {done.returncode}, expected "
                         f"{expected}\n{done.stderr[-2000:]}")
    return seconds


def run_rounds(chosen: dict[str, tuple[list[str], int]], repeats: int,
               cwd: Path) -> dict[str, list[float]]:
    """Interleaved rounds (the order rotates each round); the first round is a warm-up."""
    names = list(chosen)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(repeats + 1):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            seconds = time_once(*chosen[name], cwd)
            if round_index:
                times[name].append(seconds)
    return times


@click.command()
@click.option("--repeats", type=click.IntRange(min=1), default=7, show_default=True,
              help="Timed rounds (after one warm-up round).")
@click.option("--jobs/--no-jobs", default=True, show_default=True,
              help="Also time whole tiny evaluate and train jobs.")
def main(repeats: int, jobs: bool) -> None:
    """Print the median wall time of each case and its ratio to a bare `import torch`."""
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp:
        folder = Path(tmp)
        chosen = cases(folder, make_inputs(folder), jobs)
        times = run_rounds(chosen, repeats, folder)
    reference = statistics.median(times["import torch"])
    print(f"per-job fixed cost, {repeats} interleaved rounds, medians "
          f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs, 1 torch thread in jobs)\n"
          f"{machine_line()}")
    print(f"{'case':<20} {'median s':>9} {'min s':>7} {'max s':>7} {'/ import torch':>15}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<20} {median:9.3f} {min(values):7.3f} {max(values):7.3f} "
              f"{median / reference:14.2f}x")


if __name__ == "__main__":
    main()
