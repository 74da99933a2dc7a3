"""Dropout as layers: active in training mode, the identity in eval mode."""

from __future__ import annotations

from numbers import Real

from cnnlib import functional as F
from cnnlib.nn.module import Module

__all__ = ["Dropout", "Dropout2d"]


class _DropoutNd(Module):
    """Inverted dropout with the functional op ``_op``; the mask comes from cnnlib.random
    (``cnnlib.random.manual_seed`` makes it reproducible, or pass a `generator`)."""

    _op = ""

    def __init__(self, p: float = 0.5, inplace: bool = False, *, generator=None):
        super().__init__()
        name = type(self).__name__
        if not isinstance(p, Real) or isinstance(p, bool):
            raise TypeError(f"{name}: p must be a number between 0 and 1, got {p!r}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name}: p must be between 0 and 1, got {p}")
        if not isinstance(inplace, bool):
            raise TypeError(f"{name}: inplace must be True or False, got {inplace!r}")
        self.p, self.inplace, self.generator = p, inplace, generator

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"

    def forward(self, x):
        self.out, self.cache = getattr(F, f"{self._op}_forward")(
            x, self.p, self.training, self.inplace, generator=self.generator
        )
        return self.out

    def backward(self, dout):
        return getattr(F, f"{self._op}_backward")(dout, self.cache)


class Dropout(_DropoutNd):
    """Inverted dropout: in training, zero each entry with probability p and scale the rest
    by 1 / (1 - p), so eval mode needs no rescaling."""

    _op = "dropout"


class Dropout2d(_DropoutNd):
    """Spatial dropout: in training, zero each channel of each sample (a whole (H, W)
    feature map) with probability p and scale the rest by 1 / (1 - p). Input (N, C, H, W);
    like torch, a 3-D input is read as (N, C, L)."""

    _op = "dropout2d"
