"""softmax and log_softmax along one dimension, forward and backward.

``input : (*) -> out : (*)``; along ``dim``::

    softmax      y_i = exp(x_i) / sum_j exp(x_j)     dx = y (dout - sum(dout y))
    log_softmax  z_i = x_i - log sum_j exp(x_j)      dx = dout - exp(z) sum(dout)

Both subtract the maximum along ``dim`` first: exp never overflows and the result is
unchanged, because softmax(x) = softmax(x - c) for any constant c.

The softmax backward is the Jacobian ``diag(y) - y y^T`` applied to dout:
``dx_i = sum_j (y_i [i = j] - y_i y_j) dout_j = y_i (dout_i - sum_j y_j dout_j)``. For
log_softmax, ``dz_j / dx_i = [i = j] - y_i``, so ``dx_i = dout_i - y_i sum_j dout_j``.

Signatures are torch's: ``softmax(input, dim=None, _stacklevel=3, dtype=None)``. ``dtype``
casts the input before the operation (the output has that dtype, the input's gradient the
input's); ``_stacklevel`` only steers where torch's warnings point and is accepted for
compatibility. One deliberate difference: torch still accepts ``dim=None`` and then guesses a
dimension with a deprecation warning (0 for 0-, 1- and 3-D input, else 1); cnnlib raises
instead, since the guess is the batch dimension for a 3-D input.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_dout, _check_float
from cnnlib.functional.activation import _check_dim, _private

__all__ = [
    "softmax",
    "softmax_forward",
    "softmax_backward",
    "log_softmax",
    "log_softmax_forward",
    "log_softmax_backward",
]


class SoftmaxCache(NamedTuple):
    """What :func:`softmax_backward` and :func:`log_softmax_backward` need."""

    out: Any  # y = softmax(x) or z = log_softmax(x), a private copy (see activation.py),
    # same shape as x (as >= 1-D), in the compute dtype
    dim: int  # non-negative axis (of the 1-D view when the input was 0-d)
    input_dtype: Any  # the input's dtype, which dx gets back
    input_shape: tuple


LogSoftmaxCache = SoftmaxCache


def _prepare(input, dim, dtype, fn: str):
    """(xp, x as a >= 1-D array in the compute dtype, the axis)."""
    xp = namespace(input, names=["input"], fn=fn)
    if dim is None:
        raise ValueError(
            f"{fn}: pass dim, the dimension to normalise over (e.g. {fn}(x, dim=1) for "
            f"(N, C) scores). torch's implicit choice for dim=None is deprecated and not "
            f"supported here"
        )
    if dtype is not None:
        if isinstance(dtype, str):
            dtype = getattr(xp, dtype, None) or _bad_dtype(dtype, fn)
        try:
            input = xp.astype(input, dtype)
        except (TypeError, ValueError, AttributeError) as e:
            raise TypeError(f"{fn}: dtype={dtype!r} is not a dtype of the input's library") from e
    _check_float(input, "input", fn, xp)
    if input.ndim == 0:  # torch allows dim in {0, -1} for a 0-d input: one entry
        _check_dim(dim, 1, fn)
        return xp, xp.reshape(input, (1,)), 0
    return xp, input, _check_dim(dim, input.ndim, fn)


def _bad_dtype(dtype, fn):
    raise TypeError(f"{fn}: dtype={dtype!r} is not a dtype name such as 'float32' or 'float64'")


def _input_grad(dx, cache: SoftmaxCache, xp):
    dx = xp.reshape(dx, cache.input_shape)
    if dx.dtype != cache.input_dtype and xp.isdtype(cache.input_dtype, "real floating"):
        dx = xp.astype(dx, cache.input_dtype)
    return dx


def softmax_forward(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x_i) / sum_j exp(x_j) along `dim`. Returns (out, SoftmaxCache)."""
    xp, x, axis = _prepare(input, dim, dtype, "softmax")
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    y = e / xp.sum(e, axis=axis, keepdims=True)
    cache = SoftmaxCache(_private(y, xp), axis, input.dtype, tuple(input.shape))
    return xp.reshape(y, tuple(input.shape)), cache


def softmax_backward(dout, cache: SoftmaxCache):
    """y * (dout - sum(dout * y, dim)): the Jacobian diag(y) - y y^T applied to dout."""
    y = cache.out
    xp = _check_dout(dout, y, "softmax_backward", shape=cache.input_shape)
    dout = xp.reshape(dout, tuple(y.shape))
    return _input_grad(y * (dout - xp.sum(dout * y, axis=cache.dim, keepdims=True)), cache, xp)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """Softmax along `dim` (give it: see the module docstring). ``input : (*) -> (*)``."""
    return softmax_forward(input, dim, _stacklevel, dtype)[0]


def log_softmax_forward(input, dim=None, _stacklevel=3, dtype=None):
    """x - log(sum exp(x)) along `dim`, computed as (x - m) - log(sum exp(x - m)) with
    m = max(x). Returns (out, LogSoftmaxCache)."""
    xp, x, axis = _prepare(input, dim, dtype, "log_softmax")
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    z = shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
    cache = LogSoftmaxCache(_private(z, xp), axis, input.dtype, tuple(input.shape))
    return xp.reshape(z, tuple(input.shape)), cache


def log_softmax_backward(dout, cache: LogSoftmaxCache):
    """dout - softmax(x) * sum(dout, dim)."""
    z = cache.out
    xp = _check_dout(dout, z, "log_softmax_backward", shape=cache.input_shape)
    dout = xp.reshape(dout, tuple(z.shape))
    dx = dout - xp.exp(z) * xp.sum(dout, axis=cache.dim, keepdims=True)
    return _input_grad(dx, cache, xp)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """log(softmax(x)) along `dim`, computed stably. ``input : (*) -> (*)``."""
    return log_softmax_forward(input, dim, _stacklevel, dtype)[0]
