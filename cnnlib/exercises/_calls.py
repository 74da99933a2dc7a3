"""Calling a learner's function safely, and reading what it returned.

Nothing the function does (raise, return None, return the wrong type) escapes: each becomes
a :class:`~cnnlib.exercises._report.Problem` that says what happened.
"""

from __future__ import annotations

import os
import traceback
import warnings
from typing import Any, NamedTuple

import numpy as np

from cnnlib.exercises._report import Problem, _kind


class Called(NamedTuple):
    value: Any
    problem: Problem | None  # set when the function raised
    warnings: tuple  # warning messages it emitted (they are captured, not printed)


def describe(value) -> str:
    """A short description of an argument: arrays by shape, the rest by repr."""
    if isinstance(value, np.ndarray):
        return f"array {tuple(value.shape)}"
    if isinstance(value, (list, tuple)) and len(value) > 4:
        return f"{type(value).__name__} of {len(value)}"
    return repr(value)


def call_text(args, kwargs, names=None) -> str:
    names = list(names or [])
    names += [None] * (len(args) - len(names))
    parts = []
    for name, a in zip(names, args):
        text = describe(a)
        parts.append(f"{name} {text}" if name and isinstance(a, np.ndarray) else text)
    parts += [f"{k}={describe(v)}" for k, v in kwargs.items()]
    return f"fn({', '.join(parts)})"


def call(fn, args, kwargs=None, names=None, copy=True) -> Called:
    """Call ``fn(*args, **kwargs)``, on copies of the arrays unless ``copy`` is False (when
    the caller wants to see in-place updates); never raises."""
    kwargs = kwargs or {}
    if copy:
        args = [_copy(a) for a in args]
        kwargs = {k: _copy(v) for k, v in kwargs.items()}
    text = call_text(args, kwargs, names)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="warn"):
            try:
                value = fn(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - the learner's error becomes a report
                return Called(None, raised(text, err), ())
    return Called(value, None, tuple(str(w.message) for w in caught))


def _copy(a):
    if isinstance(a, np.ndarray):
        return a.copy()
    if isinstance(a, list) and any(isinstance(v, np.ndarray) for v in a):
        return [_copy(v) for v in a]
    return a


def raised(text, err) -> Problem:
    kind = type(err).__name__
    if isinstance(err, NotImplementedError) and not str(err).strip():
        return Problem(
            call=text,
            what="your function raised NotImplementedError: it is still the skeleton",
            received=err,
            hint="replace `raise NotImplementedError` with your code, then run the check again",
        )
    where = _where(err)
    message = str(err).strip().splitlines()[0] if str(err).strip() else "(no message)"
    return Problem(
        call=text,
        what=f"your function raised {kind}: {message}",
        received=err,
        details=where,
        hint=_error_hint(err),
    )


_NUMPY_DIR = os.path.dirname(np.__file__)
_HERE = os.path.dirname(os.path.abspath(__file__))


def _where(err) -> str:
    frames = [
        f
        for f in traceback.extract_tb(err.__traceback__)
        if not f.filename.startswith(_NUMPY_DIR) and not f.filename.startswith(_HERE)
    ]
    if not frames:
        return ""
    f = frames[-1]
    code = f" `{f.line.strip()}`" if f.line else ""
    return f"raised in {f.name}, line {f.lineno}:{code}"


def _error_hint(err):
    text = str(err)
    if isinstance(err, TypeError) and "unexpected keyword argument" in text:
        return (
            "the checker passes this argument by name: give your function a parameter with "
            "exactly that name (and its default), as in the docstring of the checker"
        )
    if isinstance(err, TypeError) and "positional argument" in text:
        return "your function takes a different number of arguments than the checker passes"
    if isinstance(err, IndexError):
        return "an index ran past the end of an array: check your loop bounds and output size"
    if "broadcast" in text:
        return "two arrays of different shapes met in one operation: print their shapes"
    return None


# ------------------------------------------------------------------ what was returned


def as_array(value, text, what="your function"):
    """``(array, None)`` for an array-like return value, ``(None, Problem)`` otherwise."""
    if value is None:
        return None, Problem(
            call=text,
            what=f"{what} returned None",
            hint="did you forget the `return` statement?",
        )
    if isinstance(value, tuple):
        return None, Problem(
            call=text,
            what=f"{what} returned a tuple of {len(value)} items, not one array",
            received=value,
            hint="return only the array (not a cache or a pair); a trailing comma after "
            "the return value also makes a tuple",
        )
    if isinstance(value, list):
        return None, Problem(
            call=text,
            what=f"{what} returned a list, not an array",
            received=value,
            hint="build the result as a NumPy array, or return np.array(your_list)",
        )
    if isinstance(value, (str, bytes, dict, set)):
        return None, Problem(call=text, what=f"{what} returned {_kind(value)}", received=value)
    try:
        arr = np.asarray(value)
    except Exception as err:  # noqa: BLE001 - e.g. a torch tensor that requires grad
        return None, Problem(
            call=text,
            what=f"{what} returned {_kind(value)} that NumPy cannot read: {err}",
            received=value,
            hint="return a NumPy array",
        )
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        return None, Problem(
            call=text,
            what=f"{what} returned {_kind(value)} with dtype {arr.dtype}, not numbers",
            received=value,
        )
    return arr, None


def as_arrays(value, text, n, names):
    """Unpack a returned tuple of ``n`` arrays named ``names``."""
    if not isinstance(value, (tuple, list)):
        got = "None" if value is None else _kind(value)
        return None, Problem(
            call=text,
            what=f"your function returned {got}, not a tuple ({', '.join(names)})",
            received=value,
            hint=f"end with `return {', '.join(names)}`"
            + (" (did you forget the `return`?)" if value is None else ""),
        )
    if len(value) != n:
        return None, Problem(
            call=text,
            what=f"your function returned {len(value)} items, not {n} ({', '.join(names)})",
            received=value,
            hint=f"end with `return {', '.join(names)}`",
        )
    arrays = []
    for name, v in zip(names, value):
        arr, problem = as_array(v, text, what=f"the {name} your function returned is")
        if problem is not None:
            what = problem.what.replace(" is returned ", " is ")
            return None, problem._replace(what=what)
        arrays.append(arr)
    return arrays, None


def as_number(value, text, what="your function"):
    """A Python float from a scalar return value, or a Problem."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        return None, Problem(
            call=text,
            what=f"{what} returned {value!r}, not a number",
            hint="did you forget the `return` statement?" if value is None else None,
        )
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value), None
    arr, problem = as_array(value, text, what)
    if problem is not None:
        return None, problem
    if arr.size != 1:
        return None, Problem(
            call=text,
            what=f"{what} returned an array of shape {arr.shape}, not a single number",
            received=arr,
        )
    return float(arr.reshape(())), None
