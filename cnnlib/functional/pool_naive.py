"""Max and average pooling written as loops over every output element: the definitions.

They check their arguments and compute the output size exactly like `max_pool2d` and
`avg_pool2d` in ``pool.py``, and return the same values, slowly and forward only. The book
reads them; the tests check the fast versions against them.
"""

import math

import numpy as np

from cnnlib.backend import asarray_like, to_numpy
from cnnlib.functional._pool_geometry import _check_input, _finish, _geometry

__all__ = ["max_pool2d_naive", "avg_pool2d_naive"]


def max_pool2d_naive(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """`max_pool2d` with explicit loops (forward only): the definition, slowly.

    input : (N, C, H, W) or (C, H, W) -> out : (N, C, H_out, W_out)
    """
    fn = "max_pool2d_naive"
    _, x4, unbatched = _check_input(input, fn)
    g = _geometry(x4, fn, kernel_size, stride, padding, dilation, ceil_mode)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = g.kernel, g.stride, g.padding, g.dilation
    x = to_numpy(x4)
    h, w = x.shape[-2:]
    out = np.empty(x.shape[:2] + g.out, dtype=x.dtype)
    for b, c, i, j in np.ndindex(out.shape):
        best = -math.inf  # what the padding holds
        for p in range(kh):
            for q in range(kw):
                r, s = i * sh - ph + p * dh, j * sw - pw + q * dw  # pixel under tap (p, q)
                if 0 <= r < h and 0 <= s < w:
                    v = x[b, c, r, s]
                    if v > best or math.isnan(v):  # as in torch, a NaN wins
                        best = v
        out[b, c, i, j] = best
    return asarray_like(_finish(out, unbatched), input)


def avg_pool2d_naive(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
):
    """`avg_pool2d` with explicit loops (forward only): the definition, slowly.

    input : (N, C, H, W) or (C, H, W) -> out : (N, C, H_out, W_out)
    """
    fn = "avg_pool2d_naive"
    _, x4, unbatched = _check_input(input, fn)
    g = _geometry(x4, fn, kernel_size, stride, padding, 1, ceil_mode)
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    x = to_numpy(x4)
    h, w = x.shape[-2:]
    out = np.empty(x.shape[:2] + g.out, dtype=x.dtype)
    for b, c, i, j in np.ndindex(out.shape):
        # rows [r0, r1) and columns [s0, s1) of the window, clipped to the padded
        # input (a ceil_mode window may reach past it)
        r0, s0 = i * sh - ph, j * sw - pw
        r1, s1 = min(r0 + kh, h + ph), min(s0 + kw, w + pw)
        total, count = 0.0, 0
        for r in range(r0, r1):
            for s in range(s0, s1):
                inside = 0 <= r < h and 0 <= s < w
                total += x[b, c, r, s] if inside else 0.0
                count += 1 if inside or count_include_pad else 0
        out[b, c, i, j] = total / count
    return asarray_like(_finish(out, unbatched), input)
