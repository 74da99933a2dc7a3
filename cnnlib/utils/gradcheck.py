"""Numeric gradient checks: is a hand-written backward pass right?

The derivative of a function f at x along coordinate i is approximated by a central
difference, whose error shrinks like eps^2::

    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

For an op with output `out` and an upstream gradient `dout`, the backward pass computes
the gradient of the scalar sum(out * dout); :func:`numeric_gradient` differentiates the
same scalar, one coordinate at a time. Everything runs in NumPy float64 (no torch needed);
torch inputs are converted for the perturbation and back (as float64) for each call.

:func:`rel_error` is the usual max |a - b| / max(|a| + |b|), and :func:`gradcheck` runs the
comparison for every differentiable argument of a forward/backward pair.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace

from cnnlib.backend import asarray_like, to_numpy

__all__ = ["numeric_gradient", "rel_error", "gradcheck"]


def numeric_gradient(f, x, dout=None, eps=1e-6):
    """d sum(f(x) * dout) / dx by central differences, as a float64 NumPy array of x's shape.

    f : a function of one array; x : the point (NumPy or torch; not modified);
    dout : the upstream gradient, f(x)'s shape (default: ones, i.e. the gradient of sum f).
    """
    x_np = np.array(to_numpy(x), dtype=np.float64)  # a private copy we perturb in place
    wrap = isinstance(x, np.ndarray)
    float64 = None if wrap else array_namespace(x).float64  # perturbations need float64

    def value(point):
        point = point if wrap else asarray_like(point, x, dtype=float64)
        out = to_numpy(f(point)).astype(np.float64)
        return out if dout is None else out * to_numpy(dout)

    grad = np.zeros_like(x_np)
    for i in np.ndindex(*x_np.shape):
        original = x_np[i]
        x_np[i] = original + eps
        plus = np.sum(value(x_np.copy()))
        x_np[i] = original - eps
        minus = np.sum(value(x_np.copy()))
        x_np[i] = original
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def rel_error(a, b) -> float:
    """``max |a - b| / max(|a| + |b|)`` (0 when both are zero); a, b any arrays or numbers."""
    a = np.asarray(to_numpy(a), dtype=np.float64)
    b = np.asarray(to_numpy(b), dtype=np.float64)
    scale = np.max(np.abs(a) + np.abs(b), initial=0.0)
    return 0.0 if scale == 0 else float(np.max(np.abs(a - b), initial=0.0) / scale)


def _is_float_array(a) -> bool:
    return isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)


def gradcheck(
    forward,
    backward,
    args,
    argnums=None,
    eps=1e-6,
    rtol=1e-5,
    kwargs=None,
    seed=0,
    verbose=False,
):
    """Compare ``backward`` with numeric gradients of ``forward`` for each argument.

    ``forward(*args, **kwargs) -> (out, cache)``; ``backward(dout, cache)`` -> gradients in the
    order of `argnums` (a tuple, or one array for a single-input op). `args` should hold
    float64 NumPy arrays for the differentiable arguments. argnums: which arguments are
    differentiated (default: every floating-point NumPy array). The upstream gradient is
    random normal (seeded) of out's shape, or a random scalar for a 0-d output.

    Returns a dict {argnum: relative error}; prints it when `verbose`. Raises
    AssertionError with the whole report when an error exceeds `rtol`.
    """
    kwargs = kwargs or {}
    args = list(args)
    if argnums is None:
        argnums = [i for i, a in enumerate(args) if _is_float_array(a)]
    out, cache = forward(*args, **kwargs)
    rng = np.random.default_rng(seed)
    if np.ndim(to_numpy(out)) == 0:
        dout = float(rng.uniform(0.5, 2.0))
    else:
        dout = rng.standard_normal(tuple(out.shape))
    grads = backward(dout, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) < len(argnums):
        raise AssertionError(f"backward returned {len(grads)} gradients for argnums {argnums}")

    report = {}
    for position, i in enumerate(argnums):

        def f(a, i=i):
            trial = args.copy()
            trial[i] = a
            return forward(*trial, **kwargs)[0]

        expected = numeric_gradient(f, args[i], dout, eps)
        got = grads[position]
        if got is None or tuple(np.shape(to_numpy(got))) != expected.shape:
            shape = None if got is None else tuple(np.shape(to_numpy(got)))
            raise AssertionError(
                f"gradient for argument {i} has shape {shape}, expected {expected.shape}"
            )
        report[i] = rel_error(got, expected)
    lines = [f"argument {i}: relative error {err:.2e}" for i, err in report.items()]
    if verbose:
        print("\n".join(lines))
    if any(err > rtol for err in report.values()):
        raise AssertionError(f"gradcheck failed (rtol={rtol}):\n" + "\n".join(lines))
    return report
