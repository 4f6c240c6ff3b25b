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

import importlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path
from typing import Any

from sparse_pkg.code_fingerprint import file_fingerprint
from sparse_pkg.errors import InputError


class OwnModelError(InputError, ValueError):
    """A model of one's own cannot be used; the message names the network and what to do."""


def _where(definition: Any) -> str:
    return f"network {definition.dataset}/{definition.name}, key 'model' ({definition.model})"


def _import(module_name: str) -> Any:
    """Import ``module_name`` from the Python path, else from the working folder."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = module_name.split(".")[0]
        if exc.name is None or top != exc.name.split(".")[0] or os.getcwd() in sys.path:
            raise
    sys.path.append(os.getcwd())  # last: nothing installed is shadowed
    return importlib.import_module(module_name)


def model_class(definition: Any) -> type:
    """The class a definition's ``model`` names; OwnModelError when it is not a Module class."""
    import torch

    module_name, _, class_name = definition.model.partition(":")
    try:
        module = _import(module_name)
    except Exception as exc:  # noqa: BLE001  any failure of the user's module is reported
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise OwnModelError(
            f"{_where(definition)}: cannot import {module_name} ({type(exc).__name__}: {reason}); "
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


def model_source_fingerprint(definition: Any) -> str:
    """The fingerprint (sparse_pkg.code_fingerprint.file_fingerprint) of the file that defines
    the model's module, so that editing its code reruns that network's jobs; '' when the module
    has no source file."""
    module_name = definition.model.partition(":")[0]
    spec = None
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        pass
    if spec is None and os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
        spec = importlib.util.find_spec(module_name)
    origin = getattr(spec, "origin", None)
    if not origin or not Path(origin).is_file():
        return ""
    return file_fingerprint(origin)
