"""The GSC tensor sets' building blocks: one split of the manifest, the silence class, and the
training features (clean, or the augmented copies that epochs draw from)."""

from __future__ import annotations

import pandas as pd
import pytest
import soundfile as sf
import torch

from sparse_pkg.audio.augment import augment_dataset
from sparse_pkg.audio.features import clean_features
from sparse_pkg.datasets.gsc_sets import add_silence, load_split, training_features
from sparse_pkg.datasets.gsc_splits import label_index
from sparse_pkg.errors import InputError
from sparse_pkg.io.atomic import write_parquet


def _waveforms(n: int) -> torch.Tensor:
    return torch.rand(n, 16_000, generator=torch.Generator().manual_seed(n)) * 0.2 - 0.1


def test_load_split_reads_that_splits_clips_and_labels_in_order(tmp_path):
    """Rows of the split only, in manifest order, with int64 labels; no clip: one line."""
    rows = []
    for i, (word, split) in enumerate([("one", "train"), ("two", "test"), ("nine", "train")]):
        path = f"{word}/s{i}_nohash_0.wav"
        (tmp_path / word).mkdir()
        sf.write(tmp_path / path, (_waveforms(1)[0] * (i + 1)).numpy(), 16_000, subtype="FLOAT")
        rows.append({"path": path, "word": word, "speaker": f"s{i}", "utterance": 0,
                     "label": label_index(word), "split": split})
    write_parquet(pd.DataFrame(rows), tmp_path / "manifest.parquet")
    waveforms, labels = load_split(tmp_path / "manifest.parquet", tmp_path, "train")
    assert labels.dtype == torch.int64
    assert labels.tolist() == [label_index("one"), label_index("nine")]
    torch.testing.assert_close(waveforms[1], _waveforms(1)[0] * 3)
    with pytest.raises(InputError, match=r"manifest\.parquet: no validation clips; is the"):
        load_split(tmp_path / "manifest.parquet", tmp_path, "validation")


def test_silence_is_a_share_of_zero_clips_appended_at_the_end():
    waveforms, labels = _waveforms(25), torch.arange(25)
    out, out_labels, added = add_silence(waveforms, labels, 0.1)
    assert added == 2 and out.shape == (27, 16_000)
    torch.testing.assert_close(out[:25], waveforms)
    assert not out[25:].any()
    assert out_labels[:25].tolist() == list(range(25))
    assert out_labels[25:].tolist() == [label_index("silence")] * 2
    assert add_silence(waveforms, labels, 0.0)[2] == 0


def test_training_features_clean_or_one_augmented_copy_per_index():
    """0 copies: the clean features; else copy c is augment_dataset's copy c of that seed."""
    waveforms = _waveforms(3)
    torch.testing.assert_close(training_features(waveforms, 0, 5), clean_features(waveforms))
    copies = training_features(waveforms, 2, 5)
    assert copies.shape == (3, 2, 32, 32)
    for copy in range(2):
        torch.testing.assert_close(copies[:, copy], augment_dataset(waveforms, 5, copy))
    assert not torch.equal(copies[:, 0], copies[:, 1])
