"""Checkpoints of a selected model: weights + network definition + epoch + protocol.

A checkpoint is self-contained: ``load_checkpoint`` rebuilds the network from the stored
definition, so evaluation needs nothing but the file.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

import torch

from sparse_pkg.io.inputs import read_input
from sparse_pkg.io.tensors import save_torch
from sparse_pkg.network_definitions import NetworkDefinition
from sparse_pkg.networks import build_network


def save_checkpoint(
    path: str | os.PathLike,
    state_dict: dict[str, Any],
    definition: NetworkDefinition,
    *,
    protocol: str,
    epoch: int,
    seed: int,
    meta: dict[str, Any] | None = None,
) -> None:
    """Atomically write a checkpoint of the weights selected by ``protocol`` at ``epoch``."""
    payload = {
        "state_dict": {k: v.detach().cpu() if torch.is_tensor(v) else v
                       for k, v in state_dict.items()},
        "definition": definition.to_dict(),
        "protocol": protocol,
        "epoch": int(epoch),
        "seed": int(seed),
        "meta": dict(meta or {}),
    }
    save_torch(payload, path)


def load_checkpoint(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the network of a checkpoint in eval mode; returns (model, info without weights)."""

    def read(file: str | os.PathLike) -> tuple[dict[str, Any], NetworkDefinition]:
        payload = torch.load(file, map_location=device, weights_only=True)
        return payload, NetworkDefinition.from_dict(payload["definition"])

    payload, definition = read_input(
        path, read, what="checkpoint",
        fix=f"delete it (rm {shlex.quote(os.fspath(path))}), then rerun snakemake: it retrains "
            "that run", fix_missing="run the train step first")
    channels_last = bool(payload.get("meta", {}).get("channels_last", False))  # as trained
    model = build_network(definition, channels_last=channels_last).to(device)
    model.load_state_dict(payload["state_dict"])
    model.eval()
    info = {k: v for k, v in payload.items() if k != "state_dict"}
    info["definition"] = definition
    return model, info
