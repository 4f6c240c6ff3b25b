"""What the full paper run (Tables 1 + 2: 12 networks x 10 seeds) costs on this device.

For every network of config/networks.yaml, on random tensors of the paper's shapes and sizes
(MNIST: 60,000 training images 1x28x28, 10,000 test images; GSC: --gsc-train-clips training
clips + 10 % silence, 2,552 test and 2,494 validation clips, 1x32x32), it times the engine's own
training loop (``train_one_epoch``: index_select batches, SGD, k-winners) for --max-batches
batches of each batch size the network trains with (the first epoch's and the later epochs'),
and ``count_correct`` for --max-eval-batches test batches. The epoch, the per-epoch test
(and validation) scoring and the evaluation of 11 noise levels x 2 protocols (+ the background
set for GSC) are EXTRAPOLATED from those per-sample times, and each job's process start-up is
added (train: 1 job, evaluate: 1 job per level, as compute.evaluate_per: level runs them).
Data preparation (downloads, feature extraction, noisy sets) is not included.

Concurrency is measured, not assumed: N copies of a representative workload (GSC sparseCNN2,
batch 16) run at once as separate processes on the same device, and the projected wall time
with N jobs per device is the serial total divided by the measured aggregate speed-up.

    .venv/bin/python benchmarks/paper_cost.py [--device auto|cpu|cuda] [--max-batches 20]
        [--max-eval-batches 2] [--concurrent 1,2] [--seeds 10] [--threads 1]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/startup.py
from machine import machine_line  # noqa: E402
from startup import cases as startup_cases  # noqa: E402
from startup import make_inputs, time_once  # noqa: E402

from sparse_pkg.determinism import configure_torch, resolve_device  # noqa: E402
from sparse_pkg.evaluation import count_correct  # noqa: E402
from sparse_pkg.network_definitions import NetworkDefinition  # noqa: E402
from sparse_pkg.networks import build_network  # noqa: E402
from sparse_pkg.networks_file import load_networks  # noqa: E402
from sparse_pkg.training.memory import keep_freed_memory  # noqa: E402
from sparse_pkg.training.run import train_one_epoch  # noqa: E402
from sparse_pkg.training.schedule import batch_size_for_epoch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFINITIONS = REPO / "config" / "networks.yaml"
LEVELS = 11  # noise levels 0.0 ... 0.5 (docs/protocol.md §3.4, §4.6)
PROTOCOLS = 2  # paper and final checkpoints, both scored
MNIST_SIZES = {"train": 60_000, "test": 10_000, "validation": 0}
GSC_TEST, GSC_VALIDATION = 2_552, 2_494  # docs/protocol.md §4.2
REFERENCE = ("gsc", "sparseCNN2", 16)  # the concurrency workload: dataset, network, batch


@dataclass
class RunCost:
    """Extrapolated seconds of one run (one network, one seed) and its job count."""

    definition: NetworkDefinition
    epoch_seconds: list[float]
    scoring_seconds: float
    evaluate_seconds: float
    jobs: int

    @property
    def compute_seconds(self) -> float:
        return sum(self.epoch_seconds) + self.scoring_seconds + self.evaluate_seconds


def sizes(dataset: str, gsc_train_clips: int) -> dict[str, int]:
    """Training, test and validation sample counts of the paper's data."""
    if dataset == "mnist":
        return MNIST_SIZES
    return {"train": gsc_train_clips + int(0.1 * gsc_train_clips), "test": GSC_TEST,
            "validation": GSC_VALIDATION}


def random_set(definition: NetworkDefinition, n: int, device: torch.device):
    """Random features (n, C, H, W) and labels of the network's data-set geometry."""
    g = definition.geometry
    generator = torch.Generator().manual_seed(n)
    features = torch.randn(n, g.channels, g.height, g.width, generator=generator)
    labels = torch.randint(0, g.classes, (n,), generator=generator)
    return features.to(device), labels.to(device)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_seconds_per_sample(definition: NetworkDefinition, data, batch_size: int,
                             max_batches: int, device: torch.device) -> float:
    """Seconds per training sample at ``batch_size``, from ``max_batches`` timed batches."""
    torch.manual_seed(0)
    model = build_network(definition).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=definition.lr,
                                momentum=definition.momentum,
                                weight_decay=definition.weight_decay)
    features, labels = data
    order = torch.randint(0, labels.shape[0], ((max_batches + 2) * batch_size,))
    train_one_epoch(model, optimizer, features, labels, order[:2 * batch_size], batch_size,
                    None)  # warm-up
    synchronize(device)
    started = time.perf_counter()
    train_one_epoch(model, optimizer, features, labels, order[2 * batch_size:], batch_size,
                    None)
    synchronize(device)
    return (time.perf_counter() - started) / (max_batches * batch_size)


def eval_seconds_per_sample(definition: NetworkDefinition, data, max_batches: int,
                            device: torch.device) -> float:
    """Seconds per test sample of ``count_correct`` at the test batch size."""
    torch.manual_seed(0)
    model = build_network(definition).to(device)
    features, labels = data
    n = min(labels.shape[0], max_batches * definition.test_batch_size)
    count_correct(model, features[:definition.test_batch_size],
                  labels[:definition.test_batch_size], definition.test_batch_size)  # warm-up
    synchronize(device)
    started = time.perf_counter()
    count_correct(model, features[:n], labels[:n], definition.test_batch_size,
                  num_classes=definition.num_classes)
    synchronize(device)
    return (time.perf_counter() - started) / n


def run_cost(definition: NetworkDefinition, data, counts: dict[str, int], max_batches: int,
             max_eval_batches: int, device: torch.device) -> RunCost:
    """One run's extrapolated cost: its epochs, per-epoch scoring and final evaluation."""
    per_batch_size: dict[int, float] = {}
    epochs = []
    for epoch in range(definition.epochs):
        batch = batch_size_for_epoch(definition, epoch) or definition.batch_size
        if batch not in per_batch_size:
            per_batch_size[batch] = train_seconds_per_sample(definition, data, batch,
                                                             max_batches, device)
        epochs.append(per_batch_size[batch] * counts["train"])
    per_test = eval_seconds_per_sample(definition, data, max_eval_batches, device)
    scoring = definition.epochs * (counts["test"] + counts["validation"]) * per_test
    test_sets = LEVELS + (1 if definition.dataset == "gsc" else 0)  # + background (GSC)
    evaluate = PROTOCOLS * test_sets * counts["test"] * per_test
    return RunCost(definition, epochs, scoring, evaluate, jobs=1 + test_sets)


def job_start_seconds(repeats: int = 3) -> float:
    """Median wall time of an evaluate job's start-up (benchmarks/startup.py's case)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="paper-cost-") as tmp:
        folder = Path(tmp)
        args, expected = startup_cases(folder, make_inputs(folder), jobs=False)[
            "evaluate start-up"]
        return statistics.median(time_once(args, expected, folder) for _ in range(repeats))


def reference_workload(device: str, threads: int, max_batches: int) -> float:
    """Seconds of the concurrency workload, in this process."""
    torch_device = resolve_device(device)
    configure_torch(threads)
    keep_freed_memory()  # as training does
    dataset, name, batch = REFERENCE
    definition = load_networks(DEFINITIONS).get(dataset, name)
    data = random_set(definition, 4 * max_batches * batch, torch_device)
    started = time.perf_counter()
    train_seconds_per_sample(definition, data, batch, max_batches, torch_device)
    return time.perf_counter() - started


def concurrent_speedup(n: int, device: str, threads: int, max_batches: int) -> float:
    """Aggregate speed of n simultaneous worker processes relative to one alone."""
    def launch(count: int) -> list[float]:
        command = [sys.executable, __file__, "--worker", "--device", device, "--threads",
                   str(threads), "--max-batches", str(max_batches)]
        workers = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
                   for _ in range(count)]
        return [float(w.communicate()[0].split()[-1]) for w in workers]

    alone = statistics.median(launch(1) + launch(1))
    together = launch(n)
    return n * alone / statistics.mean(together)


def sweep_networks(path: str) -> list[NetworkDefinition]:
    """The networks the `sweeps` section of a config file generates (sparse_pkg.sweeps), from
    config/networks.yaml, as the workflow generates them. Their seeds: --seeds."""
    import yaml

    from sparse_pkg.sweeps import Sweep, sweep_definitions

    entries = yaml.safe_load(Path(path).read_text())["sweeps"]
    base = load_networks(DEFINITIONS)
    return [d for name, entry in entries.items()
            for d in sweep_definitions(Sweep.from_config(name, entry), base)]


def hours(seconds: float) -> str:
    return f"{seconds / 3600:,.1f} h"


def print_runs(costs: list[RunCost], max_batches: int) -> None:
    print(f"{'network':<24} {'epochs':>6} {'batch':>7} {'s/epoch':>9} {'scoring s':>10} "
          f"{'eval s':>8} {'run h':>7}")
    for cost in costs:
        d = cost.definition
        first = batch_size_for_epoch(d, 0) or d.batch_size
        batch = f"{first}/{d.batch_size}" if first != d.batch_size else str(d.batch_size)
        print(f"{d.dataset + '/' + d.name:<24} {d.epochs:>6} {batch:>7} "
              f"{cost.epoch_seconds[-1]:9.1f} {cost.scoring_seconds:10.1f} "
              f"{cost.evaluate_seconds:8.1f} {cost.compute_seconds / 3600:7.2f}")
    print(f"(s/epoch: a later epoch; epoch 0 at the first batch size is timed separately; all "
          f"extrapolated from {max_batches} timed batches per batch size)")


@click.command(context_settings={"show_default": True})
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
@click.option("--max-batches", type=click.IntRange(min=1), default=20,
              help="Timed training batches per network and batch size (then extrapolated).")
@click.option("--max-eval-batches", type=click.IntRange(min=1), default=2,
              help="Timed test batches per network (then extrapolated).")
@click.option("--concurrent", default="1,2",
              help="Comma-separated numbers of jobs sharing the device, each measured.")
@click.option("--seeds", type=click.IntRange(min=1), default=10, help="Runs per network.")
@click.option("--threads", type=click.IntRange(min=1), default=1, help="torch threads per job.")
@click.option("--gsc-train-clips", type=click.IntRange(min=1), default=18_500,
              help="GSC training clips before silence (approximate: the real count comes "
                   "from the archive's split lists).")
@click.option("--network", "only", multiple=True, help="Only these networks (dataset/name).")
@click.option("--sweeps", "sweeps_config", type=click.Path(dir_okay=False), default=None,
              help="A config file with a `sweeps` section (config/sweep-paper.yaml): project "
                   "the networks of its grids instead of Tables 1 + 2.")
@click.option("--worker", is_flag=True, hidden=True)
def main(device, max_batches, max_eval_batches, concurrent, seeds, threads, gsc_train_clips,
         only, sweeps_config, worker):
    """Print the projected wall time of Tables 1 + 2 (or of a sweep) on this device, serial
    and shared."""
    if worker:
        print(reference_workload(device, threads, max_batches))
        return
    torch_device = resolve_device(device)
    configure_torch(threads)
    keep_freed_memory()  # as training does
    definitions = [d for d in load_networks(DEFINITIONS)
                   if not only or f"{d.dataset}/{d.name}" in only]
    what = "Tables 1 + 2"
    if sweeps_config:
        definitions, what = sweep_networks(sweeps_config), f"the sweeps of {sweeps_config}"
    name = (torch.cuda.get_device_name(torch_device) if torch_device.type == "cuda"
            else f"CPU, {threads} torch thread(s)")
    print(f"device: {torch_device} ({name}); GSC training set {gsc_train_clips:,} clips + "
          f"10 % silence; {seeds} seeds\n{machine_line()}")
    data = {}
    costs = []
    for definition in definitions:
        counts = sizes(definition.dataset, gsc_train_clips)
        if definition.dataset not in data:
            data[definition.dataset] = random_set(definition, counts["train"], torch_device)
        costs.append(run_cost(definition, data[definition.dataset], counts, max_batches,
                              max_eval_batches, torch_device))
    print_runs(costs, max_batches)
    start = job_start_seconds()
    jobs = seeds * sum(c.jobs for c in costs)
    compute = seeds * sum(c.compute_seconds for c in costs)
    serial = compute + jobs * start
    print(f"jobs: {jobs:,} ({seeds} x {len(costs)} train, the rest evaluate), start-up "
          f"{start:.2f} s each = {hours(jobs * start)}")
    print(f"{what}, one job at a time: {hours(serial)} (compute {hours(compute)})")
    for n in (int(x) for x in concurrent.split(",")):
        if n == 1:
            continue
        speedup = concurrent_speedup(n, str(torch_device.type), threads, max_batches)
        print(f"{what}, {n} jobs at once on this device: {hours(serial / speedup)} "
              f"(measured aggregate speed-up {speedup:.2f}x)")


if __name__ == "__main__":
    main()
