"""The state a training run leaves after each epoch, so that a killed run continues exactly.

Saved atomically (``resume.pt``) after every epoch and removed when the run's outputs are
written. It holds everything the next epoch depends on: weights, optimizer moments, the history
and timings so far, the best epoch's weights (``paper`` protocol) and the random number
generators, plus what identifies the run, so that a state left by another definition, seed,
epoch count or memory layout is never continued.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from sparse_pkg.io.tensors import save_torch
from sparse_pkg.network_definitions import NetworkDefinition


def rng_states() -> dict[str, Any]:
    """The global CPU (and CUDA) generators: dropout and weight init draw from them."""
    states: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["cpu"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


@dataclasses.dataclass
class ResumeState:
    """One run after its finished epoch ``epoch`` (0-based)."""

    definition: dict[str, Any]
    seed: int
    epochs: int
    epoch: int
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    history: list[dict[str, Any]]
    timing: list[dict[str, Any]]
    best_state: dict[str, torch.Tensor] | None
    rng: dict[str, Any]
    channels_last: bool = False

    def matches(self, definition: NetworkDefinition, seed: int, epochs: int,
                channels_last: bool) -> bool:
        """True when this state belongs to this very run (definition, seed, epochs, layout)."""
        return (self.definition == definition.to_dict() and self.seed == seed
                and self.epochs == epochs and self.channels_last == channels_last)

    def save(self, path: Path) -> None:
        """Write atomically, as a plain dict (no class needed to read it back)."""
        state = dataclasses.asdict(self)
        if not self.channels_last:  # absent unless on, as in the states of earlier versions
            del state["channels_last"]
        save_torch(state, path)

    @classmethod
    def load(cls, path: Path, device: torch.device,
             log: Callable[[str], None] | None = None) -> ResumeState | None:
        """The state at ``path``, or None when there is none; an unreadable or foreign one is
        discarded with a log line (writes are atomic, so only damage on disk can cause it)."""
        if not path.exists():
            return None
        try:
            raw = torch.load(path, map_location=device, weights_only=False)
            fields = {f.name for f in dataclasses.fields(cls)}
            return cls(**{k: v for k, v in raw.items() if k in fields})
        except Exception as exc:
            if log:
                log(f"{path}: unreadable resume state ({type(exc).__name__}), discarded; "
                    "training starts again from epoch 1")
            return None
