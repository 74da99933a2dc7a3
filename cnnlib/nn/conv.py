"""Convolution layers: Conv2d and its adjoint, ConvTranspose2d.

``Conv2d(padding_mode=...)`` pads with F.pad first ("reflect", "replicate", "circular")
and then convolves without padding; backward runs the two backward passes in reverse.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from cnnlib import functional as F
from cnnlib import init
from cnnlib.functional._checks import _check_int, _int_tuple
from cnnlib.nn.module import Module
from cnnlib.nn.parameter import Parameter

__all__ = ["Conv2d", "ConvTranspose2d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class PaddedConvCache(NamedTuple):
    """Conv2d's cache with a padding_mode other than "zeros"."""

    pad: object  # F.pad_forward's cache
    conv: object  # F.conv2d_forward's cache (of the padded input)


class _ConvNd(Module):
    def _setup(self, fn, in_channels, out_channels, kernel_size, stride, dilation, groups):
        """Check and store the arguments both layers share (ints or pairs of ints)."""
        self.in_channels = _check_int(in_channels, "in_channels", fn, 0)
        self.out_channels = _check_int(out_channels, "out_channels", fn, 0)
        self.kernel_size = _int_tuple(kernel_size, 2, "kernel_size", fn, 1)
        self.stride = _int_tuple(stride, 2, "stride", fn, 1)
        self.dilation = _int_tuple(dilation, 2, "dilation", fn, 1)
        self.groups = _check_int(groups, "groups", fn, 1)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(
                f"{fn}: in_channels ({in_channels}) and out_channels ({out_channels}) must "
                f"both be divisible by groups ({groups})"
            )

    def reset_parameters(self) -> None:
        """torch's default: kaiming_uniform_(a=sqrt(5)) and b ~ U(-1/sqrt(fan_in), ...)."""
        if self.weight.numel() > 0:  # torch: initialising zero elements is a no-op
            init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = math.prod(self.weight.shape[1:])
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _params(self, shape, bias, device, dtype):
        self.weight = Parameter(np.empty(shape, dtype=np.float32))
        self.bias = Parameter(np.empty(self.out_channels, dtype=np.float32)) if bias else None
        self.reset_parameters()
        if device is not None or dtype is not None:
            self.to(device, dtype)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        defaults = dict(padding=(0, 0), dilation=(1, 1), output_padding=(0, 0), groups=1)
        for name, default in defaults.items():
            if hasattr(self, name) and getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        s += "" if self.bias is not None else ", bias=False"
        return s + ("" if self.padding_mode == "zeros" else f", padding_mode={self.padding_mode}")

    def backward(self, dout):
        dx, dw, db = self._backward(dout, self.cache)
        self.weight.accumulate(dw)
        if self.bias is not None:
            self.bias.accumulate(db)
        return dx


class Conv2d(_ConvNd):
    """2-D cross-correlation layer (torch.nn.Conv2d).

    x : (N, C_in, H, W)  ->  (N, C_out, H_out, W_out) with
    H_out = floor((H + 2 padding - dilation (kH - 1) - 1) / stride) + 1.
    weight : (C_out, C_in / groups, kH, kW), bias : (C_out,).
    padding : int, pair, "valid" or "same"; padding_mode : what the padding holds
    ("zeros", "reflect", "replicate" or "circular", as in F.pad).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None):  # fmt: skip
        super().__init__()
        self._setup("Conv2d", in_channels, out_channels, kernel_size, stride, dilation, groups)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(
                    f"Conv2d: padding must be 'valid', 'same', an int or a pair of ints, "
                    f"got {padding!r}"
                )
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(
                    f"Conv2d: padding='same' is not supported for strided convolutions "
                    f"(stride={self.stride})"
                )
            self.padding = padding
        else:
            self.padding = _int_tuple(padding, 2, "padding", "Conv2d", 0)
        if padding_mode not in PADDING_MODES:
            raise ValueError(
                f"Conv2d: padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}"
            )
        self.padding_mode = padding_mode
        c_in = self.in_channels // self.groups
        self._params((self.out_channels, c_in, *self.kernel_size), bias, device, dtype)

    def _pad_amounts(self) -> tuple:
        """F.pad's (left, right, top, bottom) for this layer's padding."""
        if self.padding == "valid":
            return (0, 0, 0, 0)
        if self.padding == "same":  # total d (k - 1); an odd extra goes bottom/right
            (th, tw) = (d * (k - 1) for d, k in zip(self.dilation, self.kernel_size))
            return (tw // 2, tw - tw // 2, th // 2, th - th // 2)
        (ph, pw) = self.padding
        return (pw, pw, ph, ph)

    def forward(self, x):
        bias = None if self.bias is None else self.bias.data
        args = (self.stride, self.padding, self.dilation, self.groups)
        if self.padding_mode == "zeros":
            self.out, self.cache = F.conv2d_forward(x, self.weight.data, bias, *args)
            return self.out
        padded, pad_cache = F.pad_forward(x, self._pad_amounts(), mode=self.padding_mode)
        self.out, conv_cache = F.conv2d_forward(padded, self.weight.data, bias, self.stride,
                                                0, self.dilation, self.groups)  # fmt: skip
        self.cache = PaddedConvCache(pad_cache, conv_cache)
        return self.out

    def _backward(self, dout, cache):
        if self.padding_mode == "zeros":
            return F.conv2d_backward(dout, cache)
        dpadded, dw, db = F.conv2d_backward(dout, cache.conv)
        return F.pad_backward(dpadded, cache.pad), dw, db


class ConvTranspose2d(_ConvNd):
    """Transposed convolution (torch.nn.ConvTranspose2d), the adjoint of Conv2d.

    x : (N, C_in, H, W)  ->  (N, C_out, H_out, W_out) with
    H_out = (H - 1) stride - 2 padding + dilation (kH - 1) + output_padding + 1.
    weight : (C_in, C_out / groups, kH, kW), bias : (C_out,).
    ``forward(x, output_size=(H_out, W_out))`` picks the output_padding that gives that
    size (a strided conv2d maps several sizes to one; this says which to go back to).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):  # fmt: skip
        super().__init__()
        fn = "ConvTranspose2d"
        self._setup(fn, in_channels, out_channels, kernel_size, stride, dilation, groups)
        self.padding = _int_tuple(padding, 2, "padding", fn, 0)
        self.output_padding = _int_tuple(output_padding, 2, "output_padding", fn, 0)
        if padding_mode != "zeros":
            raise ValueError(
                f'{fn}: only "zeros" padding mode is supported, got padding_mode={padding_mode!r}'
            )
        self.padding_mode = padding_mode
        c_out = self.out_channels // self.groups
        self._params((self.in_channels, c_out, *self.kernel_size), bias, device, dtype)

    def _output_padding(self, x, output_size) -> tuple:
        """The output_padding that makes the output (H_out, W_out) = output_size."""
        fn = "ConvTranspose2d.forward"
        spatial = tuple(output_size)
        if len(spatial) == x.ndim:  # (N, C, H, W) or (C, H, W): keep (H, W)
            spatial = spatial[-2:]
        size = _int_tuple(spatial, 2, "output_size", fn, 0)
        smallest = tuple(
            (n - 1) * s - 2 * p + d * (k - 1) + 1
            for n, s, p, d, k in zip(
                x.shape[-2:], self.stride, self.padding, self.dilation, self.kernel_size
            )
        )
        largest = tuple(m + s - 1 for m, s in zip(smallest, self.stride))
        if not all(lo <= n <= hi for lo, n, hi in zip(smallest, size, largest)):
            raise ValueError(
                f"{fn}: requested an output size of {size}, but valid sizes range from "
                f"{smallest} to {largest} (for an input of {tuple(x.shape[-2:])})"
            )
        return tuple(n - lo for n, lo in zip(size, smallest))

    def forward(self, input, output_size=None):
        bias = None if self.bias is None else self.bias.data
        out_pad = self.output_padding
        if output_size is not None:
            out_pad = self._output_padding(input, output_size)
        self.out, self.cache = F.conv_transpose2d_forward(
            input, self.weight.data, bias, self.stride, self.padding, out_pad,
            self.groups, self.dilation,
        )  # fmt: skip
        return self.out

    def _backward(self, dout, cache):
        return F.conv_transpose2d_backward(dout, cache)
