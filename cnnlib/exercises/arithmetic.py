"""Checkers for convolution arithmetic: output sizes and receptive fields
(chapters 2, 4, 6 and 11)."""

from __future__ import annotations

import numpy as np

from cnnlib import functional as F
from cnnlib.exercises._calls import call, call_text
from cnnlib.exercises._report import Problem, run_ladder

__all__ = ["check_output_size", "check_receptive_field"]


# ------------------------------------------------------------------ output size


def conv2d_size(size, k, s, p, d=1) -> int:
    """The output length conv2d gives, read off conv2d's output (a size x 1 image)."""
    x, w = np.zeros((1, 1, size, 1)), np.zeros((1, 1, k, 1))
    return int(F.conv2d(x, w, stride=(s, 1), padding=(p, 0), dilation=(d, 1)).shape[2])


def _formulas():
    """The usual wrong formulas, each with what it tells the learner."""

    def nearest(m, k, s, p, d):
        return int(np.floor((m + 2 * p - d * (k - 1) - 1) / s + 1 + 0.5))

    def ceil(m, k, s, p, d):
        return -(-(m + 2 * p - d * (k - 1) - 1) // s) + 1

    return [
        (nearest, "you rounded to the nearest integer: the formula rounds down, floor (use //)"),
        (ceil, "you rounded up: the formula rounds down, floor (use //)"),
        (
            lambda m, k, s, p, d: (m + 2 * p - d * (k - 1) - 1) // s,
            "the + 1 is missing: floor((M + 2P - K) / S) + 1",
        ),
        (
            lambda m, k, s, p, d: (m + 2 * s - d * (k - 1) - 1) // p + 1,
            "stride and padding are swapped: the checker calls fn(size, kernel_size, stride, "
            "padding[, dilation]), in the order of torch's Conv2d",
        ),
        (
            lambda m, k, s, p, d: (m + p - d * (k - 1) - 1) // s + 1,
            "the padding is added on both sides: M + 2P",
        ),
        (
            lambda m, k, s, p, d: (m - d * (k - 1) - 1) // s + 1,
            "the padding is missing: M + 2P - K",
        ),
        (
            lambda m, k, s, p, d: (m + 2 * p - k) // s + 1,
            "dilation is ignored: the kernel spans d(K - 1) + 1 pixels",
        ),
        (
            lambda m, k, s, p, d: (m + 2 * p - d * k) // s + 1,
            "a dilated kernel spans d(K - 1) + 1 pixels, not dK",
        ),
    ]


def _size_hint(history):
    """The first wrong formula that gives every answer in ``history`` [(args, answer)]: a
    hint must explain the cases that passed as well as the one that failed."""
    for formula, text in _formulas():
        try:
            if all(formula(*args) == got for args, got in history):
                return text
        except ZeroDivisionError:
            continue
    return None


def _size_case(configs, dilation, history):
    def case(fn):
        for m, k, s, p, d in configs:
            args = [m, k, s, p, d] if dilation else [m, k, s, p]
            names = ["size", "kernel_size", "stride", "padding", "dilation"]
            text = call_text(args, {}, names)
            called = call(fn, args, {}, names)
            if called.problem:
                if isinstance(called.problem.received, ZeroDivisionError) and p == 0:
                    return called.problem._replace(
                        hint="you divided by 0, and the padding is 0 here: is the padding read "
                        "as the stride? The checker calls fn(size, kernel_size, stride, "
                        "padding[, dilation]), in the order of torch's Conv2d"
                    )
                return called.problem
            want = conv2d_size(m, k, s, p, d)
            got = called.value
            if isinstance(got, (bool, np.bool_)) or not isinstance(
                got, (int, np.integer, float, np.floating)
            ):
                return Problem(
                    call=text,
                    what=f"your function returned {got!r}, not an int",
                    received=got,
                    hint="did you forget the `return` statement?" if got is None else None,
                )
            if isinstance(got, (float, np.floating)):
                return Problem(
                    call=text,
                    what=f"your function returned the float {got!r}, expected the int {want}",
                    expected=want,
                    received=got,
                    hint="a size is an int: use floor division //, which also rounds down "
                    "(e.g. (M - K + 2 * P) // S + 1)",
                )
            history.append(((m, k, s, p, d), int(got)))
            if int(got) != want:
                formula = (
                    f"floor(({m} + 2*{p} - {d}*({k} - 1) - 1) / {s}) + 1 = {want}"
                    if dilation
                    else f"floor(({m} - {k} + 2*{p}) / {s}) + 1 = {want}"
                )
                return Problem(
                    call=text,
                    what=f"your function returned {int(got)}, expected {want}: {formula}",
                    expected=want,
                    received=int(got),
                    hint=_size_hint(history),
                )
        return None

    return case


def check_output_size(fn, *, dilation=False, quiet=False):
    """Check a learner's output-size formula against the sizes ``conv2d`` returns.

    ``fn`` is called as ``fn(size, kernel_size, stride, padding)`` (positional, ints; the
    argument order of torch's ``Conv2d``), or with ``dilation`` as a fifth argument when
    ``dilation=True``, and must return the int
    ``floor((size + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1``, which for
    dilation 1 is chapter 2's ``floor((M - K + 2P) / S) + 1``.

    Parameters
    ----------
    fn : callable
        ``fn(size, kernel_size, stride, padding[, dilation]) -> int``.
    dilation : bool
        Also pass a dilation and check it (chapter 4).
    quiet : bool
        Do not print the report.

    Returns
    -------
    CheckResult
        Truthy when every case passed.

    Examples
    --------
    >>> from cnnlib.exercises import check_output_size
    >>> def output_size(size, kernel_size, stride, padding):
    ...     return (size - kernel_size + 2 * padding) // stride + 1
    >>> bool(check_output_size(output_size, quiet=True))
    True
    """
    rng = np.random.default_rng(11)
    seen = []  # (arguments, answer) of every call so far, for the hints
    cases = [
        (
            "the worked example: a 4x4 input and a 3x3 kernel",
            _size_case([(4, 3, 1, 0, 1)], dilation, seen),
        ),
        (
            "padding 1 keeps the size",
            _size_case([(4, 3, 1, 1, 1), (32, 5, 1, 2, 1)], dilation, seen),
        ),
        (
            "stride 2 that fits exactly",
            _size_case([(5, 3, 2, 0, 1), (7, 3, 2, 1, 1)], dilation, seen),
        ),
        (
            "a stride that does not fit: the last window is dropped (floor)",
            _size_case([(6, 3, 2, 0, 1), (8, 3, 3, 0, 1), (7, 3, 3, 1, 1)], dilation, seen),
        ),
        (
            "AlexNet's first layer: 227 and 224 pixels, an 11x11 kernel, stride 4",
            _size_case([(227, 11, 4, 0, 1), (224, 11, 4, 0, 1)], dilation, seen),
        ),
    ]
    if dilation:
        cases.append(
            (
                "dilation: a kernel with gaps spans d(k - 1) + 1 pixels",
                _size_case(
                    [(7, 3, 1, 0, 2), (9, 3, 1, 2, 2), (10, 3, 2, 1, 2), (15, 3, 1, 0, 4)],
                    True,
                    seen,
                ),
            )
        )
    configs = []
    while len(configs) < 20:
        m, k, s, p = (int(v) for v in rng.integers([1, 1, 1, 0], [40, 8, 5, 4]))
        d = int(rng.integers(1, 4)) if dilation else 1
        if m + 2 * p >= d * (k - 1) + 1:
            configs.append((m, k, s, p, d))
    cases.append(
        ("20 random sizes, kernels, strides and paddings", _size_case(configs, dilation, seen))
    )
    return run_ladder(
        "check_output_size", "the output sizes of cnnlib's conv2d (and torch's)", fn, cases, quiet
    )


# ------------------------------------------------------------------ receptive field


def summary_fields(layers):
    """[(r, j)] after each (kernel, stride, dilation) layer, from cnnlib.utils.summary."""
    from cnnlib import nn
    from cnnlib.utils.summary import summary

    model = nn.Sequential(*[nn.MaxPool2d(k, s, dilation=d) for k, s, d in layers])
    size = 1
    for k, s, d in reversed(layers):  # the smallest input every layer accepts
        size = (size - 1) * s + d * (k - 1) + 1
    rows = summary(model, (1, size, size)).rows
    return [(int(r.rf), int(r.jump)) for r in rows]


def _recurrence(layers, variant="right"):
    """[(r, j)] after each layer, by the rule or with one of the usual mistakes."""
    r, j, out = 1, 1, []
    for k, s, d in layers:
        d = 1 if variant == "no_dilation" else d
        if variant == "jump_first":
            j = j * s
        r += {"dk": d * k * j, "no_jump": d * (k - 1)}.get(variant, d * (k - 1) * j)
        if variant not in ("jump_first", "no_stride"):
            j = j * s
        out.append((r, j))
    return out


HINTS = [
    (
        "no_stride",
        "the jump never changes: after a layer with stride s, neighbouring units are s times "
        "further apart in the input, j <- j * s",
    ),
    (
        "no_jump",
        "each layer adds d(k - 1) pixels whatever came before: it adds d(k - 1) units of the "
        "layer below, each j input pixels apart: r <- r + d(k - 1) j",
    ),
    ("jump_first", "update r with the old jump, then the jump: r <- r + d(k - 1) j; j <- j s"),
    ("no_dilation", "dilation is ignored: a dilated kernel spans d(k - 1) + 1 units"),
    ("dk", "a layer adds d(k - 1) j pixels, not d k j (a 1x1 layer adds nothing)"),
]


def _field_case(layers):
    def case(fn):
        want = np.array(summary_fields(layers))
        text = call_text([[tuple(layer) for layer in layers]], {}, ["layers"])
        called = call(fn, [[tuple(layer) for layer in layers]], {}, ["layers"])
        if called.problem:
            return called.problem
        value = called.value
        try:
            got = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            got = None
        n = len(layers)
        if value is None or got is None or got.shape not in ((n, 2), (2,), ()):
            return Problem(
                call=text,
                what=f"your function returned {value!r}: expected a list of {n} pairs (r, j), "
                "one per layer (or the final r alone)",
                received=value,
                hint="did you forget the `return` statement?" if value is None else None,
            )
        if got.shape == (n, 2):
            pick, what = lambda a: np.asarray(a), f"[(r, j) after each layer] = {want.tolist()}"
        elif got.shape == (2,):
            pick, what = lambda a: np.asarray(a)[-1], f"the final (r, j) = {tuple(want[-1])}"
        else:
            pick, what = lambda a: np.asarray(a)[-1, 0], f"the final r = {want[-1, 0]}"
        if np.array_equal(got, pick(want)):
            return None
        hint = None
        for variant, text_ in HINTS:
            if np.array_equal(got, pick(_recurrence(layers, variant))):
                hint = text_
                break
        return Problem(
            call=text,
            what=f"your function returned {np.asarray(got).astype(int).tolist()}, expected {what}",
            expected=pick(want),
            received=value,
            hint=hint,
        )

    return case


def check_receptive_field(fn, *, quiet=False):
    """Check a learner's receptive-field calculator against ``cnnlib.utils.summary``.

    ``fn`` is called as ``fn(layers)`` with ``layers`` a list of ``(kernel_size, stride,
    dilation)`` tuples (one per convolution or pooling, ints; padding does not matter) and
    must return the receptive field r and the jump j after each layer, as a list of pairs
    ``[(r1, j1), (r2, j2), ...]`` (chapter 11's calculator); returning only the final r, or
    the final pair, is also accepted. The input starts at r = 1, j = 1 and each layer does
    ``r <- r + dilation (kernel_size - 1) j`` and ``j <- j stride``.

    Parameters
    ----------
    fn : callable
        ``fn(layers) -> [(r, j), ...]`` (or the final r).
    quiet : bool
        Do not print the report.

    Returns
    -------
    CheckResult
        Truthy when every case passed.

    Examples
    --------
    >>> from cnnlib.exercises import check_receptive_field
    >>> def receptive_field(layers):
    ...     r, j, out = 1, 1, []
    ...     for k, s, d in layers:
    ...         r, j = r + d * (k - 1) * j, j * s
    ...         out.append((r, j))
    ...     return out
    >>> bool(check_receptive_field(receptive_field, quiet=True))
    True
    """
    rng = np.random.default_rng(12)
    conv3, pool2 = (3, 1, 1), (2, 2, 1)
    cases = [
        ("one 3x3 convolution", _field_case([conv3])),
        ("two 3x3 convolutions", _field_case([conv3, conv3])),
        (
            "3x3 convolution, 2x2 pooling with stride 2, 3x3 convolution",
            _field_case([conv3, pool2, conv3]),
        ),
        ("one 3x3 convolution with dilation 2", _field_case([(3, 1, 2)])),
        (
            "three 3x3 convolutions with dilations 1, 2 and 4 (chapter 4)",
            _field_case([(3, 1, 1), (3, 1, 2), (3, 1, 4)]),
        ),
        (
            "conv, pool, conv, pool, conv (chapter 6's exercise)",
            _field_case([conv3, pool2, conv3, pool2, conv3]),
        ),
        (
            "AlexNet's first five layers: 11x11/4, pool 3x3/2, 5x5, pool 3x3/2, 3x3",
            _field_case([(11, 4, 1), (3, 2, 1), (5, 1, 1), (3, 2, 1), (3, 1, 1)]),
        ),
    ]
    stacks = [
        [
            tuple(int(v) for v in rng.integers([1, 1, 1], [6, 4, 3]))
            for _ in range(int(rng.integers(1, 6)))
        ]
        for _ in range(3)
    ]

    def random_case(fn):
        for layers in stacks:
            problem = _field_case(layers)(fn)
            if problem is not None:
                return problem
        return None

    cases.append(("random stacks of layers (3 configurations)", random_case))
    return run_ladder(
        "check_receptive_field", "cnnlib.utils.summary's receptive fields", fn, cases, quiet
    )
