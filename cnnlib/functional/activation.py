"""Elementwise nonlinearities and softmax, forward and backward.

Every op keeps the input's shape::

    input : (*)   ->   out : (*)

=============  ==============================  ==================================
op             forward                         backward (dx = dout * f'(x))
=============  ==============================  ==================================
relu           max(0, x)                       dout where x > 0, else 0
leaky_relu     x if x > 0 else a x             dout if x > 0 else a dout
sigmoid        s = 1 / (1 + exp(-x))           dout s (1 - s)
tanh           t = tanh(x)                     dout (1 - t^2)
softmax        y = exp(x) / sum exp(x)         y (dout - sum(dout y))
log_softmax    z = x - log sum exp(x)          dout - exp(z) sum(dout)
=============  ==============================  ==================================

softmax and log_softmax subtract the maximum along `dim` first: exp never overflows and
the result is unchanged, because softmax(x) = softmax(x - c) for any constant c.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, NamedTuple

from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_dout, _check_float

__all__ = [
    "relu",
    "relu_forward",
    "relu_backward",
    "leaky_relu",
    "leaky_relu_forward",
    "leaky_relu_backward",
    "sigmoid",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh",
    "tanh_forward",
    "tanh_backward",
    "softmax",
    "softmax_forward",
    "softmax_backward",
    "log_softmax",
    "log_softmax_forward",
    "log_softmax_backward",
]


# ---------------------------------------------------------------- shared checks


def _input(input, fn: str):
    """The namespace of a single floating-point input (TypeError otherwise)."""
    xp = namespace(input, names=["input"], fn=fn)
    _check_float(input, "input", fn, xp)
    return xp


def _check_dim(dim, ndim: int, fn: str) -> int:
    """`dim` as a non-negative axis; torch's range rule -ndim <= dim < ndim."""
    if not isinstance(dim, Integral) or isinstance(dim, bool):
        raise TypeError(f"{fn}: dim must be an int, got {dim!r}")
    if ndim == 0:
        raise ValueError(f"{fn}: input must have at least one dimension, got a 0-d array")
    if not -ndim <= dim < ndim:
        raise ValueError(
            f"{fn}: dim={dim} is out of range for a {ndim}-D input "
            f"(expected {-ndim} <= dim < {ndim})"
        )
    return int(dim) % ndim


# ---------------------------------------------------------------- relu, leaky_relu


class ReluCache(NamedTuple):
    x: Any  # the input, (*)


def relu_forward(input):
    """max(0, x). Returns (out, ReluCache)."""
    xp = _input(input, "relu")
    out = xp.where(input <= 0, xp.zeros_like(input), input)  # NaN passes through, as in torch
    return out, ReluCache(input)


def relu_backward(dout, cache: ReluCache):
    """dout where x > 0, else 0 (torch's choice at x = 0 is 0)."""
    xp = _check_dout(dout, cache.x, "relu_backward")
    return xp.where(cache.x > 0, dout, xp.zeros_like(dout))


def relu(input):
    """Rectified linear unit, max(0, x). input : (*) -> (*)."""
    return relu_forward(input)[0]


class LeakyReluCache(NamedTuple):
    x: Any  # the input, (*)
    negative_slope: float


def _check_slope(negative_slope) -> float:
    if not isinstance(negative_slope, Real) or isinstance(negative_slope, bool):
        raise TypeError(f"leaky_relu: negative_slope must be a number, got {negative_slope!r}")
    return float(negative_slope)


def leaky_relu_forward(input, negative_slope=0.01):
    """x where x > 0, negative_slope * x elsewhere. Returns (out, LeakyReluCache)."""
    xp = _input(input, "leaky_relu")
    a = _check_slope(negative_slope)
    return xp.where(input > 0, input, input * a), LeakyReluCache(input, a)


def leaky_relu_backward(dout, cache: LeakyReluCache):
    """dout where x > 0, negative_slope * dout elsewhere (x = 0 included, as in torch)."""
    xp = _check_dout(dout, cache.x, "leaky_relu_backward")
    return xp.where(cache.x > 0, dout, dout * cache.negative_slope)


def leaky_relu(input, negative_slope=0.01):
    """Leaky ReLU. input : (*) -> (*)."""
    return leaky_relu_forward(input, negative_slope)[0]


# ---------------------------------------------------------------- sigmoid, tanh


class SigmoidCache(NamedTuple):
    out: Any  # s = sigmoid(x), (*); the gradient needs only s


def sigmoid_forward(input):
    """1 / (1 + exp(-x)) without overflow. Returns (out, SigmoidCache).

    With ``z = exp(-|x|) <= 1``: for x >= 0 the value is 1 / (1 + z), for x < 0 it is
    z / (1 + z) (multiply top and bottom by exp(x)). Neither form can overflow.
    """
    xp = _input(input, "sigmoid")
    z = xp.exp(-xp.abs(input))
    out = xp.where(input >= 0, 1 / (1 + z), z / (1 + z))
    return out, SigmoidCache(out)


def sigmoid_backward(dout, cache: SigmoidCache):
    """dout * s * (1 - s)."""
    _check_dout(dout, cache.out, "sigmoid_backward")
    return dout * cache.out * (1 - cache.out)


def sigmoid(input):
    """The logistic function. input : (*) -> (*), values in (0, 1)."""
    return sigmoid_forward(input)[0]


class TanhCache(NamedTuple):
    out: Any  # t = tanh(x), (*)


def tanh_forward(input):
    """tanh(x). Returns (out, TanhCache)."""
    xp = _input(input, "tanh")
    out = xp.tanh(input)
    return out, TanhCache(out)


def tanh_backward(dout, cache: TanhCache):
    """dout * (1 - t^2)."""
    _check_dout(dout, cache.out, "tanh_backward")
    return dout * (1 - cache.out * cache.out)


def tanh(input):
    """Hyperbolic tangent. input : (*) -> (*), values in (-1, 1)."""
    return tanh_forward(input)[0]


# ---------------------------------------------------------------- softmax, log_softmax


class SoftmaxCache(NamedTuple):
    out: Any  # y = softmax(x, dim), same shape as x
    dim: int  # non-negative axis


def softmax_forward(input, dim):
    """exp(x_i) / sum_j exp(x_j) along `dim`. Returns (out, SoftmaxCache)."""
    xp = _input(input, "softmax")
    dim = _check_dim(dim, input.ndim, "softmax")
    e = xp.exp(input - xp.max(input, axis=dim, keepdims=True))
    out = e / xp.sum(e, axis=dim, keepdims=True)
    return out, SoftmaxCache(out, dim)


def softmax_backward(dout, cache: SoftmaxCache):
    """y * (dout - sum(dout * y, dim)): the Jacobian diag(y) - y y^T applied to dout."""
    xp = _check_dout(dout, cache.out, "softmax_backward")
    y = cache.out
    return y * (dout - xp.sum(dout * y, axis=cache.dim, keepdims=True))


def softmax(input, dim):
    """Softmax along `dim` (required, as in modern torch). input : (*) -> (*)."""
    return softmax_forward(input, dim)[0]


class LogSoftmaxCache(NamedTuple):
    out: Any  # z = log_softmax(x, dim), same shape as x
    dim: int


def log_softmax_forward(input, dim):
    """x - log(sum exp(x)) along `dim`, computed as (x - m) - log(sum exp(x - m)) with
    m = max(x). Returns (out, LogSoftmaxCache)."""
    xp = _input(input, "log_softmax")
    dim = _check_dim(dim, input.ndim, "log_softmax")
    shifted = input - xp.max(input, axis=dim, keepdims=True)
    out = shifted - xp.log(xp.sum(xp.exp(shifted), axis=dim, keepdims=True))
    return out, LogSoftmaxCache(out, dim)


def log_softmax_backward(dout, cache: LogSoftmaxCache):
    """dout - softmax(x) * sum(dout, dim)."""
    xp = _check_dout(dout, cache.out, "log_softmax_backward")
    return dout - xp.exp(cache.out) * xp.sum(dout, axis=cache.dim, keepdims=True)


def log_softmax(input, dim):
    """log(softmax(x)) along `dim`, computed stably. input : (*) -> (*)."""
    return log_softmax_forward(input, dim)[0]
