"""Tiny datasets written in the real file formats, for the reader and CLI tests.

MNIST / Fashion-MNIST: IDX files (big-endian header, optional gzip). CIFAR-10: the
"python version" pickle batches with b"data" (N, 3072) uint8 and b"labels".
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CIFAR10_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def write_idx(path, array, type_byte=0x08, compress=False) -> None:
    """Write `array` as an IDX file: 0 0 <type> <ndim>, the big-endian sizes, the values."""
    dims = np.array(array.shape, dtype=">u4").tobytes()
    raw = bytes([0, 0, type_byte, array.ndim]) + dims + array.tobytes()
    Path(path).write_bytes(gzip.compress(raw) if compress else raw)


def _class_images(rng, labels, shape):
    """uint8 images whose mean brightness depends on the label, so a model can learn them."""
    base = rng.integers(0, 80, size=(len(labels), *shape))
    return np.clip(base + 17 * labels.reshape(-1, *[1] * len(shape)), 0, 255).astype(np.uint8)


def write_mnist(root, n_train=64, n_test=32, seed=0, compress=True) -> Path:
    """The four MNIST files (gzip by default) with learnable random 28x28 digits in `root`."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for kind, n in (("train", n_train), ("test", n_test)):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        suffix = ".gz" if compress else ""
        images_name, labels_name = MNIST_FILES[kind]
        write_idx(
            root / (images_name + suffix), _class_images(rng, labels, (28, 28)), 0x08, compress
        )
        write_idx(root / (labels_name + suffix), labels, 0x08, compress)
    return root


def write_cifar10(root, per_batch=16, seed=0, subfolder=True) -> dict:
    """The six CIFAR-10 batches in `root`/cifar-10-batches-py (or `root` itself).

    Returns {batch name: (data (per_batch, 3072) uint8, labels list)}.
    """
    folder = Path(root) / "cifar-10-batches-py" if subfolder else Path(root)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    batches = {}
    for name in CIFAR10_BATCHES:
        labels = rng.integers(0, 10, size=per_batch)
        data = _class_images(rng, labels, (3072,))
        batches[name] = (data, labels.tolist())
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": labels.tolist(), b"batch_label": b"x"}, f)
    return batches
