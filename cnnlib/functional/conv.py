"""2-D convolution (cross-correlation, as in every deep-learning library), forward and backward.

Shapes (torch's layout)::

    input  : (N, C_in, H, W)            or unbatched (C_in, H, W)
    weight : (C_out, C_in / groups, kH, kW)
    bias   : (C_out,)
    out    : (N, C_out, H_out, W_out)

    H_out = floor((H + pad_top + pad_bottom - dH * (kH - 1) - 1) / sH) + 1   (same for W)

With symmetric padding p this is the familiar ``floor((H + 2p - d(k-1) - 1) / s) + 1``.
The output pixel (i, j) is::

    out[n, o, i, j] = bias[o]
                      + sum_{c, p, q} x_pad[n, c, i*sH + p*dH, j*sW + q*dW] * weight[o, c, p, q]

where c runs over the input channels of o's group. Deep-learning "convolution" does not
flip the kernel; :func:`true_conv2d` is the mathematician's convolution (kernel rotated
by 180 degrees), and ``conv2d_naive`` (in ``conv_naive.py``) is the same sum written as plain loops.

The fast path is im2col + one matrix product. Copy every window of the batch once
into a matrix of columns, one column per output pixel (``im2col`` in ``_windows.py``,
one strided view per kernel offset)::

    cols    : (C_in * kH * kW, N * H_out * W_out)      rows ordered (c, p, q)
    out     = weight.reshape(C_out, -1) @ cols         (C_out, N * H_out * W_out)

With groups the rows and the weight split into G blocks and ``matmul`` does G products
at once. The backward pass uses the same matrix and its adjoint::

    dweight = dout_mat @ cols.T                        (C_out, C_in * kH * kW)
    dcols   = weight_mat.T @ dout_mat                  (C_in * kH * kW, N * H_out * W_out)
    dx      = col2im(dcols)                            (adds each entry back to its pixel)
    dbias   = dout summed over (n, i, j)

A 1x1 kernel with stride 1 and no padding needs no columns at all: every image is already
the matrix, ``out[n] = weight.reshape(C_out, C_in) @ x[n].reshape(C_in, H*W)``.

The columns are ordered (n, i, j), channels lead: each kernel offset's block is then one
long copy, and the whole batch is one big product (BLAS is efficient on big matrices).
When output rows are short (under 16 pixels, e.g. LeNet's 10x10 maps) the columns are
ordered (i, j, n) instead, so that the copies run over the batch too. The output is a
(N, C_out, H_out, W_out) view of that (C_out, ...) memory; the cache keeps the padded
input, not the k*k times larger columns, which the backward pass copies again.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any, NamedTuple

from array_api_compat import array_namespace

from cnnlib.backend import namespace
from cnnlib.functional._windows import (
    batch_last_for,
    col2im,
    from_working,
    im2col,
    pad2d,
    to_working,
    windows_out_size,
)

__all__ = [
    "Conv2dCache",
    "conv2d",
    "conv2d_forward",
    "conv2d_backward",
    "true_conv2d",
    "true_conv2d_forward",
    "true_conv2d_backward",
]


# ---------------------------------------------------------------- argument checks


def _int_pair(value, name: str, fn: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints as (h, w); TypeError/ValueError naming `name` otherwise."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(
        isinstance(v, Integral) and not isinstance(v, bool) for v in items
    ):
        raise TypeError(f"{fn}: {name} must be an int or a pair of ints, got {value!r}")
    if min(items) < minimum:
        rule = "non-negative" if minimum == 0 else f"at least {minimum}"
        raise ValueError(f"{fn}: {name} must be {rule}, got {value!r}")
    return int(items[0]), int(items[1])


def _check_float(a, name: str, fn: str, xp) -> None:
    if not xp.isdtype(a.dtype, "real floating"):
        raise TypeError(f"{fn}: {name} must be a floating-point array, got dtype {a.dtype}")


def _check_groups(groups, fn: str) -> int:
    if not isinstance(groups, Integral) or isinstance(groups, bool):
        raise TypeError(f"{fn}: groups must be an int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"{fn}: groups must be at least 1, got {groups}")
    return int(groups)


def _prepare(input, weight, bias, fn: str):
    """Common checks for conv-like ops; returns (xp, x as 4-D, weight, bias, unbatched).

    Checks: arrays of one library, input 3-D or 4-D, weight 4-D, bias 1-D, all floating
    point. Mixed float precisions are promoted to the wider one (as NumPy would).
    """
    xp = namespace(input, weight, bias, names=["input", "weight", "bias"], fn=fn)
    if input.ndim not in (3, 4):
        raise ValueError(
            f"{fn}: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape {tuple(input.shape)}"
        )
    if weight.ndim != 4:
        raise ValueError(f"{fn}: weight must be 4-D, got shape {tuple(weight.shape)}")
    if bias is not None and bias.ndim != 1:
        raise ValueError(f"{fn}: bias must be 1-D, got shape {tuple(bias.shape)}")
    arrays = [a for a in (input, weight, bias) if a is not None]
    for a, name in zip(arrays, ["input", "weight", "bias"]):
        _check_float(a, name, fn, xp)
    dtype = xp.result_type(*arrays)
    input, weight, bias = (
        a if a is None or a.dtype == dtype else xp.astype(a, dtype) for a in (input, weight, bias)
    )
    unbatched = input.ndim == 3
    if unbatched:
        input = xp.expand_dims(input, axis=0)
    return xp, input, weight, bias, unbatched


def _conv_padding(padding, kernel, stride, dilation, fn: str) -> tuple[int, int, int, int]:
    """torch's padding argument as (top, bottom, left, right).

    'valid' is no padding. 'same' keeps H_out = H (stride 1 only) with total padding
    d*(k-1) per axis; when that is odd, the extra row/column goes to the bottom/right,
    exactly as torch does.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(
                    f"{fn}: padding='same' is not supported for strided convolutions "
                    f"(stride={stride}); use an explicit padding instead"
                )
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            return (
                total[0] // 2,
                total[0] - total[0] // 2,
                total[1] // 2,
                total[1] - total[1] // 2,
            )
        raise ValueError(
            f"{fn}: padding must be 'valid', 'same', an int or a pair of ints, got {padding!r}"
        )
    ph, pw = _int_pair(padding, "padding", fn, 0)
    return (ph, ph, pw, pw)


# ---------------------------------------------------------------- conv2d


class Conv2dCache(NamedTuple):
    """What :func:`conv2d_backward` needs.

    x_pad : (N, C_in, H + top + bottom, W + left + right) the padded input
    weight : (C_out, C_in / groups, kH, kW)
    has_bias : whether the forward pass added a bias (dbias is None otherwise)
    stride, dilation : (h, w) pairs
    padding : (top, bottom, left, right)
    groups : int
    unbatched : whether the input was 3-D (C, H, W)
    """

    x_pad: Any
    weight: Any
    has_bias: bool
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    dilation: tuple[int, int]
    groups: int
    unbatched: bool


def _split(n: int, groups: int, g: int) -> slice:
    """Channels of group g when n channels are split into `groups` equal groups."""
    size = n // groups
    return slice(g * size, (g + 1) * size)


def _check_conv2d(input, weight, bias, stride, padding, dilation, groups, fn):
    """All of conv2d's argument checks; returns the normalised arguments.

    Returns (xp, x_pad, weight, bias, unbatched, stride, pad, dilation, groups) with
    x_pad the 4-D padded input and pad = (top, bottom, left, right).
    """
    xp, x, weight, bias, unbatched = _prepare(input, weight, bias, fn)
    stride = _int_pair(stride, "stride", fn, 1)
    dilation = _int_pair(dilation, "dilation", fn, 1)
    groups = _check_groups(groups, fn)
    c_out, c_in_g, kh, kw = weight.shape
    c_in = x.shape[1]
    if c_in % groups or c_out % groups:
        raise ValueError(
            f"{fn}: groups={groups} must divide both input channels ({c_in}) and output "
            f"channels ({c_out})"
        )
    if c_in != c_in_g * groups:
        raise ValueError(
            f"{fn}: input has {c_in} channels but weight expects {c_in_g * groups} "
            f"(weight shape {tuple(weight.shape)}, groups={groups})"
        )
    if bias is not None and bias.shape[0] != c_out:
        raise ValueError(
            f"{fn}: bias has {bias.shape[0]} entries but weight has {c_out} output channels"
        )
    pad = _conv_padding(padding, (kh, kw), stride, dilation, fn)
    x_pad = pad2d(x, pad)
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    if span[0] > x_pad.shape[2] or span[1] > x_pad.shape[3]:
        raise ValueError(
            f"{fn}: kernel of size {(kh, kw)} (with dilation {dilation}: {span}) is larger "
            f"than the padded input ({x_pad.shape[2]}, {x_pad.shape[3]}); input shape "
            f"{tuple(input.shape)}, padding {padding!r}"
        )
    return xp, x_pad, weight, bias, unbatched, stride, pad, dilation, groups


def _columns(x_pad, kernel, stride, dilation, groups, batch_last, xp):
    """im2col as (G, C_in/G * kH * kW, N * OH * OW), one copy of the windows."""
    cols = im2col(x_pad, kernel, stride, dilation, batch_last)
    return xp.reshape(cols, (groups, x_pad.shape[1] // groups * kernel[0] * kernel[1], -1))


def _is_pointwise(weight, stride, pad) -> bool:
    """A 1x1 kernel, stride 1, no padding: each image is just a matrix product."""
    return tuple(weight.shape[2:]) == (1, 1) and stride == (1, 1) and not any(pad)


def _per_image(a, groups, xp):
    """(N, C, H, W) -> (N, G, C/G, H*W): each image as G matrices of C/G rows."""
    n, c, h, w = a.shape
    return xp.reshape(a, (n, groups, c // groups, h * w))


def conv2d_forward(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d, returning ``(out, cache)`` for :func:`conv2d_backward`.

    input : (N, C_in, H, W) or (C_in, H, W)
    weight : (C_out, C_in / groups, kH, kW)
    bias : (C_out,) or None
    stride, dilation : int or (h, w), at least 1
    padding : int, (h, w), 'valid' or 'same' (stride 1 only)
    groups : int dividing both C_in and C_out
    out : (N, C_out, H_out, W_out), H_out = floor((H + 2p - d(k-1) - 1)/s) + 1
    """
    xp, x_pad, weight, bias, unbatched, stride, pad, dilation, groups = _check_conv2d(
        input, weight, bias, stride, padding, dilation, groups, "conv2d"
    )
    c_out, c_in_g, kh, kw = weight.shape
    n, _, hp, wp = x_pad.shape
    w_mat = xp.reshape(weight, (groups, c_out // groups, c_in_g * kh * kw))  # (G, C_out/G, K)
    if _is_pointwise(weight, stride, pad):  # no windows to copy: (C_out, C_in) @ (C_in, H*W)
        out = xp.reshape(xp.matmul(w_mat, _per_image(x_pad, groups, xp)), (n, c_out, hp, wp))
        return _finish_forward(out, bias, x_pad, weight, stride, pad, dilation, groups, unbatched)
    oh = windows_out_size(hp, kh, stride[0], dilation[0])
    ow = windows_out_size(wp, kw, stride[1], dilation[1])
    batch_last = batch_last_for(ow)  # columns ordered (i, j, n) instead of (n, i, j)
    cols = _columns(x_pad, (kh, kw), stride, dilation, groups, batch_last, xp)  # (G, K, N*OH*OW)
    out = xp.matmul(w_mat, cols)  # (G, C_out/G, N*OH*OW)
    block = (oh, ow, n) if batch_last else (n, oh, ow)
    out = from_working(xp.reshape(out, (c_out,) + block), batch_last)  # (N, C_out, OH, OW)
    return _finish_forward(out, bias, x_pad, weight, stride, pad, dilation, groups, unbatched)


def _finish_forward(out, bias, x_pad, weight, stride, pad, dilation, groups, unbatched):
    """Add the bias, build the cache, drop the batch axis of an unbatched input."""
    if bias is not None:
        out = out + array_namespace(out).reshape(bias, (1, weight.shape[0], 1, 1))
    cache = Conv2dCache(x_pad, weight, bias is not None, stride, pad, dilation, groups, unbatched)
    return (out[0, ...] if unbatched else out), cache


def conv2d_backward(dout, cache: Conv2dCache):
    """Gradients of conv2d: ``(dx, dweight, dbias)``; dbias is None without a bias.

    dout : (N, C_out, H_out, W_out) (or (C_out, H_out, W_out) for unbatched input)
    dx : (N, C_in, H, W), dweight : (C_out, C_in / groups, kH, kW), dbias : (C_out,)
    """
    x_pad, weight, has_bias, stride, pad, dilation, groups, unbatched = cache
    xp = array_namespace(x_pad, dout)
    if unbatched:
        dout = xp.expand_dims(dout, axis=0)
    c_out, c_in_g, kh, kw = weight.shape
    n, c_in, hp, wp = x_pad.shape
    oh = windows_out_size(hp, kh, stride[0], dilation[0])
    ow = windows_out_size(wp, kw, stride[1], dilation[1])
    expected = (n, c_out, oh, ow)
    if tuple(dout.shape) != expected:
        raise ValueError(
            f"conv2d_backward: dout has shape {tuple(dout.shape)}, expected {expected}"
        )
    dbias = xp.sum(dout, axis=(0, 2, 3)) if has_bias else None
    w_mat = xp.reshape(weight, (groups, c_out // groups, c_in_g * kh * kw))
    if _is_pointwise(weight, stride, pad):  # per image: dW = dout @ x.T, dx = W.T @ dout
        x_img, d_img = _per_image(x_pad, groups, xp), _per_image(dout, groups, xp)
        dweight = xp.sum(xp.matmul(d_img, xp.matrix_transpose(x_img)), axis=0)
        dx = xp.reshape(xp.matmul(xp.matrix_transpose(w_mat), d_img), x_pad.shape)
        return (dx[0, ...] if unbatched else dx), xp.reshape(dweight, weight.shape), dbias
    # (G, C_out/G, N*OH*OW): one row per output channel, columns ordered as in forward
    batch_last = batch_last_for(ow)
    d_mat = xp.reshape(to_working(dout, batch_last), (groups, c_out // groups, -1))
    cols = _columns(x_pad, (kh, kw), stride, dilation, groups, batch_last, xp)
    # dweight = d_mat @ cols.T, computed as (cols @ d_mat.T).T: BLAS runs the long sum over
    # the N*OH*OW columns faster with the small C_out/G side last
    dweight = xp.matrix_transpose(xp.matmul(cols, xp.matrix_transpose(d_mat)))
    dweight = xp.reshape(dweight, weight.shape)
    del cols  # before dcols, so that only one (K, N*OH*OW) matrix is alive at a time
    dcols = xp.matmul(xp.matrix_transpose(w_mat), d_mat)  # (G, K, N*OH*OW)
    block = (oh, ow, n) if batch_last else (n, oh, ow)
    dcols = xp.reshape(dcols, (c_in, kh * kw) + block)
    dx_pad = col2im(dcols, (kh, kw), (hp, wp), stride, dilation, batch_last)
    top, bottom, left, right = pad
    dx = dx_pad[:, :, top : hp - bottom, left : wp - right]
    return (dx[0, ...] if unbatched else dx), dweight, dbias


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation with torch's semantics (see :func:`conv2d_forward`).

    input : (N, C_in, H, W) -> out : (N, C_out, H_out, W_out),
    H_out = floor((H + 2 * padding - dilation * (kH - 1) - 1) / stride) + 1
    """
    return conv2d_forward(input, weight, bias, stride, padding, dilation, groups)[0]


# ---------------------------------------------------------------- true convolution


def _rot180(weight):
    """Rotate every kernel by 180 degrees: flip both spatial axes of (..., kH, kW)."""
    return array_namespace(weight).flip(weight, axis=(-2, -1))


def true_conv2d_forward(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """The mathematician's convolution: conv2d with every kernel rotated by 180 degrees.

    ``out[n, o, i, j] = sum x_pad[n, c, i*s + p*d, j*s + q*d] * weight[o, c, kH-1-p, kW-1-q]``.
    Shapes and arguments as :func:`conv2d_forward`; the cache is a :class:`Conv2dCache`
    holding the rotated weight.
    """
    namespace(input, weight, bias, names=["input", "weight", "bias"], fn="true_conv2d")
    if weight.ndim != 4:
        raise ValueError(f"true_conv2d: weight must be 4-D, got shape {tuple(weight.shape)}")
    return conv2d_forward(input, _rot180(weight), bias, stride, padding, dilation, groups)


def true_conv2d_backward(dout, cache: Conv2dCache):
    """Gradients ``(dx, dweight, dbias)`` of :func:`true_conv2d`.

    The gradient with respect to the unrotated weight is the rotated gradient of the
    rotated one.
    """
    dx, dweight, dbias = conv2d_backward(dout, cache)
    return dx, _rot180(dweight), dbias


def true_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Convolution with the kernel rotated by 180 degrees (same signature as conv2d)."""
    return true_conv2d_forward(input, weight, bias, stride, padding, dilation, groups)[0]
