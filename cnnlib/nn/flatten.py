"""Flatten: reshape feature maps into vectors for the fully connected head."""

from __future__ import annotations

import math

import numpy as np

from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_int
from cnnlib.nn.module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """Merge dimensions start_dim..end_dim.  x : (N, C, H, W) -> (N, C*H*W) by default.

    Negative dims count from the end (-1 is the last). Backward is the inverse reshape:
    dx = dout reshaped to x's shape.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = _check_int(start_dim, "start_dim", "Flatten")
        self.end_dim = _check_int(end_dim, "end_dim", "Flatten")

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def _dim(self, name: str, shape: tuple) -> int:
        dim, n = getattr(self, name), max(len(shape), 1)
        if not -n <= dim < n:  # AxisError is an IndexError (as torch's) and a ValueError
            raise np.exceptions.AxisError(
                f"Flatten: {name}={dim} is out of range for an input of shape {shape} "
                f"(expected a dim in [{-n}, {n - 1}])"
            )
        return dim % n

    def forward(self, x):
        xp = namespace(x, names=["input"], fn="Flatten")
        shape = tuple(x.shape)
        start, end = self._dim("start_dim", shape), self._dim("end_dim", shape)
        if start > end:
            raise ValueError(
                f"Flatten: start_dim {self.start_dim} comes after end_dim {self.end_dim} "
                f"for an input of shape {shape}"
            )
        new = shape[:start] + (math.prod(shape[start : end + 1]),) + shape[end + 1 :]
        self.cache = shape
        self.out = xp.reshape(x, new)
        return self.out

    def backward(self, dout):
        xp = namespace(dout, names=["dout"], fn="Flatten.backward")
        return xp.reshape(dout, self.cache)
