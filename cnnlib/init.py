"""Weight initialisation, with torch.nn.init's names, formulas and in-place behaviour.

Why the scale matters: a layer y = W x with fan_in inputs of variance v has outputs of
variance fan_in * Var(W) * v. Keeping that variance constant through depth asks for
Var(W) = 1 / fan_in (LeCun), 2 / (fan_in + fan_out) when forward and backward both count
(Glorot and Bengio, "xavier"), or 2 / fan_in for ReLU, which zeroes half of its input (He et
al., "kaiming"). For a uniform U(-b, b), Var = b^2 / 3, hence the sqrt(3) in the bounds.

Every function fills its argument in place (a ``Parameter`` or an array) and returns it.
Random numbers come from ``cnnlib.random`` (the global generator, or `generator`).
"""

from __future__ import annotations

import math

import numpy as np

from cnnlib import random as cr
from cnnlib.backend import asarray_like
from cnnlib.nn.parameter import Parameter

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "constant_",
    "zeros_",
    "ones_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
]


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The factor torch scales the standard deviation by for each nonlinearity.

    linear, conv and sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu with slope a
    (default 0.01): sqrt(2 / (1 + a^2)); selu: 3/4.
    """
    linear = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d"]
    if nonlinearity in linear + ["sigmoid"]:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel), as torch computes them.

    Linear (out, in): (in, out). Conv2d (C_out, C_in/groups, kH, kW):
    (C_in/groups * kH * kW, C_out * kH * kW).
    """
    shape = tuple(_target(tensor).shape)
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out need a tensor with at least 2 dimensions, got shape {shape}"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} not supported, use 'fan_in' or 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _target(tensor):
    return tensor.data if isinstance(tensor, Parameter) else tensor


def _fill(tensor, values):
    """Write the NumPy array `values` into `tensor` in place; return `tensor`."""
    target = _target(tensor)
    target[...] = asarray_like(values, target)
    return tensor


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with samples from U(a, b)."""
    return _fill(tensor, cr.uniform(_target(tensor).shape, a, b, generator=generator))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with samples from N(mean, std^2)."""
    return _fill(tensor, cr.normal(_target(tensor).shape, mean, std, generator=generator))


def constant_(tensor, val: float):
    """Fill ``tensor`` with ``val`` in place and return it."""
    return _fill(tensor, np.full(tuple(_target(tensor).shape), val))


def zeros_(tensor):
    """Fill ``tensor`` with 0 in place (the usual start for biases) and return it."""
    return constant_(tensor, 0.0)


def ones_(tensor):
    """Fill ``tensor`` with 1 in place (BatchNorm's weight at start) and return it."""
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator=generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator=generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-b, b) with b = gain * sqrt(3 / fan) (He et al., 2015).

    With a = sqrt(5) (torch's default for Conv2d and Linear weights) the gain is
    sqrt(2 / 6), so b = 1 / sqrt(fan_in).
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator=generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std^2) with std = gain / sqrt(fan) (He et al., 2015)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator=generator)
