"""Resizing an image batch: torch.nn.functional.interpolate for (N, C, H, W) input.

Every mode here is separable: each output row is computed from a few input rows, then
each output column from a few columns of that. Along one axis of size n_in resized to
n_out, output position o reads the input at a *source coordinate* s(o)::

    align_corners=False   s(o) = (o + 1/2) * scale - 1/2        (pixel centres line up)
    align_corners=True    s(o) = o * (n_in - 1) / (n_out - 1)   (corner pixels line up)

where ``scale = n_in / n_out``, or ``1 / scale_factor`` when scale_factor is given and
recompute_scale_factor is not True. Then, as in torch's kernels:

    nearest        x[min(floor(o * scale), n_in - 1)]   (no half-pixel shift: torch's
                                                         historical rule; a copy when the
                                                         size stays or exactly doubles)
    nearest-exact  x[min(floor((o + 1/2) * scale), n_in - 1)]
    bilinear       (1 - l) x[i] + l x[i + 1],  i = floor(s(o)), l = s(o) - i,
                   s clamped at 0 and i + 1 at n_in - 1
    bicubic        four neighbours x[i-1 .. i+2] (clamped to the edge) weighted by the
                   cubic convolution kernel with a = -0.75 (Keys 1981)
    area           the mean of adaptive average pooling's bin (``adaptive_pool.py``)

Bilinear resizing is linear interpolation along the rows, then along the columns.

Written as loops, bilinear is (for each n, c, and output pixel (p, q))::

    out[n, c, p, q] = sum over i in (i0, i1), j in (j0, j1) of
                      wh[p, i] * ww[q, j] * x[n, c, i, j]

Each mode is a linear map along each axis, A_h (H_out, H) and A_w (W_out, W), so
``out = A_h x A_w^T`` per plane: one gather with a small index/weight table per axis
(``_axis_maps.py``), the same code for every array library. The backward pass is the
adjoint of that map, ``dx = A_h^T dout A_w``: every input pixel collects dout from the
output pixels that read it, times the weight it was read with. For nearest upsampling by
2 that is the sum of each 2x2 block of dout; for bilinear it spreads each output
gradient onto its four neighbours. (One difference from torch: when a scale factor leaves
the size unchanged but still resamples, torch's bicubic backward copies dout, which is not
the gradient of its forward; cnnlib's backward stays the transposed map.)
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np

from cnnlib.backend import namespace
from cnnlib.functional._axis_maps import AxisMap, gather, transpose
from cnnlib.functional._checks import _check_dout, _check_float
from cnnlib.functional.adaptive_pool import adaptive_bins

__all__ = ["InterpolateCache", "interpolate", "interpolate_forward", "interpolate_backward"]

MODES = ("nearest", "nearest-exact", "bilinear", "bicubic", "area")
NOT_HERE = ("linear", "trilinear")  # torch's modes for 3-D and 5-D input


class InterpolateCache(NamedTuple):
    """maps : (rows, columns) AxisMaps, A_h and A_w.
    out : the output (dout must have its shape and dtype)."""

    maps: tuple
    out: object


def _nearest(n_in, n_out, scale, exact):
    if not exact and n_out in (n_in, 2 * n_in):  # torch's shortcuts, whatever the scale
        return np.arange(n_out) // (n_out // n_in)
    s = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)  # float
    o = np.arange(n_out)
    src = (o + 0.5) * np.float64(s) if exact else o.astype(np.float32) * s
    return np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), n_in - 1)


def _source(n_in, n_out, scale, align_corners, dtype, cubic=False):
    """torch's source coordinate s(o) of every output position, in the computing dtype."""
    o = np.arange(n_out).astype(dtype)
    if align_corners:
        ratio = dtype(n_in - 1) / dtype(n_out - 1) if n_out > 1 else dtype(0)
        return ratio * o
    ratio = dtype(1.0 / scale) if scale else dtype(n_in) / dtype(n_out)
    src = ratio * (o + dtype(0.5)) - dtype(0.5)
    return src if cubic else np.maximum(src, dtype(0))


def _floor(src, n_in, dtype):
    """i = floor(s) (clamped to the last pixel) and the fraction l in [0, 1], as torch."""
    i = np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), n_in - 1)
    return i, np.clip(src - i.astype(dtype), dtype(0), dtype(1))


def _cubic_weights(t, a=-0.75):
    """Keys' cubic convolution weights of the neighbours at -1, 0, 1, 2 for offset t."""

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=1)


def _axis_map(mode, n_in, n_out, scale, align_corners, dtype) -> AxisMap:
    """A (n_out, n_in) resizing map along one axis (see the module docstring)."""
    if mode in ("nearest", "nearest-exact"):
        return AxisMap(_nearest(n_in, n_out, scale, mode == "nearest-exact")[:, None], None, n_in)
    if mode == "area":
        bins = adaptive_bins(n_in, n_out)
        k = max(e - s for s, e in bins)
        index = np.array([[min(s + j, e - 1) for j in range(k)] for s, e in bins])
        weight = np.array([[1 / (e - s) if s + j < e else 0 for j in range(k)] for s, e in bins])
        return AxisMap(index, weight.astype(dtype), n_in)
    if mode == "bicubic":
        i, t = _floor(_source(n_in, n_out, scale, align_corners, dtype, cubic=True), n_in, dtype)
        index = np.clip(i[:, None] + np.arange(-1, 3), 0, n_in - 1)
        return AxisMap(index, _cubic_weights(t).astype(dtype), n_in)
    if n_out == n_in:  # bilinear: torch copies when the size does not change
        return AxisMap(np.arange(n_out)[:, None], None, n_in)
    i, lam = _floor(_source(n_in, n_out, scale, align_corners, dtype), n_in, dtype)
    index = np.stack([i, i + (i < n_in - 1)], axis=1)
    return AxisMap(index, np.stack([dtype(1) - lam, lam], axis=1), n_in)


def _is_int(v):
    return isinstance(v, Integral) and not isinstance(v, bool)


def _check_args(x, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias):
    """Torch's rules: exactly one of size and scale_factor, align_corners only for the
    interpolating modes. Returns ((out_h, out_w), (scale_h, scale_w) or (None, None))."""
    fn = "interpolate"
    if mode not in MODES + NOT_HERE:
        raise ValueError(f"{fn}: mode must be one of {MODES + NOT_HERE}, got {mode!r}")
    if x.ndim in (3, 5) or mode in NOT_HERE:
        raise NotImplementedError(
            f"{fn}: cnnlib resizes 4-D (N, C, H, W) input with modes {MODES}; got a "
            f"{x.ndim}-D input and mode={mode!r} (torch's 1-D and 3-D resizing)"
        )
    if x.ndim != 4:
        raise ValueError(f"{fn}: input must be 4-D (N, C, H, W), got shape {tuple(x.shape)}")
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError(
            f"{fn}: align_corners can only be set with the interpolating modes (bilinear, "
            f"bicubic), got align_corners={align_corners!r} with mode={mode!r}"
        )
    if antialias:
        if mode not in ("bilinear", "bicubic"):
            raise ValueError(f"{fn}: antialias=True needs mode 'bilinear' or 'bicubic'")
        raise NotImplementedError(f"{fn}: antialias=True is not implemented in cnnlib")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{fn}: give exactly one of size and scale_factor, got both or neither")
    if size is not None and recompute_scale_factor:
        raise ValueError(f"{fn}: recompute_scale_factor is not meaningful with an explicit size")
    hw = tuple(x.shape[-2:])
    if size is not None:
        pair = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
        if len(pair) != 2 or not all(_is_int(v) for v in pair):
            raise TypeError(f"{fn}: size must be an int or a pair of ints (h, w), got {size!r}")
        out, scales = tuple(int(v) for v in pair), (None, None)
    else:
        pair = (
            tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * 2
        )
        if len(pair) != 2 or not all(isinstance(v, Real) and not isinstance(v, bool) for v in pair):
            raise TypeError(
                f"{fn}: scale_factor must be a number or a pair of numbers, got {scale_factor!r}"
            )
        if min(pair) <= 0:
            raise ValueError(f"{fn}: scale_factor must be positive, got {scale_factor!r}")
        out = tuple(math.floor(n * float(s)) for n, s in zip(hw, pair))
        keep = not recompute_scale_factor and mode != "area"  # area always recomputes
        scales = tuple(float(s) for s in pair) if keep else (None, None)
    if min(out) < 1:
        raise ValueError(
            f"{fn}: the output size must be at least 1x1, got {out[0]}x{out[1]} for an "
            f"input of {hw[0]}x{hw[1]} (size={size!r}, scale_factor={scale_factor!r})"
        )
    return out, scales


def interpolate_forward(
    input,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias=False,
):
    """Resize `input`, keeping a cache for the backward pass.

    Parameters
    ----------
    input : (N, C, H, W) floating-point array
    size : int or (out_h, out_w); or else
    scale_factor : number or (s_h, s_w): out_h = floor(H * s_h)
    mode : 'nearest' (default), 'nearest-exact', 'bilinear', 'bicubic' or 'area'
    align_corners : bilinear/bicubic only; None means False (see the module docstring)
    recompute_scale_factor : True computes the sampling from the output size alone
        (scale = H / out_h) instead of from 1 / scale_factor
    antialias : not implemented (True raises NotImplementedError)

    Returns
    -------
    out : (N, C, out_h, out_w)
    cache : InterpolateCache
    """
    xp = namespace(input, names=["input"], fn="interpolate")
    out_hw, scales = _check_args(
        input, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias
    )
    _check_float(input, "input", "interpolate", xp)
    dtype = np.float64 if input.dtype == xp.float64 else np.float32  # torch's opmath type
    maps = tuple(
        _axis_map(mode, n_in, n_out, s, bool(align_corners), dtype)
        for n_in, n_out, s in zip(input.shape[-2:], out_hw, scales)
    )
    out = gather(gather(input, maps[0], -2), maps[1], -1)
    return out, InterpolateCache(maps, out)


def interpolate_backward(dout, cache: InterpolateCache):
    """Gradient of `interpolate`: dx = A_h^T dout A_w, the transposed resizing maps.

    dout : (N, C, out_h, out_w) -> dx : (N, C, H, W)
    """
    _check_dout(dout, cache.out, "interpolate_backward")
    rows, cols = cache.maps
    return gather(gather(dout, transpose(cols), -1), transpose(rows), -2)


def interpolate(
    input,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias=False,
):
    """torch.nn.functional.interpolate for (N, C, H, W) input.

    >>> interpolate(x, scale_factor=2, mode="bilinear")   # (N, C, H, W) -> (N, C, 2H, 2W)
    """
    return interpolate_forward(
        input, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias
    )[0]
