"""Elementwise nonlinearities, forward and backward: the ReLU family, sigmoid and tanh.

Every op keeps the input's shape, ``input : (*) -> out : (*)``, and its backward is
``dx = dout * f'(x)``:

=============  ==============================  ==========================================
op             forward f(x)                    f'(x) (torch's choice at the kinks)
=============  ==============================  ==========================================
relu           max(0, x)                       1 if x > 0 else 0
leaky_relu     x if x > 0 else a x             1 if x > 0 else a
relu6          min(max(0, x), 6)               1 if 0 < x < 6 else 0
hardsigmoid    relu6(x + 3) / 6                1/6 if -3 < x < 3 else 0
sigmoid        s = 1 / (1 + exp(-x))           s (1 - s)
tanh           t = tanh(x)                     1 - t^2
=============  ==============================  ==========================================

The self-gated activations (silu, hardswish, gelu) live in ``self_gated.py``, softmax and
log_softmax in ``softmax.py``.

``inplace=True`` does what it does in torch: the result is written into ``input``, which is
returned (NumPy arrays and torch tensors are both modified). The backward pass still needs
the original values, so the cache keeps a copy of them: in cnnlib ``inplace`` changes what
happens to ``input``, not how much memory the pass takes.

The rule that keeps in-place ops safe: **a cache never shares memory with an array the
caller gets back.** sigmoid and tanh need their own output in backward, and the caller may
overwrite that output in place (``F.relu(y, inplace=True)``, ``nn.ReLU(inplace=True)``,
``F.dropout(y, inplace=True)``), so their caches keep a private copy (one memory copy, a
fraction of the cost of the exp; softmax and batch_norm do the same). torch instead lets the
in-place op run and refuses the backward ("one of the variables needed for gradient
computation has been modified by an inplace operation"); cnnlib gives the right gradient.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, NamedTuple

from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_dout, _check_float
from cnnlib.functional._inplace import check_overwrite

__all__ = [
    "relu",
    "relu_forward",
    "relu_backward",
    "leaky_relu",
    "leaky_relu_forward",
    "leaky_relu_backward",
    "relu6",
    "relu6_forward",
    "relu6_backward",
    "hardsigmoid",
    "hardsigmoid_forward",
    "hardsigmoid_backward",
    "sigmoid",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh",
    "tanh_forward",
    "tanh_backward",
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


def _check_inplace(input, inplace, fn: str) -> bool:
    """`inplace` as a bool; with True, `input` must be an array that may be overwritten
    (not one that a container's other branches also read: see ``_inplace.py``)."""
    if not isinstance(inplace, bool):
        raise TypeError(f"{fn}: inplace must be True or False, got {inplace!r}")
    if inplace:
        check_overwrite(input, fn)
    return inplace


def _saved_input(input, inplace: bool, xp):
    """What the cache keeps of the input: the array itself, or a copy when the forward
    pass is about to overwrite it."""
    return xp.asarray(input, copy=True) if inplace else input


def _private(out, xp):
    """A copy of `out` for a cache that keeps an op's output: the caller owns `out` and may
    overwrite it in place, which must not change what backward reads (module docstring)."""
    return xp.asarray(out, copy=True)


def _result(input, out, inplace: bool):
    """torch's ``inplace=True``: write `out` into `input` and return `input`."""
    if not inplace:
        return out
    input[...] = out
    return input


class ElementwiseCache(NamedTuple):
    """What the backward of an elementwise op of the input needs."""

    x: Any  # the input values, (*) (a copy when the op ran in place)


# ---------------------------------------------------------------- relu, leaky_relu


ReluCache = ElementwiseCache


def relu_forward(input, inplace=False):
    """max(0, x). Returns (out, ReluCache)."""
    xp = _input(input, "relu")
    inplace = _check_inplace(input, inplace, "relu")
    x = _saved_input(input, inplace, xp)
    out = xp.where(x <= 0, xp.zeros_like(x), x)  # NaN passes through, as in torch
    return _result(input, out, inplace), ReluCache(x)


def relu_backward(dout, cache: ReluCache):
    """dout where x > 0, else 0 (torch's choice at x = 0 is 0)."""
    xp = _check_dout(dout, cache.x, "relu_backward")
    return xp.where(cache.x > 0, dout, xp.zeros_like(dout))


def relu(input, inplace=False):
    """Rectified linear unit, max(0, x). ``input : (*) -> (*)``."""
    return relu_forward(input, inplace)[0]


class LeakyReluCache(NamedTuple):
    """What :func:`leaky_relu_backward` needs."""

    x: Any  # the input values, (*)
    negative_slope: float


def _check_slope(negative_slope) -> float:
    if not isinstance(negative_slope, Real) or isinstance(negative_slope, bool):
        raise TypeError(f"leaky_relu: negative_slope must be a number, got {negative_slope!r}")
    return float(negative_slope)


def leaky_relu_forward(input, negative_slope=0.01, inplace=False):
    """x where x > 0, negative_slope * x elsewhere. Returns (out, LeakyReluCache)."""
    xp = _input(input, "leaky_relu")
    a = _check_slope(negative_slope)
    inplace = _check_inplace(input, inplace, "leaky_relu")
    x = _saved_input(input, inplace, xp)
    out = xp.where(x > 0, x, x * a)
    return _result(input, out, inplace), LeakyReluCache(x, a)


def leaky_relu_backward(dout, cache: LeakyReluCache):
    """dout where x > 0, negative_slope * dout elsewhere (x = 0 included, as in torch)."""
    xp = _check_dout(dout, cache.x, "leaky_relu_backward")
    return xp.where(cache.x > 0, dout, dout * cache.negative_slope)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """Leaky ReLU. ``input : (*) -> (*)``."""
    return leaky_relu_forward(input, negative_slope, inplace)[0]


# ---------------------------------------------------------------- relu6, hardsigmoid


Relu6Cache = ElementwiseCache


def relu6_forward(input, inplace=False):
    """min(max(0, x), 6), MobileNet's bounded ReLU. Returns (out, Relu6Cache)."""
    xp = _input(input, "relu6")
    inplace = _check_inplace(input, inplace, "relu6")
    x = _saved_input(input, inplace, xp)
    out = xp.where(x <= 0, xp.zeros_like(x), xp.where(x >= 6, xp.full_like(x, 6), x))
    return _result(input, out, inplace), Relu6Cache(x)


def relu6_backward(dout, cache: Relu6Cache):
    """dout where 0 < x < 6, else 0 (0 at both kinks, as in torch)."""
    xp = _check_dout(dout, cache.x, "relu6_backward")
    inside = (cache.x > 0) & (cache.x < 6)
    return xp.where(inside, dout, xp.zeros_like(dout))


def relu6(input, inplace=False):
    """ReLU capped at 6. ``input : (*) -> (*)``, values in [0, 6]."""
    return relu6_forward(input, inplace)[0]


HardsigmoidCache = ElementwiseCache


def hardsigmoid_forward(input, inplace=False):
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, a straight line between.
    Returns (out, HardsigmoidCache)."""
    xp = _input(input, "hardsigmoid")
    inplace = _check_inplace(input, inplace, "hardsigmoid")
    x = _saved_input(input, inplace, xp)
    out = _hardsigmoid(x, xp)
    return _result(input, out, inplace), HardsigmoidCache(x)


def _hardsigmoid(x, xp):
    line = x / 6 + 0.5
    return xp.where(x <= -3, xp.zeros_like(x), xp.where(x >= 3, xp.ones_like(x), line))


def hardsigmoid_backward(dout, cache: HardsigmoidCache):
    """dout / 6 where -3 < x < 3, else 0."""
    xp = _check_dout(dout, cache.x, "hardsigmoid_backward")
    inside = (cache.x > -3) & (cache.x < 3)
    return xp.where(inside, dout / 6, xp.zeros_like(dout))


def hardsigmoid(input, inplace=False):
    """A piecewise-linear sigmoid (MobileNetV3's gate). ``input : (*) -> (*)``."""
    return hardsigmoid_forward(input, inplace)[0]


# ---------------------------------------------------------------- sigmoid, tanh


class SigmoidCache(NamedTuple):
    """What :func:`sigmoid_backward` needs."""

    out: Any  # s = sigmoid(x), (*), a private copy; the gradient needs only s


def _sigmoid(x, xp):
    z = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_forward(input):
    """1 / (1 + exp(-x)) without overflow. Returns (out, SigmoidCache).

    With ``z = exp(-|x|) <= 1``: for x >= 0 the value is 1 / (1 + z), for x < 0 it is
    z / (1 + z) (multiply top and bottom by exp(x)). Neither form can overflow.
    """
    xp = _input(input, "sigmoid")
    out = _sigmoid(input, xp)
    return out, SigmoidCache(_private(out, xp))


def sigmoid_backward(dout, cache: SigmoidCache):
    """dout * s * (1 - s)."""
    xp = _check_dout(dout, cache.out, "sigmoid_backward")
    return xp.asarray(dout * cache.out * (1 - cache.out))  # asarray: NumPy 0-d stays an array


def sigmoid(input):
    """The logistic function. ``input : (*) -> (*)``, values in (0, 1)."""
    return sigmoid_forward(input)[0]


class TanhCache(NamedTuple):
    """What :func:`tanh_backward` needs."""

    out: Any  # t = tanh(x), (*), a private copy


def tanh_forward(input):
    """tanh(x). Returns (out, TanhCache)."""
    xp = _input(input, "tanh")
    out = xp.asarray(xp.tanh(input))
    return out, TanhCache(_private(out, xp))


def tanh_backward(dout, cache: TanhCache):
    """dout * (1 - t^2)."""
    xp = _check_dout(dout, cache.out, "tanh_backward")
    return xp.asarray(dout * (1 - cache.out * cache.out))


def tanh(input):
    """Hyperbolic tangent. ``input : (*) -> (*)``, values in (-1, 1)."""
    return tanh_forward(input)[0]
