"""The run's source line: the header of every table and the footer of every figure.

It says where the data came from, which seeds ran and whether epochs or the training set were
capped, so that a demo run's outputs can never pass for the paper's.
"""

from __future__ import annotations

from collections.abc import Sequence

DATA_SOURCES = {
    "mnist": {
        "embedded": "embedded real MNIST: 5,000 training digits; official 10,000-digit test set",
        "download": "full MNIST (downloaded)",
        "directory": "full MNIST (local IDX files)",
    },
    "gsc": {
        "synthetic": "synthetic Speech Commands (demo generator, not real speech)",
        "download": "Speech Commands v0.01 (downloaded)",
        "archive": "Speech Commands v0.01 (local archive)",
        "archive_unofficial": "Speech Commands (your own archive, NOT the official v0.01 one)",
        "directory": "Speech Commands (your own extracted copy)",
    },
}
"""Data set -> its config ``source`` -> the words the source line uses for it."""


def source_line(run_label: str, dataset: str, source: str | None, seeds: Sequence[int],
                max_epochs: int | None = None, max_train_samples: int | None = None,
                data: str | None = None) -> str:
    """E.g. "demo run · data: ... · seeds 42–43 · epochs capped at 3, training set capped at 300".

    ``seeds`` are the run's seeds in order; ``max_epochs`` and ``max_train_samples`` are the
    config's caps (None or 0: none, the paper's epochs and the whole training set). ``data``:
    the words for a data set of one's own (its INFO.source), instead of DATA_SOURCES.
    """
    epochs = f"epochs capped at {max_epochs}" if max_epochs else "paper epochs"
    cap = f", training set capped at {max_train_samples}" if max_train_samples else ""
    seed_text = f"seeds {seeds[0]}–{seeds[-1]}" if len(seeds) > 1 else f"seed {seeds[0]}"
    words = data if data is not None else DATA_SOURCES[dataset][source]
    return (f"{run_label} run · data: {words} · {seed_text} · "
            f"{epochs}{cap}")
