"""Convolution layers: Conv2d and its adjoint, ConvTranspose2d."""

from __future__ import annotations

import math

import numpy as np

from cnnlib import functional as F
from cnnlib import init
from cnnlib.nn.module import Module
from cnnlib.nn.parameter import Parameter

__all__ = ["Conv2d", "ConvTranspose2d"]


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _check_channels(in_channels, out_channels, groups, fn):
    if groups < 1 or in_channels % groups or out_channels % groups:
        raise ValueError(
            f"{fn}: in_channels ({in_channels}) and out_channels ({out_channels}) must both "
            f"be divisible by groups ({groups})"
        )


class _ConvNd(Module):
    def reset_parameters(self) -> None:
        """torch's default: kaiming_uniform_(a=sqrt(5)) and b ~ U(-1/sqrt(fan_in), ...)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _params(self, shape, bias):
        self.weight = Parameter(np.empty(shape, dtype=np.float32))
        self.bias = Parameter(np.empty(self.out_channels, dtype=np.float32)) if bias else None
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        defaults = dict(padding=(0, 0), output_padding=(0, 0), dilation=(1, 1), groups=1)
        for name, default in defaults.items():
            if hasattr(self, name) and getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s + ("" if self.bias is not None else ", bias=False")

    def backward(self, dout):
        dx, dw, db = self._backward(self._check_dout(dout), self.cache)
        self.weight.accumulate(dw)
        if self.bias is not None:
            self.bias.accumulate(db)
        return dx


class Conv2d(_ConvNd):
    """2-D cross-correlation layer (torch.nn.Conv2d).

    x : (N, C_in, H, W)  ->  (N, C_out, H_out, W_out) with
    H_out = floor((H + 2 padding - dilation (kH - 1) - 1) / stride) + 1.
    weight : (C_out, C_in / groups, kH, kW), bias : (C_out,).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True):  # fmt: skip
        super().__init__()
        _check_channels(in_channels, out_channels, groups, "Conv2d")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding = padding if isinstance(padding, str) else _pair(padding)
        self.dilation, self.groups = _pair(dilation), groups
        self._params((out_channels, in_channels // groups, *self.kernel_size), bias)

    def forward(self, x):
        bias = None if self.bias is None else self.bias.data
        self.out, self.cache = F.conv2d_forward(
            x, self.weight.data, bias, self.stride, self.padding, self.dilation, self.groups
        )
        return self.out

    def _backward(self, dout, cache):
        return F.conv2d_backward(dout, cache)


class ConvTranspose2d(_ConvNd):
    """Transposed convolution (torch.nn.ConvTranspose2d), the adjoint of Conv2d.

    x : (N, C_in, H, W)  ->  (N, C_out, H_out, W_out) with
    H_out = (H - 1) stride - 2 padding + dilation (kH - 1) + output_padding + 1.
    weight : (C_in, C_out / groups, kH, kW), bias : (C_out,).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1):  # fmt: skip
        super().__init__()
        _check_channels(in_channels, out_channels, groups, "ConvTranspose2d")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.output_padding = _pair(padding), _pair(output_padding)
        self.dilation, self.groups = _pair(dilation), groups
        self._params((in_channels, out_channels // groups, *self.kernel_size), bias)

    def forward(self, x):
        bias = None if self.bias is None else self.bias.data
        self.out, self.cache = F.conv_transpose2d_forward(
            x, self.weight.data, bias, self.stride, self.padding, self.output_padding,
            self.groups, self.dilation,
        )  # fmt: skip
        return self.out

    def _backward(self, dout, cache):
        return F.conv_transpose2d_backward(dout, cache)
