"""Pooling layers: max and average over fixed windows, adaptive pooling to a fixed size, and
max unpooling. With ``return_indices=True`` a max pooling layer returns (out, indices) as
torch's does; its backward pass takes the gradient of `out`."""

from __future__ import annotations

from cnnlib import functional as F
from cnnlib.functional._pool_geometry import _pair
from cnnlib.nn.module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "MaxUnpool2d"]


class _Pool(Module):
    """Shared forward/backward: ``_op`` names the functional op, ``_args`` its arguments."""

    _op = ""
    return_indices = False

    def _args(self) -> tuple:
        raise NotImplementedError

    def forward(self, x):
        result, self.cache = getattr(F, f"{self._op}_forward")(x, *self._args())
        self.out = result[0] if self.return_indices else result  # (out, indices)
        return result

    def backward(self, dout):
        return getattr(F, f"{self._op}_backward")(self._check_dout(dout), self.cache)


class MaxPool2d(_Pool):
    """Max over each kernel_size window.  x : (N, C, H, W) -> (N, C, H_out, W_out),
    H_out = floor((H + 2 padding - dilation (k - 1) - 1) / stride) + 1 (stride = kernel_size
    by default). The gradient goes to the position of each window's maximum. Note torch's
    argument order: return_indices comes before ceil_mode here (after it in F.max_pool2d)."""

    _op = "max_pool2d"

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices=False,
        ceil_mode=False,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def _args(self):
        return (
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(_Pool):
    """Mean over each kernel_size window.  x : (N, C, H, W) -> (N, C, H_out, W_out),
    H_out = floor((H + 2 padding - k) / stride) + 1 (stride = kernel_size by default);
    divisor_override divides every window's sum by that number instead."""

    _op = "avg_pool2d"

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def _args(self):
        return (
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

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

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def _args(self):
        return (self.output_size, self.return_indices)


class MaxUnpool2d(Module):
    """A partial inverse of MaxPool2d: ``unpool(out, indices)`` puts each maximum back at
    its index, zeros elsewhere. x : (N, C, H, W) -> (N, C, H_out, W_out) with
    H_out = (H - 1) stride - 2 padding + kernel_size, or ``output_size`` when given."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size", "MaxUnpool2d", 1)
        stride = kernel_size if stride is None else stride
        self.stride = _pair(stride, "stride", "MaxUnpool2d", 1)
        self.padding = _pair(padding, "padding", "MaxUnpool2d", 0)

    def forward(self, input, indices, output_size=None):
        self.out, self.cache = F.max_unpool2d_forward(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )
        return self.out

    def backward(self, dout):
        """The gradient of `input` (indices have none)."""
        return F.max_unpool2d_backward(self._check_dout(dout), self.cache)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
