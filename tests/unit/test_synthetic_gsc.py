"""Tests of the synthetic Speech Commands archive writer and its speech-like synthesiser."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from sparse_pkg.audio.features import log_mel_spectrogram
from sparse_pkg.audio.wav import SAMPLE_RATE
from sparse_pkg.datasets.gsc import build_manifest, extract_gsc
from sparse_pkg.datasets.gsc_splits import WORDS, which_set
from sparse_pkg.errors import InputError
from sparse_pkg.synthetic.archive import write_synthetic_archive
from sparse_pkg.synthetic.background import BACKGROUND_KINDS, background_noise
from sparse_pkg.synthetic.roster import draw_speaker_ids
from sparse_pkg.synthetic.speakers import draw_speaker
from sparse_pkg.synthetic.speech import synthesize_word
from sparse_pkg.synthetic.words import WORD_SEGMENTS

CLIP = re.compile(
    r"^(zero|one|two|three|four|five|six|seven|eight|nine)/[0-9a-f]{8}_nohash_\d+\.wav$"
)
TINY = {
    "speakers": 6,
    "utterances_per_word": 9,
    "seed": 3,
    "short_clip_fraction": 0.2,
    "background_seconds": 2.0,
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, object]:
    path = tmp_path_factory.mktemp("synthetic") / "speech_commands_v0.01.tar.gz"
    summary = write_synthetic_archive(path, **TINY)
    return path, summary


@pytest.fixture(scope="module")
def members(tiny) -> dict[str, bytes | None]:
    """Archive member name -> file bytes (None for folders)."""
    with tarfile.open(tiny[0], "r:gz") as tar:
        return {
            m.name.rstrip("/"): (tar.extractfile(m).read() if m.isfile() else None)
            for m in tar.getmembers()
        }


def _clips(members: dict[str, bytes | None]) -> dict[str, bytes]:
    return {name: data for name, data in members.items() if CLIP.match(name)}


def _list(members: dict[str, bytes | None], name: str) -> list[str]:
    return members[name].decode("utf-8").splitlines()


def test_layout_has_digit_clips_lists_background_and_license(members):
    files = {name for name, data in members.items() if data is not None}
    others = {name for name in files if not CLIP.match(name)}
    background = {name for name in others if name.startswith("_background_noise_/")}
    assert others - background == {
        "LICENSE",
        "README.md",
        "testing_list.txt",
        "validation_list.txt",
    }
    assert background == {f"_background_noise_/{kind}.wav" for kind in BACKGROUND_KINDS} | {
        "_background_noise_/README.md"
    }
    assert {name.split("/")[0] for name in _clips(members)} == set(WORDS)
    assert "synthetic" in members["LICENSE"].decode().lower()
    assert "SYNTHETIC DATA" in members["README.md"].decode()


def test_every_wav_is_16k_int16_mono(members):
    clips = _clips(members)
    lengths = []
    for name, data in clips.items():
        info = sf.info(io.BytesIO(data))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16"), name
        samples, _ = sf.read(io.BytesIO(data), dtype="int16")
        assert samples.dtype == np.int16 and np.abs(samples.astype(np.int64)).max() > 100
        lengths.append(samples.shape[0])
    lengths = np.array(lengths)
    assert lengths.max() == 16000
    short = lengths[lengths < 16000]  # the short-clip fraction of 0.2 gives some short clips
    assert 1 <= short.size < len(lengths) // 2 and short.min() >= int(0.55 * 16000)
    for kind in BACKGROUND_KINDS:
        info = sf.info(io.BytesIO(members[f"_background_noise_/{kind}.wav"]))
        assert (info.samplerate, info.channels, info.frames) == (16000, 1, 2 * 16000)


def test_lists_follow_the_hashing_rule(members, tiny):
    clips = sorted(_clips(members))
    testing = _list(members, "testing_list.txt")
    validation = _list(members, "validation_list.txt")
    assert testing == sorted(c for c in clips if which_set(c) == "test")
    assert validation == sorted(c for c in clips if which_set(c) == "validation")
    assert testing and validation and not set(testing) & set(validation)
    summary = tiny[1]
    assert summary.clips_per_split == {
        "train": len(clips) - len(testing) - len(validation),
        "validation": len(validation),
        "test": len(testing),
    }
    # 6 speakers at 10 % / 10 %: one validation speaker, one test speaker, four training ones
    assert summary.speakers_per_split == {"train": 4, "validation": 1, "test": 1}
    assert len({c.split("/")[1].split("_")[0] for c in testing}) == 1


def test_words_are_balanced_and_speakers_are_distinct(members, tiny):
    clips = _clips(members)
    per_word = Counter(name.split("/")[0] for name in clips)
    assert per_word == {word: TINY["utterances_per_word"] for word in WORDS}
    speakers = {name.split("/")[1].split("_nohash_")[0] for name in clips}
    assert len(speakers) == TINY["speakers"] == tiny[1].speakers
    assert tiny[1].clips == len(clips) == 10 * TINY["utterances_per_word"]
    # 9 clips of a word over 6 speakers: repeats are numbered 0, 1, ... per speaker and word
    for word in WORDS:
        numbers = Counter(
            name.split("/")[1].split("_nohash_")[0] for name in clips if name.startswith(f"{word}/")
        )
        assert sorted(numbers.values()) == [1, 1, 1, 2, 2, 2]
        for speaker, count in numbers.items():
            expected = {f"{word}/{speaker}_nohash_{n}.wav" for n in range(count)}
            assert expected <= set(clips)
    assert len(set(clips.values())) == len(clips)  # no two clips are the same bytes


def test_the_real_extract_and_manifest_code_reads_it(tiny, tmp_path):
    extract_gsc(tiny[0], tmp_path / "gsc")
    manifest = build_manifest(tmp_path / "gsc")
    assert len(manifest) == tiny[1].clips
    assert (manifest["split"] == [which_set(p) for p in manifest["path"]]).all()
    assert (tmp_path / "gsc" / "_background_noise_" / "pink_noise.wav").is_file()


def test_archive_bytes_are_pinned(tiny):
    """The tiny archive's SHA-256, fixed when the demo data was fixed: a change to the
    synthesiser, the speaker roster, the WAV encoding or the tar layout changes the demo's data
    (and so its results) and must be deliberate."""
    digest = hashlib.sha256(tiny[0].read_bytes()).hexdigest()
    assert digest == "14ca4174abf5c42cd88e899c9d0b2d8e9139f854ed0107d28813e171a5d3749b"


def test_same_arguments_give_the_same_bytes_and_another_seed_differs(tmp_path):
    small = dict(TINY, speakers=4, utterances_per_word=2, background_seconds=1.0)
    first, second, other = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz", tmp_path / "c.tar.gz"
    write_synthetic_archive(first, **small)
    write_synthetic_archive(second, **small)
    write_synthetic_archive(other, **dict(small, seed=small["seed"] + 1))
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    raw = first.read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\x00\x00\x00\x00"  # gzip mtime 0
    with tarfile.open(first, "r:gz") as tar:
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in tar} == {(0, 0, 0, "", "")}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar.gz", "b.tar.gz", "c.tar.gz"]


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"speakers": 2}, "speakers"),
        ({"utterances_per_word": 0}, "utterances_per_word"),
        ({"short_clip_fraction": 1.5}, "short_clip_fraction"),
        ({"testing_percentage": 60.0}, "testing_percentage"),
    ],
)
def test_bad_arguments_raise_one_line_input_error_and_write_nothing(tmp_path, change, key):
    target = tmp_path / "out.tar.gz"
    with pytest.raises(InputError) as excinfo:
        write_synthetic_archive(target, **dict(TINY, **change))
    assert key in str(excinfo.value) and "\n" not in str(excinfo.value)
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_speaker_ids_fill_each_split_quota_by_the_hashing_rule():
    ids = draw_speaker_ids(40, seed=11)
    assert {split: len(v) for split, v in ids.items()} == {"train": 32, "validation": 4, "test": 4}
    for split, speakers in ids.items():
        for speaker in speakers:
            assert re.fullmatch(r"[0-9a-f]{8}", speaker)
            assert which_set(f"{speaker}_nohash_0.wav") == split
    assert ids == draw_speaker_ids(40, seed=11) and ids != draw_speaker_ids(40, seed=12)


def _utterances(speakers: int, repeats: int, seed: int) -> np.ndarray:
    """(speaker, word, repeat, 16000) clips of every word."""
    voices = [draw_speaker(np.random.default_rng([seed, s])) for s in range(speakers)]
    return np.stack(
        [
            np.stack(
                [
                    np.stack(
                        [
                            synthesize_word(word, voice, np.random.default_rng([seed, s, w, r]))
                            for r in range(repeats)
                        ]
                    )
                    for w, word in enumerate(WORD_SEGMENTS)
                ]
            )
            for s, voice in enumerate(voices)
        ]
    )


def test_words_differ_more_than_repeats_and_speakers_differ():
    """Mean log-mel spectrum over each clip's loudest frames, compared between clips.

    Repeats of a word by one speaker are closer than different words by that speaker, and
    one word said by different speakers is closer than different words by different speakers
    but farther than that word's repeats by one speaker.
    """
    clips = _utterances(speakers=4, repeats=3, seed=21)
    mel = log_mel_spectrogram(torch.from_numpy(clips.reshape(-1, 16000))).numpy()
    loud = np.argsort(mel.mean(axis=1), axis=1)[:, -12:]  # the 12 loudest frames of each clip
    profile = np.take_along_axis(mel, loud[:, None, :], axis=2).mean(axis=2)
    profile -= profile.mean(axis=1, keepdims=True)
    distance = np.sqrt(((profile[:, None] - profile[None]) ** 2).mean(axis=2))
    speaker, word, _ = np.meshgrid(range(4), range(10), range(3), indexing="ij")
    speaker, word = speaker.ravel(), word.ravel()
    same_speaker = speaker[:, None] == speaker[None]
    same_word = word[:, None] == word[None]
    pairs = np.triu(np.ones_like(distance, dtype=bool), k=1)
    repeats = distance[pairs & same_speaker & same_word].mean()
    other_words = distance[pairs & same_speaker & ~same_word].mean()
    other_speakers = distance[pairs & ~same_speaker & same_word].mean()
    both = distance[pairs & ~same_speaker & ~same_word].mean()
    assert repeats * 1.15 < other_words
    assert other_speakers < both
    assert repeats * 1.15 < other_speakers


def _f0(clip: np.ndarray) -> float:
    """Pitch (Hz) by autocorrelation of the clip's loudest 60 ms."""
    frames = np.lib.stride_tricks.sliding_window_view(clip, 960)[::160]
    frame = frames[np.argmax((frames**2).sum(axis=1))]
    frame = frame - frame.mean()
    corr = np.correlate(frame, frame, "full")[frame.size - 1 :]
    low, high = SAMPLE_RATE // 400, SAMPLE_RATE // 70
    return SAMPLE_RATE / (low + int(np.argmax(corr[low:high])))


@pytest.mark.parametrize("pitch", [100.0, 220.0])
def test_voice_pitch_follows_the_speaker(pitch):
    voice = dataclasses.replace(draw_speaker(np.random.default_rng(5)), pitch_hz=pitch)
    estimates = [
        _f0(synthesize_word(word, voice, np.random.default_rng([5, i])))
        for i, word in enumerate(("one", "two", "three", "four", "eight", "nine"))
    ]
    assert abs(np.median(estimates) / pitch - 1.0) < 0.15


def test_fricative_words_carry_more_high_frequency_energy():
    """'six' (s ... k s) has much more energy above 4 kHz than 'one' (w ah n).

    Only the noise floor and background sounds put energy up there in 'one'.
    """

    def high_share(word: str) -> float:
        shares = []
        for i in range(6):
            clip = synthesize_word(
                word, draw_speaker(np.random.default_rng([8, i])), np.random.default_rng(i)
            )
            power = np.abs(np.fft.rfft(clip)) ** 2
            freqs = np.fft.rfftfreq(clip.size, 1.0 / SAMPLE_RATE)
            shares.append(power[freqs > 4000].sum() / power.sum())
        return float(np.median(shares))

    assert high_share("six") > 3 * high_share("one")


def test_synthesis_is_deterministic_and_fits_the_clip():
    voice = draw_speaker(np.random.default_rng(1))
    a = synthesize_word("seven", voice, np.random.default_rng(2), length=9000)
    b = synthesize_word("seven", voice, np.random.default_rng(2), length=9000)
    c = synthesize_word("seven", voice, np.random.default_rng(3), length=9000)
    assert a.dtype == np.float32 and a.shape == (9000,) and np.abs(a).max() <= 1.0
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    with pytest.raises(ValueError, match="bed"):
        synthesize_word("bed", voice, np.random.default_rng(0))


def _band_db(signal: np.ndarray, low: float, high: float) -> float:
    power = np.abs(np.fft.rfft(signal)) ** 2
    freqs = np.fft.rfftfreq(signal.size, 1.0 / SAMPLE_RATE)
    return float(10 * np.log10(power[(freqs >= low) & (freqs < high)].mean()))


@pytest.mark.parametrize(
    ("kind", "drop_db"), [("white_noise", 0.0), ("pink_noise", 6.0), ("brown_noise", 12.0)]
)
def test_background_noise_colours_have_their_spectral_slope(kind, drop_db):
    """Power density two octaves up: white flat, pink -3 dB/octave, brown -6 dB/octave."""
    noise = background_noise(kind, 4.0, np.random.default_rng(0))
    assert noise.dtype == np.float32 and noise.shape == (4 * SAMPLE_RATE,)
    assert abs(np.sqrt(np.mean(noise.astype(np.float64) ** 2)) - 0.1) < 0.01
    drop = _band_db(noise, 500.0, 1000.0) - _band_db(noise, 2000.0, 4000.0)
    assert abs(drop - drop_db) < 1.5


def test_mains_hum_peaks_at_50_hz():
    hum = background_noise("mains_hum", 2.0, np.random.default_rng(0)).astype(np.float64)
    power = np.abs(np.fft.rfft(hum)) ** 2
    freqs = np.fft.rfftfreq(hum.size, 1.0 / SAMPLE_RATE)
    assert freqs[np.argmax(power)] == pytest.approx(50.0)
    assert _band_db(hum, 45, 55) - _band_db(hum, 1000, 2000) > 40
