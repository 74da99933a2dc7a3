"""Padding: grow (or crop) the last dimensions of an array, as torch.nn.functional.pad.

``pad`` lists the amounts from the last dimension backwards, two per dimension::

    pad = (left, right)                          the last dimension (W)
    pad = (left, right, top, bottom)             W, then H
    pad = (left, right, top, bottom, front, back)

so a dimension of size n becomes n + before + after. A negative amount crops. What the
new positions hold depends on the mode; along one axis of ``x = [a b c d]`` padded by 2
on both sides::

    constant   v v | a b c d | v v      the value v (0 by default)
    reflect    c b | a b c d | c b      mirrored about the edge pixel (needs pad < n)
    replicate  a a | a b c d | d d      the edge pixel repeated
    circular   c d | a b c d | a b      wrapped around, as on a torus (needs pad <= n)

A convolution with ``padding_mode="reflect"`` pads this way before it slides its kernel.

Written out, output position i (counted from -before) reads input position

    reflect    |i|, or 2(n - 1) - i past the far edge
    replicate  min(max(i, 0), n - 1)
    circular   i mod n (after cropping any negative side)

which is how the non-constant modes are computed: one gather per padded axis with that
index table (``_axis_maps.py``). Padding is linear in the input, so its backward pass is
the transposed map: every input position collects the gradients of all the output
positions that copied it (an edge pixel of replicate padding collects before + 1 of
them). Constant padding copies the input into a block of the value, and its backward
pass copies the same region of dout back; the value gets no gradient.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from array_api_compat import device

from cnnlib.backend import namespace
from cnnlib.functional._axis_maps import AxisMap, gather, transpose
from cnnlib.functional._checks import _check_dout

__all__ = ["PadCache", "pad", "pad_forward", "pad_backward"]

MODES = ("constant", "reflect", "replicate", "circular")


class PadCache(NamedTuple):
    """What :func:`pad_backward` needs.

    maps : one AxisMap per padded axis, last axis first (None in constant mode)
    crop : (slices into the input, slices into the output) of the copied region
        (constant mode)
    input_shape : the input's shape
    out : the output (dout must have its shape and dtype)
    """

    maps: tuple | None
    crop: tuple | None
    input_shape: tuple
    out: object


def _check_pad(pad, ndim, fn):
    """pad as a tuple of ints with an even length of at most 2 * ndim."""
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"{fn}: pad must be a tuple of ints (left, right, ...), got {pad!r}")
    if not all(isinstance(p, Integral) and not isinstance(p, bool) for p in pad):
        raise TypeError(f"{fn}: pad must be a tuple of ints, got {tuple(pad)!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise ValueError(f"{fn}: pad must have an even length (two per dimension), got {pad}")
    if len(pad) // 2 > ndim:
        raise ValueError(
            f"{fn}: pad {pad} pads {len(pad) // 2} dimensions but the input has only {ndim}"
        )
    return pad


def _check_mode(mode, value, k, shape, fn):
    if mode not in MODES:
        raise ValueError(f"{fn}: mode must be one of {MODES}, got {mode!r}")
    if mode == "constant":
        if value is not None and (isinstance(value, bool) or not isinstance(value, Real)):
            raise TypeError(f"{fn}: value must be a real number or None, got {value!r}")
        return
    if value not in (None, 0):
        raise ValueError(f"{fn}: mode={mode!r} takes no value (only 'constant' does), got {value}")
    if k not in (1, 2, 3) or len(shape) not in (k + 1, k + 2):
        raise ValueError(
            f"{fn}: mode={mode!r} pads the last 1, 2 or 3 dimensions of an input with one or "
            f"two more (e.g. 4 values for a (C, H, W) or (N, C, H, W) input); got {2 * k} "
            f"values for a {len(shape)}-D input of shape {shape}"
        )


def _source_index(mode, n, before, after, axis, fn):
    """The input position each output position along one axis copies, as torch does."""
    i = np.arange(-before, n + after)
    if mode == "reflect":
        if before >= n or after >= n:
            raise ValueError(
                f"{fn}: reflect padding must be less than the input size, but got padding "
                f"({before}, {after}) for dimension {axis} of size {n}"
            )
        i = np.abs(i)  # before < n: one reflection at most
        return np.where(i > n - 1, 2 * (n - 1) - i, i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    start, kept = max(-before, 0), n - max(-before, 0) - max(-after, 0)  # crop first
    if max(before, after) > kept:
        raise ValueError(
            f"{fn}: circular padding must be at most the input size (it wraps around once), "
            f"but got padding ({before}, {after}) for dimension {axis} of size {kept}"
        )
    return start + np.arange(-max(before, 0), kept + max(after, 0)) % kept


def pad_forward(input, pad, mode="constant", value=None):
    """Pad the last len(pad) // 2 dimensions of `input`, keeping a cache for the backward.

    Parameters
    ----------
    input : array of any shape (constant mode), or with 1, 2 or 3 dimensions padded of a
        (k + 1)- or (k + 2)-D input (the other modes: (C, W) or (N, C, W) for one padded
        dimension, (C, H, W) or (N, C, H, W) for two, (N, C, D, H, W) for three)
    pad : (left, right, top, bottom, ...) ints, last dimension first; negative crops
    mode : 'constant', 'reflect', 'replicate' or 'circular'
    value : the fill of constant mode (None means 0)

    Returns
    -------
    out : the input with dimension -d grown by pad[2d - 2] + pad[2d - 1]
    cache : PadCache
    """
    fn = "pad"
    xp = namespace(input, names=["input"], fn=fn)
    shape = tuple(input.shape)
    pad = _check_pad(pad, len(shape), fn)
    k = len(pad) // 2
    _check_mode(mode, value, k, shape, fn)
    sides = [(pad[2 * d], pad[2 * d + 1], input.ndim - 1 - d) for d in range(k)]  # last first
    for before, after, axis in sides:
        size = shape[axis] + before + after
        least = 0 if mode == "constant" else 1  # the other modes need something to copy
        if size < least or shape[axis] < least:
            raise ValueError(
                f"{fn}: padding ({before}, {after}) of dimension {axis} (size {shape[axis]}) "
                f"leaves size {size}; mode={mode!r} needs sizes >= {least} before and after"
            )
    if mode == "constant":
        return _constant(input, xp, sides, value)
    out, maps = input, []
    for before, after, axis in sides:
        index = _source_index(mode, shape[axis], before, after, axis, fn)
        maps.append(AxisMap(index[:, None], None, shape[axis]))
        out = gather(out, maps[-1], axis)
    return out, PadCache(tuple(maps), None, shape, out)


def _constant(x, xp, sides, value):
    """Constant padding: a block of the value with the (cropped) input copied into it."""
    src, dst = [slice(None)] * x.ndim, [slice(None)] * x.ndim
    out_shape = list(x.shape)
    for before, after, axis in sides:
        n = x.shape[axis]
        out_shape[axis] = n + before + after
        kept = max(n - max(-before, 0) - max(-after, 0), 0)  # negative amounts crop
        src[axis] = slice(max(-before, 0), max(-before, 0) + kept)
        dst[axis] = slice(max(before, 0), max(before, 0) + kept)
    fill = 0 if value is None else value
    if xp.isdtype(x.dtype, "integral"):  # as torch: an integer array truncates the value
        fill = int(fill)
    elif xp.isdtype(x.dtype, "bool"):
        fill = bool(fill)
    out = xp.full(tuple(out_shape), fill, dtype=x.dtype, device=device(x))
    out[tuple(dst)] = x[tuple(src)]
    return out, PadCache(None, (tuple(src), tuple(dst)), tuple(x.shape), out)


def pad_backward(dout, cache: PadCache):
    """Gradient of `pad`: dout (the output's shape) -> dx (the input's shape).

    Constant mode: dout of the copied region, zero where the input was cropped.
    The other modes: each input position sums the dout of every position that copied it.
    """
    xp = _check_dout(dout, cache.out, "pad_backward")
    if cache.maps is None:
        src, dst = cache.crop
        dx = xp.zeros(cache.input_shape, dtype=dout.dtype, device=device(dout))
        dx[src] = dout[dst]
        return dx
    dx = dout
    for d, amap in enumerate(cache.maps):
        dx = gather(dx, transpose(amap), len(cache.input_shape) - 1 - d)
    return dx


def pad(input, pad, mode="constant", value=None):
    """torch.nn.functional.pad: pad (or crop) the last len(pad) // 2 dimensions.

    >>> pad(x, (1, 1, 2, 2), mode="reflect")   # (N, C, H, W) -> (N, C, H + 4, W + 2)
    """
    return pad_forward(input, pad, mode, value)[0]
