"""cross_entropy (softmax + negative log-likelihood) and nll_loss, forward and backward.

Shapes (torch's; the class axis is dim 1, or dim 0 for one unbatched sample)::

    input  : (N, C) or (N, C, d1, ..., dK), or (C,)      logits (log-probabilities for nll_loss)
    target : class indices, integers, (N,) or (N, d1, ..., dK), or ()
             or class probabilities, floats, the input's shape (cross_entropy only)
    output : one term per sample (and pixel): (N, d1, ..., dK) for 'none', else a 0-d array

For segmentation the (N, C, H, W) scores get one term per pixel. Each term compares the
log-probabilities ``log p = log_softmax(input, dim=1)`` with a target distribution q over
the C classes, scaled per class by ``weight`` (w_c = 1 without it)::

    loss_i = - sum_c b_c log p_c,     b_c = w_c q_c

q is the one-hot vector of the class index y (then loss_i = -w_y log p_y), or the given
probabilities. ``label_smoothing`` = e mixes it with the uniform distribution,
q = (1 - e) q + e / C. A term whose target equals ``ignore_index`` gets b = 0. 'mean'
divides the sum by sum_i w_(y_i) over the terms not ignored for class indices (torch's
rule: a weighted average), and by the number of terms for probabilities.

Gradient. d log p_c / d x_k = [c = k] - p_k, so for one term::

    d loss_i / d x_k = - sum_c b_c ([c = k] - p_k) = p_k sum_c b_c - b_k

Without weights and ignored terms sum_c b_c = 1 and this is the famous "prediction minus
truth", p - q (p - one_hot(y) without smoothing). With weights it is
``(1 - e) w_y (p - one_hot(y)) + (e / C) (p sum_c w_c - w)``. The mean divides it by the
same denominator as the loss; 'none' multiplies each term's gradient by its own dloss.

nll_loss takes log-probabilities x directly: loss_i = - sum_c b_c x_c = -w_y x_y and
``d loss_i / d x = -b`` (no smoothing, class indices only).
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any, NamedTuple

from array_api_compat import device

from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_float, _check_same_dtype
from cnnlib.functional.loss import _check_dloss, _check_reduction, _reduce, _scale

__all__ = [
    "CrossEntropyCache",
    "cross_entropy",
    "cross_entropy_forward",
    "cross_entropy_backward",
    "NLLLossCache",
    "nll_loss",
    "nll_loss_forward",
    "nll_loss_backward",
]


# ---------------------------------------------------------------- checks and targets


def _check_input(input, target, weight, fn: str):
    xp = namespace(input, target, weight, names=["input", "target", "weight"], fn=fn)
    _check_float(input, "input", fn, xp)
    if input.ndim == 0:
        raise ValueError(
            f"{fn}: input must be (N, C) or (N, C, d1, ...) scores, or (C,) for one sample; "
            "got a 0-d array"
        )
    if weight is not None:
        _check_float(weight, "weight", fn, xp)
        n_classes = input.shape[0 if input.ndim == 1 else 1]
        if tuple(weight.shape) != (n_classes,):
            raise ValueError(
                f"{fn}: weight must have one entry per class, shape ({n_classes},) for input "
                f"of shape {tuple(input.shape)}; got {tuple(weight.shape)}"
            )
    return xp


def _is_probabilities(input, target, fn: str, xp) -> bool:
    """Float target of the input's shape: probabilities. Integer target: class indices."""
    if xp.isdtype(target.dtype, "real floating") and tuple(target.shape) == tuple(input.shape):
        return True
    if not xp.isdtype(target.dtype, "integral"):
        raise TypeError(
            f"{fn}: target must hold integer class indices or class probabilities of the "
            f"input's shape; got dtype {target.dtype} "
            f"and shape {tuple(target.shape)} for input of shape {tuple(input.shape)} "
            "(convert class indices with .astype(int) / .long())"
        )
    return False


def _check_indices(input, target, ignore_index, fn: str, xp) -> None:
    """Class indices: the shape of the input without its class axis, values in 0..C-1 or
    ignore_index. `input` is (N, C, *) or one (C,) sample."""
    unbatched = input.ndim == 1
    expected = () if unbatched else (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(
            f"{fn}: target of class indices must have shape {expected} for input of shape "
            f"{tuple(input.shape)} (batch size and spatial sizes must match), "
            f"got {tuple(target.shape)}"
        )
    n_classes = input.shape[0 if unbatched else 1]
    bad = ((target < 0) | (target >= n_classes)) & (target != ignore_index)
    if math.prod(target.shape) > 0 and bool(xp.any(bad)):
        zeros = xp.zeros_like(target)
        negative = bad & (target < 0)
        if bool(xp.any(negative)):
            value = int(xp.min(xp.where(negative, target, zeros)))
        else:
            value = int(xp.max(xp.where(bad, target, zeros)))
        raise ValueError(
            f"{fn}: target contains class index {value}, but input has C={n_classes} classes "
            f"(valid indices are 0..{n_classes - 1}, or ignore_index={ignore_index})"
        )


def _check_ignore_index(ignore_index, fn: str) -> int:
    if not isinstance(ignore_index, Integral) or isinstance(ignore_index, bool):
        raise TypeError(f"{fn}: ignore_index must be an int, got {ignore_index!r}")
    return int(ignore_index)


def _class_weights(input, target, weight, ignore_index, smoothing: float, fn: str, xp):
    """(b, mean's divisor) for class-index targets; b = w * q with q the smoothed one-hot
    target, zero for ignored terms. Shapes: input (N, C, *), target (N, *), b (N, C, *)."""
    n_classes, spread = input.shape[1], (1,) * (input.ndim - 2)
    classes = xp.arange(n_classes, dtype=xp.int64, device=device(target))
    classes = xp.reshape(classes, (1, n_classes) + spread)  # against (N, 1, *)
    one_hot = xp.astype(xp.expand_dims(target, axis=1) == classes, input.dtype)
    kept = xp.astype(xp.expand_dims(target != ignore_index, axis=1), input.dtype)
    hits = one_hot * kept  # (N, C, *): 1 at the target class of each term not ignored
    q = hits if smoothing == 0 else (1 - smoothing) * hits + (smoothing / n_classes) * kept
    w = None if weight is None else xp.reshape(weight, (1, n_classes) + spread)
    divisor = float(xp.sum(hits if w is None else hits * w))  # sum of w_y over kept terms
    return (q if w is None else q * w), divisor


def _prob_weights(input, target, weight, ignore_index, smoothing: float, fn: str, xp):
    """(b, mean's divisor) for probability targets: b = w * ((1 - e) t + e / C)."""
    if ignore_index >= 0:
        raise ValueError(
            f"{fn}: ignore_index={ignore_index} is not supported with class-probability "
            "targets (as in torch); use class indices, or give ignored terms zero probability"
        )
    _check_same_dtype(fn, input=input, target=target)
    n_classes = input.shape[1]
    q = target if smoothing == 0 else (1 - smoothing) * target + smoothing / n_classes
    if weight is not None:
        q = q * xp.reshape(weight, (1, n_classes) + (1,) * (input.ndim - 2))
    return q, math.prod(input.shape) / n_classes if n_classes else 0.0


def _check_smoothing(label_smoothing, fn: str) -> float:
    if not isinstance(label_smoothing, Real) or isinstance(label_smoothing, bool):
        raise TypeError(f"{fn}: label_smoothing must be a number, got {label_smoothing!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"{fn}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}"
        )
    return float(label_smoothing)


def _batched(input, target, xp):
    """A (C,) sample as a batch of one: input (1, C), target (1,) or (1, C)."""
    if input.ndim != 1:
        return input, target
    return xp.expand_dims(input, axis=0), xp.expand_dims(target, axis=0)


def _unbatched(values, unbatched: bool, xp):
    return xp.reshape(values, tuple(values.shape[1:])) if unbatched else values


def _weighted_sum(b, log_p, xp):
    """- sum_c b_c log p_c per term; classes with b_c = 0 add nothing (even if log p = -inf)."""
    return -xp.sum(b * xp.where(b != 0, log_p, xp.zeros_like(log_p)), axis=1)


# ---------------------------------------------------------------- cross_entropy


class CrossEntropyCache(NamedTuple):
    """What :func:`cross_entropy_backward` needs."""

    probs: Any  # softmax(input, dim=1), (N, C, *) (a batch of one for (C,) input)
    target_weights: Any  # b = w * q, (N, C, *): each class's weight in the loss of a term
    reduction: str
    divisor: float  # the mean's denominator (1 for 'sum' and 'none')
    unbatched: bool  # input was (C,)


def cross_entropy_forward(
    input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
    reduction="mean", label_smoothing=0.0,
):  # fmt: skip
    """Returns (loss, CrossEntropyCache). See the module docstring."""
    fn = "cross_entropy"
    xp = _check_input(input, target, weight, fn)
    _check_same_dtype(fn, input=input, weight=weight)
    reduction = _check_reduction(size_average, reduce, reduction, fn)
    smoothing = _check_smoothing(label_smoothing, fn)
    ignore_index = _check_ignore_index(ignore_index, fn)
    probabilities = _is_probabilities(input, target, fn, xp)
    if not probabilities:
        _check_indices(input, target, ignore_index, fn, xp)
    unbatched = input.ndim == 1
    input, target = _batched(input, target, xp)
    make_b = _prob_weights if probabilities else _class_weights
    b, divisor = make_b(input, target, weight, ignore_index, smoothing, fn, xp)
    shifted = input - xp.max(input, axis=1, keepdims=True)
    exp = xp.exp(shifted)
    sum_exp = xp.sum(exp, axis=1, keepdims=True)
    terms = _weighted_sum(b, shifted - xp.log(sum_exp), xp)  # (N, *)
    loss = _reduce(_unbatched(terms, unbatched, xp), reduction, xp, divisor)
    divisor = divisor if reduction == "mean" else 1.0
    return loss, CrossEntropyCache(exp / sum_exp, b, reduction, divisor, unbatched)


def cross_entropy_backward(dloss, cache: CrossEntropyCache):
    """dinput = (p sum_c b_c - b) * dloss (/ the mean's divisor); p - q without weights."""
    probs, b, reduction, divisor, unbatched = cache
    terms = (probs.shape[0],) + tuple(probs.shape[2:])
    terms = terms[1:] if unbatched else terms
    dloss = _check_dloss(dloss, probs, reduction, terms, "cross_entropy_backward")
    xp = namespace(probs, names=["the cached probabilities"], fn="cross_entropy_backward")
    if unbatched and reduction == "none" and hasattr(dloss, "shape"):
        dloss = xp.expand_dims(dloss, axis=0)
    grad = probs * xp.sum(b, axis=1, keepdims=True) - b
    grad = grad * _scale(dloss, reduction, divisor, xp, class_dim=True)
    return _unbatched(grad, unbatched, xp)


def cross_entropy(
    input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
    reduction="mean", label_smoothing=0.0,
):  # fmt: skip
    """Softmax cross-entropy of logits against class indices or class probabilities."""
    return cross_entropy_forward(
        input, target, weight, size_average, ignore_index, reduce, reduction, label_smoothing
    )[0]


# ---------------------------------------------------------------- nll_loss


class NLLLossCache(NamedTuple):
    """What :func:`nll_loss_backward` needs."""

    target_weights: Any  # b = w_y one_hot(y), zero for ignored terms, the input's shape
    reduction: str
    divisor: float  # sum of w_y over the kept terms for 'mean', else 1
    unbatched: bool


def nll_loss_forward(
    input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
    reduction="mean",
):  # fmt: skip
    """-w_y input[y] per term. Returns (loss, NLLLossCache). See the module docstring."""
    fn = "nll_loss"
    xp = _check_input(input, target, weight, fn)
    _check_same_dtype(fn, input=input, weight=weight)
    reduction = _check_reduction(size_average, reduce, reduction, fn)
    ignore_index = _check_ignore_index(ignore_index, fn)
    if not xp.isdtype(target.dtype, "integral"):
        raise TypeError(
            f"{fn}: target must hold integer class indices, got dtype {target.dtype} (class "
            "probabilities need cross_entropy; convert indices with .astype(int) / .long())"
        )
    _check_indices(input, target, ignore_index, fn, xp)
    unbatched = input.ndim == 1
    input, target = _batched(input, target, xp)
    b, divisor = _class_weights(input, target, weight, ignore_index, 0.0, fn, xp)
    terms = _weighted_sum(b, input, xp)
    loss = _reduce(_unbatched(terms, unbatched, xp), reduction, xp, divisor)
    divisor = divisor if reduction == "mean" else 1.0
    return loss, NLLLossCache(b, reduction, divisor, unbatched)


def nll_loss_backward(dloss, cache: NLLLossCache):
    """dinput = -b * dloss (/ the sum of the kept terms' weights for 'mean')."""
    b, reduction, divisor, unbatched = cache
    terms = (b.shape[0],) + tuple(b.shape[2:])
    terms = terms[1:] if unbatched else terms
    dloss = _check_dloss(dloss, b, reduction, terms, "nll_loss_backward")
    xp = namespace(b, names=["the cached target weights"], fn="nll_loss_backward")
    if unbatched and reduction == "none" and hasattr(dloss, "shape"):
        dloss = xp.expand_dims(dloss, axis=0)
    return _unbatched(-b * _scale(dloss, reduction, divisor, xp, class_dim=True), unbatched, xp)


def nll_loss(
    input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
    reduction="mean",
):  # fmt: skip
    """Negative log-likelihood of log-probabilities at the target classes."""
    return nll_loss_forward(input, target, weight, size_average, ignore_index, reduce, reduction)[0]
