"""Speech Commands class labels, clip-name parsing and the data set's own split rule.

Clips are named ``<word>/<speaker>_nohash_<n>.wav``. The data set assigns a clip to the
training, validation or test split from a SHA-1 hash of the speaker part alone, so every clip of
one speaker lands in the same split and the assignment never changes when files are added; the
official ``validation_list.txt`` and ``testing_list.txt`` of v0.01 were produced by this rule.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath

#: The ten digit words the paper uses, in label order.
BACKGROUND_DIR = "_background_noise_"
TESTING_LIST = "testing_list.txt"
VALIDATION_LIST = "validation_list.txt"
"""Names of the background-noise folder and the two split lists inside the archive."""

WORDS: tuple[str, ...] = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
)

#: The 12 output classes of the original network: index 0 unknown, 1 silence, 2..11 the digits.
LABELS: tuple[str, ...] = ("unknown", "silence", *WORDS)

#: The split names used in manifests and by :func:`which_set`.
SPLITS: tuple[str, ...] = ("train", "validation", "test")

#: Largest number of clips per class the hashing rule is designed for (2**27 - 1).
MAX_NUM_WAVS_PER_CLASS = 2**27 - 1

_CLIP_NAME = re.compile(r"^(?P<speaker>.+?)_nohash_(?P<utterance>\d+)\.wav$")
_LABEL_INDEX = {label: index for index, label in enumerate(LABELS)}


def label_index(word: str) -> int:
    """Index of ``word`` ('unknown', 'silence' or a digit word) in :data:`LABELS`."""
    try:
        return _LABEL_INDEX[word]
    except KeyError:
        raise ValueError(f"'{word}' is not one of the labels {', '.join(LABELS)}") from None


def parse_clip_name(filename: str) -> tuple[str, int]:
    """``(speaker, utterance)`` of a clip path such as ``five/0a7c2a8d_nohash_1.wav``.

    Raises ValueError when the base name does not follow ``<speaker>_nohash_<n>.wav``.
    """
    base = PurePosixPath(str(filename).replace("\\", "/")).name
    match = _CLIP_NAME.match(base)
    if match is None:
        raise ValueError(f"'{filename}' is not named <speaker>_nohash_<n>.wav")
    return match.group("speaker"), int(match.group("utterance"))


def split_percentage(filename: str) -> float:
    """Where the clip's speaker falls in [0, 100] under the data set's SHA-1 rule.

    The base name with everything from ``_nohash_`` on removed is hashed with SHA-1; the digest
    as an integer modulo 2**27, scaled by 100 / (2**27 - 1), is the percentage.
    """
    base = PurePosixPath(str(filename).replace("\\", "/")).name
    speaker = re.sub(r"_nohash_.*$", "", base)
    digest = int(hashlib.sha1(speaker.encode("utf-8")).hexdigest(), 16)
    return (digest % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)


def which_set(
    filename: str, validation_percentage: float = 10.0, testing_percentage: float = 10.0
) -> str:
    """The split ('train', 'validation' or 'test') the data set's hashing rule gives a clip.

    Percentages below ``validation_percentage`` are validation, the next
    ``testing_percentage`` are test, the rest training (the order of the original rule).
    Note the names follow this project's manifests, not the original 'training'/'testing'.
    """
    percentage = split_percentage(filename)
    if percentage < validation_percentage:
        return "validation"
    if percentage < validation_percentage + testing_percentage:
        return "test"
    return "train"
