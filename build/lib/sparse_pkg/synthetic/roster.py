"""Who says what in the synthetic archive: speaker ids per split, and the clips each one says.

Speaker ids are random 8-hex-digit names, kept while the data set's hashing rule
(:func:`sparse_pkg.datasets.gsc_splits.which_set`) puts them in a split that still has room, so
each split gets its share of the speakers even in a tiny archive. Clips are dealt round-robin
over a per-word random order of the speakers.
"""

from __future__ import annotations

import numpy as np

from sparse_pkg.datasets.gsc_splits import SPLITS, WORDS, which_set
from sparse_pkg.errors import InputError

_MAX_ID_DRAWS = 1_000_000  # bound on speaker-id draws when filling the split quotas

# The archive's independent random streams, all derived from the user's seed:
# numpy.random.default_rng([seed, STREAM_..., ...]).
STREAM_IDS, STREAM_SPEAKER, STREAM_CLIP, STREAM_BACKGROUND, STREAM_ASSIGN = range(5)


def _quota(speakers: int, percentage: float) -> int:
    """Speakers a split with ``percentage`` gets: its share, rounded, but at least one."""
    return max(1, int(round(speakers * percentage / 100.0)))


def split_quotas(
    speakers: int, validation_percentage: float, testing_percentage: float
) -> dict[str, int]:
    """Speakers per split: validation and test their share (at least one), train the rest."""
    quotas = {
        "validation": _quota(speakers, validation_percentage),
        "test": _quota(speakers, testing_percentage),
    }
    quotas["train"] = speakers - quotas["validation"] - quotas["test"]
    return quotas


def draw_speaker_ids(
    speakers: int,
    seed: int,
    *,
    validation_percentage: float = 10.0,
    testing_percentage: float = 10.0,
) -> dict[str, list[str]]:
    """Distinct random 8-hex-digit speaker ids grouped by the split the hashing rule gives them.

    Ids are drawn at random and kept while their split (by :func:`which_set`) still has room,
    so the validation and test splits get their percentage of the speakers (at least one
    each) even in a tiny archive. Returns ``{"train": [...], "validation": [...],
    "test": [...]}`` in draw order.
    """
    quotas = split_quotas(speakers, validation_percentage, testing_percentage)
    rng = np.random.default_rng([seed, STREAM_IDS])
    chosen: dict[str, list[str]] = {split: [] for split in SPLITS}
    seen: set[str] = set()
    for _ in range(_MAX_ID_DRAWS):
        if all(len(chosen[split]) == quotas[split] for split in chosen):
            return chosen
        speaker_id = f"{int(rng.integers(0, 2**32)):08x}"
        if speaker_id in seen:
            continue
        seen.add(speaker_id)
        split = which_set(
            f"{speaker_id}_nohash_0.wav",
            validation_percentage=validation_percentage,
            testing_percentage=testing_percentage,
        )
        if len(chosen[split]) < quotas[split]:
            chosen[split].append(speaker_id)
    raise InputError(
        f"synthetic archive: could not fill the split quotas {quotas} with random speaker ids; "
        "use validation and testing percentages between 1 and 45"
    )


def assign_utterances(
    speaker_ids: list[str], utterances_per_word: int, seed: int
) -> list[tuple[int, str, int, int]]:
    """(word index, speaker id, speaker index, utterance n) for every clip, sorted by path.

    Each word gets exactly ``utterances_per_word`` clips, dealt round-robin over a per-word
    random order of the speakers, so words stay balanced and speakers differ in how often
    they repeat a word (as in the real set).
    """
    rng = np.random.default_rng([seed, STREAM_ASSIGN])
    clips = []
    for word_index in range(len(WORDS)):
        order = rng.permutation(len(speaker_ids))
        repeats: dict[int, int] = {}
        for j in range(utterances_per_word):
            speaker_index = int(order[j % len(order)])
            n = repeats.get(speaker_index, 0)
            repeats[speaker_index] = n + 1
            clips.append((word_index, speaker_ids[speaker_index], speaker_index, n))
    clips.sort(key=lambda c: (WORDS[c[0]], c[1], c[3]))
    return clips
