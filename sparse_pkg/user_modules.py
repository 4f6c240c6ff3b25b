"""Modules of the user's own that the workflow imports: networks (``model:``, own_models.py) and
data sets (config key ``datasets``, datasets/registry.py).

Each is imported from the Python path, else from the folder Snakemake runs in, appended to the
path last so that it never shadows an installed package. Its code is fingerprinted like the
library's (sparse_pkg.code_fingerprint): a param of the rules that use it, so that editing it
reruns exactly their jobs.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

from sparse_pkg.code_fingerprint import file_fingerprint


def import_user_module(module_name: str) -> ModuleType:
    """Import ``module_name`` from the Python path, else from the working folder."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = module_name.split(".")[0]
        if exc.name is None or top != exc.name.split(".")[0] or os.getcwd() in sys.path:
            raise
    sys.path.append(os.getcwd())  # last: nothing installed is shadowed
    return importlib.import_module(module_name)


def import_failure(exc: BaseException) -> str:
    """Why an import failed, on one line: "ModuleNotFoundError: No module named 'x'"."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {reason}"


def source_fingerprint(module: ModuleType) -> str:
    """The code fingerprint of the file that defines ``module`` ('' when it has none)."""
    path = getattr(module, "__file__", None)
    return file_fingerprint(path) if path and os.path.isfile(path) else ""
