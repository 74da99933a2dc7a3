"""Batch normalisation and local response normalisation, forward and backward.

batch_norm normalises each channel c (dim 1) over every other axis::

    input : (N, C), (N, C, L) or (N, C, H, W)        out : same shape
    x_hat = (x - mean_c) / sqrt(var_c + eps)
    out   = weight_c * x_hat + bias_c

In training, mean_c and var_c are the batch's (var biased: divided by m, the number of
values per channel) and the running statistics are updated in place, exactly as torch::

    running_mean <- (1 - momentum) running_mean + momentum mean_c
    running_var  <- (1 - momentum) running_var  + momentum var_c * m / (m - 1)   (unbiased)

In evaluation the running statistics are used instead, and the layer is a fixed affine map.
The training-mode backward (mean and var depend on x) is, per channel::

    dx = (1 / m) / sqrt(var + eps) * (m g - sum(g) - x_hat sum(g x_hat)),  g = dout * weight

local_response_norm (AlexNet) divides each value by the energy of its neighbouring channels::

    input : (N, C, *)     out : same shape
    S_c   = (1 / size) sum_{c' = c - size//2}^{c + (size-1)//2} x_{c'}^2    (zeros outside)
    out_c = x_c / (k + alpha S_c) ^ beta

(torch's semantics: the sum is averaged over the zero-padded window, so alpha is divided
by size.) Its backward, with D = k + alpha S and the transposed channel window W^T::

    dx_j = dout_j D_j^-beta - (2 alpha beta / size) x_j  W^T(dout x D^(-beta-1))_j
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, NamedTuple

from array_api_compat import device

from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_dout, _check_float, _check_int, _check_same_dtype
from cnnlib.functional.activation import _input, _private

__all__ = [
    "BatchNormCache",
    "batch_norm",
    "batch_norm_forward",
    "batch_norm_backward",
    "LocalResponseNormCache",
    "local_response_norm",
    "local_response_norm_forward",
    "local_response_norm_backward",
]


# ---------------------------------------------------------------- batch_norm


class BatchNormCache(NamedTuple):
    """What :func:`batch_norm_backward` needs."""

    x_hat: Any  # normalised input, same shape as input
    inv_std: Any  # 1 / sqrt(var + eps), shape (1, C, 1, ...)
    weight: Any  # (1, C, 1, ...) or None
    has_bias: bool
    training: bool  # were batch statistics used (then mean and var depend on x)?
    axes: tuple  # the axes statistics are taken over: (0, 2, 3, ...)


def _check_number(value, name: str, fn: str) -> float:
    if not isinstance(value, Real) or isinstance(value, bool):
        raise TypeError(f"{fn}: {name} must be a number, got {value!r}")
    return float(value)


def _check_batch_norm_args(input, running_mean, running_var, weight, bias, training, momentum):
    fn = "batch_norm"
    arrays = (input, running_mean, running_var, weight, bias)
    names = ("input", "running_mean", "running_var", "weight", "bias")
    xp = namespace(*arrays, names=list(names), fn=fn)
    if input.ndim < 2:
        raise ValueError(
            f"{fn}: input must be at least 2-D (N, C, *), got shape {tuple(input.shape)}"
        )
    channels = input.shape[1]
    for a, name in zip(arrays, names):
        if a is None:
            continue
        _check_float(a, name, fn, xp)
        if a is not input and tuple(a.shape) != (channels,):
            raise ValueError(
                f"{fn}: {name} must have shape ({channels},) for input of shape "
                f"{tuple(input.shape)} (one value per channel), got {tuple(a.shape)}"
            )
    _check_same_dtype(fn, **dict(zip(names, arrays)))
    if not isinstance(training, bool):
        raise TypeError(f"{fn}: training must be True or False, got {training!r}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{fn}: pass both running_mean and running_var, or neither")
    if momentum is None:
        raise TypeError(
            f"{fn}: momentum must be a number (torch's F.batch_norm rejects None too); for a "
            "cumulative average pass momentum = 1 / number_of_batches_seen, as nn.BatchNorm does"
        )
    _check_number(momentum, "momentum", fn)
    if not training and running_mean is None:
        raise ValueError(f"{fn}: evaluation mode (training=False) needs running_mean/running_var")
    return xp


def batch_norm_forward(
    input,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training=False,
    momentum=0.1,
    eps=1e-5,
):
    """Returns (out, BatchNormCache); updates running_mean/running_var in place when training."""
    xp = _check_batch_norm_args(input, running_mean, running_var, weight, bias, training, momentum)
    eps = _check_number(eps, "eps", "batch_norm")
    momentum = float(momentum)
    axes = (0,) + tuple(range(2, input.ndim))
    stat_shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)  # broadcasts over (N, C, *)
    if training:
        m = math.prod(input.shape) // input.shape[1]
        if m <= 1:
            raise ValueError(
                f"batch_norm: training needs more than one value per channel, got input shape "
                f"{tuple(input.shape)}"
            )
        mean = xp.mean(input, axis=axes, keepdims=True)
        centered = input - mean
        # the rounding error of mean, exactly 0 in exact arithmetic: removing it keeps float32
        # accurate for inputs far from 0 relative to their spread (as torch's double sums do)
        error = xp.mean(centered, axis=axes, keepdims=True)
        mean, centered = mean + error, centered - error
        var = xp.mean(centered * centered, axis=axes, keepdims=True)
        if running_mean is not None:
            new_mean = (1 - momentum) * running_mean + momentum * xp.reshape(mean, (-1,))
            new_var = (1 - momentum) * running_var + momentum * xp.reshape(var, (-1,)) * (
                m / (m - 1)
            )
            running_mean[...] = new_mean
            running_var[...] = new_var
    else:
        centered = input - xp.reshape(running_mean, stat_shape)
        var = xp.reshape(running_var, stat_shape)
    inv_std = 1 / xp.sqrt(var + eps)
    x_hat = centered * inv_std
    w = None if weight is None else xp.reshape(weight, stat_shape)
    if w is None and bias is None:
        # the output would be x_hat itself, which the cache keeps: hand back a copy, so that
        # an in-place op on the output (ReLU(inplace=True)) cannot change the cache
        out = _private(x_hat, xp)
    else:
        out = x_hat if w is None else x_hat * w
        out = out if bias is None else out + xp.reshape(bias, stat_shape)
    return out, BatchNormCache(x_hat, inv_std, w, bias is not None, training, axes)


def batch_norm_backward(dout, cache: BatchNormCache):
    """Returns (dx, dweight, dbias); dweight/dbias are None where weight/bias were None."""
    xp = _check_dout(dout, cache.x_hat, "batch_norm_backward")
    x_hat, axes = cache.x_hat, cache.axes
    dweight = xp.sum(dout * x_hat, axis=axes) if cache.weight is not None else None
    dbias = xp.sum(dout, axis=axes) if cache.has_bias else None
    g = dout if cache.weight is None else dout * cache.weight
    if not cache.training:
        return g * cache.inv_std, dweight, dbias
    m = math.prod(x_hat.shape) // x_hat.shape[1]
    sum_g = xp.sum(g, axis=axes, keepdims=True)
    sum_g_xhat = xp.sum(g * x_hat, axis=axes, keepdims=True)
    dx = (cache.inv_std / m) * (m * g - sum_g - x_hat * sum_g_xhat)
    return dx, dweight, dbias


def batch_norm(
    input,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training=False,
    momentum=0.1,
    eps=1e-5,
):
    """Batch normalisation over dim 1. ``input : (N, C, *) -> (N, C, *)``."""
    return batch_norm_forward(
        input, running_mean, running_var, weight, bias, training, momentum, eps
    )[0]


# ---------------------------------------------------------------- local_response_norm


class LocalResponseNormCache(NamedTuple):
    """What :func:`local_response_norm_backward` needs."""

    x: Any  # input, (N, C, *)
    denom: Any  # D = k + alpha * S, same shape as x
    size: int
    alpha: float
    beta: float


def _channel_window_sum(a, size: int, before: int, after: int, xp):
    """sum_{c' = c - before}^{c + after} a[:, c'] with zeros outside 0..C-1 (before+after+1
    = size). Written as `size` shifted slices of a zero-padded copy: (N, C + size - 1, *)."""
    n, c = a.shape[0], a.shape[1]
    rest = tuple(a.shape[2:])
    parts = [xp.zeros((n, before) + rest, dtype=a.dtype, device=device(a)), a]
    parts.append(xp.zeros((n, after) + rest, dtype=a.dtype, device=device(a)))
    padded = xp.concat(parts, axis=1)
    total = padded[:, 0:c, ...]
    for offset in range(1, size):
        total = total + padded[:, offset : offset + c, ...]
    return total


def local_response_norm_forward(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Returns (out, LocalResponseNormCache). See the module docstring."""
    fn = "local_response_norm"
    xp = _input(input, fn)
    if input.ndim < 3:
        raise ValueError(
            f"{fn}: input must be at least 3-D (N, C, *), got shape {tuple(input.shape)}"
        )
    size = _check_int(size, "size", fn, 1)
    alpha, beta, k = (
        _check_number(v, n, fn) for v, n in ((alpha, "alpha"), (beta, "beta"), (k, "k"))
    )
    energy = _channel_window_sum(input * input, size, size // 2, (size - 1) // 2, xp) / size
    denom = k + alpha * energy
    out = input * denom ** (-beta)
    return out, LocalResponseNormCache(input, denom, size, alpha, beta)


def local_response_norm_backward(dout, cache: LocalResponseNormCache):
    """dx (the op has no parameters)."""
    xp = _check_dout(dout, cache.x, "local_response_norm_backward")
    x, d, size, alpha, beta = cache
    direct = dout * d ** (-beta)
    through_denominator = dout * x * d ** (-beta - 1)
    # channel j appears in the window of every c in [j - (size-1)//2, j + size//2]
    spread = _channel_window_sum(through_denominator, size, (size - 1) // 2, size // 2, xp)
    return direct - (2 * alpha * beta / size) * x * spread


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Local response normalisation across channels. ``input : (N, C, *) -> (N, C, *)``."""
    return local_response_norm_forward(input, size, alpha, beta, k)[0]
