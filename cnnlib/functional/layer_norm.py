"""Layer normalisation (Ba, Kiros and Hinton 2016), forward and backward.

Each sample is normalised over its last dimensions, the ``normalized_shape``, with its own
mean and variance -- no batch statistics, so training and evaluation compute the same::

    input : (*, *normalized_shape)        out : the same shape
    D     = prod(normalized_shape), the number of values per normalised group
    mu    = mean of the group,  var = mean of (x - mu)^2  (biased: divided by D)
    x_hat = (x - mu) / sqrt(var + eps)
    out   = weight * x_hat + bias        weight, bias : normalized_shape (or None)

ConvNeXt normalises the channels of an (N, C, H, W) map this way: permute it to
(N, H, W, C), apply ``layer_norm(x, (C,))`` and permute back, as torchvision does.

Backward. Write g = dout * weight for the gradient reaching x_hat. Over one group,
``d x_hat_j / d x_k = ([j = k] - 1/D - x_hat_j x_hat_k / D) / sqrt(var + eps)``
(mu moves every x_hat_j by the same amount, var scales them all), so::

    dx     = (g - mean(g) - x_hat mean(g x_hat)) / sqrt(var + eps)     means over the group
    dweight = sum over the leading dimensions of dout * x_hat
    dbias   = sum over the leading dimensions of dout

This is batch_norm's training-mode formula with the roles of the axes swapped: the
statistics are taken over the trailing axes of one sample instead of over the batch.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, NamedTuple

from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_dout, _check_float, _check_same_dtype

__all__ = ["LayerNormCache", "layer_norm", "layer_norm_forward", "layer_norm_backward"]


class LayerNormCache(NamedTuple):
    """What :func:`layer_norm_backward` needs."""

    x_hat: Any  # the normalised input, same shape as input
    inv_std: Any  # 1 / sqrt(var + eps), shape (*, 1, ..., 1)
    weight: Any  # normalized_shape, or None
    has_bias: bool
    axes: tuple  # the normalised (trailing) axes


# ---------------------------------------------------------------- shared with group_norm


def _normalize(x, axes: tuple, eps: float, xp):
    """(x_hat, inv_std): x standardised over `axes` (biased variance), 1 / sqrt(var + eps)."""
    mean = xp.mean(x, axis=axes, keepdims=True)
    centred = x - mean
    var = xp.mean(centred * centred, axis=axes, keepdims=True)
    inv_std = 1 / xp.sqrt(var + eps)
    return centred * inv_std, inv_std


def _normalize_backward(g, x_hat, inv_std, axes: tuple, xp):
    """dx of x_hat = (x - mean) * inv_std over `axes`, given g = d loss / d x_hat."""
    mean_g = xp.mean(g, axis=axes, keepdims=True)
    mean_g_xhat = xp.mean(g * x_hat, axis=axes, keepdims=True)
    return inv_std * (g - mean_g - x_hat * mean_g_xhat)


def _check_eps(eps, fn: str) -> float:
    if not isinstance(eps, Real) or isinstance(eps, bool):
        raise TypeError(f"{fn}: eps must be a number, got {eps!r}")
    return float(eps)


def _affine(x_hat, weight, bias, xp):
    """weight * x_hat + bias; a copy of x_hat without either, so that an in-place op on the
    output cannot change the cache."""
    if weight is None and bias is None:
        return xp.asarray(x_hat, copy=True)
    out = x_hat if weight is None else x_hat * weight
    return out if bias is None else out + bias


# ---------------------------------------------------------------- layer_norm


def _check_normalized_shape(normalized_shape, input, fn: str) -> tuple:
    if not isinstance(normalized_shape, (tuple, list)) or not all(
        isinstance(d, Integral) and not isinstance(d, bool) for d in normalized_shape
    ):
        raise TypeError(
            f"{fn}: normalized_shape must be a tuple or list of ints, e.g. (C,), got "
            f"{normalized_shape!r} (nn.LayerNorm also takes a single int)"
        )
    shape = tuple(int(d) for d in normalized_shape)
    if not shape:
        raise ValueError(f"{fn}: normalized_shape must have at least one dimension, got ()")
    if input.ndim < len(shape) or tuple(input.shape[input.ndim - len(shape) :]) != shape:
        raise ValueError(
            f"{fn}: normalized_shape={shape} must equal the input's last dimensions, but the "
            f"input has shape {tuple(input.shape)} (expected (*, {', '.join(map(str, shape))}))"
        )
    return shape


def layer_norm_forward(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Returns (out, LayerNormCache). See the module docstring."""
    fn = "layer_norm"
    xp = namespace(input, weight, bias, names=["input", "weight", "bias"], fn=fn)
    for name, a in (("input", input), ("weight", weight), ("bias", bias)):
        if a is not None:
            _check_float(a, name, fn, xp)
    _check_same_dtype(fn, input=input, weight=weight, bias=bias)
    shape = _check_normalized_shape(normalized_shape, input, fn)
    for name, a in (("weight", weight), ("bias", bias)):
        if a is not None and tuple(a.shape) != shape:
            raise ValueError(
                f"{fn}: {name} must have shape normalized_shape={shape}, got {tuple(a.shape)}"
            )
    eps = _check_eps(eps, fn)
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    x_hat, inv_std = _normalize(input, axes, eps, xp)
    out = _affine(x_hat, weight, bias, xp)
    return out, LayerNormCache(x_hat, inv_std, weight, bias is not None, axes)


def layer_norm_backward(dout, cache: LayerNormCache):
    """Returns (dx, dweight, dbias); dweight/dbias are None where weight/bias were None."""
    xp = _check_dout(dout, cache.x_hat, "layer_norm_backward")
    x_hat, inv_std, weight, has_bias, axes = cache
    leading = tuple(range(axes[0]))  # the dimensions that are not normalised

    def over_leading(a):
        return xp.sum(a, axis=leading) if leading else a

    dweight = None if weight is None else over_leading(dout * x_hat)
    dbias = over_leading(dout) if has_bias else None
    g = dout if weight is None else dout * weight
    return _normalize_backward(g, x_hat, inv_std, axes, xp), dweight, dbias


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation over the last ``len(normalized_shape)`` dimensions."""
    return layer_norm_forward(input, normalized_shape, weight, bias, eps)[0]
