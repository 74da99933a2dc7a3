"""Checker for max pooling's forward pass (chapter 6)."""

from __future__ import annotations

import numpy as np

from cnnlib import functional as F
from cnnlib.exercises._calls import as_array, call, call_text
from cnnlib.exercises._compare import batch_hint, compare, size_hint, swapped_hint
from cnnlib.exercises._report import ladder_of, run_ladder

__all__ = ["check_max_pool2d"]

# the 4x4 example of chapters 6 and 8
A4 = np.array([[1, 3, 0, 3], [2, 2, 4, 1], [4, 2, 0, 0], [3, 3, 3, 1]], dtype=float)[None, None]


def _distinct(rng, shape, scale=1.0):
    """Random values without ties: a shuffled range plus noise."""
    values = rng.permutation(int(np.prod(shape))).astype(float) + 0.5 * rng.random(shape).ravel()
    return scale * (values.reshape(shape) - values.mean()) / max(1, values.size / 8)


def _max_pool_case(x, k, **hyper):
    def case(fn):
        names = ["input", "kernel_size"]
        expected = F.max_pool2d(x, k, **hyper)
        text = call_text([x, k], hyper, names)
        called = call(fn, [x, k], hyper, names)
        if called.problem:
            return called.problem
        out, problem = as_array(called.value, text)
        if problem:
            return problem
        return compare(out, expected, text, hints=lambda: _max_pool_hints(x, k, hyper, expected))

    return case


def _max_pool_hints(x, k, hyper, expected):
    s, p = hyper.get("stride"), hyper.get("padding", 0)
    stride = k if s is None else s
    hints = [
        (
            F.avg_pool2d(x, k, stride, p),
            "your output is the average of each window: max pooling keeps the largest value",
        ),
        (
            np.max(expected, axis=1, keepdims=True),
            "you took the maximum over the channels too: pool each channel separately",
        ),
        (
            np.broadcast_to(np.max(expected, axis=1, keepdims=True), expected.shape),
            "every channel got the maximum over all channels: pool each channel separately",
        ),
    ]
    if s is None:
        hints.append(
            (
                F.max_pool2d(x, k, 1, p),
                "stride was left out, and your default is 1; torch's default is stride = "
                "kernel_size (None means 'the same as kernel_size')",
            )
        )
    elif s != 1:
        hints.append((F.max_pool2d(x, k, 1, p), "your output is what stride=1 gives"))
    if p:
        zero = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        hints += [
            (
                F.max_pool2d(zero, k, stride),
                "you padded with zeros: max pooling pads with -inf, so that a padded cell "
                "never wins (the inputs here are all negative)",
            ),
            (F.max_pool2d(x, k, stride), "your output is what padding=0 gives: padding ignored"),
        ]
    hyper_full = {"stride": stride, "padding": p}
    return hints + [
        batch_hint(expected, p),
        swapped_hint(expected),
        size_hint(expected, x.shape[-2:], (k, k), hyper_full),
    ]


def check_max_pool2d(fn, *, quiet=False):
    """Check a learner's max pooling against ``cnnlib.functional.max_pool2d`` (torch's).

    ``fn`` is called as ``F.max_pool2d`` is: ``fn(input, kernel_size)``, with ``stride=`` and
    ``padding=`` passed by name when a case uses them (all ints). When ``stride`` is left
    out it defaults to ``kernel_size``, as in torch. Padding is with -inf (a padded cell
    never wins) and at most kernel_size // 2. Dilation, ceil_mode and return_indices are
    not used.

    Parameters
    ----------
    fn : callable
        ``fn(input, kernel_size, stride=None, padding=0)`` with input (N, C, H, W); returns
        (N, C, H_out, W_out) with H_out = floor((H + 2 padding - kernel_size) / stride) + 1.
    quiet : bool
        Do not print the report.

    Returns
    -------
    CheckResult
        Truthy when every case passed.

    Examples
    --------
    >>> from cnnlib.exercises import check_max_pool2d
    >>> from cnnlib.functional import max_pool2d
    >>> bool(check_max_pool2d(max_pool2d, quiet=True))
    True
    """
    rng = np.random.default_rng(4)
    cases = [
        ("one channel: the 4x4 example of chapter 6, 2x2 windows", _max_pool_case(A4, 2, stride=2)),
        (
            "a batch of two images with three channels",
            _max_pool_case(_distinct(rng, (2, 3, 4, 4)), 2, stride=2),
        ),
        (
            "stride left out (it defaults to kernel_size) on a 7x7 input",
            _max_pool_case(_distinct(rng, (1, 2, 7, 7)), 3),
        ),
        (
            "overlapping windows: 3x3 with stride 2",
            _max_pool_case(_distinct(rng, (1, 2, 7, 7)), 3, stride=2),
        ),
        ("stride 1 on the 4x4 example", _max_pool_case(A4, 2, stride=1)),
        (
            "padding 1 on an all-negative input (max pooling pads with -inf)",
            _max_pool_case(-1 - np.abs(_distinct(rng, (1, 1, 4, 4))), 3, stride=2, padding=1),
        ),
        (
            "a 5x8 input (rows and columns differ)",
            _max_pool_case(_distinct(rng, (2, 1, 5, 8)), 2, stride=2),
        ),
    ]
    configs = []
    for _ in range(5):
        k, s = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        p = int(rng.integers(0, k // 2 + 1))
        x = rng.standard_normal((2, 2, k + int(rng.integers(0, 5)), k + int(rng.integers(0, 5))))
        configs.append(_max_pool_case(x, k, stride=s, padding=p))
    cases.append(("random shapes, strides and paddings (5 configurations)", ladder_of(configs)))
    return run_ladder("check_max_pool2d", "cnnlib's max_pool2d (and torch's)", fn, cases, quiet)
