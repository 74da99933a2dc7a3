"""Max and average pooling over sliding windows.

Pooling slides a (kH, kW) window over each channel separately and keeps one number
per window: the largest (max pooling) or the mean (average pooling). It has no
weights, so its backward pass only routes the upstream gradient back to the inputs:
max pooling sends each window's gradient to the position of its maximum, average
pooling spreads it evenly over the window.

The output size along each axis is torch's::

    H_out = floor((H + 2p - d(k-1) - 1) / s) + 1        (ceil instead of floor with
                                                         ceil_mode=True)

where ceil_mode drops a last window that would start in the right padding. The
vectorised versions pad the input (-inf for max, 0 for average) and never build the
windows: tap (p, q) of every window at once is one strided (N, C, H_out, W_out) view of
the padded input (`tap_slices`), so a running maximum (or sum) over the kH*kW taps
reduces all windows with kH*kW whole-array operations and no per-window memory. Max
pooling remembers which tap won as a small integer per output; the backward pass adds
each tap's share of dout back through the same strided views. The passes run in a
(C, N, H, W) working layout over cache-sized blocks of channels, so that the kH*kW passes
find a block in the CPU's cache, or in (C, H, W, N) when output rows are short, so that
each pass runs over N times longer stretches of memory (see ``_windows.py``). The
`_naive` versions in ``pool_naive.py`` spell the same thing out with loops, for reading.
On a GPU, where every operation costs a launch, max pooling copies the windows once and
reduces them along one axis instead (``_pool_gpu.py``). The argument checks and the
window geometry are in ``_pool_geometry.py``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from array_api_compat import array_namespace, device

from cnnlib.functional._checks import _check_dout
from cnnlib.functional._pool_geometry import (
    _check_divisor,
    _check_input,
    _crop,
    _divisor,
    _finish,
    _first_valid,
    _flat_indices,
    _Geometry,
    _geometry,
    pool_output_size,
)
from cnnlib.functional._pool_gpu import max_over_windows, max_pool_scatter
from cnnlib.functional._windows import (
    at,
    batch_last_for,
    cache_blocks,
    from_working,
    on_accelerator,
    pad2d,
    tap_slices,
    to_working,
)

__all__ = [
    "pool_output_size",
    "max_pool2d",
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
]


# ---------------------------------------------------------------- max pooling


class MaxPool2dCache(NamedTuple):
    """argmax : (N, C, H_out, W_out) small integers, the tap p*kW + q of each window's
    maximum (-1 for a window with no input pixel).
    input_size : (H + top + bottom, W + left + right), the padded input size.
    out : the output (dout must have its shape and dtype)."""

    argmax: object
    input_size: tuple
    geometry: _Geometry
    unbatched: bool
    out: object


def _tap_dtype(xp, taps):
    """The smallest integer dtype that holds the tap indices -1 .. taps - 1."""
    return xp.int8 if taps <= 127 else xp.int16 if taps <= 32767 else xp.int32


def _working(x, g):
    """x (N, C, H, W) in the layout the tap loops run in, and that layout's flag: the
    batch innermost, (C, H, W, N), when output rows are short, else (C, N, H, W)."""
    batch_last = batch_last_for(g.out[1])
    return to_working(x, batch_last), batch_last


def _blocks(image, batch_last):
    """Cache-sized (C, N) blocks of a working-layout image; one block when batch_last
    (short rows mean small images)."""
    return [(slice(None), slice(None))] if batch_last else cache_blocks(image)


def _out_shape(image, g, batch_last):
    """The working-layout shape of the pooled image."""
    c, n = (image.shape[0], image.shape[3]) if batch_last else image.shape[:2]
    return (c,) + g.out + (n,) if batch_last else (c, n) + g.out


def _max_over_taps(image, block, g, batch_last, argmax, has_nan):
    """Running maximum over the kH*kW taps of one block of the padded working image.

    argmax : the index to report where no tap beats -inf (the first tap inside the
        input), broadcastable to the block's output
    returns : out and argmax of the block's windows, in the working layout
    """
    xp = array_namespace(image)
    out = None
    for (p, q), rows, cols in tap_slices(g.kernel, g.out, g.stride, g.dilation):
        tap = image[at(rows, cols, batch_last, block)]  # tap (p, q) of every window
        if out is None:
            out = xp.full(tap.shape, -math.inf, dtype=tap.dtype, device=device(tap))
        wins = tap > out  # strictly greater: the first maximum keeps a tie
        if has_nan:
            wins = wins | xp.isnan(tap)  # NaN wins over numbers, and the last NaN wins
        out = xp.maximum(out, tap)  # (NaN propagates, as it should)
        # taps come in increasing order, so the winner so far is the largest index seen:
        # a running maximum of `t` where this tap wins and -1 where it does not
        argmax = xp.maximum(argmax, xp.astype(wins, argmax.dtype) * (p * g.kernel[1] + q + 1) - 1)
    return out, argmax


def max_pool2d_forward(
    input,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    return_indices=False,
):
    """Max pooling, keeping a cache for the backward pass.

    Parameters
    ----------
    input : (N, C, H, W) or (C, H, W) floating-point array
    kernel_size, stride, padding, dilation : int or (h, w); stride defaults to kernel_size,
        padding (implicit -inf) must be at most kernel_size // 2
    ceil_mode : round the output size up instead of down
    return_indices : also return where each maximum is, as torch does (for max_unpool2d)

    Returns
    -------
    out : (N, C, H_out, W_out), H_out = floor((H + 2p - d(k-1) - 1)/s) + 1; with
        return_indices, (out, indices): indices (N, C, H_out, W_out) int64, the flat
        position r * W + c of each maximum in its (H, W) plane (-1 for a window wholly in
        the padding)
    cache : MaxPool2dCache; the backward pass takes the gradient of `out` only

    Like torch's kernels: the first maximum in row-major order wins a tie, a window
    holding NaNs outputs NaN and routes its gradient to the last NaN, and a window whose
    pixels are all -inf routes it to its first pixel inside the input.
    """
    fn = "max_pool2d"
    xp, x, unbatched = _check_input(input, fn)
    g = _geometry(x, fn, kernel_size, stride, padding, dilation, ceil_mode)
    xpad = pad2d(x, g.pad, value=-math.inf)
    first = xp.astype(_first_valid(x, g), _tap_dtype(xp, g.kernel[0] * g.kernel[1]))
    if on_accelerator(x):  # a few whole-window operations instead of a loop: _pool_gpu.py
        out, argmax = max_over_windows(xpad, g.kernel, g.stride, g.dilation, first)
    else:
        out, argmax = _max_pool_taps(xpad, g, first, has_nan=bool(xp.any(xp.isnan(x))))
    out = _finish(out, unbatched)
    cache = MaxPool2dCache(argmax, tuple(xpad.shape[-2:]), g, unbatched, out)
    if return_indices:
        return (out, _finish(_flat_indices(argmax, g, x.shape[-1]), unbatched)), cache
    return out, cache


def _max_pool_taps(xpad, g, first, has_nan):
    """out and argmax (N, C, H_out, W_out) of the padded input, one tap at a time over
    cache-sized blocks in the working layout."""
    xp = array_namespace(xpad)
    image, batch_last = _working(xpad, g)
    first = first[..., None] if batch_last else first  # (OH, OW, 1) against (C, OH, OW, N)
    shape = _out_shape(image, g, batch_last)
    out = xp.empty(shape, dtype=xpad.dtype, device=device(xpad))
    argmax = xp.empty(shape, dtype=first.dtype, device=device(xpad))
    for block in _blocks(image, batch_last):  # a cache-sized piece at a time
        where = at(slice(None), slice(None), batch_last, block)
        out[where], argmax[where] = _max_over_taps(image, block, g, batch_last, first, has_nan)
    return from_working(out, batch_last), from_working(argmax, batch_last)


def _add_through_taps(share, dout, cache):
    """The backward pass of a pooling: dx (N, C, H, W) with tap t of every window
    receiving ``share(t, block)`` (the block's (N, C, H_out, W_out) gradient share in the
    working layout), added through the same strided views the forward pass read; the
    padding is cropped off."""
    g = cache.geometry
    xp = array_namespace(dout)
    batch_last = batch_last_for(g.out[1])
    c, n = dout.shape[1], dout.shape[0]
    size = (c,) + cache.input_size + (n,) if batch_last else (c, n) + cache.input_size
    dpadded = xp.zeros(size, dtype=dout.dtype, device=device(dout))
    for block in _blocks(dpadded, batch_last):
        for (p, q), rows, cols in tap_slices(g.kernel, g.out, g.stride, g.dilation):
            dpadded[at(rows, cols, batch_last, block)] += share(p * g.kernel[1] + q, block)
    dpadded = from_working(dpadded, batch_last)
    return _finish(_crop(dpadded, g.pad), cache.unbatched)


def max_pool2d_backward(dout, cache: MaxPool2dCache):
    """Gradient of `max_pool2d`: each window's dout goes to the position of its maximum.

    dout : (N, C, H_out, W_out) (or (C, H_out, W_out)) -> dx : (N, C, H, W); an input
    that is the maximum of several overlapping windows collects all their gradients.
    """
    xp = _check_dout(dout, cache.out, "max_pool2d_backward")
    dout = dout[None, ...] if cache.unbatched else dout
    if on_accelerator(dout):
        g = cache.geometry
        dpadded = max_pool_scatter(
            dout, cache.argmax, g.kernel, g.stride, g.dilation, cache.input_size
        )
        return _finish(_crop(dpadded, g.pad), cache.unbatched)
    batch_last = batch_last_for(cache.geometry.out[1])
    d, argmax = to_working(dout, batch_last), to_working(cache.argmax, batch_last)

    def whole(a, block):
        return a[at(slice(None), slice(None), batch_last, block)]

    if bool(xp.all(xp.isfinite(dout))):
        # dout times a 0/1 mask: exact for finite numbers and much faster than `where`
        def share(t, block):
            return whole(d, block) * xp.astype(whole(argmax, block) == t, d.dtype)
    else:  # 0 * inf would be NaN: route non-finite gradients with `where`
        zero = xp.zeros((), dtype=d.dtype, device=device(d))

        def share(t, block):
            return xp.where(whole(argmax, block) == t, whole(d, block), zero)

    return _add_through_taps(share, dout, cache)


def max_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    return_indices=False,
):
    """Max pooling (torch.nn.functional.max_pool2d).

    input : (N, C, H, W) or (C, H, W) -> out : (N, C, H_out, W_out) with
    H_out = floor((H + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1;
    (out, indices) with return_indices (see `max_pool2d_forward`).
    """
    return max_pool2d_forward(
        input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )[0]


# ---------------------------------------------------------------- average pooling


class AvgPool2dCache(NamedTuple):
    """divisor : (H_out, W_out) how many pixels each window's sum was divided by (or the
    divisor_override).
    input_size : (H + top + bottom, W + left + right), the padded input size.
    out : the output (dout must have its shape and dtype)."""

    divisor: object
    input_size: tuple
    geometry: _Geometry
    unbatched: bool
    out: object


def avg_pool2d_forward(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    """Average pooling, keeping a cache for the backward pass.

    Parameters
    ----------
    input : (N, C, H, W) or (C, H, W) floating-point array
    kernel_size, stride, padding : int or (h, w); stride defaults to kernel_size,
        padding (implicit zeros) must be at most kernel_size // 2
    ceil_mode : round the output size up instead of down
    count_include_pad : divide by the window size including the zero padding
    divisor_override : a nonzero int to divide every window's sum by instead (then
        count_include_pad does not matter)

    Returns
    -------
    out : (N, C, H_out, W_out), H_out = floor((H + 2p - k)/s) + 1
    cache : AvgPool2dCache
    """
    fn = "avg_pool2d"
    xp, x, unbatched = _check_input(input, fn)
    g = _geometry(x, fn, kernel_size, stride, padding, 1, ceil_mode)
    xpad = pad2d(x, g.pad, value=0.0)
    image, batch_last = _working(xpad, g)
    divisor = (
        _divisor(x, g, count_include_pad)
        if divisor_override is None
        else _check_divisor(divisor_override, fn)
    )
    out = xp.empty(_out_shape(image, g, batch_last), dtype=x.dtype, device=device(x))
    for block in _blocks(image, batch_last):  # a cache-sized piece at a time
        total = None  # running sum over the taps
        for _, rows, cols in tap_slices(g.kernel, g.out, g.stride):
            tap = image[at(rows, cols, batch_last, block)]
            total = tap if total is None else total + tap
        out[at(slice(None), slice(None), batch_last, block)] = total
    out = _finish(from_working(out, batch_last) / divisor, unbatched)
    return out, AvgPool2dCache(divisor, tuple(xpad.shape[-2:]), g, unbatched, out)


def avg_pool2d_backward(dout, cache: AvgPool2dCache):
    """Gradient of `avg_pool2d`: each window spreads dout / divisor over its pixels.

    dout : (N, C, H_out, W_out) (or (C, H_out, W_out)) -> dx : (N, C, H, W)
    """
    _check_dout(dout, cache.out, "avg_pool2d_backward")
    dout = dout[None, ...] if cache.unbatched else dout
    batch_last = batch_last_for(cache.geometry.out[1])
    share = to_working(dout / cache.divisor, batch_last)  # every tap gets the same share
    return _add_through_taps(
        lambda t, block: share[at(slice(None), slice(None), batch_last, block)], dout, cache
    )


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    """Average pooling (torch.nn.functional.avg_pool2d).

    input : (N, C, H, W) or (C, H, W) -> out : (N, C, H_out, W_out) with
    H_out = floor((H + 2*padding - kernel_size) / stride) + 1.
    """
    return avg_pool2d_forward(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )[0]
