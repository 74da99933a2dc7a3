"""Sliding windows: the one module with a code path per array library.

Convolution, pooling and im2col all look at an image through a grid of small windows.
Everything they need from the array library is collected here, so the op modules stay
pure Array API code. All arrays are laid out (N, C, H, W).

pad2d(x, pad, value=0.0)
    Pad the last two axes; ``pad = (top, bottom, left, right)``.
    NumPy: ``np.pad``; torch: ``torch.nn.functional.pad``; any other Array API
    library: concatenation with constant blocks.

sliding_windows(x, kernel_size, stride=1, dilation=1) -> (N, C, OH, OW, kH, kW)
    ``windows[n, c, i, j, p, q] = x[n, c, i*sH + p*dH, j*sW + q*dW]`` with
    ``OH = floor((H - dH*(kH-1) - 1) / sH) + 1`` (same for OW). NumPy and torch return
    a read-only strided *view* (no copy: each input value appears in up to kH*kW
    windows but is stored once); other libraries get a copy built from kH*kW strided
    slices.

scatter_add_windows(cols, input_size, stride=1, dilation=1) -> (N, C, H, W)
    The adjoint of ``sliding_windows`` (col2im): every window entry is added back to
    the input position it was read from. Overlapping windows sum. One strided
    slice-add per kernel offset (kH*kW of them), which works in every library.

dilate2d(x, stride) -> (N, C, (H-1)*sH + 1, (W-1)*sW + 1)
    Insert ``s - 1`` zeros between neighbouring pixels ("zero insertion"). The input
    gradient of a strided convolution is a stride-1 convolution of the dilated
    upstream gradient.

windows_out_size(size, kernel, stride, dilation) -> int
    The number of window positions along one axis, floor((size - d(k-1) - 1)/s) + 1.

These helpers do not validate their arguments beyond what they need; the public ops
check the user's input and raise the clear errors.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace, device, is_numpy_array, is_torch_array

__all__ = [
    "pair",
    "pad2d",
    "windows_out_size",
    "sliding_windows",
    "scatter_add_windows",
    "dilate2d",
]


def pair(v) -> tuple[int, int]:
    """An int or a length-2 sequence as an (h, w) tuple (no validation)."""
    if isinstance(v, (tuple, list)):
        return tuple(v)
    return (v, v)


def windows_out_size(size: int, kernel: int, stride: int = 1, dilation: int = 1) -> int:
    """How many windows fit along an axis: floor((size - d*(k-1) - 1) / s) + 1."""
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def pad2d(x, pad, value=0.0):
    """Pad the last two axes of ``x`` with the constant ``value``.

    x : (..., H, W)
    pad : (top, bottom, left, right), non-negative ints
    returns : (..., H + top + bottom, W + left + right)
    """
    top, bottom, left, right = (int(p) for p in pad)
    if top == bottom == left == right == 0:
        return x
    if is_numpy_array(x):
        widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
        return np.pad(x, widths, mode="constant", constant_values=value)
    if is_torch_array(x):
        import torch.nn.functional as tF

        return tF.pad(x, (left, right, top, bottom), mode="constant", value=value)
    xp = array_namespace(x)
    lead = tuple(x.shape[:-2])
    h, w = x.shape[-2], x.shape[-1]

    def block(shape):
        return xp.full(shape, value, dtype=x.dtype, device=device(x))

    rows = [block(lead + (top, w))] if top else []
    rows += [x] + ([block(lead + (bottom, w))] if bottom else [])
    x = xp.concat(rows, axis=-2)
    h = h + top + bottom
    cols = [block(lead + (h, left))] if left else []
    cols += [x] + ([block(lead + (h, right))] if right else [])
    return xp.concat(cols, axis=-1)


def sliding_windows(x, kernel_size, stride=1, dilation=1):
    """All (kH, kW) windows of ``x``, as a view where the library allows.

    x : (N, C, H, W)
    returns : (N, C, OH, OW, kH, kW), OH = floor((H - dH*(kH-1) - 1) / sH) + 1

    ``windows[n, c, i, j, p, q] = x[n, c, i*sH + p*dH, j*sW + q*dW]``. For NumPy and
    torch the result shares memory with ``x``: do not write to it.
    """
    (kh, kw), (sh, sw), (dh, dw) = pair(kernel_size), pair(stride), pair(dilation)
    n, c, h, w = x.shape
    oh, ow = windows_out_size(h, kh, sh, dh), windows_out_size(w, kw, sw, dw)
    if oh < 1 or ow < 1:
        raise ValueError(
            f"sliding_windows: kernel {(kh, kw)} with dilation {(dh, dw)} does not fit "
            f"in an input of size {(h, w)}"
        )
    shape = (n, c, oh, ow, kh, kw)
    if is_numpy_array(x):
        s0, s1, s2, s3 = x.strides
        strides = (s0, s1, s2 * sh, s3 * sw, s2 * dh, s3 * dw)
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)
    if is_torch_array(x):
        s0, s1, s2, s3 = x.stride()
        strides = (s0, s1, s2 * sh, s3 * sw, s2 * dh, s3 * dw)
        return x.as_strided(shape, strides, x.storage_offset())
    # Generic Array API: one strided slice (N, C, OH, OW) per kernel offset, stacked.
    xp = array_namespace(x)
    slices = [
        x[:, :, p * dh : p * dh + sh * (oh - 1) + 1 : sh, q * dw : q * dw + sw * (ow - 1) + 1 : sw]
        for p in range(kh)
        for q in range(kw)
    ]
    return xp.reshape(xp.stack(slices, axis=-1), shape)


def scatter_add_windows(cols, input_size, stride=1, dilation=1):
    """The adjoint of :func:`sliding_windows` (col2im): add windows back into an image.

    cols : (N, C, OH, OW, kH, kW)
    input_size : (H, W) of the image the windows were taken from (rows or columns that
        no window touches come back as zeros)
    returns : (N, C, H, W) with ``out[n, c, i*sH + p*dH, j*sW + q*dW] += cols[n, c, i, j, p, q]``
    """
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    n, c, oh, ow, kh, kw = cols.shape
    h, w = input_size
    xp = array_namespace(cols)
    out = xp.zeros((n, c, h, w), dtype=cols.dtype, device=device(cols))
    for p in range(kh):
        for q in range(kw):
            rows = slice(p * dh, p * dh + sh * (oh - 1) + 1, sh)
            columns = slice(q * dw, q * dw + sw * (ow - 1) + 1, sw)
            out[:, :, rows, columns] += cols[:, :, :, :, p, q]
    return out


def dilate2d(x, stride):
    """Insert ``stride - 1`` zeros between neighbouring pixels of the last two axes.

    x : (..., H, W)
    returns : (..., (H-1)*sH + 1, (W-1)*sW + 1) with ``out[..., i*sH, j*sW] = x[..., i, j]``
    """
    sh, sw = pair(stride)
    if sh == sw == 1:
        return x
    xp = array_namespace(x)
    h, w = x.shape[-2], x.shape[-1]
    shape = tuple(x.shape[:-2]) + ((h - 1) * sh + 1, (w - 1) * sw + 1)
    out = xp.zeros(shape, dtype=x.dtype, device=device(x))
    out[..., ::sh, ::sw] = x
    return out
