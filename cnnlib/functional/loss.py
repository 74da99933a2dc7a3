"""Cross-entropy and mean squared error, forward and backward.

cross_entropy takes raw scores (logits) and integer class indices::

    input  : (N, C)  or (N, C, H, W)     logits
    target : (N,)    or (N, H, W)        integers in 0..C-1
    loss_i = -log softmax(input_i)[target_i] = logsumexp(input_i) - input_i[target_i]

reduced by 'mean' (over the N (H W) terms), 'sum' or 'none' (one value per term). Its
gradient is the famous "prediction minus truth"::

    dinput = (softmax(input) - one_hot(target)) * dloss     (divided by N (H W) for 'mean')

mse_loss compares two arrays of the same shape::

    loss   = mean((input - target)^2)        ('sum': the sum; 'none': elementwise)
    dinput = 2 (input - target) * dloss      (divided by the number of elements for 'mean')

Reduced losses are 0-d arrays of the input's library. The backward functions take the
upstream gradient first: ``cross_entropy_backward(1.0, cache)``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from array_api_compat import device

from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_float

__all__ = [
    "CrossEntropyCache",
    "cross_entropy",
    "cross_entropy_forward",
    "cross_entropy_backward",
    "MSELossCache",
    "mse_loss",
    "mse_loss_forward",
    "mse_loss_backward",
]

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction, fn: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def _reduce(values, reduction: str, xp):
    if reduction == "none":
        return xp.asarray(values)  # NumPy turns 0-d results into scalars; keep arrays
    total = xp.sum(values)
    return xp.asarray(total / math.prod(values.shape) if reduction == "mean" else total)


def _upstream(dloss, reduction: str, shape, fn: str):
    """Check the upstream gradient: a number or 0-d array for a reduced loss, an array of
    `shape` for reduction='none'."""
    if reduction == "none" and tuple(shape) != ():
        if not hasattr(dloss, "shape") or tuple(dloss.shape) != tuple(shape):
            got = tuple(dloss.shape) if hasattr(dloss, "shape") else type(dloss).__name__
            raise ValueError(
                f"{fn}: with reduction='none' dloss must be an array of shape {tuple(shape)}, "
                f"got {got}"
            )
    elif hasattr(dloss, "shape") and tuple(dloss.shape) != ():
        raise ValueError(
            f"{fn}: the loss is a scalar, so dloss must be a number or a 0-d array, "
            f"got shape {tuple(dloss.shape)}"
        )
    return dloss


# ---------------------------------------------------------------- cross_entropy


class CrossEntropyCache(NamedTuple):
    """What :func:`cross_entropy_backward` needs."""

    probs: Any  # softmax(input, dim=1), same shape as input
    one_hot: Any  # one_hot(target) in input's dtype, same shape as input
    reduction: str


def _check_cross_entropy(input, target, fn: str):
    xp = namespace(input, target, names=["input", "target"], fn=fn)
    _check_float(input, "input", fn, xp)
    if input.ndim not in (2, 4):
        raise ValueError(
            f"{fn}: input must be (N, C) or (N, C, H, W) logits, got shape {tuple(input.shape)}"
        )
    if not xp.isdtype(target.dtype, "integral"):
        raise TypeError(
            f"{fn}: target must hold integer class indices, got dtype {target.dtype} "
            "(convert with .astype(int) / .long())"
        )
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(
            f"{fn}: target must have shape {expected} for input of shape "
            f"{tuple(input.shape)} (batch size and spatial sizes must match), "
            f"got {tuple(target.shape)}"
        )
    n_classes = input.shape[1]
    if math.prod(target.shape) > 0:
        low, high = int(xp.min(target)), int(xp.max(target))
        bad = low if low < 0 else high if high >= n_classes else None
        if bad is not None:
            raise ValueError(
                f"{fn}: target contains class index {bad}, but input has C={n_classes} "
                f"classes (valid indices are 0..{n_classes - 1})"
            )
    return xp


def cross_entropy_forward(input, target, reduction="mean"):
    """Returns (loss, CrossEntropyCache). See the module docstring."""
    fn = "cross_entropy"
    xp = _check_cross_entropy(input, target, fn)
    _check_reduction(reduction, fn)
    shifted = input - xp.max(input, axis=1, keepdims=True)
    exp = xp.exp(shifted)
    sum_exp = xp.sum(exp, axis=1, keepdims=True)
    log_probs = shifted - xp.log(sum_exp)
    # one_hot[n, c, ...] = (target[n, ...] == c): classes (1, C, 1, 1) against (N, 1, H, W)
    classes = xp.arange(input.shape[1], dtype=target.dtype, device=device(target))
    classes = xp.reshape(classes, (1, input.shape[1]) + (1,) * (input.ndim - 2))
    one_hot = xp.astype(xp.expand_dims(target, axis=1) == classes, input.dtype)
    per_term = -xp.sum(log_probs * one_hot, axis=1)  # (N,) or (N, H, W)
    loss = _reduce(per_term, reduction, xp)
    return loss, CrossEntropyCache(exp / sum_exp, one_hot, reduction)


def cross_entropy_backward(dloss, cache: CrossEntropyCache):
    """dinput = (softmax - one_hot) * dloss (/ number of terms for 'mean')."""
    probs, one_hot, reduction = cache
    terms_shape = (probs.shape[0],) + tuple(probs.shape[2:])
    dloss = _upstream(dloss, reduction, terms_shape, "cross_entropy_backward")
    grad = probs - one_hot
    if reduction == "none":
        xp = namespace(dloss, probs, names=["dloss", "the cached logits"], fn="cross_entropy")
        return grad * xp.expand_dims(dloss, axis=1)
    if reduction == "mean":
        grad = grad / math.prod(terms_shape)
    return grad * dloss


def cross_entropy(input, target, reduction="mean"):
    """Softmax cross-entropy from logits and integer targets."""
    return cross_entropy_forward(input, target, reduction)[0]


# ---------------------------------------------------------------- mse_loss


class MSELossCache(NamedTuple):
    """What :func:`mse_loss_backward` needs."""

    diff: Any  # input - target, same shape as input
    reduction: str


def mse_loss_forward(input, target, reduction="mean"):
    """Returns (loss, MSELossCache). See the module docstring."""
    fn = "mse_loss"
    xp = namespace(input, target, names=["input", "target"], fn=fn)
    _check_float(input, "input", fn, xp)
    _check_float(target, "target", fn, xp)
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"{fn}: input and target must have the same shape, got {tuple(input.shape)} "
            f"and {tuple(target.shape)}"
        )
    _check_reduction(reduction, fn)
    diff = xp.asarray(input - target)  # an array even for 0-d NumPy input
    return _reduce(diff * diff, reduction, xp), MSELossCache(diff, reduction)


def mse_loss_backward(dloss, cache: MSELossCache):
    """dinput = 2 (input - target) * dloss (/ number of elements for 'mean')."""
    diff, reduction = cache
    dloss = _upstream(dloss, reduction, diff.shape, "mse_loss_backward")
    xp = namespace(diff, names=["the cached difference"], fn="mse_loss_backward")
    grad = 2 * diff
    if reduction == "mean":
        grad = grad / math.prod(diff.shape)
    return xp.asarray(grad * dloss)


def mse_loss(input, target, reduction="mean"):
    """Mean squared error between arrays of the same shape."""
    return mse_loss_forward(input, target, reduction)[0]
