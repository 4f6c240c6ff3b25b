"""One noisy test set of a data set of your own (one `dataset_noise` job per level), made by its
module's ``noisy`` (sparse_pkg/datasets/registry.py)."""

from __future__ import annotations

import click

from sparse_pkg.cli import handle_errors, log, tensor_set_output, verbose_option
from sparse_pkg.commands.prepare_dataset import check_set, load
from sparse_pkg.io.sidecar import write_sidecar
from sparse_pkg.io.tensors import load_tensor_set, save_tensor_set


@click.command(context_settings={"show_default": True})
@click.option("--dataset", required=True, help="The data set's name (its config key).")
@click.option("--module", "module_name", required=True, help="Its module (package.module).")
@click.option("--test", "test_path", type=click.Path(dir_okay=False), required=True,
              help="Clean test set written by prepare_dataset.")
@click.option("--noise-level", "level", type=click.FloatRange(0.0, 1.0), required=True)
@click.option("--noise-seed", type=int, required=True,
              help="Base seed: every network sees the same noisy test set.")
@tensor_set_output("--out", "Noisy test set")
@verbose_option
@handle_errors
def main(dataset, module_name, test_path, level, noise_seed, out):
    """The test set of DATASET at one noise level, labelled with the level."""
    facts, module = load(dataset, module_name)
    noisy = module.noisy(load_tensor_set(test_path), level, noise_seed)
    check_set(noisy, facts, f"noise level {level:g} test")
    noisy.meta.update({"noise_level": float(level), "noise_seed": noise_seed})
    save_tensor_set(out, noisy)
    write_sidecar(out)
    log(f"{facts.title} noise {level:g}: {len(noisy)} test samples")


if __name__ == "__main__":
    main()
