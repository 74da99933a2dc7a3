"""Checker for batch normalisation's backward pass in training mode (chapter 14)."""

from __future__ import annotations

import numpy as np

from cnnlib import functional as F
from cnnlib.exercises._calls import as_arrays, call, call_text
from cnnlib.exercises._compare import compare
from cnnlib.exercises._report import ladder_of, run_ladder
from cnnlib.exercises.batchnorm import AXES, _c

__all__ = ["check_batch_norm_backward"]


def _bn_backward(dout, x, gamma, eps, variant="torch"):
    """The batch-norm input gradient, right or with one term missing."""
    m = x.size // x.shape[1]
    ddof = 1 if variant == "unbiased" else 0
    mean = x.mean(axis=AXES, keepdims=True)
    var = x.var(axis=AXES, keepdims=True, ddof=ddof)
    s = 1 / np.sqrt(var + eps)
    g = dout * (1 if variant == "no_gamma" else _c(gamma))
    dvar = (-0.5 * s**3 * g * (x - mean)).sum(axis=AXES, keepdims=True)
    dmean = (-s * g).sum(axis=AXES, keepdims=True)
    terms = {
        "no_stats": g * s,
        "no_mean": g * s + dvar * 2 * (x - mean) / (m - ddof),
        "no_var": g * s + dmean / m,
    }
    return terms.get(variant, g * s + dvar * 2 * (x - mean) / (m - ddof) + dmean / m)


def _bn_backward_case(x, gamma, dout, eps=1e-5):
    def case(fn):
        beta = np.zeros_like(gamma)
        _, cache = F.batch_norm_forward(x, None, None, gamma, beta, training=True, eps=eps)
        dx, dgamma, dbeta = F.batch_norm_backward(dout, cache)
        names = ["dout", "x", "gamma"]
        args = [dout, x, gamma, eps]
        text = call_text(args, {}, names)
        called = call(fn, args, {}, names)
        if called.problem:
            return called.problem
        got, problem = as_arrays(called.value, text, 3, ["dx", "dgamma", "dbeta"])
        if problem:
            return problem
        x_hat = (x - x.mean(axis=AXES, keepdims=True)) / np.sqrt(
            x.var(axis=AXES, keepdims=True) + eps
        )
        dx_hints = lambda: [  # noqa: E731
            (
                _bn_backward(dout, x, gamma, eps, "no_stats"),
                "dx treats the mean and the variance as constants, but they depend on every "
                "x_i: dx = (s / m) (m g - sum(g) - x_hat sum(g x_hat)), with g = gamma * dout",
            ),
            (
                _bn_backward(dout, x, gamma, eps, "no_mean"),
                "the term through the mean is missing: dJ/dmean = -s sum(g), divided by m",
            ),
            (
                _bn_backward(dout, x, gamma, eps, "no_var"),
                "the term through the variance is missing: dJ/dvar = -s^3/2 sum(g (x - mean))",
            ),
            (
                _bn_backward(dout, x, gamma, eps, "no_gamma"),
                "gamma is missing: the gradient with respect to x_hat is g = gamma * dout",
            ),
            (
                _bn_backward(dout, x, gamma, eps, "unbiased"),
                "you used the unbiased variance: batch norm normalises with the biased one",
            ),
        ]
        dgamma_hints = [
            ((dout * x).sum(axis=AXES), "dgamma = sum(dout * x_hat), with x_hat, not x"),
            (dout * x_hat, "dgamma is not summed: sum over N, H and W, axis=(0, 2, 3)"),
            ((dout * x_hat).sum(axis=0), "dgamma is summed over N only: sum over H and W too"),
        ]
        dbeta_hints = [
            (dout.mean(axis=AXES), "dbeta is the sum of dout over N, H and W, not the mean"),
            (dout.sum(axis=0), "dbeta is summed over N only: sum over H and W too"),
            (np.asarray(dout.sum()), "dbeta has one value per channel: axis=(0, 2, 3)"),
        ]
        return (
            compare(got[0], dx, text, "dx", dx_hints)
            or compare(got[1], dgamma, text, "dgamma", dgamma_hints)
            or compare(got[2], dbeta, text, "dbeta", dbeta_hints)
        )

    return case


def check_batch_norm_backward(fn, *, quiet=False):
    """Check a learner's batch-norm backward pass (training mode) against cnnlib's (torch's).

    ``fn`` is called as ``fn(dout, x, gamma, eps)`` (all positional; chapter 14's
    ``batchnorm_backward_naive``) for ``y = batch_norm(x, None, None, gamma, beta,
    training=True, eps=eps)`` with x (N, C, H, W) and gamma (C,), and must return
    ``(dx, dgamma, dbeta)``, the gradients of ``sum(y * dout)``; dgamma and dbeta have
    shape (C,). The mean and the variance depend on every input, which dx must account for.

    Parameters
    ----------
    fn : callable
        ``fn(dout, x, gamma, eps) -> (dx, dgamma, dbeta)``.
    quiet : bool
        Do not print the report.

    Returns
    -------
    CheckResult
        Truthy when every case passed.

    Examples
    --------
    >>> import numpy as np
    >>> from cnnlib import functional as F
    >>> from cnnlib.exercises import check_batch_norm_backward
    >>> def bn_backward(dout, x, gamma, eps):
    ...     beta = np.zeros_like(gamma)
    ...     _, cache = F.batch_norm_forward(x, None, None, gamma, beta, True, 0.1, eps)
    ...     return F.batch_norm_backward(dout, cache)
    >>> bool(check_batch_norm_backward(bn_backward, quiet=True))
    True
    """
    rng = np.random.default_rng(9)

    def ints(shape):
        return rng.integers(-3, 4, size=shape).astype(float)

    x1 = ints((2, 1, 2, 2))
    x1[0, 0, 0, 0] = 5.0  # never constant
    cases = [
        (
            "one channel: eight small integers, gamma 2",
            _bn_backward_case(x1, np.array([2.0]), ints((2, 1, 2, 2))),
        ),
        (
            "three channels with different gammas",
            _bn_backward_case(
                rng.standard_normal((2, 3, 2, 2)) * 2 + 1,
                np.array([0.5, 2.0, -1.5]),
                rng.standard_normal((2, 3, 2, 2)),
            ),
        ),
        (
            "a larger batch, 4x2x3x3",
            _bn_backward_case(
                rng.standard_normal((4, 2, 3, 3)),
                rng.standard_normal(2),
                rng.standard_normal((4, 2, 3, 3)),
            ),
        ),
    ]
    configs = []
    for _ in range(3):
        shape = (int(rng.integers(2, 5)), int(rng.integers(1, 4)), int(rng.integers(1, 4)), 3)
        x = rng.standard_normal(shape) * rng.uniform(0.5, 3) + rng.normal(0, 2)
        configs.append(
            _bn_backward_case(x, rng.standard_normal(shape[1]), rng.standard_normal(shape))
        )
    cases.append(("random shapes (3 configurations)", ladder_of(configs)))
    return run_ladder(
        "check_batch_norm_backward",
        "cnnlib's batch_norm_backward (and torch's autograd)",
        fn,
        cases,
        quiet,
    )
