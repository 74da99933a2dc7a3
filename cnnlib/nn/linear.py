"""Fully connected layer, and the layer that does nothing."""

from __future__ import annotations

import math

import numpy as np

from cnnlib import functional as F
from cnnlib import init
from cnnlib.functional._checks import _check_int
from cnnlib.nn.module import Module
from cnnlib.nn.parameter import Parameter

__all__ = ["Linear", "Identity"]


class Linear(Module):
    """y = x W^T + b.  x : (N, in_features)  ->  (N, out_features); weight (out, in).

    Initialised like torch: W ~ U(-1/sqrt(in), 1/sqrt(in)) via kaiming_uniform_(a=sqrt(5)),
    b ~ U(-1/sqrt(in), 1/sqrt(in)). `device` and `dtype` (e.g. "torch", "float64") are
    applied after initialisation, as ``.to(device, dtype)``.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None):  # fmt: skip
        super().__init__()
        self.in_features = _check_int(in_features, "in_features", "Linear", 0)
        self.out_features = _check_int(out_features, "out_features", "Linear", 0)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), np.float32))
        self.bias = Parameter(np.empty(self.out_features, np.float32)) if bias else None
        self.reset_parameters()
        if device is not None or dtype is not None:
            self.to(device, dtype)

    def reset_parameters(self) -> None:
        if self.weight.numel() > 0:  # torch: initialising zero elements is a no-op
            init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )

    def forward(self, x):
        bias = None if self.bias is None else self.bias.data
        self.out, self.cache = F.linear_forward(x, self.weight.data, bias)
        return self.out

    def backward(self, dout):
        dx, dw, db = F.linear_backward(dout, self.cache)
        self.weight.accumulate(dw)
        if self.bias is not None:
            self.bias.accumulate(db)
        return dx


class Identity(Module):
    """y = x (a placeholder, e.g. the shortcut of a residual block); any arguments are
    accepted and ignored, as in torch."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        self.out = x
        return x

    def backward(self, dout):
        return self._check_dout(dout)
