"""Checkers for backward passes through a convolution and a ReLU (chapters 7 and 9)."""

from __future__ import annotations

import numpy as np

from cnnlib import functional as F
from cnnlib.exercises._calls import as_array, as_arrays, call, call_text
from cnnlib.exercises._compare import compare
from cnnlib.exercises._report import Problem, ladder_of, run_ladder

__all__ = ["check_conv2d_backward", "check_relu_backward"]


def _ints(rng, shape, low=-2, high=3):
    return rng.integers(low, high, size=shape).astype(float)


def _rot180(w):
    return np.ascontiguousarray(w[..., ::-1, ::-1])


# ------------------------------------------------------------------ conv2d backward


def _conv_backward_case(x, w, dout, stride=1, padding=0):
    def case(fn):
        c_out = w.shape[0]
        _, cache = F.conv2d_forward(x, w, np.zeros(c_out), stride=stride, padding=padding)
        dx, dw, db = F.conv2d_backward(dout, cache)
        names = ["dout", "x", "w"]
        args = [dout, x, w, stride, padding]
        text = call_text(args, {}, names)
        called = call(fn, args, {}, names)
        if called.problem:
            return called.problem
        got, problem = as_arrays(called.value, text, 3, ["dx", "dw", "db"])
        if problem:
            return problem
        order = _order_problem(got, x, w, text)
        if order:
            return order
        return (
            compare(got[0], dx, text, "dx", lambda: _dx_hints(x, w, dout, stride, padding, dx))
            or compare(got[1], dw, text, "dw", lambda: _dw_hints(x, w, dout, stride, padding, dw))
            or compare(got[2], db, text, "db", lambda: _db_hints(dout, db))
        )

    return case


def _order_problem(got, x, w, text):
    shapes = [g.shape for g in got]
    if shapes[0] != x.shape and shapes[1] == x.shape and shapes[0] == w.shape:
        return Problem(
            call=text,
            what=f"the first two arrays have the shapes of w and x: {shapes[0]}, {shapes[1]}",
            hint="return the gradients in the order of the forward's arguments: (dx, dw, db)",
        )
    return None


def _dx_hints(x, w, dout, s, p, dx):
    k = w.shape[-2:]
    r = tuple((x.shape[2 + i] + 2 * p - k[i]) % s for i in range(2))
    unflipped = F.conv_transpose2d(dout, _rot180(w), stride=s, padding=p, output_padding=r)

    def crop_hint(got):
        if p and got.shape == x.shape[:2] + tuple(n + 2 * p for n in x.shape[2:]):
            return (
                f"dx has the shape of the padded input: cut the {p} padded rows and columns "
                "off each side (they were zeros, not inputs)"
            )
        return None

    def rows_hint(got):
        if got.shape[:2] == x.shape[:2] and got.shape[2:] != x.shape[2:] and any(r):
            return (
                f"dx must have the input's shape {x.shape}. With stride {s} the last "
                f"{r[0]} row(s) / {r[1]} column(s) of the input were never reached by a "
                "window: they get zero gradient (pad the zero-inserted error with them)"
            )
        return None

    hints = [
        (
            unflipped,
            "dx used the kernel without rotating it: dJ/dA = rot180(W) ⊗ pad(δ, k - 1) "
            "(chapter 7), so each kernel is rotated by 180°",
        ),
        crop_hint,
        rows_hint,
    ]
    if w.shape[0] > 1:
        alt = F.conv_transpose2d(dout[:, :1], w[:1], stride=s, padding=p, output_padding=r)
        hints.append(
            (alt, "only output channel 0 reached dx: sum the contributions of every filter")
        )
    return hints


def _per_image_dw(x, w, dout, s, p, i):
    _, cache = F.conv2d_forward(x[i : i + 1], w, stride=s, padding=p)
    return F.conv2d_backward(dout[i : i + 1], cache)[1]


def _dw_hints(x, w, dout, s, p, dw):
    n = x.shape[0]
    hints = [
        (
            _rot180(dw),
            "dw is rotated by 180°: dJ/dW = δ ⊗ A, the error slides over the input without "
            "any rotation",
        ),
    ]
    if n > 1:
        hints += [
            (
                _per_image_dw(x, w, dout, s, p, n - 1),
                "dw is the last image's gradient only: you overwrote it image by image; "
                "add the images' gradients (+=)",
            ),
            (
                _per_image_dw(x, w, dout, s, p, 0),
                "dw is the first image's gradient only: sum the gradients over the batch",
            ),
            (dw / n, "dw is averaged over the batch: sum it (the mean is the loss's business)"),
            (
                lambda got: got.ndim == 5 and got.shape[0] == n,
                "dw has a batch axis: sum it over the images, dw has the weight's shape",
            ),
        ]
    return hints


def _db_hints(dout, db):
    n = dout.shape[0]
    hints = [
        (
            dout.sum(axis=(2, 3)),
            "db has one row per image: sum over the batch too, db = dout.sum(axis=(0, 2, 3))",
        ),
        (
            np.asarray(dout.sum()),
            "db is one number: a filter has one bias each, so sum over N, H and W but keep "
            "the channel axis: dout.sum(axis=(0, 2, 3))",
        ),
        (dout.mean(axis=(0, 2, 3)), "db is a mean: the bias gradient is a sum"),
    ]
    if n > 1:
        hints += [
            (dout[-1].sum(axis=(1, 2)), "db is the last image's only: sum over the batch"),
            (dout[0].sum(axis=(1, 2)), "db is the first image's only: sum over the batch"),
        ]
    return hints


def check_conv2d_backward(fn, *, quiet=False):
    """Check a learner's convolution backward pass against ``cnnlib.functional.conv2d_backward``.

    ``fn`` is called as ``fn(dout, x, w, stride, padding)`` (all five positional; stride and
    padding are ints) for the layer ``out = conv2d(x, w, b, stride=stride, padding=padding)``
    and must return ``(dx, dw, db)``: the gradients of ``sum(out * dout)`` with respect to x,
    w and the bias b (whose value does not matter). The cases go from one channel, a 3x3
    input and a 2x2 kernel (chapter 7's derivation) to random shapes with stride and padding,
    through a batch (dw and db sum over it) and a stride that leaves rows unreached.

    Parameters
    ----------
    fn : callable
        ``fn(dout, x, w, stride, padding) -> (dx, dw, db)`` with dout (N, C_out, H_out,
        W_out), x (N, C_in, H, W), w (C_out, C_in, kH, kW); dx, dw and db have the shapes of
        x, w and (C_out,).
    quiet : bool
        Do not print the report.

    Returns
    -------
    CheckResult
        Truthy when every case passed.

    Examples
    --------
    >>> import numpy as np
    >>> from cnnlib import functional as F
    >>> from cnnlib.exercises import check_conv2d_backward
    >>> def conv_backward(dout, x, w, stride, padding):
    ...     b = np.zeros(w.shape[0])
    ...     _, cache = F.conv2d_forward(x, w, b, stride=stride, padding=padding)
    ...     return F.conv2d_backward(dout, cache)
    >>> bool(check_conv2d_backward(conv_backward, quiet=True))
    True
    """
    rng = np.random.default_rng(2)

    def ints_case(xs, ws, s=1, p=0):
        x, w = _ints(rng, xs, -3, 4), _ints(rng, ws)
        h_out = [(xs[2 + i] + 2 * p - ws[2 + i]) // s + 1 for i in range(2)]
        dout = _ints(rng, (xs[0], ws[0], *h_out), -2, 4)
        return _conv_backward_case(x, w, dout, s, p)

    cases = [
        (
            "one channel, a 3x3 input and a 2x2 kernel (the derivation of chapter 7)",
            ints_case((1, 1, 3, 3), (1, 1, 2, 2)),
        ),
        ("one channel, a 5x5 input and a 3x3 kernel", ints_case((1, 1, 5, 5), (1, 1, 3, 3))),
        (
            "two input channels and three filters (dx sums over the filters)",
            ints_case((1, 2, 5, 5), (3, 2, 3, 3)),
        ),
        (
            "a batch of two images: dw and db sum over the batch",
            ints_case((2, 2, 4, 4), (2, 2, 3, 3)),
        ),
        ("padding 1", ints_case((1, 2, 4, 4), (2, 2, 3, 3), p=1)),
        ("stride 2 on a 7x7 input", ints_case((1, 1, 7, 7), (1, 1, 3, 3), s=2)),
        (
            "stride 2 on a 6x6 input: the last row and column get no gradient",
            ints_case((2, 2, 6, 6), (2, 2, 3, 3), s=2),
        ),
    ]
    configs = []
    for _ in range(5):
        k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        s, p = int(rng.integers(1, 3)), int(rng.integers(0, 2))
        h = max(k) + int(rng.integers(0, 5))
        x = rng.standard_normal((int(rng.integers(1, 3)), int(rng.integers(1, 4)), h, h + 1))
        w = rng.standard_normal((int(rng.integers(1, 4)), x.shape[1], *k))
        out = F.conv2d(x, w, stride=s, padding=p)
        configs.append(_conv_backward_case(x, w, rng.standard_normal(out.shape), s, p))
    cases.append(("random shapes, strides and paddings (5 configurations)", ladder_of(configs)))
    return run_ladder(
        "check_conv2d_backward", "cnnlib's conv2d_backward (and torch's autograd)", fn, cases, quiet
    )


# ------------------------------------------------------------------ relu backward


def _relu_case(x, dout):
    def case(fn):
        _, cache = F.relu_forward(x)
        expected = F.relu_backward(dout, cache)
        names = ["dout", "x"]
        text = call_text([dout, x], {}, names)
        called = call(fn, [dout, x], {}, names)
        if called.problem:
            return called.problem
        dx, problem = as_array(called.value, text)
        if problem:
            return problem
        hints = [
            (
                dout * (x >= 0),
                "you passed the gradient where x == 0 too: torch's ReLU gradient at 0 is 0, "
                "so use the mask x > 0",
            ),
            (
                x * (dout > 0),
                "the arguments are the other way round: the checker calls fn(dout, x)",
            ),
            (
                dout * (dout > 0),
                "the mask must come from the forward input x (where x > 0), not from dout",
            ),
            ((x > 0).astype(float), "you returned the mask alone: multiply it by dout"),
            (dout, "you returned dout unchanged: set it to 0 where x <= 0"),
            (np.maximum(x, 0), "you returned relu(x), the forward pass: return dout * (x > 0)"),
            (dout * x, "ReLU's derivative is 1 where x > 0 and 0 elsewhere, not x"),
        ]
        return compare(dx, expected, text, "dx", hints)

    return case


def check_relu_backward(fn, *, quiet=False):
    """Check a learner's ReLU backward pass against ``cnnlib.functional.relu_backward``.

    ``fn`` is called as ``fn(dout, x)`` (CS231n's ``relu_backward(dout, cache)`` with the
    cache being the forward input x) and must return dx: dout where x > 0 and 0 elsewhere,
    with x exactly 0 giving 0 as in torch. The cases: four numbers by hand, an (N, C, H, W)
    batch, and inputs that are exactly 0.

    Parameters
    ----------
    fn : callable
        ``fn(dout, x) -> dx``, all three arrays of the same shape.
    quiet : bool
        Do not print the report.

    Returns
    -------
    CheckResult
        Truthy when every case passed.

    Examples
    --------
    >>> from cnnlib.exercises import check_relu_backward
    >>> bool(check_relu_backward(lambda dout, x: dout * (x > 0), quiet=True))
    True
    """
    rng = np.random.default_rng(3)
    cases = [
        (
            "four numbers by hand: x = [-2, -1, 1, 2], dout = [1, -2, 3, -4]",
            _relu_case(np.array([-2.0, -1.0, 1.0, 2.0]), np.array([1.0, -2.0, 3.0, -4.0])),
        ),
        (
            "an (N, C, H, W) batch, with dout of both signs",
            _relu_case(rng.standard_normal((2, 3, 4, 4)), rng.standard_normal((2, 3, 4, 4))),
        ),
        (
            "inputs exactly 0: torch's gradient there is 0",
            _relu_case(
                rng.integers(-1, 2, size=(2, 2, 3, 3)).astype(float),
                rng.standard_normal((2, 2, 3, 3)),
            ),
        ),
    ]
    return run_ladder(
        "check_relu_backward", "cnnlib's relu_backward (and torch's)", fn, cases, quiet
    )
