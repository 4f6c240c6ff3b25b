"""WAV reading, resampling, fixed length, and loading the manifest's clips (bad files too)."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from sparse_pkg.audio.wav import encode_wav, fix_length, read_wav, to_16k
from sparse_pkg.datasets.gsc import build_manifest, load_clips, write_skipped_sidecar
from sparse_pkg.errors import InputError


def test_fix_length_pads_and_truncates_1d_and_batched():
    x = torch.tensor([1.0, 2.0, 3.0])
    assert fix_length(x, 5).tolist() == [1.0, 2.0, 3.0, 0.0, 0.0]
    assert fix_length(x, 2).tolist() == [1.0, 2.0]
    assert fix_length(x, 3) is x
    batch = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert fix_length(batch, 4).tolist() == [[1.0, 2.0, 3.0, 0.0], [4.0, 5.0, 6.0, 0.0]]
    assert fix_length(batch, 1).tolist() == [[1.0], [4.0]]


def test_read_wav_scales_int16_by_32768(tmp_path):
    pcm = np.array([-32768, -16384, 0, 1, 32767], dtype=np.int16)
    sf.write(tmp_path / "a.wav", pcm, 16000, subtype="PCM_16")
    samples, rate = read_wav(tmp_path / "a.wav")
    assert rate == 16000 and samples.dtype == torch.float32
    assert samples.tolist() == [-1.0, -0.5, 0.0, 1 / 32768, 32767 / 32768]


def test_read_wav_averages_stereo(tmp_path):
    left = np.array([1000, 2000, -4000], dtype=np.int16)
    right = np.array([3000, 0, 4000], dtype=np.int16)
    sf.write(tmp_path / "s.wav", np.stack([left, right], axis=1), 16000, subtype="PCM_16")
    samples, _ = read_wav(tmp_path / "s.wav")
    assert samples.tolist() == [2000 / 32768, 1000 / 32768, 0.0]


def test_encode_wav_round_trips_through_soundfile_and_read_wav(tmp_path):
    samples = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0], dtype=np.float32)
    data = encode_wav(samples)
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and len(data) == 44 + 2 * 6
    back, rate = sf.read(io.BytesIO(data), dtype="int16")
    assert rate == 16000
    assert back.tolist() == [0, 16384, -16384, 32767, -32767, 32767]  # clipped to [-1, 1]
    (tmp_path / "clip.wav").write_bytes(data)
    read, rate = read_wav(tmp_path / "clip.wav")
    assert rate == 16000 and torch.equal(read, torch.tensor(back / 32768.0, dtype=torch.float32))


def test_to_16k_resamples_8k_sine(tmp_path):
    t = np.arange(8000) / 8000
    sf.write(tmp_path / "low.wav", (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16),
             8000, subtype="PCM_16")
    samples, rate = read_wav(tmp_path / "low.wav")
    assert rate == 8000 and samples.shape == (8000,)
    up = to_16k(samples, rate)
    assert up.shape == (16000,)
    expected = 0.5 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    # away from the edges the band-limited resampler reproduces the sine closely
    assert np.abs(up.numpy()[500:-500] - expected[500:-500]).max() < 2e-3
    same = torch.ones(3)
    assert to_16k(same, 16000) is same


def test_load_clips_of_real_sample(gsc_sample):
    manifest = build_manifest(gsc_sample)
    clips, skipped = load_clips(manifest, gsc_sample)
    assert skipped == []
    assert clips.shape == (100, 16000) and clips.dtype == torch.float32
    lengths = [sf.info(gsc_sample / p).frames for p in manifest["path"]]
    short = [i for i, n in enumerate(lengths) if n < 16000]
    assert len(short) == 5
    for i in range(len(manifest)):
        pcm = sf.read(gsc_sample / manifest["path"][i], dtype="int16")[0]
        n = min(len(pcm), 16000)
        assert torch.equal(clips[i, :n], torch.from_numpy(pcm[:n].astype(np.float32) / 32768))
        if n < 16000:
            assert not clips[i, n:].any()


def _bad_dir(tmp_path):
    (tmp_path / "one").mkdir()
    good = (np.arange(100, dtype=np.int16) * 100)
    sf.write(tmp_path / "one" / "aa_nohash_0.wav", good, 16000, subtype="PCM_16")
    sf.write(tmp_path / "one" / "bb_nohash_0.wav", np.zeros(0, np.int16), 16000, subtype="PCM_16")
    (tmp_path / "one" / "cc_nohash_0.wav").write_text("this is not audio\n")
    sf.write(tmp_path / "one" / "dd_nohash_0.wav", good[::-1].copy(), 16000, subtype="PCM_16")
    return build_manifest(tmp_path), good


@pytest.mark.parametrize("name", ["bb_nohash_0.wav", "cc_nohash_0.wav"])
def test_bad_wav_stops_with_its_path(tmp_path, name):
    manifest, _ = _bad_dir(tmp_path)
    only = manifest[manifest["path"] == f"one/{name}"]
    with pytest.raises(InputError) as caught:
        load_clips(only, tmp_path)
    assert str(tmp_path / "one" / name) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_skip_bad_leaves_bad_files_out_and_reports_them(tmp_path):
    manifest, good = _bad_dir(tmp_path)
    clips, skipped = load_clips(manifest, tmp_path, skip_bad=True)
    assert [s["path"] for s in skipped] == ["one/bb_nohash_0.wav", "one/cc_nohash_0.wav"]
    assert "no samples" in skipped[0]["reason"]
    assert clips.shape == (2, 16000)
    expected = torch.from_numpy(good.astype(np.float32) / 32768)
    assert torch.equal(clips[0, :100], expected)
    assert torch.equal(clips[1, :100], expected.flip(0))
    kept = manifest[~manifest["path"].isin([s["path"] for s in skipped])]
    assert kept["path"].tolist() == ["one/aa_nohash_0.wav", "one/dd_nohash_0.wav"]

    sidecar = tmp_path / "manifest.skipped.json"
    write_skipped_sidecar(skipped, sidecar)
    payload = json.loads(sidecar.read_text())
    assert payload["count"] == 2
    assert [s["path"] for s in payload["skipped"]] == [s["path"] for s in skipped]


def test_missing_wav_is_input_error(tmp_path):
    manifest = pd.DataFrame({"path": ["one/gone_nohash_0.wav"]})
    with pytest.raises(InputError, match="gone_nohash_0.wav"):
        load_clips(manifest, tmp_path)
