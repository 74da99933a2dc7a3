"""Binary cross-entropy, on probabilities and on logits, forward and backward.

One independent yes/no question per element (multi-label classification, masks)::

    input, target : (*), the same shape; targets in [0, 1]
    weight        : None or broadcastable to the input's shape (a weight per element)
    output        : (*) for reduction='none', else a 0-d array ('mean' divides by numel)

binary_cross_entropy takes probabilities x in [0, 1]::

    loss = -w (t log x + (1 - t) log(1 - x))          each log clamped at -100, as in torch
    d loss / d x = w (x - t) / (x (1 - x))            x (1 - x) floored at 1e-12, as in torch

binary_cross_entropy_with_logits takes scores x and applies the sigmoid s = 1 / (1 + e^-x)
itself, which is exact where the two-step version would round s to 0 or 1 and clamp. With
``pos_weight`` p (broadcast along the input's last dimension, one entry per class: it
weighs the positive examples of each class, to trade precision for recall)::

    loss = w (p t softplus(-x) + (1 - t) softplus(x))     softplus(z) = log(1 + e^z) >= 0
         = w ((1 - t) x + l softplus(-x)),  l = 1 + (p - 1) t
    d loss / d x = w (l s - p t)                           = w (s - t) without pos_weight

using -log s = softplus(-x), -log(1 - s) = softplus(x) = x + softplus(-x) and
d softplus(-x) / dx = -(1 - s). softplus(-x) is computed as
``max(-x, 0) + log1p(exp(-|x|))``, which never overflows.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_float, _check_same_dtype
from cnnlib.functional.activation import _sigmoid
from cnnlib.functional.loss import _check_dloss, _check_reduction, _reduce, _scale

__all__ = [
    "BCECache",
    "binary_cross_entropy",
    "binary_cross_entropy_forward",
    "binary_cross_entropy_backward",
    "BCEWithLogitsCache",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_forward",
    "binary_cross_entropy_with_logits_backward",
]


def _check_args(input, target, weights: dict, fn: str):
    arrays = {"input": input, "target": target, **weights}
    xp = namespace(*arrays.values(), names=list(arrays), fn=fn)
    for name, a in arrays.items():
        if a is not None:
            _check_float(a, name, fn, xp)
    _check_same_dtype(fn, **arrays)
    shape = tuple(input.shape)
    if tuple(target.shape) != shape:
        raise ValueError(
            f"{fn}: target must have the input's shape {shape}, got {tuple(target.shape)}"
        )
    for name, a in weights.items():
        if a is None:
            continue
        try:
            fits = np.broadcast_shapes(tuple(a.shape), shape) == shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"{fn}: {name} of shape {tuple(a.shape)} does not broadcast to the input's "
                f"shape {shape}"
            )
    return xp


def _in_unit_interval(a, name: str, fn: str, xp) -> None:
    if math.prod(a.shape) and not bool(xp.all((a >= 0) & (a <= 1))):
        raise ValueError(f"{fn}: all elements of {name} must be between 0 and 1")


def _clamped(log, x, finite, harmless, xp):
    """max(log(x), -100), with -100 where not `finite` (log would give -inf there: it is
    evaluated at `harmless` values instead, so NumPy does not warn)."""
    values = xp.clip(log(xp.where(finite, x, harmless)), min=-100.0)
    return xp.where(finite, values, xp.full_like(x, -100.0))


# ---------------------------------------------------------------- binary_cross_entropy


class BCECache(NamedTuple):
    """What :func:`binary_cross_entropy_backward` needs."""

    input: Any  # probabilities x, (*)
    target: Any  # t, (*)
    weight: Any  # None or broadcastable to (*)
    reduction: str
    divisor: float  # numel for 'mean', else 1


def binary_cross_entropy_forward(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean"
):
    """Returns (loss, BCECache). See the module docstring."""
    fn = "binary_cross_entropy"
    xp = _check_args(input, target, {"weight": weight}, fn)
    reduction = _check_reduction(size_average, reduce, reduction, fn)
    _in_unit_interval(input, "input", fn, xp)
    _in_unit_interval(target, "target", fn, xp)
    # log x and log(1 - x), with log 0 = -inf clamped to -100 (never evaluated)
    log_x = _clamped(xp.log, input, input > 0, xp.ones_like(input), xp)
    log_1mx = _clamped(lambda a: xp.log1p(-a), input, input < 1, xp.zeros_like(input), xp)
    loss = (target - 1) * log_1mx - target * log_x
    if weight is not None:
        loss = loss * weight
    divisor = math.prod(input.shape) if reduction == "mean" else 1.0
    cache = BCECache(input, target, weight, reduction, divisor)
    return _reduce(loss, reduction, xp, divisor), cache


def binary_cross_entropy_backward(dloss, cache: BCECache):
    """dinput = w (x - t) / max(x (1 - x), 1e-12) * dloss (/ numel for 'mean')."""
    x, t, w, reduction, divisor = cache
    fn = "binary_cross_entropy_backward"
    dloss = _check_dloss(dloss, x, reduction, x.shape, fn)
    xp = namespace(x, names=["the cached input"], fn=fn)
    grad = (x - t) / xp.clip(x * (1 - x), min=1e-12)
    if w is not None:
        grad = grad * w
    return grad * _scale(dloss, reduction, divisor, xp)


def binary_cross_entropy(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean"
):
    """Binary cross-entropy of probabilities in [0, 1]. ``input, target : (*)``."""
    return binary_cross_entropy_forward(input, target, weight, size_average, reduce, reduction)[0]


# ---------------------------------------------------------------- with logits


class BCEWithLogitsCache(NamedTuple):
    """What :func:`binary_cross_entropy_with_logits_backward` needs."""

    sigmoid: Any  # s = sigmoid(input), (*)
    target: Any  # t, (*)
    weight: Any  # None or broadcastable to (*)
    pos_weight: Any  # None or broadcastable to (*)
    reduction: str
    divisor: float  # numel for 'mean', else 1


def binary_cross_entropy_with_logits_forward(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean",
    pos_weight=None,
):  # fmt: skip
    """Returns (loss, BCEWithLogitsCache). See the module docstring."""
    fn = "binary_cross_entropy_with_logits"
    weights = {"weight": weight, "pos_weight": pos_weight}
    xp = _check_args(input, target, weights, fn)
    reduction = _check_reduction(size_average, reduce, reduction, fn)
    softplus_neg = xp.clip(-input, min=0.0) + xp.log1p(xp.exp(-xp.abs(input)))
    scale = 1 if pos_weight is None else 1 + (pos_weight - 1) * target  # l
    loss = (1 - target) * input + scale * softplus_neg
    if weight is not None:
        loss = loss * weight
    divisor = math.prod(input.shape) if reduction == "mean" else 1.0
    s = _sigmoid(input, xp)
    cache = BCEWithLogitsCache(s, target, weight, pos_weight, reduction, divisor)
    return _reduce(loss, reduction, xp, divisor), cache


def binary_cross_entropy_with_logits_backward(dloss, cache: BCEWithLogitsCache):
    """dinput = w (l s - p t) * dloss with l = 1 + (p - 1) t; w (s - t) without p."""
    s, t, w, pw, reduction, divisor = cache
    fn = "binary_cross_entropy_with_logits_backward"
    dloss = _check_dloss(dloss, s, reduction, s.shape, fn)
    xp = namespace(s, names=["the cached sigmoid"], fn=fn)
    grad = s - t if pw is None else (1 + (pw - 1) * t) * s - pw * t
    if w is not None:
        grad = grad * w
    return grad * _scale(dloss, reduction, divisor, xp)


def binary_cross_entropy_with_logits(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean",
    pos_weight=None,
):  # fmt: skip
    """Binary cross-entropy of logits (the sigmoid built in). ``input, target : (*)``."""
    return binary_cross_entropy_with_logits_forward(
        input, target, weight, size_average, reduce, reduction, pos_weight
    )[0]
