"""What every loss shares -- the reduction and torch's legacy arguments -- and mse_loss.

A loss compares a prediction with a target and returns one value per term (``reduction=
'none'``), their sum (``'sum'``) or their mean (``'mean'``, the default), as a 0-d array of the
input's library. Its backward takes the upstream gradient first and returns the gradient
of the input alone: ``dinput = mse_loss_backward(1.0, cache)``. Targets (and class weights)
are data, not parameters, so they get no gradient; torch computes one for floating-point
targets, which is the one place cnnlib returns less than torch.

Signatures are torch's, legacy arguments included: ``mse_loss(input, target,
size_average=None, reduce=None, reduction='mean', weight=None)``. ``size_average`` and
``reduce`` are deprecated in torch but still positional there, so ``mse_loss(a, b, 'sum')``
means ``size_average='sum'`` -- a true value -- and gives the mean, with torch's warning.
cnnlib maps them exactly as torch does (``_legacy_get_string``), so a call written for
torch never silently computes something else here.

mse_loss::

    input, target : (*), the same shape
    loss_i = w_i (input_i - target_i)^2              (w = 1 without weight)
    'mean' = sum_i loss_i / sum_i w_i                (the number of elements without weight)
    dinput = 2 w (input - target) * dloss            (divided by the same for 'mean')

torch broadcasts a target of another shape with a warning; cnnlib raises instead.
"""

from __future__ import annotations

import math
import warnings
from numbers import Real
from typing import Any, NamedTuple

from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_dout, _check_float, _check_same_dtype

__all__ = [
    "MSELossCache",
    "mse_loss",
    "mse_loss_forward",
    "mse_loss_backward",
]

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------- reductions


def _legacy_get_string(size_average, reduce, emit_warning=True, stacklevel=5) -> str:
    """torch's mapping of the deprecated ``size_average``/``reduce`` to a reduction.

    None counts as True. Both true: 'mean'; only reduce true: 'sum'; reduce false: 'none'.
    Like torch, only their truth value counts and a warning says which reduction to write.
    """
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        ret = "mean"
    elif reduce:
        ret = "sum"
    else:
        ret = "none"
    if emit_warning:
        warnings.warn(
            f"size_average and reduce args will be deprecated, please use reduction='{ret}' "
            "instead.",
            UserWarning,
            stacklevel=stacklevel,
        )
    return ret


def _check_reduction(size_average, reduce, reduction, fn: str) -> str:
    """The reduction a torch-shaped call asks for (legacy arguments first, as in torch)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    if reduction == "elementwise_mean":
        warnings.warn(
            "reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
            UserWarning,
            stacklevel=4,
        )
        reduction = "mean"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def _reduce(values, reduction: str, xp, divisor: float = 1.0):
    """values ('none'), their sum, or their sum / divisor ('mean'; NaN when divisor is 0,
    as in torch); reduced results are 0-d arrays."""
    if reduction == "none":
        return xp.asarray(values)  # NumPy turns 0-d results into scalars; keep arrays
    total = xp.asarray(xp.sum(values))
    if reduction == "sum":
        return total
    return xp.asarray(total / divisor if divisor != 0 else total * math.nan)


def _check_dloss(dloss, like, reduction: str, shape, fn: str):
    """The upstream gradient: a number or 0-d array for a reduced loss, an array of the
    per-term `shape` for reduction='none', in `like`'s library and dtype."""
    shape = () if reduction != "none" else tuple(shape)
    if isinstance(dloss, Real) and not isinstance(dloss, bool) and shape == ():
        return dloss
    got = tuple(dloss.shape) if hasattr(dloss, "shape") else type(dloss).__name__
    if not hasattr(dloss, "shape") or tuple(dloss.shape) != shape:
        if shape == ():
            raise ValueError(
                f"{fn}: the loss is a scalar, so dloss must be a number or a 0-d array, "
                f"got {'shape ' if hasattr(dloss, 'shape') else ''}{got}"
            )
        raise ValueError(
            f"{fn}: with reduction='none' dloss must be an array of shape {shape}, got {got}"
        )
    _check_dout(dloss, like, fn, shape=shape)
    return dloss


def _scale(dloss, reduction: str, divisor: float, xp, class_dim: bool = False):
    """What the per-term gradient is multiplied by: dloss, dloss / divisor ('mean'), or
    the per-term dloss array ('none', with a class axis inserted when `class_dim`)."""
    if reduction == "none":
        return xp.expand_dims(dloss, axis=1) if class_dim and getattr(dloss, "ndim", 0) else dloss
    if reduction == "mean":
        return dloss / divisor if divisor != 0 else dloss * 0.0
    return dloss


# ---------------------------------------------------------------- mse_loss


class MSELossCache(NamedTuple):
    """What :func:`mse_loss_backward` needs."""

    diff: Any  # input - target, same shape as input
    weight: Any  # the per-element weight, same shape as input, or None
    reduction: str
    divisor: float  # the mean's denominator: numel or sum(weight) (1 unless 'mean')


def mse_loss_forward(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Returns (loss, MSELossCache). See the module docstring."""
    fn = "mse_loss"
    xp = namespace(input, target, weight, names=["input", "target", "weight"], fn=fn)
    _check_float(input, "input", fn, xp)
    _check_float(target, "target", fn, xp)
    _check_same_dtype(fn, input=input, target=target, weight=weight)
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"{fn}: input and target must have the same shape, got {tuple(input.shape)} "
            f"and {tuple(target.shape)}"
        )
    if weight is not None and tuple(weight.shape) != tuple(input.shape):
        raise ValueError(
            f"{fn}: weight must have the input's shape {tuple(input.shape)} (one weight per "
            f"element), got {tuple(weight.shape)}"
        )
    reduction = _check_reduction(size_average, reduce, reduction, fn)
    diff = xp.asarray(input - target)  # an array even for 0-d NumPy input
    squares = diff * diff if weight is None else diff * diff * weight
    divisor = 1.0
    if reduction == "mean":
        divisor = math.prod(diff.shape) if weight is None else float(xp.sum(weight))
    loss = _reduce(squares, reduction, xp, divisor)
    return loss, MSELossCache(diff, weight, reduction, divisor)


def mse_loss_backward(dloss, cache: MSELossCache):
    """dinput = 2 w (input - target) * dloss (/ numel or sum(w) for 'mean')."""
    diff, weight, reduction, divisor = cache
    dloss = _check_dloss(dloss, diff, reduction, diff.shape, "mse_loss_backward")
    xp = namespace(diff, names=["the cached difference"], fn="mse_loss_backward")
    grad = 2 * diff if weight is None else 2 * diff * weight
    return xp.asarray(grad * _scale(dloss, reduction, divisor, xp))


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error between arrays of the same shape. ``input, target : (*)``."""
    return mse_loss_forward(input, target, size_average, reduce, reduction, weight)[0]
