"""Argument checks and window geometry shared by the pooling ops (max, average, adaptive,
and the naive loops).

``_geometry`` turns the user's kernel_size/stride/padding/dilation/ceil_mode into one
``_Geometry``: the checked (h, w) pairs, the output size (torch's formula, see
:func:`pool_output_size`) and the padding to apply, which grows on the far side when
ceil_mode needs a last, partly outside window. Bad arguments raise a TypeError or
ValueError that names the argument and the rule before any array work. The other
geometry lives here too: each window's first tap inside the input and average pooling's
divisors (computed on the host with NumPy), and torch's flat indices of the maxima.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from array_api_compat import array_namespace

from cnnlib.backend import asarray_like, namespace
from cnnlib.functional._checks import _check_int, _int_tuple


def _check_input(input, fn):
    """(xp, input as (N, C, H, W), whether it was unbatched (C, H, W))."""
    xp = namespace(input, names=["input"], fn=fn)
    if input.ndim not in (3, 4):
        raise ValueError(
            f"{fn}: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape {tuple(input.shape)}"
        )
    if not xp.isdtype(input.dtype, "real floating"):
        raise TypeError(
            f"{fn}: input must have a floating-point dtype, got {input.dtype}; "
            "convert it first (e.g. x.astype(np.float32))"
        )
    unbatched = input.ndim == 3
    return xp, (input[None, ...] if unbatched else input), unbatched


def _pair(value, name, fn, minimum):
    """An int or a pair of ints (Python or NumPy, not bool) as (h, w), each >= minimum;
    like torch, a 1-tuple (k,) means k."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    return _int_tuple(value, 2, name, fn, minimum)


def pool_output_size(size, kernel, stride, padding=0, dilation=1, ceil_mode=False) -> int:
    """Windows along one axis: floor((size + 2p - d(k-1) - 1)/s) + 1, or ceil in ceil_mode.

    In ceil_mode the last window must start inside the input or the left padding
    (torch's rule), otherwise it is dropped.
    """
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


class _Geometry(NamedTuple):
    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    out: tuple  # (H_out, W_out)
    pad: tuple  # (top, bottom, left, right): bottom/right grow in ceil_mode


def _geometry(x, fn, kernel_size, stride, padding, dilation, ceil_mode):
    k = _pair(kernel_size, "kernel_size", fn, 1)
    default = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    s = k if default else _pair(stride, "stride", fn, 1)  # torch: None or () means k
    p = _pair(padding, "padding", fn, 0)
    d = _pair(dilation, "dilation", fn, 1)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(
            f"{fn}: padding must be at most half the kernel size, got padding={p} "
            f"for kernel_size={k}"
        )
    size = tuple(x.shape[-2:])
    out = tuple(pool_output_size(*a, ceil_mode) for a in zip(size, k, s, p, d))
    if min(out) < 1:
        raise ValueError(
            f"{fn}: the window (kernel_size={k}, dilation={d}, so {d[0] * (k[0] - 1) + 1}x"
            f"{d[1] * (k[1] - 1) + 1} input pixels) is larger than the padded input "
            f"{size[0] + 2 * p[0]}x{size[1] + 2 * p[1]} (input shape {tuple(x.shape)}, "
            f"padding={p}); the output would be {out[0]}x{out[1]}"
        )
    # ceil_mode may need a last, partly outside window: pad the far side enough for it
    extra = [
        max(0, (o - 1) * si + di * (ki - 1) + 1 - (n + 2 * pi))
        for o, si, di, ki, n, pi in zip(out, s, d, k, size, p)
    ]
    pad = (p[0], p[0] + extra[0], p[1], p[1] + extra[1])
    return _Geometry(k, s, p, d, out, pad)


def _first_valid(x, g):
    """(H_out, W_out): flat index p*kW + q of each window's first tap inside the input, -1
    for a window wholly in the padding. Geometry, so NumPy computes it on the host."""
    firsts = []
    for o, s, p, d, k, n in zip(g.out, g.stride, g.padding, g.dilation, g.kernel, x.shape[-2:]):
        pos = np.arange(o)[:, None] * s - p + np.arange(k) * d  # (o, k): where each tap reads
        inside = (pos >= 0) & (pos < n)
        firsts.append(np.where(inside.any(axis=1), inside.argmax(axis=1), -1))
    rows, cols = firsts[0][:, None], firsts[1]
    grid = np.where((rows >= 0) & (cols >= 0), rows * g.kernel[1] + cols, -1)
    return asarray_like(grid, x, dtype=namespace(x).int64)


def _divisor(x, g, count_include_pad):
    """(H_out, W_out): torch's divisor, separable into a row count times a column count.

    count_include_pad=True counts the zero padding but not what ceil_mode adds beyond
    it; count_include_pad=False counts only the pixels inside the input.
    """
    counts = []
    for o, s, p, k, n in zip(g.out, g.stride, g.padding, g.kernel, x.shape[-2:]):
        starts = [i * s - p for i in range(o)]
        ends = [min(a + k, n + p) for a in starts]
        if count_include_pad:
            counts.append([e - a for a, e in zip(starts, ends)])
        else:
            counts.append([min(e, n) - max(a, 0) for a, e in zip(starts, ends)])
    return asarray_like([[a * b for b in counts[1]] for a in counts[0]], x)


def _check_divisor(divisor_override, fn):
    divisor = _check_int(divisor_override, "divisor_override", fn)
    if divisor == 0:
        raise ValueError(f"{fn}: divisor_override must not be zero")
    return divisor


def _flat_indices(argmax, g, width):
    """torch's max pooling indices from the winning taps: the flat position r * W + c of
    each window's maximum in the unpadded (H, W) plane, -1 for a window wholly in the
    padding.

    argmax : (N, C, H_out, W_out), tap p*kW + q of each window's maximum (-1 for none)
    """
    xp = array_namespace(argmax)
    tap = xp.astype(argmax, xp.int64)
    (oh, ow), (sh, sw), (ph, pw) = g.out, g.stride, g.padding
    top = asarray_like(np.arange(oh)[:, None] * sh - ph, tap)  # first row of each window
    left = asarray_like(np.arange(ow) * sw - pw, tap)
    rows = top + (tap // g.kernel[1]) * g.dilation[0]
    cols = left + (tap % g.kernel[1]) * g.dilation[1]
    return xp.where(tap >= 0, rows * width + cols, xp.full_like(tap, -1))


def _crop(dpadded, pad):
    """Drop the padding again: (N, C, H + top + bottom, W + left + right) -> (N, C, H, W)."""
    top, bottom, left, right = pad
    h, w = dpadded.shape[-2], dpadded.shape[-1]
    return dpadded[..., top : h - bottom, left : w - right]


def _finish(a, unbatched):
    return a[0, ...] if unbatched else a
