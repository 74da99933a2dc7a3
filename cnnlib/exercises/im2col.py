"""Checker for im2col, torch's ``unfold`` (chapter 5)."""

from __future__ import annotations

import numpy as np

from cnnlib import functional as F
from cnnlib.exercises._calls import as_array, call, call_text
from cnnlib.exercises._compare import compare, out_size
from cnnlib.exercises._report import ladder_of, run_ladder
from cnnlib.exercises.conv import X4, _ints

__all__ = ["check_im2col"]

UNFOLD_DEFAULTS = dict(dilation=1, padding=0, stride=1)


def _unfold_case(x, k, **hyper):
    hyper = {**UNFOLD_DEFAULTS, **hyper}

    def case(fn):
        kwargs = {n: v for n, v in hyper.items() if v != UNFOLD_DEFAULTS[n]}
        names = ["input", "kernel_size"]
        expected = F.unfold(x, k, **hyper)
        called = call(fn, [x, k], kwargs, names)
        if called.problem:
            return called.problem
        text = call_text([x, k], kwargs, names)
        cols, problem = as_array(called.value, text)
        if problem:
            return problem
        hints = lambda: _unfold_hints(x, k, hyper, expected)  # noqa: E731
        return compare(cols, expected, text, "column matrix", hints)

    return case


def _unfold_hints(x, k, hyper, expected):
    n, c = x.shape[:2]
    s, p, d = hyper["stride"], hyper["padding"], hyper["dilation"]
    oh, ow = (out_size(x.shape[2], k, s, p, d), out_size(x.shape[3], k, s, p, d))
    L = oh * ow
    per = expected.reshape(n, c, k, k, L)
    hints = [
        (
            per.transpose(0, 2, 3, 1, 4).reshape(n, c * k * k, L),
            "the rows are in the wrong order: they run over the channel first, then the kernel "
            "row, then the kernel column (row c*k*k + u*k + v), as weight.reshape(C_out, -1) "
            "needs",
        ),
        (
            per.transpose(0, 1, 3, 2, 4).reshape(n, c * k * k, L),
            "each window is read column by column: read it row by row (tap (u, v) goes to row "
            "u*k + v)",
        ),
        (
            expected.reshape(n, c * k * k, oh, ow).swapaxes(-1, -2).reshape(n, c * k * k, L),
            "the windows are numbered column by column: number them row by row, l = i*W_out + j",
        ),
        (
            expected.transpose(0, 2, 1),
            "your matrix is transposed: the shape is (N, C*k*k, L), one column per window",
        ),
        (
            expected[0] if n == 1 else None,
            "keep the batch axis: the shape is (N, C*k*k, L), here N = 1",
        ),
    ]
    for name, default in (("stride", 1), ("dilation", 1), ("padding", 0)):
        if hyper[name] != default:
            alt = F.unfold(x, k, **{**hyper, name: default})
            hints.append((alt, f"your columns are what {name}={default} gives: {name} is ignored"))

    def count_hint(r):
        if r.ndim == 3 and r.shape[:2] == expected.shape[:2] and r.shape[2] != L:
            return (
                f"wrong number of windows: L = H_out * W_out = {oh} * {ow} = {L}, with "
                "H_out = floor((H + 2p - d(k - 1) - 1) / s) + 1"
            )
        return None

    return hints + [count_hint]


def check_im2col(fn, *, quiet=False):
    """Check a learner's im2col against ``cnnlib.functional.unfold`` (torch's ``unfold``).

    ``fn`` is called as ``F.unfold`` is: ``fn(input, kernel_size)``, with ``dilation=``,
    ``padding=`` and ``stride=`` passed by name only when they differ from their defaults
    (1, 0, 1); ``kernel_size`` and the rest are ints (square windows).

    Parameters
    ----------
    fn : callable
        ``fn(input, kernel_size, dilation=1, padding=0, stride=1)`` with input (N, C, H, W);
        returns the column matrix (N, C * k * k, L): column l = i * W_out + j is the window at
        output position (i, j), read channel by channel and each kernel row by row, so that
        ``weight.reshape(C_out, -1) @ cols`` is the convolution.
    quiet : bool
        Do not print the report.

    Returns
    -------
    CheckResult
        Truthy when every case passed.

    Examples
    --------
    >>> from cnnlib.exercises import check_im2col
    >>> from cnnlib.functional import unfold
    >>> bool(check_im2col(unfold, quiet=True))
    True
    """
    rng = np.random.default_rng(1)
    cases = [
        ("one channel: the 4x4 example of chapter 5, 3x3 windows", _unfold_case(X4[None, None], 3)),
        ("two channels, 2x2 windows", _unfold_case(_ints(rng, (1, 2, 4, 4)), 2)),
        ("a batch of two images", _unfold_case(_ints(rng, (2, 2, 3, 3)), 2)),
        ("a 4x5 input (rows and columns differ)", _unfold_case(_ints(rng, (1, 2, 4, 5)), 3)),
        ("padding 1", _unfold_case(_ints(rng, (1, 2, 4, 4)), 3, padding=1)),
        ("stride 2 on a 6x6 input (floor)", _unfold_case(_ints(rng, (2, 1, 6, 6)), 3, stride=2)),
        ("dilation 2", _unfold_case(_ints(rng, (1, 2, 6, 6)), 2, dilation=2)),
    ]
    configs = []
    for _ in range(5):
        k, s, p, d = (int(v) for v in rng.integers([1, 1, 0, 1], [4, 3, 2, 3]))
        h = d * (k - 1) + 1 + int(rng.integers(0, 4))
        x = rng.standard_normal((int(rng.integers(1, 3)), int(rng.integers(1, 4)), h, h + 1))
        configs.append(_unfold_case(x, k, stride=s, padding=p, dilation=d))
    random_case = ladder_of(configs)
    cases.append(("random shapes, strides, paddings and dilations (5 configurations)", random_case))
    return run_ladder("check_im2col", "cnnlib's unfold (and torch's)", fn, cases, quiet)
