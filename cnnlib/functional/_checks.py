"""Checks every functional op shares: floating-point inputs, one dtype, a well-formed dout.

Each raises a TypeError or ValueError that names the function, the argument and the rule,
so bad input never reaches NumPy (or torch) and fails deep inside it. torch refuses to mix
float32 and float64 in one op and refuses a gradient of another shape or dtype than the
output; these checks make cnnlib do the same instead of silently promoting or broadcasting.
"""

from __future__ import annotations

from cnnlib.backend import namespace


def _check_float(a, name: str, fn: str, xp) -> None:
    """`a` must hold real floating-point numbers."""
    if not xp.isdtype(a.dtype, "real floating"):
        raise TypeError(f"{fn}: {name} must be a floating-point array, got dtype {a.dtype}")


def _check_same_dtype(fn: str, **arrays) -> None:
    """Every array given (None is skipped) has the same dtype, as torch requires.

    >>> _check_same_dtype("conv2d", input=x, weight=w, bias=None)
    """
    given = {name: a for name, a in arrays.items() if a is not None}
    dtypes = {str(a.dtype) for a in given.values()}
    if len(dtypes) > 1:
        listed = ", ".join(f"{name} is {a.dtype}" for name, a in given.items())
        raise TypeError(
            f"{fn}: expected all arrays to have the same dtype, but {listed}; "
            f"convert them first (e.g. x.astype(w.dtype), or module.double() / .float())"
        )


def _check_dout(dout, like, fn: str):
    """dout must be an array of `like`'s library, shape and dtype; returns the namespace.

    `like` is the forward's output (or any cached array of the output's shape and dtype).
    """
    xp = namespace(dout, like, names=["dout", "the cached forward array"], fn=fn)
    if tuple(dout.shape) != tuple(like.shape):
        raise ValueError(
            f"{fn}: dout has shape {tuple(dout.shape)} but the forward output has shape "
            f"{tuple(like.shape)}; dout must have the output's shape"
        )
    if dout.dtype != like.dtype:
        raise TypeError(
            f"{fn}: dout has dtype {dout.dtype} but the forward output has dtype "
            f"{like.dtype}; pass dout in the output's dtype"
        )
    return xp
