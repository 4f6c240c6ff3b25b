"""Where the paper's two data sets come from: official file names, locations and checksums.

Facts of the published data (docs/protocol.md §7), written once here; the configuration only
overrides a location (``mnist.mirrors``, ``gsc.url``: null means the value below). The module
imports nothing heavy, so the workflow reads it while it parses (the rules name these files).
"""

from __future__ import annotations

#: The official MNIST IDX files of each split: (images, labels).
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

#: MD5 of each official MNIST file, as every mirror serves it.
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

#: Base URLs serving the four MNIST files, tried in this order.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: Google Speech Commands v0.01: the archive's file name, its official URL and SHA-256 (the
#: digest torchaudio's dataset class checks too).
GSC_ARCHIVE = "speech_commands_v0.01.tar.gz"
GSC_URL = f"http://download.tensorflow.org/data/{GSC_ARCHIVE}"
GSC_SHA256 = "743935421bb51cccdb6bdd152e04c5c70274e935c82119ad7faeec31780d811d"
