"""Adaptive pooling: choose the output size, let the windows follow.

Instead of a kernel and a stride, adaptive pooling takes the output size (out_h, out_w)
and splits the input into out_h x out_w bins with torch's bin edges::

    start_i = floor(i * H / out_h)        end_i = ceil((i + 1) * H / out_h)

Neighbouring bins may overlap by one row when H is not a multiple of out_h. With
``output_size=1`` this is global average (or max) pooling; several output sizes
concatenated give spatial pyramid pooling.

Bins have different sizes, so the vectorised version pads each bin to the largest
bin size k by repeating its last index, gathers all bins at once with ``xp.take``
into an (N, C, out_h, out_w, kh, kw) block and masks the repeated entries out. The
backward pass adds each bin's gradient back onto its rows and columns, one slice per
bin along each axis.
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import NamedTuple

from array_api_compat import array_namespace, device

from cnnlib.backend import asarray_like
from cnnlib.functional._checks import _check_dout
from cnnlib.functional._pool_geometry import _check_input, _finish

__all__ = [
    "adaptive_avg_pool2d",
    "adaptive_avg_pool2d_forward",
    "adaptive_avg_pool2d_backward",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_forward",
    "adaptive_max_pool2d_backward",
    "adaptive_bins",
]


def _window_max(windows, xp, first_valid=None, real=None):
    """Maximum of each window and where it is, with torch's tie rules.

    windows : (N, C, OH, OW, kH, kW)
    first_valid : (OH, OW) flat index of each window's first tap inside the input
        (-1 when there is none); it wins where the maximum is -inf, tied by the padding
    real : (OH, OW, kH, kW) bool, the entries that may hold the last NaN (default all)
    returns : out (N, C, OH, OW), route (N, C, OH, OW, kH, kW) bool, True at the maximum

    Like torch's kernels: the first maximum in row-major order wins a tie, and a
    window holding NaNs outputs NaN and sends its gradient to the last NaN.
    """
    n, c, oh, ow, kh, kw = windows.shape
    flat = xp.reshape(windows, (n, c, oh, ow, kh * kw))
    out = xp.max(flat, axis=-1)
    arg = xp.argmax(flat, axis=-1)
    if first_valid is not None:
        arg = xp.where(out == -math.inf, first_valid, arg)
    isnan = xp.isnan(out)
    if xp.any(isnan):
        nans = xp.isnan(windows) if real is None else xp.isnan(windows) & real
        nans = xp.reshape(nans, (n, c, oh, ow, kh * kw))
        last = (kh * kw - 1) - xp.argmax(xp.astype(xp.flip(nans, axis=-1), xp.int8), axis=-1)
        arg = xp.where(isnan, last, arg)
    taps = asarray_like(list(range(kh * kw)), out, xp.int64)
    return out, xp.reshape(taps == arg[..., None], (n, c, oh, ow, kh, kw))


def adaptive_bins(size: int, out: int) -> list[tuple[int, int]]:
    """torch's bins [start, end) that split `size` positions into `out` bins.

    >>> adaptive_bins(5, 3)
    [(0, 2), (1, 4), (3, 5)]
    """
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def _output_size(output_size, shape, fn):
    """`output_size` as (out_h, out_w); None entries keep the input size."""
    if isinstance(output_size, bool) or not isinstance(output_size, (Integral, tuple, list)):
        raise TypeError(
            f"{fn}: output_size must be an int or a pair of ints (None keeps the input size), "
            f"got {output_size!r}"
        )
    pair = (output_size,) * 2 if isinstance(output_size, Integral) else tuple(output_size)
    if len(pair) != 2:
        raise ValueError(f"{fn}: output_size must have 2 entries (out_h, out_w), got {pair!r}")
    sizes = []
    for value, dim in zip(pair, shape[-2:]):
        if value is None:
            value = dim
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise TypeError(f"{fn}: output_size entries must be ints or None, got {pair!r}")
        if value < 1:
            raise ValueError(f"{fn}: output_size must be >= 1, got {pair!r}")
        sizes.append(int(value))
    return tuple(sizes)


class AdaptivePoolCache(NamedTuple):
    """What the backward pass needs.

    route : (N or 1, C or 1, out_h, out_w, kh, kw) bool, which gathered entries get a
        gradient: the real (not repeated) ones for the average, the maximum for the max
    divisor : (out_h, out_w) bin sizes for the average, None for the max
    bins : ([(start, end)] * out_h, [(start, end)] * out_w), torch's bin edges
    input_size : (H, W)
    unbatched : whether the input was (C, H, W)
    out : the output (dout must have its shape and dtype)
    """

    route: object
    divisor: object
    bins: tuple
    input_size: tuple
    unbatched: bool
    out: object


def _gather(x, xp, output_size):
    """All bins of x (N, C, H, W) as (N, C, out_h, out_w, kh, kw), each padded to the
    largest bin (kh, kw) by repeating its last row and column.

    Returns the block, the (out_h, out_w, kh, kw) mask of real entries, the
    (out_h, out_w) bin sizes and the bin edges along both axes.
    """
    n, c, h, w = x.shape
    index, real, edges = [], [], []
    for size, out in zip((h, w), output_size):
        bins = adaptive_bins(size, out)
        k = max(e - s for s, e in bins)
        index.append(
            asarray_like([min(s + j, e - 1) for s, e in bins for j in range(k)], x, xp.int64)
        )
        real.append([[s + j < e for j in range(k)] for s, e in bins])
        edges.append(bins)
    (oh, ow), (kh, kw) = output_size, (len(real[0][0]), len(real[1][0]))
    g = xp.take(xp.take(x, index[0], axis=2), index[1], axis=3)  # (N, C, oh*kh, ow*kw)
    g = xp.permute_dims(xp.reshape(g, (n, c, oh, kh, ow, kw)), (0, 1, 2, 4, 3, 5))
    mask = [[[[a and b for b in rw] for a in rh] for rw in real[1]] for rh in real[0]]
    sizes = [[sum(rh) * sum(rw) for rw in real[1]] for rh in real[0]]
    return g, asarray_like(mask, x, xp.bool), asarray_like(sizes, x), tuple(edges)


def _backward(dout, cache: AdaptivePoolCache, fn):
    """Send dout (divided by the bin size for the average) to the routed entries of
    every bin and add the bins back onto the input (N, C, H, W)."""
    xp = _check_dout(dout, cache.out, fn)
    dout = dout[None, ...] if cache.unbatched else dout
    share = dout if cache.divisor is None else dout / cache.divisor
    dbins = xp.where(cache.route, share[..., None, None], xp.zeros_like(share)[..., None, None])
    n, c, oh, ow, kh, kw = dbins.shape
    (h, w), (bins_h, bins_w) = cache.input_size, cache.bins
    # (N, C, oh, ow, kh, kw) -> (N, C, oh*kh, ow*kw): bin (i, j) is block (i, j)
    dg = xp.reshape(xp.permute_dims(dbins, (0, 1, 2, 4, 3, 5)), (n, c, oh * kh, ow * kw))
    drows = xp.zeros((n, c, oh * kh, w), dtype=dg.dtype, device=device(dg))
    for j, (s, e) in enumerate(bins_w):  # the repeated columns carry no gradient
        drows[..., s:e] += dg[..., j * kw : j * kw + e - s]
    dx = xp.zeros((n, c, h, w), dtype=dg.dtype, device=device(dg))
    for i, (s, e) in enumerate(bins_h):
        dx[..., s:e, :] += drows[..., i * kh : i * kh + e - s, :]
    return _finish(dx, cache.unbatched)


def adaptive_avg_pool2d_forward(input, output_size):
    """Adaptive average pooling, keeping a cache for the backward pass.

    Parameters
    ----------
    input : (N, C, H, W) or (C, H, W) floating-point array
    output_size : int or (out_h, out_w); a None entry keeps that input size

    Returns
    -------
    out : (N, C, out_h, out_w), each entry the mean of its bin
    cache : AdaptivePoolCache
    """
    fn = "adaptive_avg_pool2d"
    xp, x, unbatched = _check_input(input, fn)
    g, real, sizes, bins = _gather(x, xp, _output_size(output_size, x.shape, fn))
    out = _finish(xp.sum(xp.where(real, g, xp.zeros_like(g)), axis=(-2, -1)) / sizes, unbatched)
    return out, AdaptivePoolCache(real, sizes, bins, tuple(x.shape[-2:]), unbatched, out)


def adaptive_avg_pool2d_backward(dout, cache: AdaptivePoolCache):
    """Gradient of `adaptive_avg_pool2d`: each bin spreads dout / (its pixel count) over its pixels.

    dout : (N, C, out_h, out_w) (or (C, out_h, out_w)) -> dx : (N, C, H, W)
    """
    return _backward(dout, cache, "adaptive_avg_pool2d_backward")


def adaptive_avg_pool2d(input, output_size):
    """Adaptive average pooling (torch.nn.functional.adaptive_avg_pool2d).

    input : (N, C, H, W) or (C, H, W) -> out : (N, C, out_h, out_w); output_size=1 is
    global average pooling.
    """
    return adaptive_avg_pool2d_forward(input, output_size)[0]


def adaptive_max_pool2d_forward(input, output_size, return_indices=False):
    """Adaptive max pooling, keeping a cache for the backward pass.

    Parameters
    ----------
    input : (N, C, H, W) or (C, H, W) floating-point array
    output_size : int or (out_h, out_w); a None entry keeps that input size
    return_indices : also return where each maximum is, as torch does

    Returns
    -------
    out : (N, C, out_h, out_w), each entry the maximum of its bin; like torch, the first
        maximum in row-major order wins a tie, and the last NaN wins over numbers. With
        return_indices, (out, indices): indices (N, C, out_h, out_w) int64, the flat
        position r * W + c of each maximum in its (H, W) plane
    cache : AdaptivePoolCache; the backward pass takes the gradient of `out` only
    """
    fn = "adaptive_max_pool2d"
    xp, x, unbatched = _check_input(input, fn)
    g, real, _, bins = _gather(x, xp, _output_size(output_size, x.shape, fn))
    # repeated entries come after the real ones, so the first maximum is a real one
    out, route = _window_max(g, xp, real=real)
    out = _finish(out, unbatched)
    cache = AdaptivePoolCache(route, None, bins, tuple(x.shape[-2:]), unbatched, out)
    if return_indices:
        return (out, _finish(_bin_indices(route, bins, x.shape[-1]), unbatched)), cache
    return out, cache


def _bin_indices(route, bins, width):
    """The flat position r * W + c of each bin's maximum: route (N, C, oh, ow, kh, kw)
    marks the maximum's place (a, b) in the bin, which starts at row bins[0][i][0]."""
    xp = array_namespace(route)
    n, c, oh, ow, kh, kw = route.shape
    tap = xp.argmax(xp.astype(xp.reshape(route, (n, c, oh, ow, kh * kw)), xp.int8), axis=-1)
    top = asarray_like([[s] for s, _ in bins[0]], tap, xp.int64)  # (oh, 1)
    left = asarray_like([s for s, _ in bins[1]], tap, xp.int64)  # (ow,)
    return (top + tap // kw) * width + left + tap % kw


def adaptive_max_pool2d_backward(dout, cache: AdaptivePoolCache):
    """Gradient of `adaptive_max_pool2d`: each bin sends dout to its maximum.

    dout : (N, C, out_h, out_w) (or (C, out_h, out_w)) -> dx : (N, C, H, W); an input
    that is the maximum of two overlapping bins collects both gradients.
    """
    return _backward(dout, cache, "adaptive_max_pool2d_backward")


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Adaptive max pooling (torch.nn.functional.adaptive_max_pool2d).

    input : (N, C, H, W) or (C, H, W) -> out : (N, C, out_h, out_w); (out, indices) with
    return_indices (see `adaptive_max_pool2d_forward`).
    """
    return adaptive_max_pool2d_forward(input, output_size, return_indices)[0]
