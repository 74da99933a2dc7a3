"""im2col and col2im with torch's names: ``unfold`` and ``fold``.

``unfold`` lays every (C, kH, kW) window of an image out as one column::

    input : (N, C, H, W)  ->  cols : (N, C * kH * kW, L),   L = L_H * L_W
    L_H = floor((H + 2 pH - dH (kH - 1) - 1) / sH) + 1   (same for L_W)

Row ``c * kH * kW + p * kW + q`` of column ``l = i * L_W + j`` holds
``x_pad[n, c, i*sH + p*dH, j*sW + q*dW]``. A convolution is then one matrix product,
``weight.reshape(C_out, -1) @ cols``, followed by a reshape to (N, C_out, L_H, L_W).

``fold`` goes back: it adds every column entry to the pixel it came from (overlapping
windows sum) and crops the padding. It is the adjoint of ``unfold``, not its inverse:
``fold(unfold(x))`` multiplies each pixel by the number of windows that contain it.
"""

from __future__ import annotations

from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_float
from cnnlib.functional._conv_checks import _int_pair
from cnnlib.functional._windows import (
    pad2d,
    scatter_add_windows,
    sliding_windows,
    windows_out_size,
)

__all__ = ["unfold", "fold"]


def _hyper(kernel_size, dilation, padding, stride, fn):
    kernel = _int_pair(kernel_size, "kernel_size", fn, 1)
    dilation = _int_pair(dilation, "dilation", fn, 1)
    padding = _int_pair(padding, "padding", fn, 0)
    stride = _int_pair(stride, "stride", fn, 1)
    return kernel, dilation, padding, stride


def _blocks(size, kernel, dilation, padding, stride, fn):
    """(L_H, L_W) for an image of `size`; ValueError when the kernel does not fit."""
    blocks = tuple(
        windows_out_size(s + 2 * p, k, st, d)
        for s, k, st, d, p in zip(size, kernel, stride, dilation, padding)
    )
    if min(blocks) < 1:
        raise ValueError(
            f"{fn}: kernel {kernel} with dilation {dilation} does not fit in the padded "
            f"image of size {tuple(s + 2 * p for s, p in zip(size, padding))}"
        )
    return blocks


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: every sliding window as a column.

    input : (N, C, H, W) or unbatched (C, H, W)

    returns : (N, C * kH * kW, L) or (C * kH * kW, L), where L = L_H * L_W and
    L_H = floor((H + 2 pH - dH (kH - 1) - 1) / sH) + 1 (L_W likewise)
    """
    fn = "unfold"
    xp = namespace(input, names=["input"], fn=fn)
    _check_float(input, "input", fn, xp)  # torch's im2col/col2im are floating-point only
    if input.ndim not in (3, 4):
        raise ValueError(
            f"{fn}: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape {tuple(input.shape)}"
        )
    kernel, dilation, padding, stride = _hyper(kernel_size, dilation, padding, stride, fn)
    unbatched = input.ndim == 3
    x = xp.expand_dims(input, axis=0) if unbatched else input
    n, c, h, w = x.shape
    lh, lw = _blocks((h, w), kernel, dilation, padding, stride, fn)
    x_pad = pad2d(x, (padding[0], padding[0], padding[1], padding[1]))
    windows = sliding_windows(x_pad, kernel, stride, dilation)  # (N, C, L_H, L_W, kH, kW)
    cols = xp.permute_dims(windows, (0, 1, 4, 5, 2, 3))  # (N, C, kH, kW, L_H, L_W)
    cols = xp.reshape(cols, (n, c * kernel[0] * kernel[1], lh * lw))
    return cols[0, ...] if unbatched else cols


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im: add columns back into an image of size ``output_size`` (adjoint of unfold).

    input : (N, C * kH * kW, L) or unbatched (C * kH * kW, L), L = L_H * L_W
    output_size : int or (H, W) of the image (without padding)
    returns : (N, C, H, W) or (C, H, W)
    """
    fn = "fold"
    xp = namespace(input, names=["input"], fn=fn)
    _check_float(input, "input", fn, xp)  # torch's im2col/col2im are floating-point only
    if input.ndim not in (2, 3):
        raise ValueError(
            f"{fn}: input must be 3-D (N, C*kH*kW, L) or 2-D (C*kH*kW, L), "
            f"got shape {tuple(input.shape)}"
        )
    kernel, dilation, padding, stride = _hyper(kernel_size, dilation, padding, stride, fn)
    size = _int_pair(output_size, "output_size", fn, 1)
    unbatched = input.ndim == 2
    cols = xp.expand_dims(input, axis=0) if unbatched else input
    n, rows, length = cols.shape
    k = kernel[0] * kernel[1]
    if rows % k:
        raise ValueError(
            f"{fn}: input has {rows} rows, which is not a multiple of kH*kW = {k} "
            f"(kernel_size {kernel})"
        )
    lh, lw = _blocks(size, kernel, dilation, padding, stride, fn)
    if length != lh * lw:
        raise ValueError(
            f"{fn}: input has {length} columns but output_size {size}, kernel {kernel}, "
            f"dilation {dilation}, padding {padding}, stride {stride} give {lh} x {lw} = "
            f"{lh * lw} windows"
        )
    c = rows // k
    cols = xp.reshape(cols, (n, c, kernel[0], kernel[1], lh, lw))
    cols = xp.permute_dims(cols, (0, 1, 4, 5, 2, 3))  # (N, C, L_H, L_W, kH, kW)
    full = (size[0] + 2 * padding[0], size[1] + 2 * padding[1])
    image = scatter_add_windows(cols, full, stride, dilation)
    image = image[:, :, padding[0] : full[0] - padding[0], padding[1] : full[1] - padding[1]]
    return image[0, ...] if unbatched else image
