"""Mini-batches: the loop every training run is built on."""

from __future__ import annotations

import math

import numpy as np

from cnnlib.random import make_generator

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over (xb, yb) mini-batches of NumPy arrays `x` and `y`.

    Parameters
    ----------
    x : (N, ...) array;  y : (N,) array
    batch_size : int
    shuffle : bool
        Draw a new order each epoch. With a `seed`, the sequence of orders is reproducible:
        two loaders built with the same seed yield the same batches.
    drop_last : bool
        Skip the last batch when it is smaller than `batch_size`.
    transform : callable or None
        Applied to each input batch `xb` (e.g. an augmentation from cnnlib.data.augment).
    device : None, "torch", "cuda" or a torch.device
        Hand out torch tensors (on that device) instead of NumPy arrays.
    """

    def __init__(
        self,
        x,
        y,
        batch_size=32,
        shuffle=False,
        seed=None,
        drop_last=False,
        transform=None,
        device=None,
    ):
        if len(x) != len(y):
            raise ValueError(f"DataLoader: x has {len(x)} samples but y has {len(y)}")
        if int(batch_size) < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        self.x, self.y = x, y
        self.batch_size = int(batch_size)
        self.shuffle, self.drop_last = shuffle, drop_last
        self.transform, self.device = transform, device
        self.generator = make_generator(seed=seed) if seed is not None else make_generator()

    def __len__(self) -> int:
        n = len(self.x)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _move(self, a):
        if self.device is None:
            return a
        import torch

        device = "cpu" if self.device == "torch" else self.device
        return torch.as_tensor(np.ascontiguousarray(a)).to(device)

    def __iter__(self):
        n = len(self.x)
        order = self.generator.permutation(n) if self.shuffle else np.arange(n)
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            xb, yb = self.x[idx], self.y[idx]
            if self.transform is not None:
                xb = self.transform(xb)
            yield self._move(xb), self._move(yb)
