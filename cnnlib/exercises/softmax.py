"""Checker for the softmax cross-entropy loss and its gradient (chapters 6 and 9)."""

from __future__ import annotations

import math

import numpy as np

from cnnlib import functional as F
from cnnlib.exercises._calls import as_array, as_number, call, call_text
from cnnlib.exercises._compare import compare
from cnnlib.exercises._report import Problem, ladder_of, run_ladder

__all__ = ["check_softmax_cross_entropy"]


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _ce_case(logits, target):
    def case(fn):
        loss, cache = F.cross_entropy_forward(logits, target)
        loss = float(loss)
        grad = F.cross_entropy_backward(1.0, cache)
        names = ["logits", "target"]
        text = call_text([logits, target], {}, names)
        called = call(fn, [logits, target], {}, names)
        if called.problem:
            return called.problem
        value = called.value
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            got = "None" if value is None else f"a {type(value).__name__}"
            return Problem(
                call=text,
                what=f"your function returned {got}, not a pair (loss, dlogits)",
                received=value,
                hint="end with `return loss, dlogits`",
            )
        got_loss, problem = as_number(value[0], text, "the loss your function")
        if problem:
            return problem._replace(hint=_loss_shape_hint(value[0], logits))
        n = logits.shape[0]
        if not math.isclose(got_loss, loss, rel_tol=1e-6, abs_tol=1e-9):
            return Problem(
                call=text,
                what=f"the loss is {got_loss!r}, expected {loss!r}",
                expected=loss,
                received=got_loss,
                hint=_loss_hint(got_loss, loss, logits, target, called.warnings),
            )
        dz, problem = as_array(value[1], text, "the dlogits your function")
        if problem:
            return problem
        onehot = np.eye(logits.shape[1])[target]
        p = _softmax(logits)
        hints = [
            (grad * n, f"dlogits is not divided by the batch size N = {n}: the loss is a mean"),
            (p / n, "you forgot to subtract the one-hot target: dJ/dz = (p - t) / N"),
            (p, "dJ/dz = (p - t) / N: subtract the one-hot target and divide by N"),
            (-grad, "the sign is flipped: dJ/dz = (p - t) / N, not (t - p) / N"),
            (
                (_softmax(logits, axis=0) - onehot) / n,
                "the softmax is taken over the batch axis: take it over the classes, axis=1",
            ),
            (
                lambda r: not np.all(np.isfinite(r)),
                "NaN or inf in dlogits: compute the softmax from z - max(z) row by row",
            ),
        ]
        return compare(dz, grad, text, "dlogits", hints)

    return case


def _loss_shape_hint(value, logits):
    if np.shape(value) == (logits.shape[0],):
        return "you returned one loss per example: return their mean, a single number"
    return "return the loss as a single number"


def _loss_hint(got, loss, logits, target, warned):
    n = logits.shape[0]
    if not math.isfinite(got):
        with np.errstate(under="ignore"):
            p_y = _softmax(logits)[np.arange(n), target]
        if np.any(p_y == 0):
            return (
                "p_y = softmax(z)[y] underflows to 0 here, and -log(0) = inf. Never form p_y: "
                "log p_y = z_y - logsumexp(z), with logsumexp(z) = m + log(sum(exp(z - m))) "
                "and m = max(z)"
            )
        if float(np.max(np.abs(logits))) > 700:
            return (
                "exp(1000) overflows to inf (and exp(-1000) underflows to 0), which gives inf "
                "or NaN: subtract each row's own maximum before exp; softmax(z) = "
                "softmax(z - max(z))"
            )
        return "the loss is not finite: is a probability 0 before the log?"
    alts = [
        (loss * n, f"your loss is the sum over the batch: take the mean (divide by N = {n})"),
        (loss / math.log(10), "you used log10: the cross-entropy uses the natural log, np.log"),
        (
            float(np.mean(-np.log(_softmax(logits, axis=0))[np.arange(n), target])),
            "the softmax is taken over the batch axis: take it over the classes, axis=1",
        ),
        (
            float(np.mean(-np.log(_softmax(logits))[:, target])),
            "z[:, y] picks every example's label for every row (an N x N block): pick one "
            "entry per row with z[np.arange(N), y]",
        ),
    ]
    for value, text in alts:
        if math.isclose(got, value, rel_tol=1e-6, abs_tol=1e-9):
            return text
    if warned:
        return f"NumPy warned while your function ran: {warned[0]}"
    return None


def check_softmax_cross_entropy(fn, *, quiet=False):
    """Check a learner's softmax cross-entropy, value and gradient, against cnnlib's (torch's).

    ``fn`` is called as ``fn(logits, target)`` (CS231n's ``softmax_loss(x, y)``) with logits
    (N, K) float and target (N,) int class indices, and must return ``(loss, dlogits)``: the
    mean over the batch of ``-log softmax(z)[y]`` (a single number) and its gradient
    ``(softmax(z) - onehot(y)) / N`` of shape (N, K). The cases include logits near ±1000,
    which overflow a softmax that is not shifted by the row maximum, and a confidently wrong
    prediction whose p_y underflows to 0, which needs log-sum-exp.

    Parameters
    ----------
    fn : callable
        ``fn(logits, target) -> (loss, dlogits)``.
    quiet : bool
        Do not print the report.

    Returns
    -------
    CheckResult
        Truthy when every case passed.

    Examples
    --------
    >>> from cnnlib import functional as F
    >>> from cnnlib.exercises import check_softmax_cross_entropy
    >>> def softmax_loss(logits, target):
    ...     loss, cache = F.cross_entropy_forward(logits, target)
    ...     return loss, F.cross_entropy_backward(1.0, cache)
    >>> bool(check_softmax_cross_entropy(softmax_loss, quiet=True))
    True
    """
    rng = np.random.default_rng(7)
    cases = [
        (
            "one example, three classes: logits [1, 2, 3], label 2",
            _ce_case(np.array([[1.0, 2.0, 3.0]]), np.array([2])),
        ),
        (
            "a batch of four examples and five classes (the loss is the mean)",
            _ce_case(rng.standard_normal((4, 5)) * 2, rng.integers(0, 5, size=4)),
        ),
        (
            "logits near +1000 and -1000: shift each row by its maximum before exp",
            _ce_case(
                np.array([[1000.0, 1001.0, 1002.0], [-1002.0, -1001.0, -1000.0]]), np.array([0, 2])
            ),
        ),
        (
            "a confidently wrong prediction: logits [1000, 0], label 1, loss 1000",
            _ce_case(np.array([[1000.0, 0.0]]), np.array([1])),
        ),
    ]
    configs = []
    for _ in range(3):
        n, k = int(rng.integers(1, 9)), int(rng.integers(2, 11))
        configs.append(_ce_case(rng.standard_normal((n, k)) * 3, rng.integers(0, k, size=n)))
    cases.append(("random batches (3 configurations)", ladder_of(configs)))
    return run_ladder(
        "check_softmax_cross_entropy",
        "cnnlib's cross_entropy and its backward (and torch's)",
        fn,
        cases,
        quiet,
    )
