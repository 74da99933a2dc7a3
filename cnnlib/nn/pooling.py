"""Pooling layers: max and average over fixed windows, and adaptive pooling to a fixed size."""

from __future__ import annotations

from cnnlib import functional as F
from cnnlib.nn.module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d"]


class _Pool(Module):
    """Shared forward/backward: ``_op`` names the functional op, ``_args`` its arguments."""

    _op = ""

    def _args(self) -> tuple:
        raise NotImplementedError

    def forward(self, x):
        self.out, self.cache = getattr(F, f"{self._op}_forward")(x, *self._args())
        return self.out

    def backward(self, dout):
        return getattr(F, f"{self._op}_backward")(self._check_dout(dout), self.cache)


class MaxPool2d(_Pool):
    """Max over each kernel_size window.  x : (N, C, H, W) -> (N, C, H_out, W_out),
    H_out = floor((H + 2 padding - dilation (k - 1) - 1) / stride) + 1 (stride = kernel_size
    by default). The gradient goes to the position of each window's maximum."""

    _op = "max_pool2d"

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode

    def _args(self):
        return self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(_Pool):
    """Mean over each kernel_size window.  x : (N, C, H, W) -> (N, C, H_out, W_out),
    H_out = floor((H + 2 padding - k) / stride) + 1 (stride = kernel_size by default)."""

    _op = "avg_pool2d"

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):  # fmt: skip
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad = count_include_pad

    def _args(self):
        return self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(_Pool):
    """Average pooling to a fixed output_size (H_out, W_out), whatever the input size.
    x : (N, C, H, W) -> (N, C, H_out, W_out); AdaptiveAvgPool2d(1) is global average pooling."""

    _op = "adaptive_avg_pool2d"

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def _args(self):
        return (self.output_size,)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(AdaptiveAvgPool2d):
    """Max pooling to a fixed output_size.  x : (N, C, H, W) -> (N, C, H_out, W_out)."""

    _op = "adaptive_max_pool2d"
