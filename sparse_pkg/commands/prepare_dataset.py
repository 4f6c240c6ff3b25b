"""A data set of your own -> train and test tensor sets (one `dataset_prepare` job).

The module (sparse_pkg/datasets/registry.py) fetches the raw data, which must match the SHA-256
its INFO declares, then prepares the two sets, which must fit its INFO: features (N, C, H, W)
float32 and int64 labels in [0, classes).
"""

from __future__ import annotations

import json

import click
import torch

from sparse_pkg.cli import handle_errors, log, tensor_set_output, verbose_option
from sparse_pkg.datasets import registry
from sparse_pkg.errors import InputError
from sparse_pkg.io.sidecar import write_sidecar
from sparse_pkg.io.tensors import TensorSet, save_tensor_set


def check_set(tensor_set: TensorSet, facts: registry.DatasetInfo, what: str) -> None:
    """InputError naming the data set when a prepared set does not fit its INFO."""
    shape = (facts.channels, facts.height, facts.width)
    features, labels = tensor_set.features, tensor_set.labels
    problem = None
    if features.dim() != 4 or tuple(features.shape[1:]) != shape:
        expected = ", ".join(map(str, shape))
        problem = f"features of shape {tuple(features.shape)}, not (N, {expected})"
    elif features.dtype != torch.float32:
        problem = f"features of dtype {features.dtype}, not torch.float32"
    elif labels.dtype != torch.int64 or labels.dim() != 1:
        problem = f"labels of dtype {labels.dtype} and {labels.dim()} dimension(s), not int64 (N,)"
    elif len(labels) == 0:
        problem = "no samples"
    elif int(labels.min()) < 0 or int(labels.max()) >= facts.classes:
        problem = f"labels outside [0, {facts.classes})"
    if problem:
        raise InputError(f"data set {facts.name}: prepare() returned a {what} set with {problem}; "
                         "fix the module's prepare or its INFO")


def load(dataset: str, module: str) -> tuple[registry.DatasetInfo, object]:
    facts = registry.load_plugin(dataset, module)
    return facts, registry.plugin_module(dataset)


@click.command(context_settings={"show_default": True})
@click.option("--dataset", required=True, help="The data set's name (its config key).")
@click.option("--module", "module_name", required=True, help="Its module (package.module).")
@click.option("--options", default="{}", help="JSON of the config entry's options.")
@tensor_set_output("--train-out", "Training set")
@tensor_set_output("--test-out", "Clean test set")
@verbose_option
@handle_errors
def main(dataset, module_name, options, train_out, test_out):
    """Fetch, check and prepare DATASET with its module; write the train and test sets."""
    facts, module = load(dataset, module_name)
    try:
        raw = module.fetch()
    except ImportError as exc:  # a package the module reads its data with
        raise InputError(f"data set {dataset} ({module_name}): fetch() needs a package that is "
                         f"not installed ({exc}); install it where the jobs run (e.g. "
                         f"pip install {exc.name or 'it'})") from None
    digest = registry.raw_digest(raw)
    if facts.sha256 and digest != facts.sha256:
        raise InputError(f"data set {dataset} ({module_name}): the fetched data has SHA-256 "
                         f"{digest}, not the {facts.sha256} its INFO declares; the source "
                         "changed, or fetch is wrong: check it before trusting any result")
    train, test = module.prepare(raw, json.loads(options))
    for what, tensor_set, path in (("train", train, train_out), ("test", test, test_out)):
        check_set(tensor_set, facts, what)
        tensor_set.meta.setdefault("source", dataset)
        tensor_set.meta["raw_sha256"] = digest
        save_tensor_set(path, tensor_set)
        write_sidecar(path)
    log(f"{facts.title}: {len(train)} train, {len(test)} test (raw data SHA-256 {digest[:12]}"
        f"{', as declared' if facts.sha256 else ', not declared'})")


if __name__ == "__main__":
    main()
