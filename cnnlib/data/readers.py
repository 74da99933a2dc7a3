"""Readers for the standard files of MNIST, Fashion-MNIST and CIFAR-10.

Nothing here downloads: point the readers at files you already have.

IDX (MNIST, Fashion-MNIST): a big-endian header ``0x00 0x00 <type> <ndim>``, then `ndim`
uint32 sizes, then the values row-major. Files may be gzip-compressed.

CIFAR-10 "python version": pickled dicts with ``b"data"`` (N, 3072) uint8, rows holding
the red, green and blue 32x32 planes, and ``b"labels"``; ``data_batch_1`` ..
``data_batch_5`` for training and ``test_batch`` for testing.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["read_idx", "read_mnist_idx", "load_cifar10", "CIFAR10", "CIFAR10_CLASSES"]

# IDX type byte -> big-endian NumPy dtype
_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file (raw or gzip), in native byte order.

    Returns an array of shape (d0, d1, ...) from the header, e.g. (60000, 28, 28) uint8.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path} is not an IDX file (header {data[:4]!r})")
    dtype, ndim = _IDX_TYPES[data[2]], data[3]
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    count = int(np.prod(shape)) if shape else 1
    if len(data) - offset != count * dtype.itemsize:
        raise ValueError(
            f"read_idx: {path} header says shape {shape} ({count * dtype.itemsize} bytes) "
            f"but {len(data) - offset} bytes follow"
        )
    values = np.frombuffer(data, dtype, count=count, offset=offset)
    return values.reshape(shape).astype(dtype.newbyteorder("="))


def _find(root: Path, stem: str):
    for name in (stem, stem + ".gz"):
        if (root / name).exists():
            return root / name
    return None


def read_mnist_idx(root, kind="train", *, caller="read_mnist_idx"):
    """MNIST or Fashion-MNIST (same file names) from the directory `root`.

    Expects ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (kind="train") or
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (kind="test"), each optionally
    ending in ``.gz``.

    Returns (x, y): x : (N, 1, 28, 28) float32 in [0, 1], y : (N,) int64. Errors name
    `caller`, the public function that asked (cnnlib.data's load_mnist, load_fashion_mnist).
    """
    if kind not in ("train", "test"):
        raise ValueError(f"{caller}: kind must be 'train' or 'test', got {kind!r}")
    root = Path(root)
    prefix = "train" if kind == "train" else "t10k"
    stems = [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
    paths = [_find(root, s) for s in stems]
    if None in paths:
        missing = [s for s, p in zip(stems, paths) if p is None]
        raise FileNotFoundError(
            f"{caller}: {root} lacks {' and '.join(missing)} (optionally .gz); expected the "
            f"standard files {stems[0]} and {stems[1]}"
        )
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or labels.shape != (images.shape[0],):
        raise ValueError(
            f"{caller}: images {images.shape} and labels {labels.shape} do not match "
            "(expected (N, H, W) and (N,))"
        )
    x = (images.astype(np.float32) / 255.0)[:, None, :, :]
    return x, labels.astype(np.int64)


class CIFAR10(NamedTuple):
    """x_* : (N, 3, 32, 32) float32 in [0, 1]; y_* : (N,) int64 indexing CIFAR10_CLASSES."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def _cifar_batch(path: Path):
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="bytes")
    data = np.asarray(d[b"data"], dtype=np.uint8)
    x = data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0  # rows are R, G, B planes
    return x, np.asarray(d[b"labels"], dtype=np.int64)


def load_cifar10(root) -> CIFAR10:
    """CIFAR-10 from the python pickle batches in `root` or `root/cifar-10-batches-py`."""
    root = Path(root)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for folder in (root / "cifar-10-batches-py", root):
        if all((folder / n).exists() for n in names):
            break
    else:
        raise FileNotFoundError(
            f"load_cifar10: expected {', '.join(names)} in {root} or {root / 'cifar-10-batches-py'}"
        )
    train = [_cifar_batch(folder / n) for n in names[:5]]
    x_test, y_test = _cifar_batch(folder / "test_batch")
    return CIFAR10(
        np.concatenate([x for x, _ in train]),
        np.concatenate([y for _, y in train]),
        x_test,
        y_test,
    )
