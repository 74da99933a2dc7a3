"""The fully connected (affine) layer, forward and backward.

Shapes (torch's layout)::

    input  : (*, in_features)        any number of leading dimensions, also none
    weight : (out_features, in_features)
    bias   : (out_features,)
    out    : (*, out_features)

    out = input @ weight^T + bias

Backward, with the leading dimensions flattened into one batch axis B
(x : (B, in), dout : (B, out))::

    dx      = dout @ weight             (B, in)
    dweight = dout^T @ x                (out, in)
    dbias   = dout summed over B        (out,)
"""

from __future__ import annotations

from typing import Any, NamedTuple

from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_dout, _check_float, _check_same_dtype

__all__ = ["LinearCache", "linear", "linear_forward", "linear_backward"]


class LinearCache(NamedTuple):
    """What :func:`linear_backward` needs."""

    x: Any  # input, (*, in_features)
    weight: Any  # (out_features, in_features)
    has_bias: bool


def _prepare(input, weight, bias, fn: str = "linear"):
    xp = namespace(input, weight, bias, names=["input", "weight", "bias"], fn=fn)
    for a, name in zip((input, weight, bias), ("input", "weight", "bias")):
        if a is not None:
            _check_float(a, name, fn, xp)
    if weight.ndim != 2:
        raise ValueError(
            f"{fn}: weight must be 2-D (out_features, in_features), got shape {tuple(weight.shape)}"
        )
    if input.ndim < 1 or input.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"{fn}: input's last dimension must equal weight's in_features, but input has shape "
            f"{tuple(input.shape)} and weight has shape {tuple(weight.shape)} "
            f"(expected input (*, {weight.shape[1]}))"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(
            f"{fn}: bias must have shape ({weight.shape[0]},) to match weight shape "
            f"{tuple(weight.shape)}, got {tuple(bias.shape)}"
        )
    _check_same_dtype(fn, input=input, weight=weight, bias=bias)
    return xp, input, weight, bias


def linear_forward(input, weight, bias=None):
    """out = input @ weight^T + bias. Returns (out, LinearCache)."""
    xp, input, weight, bias = _prepare(input, weight, bias)
    out = xp.matmul(input, xp.matrix_transpose(weight))
    if bias is not None:
        out = out + bias
    return out, LinearCache(input, weight, bias is not None)


def linear_backward(dout, cache: LinearCache):
    """Returns (dx, dweight, dbias); dbias is None when the forward had no bias."""
    x, weight = cache.x, cache.weight
    out_features, in_features = weight.shape
    xp = _check_dout(dout, x, "linear_backward", shape=tuple(x.shape[:-1]) + (out_features,))
    dx = xp.matmul(dout, weight)
    d2 = xp.reshape(dout, (-1, out_features))  # (B, out)
    x2 = xp.reshape(x, (-1, in_features))  # (B, in)
    dweight = xp.matmul(xp.matrix_transpose(d2), x2)
    dbias = xp.sum(d2, axis=0) if cache.has_bias else None
    return dx, dweight, dbias


def linear(input, weight, bias=None):
    """y = x W^T + b. input : (*, in_features) -> (*, out_features)."""
    return linear_forward(input, weight, bias)[0]
