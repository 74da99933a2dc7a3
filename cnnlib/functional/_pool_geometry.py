"""Argument checks and window geometry shared by the pooling ops (max, average, adaptive,
and the naive loops).

``_geometry`` turns the user's kernel_size/stride/padding/dilation/ceil_mode into one
``_Geometry``: the checked (h, w) pairs, the output size (torch's formula, see
:func:`pool_output_size`) and the padding to apply, which grows on the far side when
ceil_mode needs a last, partly outside window. Bad arguments raise a TypeError or
ValueError that names the argument and the rule before any array work.
"""

from __future__ import annotations

from typing import NamedTuple

from cnnlib.backend import namespace


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
    """An int or a pair of ints as (h, w), each >= minimum."""
    pair = (value, value) if isinstance(value, int) else value
    if (
        not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
    ):
        raise TypeError(f"{fn}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{fn}: {name} must be >= {minimum}, got {value!r}")
    return tuple(pair)


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
    s = k if stride is None or stride == () or stride == [] else _pair(stride, "stride", fn, 1)
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


def _crop(dpadded, pad):
    """Drop the padding again: (N, C, H + top + bottom, W + left + right) -> (N, C, H, W)."""
    top, bottom, left, right = pad
    h, w = dpadded.shape[-2], dpadded.shape[-1]
    return dpadded[..., top : h - bottom, left : w - right]


def _finish(a, unbatched):
    return a[0, ...] if unbatched else a
