"""Max pooling on a GPU: every window copied once, then reduced along one axis.

On the CPU, pooling loops over the kH*kW taps of the windows (``pool.py``): each pass is a
whole-array operation over a cache-sized block, and no window is ever stored. On a GPU
each of those operations is a kernel launch that costs the host some microseconds however
little it computes, and the tap loop needs about six per tap (54 for a 3x3 window) where
torch's own kernel needs one. Here the windows of the padded input are copied into one
array and reduced along its last axis, about ten launches for any window size::

    windows : (N, C, H_out, W_out, kH*kW)      one copy of the strided window view
    out     = max over the last axis
    argmax  = the tap of the maximum, by the same rules as the CPU path:
              the first maximum wins a tie, the last NaN wins over numbers,
              and a window of nothing but -inf reports its first pixel inside the input

The backward pass spreads dout over a (N, C, H_out, W_out, kH*kW) array that is zero
except at each window's argmax, and ``col2im`` adds it back to the padded input in one
scatter-add. The copy of the windows costs kH*kW / (sH*sW) times the input's memory
while the forward pass runs (2.25 times for a 3x3 window with stride 2); the cache keeps
only argmax.
"""

from __future__ import annotations

import math

from array_api_compat import array_namespace, device

from cnnlib.functional._windows import col2im, sliding_windows

__all__ = ["max_over_windows", "max_pool_scatter"]


def max_over_windows(xpad, kernel, stride, dilation, first):
    """Maximum and its tap (p*kW + q) for every window of xpad, from one copy of the windows.

    xpad : (N, C, Hp, Wp), padded with -inf
    first : (H_out, W_out) integers, the first tap of each window inside the unpadded input
    returns : out (N, C, H_out, W_out) and argmax of first's dtype
    """
    xp = array_namespace(xpad)
    view = sliding_windows(xpad, kernel, stride, dilation)  # (N, C, OH, OW, kH, kW)
    taps = kernel[0] * kernel[1]
    windows = xp.reshape(view, tuple(view.shape[:4]) + (taps,))  # the one copy
    out = xp.max(windows, axis=-1)  # NaN propagates
    nan = xp.isnan(windows)
    last_nan = taps - 1 - xp.argmax(xp.astype(xp.flip(nan, axis=-1), xp.int8), axis=-1)
    first_max = xp.where(out == -math.inf, xp.astype(first, xp.int64), xp.argmax(windows, axis=-1))
    argmax = xp.where(xp.any(nan, axis=-1), last_nan, first_max)
    return out, xp.astype(argmax, first.dtype)


def max_pool_scatter(dout, argmax, kernel, stride, dilation, input_size):
    """The backward pass: dout added to the padded input at each window's argmax.

    dout, argmax : (N, C, H_out, W_out)
    input_size : (Hp, Wp) of the padded input
    returns : (N, C, Hp, Wp)
    """
    xp = array_namespace(dout)
    taps = xp.arange(kernel[0] * kernel[1], dtype=argmax.dtype, device=device(dout))
    zero = xp.zeros((), dtype=dout.dtype, device=device(dout))
    # (N, C, OH, OW, kH*kW), nonzero only at each window's argmax: where, not a 0/1 product,
    # so that an infinite gradient does not turn the zeros into NaN
    share = xp.where(argmax[..., None] == taps, dout[..., None], zero)
    cols = xp.permute_dims(share, (1, 4, 0, 2, 3))  # col2im's (C, kH*kW, N, OH, OW)
    return col2im(cols, kernel, input_size, stride, dilation)
