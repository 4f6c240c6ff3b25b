"""Train one network on one data set with one seed (one Snakemake `train` job)."""

from __future__ import annotations

from pathlib import Path

import click

from sparse_pkg.cli import (
    compute_options,
    handle_errors,
    log,
    log_termination,
    on_terminal,
    setup_compute,
    verbose_option,
)
from sparse_pkg.errors import InputError
from sparse_pkg.io.tensors import load_tensor_set
from sparse_pkg.networks_file import load_networks
from sparse_pkg.provenance import environment, environment_json
from sparse_pkg.training import TrainingData, train
from sparse_pkg.training.sampling import subset_indices


@click.command(context_settings={"show_default": True})
@click.option("--definitions", type=click.Path(dir_okay=False), required=True,
              help="Network definitions file (config/networks.yaml).")
@click.option("--dataset", required=True,
              help="Which data set's network to train (mnist, gsc or a data set of your own).")
@click.option("--network", required=True, help="Network name as in the definitions file.")
@click.option("--seed", type=int, required=True, help="Run seed (the paper: 42 + repetition).")
@click.option("--train", "train_path", type=click.Path(dir_okay=False), required=True,
              help="Training tensor set (.pt); features (N, C, H, W), or (N, copies, C, H, W) "
                   "for precomputed augmented copies (epoch e uses copy e mod copies).")
@click.option("--test", "test_path", type=click.Path(dir_okay=False), required=True,
              help="Clean test tensor set (.pt), scored after every epoch.")
@click.option("--validation", "validation_path", type=click.Path(dir_okay=False), default=None,
              help="Validation tensor set (.pt), scored after every epoch (GSC).")
@click.option("--sampling", type=click.Choice(["shuffle", "balanced"]), default="shuffle",
              help="shuffle: a permutation per epoch (MNIST); balanced: draws with replacement, "
                   "balanced over the classes present (GSC).")
@click.option("--max-epochs", type=click.IntRange(min=1), default=None,
              help="Cap on the definition's epochs (recorded in the outputs).")
@click.option("--max-train-samples", type=click.IntRange(min=1), default=None,
              help="Cap on the training-set size: a fixed random subset, the same for every "
                   "network and seed (recorded in the outputs).")
@click.option("--out-dir", type=click.Path(file_okay=False), required=True,
              help="Folder for history.parquet, timing.parquet, paper.pt, final.pt (and the "
                   "resume state while running).")
@click.option("--channels-last", is_flag=True,
              help="Train in channels-last memory order: a faster CPU step, other numbers than "
                   "the default layout (recorded in the checkpoints, which score in it).")
@compute_options
@verbose_option
@handle_errors
def main(definitions, dataset, network, seed, train_path, test_path, validation_path, sampling,
         max_epochs, max_train_samples, out_dir, channels_last, threads, device, gpu_required):
    """Train NETWORK of DATASET with SEED as docs/protocol.md §3-§5 describe; resumable.

    Writes the checkpoints of both selection protocols (paper: best clean test epoch; final:
    last epoch), the per-epoch history and the timings to --out-dir. Rerunning after a crash
    continues from the last finished epoch with bit-identical results on the CPU.
    """
    log_termination(f"training {dataset}/{network} seed {seed}")
    torch_device = setup_compute(threads, device, gpu_required)
    definition = load_networks(definitions).get(dataset, network)
    train_set = load_tensor_set(train_path)
    test_set = load_tensor_set(test_path)
    geometry = definition.geometry
    expected = (geometry.channels, geometry.height, geometry.width)
    for path, features in ((train_path, train_set.features), (test_path, test_set.features)):
        if tuple(features.shape[-3:]) != expected:  # the other data set's tensors, say
            raise InputError(f"{path}: features of shape {tuple(features.shape[1:])} do not fit "
                             f"{dataset}/{network} (input {expected}); wrong data set?")
    keep = subset_indices(len(train_set), max_train_samples)
    data = TrainingData(
        train_features=train_set.features.index_select(0, keep),
        train_labels=train_set.labels.index_select(0, keep),
        test=test_set,
        validation=load_tensor_set(validation_path) if validation_path else None,
        balanced=sampling == "balanced",
    )
    meta = {"source": train_set.meta.get("source", "unknown"),
            "train_samples_available": len(train_set), "device": str(torch_device)}
    log(f"training {dataset}/{network} seed {seed} on {torch_device} with {len(keep)} samples"
        f"{f' x {data.copies} augmented copies' if data.copies > 1 else ''}")
    train(definition, data, seed=seed, out_dir=Path(out_dir), device=torch_device,
          max_epochs=max_epochs, meta=meta, log=log, show_progress=on_terminal(),
          channels_last=channels_last,
          environment=environment_json(environment(torch_device, "train")))


if __name__ == "__main__":
    main()
