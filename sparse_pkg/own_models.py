"""Networks of your own: a networks-file entry with ``model: package.module:Class``.

The contract a class meets (docs/architecture.md, "Your own network"):

- It is a ``torch.nn.Module`` subclass, importable as ``package.module`` from the Python path or
  from the folder Snakemake runs in (appended last, so an installed package of the same name wins).
- Its constructor is called as ``Class(input_shape=(C, H, W), num_classes=K, **options)``:
  ``options`` is the entry's mapping of keyword arguments; the data set gives the other two.
  Weights are drawn from torch's global generator, which the run seeds first.
- ``forward(x)`` maps a batch (N, C, H, W) to log-probabilities (N, K) (training minimises the
  negative log-likelihood, as for the paper's networks).
- Optional hooks: ``post_batch()`` after every optimizer step; ``post_epoch()`` once after every
  epoch. Without ``post_epoch`` the library's own end-of-epoch step runs: every k-winners layer of
  sparse_pkg.layers inside the model decays its boost strength and every SparseWeights layer
  re-zeroes its masked weights. The entropy columns of the history sum the k-winners layers found.

Everything is checked before any job starts (:func:`check_model`): an import that fails, a name
that is not a Module class, or constructor arguments that do not bind each give one line naming
the network.
"""

from __future__ import annotations

import inspect
from typing import Any

from sparse_pkg.errors import InputError
from sparse_pkg.user_modules import import_failure, import_user_module


class OwnModelError(InputError, ValueError):
    """A model of one's own cannot be used; the message names the network and what to do."""


def _where(definition: Any) -> str:
    return f"network {definition.dataset}/{definition.name}, key 'model' ({definition.model})"


def model_class(definition: Any) -> type:
    """The class a definition's ``model`` names; OwnModelError when it is not a Module class."""
    import torch

    module_name, _, class_name = definition.model.partition(":")
    try:
        module = import_user_module(module_name)
    except Exception as exc:  # noqa: BLE001  any failure of the user's module is reported
        raise OwnModelError(
            f"{_where(definition)}: cannot import {module_name} ({import_failure(exc)}); "
            "install it, or put it in the folder Snakemake runs in") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise OwnModelError(f"{_where(definition)}: {module_name} has no {class_name}; check "
                            "the name after the colon")
    if not (inspect.isclass(cls) and issubclass(cls, torch.nn.Module)):
        raise OwnModelError(f"{_where(definition)}: {class_name} is not a torch.nn.Module "
                            "class; name a subclass of torch.nn.Module")
    return cls


def constructor_arguments(definition: Any) -> dict[str, Any]:
    """The keyword arguments the class receives: input_shape, num_classes and the options."""
    geometry = definition.geometry
    return {"input_shape": (geometry.channels, geometry.height, geometry.width),
            "num_classes": geometry.classes, **dict(definition.options or {})}


def check_model(definition: Any) -> type:
    """Import the class and bind its constructor's signature to the arguments it will receive,
    without building it; OwnModelError naming the network at the first problem."""
    cls = model_class(definition)
    arguments = constructor_arguments(definition)
    try:
        inspect.signature(cls).bind(**arguments)
    except TypeError as exc:
        raise OwnModelError(
            f"{_where(definition)}: its constructor does not accept the arguments "
            f"{', '.join(sorted(arguments))} ({exc}); add the missing ones under options, or "
            "give the class input_shape and num_classes parameters") from None
    return cls


def build_own_model(definition: Any) -> Any:
    """A fresh instance of the definition's class (weights from torch's global generator)."""
    return check_model(definition)(**constructor_arguments(definition))
