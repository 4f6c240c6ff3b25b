"""GSC labels, split rule, extraction of the digit words and the split manifest."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sparse_pkg.datasets.gsc import (
    build_manifest,
    extract_gsc,
    read_manifest,
    wanted_member,
)
from sparse_pkg.datasets.gsc_splits import (
    LABELS,
    WORDS,
    label_index,
    parse_clip_name,
    which_set,
)
from sparse_pkg.errors import InputError
from sparse_pkg.io.atomic import write_parquet


def _official(sample: Path) -> dict[str, str]:
    test = (sample / "testing_list.txt").read_text().split()
    valid = (sample / "validation_list.txt").read_text().split()
    splits = {path: "test" for path in test}
    splits.update({path: "validation" for path in valid})
    return splits


def _sample_wavs(sample: Path) -> list[str]:
    return sorted(p.relative_to(sample).as_posix() for p in sample.glob("*/*.wav"))


def test_labels_and_words():
    assert WORDS == ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    assert LABELS[:2] == ("unknown", "silence") and len(LABELS) == 12
    assert label_index("unknown") == 0
    assert label_index("silence") == 1
    assert label_index("zero") == 2
    assert label_index("nine") == 11
    with pytest.raises(ValueError, match="yes"):
        label_index("yes")


def test_parse_clip_name():
    assert parse_clip_name("five/0a7c2a8d_nohash_1.wav") == ("0a7c2a8d", 1)
    assert parse_clip_name("a_b_nohash_12.wav") == ("a_b", 12)
    with pytest.raises(ValueError):
        parse_clip_name("five/README.wav")


def test_which_set_percentages_and_speaker_grouping():
    names = [f"{w}/{s:08x}_nohash_{u}.wav" for w in WORDS for s in range(40) for u in range(2)]
    assert {which_set(n, 0.0, 0.0) for n in names} == {"train"}
    assert {which_set(n, 100.0, 0.0) for n in names} == {"validation"}
    assert {which_set(n, 0.0, 100.0) for n in names} == {"test"}
    # the split depends on the speaker only: the same speaker in every word and utterance agrees
    by_speaker = {}
    for n in names:
        by_speaker.setdefault(n.split("/")[1].split("_")[0], set()).add(which_set(n))
    assert all(len(splits) == 1 for splits in by_speaker.values())
    assert {s for splits in by_speaker.values() for s in splits} == {"train", "validation", "test"}


def test_which_set_reproduces_official_lists(gsc_sample):
    official = _official(gsc_sample)
    wavs = _sample_wavs(gsc_sample)
    assert len(wavs) == 100
    assert {p: which_set(p) for p in wavs} == {p: official.get(p, "train") for p in wavs}


def _archive_from_sample(sample: Path, tmp: Path, *, lists: bool = True) -> Path:
    """A tar.gz in the official layout ('./word/clip.wav') plus unwanted and noise members."""
    staging = tmp / "staging"
    for word in WORDS:
        shutil.copytree(sample / word, staging / word)
    if lists:
        for name in ("testing_list.txt", "validation_list.txt"):
            # a non-digit entry, in both lists, must be ignored
            text = (sample / name).read_text() + "yes/00000000_nohash_0.wav\n"
            (staging / name).write_text(text)
    (staging / "yes").mkdir()
    sf.write(staging / "yes" / "00000000_nohash_0.wav", np.zeros(800, np.int16), 16000)
    (staging / "_background_noise_").mkdir()
    sf.write(staging / "_background_noise_" / "hum.wav", np.ones(20000, np.int16), 16000)
    (staging / "LICENSE").write_text("CC BY 4.0")
    archive = tmp / "speech_commands_v0.01.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staging, arcname=".")
    return archive


@pytest.fixture(scope="module")
def sample_archive(gsc_sample, tmp_path_factory):
    return _archive_from_sample(gsc_sample, tmp_path_factory.mktemp("archive"))


@pytest.fixture
def extracted(sample_archive, tmp_path):
    root = tmp_path / "gsc"
    names = extract_gsc(sample_archive, root)
    return root, names


def test_extract_gsc_keeps_only_wanted_members(extracted):
    root, names = extracted
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [*WORDS, "_background_noise_", "testing_list.txt", "validation_list.txt"]
    )
    assert not (root / "yes").exists() and not (root / "LICENSE").exists()
    assert sum(name.endswith(".wav") for name in names) == 101  # 100 clips + 1 noise file
    assert (root / "_background_noise_" / "hum.wav").is_file()


def test_manifest_of_real_sample_end_to_end(extracted, gsc_sample):
    root, _ = extracted
    manifest = build_manifest(root)
    assert list(manifest.columns) == ["path", "word", "speaker", "utterance", "label", "split"]
    assert len(manifest) == 100
    assert manifest["split"].value_counts().to_dict() == {"train": 62, "test": 22, "validation": 16}
    assert manifest["path"].tolist() == sorted(manifest["path"])
    assert manifest["path"].tolist() == _sample_wavs(gsc_sample)
    official = _official(gsc_sample)
    assert manifest["split"].tolist() == [official.get(p, "train") for p in manifest["path"]]
    assert str(manifest["utterance"].dtype) == "int64" and str(manifest["label"].dtype) == "int64"
    labels = manifest.groupby("word")["label"].agg(set).to_dict()
    assert labels == {word: {index + 2} for index, word in enumerate(WORDS)}
    row = manifest.set_index("path").loc["two/a8cb6dda_nohash_0.wav"]
    assert (row.word, row.speaker, row.utterance, row.label, row.split) == (
        "two", "a8cb6dda", 0, 4, official.get("two/a8cb6dda_nohash_0.wav", "train"))
    row = manifest.set_index("path").loc["eight/51055bda_nohash_4.wav"]
    assert (row.speaker, row.utterance, row.label) == ("51055bda", 4, 10)


def test_lists_absent_fall_back_to_hashing_rule(gsc_sample, tmp_path):
    root = tmp_path / "gsc"
    extract_gsc(_archive_from_sample(gsc_sample, tmp_path, lists=False), root)
    assert not (root / "testing_list.txt").exists()
    manifest = build_manifest(root)
    assert manifest["split"].tolist() == [which_set(p) for p in manifest["path"]]
    assert manifest["split"].value_counts().to_dict() == {"train": 62, "test": 22, "validation": 16}


def test_lists_take_precedence_over_hashing(extracted):
    root, _ = extracted
    manifest = build_manifest(root)
    moved = manifest.loc[manifest["split"] == "train", "path"].iloc[0]
    with open(root / "testing_list.txt", "a") as handle:
        handle.write(moved + "\n")
    again = build_manifest(root).set_index("path")["split"]
    assert again[moved] == "test"
    assert (again == "test").sum() == 23


def test_one_list_missing_is_input_error(extracted):
    root, _ = extracted
    (root / "validation_list.txt").unlink()
    with pytest.raises(InputError, match="validation_list.txt"):
        build_manifest(root)


def test_archive_without_digit_folders_is_input_error(tmp_path):
    staging = tmp_path / "staging" / "yes"
    staging.mkdir(parents=True)
    sf.write(staging / "abc_nohash_0.wav", np.zeros(10, np.int16), 16000)
    archive = tmp_path / "other.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staging.parent, arcname=".")
    with pytest.raises(InputError) as caught:
        extract_gsc(archive, tmp_path / "gsc")
    assert str(archive) in str(caught.value) and "zero" in str(caught.value)
    assert not (tmp_path / "gsc").exists()


def test_badly_named_clip_is_input_error(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "oops.wav").write_bytes(b"")
    with pytest.raises(InputError, match="oops.wav"):
        build_manifest(tmp_path)


def test_empty_root_is_input_error(tmp_path):
    with pytest.raises(InputError, match="no digit clips"):
        build_manifest(tmp_path)


def test_manifest_parquet_roundtrip_is_byte_deterministic(extracted, tmp_path):
    root, _ = extracted
    first, second = tmp_path / "m1.parquet", tmp_path / "m2.parquet"
    write_parquet(build_manifest(root), first)
    write_parquet(build_manifest(root), second)
    assert first.read_bytes() == second.read_bytes()
    back = read_manifest(first)
    pd.testing.assert_frame_equal(back, build_manifest(root))


def test_read_manifest_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_manifest(tmp_path / "absent.parquet")
    (tmp_path / "bad.parquet").write_text("nope")
    with pytest.raises(InputError, match="not a readable manifest"):
        read_manifest(tmp_path / "bad.parquet")
    pd.DataFrame({"path": ["a"]}).to_parquet(tmp_path / "cols.parquet")
    with pytest.raises(InputError, match="word"):
        read_manifest(tmp_path / "cols.parquet")


def test_wanted_member():
    assert wanted_member("zero/a_nohash_0.wav")
    assert wanted_member("_background_noise_/white_noise.wav")
    assert wanted_member("testing_list.txt")
    assert not wanted_member("yes/a_nohash_0.wav")
    assert not wanted_member("LICENSE")
    assert not wanted_member("zeros/a.wav")
