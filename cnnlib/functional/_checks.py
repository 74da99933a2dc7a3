"""Checks every functional op shares: floating-point inputs, one dtype, a well-formed dout,
and integer hyperparameters.

Each raises a TypeError or ValueError that names the function, the argument and the rule,
so bad input never reaches NumPy (or torch) and fails deep inside it. torch refuses to mix
float32 and float64 in one op, and so does cnnlib instead of silently promoting to float64.
torch's autograd refuses an upstream gradient of another shape than the output (and casts
one of another floating dtype); cnnlib's ``op_backward(dout, cache)`` refuses both, since a
hand-passed dout of the wrong dtype would otherwise put float64 gradients on float32
parameters.
"""

from __future__ import annotations

from numbers import Integral

from cnnlib.backend import namespace


def _dtype_name(dtype) -> str:
    """'float32' for NumPy's, torch's (torch.float32) and array-api-strict's float32."""
    return str(dtype).rsplit(".", 1)[-1]


def _check_float(a, name: str, fn: str, xp) -> None:
    """`a` must hold real floating-point numbers."""
    if not xp.isdtype(a.dtype, "real floating"):
        raise TypeError(
            f"{fn}: {name} must be a floating-point array, got dtype {_dtype_name(a.dtype)}"
        )


def _check_same_dtype(fn: str, **arrays) -> None:
    """Every array given (None is skipped) has the same dtype, as torch requires.

    >>> _check_same_dtype("conv2d", input=x, weight=w, bias=None)
    """
    given = {name: a for name, a in arrays.items() if a is not None}
    dtypes = {_dtype_name(a.dtype) for a in given.values()}
    if len(dtypes) > 1:
        listed = ", ".join(f"{name} is {_dtype_name(a.dtype)}" for name, a in given.items())
        raise TypeError(
            f"{fn}: expected all arrays to have the same dtype, but {listed}; convert them "
            "first (x.astype(w.dtype) in NumPy, x.to(w.dtype) in torch, or model.float() / "
            ".double() for a whole model)"
        )


def _check_dout(dout, like, fn: str, shape=None):
    """dout must be an array of `like`'s library and dtype, of the output's shape; returns
    the namespace.

    `like` is the forward's output, or any cached array of the output's dtype; in the
    latter case pass the output's `shape` (so the cache need not keep the output alive).
    """
    xp = namespace(dout, like, names=["dout", "the cached forward array"], fn=fn)
    expected = tuple(like.shape) if shape is None else tuple(shape)
    if tuple(dout.shape) != expected:
        raise ValueError(
            f"{fn}: dout has shape {tuple(dout.shape)} but the forward output has shape "
            f"{expected}; dout must have the output's shape"
        )
    if dout.dtype != like.dtype:
        raise TypeError(
            f"{fn}: dout has dtype {_dtype_name(dout.dtype)} but the forward output has dtype "
            f"{_dtype_name(like.dtype)}; pass dout in the output's dtype"
        )
    return xp


def _check_int(value, name: str, fn: str, minimum: int | None = None) -> int:
    """A Python or NumPy integer (``np.int64(2)`` too; not a bool) as an int >= minimum."""
    if not isinstance(value, Integral) or isinstance(value, bool):
        raise TypeError(f"{fn}: {name} must be an int, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{fn}: {name} must be {_at_least(minimum)}, got {value!r}")
    return int(value)


def _int_tuple(value, n: int, name: str, fn: str, minimum: int | None = None) -> tuple:
    """An int (used for all n axes) or a tuple/list of n ints, as a tuple of n Python ints.

    TypeError for anything else (a float, a bool, a string), ValueError for a tuple of the
    wrong length or a value below `minimum`; the message names `name` and the rule.
    """
    many = "a pair of ints" if n == 2 else f"a tuple of {n} ints"
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(
                f"{fn}: {name} must be an int or {many}, got {value!r} of length {len(value)}"
            )
        items = tuple(value)
    else:
        items = (value,) * n
    if not all(isinstance(v, Integral) and not isinstance(v, bool) for v in items):
        raise TypeError(f"{fn}: {name} must be an int or {many}, got {value!r}")
    if minimum is not None and min(items) < minimum:
        raise ValueError(f"{fn}: {name} must be {_at_least(minimum)}, got {value!r}")
    return tuple(int(v) for v in items)


def _at_least(minimum: int) -> str:
    return "non-negative" if minimum == 0 else f"at least {minimum}"
