"""MNIST: IDX parsing (real t10k files and hand-made ones), download, the packaged data."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import importlib.resources
import shutil
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

import sparse_pkg.datasets.mnist as mnist_module
from sparse_pkg.datasets.mnist import (
    download_mnist,
    load_embedded_mnist,
    load_mnist_idx,
    load_mnist_split,
    load_packaged_mnist_test,
    mnist_sets,
    normalize_pixels,
    read_idx,
    to_tensor_set,
    unnormalize_pixels,
)
from sparse_pkg.datasets.sources import MNIST_FILES, MNIST_MD5
from sparse_pkg.errors import InputError
from sparse_pkg.io.checksum import file_digest

REPO = Path(__file__).resolve().parents[2]

T10K_MD5 = {
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
# Digits per class in the official test set (980 zeros, 1135 ones, ...).
T10K_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _idx_bytes(array: np.ndarray) -> bytes:
    """Hand-made IDX encoding of a uint8 array (magic 0x08 dtype, ndim, big-endian dims)."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _tiny_mnist(directory, compress=True):
    """Write four tiny IDX files (3 train, 2 test digits) and return the arrays."""
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.array([5, 0, 4], dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.array([7, 2], dtype=np.uint8),
    }
    for name, array in arrays.items():
        data = _idx_bytes(array)
        if compress:
            (directory / name).write_bytes(gzip.compress(data, mtime=0))
        else:
            (directory / name.removesuffix(".gz")).write_bytes(data)
    return arrays


def test_real_t10k_files_parse_and_match_their_md5(mnist_t10k):
    for name, md5 in T10K_MD5.items():
        assert file_digest(mnist_t10k / name, "md5") == md5
    images = read_idx(mnist_t10k / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(mnist_t10k / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and labels[0] == 7
    assert np.bincount(labels).tolist() == T10K_COUNTS
    assert images[0, 0, 0] == 0 and images.max() == 255


def test_load_mnist_split_reads_real_test_set(mnist_t10k):
    images, labels = load_mnist_split(mnist_t10k, "test")
    assert images.shape == (10_000, 28, 28)
    assert labels.dtype == np.int64 and labels[:4].tolist() == [7, 2, 1, 0]


def test_load_mnist_idx_reads_gzip_and_raw_files(tmp_path):
    (tmp_path / "gz").mkdir()
    (tmp_path / "raw").mkdir()
    arrays = _tiny_mnist(tmp_path / "gz")
    _tiny_mnist(tmp_path / "raw", compress=False)
    for folder in ("gz", "raw"):
        train_x, train_y, test_x, test_y = load_mnist_idx(tmp_path / folder)
        assert np.array_equal(train_x, arrays["train-images-idx3-ubyte.gz"])
        assert train_y.tolist() == [5, 0, 4] and train_y.dtype == np.int64
        assert np.array_equal(test_x, arrays["t10k-images-idx3-ubyte.gz"])
        assert test_y.tolist() == [7, 2]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"\x00\x00\x08\x02" + struct.pack(">2I", 1, 1) + b"\x00", "magic number 0x00000802"),
        (b"\x00\x00\x0d\x03" + struct.pack(">3I", 1, 2, 2) + bytes(16), "0x00000d03"),
        (b"\x00\x00\x08\x03" + struct.pack(">3I", 3, 28, 28) + bytes(2 * 784),
         "1568 bytes but the header dimensions 3x28x28 need 2352"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 4) + bytes(5), "5 bytes"),
        (b"\x00\x00\x08\x03\x00\x00", "header is truncated"),
        (b"\x00\x00", "too short"),
    ],
    ids=["bad-ndim", "bad-dtype", "truncated-images", "labels-too-long", "short-header",
         "tiny"],
)
def test_read_idx_rejects_bad_files(tmp_path, data, fragment):
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(InputError, match=fragment) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_rejects_truncated_gzip_and_missing_file(tmp_path):
    data = gzip.compress(_idx_bytes(np.zeros((5, 28, 28), np.uint8)))
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="corrupt gzip"):
        read_idx(path)
    with pytest.raises(InputError, match="not found"):
        read_idx(tmp_path / "absent.gz")


def test_mismatched_image_and_label_counts_are_rejected(tmp_path):
    _tiny_mnist(tmp_path)
    labels = np.array([1, 2, 3], dtype=np.uint8)  # 3 labels for 2 test images
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(labels)))
    with pytest.raises(InputError, match="do not belong together"):
        load_mnist_split(tmp_path, "test")


class _FileHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        payload = self.server.files.get(self.path)
        if payload is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def test_download_mnist_uses_mirrors_in_order_and_verifies_md5(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    arrays = _tiny_mnist(source)
    files = {f"/mirror2/{name}": (source / name).read_bytes() for name in arrays}
    md5s = {name: hashlib.md5(data).hexdigest() for name, data in
            ((path.rsplit("/", 1)[1], data) for path, data in files.items())}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FileHandler)
    httpd.files = files
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        dest = tmp_path / "mnist"
        download_mnist(dest, [f"{base}/mirror1/", f"{base}/mirror2"], md5s, retries=0,
                       progress="off")
        train_x, train_y, test_x, test_y = load_mnist_idx(dest)
        assert np.array_equal(test_x, arrays["t10k-images-idx3-ubyte.gz"])
        assert train_y.tolist() == [5, 0, 4]
        bad = dict(md5s, **{"t10k-labels-idx1-ubyte.gz": "f" * 32})
        (dest / "t10k-labels-idx1-ubyte.gz").unlink()
        with pytest.raises(InputError, match="f" * 32):
            download_mnist(dest, [f"{base}/mirror2"], bad, retries=0, progress="off")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_embedded_subset_is_real_balanced_mnist():
    images, labels = load_embedded_mnist()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (5000,) and labels.dtype == np.int64
    assert np.bincount(labels, minlength=10).tolist() == [500] * 10
    # MNIST statistics: mean pixel ~ 0.13 of full scale, borders blank, ink saturates.
    assert 0.12 < images.mean() / 255 < 0.145
    assert images[:, 0, :].max() == 0 and images.max() == 255
    assert len({row.tobytes() for row in images}) == 5000


def test_embedded_subset_is_disjoint_from_official_test_set():
    images, _ = load_embedded_mnist()
    test, _ = load_packaged_mnist_test()
    seen = {row.tobytes() for row in test}
    assert not any(row.tobytes() in seen for row in images)


def test_packaged_test_set_is_the_official_10000_digits():
    for name, md5 in T10K_MD5.items():
        with importlib.resources.as_file(
                importlib.resources.files("sparse_pkg").joinpath("data", name)) as path:
            assert file_digest(path, "md5") == md5
    images, labels = load_packaged_mnist_test()
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and labels[:4].tolist() == [7, 2, 1, 0]
    assert np.bincount(labels).tolist() == T10K_COUNTS


def test_packaged_test_set_matches_the_shared_official_files(mnist_t10k):
    images, labels = load_packaged_mnist_test()
    official_x, official_y = load_mnist_split(mnist_t10k, "test")
    assert np.array_equal(images, official_x) and np.array_equal(labels, official_y)


def _packaged_copy(tmp_path, monkeypatch):
    """A copy of the packaged test files in ``tmp_path`` that the loader reads instead."""
    for name in T10K_MD5:
        with importlib.resources.as_file(
                importlib.resources.files("sparse_pkg").joinpath("data", name)) as path:
            shutil.copyfile(path, tmp_path / name)
    monkeypatch.setattr(mnist_module, "_data_file", lambda name: tmp_path / name)
    assert load_packaged_mnist_test()[0].shape == (10_000, 28, 28)  # the copy itself loads


def test_a_damaged_packaged_test_file_is_a_one_line_error(tmp_path, monkeypatch):
    _packaged_copy(tmp_path, monkeypatch)
    images = tmp_path / "t10k-images-idx3-ubyte.gz"
    data = bytearray(images.read_bytes())
    data[-100] ^= 0xFF  # one flipped byte inside the compressed pixels
    images.write_bytes(bytes(data))
    with pytest.raises(InputError) as info:
        load_packaged_mnist_test()
    message = str(info.value)
    assert "\n" not in message and str(images) in message
    assert "expected 9fb629c4189551a2d022fa330f9573f3" in message and "reinstall" in message


def test_a_missing_packaged_test_file_is_a_one_line_error(tmp_path, monkeypatch):
    _packaged_copy(tmp_path, monkeypatch)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(InputError, match=r"^sparse_pkg/data/t10k-labels-idx1-ubyte.gz: "
                                         r"missing or unreadable .*reinstall[^\n]*$"):
        load_packaged_mnist_test()




def test_to_tensor_set_scales_and_normalizes():
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[1, 3, 4] = 255
    images[1, 5, 6] = 51
    result = to_tensor_set(images, np.array([3, 8]), {"split": "test"})
    assert result.features.shape == (2, 1, 28, 28) and result.features.dtype == torch.float32
    assert result.labels.dtype == torch.int64 and result.labels.tolist() == [3, 8]
    assert result.meta == {"split": "test"}
    feats = result.features.double()
    assert feats[0, 0, 0, 0].item() == pytest.approx(-0.1307 / 0.3081, abs=1e-6)
    assert feats[1, 0, 3, 4].item() == pytest.approx((1 - 0.1307) / 0.3081, abs=1e-6)
    assert feats[1, 0, 5, 6].item() == pytest.approx((0.2 - 0.1307) / 0.3081, abs=1e-6)
    with pytest.raises(ValueError):
        to_tensor_set(images.astype(np.float32), np.array([3, 8]))


def test_idx_directory_sets_are_normalized_and_say_where_they_came_from(tmp_path):
    arrays = _tiny_mnist(tmp_path)
    train, test = mnist_sets("directory", tmp_path)
    expected = to_tensor_set(arrays["train-images-idx3-ubyte.gz"], np.array([5, 0, 4]))
    torch.testing.assert_close(train.features, expected.features)
    assert test.labels.tolist() == [7, 2]
    origin = f"MNIST IDX files in {tmp_path}"
    assert train.meta == {"source": origin, "dataset": "mnist", "split": "train"}
    assert test.meta == {"source": origin, "dataset": "mnist", "split": "test"}


def test_unnormalize_pixels_inverts_normalize_and_clamps():
    pixels = torch.linspace(0.0, 1.0, 11)
    torch.testing.assert_close(unnormalize_pixels(normalize_pixels(pixels)), pixels)
    assert unnormalize_pixels(torch.tensor([-10.0, 10.0])).tolist() == [0.0, 1.0]


def test_mnist_file_names_are_the_official_four():
    names = [name for pair in MNIST_FILES.values() for name in pair]
    assert names == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                     "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert list(MNIST_MD5) == names  # one official checksum per file, nothing else
    assert {name: MNIST_MD5[name] for name in T10K_MD5} == T10K_MD5  # the files we ship
