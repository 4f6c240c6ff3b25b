"""WAV reading and writing, and the fixed-length 16 kHz mono waveform every later stage expects.

Integer PCM is scaled to [-1, 1) by dividing by 2**(bits-1) (32768 for 16-bit), which is what
``librosa.load`` returns for the same file; multi-channel audio is averaged to mono; other
sample rates are resampled to 16 kHz with torchaudio's band-limited sinc resampler (the
original used librosa's resampler, but every Speech Commands clip is already 16 kHz).

torchaudio is imported only there, when a clip is not 16 kHz: it is a compiled extension tied to
one exact torch release, and a broken or missing install must fail that one code path with one
line, not every script of the pipeline at import time.
"""

from __future__ import annotations

import io
import os
import wave
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F

from sparse_pkg.errors import InputError

SAMPLE_RATE = 16000
CLIP_SAMPLES = 16000


def read_wav(path: str | os.PathLike) -> tuple[torch.Tensor, int]:
    """Samples of the audio file at ``path`` as a float32 1-D mono tensor, and its sample rate.

    A missing, unreadable, non-audio, empty or non-finite file is an InputError naming it.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{file}: audio file not found; extract the data set again")
    try:
        data, rate = sf.read(file, dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, OSError, ValueError, TypeError) as exc:
        detail = " ".join(str(exc).replace(f"Error opening {str(file)!r}: ", "").split())
        detail = detail or type(exc).__name__
        raise InputError(
            f"{file}: not a readable audio file ({detail}); replace it with a good copy "
            "(extract the data set again)"
        ) from None
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise InputError(
            f"{file}: audio file has no samples; replace it with a good copy"
        )
    frames = torch.from_numpy(data)
    samples = frames.mean(dim=1) if frames.shape[1] > 1 else frames[:, 0]
    if not bool(torch.isfinite(samples).all()):
        raise InputError(
            f"{file}: audio file holds NaN or infinite samples; replace it with a good copy"
        )
    return samples.contiguous(), int(rate)


def encode_wav(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """16-bit PCM mono WAV file bytes (plain 44-byte RIFF header) of float samples in [-1, 1].

    Samples are clipped to [-1, 1] and scaled by 32767 (so 1.0 -> 32767, -1.0 -> -32767).
    """
    pcm = np.round(np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0) * 32767.0)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(pcm.astype("<i2").tobytes())
    return buffer.getvalue()


def to_16k(samples: torch.Tensor, sample_rate: int, target_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """``samples`` (last dimension = time) resampled from ``sample_rate`` to ``target_rate``.

    Returned unchanged (same tensor) when the rates already agree.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate}")
    if int(sample_rate) == int(target_rate):
        return samples
    return _torchaudio_functional().resample(samples, int(sample_rate), int(target_rate))


def _torchaudio_functional():
    """``torchaudio.functional``, or an InputError saying how to repair the install."""
    try:
        import torchaudio.functional
    except (ImportError, OSError) as exc:  # OSError: extension built for another torch
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InputError(
            f"torchaudio cannot be loaded ({reason}); it is needed to resample audio that is not "
            f"{SAMPLE_RATE} Hz: reinstall the locked torch/torchaudio pair with "
            "`pip install --require-hashes -r requirements/runtime.txt` (make run does this), "
            "or convert the WAV files to 16 kHz"
        ) from None
    return torchaudio.functional


def fix_length(x: torch.Tensor, length: int = CLIP_SAMPLES) -> torch.Tensor:
    """``x`` padded with zeros at the end, or truncated, to ``length`` samples on its last axis.

    Works on a single 1-D clip and on batches (..., time) alike.
    """
    current = x.shape[-1]
    if current == length:
        return x
    if current > length:
        return x[..., :length]
    return F.pad(x, (0, length - current))
