"""Checker for batch normalisation's forward pass: training and evaluation, running
statistics (chapter 14)."""

from __future__ import annotations

import numpy as np

from cnnlib import functional as F
from cnnlib.exercises._calls import as_array, call, call_text
from cnnlib.exercises._compare import close, compare
from cnnlib.exercises._report import ladder_of, run_ladder

__all__ = ["check_batch_norm"]

AXES = (0, 2, 3)
NAMES = ["x", "running_mean", "running_var", "weight", "bias"]


def _c(a):
    return a.reshape(1, -1, 1, 1)


def _normalise(x, gamma, beta, eps, axes=AXES, ddof=0, eps_inside=True):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=ddof)
    scale = np.sqrt(var + eps) if eps_inside else np.sqrt(var) + eps
    return _c(gamma) * (x - mean) / scale + _c(beta)


def _running(batches, rm, rv, momentum, variant="torch"):
    """The running statistics after training steps on ``batches``, right or wrong."""
    rm, rv = rm.copy(), rv.copy()
    for x in batches:
        mean, var = x.mean(axis=AXES), x.var(axis=AXES, ddof=0 if variant == "biased" else 1)
        if variant == "std":
            var = np.sqrt(var)
        m = {"reversed": 1 - momentum, "replace": 1.0}.get(variant, momentum)
        rm, rv = (1 - m) * rm + m * mean, (1 - m) * rv + m * var
    return rm, rv


def _bn_call(fn, x, rm, rv, gamma, beta, training, momentum, eps):
    """Call fn on copies and return (out or None, running_mean, running_var, text, problem);
    the running statistics are the learner's copies, so in-place updates show."""
    rm_l, rv_l = rm.copy(), rv.copy()
    args = [x.copy(), rm_l, rv_l, gamma.copy(), beta.copy(), training, momentum, eps]
    text = call_text(args, {}, NAMES)
    called = call(fn, args, {}, NAMES, copy=False)
    if called.problem:
        return None, rm_l, rv_l, text, called.problem
    out, problem = as_array(called.value, text)
    return out, rm_l, rv_l, text, problem


def _output_hints(x, gamma, beta, eps, training, rm, rv, momentum):
    hints = []
    if training:
        hints += [
            (
                _normalise(x, gamma, beta, eps, axes=(1, 2, 3)),
                "you normalised each image over its own values: batch norm takes the "
                "statistics of each channel over N, H and W, axis=(0, 2, 3)",
            ),
            (
                _normalise(x, gamma, beta, eps, axes=(2, 3)),
                "you normalised each image's channel alone (that is instance norm): take the "
                "statistics over the batch too, axis=(0, 2, 3)",
            ),
            (
                _normalise(x, gamma, beta, eps, axes=None),
                "you used one mean and variance for all channels: take them per channel, "
                "axis=(0, 2, 3) with keepdims=True",
            ),
            (
                _normalise(x, gamma, beta, eps, axes=0),
                "you took the statistics over the batch axis only: for a convolutional layer "
                "they are over N, H and W, axis=(0, 2, 3)",
            ),
            (
                _normalise(x, gamma, beta, eps, ddof=1),
                "you normalised with the unbiased variance (divided by m - 1): the batch is "
                "normalised with the biased one (divided by m); the unbiased one is only for "
                "running_var",
            ),
            (
                _normalise(x, gamma, beta, eps, eps_inside=False),
                "eps goes inside the square root: (x - mean) / sqrt(var + eps), not "
                "(x - mean) / (sqrt(var) + eps)",
            ),
            (
                _normalise(x, np.ones_like(gamma), np.zeros_like(beta), eps),
                "gamma and beta are missing: y = gamma * x_hat + beta, per channel",
            ),
        ]
        x_hat = _normalise(x, np.ones_like(gamma), np.zeros_like(beta), eps)
    else:
        x_hat = (x - _c(rm)) / np.sqrt(_c(rv) + eps)
        hints += [
            (
                _normalise(x, gamma, beta, eps),
                "in evaluation mode (training=False) normalise with running_mean and "
                "running_var, not with the batch's statistics",
            ),
            (
                _c(gamma) * (x - _c(rm)) / np.sqrt(_c(rv)) + _c(beta),
                "eps is missing: divide by sqrt(running_var + eps)",
            ),
            (
                _eval_after_update(x, gamma, beta, eps, rm, rv, momentum),
                "you updated the running statistics with this batch (and then normalised with "
                "them): in evaluation mode they must not change; update them only when training",
            ),
            (
                _c(gamma) * (x - _c(rm)) / (_c(rv) + eps) + _c(beta),
                "running_var is a variance: divide by its square root, sqrt(running_var + eps)",
            ),
        ]
    if x.shape[1] == x.shape[3]:
        hints.append(
            (
                gamma.reshape(1, 1, 1, -1) * x_hat + beta.reshape(1, 1, 1, -1),
                "gamma and beta were broadcast along the last axis (W): reshape them to "
                "(1, C, 1, 1) so that they scale and shift the channels",
            )
        )
    return hints


def _eval_after_update(x, gamma, beta, eps, rm, rv, momentum):
    rm, rv = _running([x], rm, rv, momentum)
    return _c(gamma) * (x - _c(rm)) / np.sqrt(_c(rv) + eps) + _c(beta)


def _running_problem(got, want, start, x, momentum, text, training):
    """A Problem if the learner's running statistics (got), after one call on the batch x
    with the statistics ``start``, differ from torch's (want)."""
    names = ("running_mean", "running_var")
    for name, g, w, s0 in zip(names, got, want, start):
        if close(g, w):
            continue
        if not training:
            hint = "in evaluation mode the running statistics must not change"
        elif np.array_equal(g, s0):
            hint = (
                f"{name} did not change: update it in place, e.g. {name}[:] = ... or "
                f"{name} *= ...; `{name} = ...` only rebinds the name inside your function"
            )
        else:
            hint = None
            i = names.index(name)
            for variant, text_ in (
                (
                    "biased",
                    "running_var must be updated with the unbiased batch variance "
                    "(divided by m - 1, np.var(..., ddof=1)); the batch itself is normalised with "
                    "the biased one",
                ),
                (
                    "reversed",
                    "the momentum works the other way round: in torch, momentum is "
                    "the weight of the new batch statistic, running = (1 - momentum) * running + "
                    "momentum * batch (Keras's momentum is the weight of the old value)",
                ),
                ("std", "running_var averages the variance, not the standard deviation"),
                (
                    "replace",
                    "you replaced the running statistic by the batch's: average it, "
                    "running = (1 - momentum) * running + momentum * batch",
                ),
            ):
                if close(g, _running([x], *start, momentum, variant)[i]):
                    hint = text_
                    break
        problem = compare(g, w, text, f"{name} after the call")
        if problem is None:  # shape or dtype surprises compare cannot describe
            continue
        return problem._replace(hint=hint or problem.hint)
    return None


def _bn_case(batches, gamma, beta, momentum=0.1, eps=1e-5, check_running=True, evaluate=None):
    """Training steps on ``batches`` (the same running arrays carried through), then
    optionally an evaluation-mode call on ``evaluate``."""

    def case(fn):
        c = gamma.shape[0]
        rm, rv = np.zeros(c), np.ones(c)
        for x in batches:
            rm_t, rv_t = rm.copy(), rv.copy()
            expected = F.batch_norm(x, rm_t, rv_t, gamma, beta, True, momentum, eps)
            out, rm_l, rv_l, text, problem = _bn_call(
                fn, x, rm, rv, gamma, beta, True, momentum, eps
            )
            if problem:
                return problem
            problem = compare(
                out,
                expected,
                text,
                hints=lambda x=x, rm=rm, rv=rv: _output_hints(
                    x, gamma, beta, eps, True, rm, rv, momentum
                ),
            )
            if problem:
                return problem
            if check_running:
                problem = _running_problem(
                    (rm_l, rv_l), (rm_t, rv_t), (rm, rv), x, momentum, text, True
                )
                if problem:
                    return problem
            rm, rv = rm_t, rv_t  # carry torch's statistics on: one mistake, one report
        if evaluate is not None:
            x, rm0, rv0 = evaluate
            rm, rv = rm0.copy(), rv0.copy()
            expected = F.batch_norm(x, rm, rv, gamma, beta, False, momentum, eps)
            out, rm_l, rv_l, text, problem = _bn_call(
                fn, x, rm0, rv0, gamma, beta, False, momentum, eps
            )
            if problem:
                return problem
            problem = compare(
                out,
                expected,
                text,
                hints=lambda: _output_hints(x, gamma, beta, eps, False, rm0, rv0, momentum),
            )
            if problem:
                return problem
            return _running_problem((rm_l, rv_l), (rm0, rv0), (rm0, rv0), x, momentum, text, False)
        return None

    return case


def check_batch_norm(fn, *, quiet=False):
    """Check a learner's batch normalisation against ``cnnlib.functional.batch_norm`` (torch's).

    ``fn`` is called as ``F.batch_norm`` is, with all eight arguments positional:
    ``fn(x, running_mean, running_var, weight, bias, training, momentum, eps)``, x of shape
    (N, C, H, W) and the other arrays of shape (C,), never None. In training mode it must
    normalise each channel with the mean and the biased variance of the batch over N, H
    and W (eps inside the square root), scale by weight (gamma) and shift by bias (beta),
    and update running_mean and running_var **in place** as torch does:
    ``running = (1 - momentum) * running + momentum * batch_stat``, with the unbiased batch
    variance for running_var. In evaluation mode it must normalise with the running
    statistics and leave them unchanged. The cases go from one channel of integers to
    several training steps followed by evaluation.

    Parameters
    ----------
    fn : callable
        ``fn(x, running_mean, running_var, weight, bias, training, momentum, eps) -> out``,
        out of x's shape.
    quiet : bool
        Do not print the report.

    Returns
    -------
    CheckResult
        Truthy when every case passed.

    Examples
    --------
    >>> from cnnlib.exercises import check_batch_norm
    >>> from cnnlib.functional import batch_norm
    >>> bool(check_batch_norm(batch_norm, quiet=True))
    True
    """
    rng = np.random.default_rng(8)

    def normal(shape, centre=0.0):
        return centre + rng.standard_normal(shape)

    ones, zeros = np.ones(1), np.zeros(1)
    g3, b3 = np.array([0.5, 2.0, -1.0]), np.array([1.0, -2.0, 0.5])
    g2, b2 = np.array([1.5, 0.5]), np.array([-1.0, 0.25])
    tiny = normal((4, 2, 3, 3), 1.0)
    tiny[:, 1] = 1e-3 * rng.standard_normal((4, 3, 3))  # variance near 1e-6
    cases = [
        (
            "training mode, one channel: eight small integers (output only)",
            _bn_case(
                [rng.integers(-3, 4, size=(2, 1, 2, 2)).astype(float)],
                ones,
                zeros,
                check_running=False,
            ),
        ),
        (
            "training mode, three channels with gamma and beta, per-channel statistics "
            "over N, H, W (output only)",
            _bn_case([normal((2, 3, 2, 3), 2.0)], g3, b3, check_running=False),
        ),
        (
            "the running statistics after one training step (momentum 0.1, starting at 0 and 1)",
            _bn_case([normal((4, 2, 3, 3), 3.0)], g2, b2),
        ),
        (
            "three training steps in a row with momentum 0.3",
            _bn_case([normal((3, 2, 2, 2), c) for c in (1.0, -2.0, 0.5)], g2, b2, momentum=0.3),
        ),
        (
            "evaluation mode: normalise with the running statistics and leave them unchanged",
            _bn_case(
                [],
                g2,
                b2,
                evaluate=(normal((3, 2, 3, 3), 1.0), np.array([0.5, -1.0]), np.array([2.0, 0.25])),
            ),
        ),
        (
            "a channel with a tiny variance (about 1e-6): eps goes inside the square root",
            _bn_case([tiny], g2, b2),
        ),
    ]
    configs = []
    for _ in range(3):
        c = int(rng.integers(1, 5))
        shape = (int(rng.integers(2, 5)), c, int(rng.integers(1, 4)), int(rng.integers(2, 4)))
        batches = [normal(shape, float(rng.normal(0, 3))) for _ in range(int(rng.integers(1, 4)))]
        configs.append(
            _bn_case(
                batches,
                rng.standard_normal(c),
                rng.standard_normal(c),
                momentum=float(rng.uniform(0.05, 0.5)),
                evaluate=(normal(shape), rng.standard_normal(c), rng.uniform(0.5, 2.0, c)),
            )
        )
    cases.append(("random: training steps, then evaluation (3 configurations)", ladder_of(configs)))
    return run_ladder("check_batch_norm", "cnnlib's batch_norm (and torch's)", fn, cases, quiet)
