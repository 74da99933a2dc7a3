"""Dropout as a layer: active in training mode, the identity in eval mode."""

from __future__ import annotations

from numbers import Real

from cnnlib import functional as F
from cnnlib.nn.module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Inverted dropout: in training, zero each entry with probability p and scale the rest
    by 1 / (1 - p), so eval mode needs no rescaling. The mask comes from cnnlib.random
    (``cnnlib.random.manual_seed`` makes it reproducible, or pass a `generator`)."""

    def __init__(self, p: float = 0.5, inplace: bool = False, *, generator=None):
        super().__init__()
        if not isinstance(p, Real) or isinstance(p, bool):
            raise TypeError(f"Dropout: p must be a number between 0 and 1, got {p!r}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be between 0 and 1, got {p}")
        self.p, self.inplace, self.generator = p, inplace, generator

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"

    def forward(self, x):
        self.out, self.cache = F.dropout_forward(
            x, self.p, training=self.training, generator=self.generator
        )
        return self.out

    def backward(self, dout):
        return F.dropout_backward(dout, self.cache)
