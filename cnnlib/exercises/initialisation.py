"""Checker for the standard deviations of Xavier and He initialisation (chapter 13)."""

from __future__ import annotations

import math

import numpy as np

from cnnlib.exercises._calls import as_number, call, call_text
from cnnlib.exercises._report import Problem, run_ladder
from cnnlib.init import _calculate_fan_in_and_fan_out

__all__ = ["check_init_std"]


def _std(scheme, shape, variant="right"):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(np.empty(shape))
    if variant == "no_kernel":
        fan_in, fan_out = shape[1], shape[0]
    elif variant == "swapped":
        fan_in, fan_out = fan_out, fan_in
    if variant == "other":
        scheme = "xavier" if scheme == "he" else "he"
    if scheme == "he":
        var = {"no_two": 1 / fan_in, "fan_out": 2 / fan_out}.get(variant, 2 / fan_in)
    else:
        var = {"lecun": 1 / fan_in, "no_two": 1 / (fan_in + fan_out)}.get(
            variant, 2 / (fan_in + fan_out)
        )
    return math.sqrt(var)


HINTS = [
    (
        "other",
        "that is the other scheme's value: Xavier is sqrt(2 / (fan_in + fan_out)), He is "
        "sqrt(2 / fan_in)",
    ),
    ("no_kernel", "the fan-in counts every weight that meets one output: C_in * kH * kW"),
    ("fan_out", "He uses the fan-in: std = sqrt(2 / fan_in)"),
    (
        "swapped",
        "fan-in and fan-out are swapped: the weight is (C_out, C_in, kH, kW), so "
        "fan_in = C_in * kH * kW = shape[1] * kH * kW",
    ),
    (
        "no_two",
        "the factor 2 is missing: He's std is sqrt(2 / fan_in), Xavier's "
        "sqrt(2 / (fan_in + fan_out))",
    ),
    (
        "lecun",
        "sqrt(1 / fan_in) is LeCun's rule (which some notes call Xavier); Glorot and Bengio's "
        "is sqrt(2 / (fan_in + fan_out))",
    ),
]


def _std_case(items):
    def case(fn):
        for scheme, shape in items:
            want = _std(scheme, shape)
            names = ["scheme", "weight_shape"]
            text = call_text([scheme, shape], {}, names)
            called = call(fn, [scheme, shape], {}, names)
            if called.problem:
                return called.problem
            got, problem = as_number(called.value, text)
            if problem:
                return problem
            if math.isclose(got, want, rel_tol=1e-9):
                continue
            hint = None
            if math.isclose(got, want**2, rel_tol=1e-9):
                hint = "that is the variance: return its square root, the standard deviation"
            elif math.isclose(got, want * math.sqrt(3), rel_tol=1e-9):
                hint = "that is the bound b = sqrt(3) std of the uniform version: return the std"
            for variant, text_ in HINTS:
                if hint is None and math.isclose(got, _std(scheme, shape, variant), rel_tol=1e-9):
                    hint = text_
            return Problem(
                call=text,
                what=f"your function returned {got:.6g}, expected {want:.6g}",
                expected=want,
                received=got,
                hint=hint,
            )
        return None

    return case


def check_init_std(fn, *, quiet=False):
    """Check a learner's Xavier and He standard deviations against ``cnnlib.init``'s fan-in.

    ``fn`` is called as ``fn(scheme, weight_shape)`` (as ``cnnlib.viz.init_stats.init_std``)
    with ``scheme`` ``"xavier"`` or ``"he"`` and ``weight_shape`` a tuple, (out, in) for a
    linear layer or (C_out, C_in, kH, kW) for a convolution, and must return the standard
    deviation of the normal distribution the scheme draws from: Xavier (Glorot and Bengio)
    ``sqrt(2 / (fan_in + fan_out))``, He ``sqrt(2 / fan_in)``, with fan_in = C_in kH kW and
    fan_out = C_out kH kW as torch computes them.

    Parameters
    ----------
    fn : callable
        ``fn(scheme, weight_shape) -> float``.
    quiet : bool
        Do not print the report.

    Returns
    -------
    CheckResult
        Truthy when every case passed.

    Examples
    --------
    >>> import math
    >>> from cnnlib.exercises import check_init_std
    >>> def init_std(scheme, weight_shape):
    ...     receptive = math.prod(weight_shape[2:])
    ...     fan_in = weight_shape[1] * receptive
    ...     fan_out = weight_shape[0] * receptive
    ...     if scheme == "he":
    ...         return math.sqrt(2 / fan_in)
    ...     return math.sqrt(2 / (fan_in + fan_out))
    >>> bool(check_init_std(init_std, quiet=True))
    True
    """
    rng = np.random.default_rng(13)
    shapes = [tuple(int(v) for v in rng.integers(1, 65, size=2)) + (k, k) for k in (1, 3, 5)]
    cases = [
        ("He for a linear layer of shape (out, in) = (64, 128)", _std_case([("he", (64, 128))])),
        ("Xavier for the same linear layer", _std_case([("xavier", (64, 128))])),
        (
            "He for a 3x3 convolution (64, 32, 3, 3): the fan-in counts the kernel taps",
            _std_case([("he", (64, 32, 3, 3))]),
        ),
        ("Xavier for that convolution", _std_case([("xavier", (64, 32, 3, 3))])),
        ("a non-square 1x7 kernel", _std_case([("he", (16, 8, 1, 7)), ("xavier", (16, 8, 1, 7))])),
        (
            "random convolutions with 1x1, 3x3 and 5x5 kernels",
            _std_case([(s, shape) for shape in shapes for s in ("he", "xavier")]),
        ),
    ]
    return run_ladder(
        "check_init_std", "cnnlib.init's fan-in and fan-out (torch's)", fn, cases, quiet
    )
