"""Elementwise nonlinearities (and softmax) as layers; the math lives in cnnlib.functional.

``inplace=True`` overwrites the layer's input with its output, as in torch (the backward
pass keeps a copy of the input it needs, so the gradients are unchanged). It is safe right
after any layer: the layers whose backward reads their own output (Sigmoid, Tanh, Softmax,
BatchNorm without affine, ...) keep a private copy of it. It is refused (RuntimeError) as
the first layer of a Residual or Concat branch, whose input the other branches also read.
"""

from __future__ import annotations

from cnnlib import functional as F
from cnnlib.nn.module import Module

__all__ = [
    "ReLU",
    "LeakyReLU",
    "ReLU6",
    "Hardsigmoid",
    "Hardswish",
    "SiLU",
    "GELU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "LogSoftmax",
]


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


class _InplaceActivation(_Activation):
    """An activation with torch's ``inplace`` flag (printed only when True)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def _args(self):
        return (self.inplace,)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_InplaceActivation):
    """max(0, x); its gradient passes where x > 0."""

    _op = "relu"


class LeakyReLU(_Activation):
    """x where x > 0, negative_slope * x elsewhere."""

    _op = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def _args(self):
        return (self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ReLU6(_InplaceActivation):
    """min(max(0, x), 6) (MobileNet v1/v2); gradient 1 where 0 < x < 6."""

    _op = "relu6"


class Hardsigmoid(_InplaceActivation):
    """relu6(x + 3) / 6, the gate of squeeze-and-excitation in MobileNetV3."""

    _op = "hardsigmoid"

    def extra_repr(self) -> str:
        return ""  # torch prints Hardsigmoid() whatever inplace is


class Hardswish(_InplaceActivation):
    """x * relu6(x + 3) / 6 (MobileNetV3)."""

    _op = "hardswish"

    def extra_repr(self) -> str:
        return ""  # torch prints Hardswish() whatever inplace is


class SiLU(_InplaceActivation):
    """x * sigmoid(x), also called swish (EfficientNet, squeeze-and-excitation)."""

    _op = "silu"


class GELU(_Activation):
    """x * Phi(x), Phi the standard normal CDF (ConvNeXt); approximate='tanh' for the tanh
    form."""

    _op = "gelu"

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def _args(self):
        return (self.approximate,)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Sigmoid(_Activation):
    """1 / (1 + exp(-x)); gradient y (1 - y)."""

    _op = "sigmoid"


class Tanh(_Activation):
    """tanh(x); gradient 1 - y^2."""

    _op = "tanh"


class _SoftmaxLayer(_Activation):
    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def _args(self):
        if self.dim is None:
            name = type(self).__name__
            raise ValueError(
                f"{name}: give the dimension to normalise over, e.g. {name}(dim=1) (torch's "
                "implicit choice for dim=None is deprecated and not supported)"
            )
        return (self.dim,)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_SoftmaxLayer):
    """exp(x_i) / sum_j exp(x_j) along `dim`."""

    _op = "softmax"


class LogSoftmax(_SoftmaxLayer):
    """log softmax(x) along `dim`, computed stably (pairs with NLLLoss)."""

    _op = "log_softmax"
