"""Self-gated activations: x times a gate between 0 and 1 computed from x itself.

``input : (*) -> out : (*)``. Each is ``f(x) = x g(x)``, so ``f'(x) = g(x) + x g'(x)``:

==========  =====================================  ============================================
op          gate g(x)                              f'(x)
==========  =====================================  ============================================
silu        sigmoid(x) = s                         s (1 + x (1 - s))
hardswish   hardsigmoid(x) = relu6(x + 3) / 6      0 if x <= -3; x/3 + 1/2 if x < 3; else 1
gelu        Phi(x), the standard normal CDF        Phi(x) + x phi(x), phi = exp(-x^2/2)/sqrt(2 pi)
==========  =====================================  ============================================

SiLU (Elfwing et al. 2018; "swish" in Ramachandran et al. 2017) gates with the sigmoid;
hardswish (MobileNetV3, Howard et al. 2019) swaps in the piecewise-linear hardsigmoid, which
is cheaper; GELU (Hendrycks and Gimpel 2016, used by ConvNeXt and transformers) gates with
the probability that a standard normal variable is below x. Its exact form needs erf, which
``_erf.py`` provides; ``approximate='tanh'`` uses the tanh form instead::

    gelu_tanh(x) = x/2 (1 + tanh(u)),   u = sqrt(2/pi) (x + 0.044715 x^3)
    d/dx         = (1 + tanh(u)) / 2 + x/2 (1 - tanh(u)^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)

The hardswish derivative at the kinks is torch's: 0 at x = -3 and 1 at x = 3. ``inplace``
behaves as in ``activation.py`` (the result overwrites the input; the cache keeps a copy).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from cnnlib.functional._checks import _check_dout
from cnnlib.functional._erf import erfc
from cnnlib.functional.activation import (
    _check_inplace,
    _hardsigmoid,
    _input,
    _result,
    _saved_input,
    _sigmoid,
)

__all__ = [
    "silu",
    "silu_forward",
    "silu_backward",
    "hardswish",
    "hardswish_forward",
    "hardswish_backward",
    "gelu",
    "gelu_forward",
    "gelu_backward",
]


class GatedCache(NamedTuple):
    """What the backward of a self-gated activation needs."""

    x: Any  # the input values, (*) (a copy when the op ran in place)
    gate: Any  # g(x), (*)


# ---------------------------------------------------------------- silu


SiluCache = GatedCache


def silu_forward(input, inplace=False):
    """x * sigmoid(x). Returns (out, SiluCache)."""
    xp = _input(input, "silu")
    inplace = _check_inplace(input, inplace, "silu")
    x = _saved_input(input, inplace, xp)
    s = _sigmoid(x, xp)
    return _result(input, xp.asarray(x * s), inplace), SiluCache(x, s)


def silu_backward(dout, cache: SiluCache):
    """dout * s (1 + x (1 - s)) with s = sigmoid(x)."""
    xp = _check_dout(dout, cache.x, "silu_backward")
    x, s = cache
    return xp.asarray(dout * (s * (1 + x * (1 - s))))  # asarray: NumPy 0-d stays an array


def silu(input, inplace=False):
    """Sigmoid linear unit (swish), x sigmoid(x). ``input : (*) -> (*)``."""
    return silu_forward(input, inplace)[0]


# ---------------------------------------------------------------- hardswish


HardswishCache = GatedCache


def hardswish_forward(input, inplace=False):
    """x * relu6(x + 3) / 6. Returns (out, HardswishCache)."""
    xp = _input(input, "hardswish")
    inplace = _check_inplace(input, inplace, "hardswish")
    x = _saved_input(input, inplace, xp)
    gate = _hardsigmoid(x, xp)
    return _result(input, xp.asarray(x * gate), inplace), HardswishCache(x, gate)


def hardswish_backward(dout, cache: HardswishCache):
    """dout * (0 if x <= -3, x/3 + 1/2 if -3 < x < 3, 1 if x >= 3)."""
    xp = _check_dout(dout, cache.x, "hardswish_backward")
    x = cache.x
    slope = xp.where(x <= -3, xp.zeros_like(x), xp.where(x >= 3, xp.ones_like(x), x / 3 + 0.5))
    return xp.asarray(dout * slope)


def hardswish(input, inplace=False):
    """x times hardsigmoid(x), MobileNetV3's activation. ``input : (*) -> (*)``."""
    return hardswish_forward(input, inplace)[0]


# ---------------------------------------------------------------- gelu


class GeluCache(NamedTuple):
    """What :func:`gelu_backward` needs."""

    x: Any  # the input, (*)
    gate: Any  # Phi(x), or (1 + tanh(u)) / 2 for approximate='tanh', (*)
    approximate: str  # 'none' or 'tanh'


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_KAPPA = 0.044715


def _check_approximate(approximate) -> str:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return approximate


def _gelu_gate(x, approximate: str, xp):
    """Phi(x) = erfc(-x / sqrt 2) / 2, or its tanh approximation (1 + tanh(u)) / 2."""
    if approximate == "tanh":
        return (1 + xp.tanh(_SQRT_2_OVER_PI * (x + _KAPPA * x * x * x))) / 2
    return erfc(-x / math.sqrt(2), xp) / 2


def gelu_forward(input, approximate="none"):
    """x Phi(x) (exact) or x/2 (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))).
    Returns (out, GeluCache)."""
    xp = _input(input, "gelu")
    approximate = _check_approximate(approximate)
    gate = _gelu_gate(input, approximate, xp)
    return xp.asarray(input * gate), GeluCache(input, gate, approximate)


def gelu_backward(dout, cache: GeluCache):
    """dout * (Phi(x) + x phi(x)), or the derivative of the tanh form (module docstring)."""
    xp = _check_dout(dout, cache.x, "gelu_backward")
    x, gate, approximate = cache
    if approximate == "tanh":
        du = _SQRT_2_OVER_PI * (1 + 3 * _KAPPA * x * x)  # 1 - tanh(u)^2 = 4 gate (1 - gate)
        return xp.asarray(dout * (gate + 2 * x * gate * (1 - gate) * du))
    phi = xp.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    return xp.asarray(dout * (gate + x * phi))


def gelu(input, approximate="none"):
    """Gaussian error linear unit, x Phi(x). ``input : (*) -> (*)``."""
    return gelu_forward(input, approximate)[0]
