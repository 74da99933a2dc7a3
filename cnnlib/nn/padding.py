"""Padding layers: the last two dimensions grown by (left, right, top, bottom).

Each wraps ``F.pad`` with one mode; its backward pass is ``F.pad_backward``.
x : (N, C, H, W) or (C, H, W) -> (..., H + top + bottom, W + left + right).
"""

from __future__ import annotations

from numbers import Integral, Real

from cnnlib import functional as F
from cnnlib.nn.module import Module

__all__ = ["ZeroPad2d", "ConstantPad2d", "ReflectionPad2d", "ReplicationPad2d", "CircularPad2d"]


def _quadruple(padding, name):
    """padding as (left, right, top, bottom): an int pads all four sides."""
    if isinstance(padding, Integral) and not isinstance(padding, bool):
        return (int(padding),) * 4
    if isinstance(padding, (tuple, list)) and all(
        isinstance(p, Integral) and not isinstance(p, bool) for p in padding
    ):
        if len(padding) != 4:
            raise ValueError(
                f"{name}: padding must be an int or 4 ints (left, right, top, bottom), "
                f"got {tuple(padding)!r}"
            )
        return tuple(int(p) for p in padding)
    raise TypeError(
        f"{name}: padding must be an int or 4 ints (left, right, top, bottom), got {padding!r}"
    )


class _Pad2d(Module):
    """F.pad with a fixed mode (and value)."""

    _mode = ""

    def __init__(self, padding):
        super().__init__()
        self.padding = _quadruple(padding, type(self).__name__)
        self.value = None

    def forward(self, x):
        self.out, self.cache = F.pad_forward(x, self.padding, self._mode, self.value)
        return self.out

    def backward(self, dout):
        return F.pad_backward(self._check_dout(dout), self.cache)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ConstantPad2d(_Pad2d):
    """Pads with a constant value."""

    _mode = "constant"

    def __init__(self, padding, value):
        super().__init__(padding)
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(f"ConstantPad2d: value must be a real number, got {value!r}")
        self.value = value

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ZeroPad2d(ConstantPad2d):
    """Pads with zeros (what a convolution's `padding` does)."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad2d(_Pad2d):
    """Pads with the mirror image about the edge pixel (each amount < the size)."""

    _mode = "reflect"


class ReplicationPad2d(_Pad2d):
    """Pads by repeating the edge pixel."""

    _mode = "replicate"


class CircularPad2d(_Pad2d):
    """Pads by wrapping around (the left border shows the right edge; amounts <= size)."""

    _mode = "circular"
