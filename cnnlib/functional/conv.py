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
at once. The backward pass (chapter 7) uses the same matrix and its adjoint::

    dweight = dout_mat @ cols.T                        (C_out, C_in * kH * kW)
    dcols   = weight_mat.T @ dout_mat                  (C_in * kH * kW, N * H_out * W_out)
    dx      = col2im(dcols)                            (adds each entry back to its pixel)
    dbias   = dout summed over (n, i, j)

For a stride-1 convolution there is a second route, the one chapter 7 derives: dx is
the *full* convolution of dout with the rotated kernel, i.e. conv2d(dout padded by
d(k-1) - p, weight rotated by 180 degrees with C_in and C_out swapped). Its im2col
matrix ``dout_cols : (C_out * kH * kW, N * H * W)`` gives both gradients::

    dx      = weight_rot.T_mat @ dout_cols             (C_in, N * H * W)
    dweight = rot180(dout_cols @ x_mat.T)              (rows (o, p, q), one column per c)

This route copies windows of dout once instead of copying windows of x again and
adding dcols back with col2im (a read-modify-write pass k*k times over the image), so
it is used when its columns are no larger: C_out * H * W <= C_in * H_out * W_out, as in
a ResNet 3x3 layer with 'same' padding.

A 1x1 kernel with stride 1 and no padding needs no columns at all: every image is already
the matrix, ``out[n] = weight.reshape(C_out, C_in) @ x[n].reshape(C_in, H*W)``.

With few output channels per group (fewer than ``FEW_OUTPUTS``) each number im2col copies
takes part in few multiply-adds, and the copy costs more than the product. Such layers
(LeNet's, a depthwise convolution's) take row matrices instead (MEC, ``_row_windows.py``):
the input is copied kW times, not kH*kW, and the matrix of output row i is a view of kH
consecutive rows of that copy, overlapping the next row's::

    m       : (OH, G, kH * C_in/G * kW, N * OW)            rows ordered (p, c, q)
    out_i   = weight_pcq @ m[i]                            (G, C_out/G, N * OW), OH products
    dweight = sum over i of dout_i @ m[i].T
    dx      = add_row_matrices(weight_pcq.T @ dout_i)      (kH + kW additions, not kH*kW)

The columns are ordered (n, i, j), channels lead: each kernel offset's block is then one
long copy, and the whole batch is one big product (BLAS is efficient on big matrices).
When output rows are short (under 16 pixels, e.g. LeNet's 10x10 maps) the columns are
ordered (i, j, n) instead, so that the copies run over the batch too. The output is a
(N, C_out, H_out, W_out) view of that (C_out, ...) memory. Padding is never built as a
padded copy of the input: im2col writes zeros where a window hangs over the border. The
cache keeps the input, not the k*k times larger columns: the backward pass copies windows
again (of x, or of dout on the full-convolution route).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from array_api_compat import array_namespace

from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_dout
from cnnlib.functional._conv_checks import _check_conv2d
from cnnlib.functional._row_windows import add_row_matrices, row_matrices
from cnnlib.functional._windows import (
    batch_last_for,
    col2im,
    from_working,
    im2col,
    on_accelerator,
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


# ---------------------------------------------------------------- conv2d


class Conv2dCache(NamedTuple):
    """What :func:`conv2d_backward` needs.

    x : (N, C_in, H, W) the input (unpadded: im2col writes the padding's zeros)
    weight : (C_out, C_in / groups, kH, kW)
    has_bias : whether the forward pass added a bias (dbias is None otherwise)
    stride, dilation : (h, w) pairs
    padding : (top, bottom, left, right)
    groups : int
    unbatched : whether the input was 3-D (C, H, W)
    """

    x: Any
    weight: Any
    has_bias: bool
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    dilation: tuple[int, int]
    groups: int
    unbatched: bool


def _columns(x, pad, kernel, stride, dilation, groups, batch_last, xp):
    """im2col of x padded by pad, as (G, C_in/G * kH * kW, N * OH * OW): one copy."""
    cols = im2col(x, kernel, stride, dilation, batch_last, pad)
    return xp.reshape(cols, (groups, x.shape[1] // groups * kernel[0] * kernel[1], -1))


def _is_pointwise(weight, stride, pad) -> bool:
    """A 1x1 kernel, stride 1, no padding: each image is just a matrix product."""
    return tuple(weight.shape[2:]) == (1, 1) and stride == (1, 1) and not any(pad)


FEW_OUTPUTS = 32  # below this many output channels per group, copying costs more than the product


def _by_rows(x, weight, dilation, groups) -> bool:
    """Whether to use row matrices (MEC): on a CPU, a row dilation of 1, and few output
    channels per group, so that each number im2col would copy meets few multiply-adds."""
    few = weight.shape[0] // groups < FEW_OUTPUTS
    return few and dilation[0] == 1 and not on_accelerator(x)


def _rows_weight(weight, groups, xp):
    """(C_out, C_in/G, kH, kW) -> (G, C_out/G, kH * C_in/G * kW), columns ordered (p, c, q)."""
    c_out, c_in_g, kh, kw = weight.shape
    w = xp.reshape(weight, (groups, c_out // groups, c_in_g, kh, kw))
    return xp.reshape(xp.permute_dims(w, (0, 1, 3, 2, 4)), (groups, c_out // groups, -1))


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
    return _conv2d_forward(input, weight, bias, stride, padding, dilation, groups, "conv2d")


def _conv2d_forward(input, weight, bias, stride, padding, dilation, groups, fn):
    xp, x, weight, bias, unbatched, stride, pad, dilation, groups = _check_conv2d(
        input, weight, bias, stride, padding, dilation, groups, fn
    )
    c_out, c_in_g, kh, kw = weight.shape
    n, _, h, w = x.shape
    hp, wp = h + pad[0] + pad[1], w + pad[2] + pad[3]
    w_mat = xp.reshape(weight, (groups, c_out // groups, c_in_g * kh * kw))  # (G, C_out/G, K)
    cache = Conv2dCache(x, weight, bias is not None, stride, pad, dilation, groups, unbatched)
    if _is_pointwise(weight, stride, pad):  # no windows to copy: (C_out, C_in) @ (C_in, H*W)
        out = xp.reshape(xp.matmul(w_mat, _per_image(x, groups, xp)), (n, c_out, h, w))
        return _finish_forward(out, bias, cache)
    oh = windows_out_size(hp, kh, stride[0], dilation[0])
    ow = windows_out_size(wp, kw, stride[1], dilation[1])
    batch_last = batch_last_for(ow)  # columns ordered (i, j, n) instead of (n, i, j)
    if _by_rows(x, weight, dilation, groups):
        m = row_matrices(x, (kh, kw), stride, dilation, pad, groups, batch_last)
        out = xp.matmul(_rows_weight(weight, groups, xp), m)  # (OH, G, C_out/G, N*OW)
        row = (ow, n) if batch_last else (n, ow)
        out = xp.reshape(out, (oh, c_out) + row)  # -> (N, C_out, OH, OW) view
        out = xp.permute_dims(out, (3, 1, 0, 2) if batch_last else (2, 1, 0, 3))
        return _finish_forward(out, bias, cache)
    cols = _columns(x, pad, (kh, kw), stride, dilation, groups, batch_last, xp)  # (G, K, N*OH*OW)
    out = xp.matmul(w_mat, cols)  # (G, C_out/G, N*OH*OW)
    block = (oh, ow, n) if batch_last else (n, oh, ow)
    out = from_working(xp.reshape(out, (c_out,) + block), batch_last)  # (N, C_out, OH, OW)
    return _finish_forward(out, bias, cache)


def _finish_forward(out, bias, cache):
    """Add the bias, drop the batch axis of an unbatched input."""
    if bias is not None:  # in place: out is a fresh array, and this saves a copy of it
        out += array_namespace(out).reshape(bias, (1, cache.weight.shape[0], 1, 1))
    return (out[0, ...] if cache.unbatched else out), cache


def conv2d_backward(dout, cache: Conv2dCache):
    """Gradients of conv2d: ``(dx, dweight, dbias)``; dbias is None without a bias.

    dout : (N, C_out, H_out, W_out) (or (C_out, H_out, W_out) for unbatched input), in
    the output's dtype
    dx : (N, C_in, H, W), dweight : (C_out, C_in / groups, kH, kW), dbias : (C_out,)
    """
    return _conv2d_backward(dout, cache, "conv2d_backward")


def _conv2d_backward(dout, cache: Conv2dCache, fn: str):
    x, weight, has_bias, stride, pad, dilation, groups, unbatched = cache
    c_out, c_in_g, kh, kw = weight.shape
    n, c_in, h, w = x.shape
    oh = windows_out_size(h + pad[0] + pad[1], kh, stride[0], dilation[0])
    ow = windows_out_size(w + pad[2] + pad[3], kw, stride[1], dilation[1])
    expected = (c_out, oh, ow) if unbatched else (n, c_out, oh, ow)
    xp = _check_dout(dout, x, fn, shape=expected)
    if unbatched:
        dout = xp.expand_dims(dout, axis=0)
    dbias = xp.sum(dout, axis=(0, 2, 3)) if has_bias else None
    if _is_pointwise(weight, stride, pad):
        dx, dweight = _pointwise_backward(dout, x, weight, groups, xp)
    elif _by_rows(x, weight, dilation, groups):
        dx, dweight = _rows_backward(dout, cache, xp)
    elif _full_conv_is_smaller(cache, (oh, ow)):
        dx, dweight = _full_conv_backward(dout, cache, xp)
    else:
        dx, dweight = _col2im_backward(dout, cache, (oh, ow), xp)
    return (dx[0, ...] if unbatched else dx), dweight, dbias


def _pointwise_backward(dout, x, weight, groups, xp):
    """1x1, stride 1, no padding: per image dweight = dout @ x.T and dx = weight.T @ dout."""
    c_out, c_in_g = weight.shape[:2]
    w_mat = xp.reshape(weight, (groups, c_out // groups, c_in_g))
    x_img, d_img = _per_image(x, groups, xp), _per_image(dout, groups, xp)
    dweight = xp.sum(xp.matmul(d_img, xp.matrix_transpose(x_img)), axis=0)
    dx = xp.reshape(xp.matmul(xp.matrix_transpose(w_mat), d_img), x.shape)
    return dx, xp.reshape(dweight, weight.shape)


def _rows_backward(dout, cache, xp):
    """MEC: dweight = sum over output rows of d_i @ m_i.T, dx from dcols_i = w.T @ d_i."""
    x, weight, _, stride, pad, dilation, groups, _ = cache
    c_out, c_in_g, kh, kw = weight.shape
    n, _, oh, ow = dout.shape
    batch_last = batch_last_for(ow)
    m = row_matrices(x, (kh, kw), stride, dilation, pad, groups, batch_last)  # (OH, G, K, N*OW)
    # dout (N, C_out, OH, OW) -> (OH, G, C_out/G, N*OW), columns ordered like m's
    d_rows = xp.permute_dims(dout, (2, 1, 3, 0) if batch_last else (2, 1, 0, 3))
    d_rows = xp.reshape(d_rows, (oh, groups, c_out // groups, -1))
    dw = xp.sum(xp.matmul(m, xp.matrix_transpose(d_rows)), axis=0)  # (G, K, C_out/G)
    dw = xp.reshape(dw, (groups, kh, c_in_g, kw, c_out // groups))
    dweight = xp.reshape(xp.permute_dims(dw, (0, 4, 2, 1, 3)), weight.shape)
    dcols = xp.matmul(xp.matrix_transpose(_rows_weight(weight, groups, xp)), d_rows)
    dx = add_row_matrices(dcols, (kh, kw), x.shape, stride, dilation, pad, batch_last)
    return dx, dweight


def _col2im_backward(dout, cache, out_size, xp):
    """dweight = dout_mat @ cols.T and dx = col2im(weight_mat.T @ dout_mat)."""
    x, weight, _, stride, pad, dilation, groups, _ = cache
    c_out, c_in_g, kh, kw = weight.shape
    top, bottom, left, right = pad
    n, c_in, h, w = x.shape
    hp, wp = h + top + bottom, w + left + right
    w_mat = xp.reshape(weight, (groups, c_out // groups, c_in_g * kh * kw))
    # (G, C_out/G, N*OH*OW): one row per output channel, columns ordered as in forward
    batch_last = batch_last_for(out_size[1])
    d_mat = xp.reshape(to_working(dout, batch_last), (groups, c_out // groups, -1))
    cols = _columns(x, pad, (kh, kw), stride, dilation, groups, batch_last, xp)
    # dweight = d_mat @ cols.T, computed as (cols @ d_mat.T).T: BLAS runs the long sum over
    # the N*OH*OW columns faster with the small C_out/G side last
    dweight = xp.matrix_transpose(xp.matmul(cols, xp.matrix_transpose(d_mat)))
    dweight = xp.reshape(dweight, weight.shape)
    del cols  # before dcols, so that only one (K, N*OH*OW) matrix is alive at a time
    dcols = xp.matmul(xp.matrix_transpose(w_mat), d_mat)  # (G, K, N*OH*OW)
    block = out_size + (n,) if batch_last else (n,) + out_size
    dcols = xp.reshape(dcols, (c_in, kh * kw) + block)
    dx_pad = col2im(dcols, (kh, kw), (hp, wp), stride, dilation, batch_last)
    return dx_pad[:, :, top : hp - bottom, left : wp - right], dweight


def _full_pad(cache):
    """The padding of dout that turns dx into a full convolution (negative: not possible)."""
    (top, bottom, left, right), (dh, dw) = cache.padding, cache.dilation
    kh, kw = cache.weight.shape[2:]
    span_h, span_w = dh * (kh - 1), dw * (kw - 1)
    return (span_h - top, span_h - bottom, span_w - left, span_w - right)


def _full_conv_is_smaller(cache, out_size) -> bool:
    """Whether the full-convolution route applies and copies no more than col2im's route."""
    if cache.stride != (1, 1) or min(_full_pad(cache)) < 0:
        return False
    c_out = cache.weight.shape[0]
    _, c_in, h, w = cache.x.shape
    return c_out * h * w <= c_in * out_size[0] * out_size[1]


def _full_conv_backward(dout, cache, xp):
    """Stride 1: dx and dweight from the im2col matrix of dout (see the module docstring)."""
    x, weight, _, _, _, dilation, groups, _ = cache
    c_out, c_in_g, kh, kw = weight.shape
    n, c_in, h, w = x.shape
    batch_last = batch_last_for(w)
    d_cols = _columns(dout, _full_pad(cache), (kh, kw), (1, 1), dilation, groups, batch_last, xp)
    # weight (G, C_out/G, C_in/G, kH, kW) -> rotated, (G, C_in/G, C_out/G * kH * kW)
    w_g = xp.flip(xp.reshape(weight, (groups, c_out // groups, c_in_g, kh, kw)), axis=(3, 4))
    w_rot = xp.reshape(xp.permute_dims(w_g, (0, 2, 1, 3, 4)), (groups, c_in_g, -1))
    block = (h, w, n) if batch_last else (n, h, w)
    dx = from_working(xp.reshape(xp.matmul(w_rot, d_cols), (c_in,) + block), batch_last)
    x_mat = xp.reshape(to_working(x, batch_last), (groups, c_in_g, -1))  # (G, C_in/G, N*H*W)
    # rows (o, p', q') with p' = kH-1-p: rotate back and move C_in/G next to C_out/G
    dw = xp.reshape(xp.matmul(d_cols, xp.matrix_transpose(x_mat)), (c_out, kh, kw, c_in_g))
    dweight = xp.permute_dims(xp.flip(dw, axis=(1, 2)), (0, 3, 1, 2))
    return dx, dweight


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
    fn = "true_conv2d"
    namespace(input, weight, bias, names=["input", "weight", "bias"], fn=fn)
    if weight.ndim != 4:
        raise ValueError(f"{fn}: weight must be 4-D, got shape {tuple(weight.shape)}")
    rotated = _rot180(weight)
    return _conv2d_forward(input, rotated, bias, stride, padding, dilation, groups, fn)


def true_conv2d_backward(dout, cache: Conv2dCache):
    """Gradients ``(dx, dweight, dbias)`` of :func:`true_conv2d`.

    The gradient with respect to the unrotated weight is the rotated gradient of the
    rotated one.
    """
    dx, dweight, dbias = _conv2d_backward(dout, cache, "true_conv2d_backward")
    return dx, _rot180(dweight), dbias


def true_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Convolution with the kernel rotated by 180 degrees (same signature as conv2d)."""
    return true_conv2d_forward(input, weight, bias, stride, padding, dilation, groups)[0]
