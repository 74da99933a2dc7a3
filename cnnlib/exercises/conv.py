"""Checker for a convolution's forward pass (chapters 2, 4 and 5)."""

from __future__ import annotations

import numpy as np

from cnnlib import functional as F
from cnnlib.exercises._calls import as_array, call, call_text
from cnnlib.exercises._compare import batch_hint, compare, size_hint, swapped_hint
from cnnlib.exercises._report import ladder_of, run_ladder

__all__ = ["check_conv2d"]

# the worked example of chapter 2: a 4x4 input and a 3x3 kernel, W ⊗ X = [[-1, 4], [6, 16]]
X4 = np.array([[2, 5, 0, 1], [6, 7, 1, 2], [3, 0, 4, 0], [3, 9, 7, 4]], dtype=float)
K3 = np.array([[1, 0, 1], [-1, 1, 0], [0, 1, -1]], dtype=float)
CONV_DEFAULTS = dict(stride=1, padding=0, dilation=1, groups=1)


def _ints(rng, shape, low=-3, high=4):
    return rng.integers(low, high, size=shape).astype(float)


def _conv_case(x, w, b=None, **hyper):
    hyper = {**CONV_DEFAULTS, **hyper}

    def case(fn):
        kwargs = {k: v for k, v in hyper.items() if v != CONV_DEFAULTS[k]}
        args = [x, w] if b is None else [x, w, b]
        names = ["input", "weight", "bias"]
        expected = F.conv2d(x, w, b, **hyper)
        called = call(fn, args, kwargs, names)
        if called.problem:
            return called.problem
        text = call_text(args, kwargs, names)
        out, problem = as_array(called.value, text)
        if problem:
            return problem
        return compare(out, expected, text, hints=lambda: _conv_hints(x, w, b, hyper, expected))

    return case


def _conv_hints(x, w, b, hyper, expected):
    s, p, d, g = (hyper[k] for k in ("stride", "padding", "dilation", "groups"))
    c_in_g = w.shape[1]
    nob = F.conv2d(x, w, None, **hyper)
    bias = 0 if b is None else b.reshape(1, -1, 1, 1)
    hints = [
        (
            F.true_conv2d(x, w, b, **hyper),
            "your output is the true convolution of chapter 2: you flipped the kernel (rotated "
            "it by 180°). conv2d computes cross-correlation, no flip: "
            "out[i, j] = sum over u, v of w[u, v] * x[i + u, j + v]",
        ),
    ]
    if b is not None:
        hints += [
            (nob, "the bias is missing: add bias[o] to every value of output channel o"),
            (
                nob + c_in_g * bias,
                "you added the bias once per input channel: add it once per filter, after "
                "summing over the input channels",
            ),
        ]
    if c_in_g > 1:
        hints += [
            (
                nob / c_in_g + bias,
                "you averaged over the input channels: a filter sums its kernels' results",
            ),
            (
                F.conv2d(x[:, :1], w[:, :1], b, **{**hyper, "groups": 1}) if g == 1 else None,
                "only input channel 0 reached the output: sum over every input channel",
            ),
        ]
    if g > 1:
        hints.append(
            (
                F.conv2d(x[:, :c_in_g], w, b, **{**hyper, "groups": 1}),
                f"every filter read the first {c_in_g} input channels. With groups={g}, "
                f"filter o belongs to group o // (C_out / groups) and reads only that "
                f"group's channels: x[:, group * {c_in_g}:(group + 1) * {c_in_g}]",
            )
        )
    for name, default in (("stride", 1), ("dilation", 1), ("padding", 0)):
        if hyper[name] != default:
            alt = F.conv2d(x, w, b, **{**hyper, name: default})
            hints.append((alt, f"your output is what {name}={default} gives: {name} is ignored"))
    return hints + [
        batch_hint(expected, p),
        swapped_hint(expected),
        size_hint(expected, x.shape[-2:], w.shape[-2:], hyper),
    ]


def check_conv2d(fn, *, dilation=True, groups=True, quiet=False):
    """Check a learner's ``conv2d`` against ``cnnlib.functional.conv2d`` (which is torch's).

    ``fn`` is called as ``F.conv2d`` is: ``fn(input, weight)`` or ``fn(input, weight, bias)``,
    with ``stride=``, ``padding=``, ``dilation=`` and ``groups=`` passed by name, and only
    when they differ from their defaults (1, 0, 1, 1), so a function that does not know
    about dilation yet still passes the cases before it. All are ints. The cases go from
    the 4x4 worked example of chapter 2 (one channel, stride 1, no padding) to random shapes
    with stride, padding, dilation and groups, and stop at the first failure.

    Parameters
    ----------
    fn : callable
        ``fn(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1)`` with
        input (N, C_in, H, W), weight (C_out, C_in / groups, kH, kW) and bias (C_out,);
        returns the (N, C_out, H_out, W_out) cross-correlation (no kernel flip) with
        H_out = floor((H + 2 padding - dilation (kH - 1) - 1) / stride) + 1.
    dilation, groups : bool
        Whether to test dilation and groups (pass False before you have met them).
    quiet : bool
        Do not print the report (it is still in ``str(result)``).

    Returns
    -------
    CheckResult
        Truthy when every case passed; on failure it holds the case, the expected and the
        received output and, when the mistake was recognised, a hint.

    Examples
    --------
    >>> from cnnlib.exercises import check_conv2d
    >>> from cnnlib.functional import conv2d
    >>> bool(check_conv2d(conv2d, quiet=True))
    True
    """
    rng = np.random.default_rng(0)
    a4 = lambda a: a[None, None]
    k1 = np.array([[1, 0, 1], [-1, 1, 0], [0, 1, -1]], dtype=float)
    k2 = np.array([[-1, 1, 0], [0, 1, -1], [1, 0, 1]], dtype=float)
    x3 = np.array(
        [
            [[1, 2, 0], [0, 1, 3], [2, 1, 0]],
            [[0, 1, 1], [2, 0, 1], [1, 3, 2]],
            [[3, 0, 1], [1, 2, 0], [0, 1, 1]],
        ],
        dtype=float,
    )[None]
    w3 = np.array(
        [
            [[[1, 0], [0, -1]], [[0, 1], [1, 0]], [[-1, 0], [1, 0]]],
            [[[0, 1], [-1, 0]], [[1, 1], [0, 0]], [[0, 0], [1, -1]]],
        ],
        dtype=float,
    )
    cases = [
        (
            "one channel: the 4x4 worked example of chapter 2 with a 3x3 kernel",
            _conv_case(a4(X4), a4(K3)),
        ),
        (
            "one channel, a 5x6 input and a 2x3 kernel (rows and columns differ)",
            _conv_case(_ints(rng, (1, 1, 5, 6)), _ints(rng, (1, 1, 2, 3), -2, 3)),
        ),
        (
            "two filters on one input channel, with a bias",
            _conv_case(a4(X4), np.stack([k1, k2])[:, None], np.array([1.0, -1.0])),
        ),
        (
            "three input channels summed by each of two filters, with a bias (chapter 5)",
            _conv_case(x3, w3, np.array([1.0, -1.0])),
        ),
        (
            "a batch of two images, 2 -> 3 channels",
            _conv_case(_ints(rng, (2, 2, 5, 5)), _ints(rng, (3, 2, 3, 3), -2, 3), _ints(rng, 3)),
        ),
        (
            "padding 1 (zeros around H and W only)",
            _conv_case(_ints(rng, (2, 2, 4, 4)), _ints(rng, (2, 2, 3, 3), -2, 3), padding=1),
        ),
        (
            "stride 2 on a 6x6 input: the last row and column are never reached (floor)",
            _conv_case(_ints(rng, (1, 2, 6, 6)), _ints(rng, (2, 2, 3, 3), -2, 3), stride=2),
        ),
        (
            "stride 2 and padding 1 on a 7x7 input, with a bias",
            _conv_case(
                _ints(rng, (2, 1, 7, 7)),
                _ints(rng, (2, 1, 3, 3), -2, 3),
                _ints(rng, 2),
                stride=2,
                padding=1,
            ),
        ),
    ]
    if dilation:
        cases.append(
            (
                "dilation 2: a 3x3 kernel spread over 5x5",
                _conv_case(_ints(rng, (1, 2, 7, 7)), _ints(rng, (2, 2, 3, 3), -2, 3), dilation=2),
            )
        )
    if groups:
        cases.append(
            (
                "groups 2: each half of the filters sees only its half of the channels",
                _conv_case(
                    _ints(rng, (1, 4, 5, 5)),
                    _ints(rng, (6, 2, 3, 3), -2, 3),
                    _ints(rng, 6),
                    groups=2,
                ),
            )
        )
    cases.append(
        (
            "random shapes, strides and paddings"
            + (", dilations" if dilation else "")
            + (" and groups" if groups else "")
            + " (6 configurations)",
            _random_conv_cases(rng, dilation, groups),
        )
    )
    return run_ladder("check_conv2d", "cnnlib's conv2d (and torch's)", fn, cases, quiet)


def _random_conv_cases(rng, dilation, groups):
    configs = []
    for _ in range(6):
        g = int(rng.choice([1, 2])) if groups else 1
        c_in, c_out = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
        k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        s, p = int(rng.integers(1, 3)), int(rng.integers(0, 2))
        d = int(rng.integers(1, 3)) if dilation else 1
        h = d * (max(k) - 1) + 1 + int(rng.integers(0, 5))
        x = rng.standard_normal((int(rng.integers(1, 3)), c_in, h, h + int(rng.integers(0, 3))))
        w = rng.standard_normal((c_out, c_in // g, *k))
        b = rng.standard_normal(c_out) if rng.random() < 0.7 else None
        configs.append(_conv_case(x, w, b, stride=s, padding=p, dilation=d, groups=g))
    return ladder_of(configs)
