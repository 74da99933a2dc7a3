"""Checkers for the max- and average-pooling backward passes (chapter 8)."""

from __future__ import annotations

import numpy as np

from cnnlib import functional as F
from cnnlib.exercises._calls import as_array, call, call_text
from cnnlib.exercises._compare import close, compare
from cnnlib.exercises._report import ladder_of, run_ladder
from cnnlib.exercises.pool import A4, _distinct

__all__ = ["check_max_pool2d_backward", "check_avg_pool2d_backward"]

# the upstream error of chapter 8's 4x4 example
D2 = np.array([[1.0, 2.0], [3.0, 4.0]])[None, None]
TIE_RULE = (
    "torch (and cnnlib) give a tied window's whole error to its first maximum in row-major order"
)


def _windows(x_shape, k, s, p):
    """(i, j, rows, cols) of every window in padded coordinates."""
    h, w = x_shape[-2] + 2 * p, x_shape[-1] + 2 * p
    for i in range((h - k) // s + 1):
        for j in range((w - k) // s + 1):
            yield i, j, slice(i * s, i * s + k), slice(j * s, j * s + k)


def _route(x, dout, k, s, p, mode="add", pad_value=-np.inf):
    """A max-pooling backward pass by loops, right or wrong in one of several ways:
    'add' (torch), 'assign' (overlaps overwrite), 'all' (every tied max gets dout),
    'last' (the last tied max), 'swap' (window position decoded as (col, row))."""
    n, c = x.shape[:2]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=pad_value)
    dxp = np.zeros_like(xp)
    for b in range(n):
        for ch in range(c):
            for i, j, rows, cols in _windows(x.shape, k, s, p):
                win = xp[b, ch, rows, cols]
                d = dout[b, ch, i, j]
                flat = win.ravel()
                ties = np.flatnonzero(flat == flat.max())
                picks = {"all": ties, "last": ties[-1:]}.get(mode, ties[:1])
                for t in picks:
                    u, v = divmod(int(t), k)
                    if mode == "swap":
                        u, v = v, u
                    target = (b, ch, rows.start + u, cols.start + v)
                    dxp[target] = d if mode == "assign" else dxp[target] + d
    return dxp[..., p : p + x.shape[2], p : p + x.shape[3]]


def _spread(x, dout, k, s, p, divisor, assign=False):
    """An average-pooling backward pass by loops: each window spreads dout / divisor."""
    n, c = x.shape[:2]
    dxp = np.zeros((n, c, x.shape[2] + 2 * p, x.shape[3] + 2 * p))
    for i, j, rows, cols in _windows(x.shape, k, s, p):
        share = dout[:, :, i, j][:, :, None, None] / divisor
        if assign:
            dxp[:, :, rows, cols] = share
        else:
            dxp[:, :, rows, cols] += share
    return dxp[..., p : p + x.shape[2], p : p + x.shape[3]]


def _crop_hint(x, p):
    def hint(got):
        if p and got.shape == x.shape[:2] + tuple(n + 2 * p for n in x.shape[2:]):
            return f"dx has the padded input's shape: crop the {p} padded rows and columns"
        return None

    return hint


def _backward_call(fn, dout, x, k, s, p):
    names = ["dout", "x", "kernel_size", "stride", "padding"]
    args = [dout, x, k, s, p]
    text = call_text(args, {}, names)
    called = call(fn, args, {}, names)
    if called.problem:
        return None, text, called.problem
    dx, problem = as_array(called.value, text, "your function")
    return dx, text, problem


def _max_backward_case(x, dout, k, s, p=0, ties=False):
    def case(fn):
        _, cache = F.max_pool2d_forward(x, k, s, p)
        expected = F.max_pool2d_backward(dout, cache)
        dx, text, problem = _backward_call(fn, dout, x, k, s, p)
        if problem:
            return problem
        if ties and not close(dx, expected) and dx.shape == expected.shape:
            return _tie_verdict(dx, expected, x, dout, k, text, notes)
        return compare(
            dx, expected, text, "dx", lambda: _max_backward_hints(x, dout, k, s, p, cache)
        )

    notes = []
    case.notes = notes
    return case


def _max_backward_hints(x, dout, k, s, p, cache):
    _, avg_cache = F.avg_pool2d_forward(x, k, s, p)
    spread = F.avg_pool2d_backward(dout, avg_cache)
    hints = [
        (
            _route(x, dout, k, s, p, "assign"),
            "where windows overlap, one input can be the maximum of several windows: add their "
            "errors (+=) instead of overwriting (=)",
        ),
        (
            _route(x, dout, k, s, p, "swap"),
            "the error went to the transposed position in its window: index p*k + q of the "
            "window's maximum means row p, column q (p, q = divmod(index, k))",
        ),
        (
            spread,
            "you spread the error over the window like average pooling: max pooling sends it "
            "all to the position of the maximum",
        ),
        (
            spread * k * k,
            "every position of a window got the whole error: only the maximum gets it",
        ),
        _crop_hint(x, p),
    ]
    if p:
        hints.append(
            (
                _route(x, dout, k, s, p, "add", pad_value=0.0),
                "you padded with zeros: a padded 0 then wins windows of negative inputs and "
                "takes their error; pad with -inf",
            )
        )
    return hints


def _tie_verdict(dx, expected, x, dout, k, text, notes):
    """Ties, non-overlapping windows: torch's first-max rule passes, another subgradient
    (shares >= 0 on the tied maxima, summing to the window's error) passes with a note."""
    n, c, h, w = x.shape
    oh, ow = h // k, w // k
    xw = x[..., : oh * k, : ow * k].reshape(n, c, oh, k, ow, k)
    gw = dx[..., : oh * k, : ow * k].reshape(n, c, oh, k, ow, k)
    is_max = xw == xw.max(axis=(3, 5), keepdims=True)
    d = dout[:, :, :, None, :, None]
    off_max = np.abs(np.where(is_max, 0, gw)).max()
    share = np.where(is_max, gw / np.where(d == 0, 1, d), 0)
    sums = gw.sum(axis=(3, 5))
    rest = np.abs(dx).sum() - np.abs(dx[..., : oh * k, : ow * k]).sum()
    valid = (
        off_max < 1e-9
        and share.min() > -1e-9
        and np.allclose(sums, dout, rtol=1e-6, atol=1e-9)
        and rest < 1e-9
    )
    if valid:
        notes.append(
            "at the tied maxima your function splits the error differently from torch. That "
            f"is a valid subgradient (shares >= 0 summing to the error), so it passes; but "
            f"{TIE_RULE}, so your numbers will differ from torch's there."
        )
        return None
    all_ties = _route(x, dout, k, k, 0, "all")
    hint = None
    if close(dx, all_ties):
        hint = (
            "every tied maximum received the window's whole error, so the window passes on "
            f"more than its error: that is not a subgradient. {TIE_RULE}; any split with "
            "shares >= 0 that sum to the error is also accepted"
        )
    problem = compare(dx, expected, text, "dx")
    return problem._replace(hint=hint or f"{TIE_RULE}; any valid split is also accepted")


def check_max_pool2d_backward(fn, *, quiet=False):
    """Check a learner's max-pooling backward pass against ``cnnlib``'s (torch's).

    ``fn`` is called as ``fn(dout, x, kernel_size, stride, padding)`` (all positional, ints)
    for ``out = max_pool2d(x, kernel_size, stride, padding)`` and must return dx, the
    gradient of ``sum(out * dout)``: each window's error goes to the position of its
    maximum, and an input that is the maximum of several overlapping windows collects all
    their errors. Padding is with -inf, so a padded cell never receives an error.

    Ties: torch gives a tied window's error to its first maximum in row-major order, and
    the case with ties passes that rule; it also passes any other valid subgradient (shares
    >= 0 on the tied maxima that sum to the error, e.g. half each, or the last maximum) with
    a note. Sending the whole error to every tied maximum fails. All other cases have no
    ties.

    Parameters
    ----------
    fn : callable
        ``fn(dout, x, kernel_size, stride, padding) -> dx`` with dout (N, C, H_out, W_out)
        and x and dx (N, C, H, W).
    quiet : bool
        Do not print the report.

    Returns
    -------
    CheckResult
        Truthy when every case passed; ``notes`` says when the tie rule differs from torch's.

    Examples
    --------
    >>> from cnnlib import functional as F
    >>> from cnnlib.exercises import check_max_pool2d_backward
    >>> def max_pool_backward(dout, x, kernel_size, stride, padding):
    ...     _, cache = F.max_pool2d_forward(x, kernel_size, stride, padding)
    ...     return F.max_pool2d_backward(dout, cache)
    >>> bool(check_max_pool2d_backward(max_pool_backward, quiet=True))
    True
    """
    rng = np.random.default_rng(5)
    hub = _distinct(rng, (1, 2, 7, 7))
    hub[..., 2, 2] = 100.0  # the maximum of four overlapping 3x3 windows
    tie = rng.integers(0, 3, size=(1, 2, 4, 6)).astype(float)
    tie[0, 0, :2, :2] = [[5, 5], [1, 5]]  # the tie of chapter 8
    tie_case = _max_backward_case(tie, rng.integers(1, 5, size=(1, 2, 2, 3)) * 1.0, 2, 2, ties=True)
    cases = [
        (
            "the 4x4 example of chapter 8 with upstream error [[1, 2], [3, 4]]",
            _max_backward_case(A4, D2, 2, 2),
        ),
        (
            "a batch of two images with three channels",
            _max_backward_case(
                _distinct(rng, (2, 3, 4, 4)), rng.standard_normal((2, 3, 2, 2)), 2, 2
            ),
        ),
        (
            "a 7x7 input with 2x2 windows: the last row and column get nothing",
            _max_backward_case(
                _distinct(rng, (1, 1, 7, 7)), rng.standard_normal((1, 1, 3, 3)), 2, 2
            ),
        ),
        (
            "overlapping 3x3 windows with stride 2: one input is the maximum of four windows",
            _max_backward_case(hub, rng.standard_normal((1, 2, 3, 3)), 3, 2),
        ),
        (
            "padding 1 on an all-negative input (pads with -inf)",
            _max_backward_case(
                -1 - np.abs(_distinct(rng, (1, 1, 4, 4))),
                rng.standard_normal((1, 1, 2, 2)),
                3,
                2,
                1,
            ),
        ),
        ("ties inside windows (any valid subgradient passes; torch picks the first)", tie_case),
    ]
    configs = []
    for _ in range(4):
        k, s = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        p = int(rng.integers(0, k // 2 + 1))
        x = rng.standard_normal((2, 2, k + int(rng.integers(0, 5)), k + int(rng.integers(0, 5))))
        dout = rng.standard_normal(F.max_pool2d(x, k, s, p).shape)
        configs.append(_max_backward_case(x, dout, k, s, p))
    cases.append(("random shapes, strides and paddings (4 configurations)", ladder_of(configs)))
    return run_ladder(
        "check_max_pool2d_backward",
        "cnnlib's max_pool2d_backward (and torch's autograd)",
        fn,
        cases,
        quiet,
        notes=tie_case.notes,
    )


def _avg_backward_case(x, dout, k, s, p=0):
    def case(fn):
        _, cache = F.avg_pool2d_forward(x, k, s, p)
        expected = F.avg_pool2d_backward(dout, cache)
        dx, text, problem = _backward_call(fn, dout, x, k, s, p)
        if problem:
            return problem
        return compare(dx, expected, text, "dx", lambda: _avg_hints(x, dout, k, s, p, expected))

    return case


def _avg_hints(x, dout, k, s, p, expected):
    hints = [
        (expected * k * k, f"you did not divide by the window size k*k = {k * k}"),
        (expected * k, f"you divided by k = {k}; a k x k window holds k*k = {k * k} values"),
        (
            _spread(x, dout, k, s, p, k * k, assign=True),
            "where windows overlap, add the shares of every window (+=) instead of "
            "overwriting them (=)",
        ),
        _crop_hint(x, p),
    ]
    if p:
        _, cache = F.avg_pool2d_forward(x, k, s, p, count_include_pad=False)
        hints.append(
            (
                F.avg_pool2d_backward(dout, cache),
                "you divided each window by the number of real (unpadded) inputs it covers; "
                "torch's default count_include_pad=True divides every window by k*k, padding "
                "included, and this checker follows the default",
            )
        )
    return hints


def check_avg_pool2d_backward(fn, *, quiet=False):
    """Check a learner's average-pooling backward pass against ``cnnlib``'s (torch's).

    ``fn`` is called as ``fn(dout, x, kernel_size, stride, padding)`` (all positional, ints)
    for ``out = avg_pool2d(x, kernel_size, stride, padding)`` with torch's default
    ``count_include_pad=True``, and must return dx: every window spreads its error evenly,
    dout / (k * k) to each of its k * k positions (padding included), and where windows
    overlap the shares add up.

    Parameters
    ----------
    fn : callable
        ``fn(dout, x, kernel_size, stride, padding) -> dx`` with dout (N, C, H_out, W_out)
        and x and dx (N, C, H, W).
    quiet : bool
        Do not print the report.

    Returns
    -------
    CheckResult
        Truthy when every case passed.

    Examples
    --------
    >>> from cnnlib import functional as F
    >>> from cnnlib.exercises import check_avg_pool2d_backward
    >>> def avg_pool_backward(dout, x, kernel_size, stride, padding):
    ...     _, cache = F.avg_pool2d_forward(x, kernel_size, stride, padding)
    ...     return F.avg_pool2d_backward(dout, cache)
    >>> bool(check_avg_pool2d_backward(avg_pool_backward, quiet=True))
    True
    """
    rng = np.random.default_rng(6)

    def rand_case(shape, k, s, p=0):
        x = rng.standard_normal(shape)
        dout = rng.standard_normal(F.avg_pool2d(x, k, s, p).shape)
        return _avg_backward_case(x, dout, k, s, p)

    cases = [
        (
            "the 4x4 example of chapter 8 with upstream error [[1, 2], [3, 4]]",
            _avg_backward_case(A4, D2, 2, 2),
        ),
        ("a batch of two images with three channels", rand_case((2, 3, 4, 4), 2, 2)),
        (
            "a 7x7 input with 2x2 windows: the last row and column get nothing",
            rand_case((1, 1, 7, 7), 2, 2),
        ),
        ("overlapping 3x3 windows with stride 2", rand_case((1, 2, 7, 7), 3, 2)),
        (
            "stride 1 on the 4x4 example, upstream error all ones",
            _avg_backward_case(A4, np.ones((1, 1, 3, 3)), 2, 1),
        ),
        (
            "padding 1 (count_include_pad=True: every window divides by k*k)",
            rand_case((1, 2, 4, 4), 3, 1, 1),
        ),
    ]
    configs = []
    for _ in range(4):
        k, s = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        p = int(rng.integers(0, k // 2 + 1))
        shape = (2, 2, k + int(rng.integers(0, 5)), k + int(rng.integers(0, 5)))
        configs.append(rand_case(shape, k, s, p))
    cases.append(("random shapes, strides and paddings (4 configurations)", ladder_of(configs)))
    return run_ladder(
        "check_avg_pool2d_backward",
        "cnnlib's avg_pool2d_backward (and torch's autograd)",
        fn,
        cases,
        quiet,
    )
