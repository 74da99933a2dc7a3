"""Transposed convolution: the adjoint of conv2d (sometimes miscalled "deconvolution").

Shapes (torch's layout; note the weight's first two axes are swapped relative to conv2d)::

    input  : (N, C_in, H, W)            or unbatched (C_in, H, W)
    weight : (C_in, C_out / groups, kH, kW)
    bias   : (C_out,)
    out    : (N, C_out, H_out, W_out)

    H_out = (H - 1) * sH - 2 * pH + dH * (kH - 1) + output_padding_h + 1   (same for W)

conv2d maps a big image to a small one through windows; conv_transpose2d goes the other
way: every input pixel (i, j) *paints* its kernel-weighted copy into the output window
that starts at (i*sH, j*sW), and overlapping paintings add up. That is exactly the
scatter (col2im) in conv2d's input gradient, so for the same weight, stride, padding,
dilation and groups::

    <conv2d(x, w), y> == <x, conv_transpose2d(y, w)>

``padding`` crops pH rows from the top and bottom of the painted image (it undoes the
conv2d padding); ``output_padding`` adds rows at the bottom/right that a strided conv2d
would have ignored, so that the shapes can round-trip. It must be smaller than the
stride or the dilation (torch's rule).

Forward:  out = crop(scatter_add_windows(x contracted with weight))
Backward: windows of the padded dout give dx (a conv2d of dout) and dweight.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from cnnlib.functional._checks import _check_dout
from cnnlib.functional._conv_checks import _check_groups, _int_pair, _prepare
from cnnlib.functional._windows import pad2d, scatter_add_windows, sliding_windows

__all__ = [
    "ConvTranspose2dCache",
    "conv_transpose2d",
    "conv_transpose2d_forward",
    "conv_transpose2d_backward",
]


class ConvTranspose2dCache(NamedTuple):
    """What :func:`conv_transpose2d_backward` needs.

    x : (N, C_in, H, W) the (batched) input
    weight : (C_in, C_out / groups, kH, kW)
    has_bias : whether a bias was added (dbias is None otherwise)
    stride, padding, output_padding, dilation : (h, w) pairs
    groups : int
    unbatched : whether the input was 3-D (C, H, W)
    """

    x: Any
    weight: Any
    has_bias: bool
    stride: tuple[int, int]
    padding: tuple[int, int]
    output_padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    unbatched: bool


def _split(n: int, groups: int, g: int) -> slice:
    """Channels of group g when n channels are split into `groups` equal groups."""
    size = n // groups
    return slice(g * size, (g + 1) * size)


def _painted_size(size, kernel, stride, dilation, output_padding) -> tuple[int, int]:
    """(H, W) of the painted image before `padding` is cropped: (H-1)*s + d*(k-1) + 1 + op."""
    return tuple(
        (n - 1) * s + d * (k - 1) + 1 + op
        for n, k, s, d, op in zip(size, kernel, stride, dilation, output_padding)
    )


def _output_size(size, cache) -> tuple[int, int]:
    """(H_out, W_out) of the forward pass recorded in `cache`, for an input of (H, W) `size`."""
    kernel = cache.weight.shape[2:]
    full = _painted_size(size, kernel, cache.stride, cache.dilation, cache.output_padding)
    return (full[0] - 2 * cache.padding[0], full[1] - 2 * cache.padding[1])


def conv_transpose2d_forward(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """conv_transpose2d, returning ``(out, cache)`` for :func:`conv_transpose2d_backward`.

    input : (N, C_in, H, W) or (C_in, H, W)
    weight : (C_in, C_out / groups, kH, kW)
    bias : (C_out,) or None
    stride, dilation : int or (h, w), at least 1
    padding : int or (h, w), non-negative (strings are not accepted, as in torch)
    output_padding : int or (h, w), smaller than stride or dilation
    out : (N, C_out, H_out, W_out), H_out = (H-1)*s - 2p + d*(k-1) + output_padding + 1
    """
    fn = "conv_transpose2d"
    xp, x, weight, bias, unbatched = _prepare(input, weight, bias, fn)
    stride = _int_pair(stride, "stride", fn, 1)
    dilation = _int_pair(dilation, "dilation", fn, 1)
    padding = _int_pair(padding, "padding", fn, 0)
    out_pad = _int_pair(output_padding, "output_padding", fn, 0)
    groups = _check_groups(groups, fn)
    for axis, (op, s, d) in enumerate(zip(out_pad, stride, dilation)):
        if op >= s and op >= d:
            raise ValueError(
                f"{fn}: output_padding must be smaller than either stride or dilation, got "
                f"output_padding={out_pad}, stride={stride}, dilation={dilation} (axis {axis})"
            )
    n, c_in, h, w = x.shape
    w_in, c_out_g, kh, kw = weight.shape
    if c_in != w_in:
        raise ValueError(
            f"{fn}: input has {c_in} channels but weight expects {w_in} "
            f"(weight shape {tuple(weight.shape)}: (C_in, C_out/groups, kH, kW))"
        )
    if c_in % groups:
        raise ValueError(f"{fn}: groups={groups} must divide the input channels ({c_in})")
    c_out = c_out_g * groups
    if bias is not None and bias.shape[0] != c_out:
        raise ValueError(
            f"{fn}: bias has {bias.shape[0]} entries but there are {c_out} output channels "
            f"(weight shape {tuple(weight.shape)}, groups={groups})"
        )
    full = _painted_size((h, w), (kh, kw), stride, dilation, out_pad)
    out_size = (full[0] - 2 * padding[0], full[1] - 2 * padding[1])
    if min(out_size) < 1:
        raise ValueError(
            f"{fn}: output size {out_size} is not positive; padding {padding} crops too much "
            f"from an input of shape {tuple(input.shape)} with kernel {(kh, kw)}"
        )

    cols = [
        # (N, H, W, C_out/g, kH, kW): each input pixel times its kernels
        xp.tensordot(
            x[:, _split(c_in, groups, g), ...],
            weight[_split(c_in, groups, g), ...],
            axes=([1], [0]),
        )
        for g in range(groups)
    ]
    cols = xp.permute_dims(xp.concat(cols, axis=3), (0, 3, 1, 2, 4, 5))  # (N, C_out, H, W, kH, kW)
    painted = scatter_add_windows(cols, full, stride, dilation)
    ph, pw = padding
    out = painted[:, :, ph : full[0] - ph, pw : full[1] - pw]
    if bias is not None:
        out = out + xp.reshape(bias, (1, c_out, 1, 1))
    cache = ConvTranspose2dCache(
        x, weight, bias is not None, stride, padding, out_pad, dilation, groups, unbatched
    )
    return (out[0, ...] if unbatched else out), cache


def conv_transpose2d_backward(dout, cache: ConvTranspose2dCache):
    """Gradients of conv_transpose2d: ``(dx, dweight, dbias)``; dbias is None without bias.

    dout : (N, C_out, H_out, W_out) (or 3-D for unbatched input)
    dx : (N, C_in, H, W), dweight : (C_in, C_out / groups, kH, kW), dbias : (C_out,)

    The windows of the re-padded dout that the forward pass painted into are exactly
    conv2d's windows, so dx is a conv2d of dout with the same weight.
    """
    x, weight, has_bias, stride, padding, _, dilation, groups, unbatched = cache
    n, c_in, h, w = x.shape
    c_out = weight.shape[1] * groups
    kh, kw = weight.shape[2:]
    out_size = _output_size((h, w), cache)
    expected = (c_out,) + out_size if unbatched else (n, c_out) + out_size
    xp = _check_dout(dout, x, "conv_transpose2d_backward", shape=expected)
    if unbatched:
        dout = xp.expand_dims(dout, axis=0)
    ph, pw = padding
    dpainted = pad2d(dout, (ph, ph, pw, pw))
    # (N, C_out, H, W, kH, kW); output_padding can leave one extra window: drop it
    windows = sliding_windows(dpainted, (kh, kw), stride, dilation)[:, :, :h, :w, ...]

    dxs, dweights = [], []
    for g in range(groups):
        win_g, w_g = windows[:, _split(c_out, groups, g), ...], weight[_split(c_in, groups, g), ...]
        dxs.append(xp.tensordot(win_g, w_g, axes=([1, 4, 5], [1, 2, 3])))  # (N, H, W, C_in/g)
        x_g = x[:, _split(c_in, groups, g), ...]
        # (C_in/g, C_out/g, kH, kW): sum over n, i, j
        dweights.append(xp.tensordot(x_g, win_g, axes=([0, 2, 3], [0, 2, 3])))
    dx = xp.permute_dims(xp.concat(dxs, axis=3), (0, 3, 1, 2))
    dweight = xp.concat(dweights, axis=0)
    dbias = xp.sum(dout, axis=(0, 2, 3)) if has_bias else None
    return (dx[0, ...] if unbatched else dx), dweight, dbias


def conv_transpose2d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """Transposed 2-D convolution with torch's semantics (see the forward function).

    input : (N, C_in, H, W) -> out : (N, C_out, H_out, W_out),
    H_out = (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1
    """
    return conv_transpose2d_forward(
        input, weight, bias, stride, padding, output_padding, groups, dilation
    )[0]
