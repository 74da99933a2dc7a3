"""Weight initialisation, with torch.nn.init's names, formulas and in-place behaviour.

Why the scale matters: a layer y = W x with fan_in inputs of variance v has outputs of
variance fan_in * Var(W) * v. Keeping that variance constant through depth asks for
Var(W) = 1 / fan_in (LeCun), 2 / (fan_in + fan_out) when forward and backward both count
(Glorot and Bengio, "xavier"), or 2 / fan_in for ReLU, which zeroes half of its input (He et
al., "kaiming"). For a uniform U(-b, b), Var = b^2 / 3, hence the sqrt(3) in the bounds.
An orthogonal W (Saxe et al.) keeps the length of every input exactly.

Every function fills its argument in place and returns it: a cnnlib ``Parameter``, a NumPy
array or a torch tensor (an ``nn.Parameter`` too: the fill happens under
``torch.no_grad()``, as in torch). Random numbers come from ``cnnlib.random`` (the global
generator, or `generator`, a ``numpy.random.Generator``); the random fills need a
floating-point array.
"""

from __future__ import annotations

import math
import warnings
from numbers import Real

import numpy as np

from cnnlib import random as cr
from cnnlib.backend import asarray_like, check_array, is_torch, namespace
from cnnlib.nn.parameter import Parameter

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "zeros_",
    "ones_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
]

_LINEAR = ["linear", "conv1d", "conv2d", "conv3d"]
_LINEAR += ["conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The factor torch scales the standard deviation by for each nonlinearity.

    linear, conv{1,2,3}d, conv_transpose{1,2,3}d and sigmoid: 1; tanh: 5/3; relu: sqrt(2);
    leaky_relu with negative slope a (`param`, default 0.01): sqrt(2 / (1 + a^2));
    selu: 3/4.
    """
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, Real) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    names = ", ".join(_LINEAR + ["sigmoid", "tanh", "relu", "leaky_relu", "selu"])
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r} (supported: {names})"
    )


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
    mode = mode.lower() if isinstance(mode, str) else mode
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} not supported, use 'fan_in' or 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _target(tensor, fn: str = "init"):
    """The array behind `tensor` (a Parameter's ``.data``), checked to be an array."""
    target = tensor.data if isinstance(tensor, Parameter) else tensor
    return check_array(target, "tensor", fn)


def _random_target(tensor, fn: str):
    """The array to fill with random numbers: it must be floating point (torch's rule)."""
    target = _target(tensor, fn)
    if not namespace(target, fn=fn).isdtype(target.dtype, "real floating"):
        raise TypeError(
            f"{fn}: tensor has dtype {target.dtype}, but random initialisers fill "
            "floating-point arrays only; convert it first (e.g. a.astype(np.float32))"
        )
    return target


def _fill(tensor, values):
    """Write the NumPy array `values` into `tensor` in place; return `tensor`."""
    target = _target(tensor)
    new = asarray_like(values, target)
    if is_torch(target):
        import torch

        with torch.no_grad():  # an nn.Parameter is a leaf that requires grad
            target.copy_(new)
    else:
        target[...] = new
    return tensor


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with samples from U(a, b)."""
    return _uniform(tensor, a, b, generator, "uniform_")


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with samples from N(mean, std^2)."""
    return _normal(tensor, mean, std, generator, "normal_")


def _uniform(tensor, a, b, generator, fn: str):
    g = cr.make_generator(generator)
    return _random_fill(tensor, lambda shape: g.uniform(a, b, size=shape), fn)


def _normal(tensor, mean, std, generator, fn: str):
    g = cr.make_generator(generator)
    return _random_fill(tensor, lambda shape: g.normal(mean, std, size=shape), fn)


_BLOCK = 1 << 20  # random numbers drawn at a time into a large NumPy array


def _random_fill(tensor, draw, fn: str):
    """Fill `tensor` with ``draw(shape)`` (float64 NumPy samples).

    A NumPy array larger than _BLOCK is filled a block of rows at a time, so that a big
    weight (VGG-16's 25088 x 4096: 411 MB in float32) needs no float64 copy of itself (822
    MB). The numbers are the same: the generator yields the same stream in blocks.
    """
    target = _random_target(tensor, fn)
    shape = tuple(target.shape)
    if not isinstance(target, np.ndarray) or math.prod(shape) <= _BLOCK:
        return _fill(tensor, draw(shape))
    rows = max(1, _BLOCK // math.prod(shape[1:]))
    for start in range(0, shape[0], rows):
        block = target[start : start + rows]
        block[...] = draw(block.shape)
    return tensor


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with samples from N(mean, std^2) conditioned on [a, b] (a truncated normal).

    The bounds a and b are values, not multiples of std. When the interval holds a fair
    share p of the normal's mass (p > 0.3), values are drawn from the normal and those
    outside [a, b] drawn again; otherwise candidates x ~ U(a, b) are kept with probability
    exp(-(x - mean)^2 / (2 std^2)) / (the largest such value on [a, b]), which is efficient
    for any interval (rejection sampling). Either way the result has exactly the
    truncated-normal distribution, as in torch.
    """
    shape = tuple(_random_target(tensor, "trunc_normal_").shape)
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            "trunc_normal_: mean is more than 2 std from [a, b]; the distribution of values "
            "may be incorrect",
            stacklevel=2,
        )
    g = cr.make_generator(generator)

    def cdf(x):
        return (1.0 + math.erf((x - mean) / (std * math.sqrt(2.0)))) / 2.0

    out = np.empty(shape)
    todo = np.ones(shape, dtype=bool)
    peak = min(max(mean, a), b)  # the most likely value in [a, b]
    while todo.any():
        n = int(todo.sum())
        if cdf(b) - cdf(a) > 0.3:
            x = g.normal(mean, std, size=n)
            keep = (x >= a) & (x <= b)
        else:
            x = g.uniform(a, b, size=n)
            log_ratio = -0.5 * ((x - mean) / std) ** 2 + 0.5 * ((peak - mean) / std) ** 2
            keep = np.log(g.random(size=n)) <= log_ratio
        idx = np.flatnonzero(todo)[keep]
        out.flat[idx] = x[keep]
        todo.flat[idx] = False
    return _fill(tensor, out)


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
    return _uniform(tensor, -bound, bound, generator, "xavier_uniform_")


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _normal(tensor, 0.0, std, generator, "xavier_normal_")


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-b, b) with b = gain * sqrt(3 / fan) (He et al., 2015).

    With a = sqrt(5) (torch's default for Conv2d and Linear weights) the gain is
    sqrt(2 / 6), so b = 1 / sqrt(fan_in). A zero-element tensor is left as it is.
    """
    if _is_empty(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return _uniform(tensor, -bound, bound, generator, "kaiming_uniform_")


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std^2) with std = gain / sqrt(fan) (He et al., 2015); a zero-element tensor
    is left as it is."""
    if _is_empty(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return _normal(tensor, 0.0, std, generator, "kaiming_normal_")


def orthogonal_(tensor, gain: float = 1, generator=None):
    """A (semi-)orthogonal matrix times `gain` (Saxe et al., 2014).

    The tensor is viewed as a matrix W of shape (rows, cols) = (shape[0], numel / shape[0]).
    A Gaussian matrix A (transposed first if rows < cols) is factored A = QR; Q with its
    columns multiplied by sign(diag R) is uniformly distributed over the orthogonal
    matrices (Mezzadri, 2007). So W W^T = gain^2 I when rows <= cols, W^T W = gain^2 I
    otherwise: W keeps the length of vectors in its row (or column) space exactly.
    """
    target = _random_target(tensor, "orthogonal_")
    shape = tuple(target.shape)
    if len(shape) < 2:
        raise ValueError(
            f"orthogonal_: needs a tensor with at least 2 dimensions, got shape {shape}"
        )
    if math.prod(shape) == 0:
        return tensor
    rows = shape[0]
    cols = math.prod(shape) // rows
    a = cr.normal((rows, cols), generator=generator)
    if rows < cols:
        a = a.T
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(shape))


def _is_empty(tensor) -> bool:
    if math.prod(tuple(_target(tensor).shape)) == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False
