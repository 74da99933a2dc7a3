"""The 8x8 handwritten digits that ship with scikit-learn, as NCHW arrays.

1,797 grey images of the digits 0-9 (UCI "optical recognition of handwritten digits"),
8x8 pixels with values 0..16. They need no download, so every chapter can train on them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Digits", "load_digits", "resize"]


class Digits(NamedTuple):
    """A train/test split. x_* : (N, 1, size, size) in [0, 1]; y_* : (N,) int64 in 0..9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def resize(x: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of NCHW images to (size, size) (corners aligned, scipy's zoom, order 1).

    x : (N, C, H, W)  ->  (N, C, size, size)
    """
    from scipy.ndimage import zoom

    n, c, h, w = x.shape
    out = zoom(x, (1, 1, size / h, size / w), order=1, grid_mode=False)
    return np.clip(out, 0.0, 1.0)


def load_digits(size=8, test_size=0.25, seed=0, dtype=np.float32) -> Digits:
    """scikit-learn's 8x8 digits, scaled to [0, 1], split into train and test.

    Parameters
    ----------
    size : 8, 28 or 32
        8 keeps the original pixels. 28 resizes them bilinearly to MNIST's size. 32 follows
        LeNet-5's convention for MNIST: the 28x28 image padded with a 2-pixel zero border,
        so the digit sits inside the 32x32 field as in the paper.
    test_size : float
        Fraction of each class held out for testing (stratified split).
    seed : int
        Seeds the shuffle of the split; the same seed gives the same split.

    Returns
    -------
    Digits(x_train, y_train, x_test, y_test) with x : (N, 1, size, size) and y : (N,) int64.
    """
    from sklearn.datasets import load_digits as _sk_load_digits
    from sklearn.model_selection import train_test_split

    if size not in (8, 28, 32):
        raise ValueError(f"load_digits: size must be 8, 28 or 32, got {size!r}")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"load_digits: test_size must be in (0, 1), got {test_size!r}")
    bunch = _sk_load_digits()
    x = (bunch.images / 16.0)[:, None, :, :]  # (1797, 1, 8, 8)
    y = bunch.target.astype(np.int64)
    if size == 28:
        x = resize(x, 28)
    elif size == 32:
        x = np.zeros((len(x), 1, 32, 32))
        x[:, :, 2:30, 2:30] = resize((bunch.images / 16.0)[:, None], 28)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y
    )
    return Digits(
        np.ascontiguousarray(x_tr, dtype=dtype),
        y_tr,
        np.ascontiguousarray(x_te, dtype=dtype),
        y_te,
    )
