"""Flatten: reshape feature maps into vectors for the fully connected head."""

from __future__ import annotations

import math

from cnnlib.backend import namespace
from cnnlib.nn.module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """Merge dimensions start_dim..end_dim.  x : (N, C, H, W) -> (N, C*H*W) by default.

    Backward is the inverse reshape: dx = dout reshaped to x's shape.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def forward(self, x):
        xp = namespace(x, names=["input"], fn="Flatten")
        shape = tuple(x.shape)
        start, end = self.start_dim % len(shape), self.end_dim % len(shape)
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
        return xp.reshape(self._check_dout(dout), self.cache)
