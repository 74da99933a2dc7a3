"""Max unpooling: put each pooled maximum back where it came from, zeros elsewhere.

``max_pool2d(x, k, return_indices=True)`` reports, for every window, the flat position
``r * W + c`` of its maximum in the (H, W) plane. ``max_unpool2d`` takes those values and
indices and writes each value at its position in an otherwise zero plane: a partial
inverse of max pooling (what the pooling threw away stays zero), used by decoders such as
SegNet's to upsample with the encoder's "where". Written as loops::

    out = zeros(N, C, H_out * W_out)
    for n, c, i in every input position:
        out[n, c, indices[n, c, i]] = input[n, c, i]        (a later write wins)

The output size defaults to the size max pooling would have come from,
``H_out = (H_in - 1) * stride - 2 * padding + kernel_size``; ``output_size`` picks
another within one stride of it (max pooling's floor can drop up to stride - 1 rows).

The loop is a scatter, which the Array API has no function for, so the vectorised
version turns it around into a gather: it sorts the destinations once, and every output
position looks up (binary search) the last input written there, if any. The backward
pass is a plain gather: ``dinput[n, c, i] = dout[n, c, indices[n, c, i]]``.
"""

from __future__ import annotations

from typing import NamedTuple

from array_api_compat import device

from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_dout
from cnnlib.functional._pool_geometry import _check_input, _finish, _pair

__all__ = ["MaxUnpool2dCache", "max_unpool2d", "max_unpool2d_forward", "max_unpool2d_backward"]


class MaxUnpool2dCache(NamedTuple):
    """flat : (N*C*H*W,) int64, where every input value went in the flattened output.
    input_shape : the input's shape.
    out : the output (dout must have its shape and dtype)."""

    flat: object
    input_shape: tuple
    out: object


def unpool_output_size(input_size, kernel, stride, padding, output_size, fn="max_unpool2d"):
    """(H_out, W_out): torch's default (H - 1) * stride - 2 * padding + kernel, or the given
    output_size ((H, W), or (N, C, H, W)) if it lies strictly within one stride of it."""
    default = tuple(
        (n - 1) * s - 2 * p + k for n, k, s, p in zip(input_size, kernel, stride, padding)
    )
    if output_size is None:
        return default
    size = tuple(output_size)
    size = size[2:] if len(size) == 4 else size
    if len(size) != 2:
        raise ValueError(
            f"{fn}: output_size must have 2 or 4 entries ((H, W) or (N, C, H, W)), "
            f"got {tuple(output_size)!r}"
        )
    size = _pair(size, "output_size", fn, 0)
    for d in range(2):
        low, high = default[d] - stride[d], default[d] + stride[d]
        if not low < size[d] < high:
            raise ValueError(
                f"{fn}: invalid output_size {size}: dimension {d} must be strictly between "
                f"{low} and {high} (the default {default[d]} plus or minus stride {stride[d]})"
            )
    return size


def max_unpool2d_forward(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Max unpooling, keeping a cache for the backward pass.

    Parameters
    ----------
    input : (N, C, H, W) or (C, H, W) floating-point array, e.g. max pooling's output
    indices : integer array of input's shape, the flat positions r * W_out + c from
        ``max_pool2d(..., return_indices=True)``
    kernel_size, stride, padding : those of the max pooling (stride defaults to kernel_size)
    output_size : (H_out, W_out) or (N, C, H_out, W_out); default below

    Returns
    -------
    out : (N, C, H_out, W_out), H_out = (H - 1) * stride - 2 * padding + kernel_size,
        zero except at the indices
    cache : MaxUnpool2dCache
    """
    fn = "max_unpool2d"
    xp = namespace(input, indices, names=["input", "indices"], fn=fn)
    _, x, unbatched = _check_input(input, fn)
    if not xp.isdtype(indices.dtype, "integral"):
        raise TypeError(f"{fn}: indices must be an integer array, got dtype {indices.dtype}")
    if tuple(indices.shape) != tuple(input.shape):
        raise ValueError(
            f"{fn}: indices must have the input's shape {tuple(input.shape)}, "
            f"got {tuple(indices.shape)}"
        )
    k = _pair(kernel_size, "kernel_size", fn, 1)
    s = k if stride is None else _pair(stride, "stride", fn, 1)
    p = _pair(padding, "padding", fn, 0)
    oh, ow = unpool_output_size(x.shape[-2:], k, s, p, output_size, fn)
    plane = oh * ow
    idx = xp.astype(indices, xp.int64)
    outside = (idx < 0) | (idx >= plane)
    if bool(xp.any(outside)):
        first = int(xp.argmax(xp.astype(xp.reshape(outside, (-1,)), xp.int8)))
        bad = int(xp.reshape(idx, (-1,))[first])
        raise ValueError(
            f"{fn}: indices must lie in [0, {plane}) (output planes are {oh}x{ow}), found {bad}"
        )
    n, c = x.shape[:2]
    dev = device(x)
    # each plane's indices shifted to that plane's place in the flattened output
    offsets = xp.arange(n * c, dtype=xp.int64, device=dev) * plane
    flat = xp.reshape(xp.reshape(idx, (n * c, -1)) + offsets[:, None], (-1,))
    values = xp.reshape(x, (-1,))
    out = xp.zeros(n * c * plane, dtype=x.dtype, device=dev)
    if values.shape[0]:
        order = xp.argsort(flat, stable=True)  # equal destinations keep the input's order
        dest = xp.take(flat, order)
        target = xp.arange(n * c * plane, dtype=xp.int64, device=dev)
        last = xp.searchsorted(dest, target, side="right") - 1  # last input at or before
        last = xp.where(last < 0, xp.zeros_like(last), last)
        written = xp.take(dest, last) == target
        out = xp.where(written, xp.take(values, xp.take(order, last)), out)
    out = _finish(xp.reshape(out, (n, c, oh, ow)), unbatched)
    return out, MaxUnpool2dCache(flat, tuple(input.shape), out)


def max_unpool2d_backward(dout, cache: MaxUnpool2dCache):
    """Gradient of `max_unpool2d`: each input value receives dout at its index.

    dout : the output's shape -> dinput : the input's shape (indices get no gradient)
    """
    xp = _check_dout(dout, cache.out, "max_unpool2d_backward")
    return xp.reshape(xp.take(xp.reshape(dout, (-1,)), cache.flat), cache.input_shape)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """torch.nn.functional.max_unpool2d: a partial inverse of max pooling.

    >>> out, idx = max_pool2d(x, 2, return_indices=True)
    >>> max_unpool2d(out, idx, 2)     # x's shape: each maximum in place, zeros elsewhere
    """
    return max_unpool2d_forward(input, indices, kernel_size, stride, padding, output_size)[0]
