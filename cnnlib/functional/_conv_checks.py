"""Argument checks shared by the convolution-like ops (conv2d, conv_transpose2d, fold).

Each function checks one thing a user can get wrong and raises a TypeError or ValueError
that names the argument, the shapes and the rule; the ops call them before any array
work so that bad input never reaches NumPy as an IndexError.
"""

from __future__ import annotations

from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_float, _check_int, _check_same_dtype, _int_tuple


def _int_pair(value, name: str, fn: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints (Python or NumPy, not bool) as (h, w); see ``_int_tuple``."""
    return _int_tuple(value, 2, name, fn, minimum)


def _check_groups(groups, fn: str) -> int:
    return _check_int(groups, "groups", fn, 1)


def _prepare(input, weight, bias, fn: str):
    """Common checks for conv-like ops; returns (xp, x as 4-D, weight, bias, unbatched).

    Checks: arrays of one library, input 3-D or 4-D, weight 4-D, bias 1-D, all floating
    point, of one dtype (torch refuses float32 and float64 in one convolution, and so do we).
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
    for a, name in zip((input, weight, bias), ("input", "weight", "bias")):
        if a is not None:
            _check_float(a, name, fn, xp)
    _check_same_dtype(fn, input=input, weight=weight, bias=bias)
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


def _check_conv2d(input, weight, bias, stride, padding, dilation, groups, fn):
    """All of conv2d's argument checks; returns the normalised arguments.

    Returns (xp, x, weight, bias, unbatched, stride, pad, dilation, groups) with x the 4-D
    (unpadded) input and pad = (top, bottom, left, right).
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
    padded = (x.shape[2] + pad[0] + pad[1], x.shape[3] + pad[2] + pad[3])
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    if span[0] > padded[0] or span[1] > padded[1]:
        raise ValueError(
            f"{fn}: kernel of size {(kh, kw)} (with dilation {dilation}: {span}) is larger "
            f"than the padded input {padded}; input shape "
            f"{tuple(input.shape)}, padding {padding!r}"
        )
    return xp, x, weight, bias, unbatched, stride, pad, dilation, groups
