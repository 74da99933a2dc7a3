"""Group normalisation (Wu and He 2018), forward and backward.

The C channels of each sample are split into ``num_groups`` groups of C / G consecutive
channels; each group is normalised over its channels and all spatial positions, then each
channel gets its own scale and shift::

    input : (N, C, *)          out : the same shape;  G = num_groups must divide C
    view  : (N, G, M),         M = (C / G) * prod(*), the values of one group of one sample
    x_hat = (x - mu) / sqrt(var + eps)     mu, var (biased) over the M values of the group
    out   = weight_c * x_hat + bias_c      weight, bias : (C,) (or None)

Like layer norm it uses no batch statistics, so it behaves the same for any batch size
(detection and segmentation nets train with a few images per GPU). G = 1 is layer norm over
``(C, *)`` with a per-channel affine map; G = C normalises every channel of every sample on
its own (instance norm).

Backward: layer norm's formula on the (N, G, M) view, with g = dout * weight_c::

    dx      = (g - mean(g) - x_hat mean(g x_hat)) / sqrt(var + eps)     means over M
    dweight = sum over N and * of dout * x_hat,    dbias = sum over N and * of dout
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_dout, _check_float, _check_int, _check_same_dtype
from cnnlib.functional.layer_norm import _affine, _check_eps, _normalize, _normalize_backward

__all__ = ["GroupNormCache", "group_norm", "group_norm_forward", "group_norm_backward"]


class GroupNormCache(NamedTuple):
    """What :func:`group_norm_backward` needs."""

    x_hat: Any  # the normalised input in the grouped view, (N, G, M)
    inv_std: Any  # 1 / sqrt(var + eps), (N, G, 1)
    weight: Any  # (1, C, 1, ...) or None
    has_bias: bool
    shape: tuple  # the input's shape (N, C, *)


def group_norm_forward(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Returns (out, GroupNormCache). See the module docstring."""
    fn = "group_norm"
    xp = namespace(input, weight, bias, names=["input", "weight", "bias"], fn=fn)
    for name, a in (("input", input), ("weight", weight), ("bias", bias)):
        if a is not None:
            _check_float(a, name, fn, xp)
    _check_same_dtype(fn, input=input, weight=weight, bias=bias)
    groups = _check_int(num_groups, "num_groups", fn, minimum=1)
    if input.ndim < 2:
        raise ValueError(f"{fn}: input must be (N, C, *), got shape {tuple(input.shape)}")
    shape = tuple(input.shape)
    n, c = shape[:2]
    if c % groups:
        raise ValueError(
            f"{fn}: num_groups={groups} must divide the number of channels, but the input "
            f"has C={c} (shape {shape})"
        )
    for name, a in (("weight", weight), ("bias", bias)):
        if a is not None and tuple(a.shape) != (c,):
            raise ValueError(
                f"{fn}: {name} must have one entry per channel, shape ({c},), for input of "
                f"shape {shape}; got {tuple(a.shape)}"
            )
    eps = _check_eps(eps, fn)
    grouped = xp.reshape(input, (n, groups, math.prod(shape[1:]) // groups))
    x_hat, inv_std = _normalize(grouped, (2,), eps, xp)
    per_channel = (1, c) + (1,) * (len(shape) - 2)  # broadcasts over (N, C, *)
    w = None if weight is None else xp.reshape(weight, per_channel)
    b = None if bias is None else xp.reshape(bias, per_channel)
    out = _affine(xp.reshape(x_hat, shape), w, b, xp)
    return out, GroupNormCache(x_hat, inv_std, w, bias is not None, shape)


def group_norm_backward(dout, cache: GroupNormCache):
    """Returns (dx, dweight, dbias); dweight/dbias are None where weight/bias were None."""
    x_hat, inv_std, w, has_bias, shape = cache
    xp = _check_dout(dout, x_hat, "group_norm_backward", shape=shape)
    axes = (0,) + tuple(range(2, len(shape)))  # every axis but the channels
    dweight = None if w is None else xp.sum(dout * xp.reshape(x_hat, shape), axis=axes)
    dbias = xp.sum(dout, axis=axes) if has_bias else None
    g = dout if w is None else dout * w
    dx = _normalize_backward(xp.reshape(g, tuple(x_hat.shape)), x_hat, inv_std, (2,), xp)
    return xp.reshape(dx, shape), dweight, dbias


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalisation. ``input : (N, C, *) -> (N, C, *)``; num_groups divides C."""
    return group_norm_forward(input, num_groups, weight, bias, eps)[0]
