"""Elementwise nonlinearities (and softmax) as layers; the math lives in cnnlib.functional."""

from __future__ import annotations

from cnnlib import functional as F
from cnnlib.nn.module import Module

__all__ = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax"]


class _Activation(Module):
    """y = f(x) with the same shape as x; ``_op`` names the functional op."""

    _op = ""

    def _args(self) -> tuple:
        return ()

    def forward(self, x):
        self.out, self.cache = getattr(F, f"{self._op}_forward")(x, *self._args())
        return self.out

    def backward(self, dout):
        return getattr(F, f"{self._op}_backward")(self._check_dout(dout), self.cache)


class ReLU(_Activation):
    """max(0, x); its gradient passes where x > 0."""

    _op = "relu"

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace  # accepted for torch compatibility; the output is always new

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(_Activation):
    """x where x > 0, negative_slope * x elsewhere."""

    _op = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def _args(self):
        return (self.negative_slope,)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(_Activation):
    """1 / (1 + exp(-x)); gradient y (1 - y)."""

    _op = "sigmoid"


class Tanh(_Activation):
    """tanh(x); gradient 1 - y^2."""

    _op = "tanh"


class Softmax(_Activation):
    """exp(x_i) / sum_j exp(x_j) along `dim`."""

    _op = "softmax"

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def _args(self):
        if self.dim is None:
            raise ValueError("Softmax: give the dimension to normalise over, e.g. Softmax(dim=1)")
        return (self.dim,)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
