"""Checker for one step of SGD with momentum (chapter 9)."""

from __future__ import annotations

import numpy as np

from cnnlib.exercises._calls import as_arrays, call, call_text
from cnnlib.exercises._compare import close, compare
from cnnlib.exercises._report import Problem, ladder_of, run_ladder
from cnnlib.nn.parameter import Parameter
from cnnlib.optim import SGD

__all__ = ["check_sgd_momentum_step"]

NAMES = ["param", "grad", "velocity", "lr", "momentum"]


def _torch_steps(param, grads, lrs, momentum):
    """cnnlib's SGD (torch's update rule) over several steps: [(param, buffer)] after each."""
    p = Parameter(param.copy())
    opt = SGD([p], lr=lrs[0], momentum=momentum)
    out = []
    for g, lr in zip(grads, lrs):
        opt.param_groups[0]["lr"] = lr
        p.grad = g.copy()
        opt.step()
        buf = opt.state[p]["momentum_buffer"] if momentum else g.copy()
        out.append((p.data.copy(), np.array(buf, copy=True)))
    return out


def _sgd_case(param, grads, lrs, momentum):
    def case(fn):
        expected = _torch_steps(param, grads, lrs, momentum)
        p, v = param, np.zeros_like(param)
        for step, (g, lr) in enumerate(zip(grads, lrs)):
            want_p, want_v = expected[step]
            args = [p, g, v, lr, momentum]
            text = call_text(args, {}, NAMES) + (f"  (step {step + 1})" if len(grads) > 1 else "")
            called = call(fn, args, {}, NAMES)
            if called.problem:
                return called.problem._replace(call=text)
            got, problem = as_arrays(called.value, text, 2, ["param", "velocity"])
            if problem:
                return problem
            if close(got[0], want_v) and close(got[1], want_p) and not close(got[0], want_p):
                return Problem(
                    call=text,
                    what="the two arrays are in the other order",
                    hint="return (param, velocity): the new parameter first",
                )
            alts = _alternatives(p, g, v, lr, momentum)
            problem = compare(got[1], want_v, text, "velocity", _velocity_hints(alts, lr, want_v))
            problem = problem or compare(got[0], want_p, text, "param", _param_hints(alts))
            if problem:
                return problem
            p, v = want_p, want_v  # go on from the right values: one mistake, one report
        return None

    return case


def _alternatives(p, g, v, lr, mu):
    buf = mu * v + g
    return {
        "cs231n_v": mu * v - lr * g,
        "ema_v": mu * v + (1 - mu) * g,
        "ema_p": p - lr * (mu * v + (1 - mu) * g),
        "grad_mu_v": v + mu * g,
        "nesterov_p": p - lr * (g + mu * buf),
        "plain_p": p - lr * g,
        "sign_p": p + lr * buf,
        "old_v": v,
    }


def _velocity_hints(alts, lr, want_v):
    return [
        (
            -lr * want_v,
            "your velocity is -lr times torch's buffer: that is the form v = mu*v - lr*g, "
            "w = w + v (CS231n). torch keeps buf = mu*buf + g and steps w = w - lr*buf; the "
            "two agree on w only while lr stays constant, so use torch's form",
        ),
        (alts["cs231n_v"], "velocity in the form v = mu*v - lr*g: torch keeps buf = mu*buf + g"),
        (
            alts["ema_v"],
            "you averaged, buf = mu*buf + (1 - mu)*g (that is dampening = mu): torch's default "
            "has no dampening, buf = mu*buf + g",
        ),
        (
            alts["grad_mu_v"],
            "momentum multiplies the old velocity, not the gradient: buf = mu*buf + g",
        ),
        (alts["old_v"], "the velocity you returned is the one you were given: return the new one"),
    ]


def _param_hints(alts):
    return [
        (
            alts["plain_p"],
            "the parameter moved by the gradient alone: step with the velocity, w = w - lr * buf",
        ),
        (alts["sign_p"], "the step goes uphill: w = w - lr * buf (minus)"),
        (
            alts["nesterov_p"],
            "that is Nesterov's step, w = w - lr * (g + mu*buf): the plain momentum step is "
            "w = w - lr * buf",
        ),
        (alts["ema_p"], "the step used buf = mu*buf + (1 - mu)*g: torch's is buf = mu*buf + g"),
    ]


def check_sgd_momentum_step(fn, *, quiet=False):
    """Check one step of SGD with momentum against ``cnnlib.optim.SGD`` (torch's rule).

    ``fn`` is called as ``fn(param, grad, velocity, lr, momentum)`` (all positional) and
    must return ``(new_param, new_velocity)`` with torch's update (dampening 0, no Nesterov,
    no weight decay)::

        velocity = momentum * velocity + grad
        param = param - lr * velocity

    The first step starts from a velocity of zeros, which gives torch's first buffer, the
    gradient itself. The checker passes each step the right values from the step before,
    and the learning rate changes between steps in one case, which tells torch's form from
    the ``v = mu*v - lr*g; w += v`` form.

    Parameters
    ----------
    fn : callable
        ``fn(param, grad, velocity, lr, momentum) -> (param, velocity)``; param, grad and
        velocity are arrays of one shape, lr and momentum floats. Updating the arrays in
        place and returning them is fine.
    quiet : bool
        Do not print the report.

    Returns
    -------
    CheckResult
        Truthy when every case passed.

    Examples
    --------
    >>> from cnnlib.exercises import check_sgd_momentum_step
    >>> def sgd_momentum(param, grad, velocity, lr, momentum):
    ...     velocity = momentum * velocity + grad
    ...     return param - lr * velocity, velocity
    >>> bool(check_sgd_momentum_step(sgd_momentum, quiet=True))
    True
    """
    rng = np.random.default_rng(10)
    w = np.array([1.0, 2.0, 3.0])
    steps = [rng.integers(-3, 4, size=3).astype(float) for _ in range(3)]
    cases = [
        (
            "plain SGD (momentum 0), one step: w = [1, 2, 3], g = [0.5, -1, 2], lr 0.1",
            _sgd_case(w, [np.array([0.5, -1.0, 2.0])], [0.1], 0.0),
        ),
        (
            "the first step with momentum 0.9, from a velocity of zeros",
            _sgd_case(w, [np.array([0.5, -1.0, 2.0])], [0.1], 0.9),
        ),
        ("three steps in a row with momentum 0.9", _sgd_case(w, steps, [0.1] * 3, 0.9)),
        (
            "a learning rate that changes between steps (0.1, 0.05, 0.01)",
            _sgd_case(w, steps, [0.1, 0.05, 0.01], 0.9),
        ),
        (
            "a 3x4 weight matrix, momentum 0.5",
            _sgd_case(
                rng.standard_normal((3, 4)),
                [rng.standard_normal((3, 4)) for _ in range(2)],
                [0.05] * 2,
                0.5,
            ),
        ),
    ]
    configs = []
    for _ in range(3):
        shape = tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 4))))
        n = int(rng.integers(1, 5))
        configs.append(
            _sgd_case(
                rng.standard_normal(shape),
                [rng.standard_normal(shape) for _ in range(n)],
                list(rng.uniform(0.001, 0.5, n)),
                float(rng.uniform(0.1, 0.99)),
            )
        )
    cases.append(("random shapes, rates and momenta (3 configurations)", ladder_of(configs)))
    return run_ladder(
        "check_sgd_momentum_step", "cnnlib's optim.SGD (and torch's)", fn, cases, quiet
    )
