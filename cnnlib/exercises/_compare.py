"""Comparing what a learner's function returned with what cnnlib computes: a small diff,
and a hint when the difference is what one of the usual mistakes would give."""

from __future__ import annotations

import numpy as np

from cnnlib.exercises._report import Problem


def close(received, expected, rtol=1e-6) -> bool:
    """Same shape and the same values up to rounding (NaN never matches)."""
    if received is None or np.shape(received) != np.shape(expected):
        return False
    received = np.asarray(received, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if not np.all(np.isfinite(received)):
        return False
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    return bool(np.allclose(received, expected, rtol=rtol, atol=1e-9 * max(1.0, scale)))


def compare(received, expected, text, name="output", hints=(), rtol=1e-6):
    """None when ``received`` matches ``expected``, else a Problem with a diff and the
    first hint that recognises the mistake (see :func:`recognise`); ``hints`` may be a
    function that returns that list."""
    if close(received, expected, rtol):
        return None
    if callable(hints):  # built only now, on failure: hypotheses cost a few extra ops
        try:
            hints = hints()
        except Exception:  # noqa: BLE001 - no hints rather than no report
            hints = ()
    if received.shape != expected.shape:
        what = f"the {name} has shape {received.shape}, expected {expected.shape}"
        details = ""
    elif not np.all(np.isfinite(received)):
        bad = int(np.sum(~np.isfinite(received)))
        what = f"the {name} contains {bad} NaN or infinite value{'s' if bad > 1 else ''}"
        details = diff(received, expected)
    else:
        what = f"the {name} has the right shape {received.shape} but wrong values"
        details = diff(received, expected)
    return Problem(
        call=text,
        what=what,
        expected=expected,
        received=received,
        details=details,
        hint=recognise(received, hints) or _dtype_hint(received, expected),
    )


def recognise(received, hints):
    """The text of the first hint that recognises ``received``. A hint is either a pair
    ``(alternative, text)``, which matches when ``received`` equals ``alternative`` (what that
    mistake computes; None to skip), or a function ``received -> text or None``."""
    for h in hints:
        try:
            if callable(h):
                text = h(received)
            else:
                alt, text = h
                text = text if alt is not None and close(received, alt) else None
        except Exception:  # noqa: BLE001 - a hypothesis that cannot be tested is no match
            text = None
        if text:
            return text
    return None


def _dtype_hint(received, expected):
    if received.dtype.kind in "biu" and not np.allclose(expected, np.round(expected)):
        return (
            f"your result has the integer dtype {received.dtype}: an output array created "
            "from an integer array (or with dtype=int) truncates every value; create it with "
            "np.zeros(shape) (float64)"
        )
    return None


def _fmt(v) -> str:
    v = float(v)
    if v == int(v) and abs(v) < 1e6:
        return f"{int(v)}"
    return f"{v:.6g}"


def diff(received, expected, limit=5) -> str:
    """Where two arrays of the same shape differ: both arrays when small, else a table of the
    largest differences; always the count and the largest absolute error."""
    received = np.asarray(received, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        err = np.abs(received - expected)
    err = np.where(np.isfinite(err), err, np.inf)
    tol = 1e-6 * np.abs(expected) + 1e-9 * max(1.0, float(np.max(np.abs(expected), initial=0)))
    wrong = err > tol
    n_wrong, largest = int(wrong.sum()), float(err.max(initial=0))
    lines = [
        f"{n_wrong} of {received.size} values differ; largest absolute error "
        f"{_fmt(largest) if np.isfinite(largest) else 'inf (NaN or inf received)'}"
    ]
    if expected.size <= 32 and expected.ndim >= 1:
        if 0 < n_wrong <= 6:
            where = ", ".join(str([int(i) for i in idx]) for idx in zip(*np.nonzero(wrong)))
            lines.append(f"they differ at {where}")
        squeezed = _squeeze(expected.shape)
        # enough digits to see the largest difference
        digits = 4 if not 0 < largest < 1e-3 else min(10, 2 - int(np.floor(np.log10(largest))))
        lines.append("expected:")
        lines += ["  " + s for s in _array_text(expected.reshape(squeezed), digits).splitlines()]
        lines.append("received:")
        lines += ["  " + s for s in _array_text(received.reshape(squeezed), digits).splitlines()]
        if squeezed != expected.shape:
            lines.append(f"(shown without the size-1 axes of the shape {expected.shape})")
        return "\n".join(lines)
    order = np.argsort(-err, axis=None, kind="stable")[: min(limit, n_wrong)]
    width = max(12, len(str(list(expected.shape))) + 2)
    lines.append(f"{'index':<{width}} {'expected':>12} {'received':>12}")
    for flat in order:
        idx = np.unravel_index(flat, expected.shape)
        where = str(list(int(i) for i in idx))
        lines.append(f"{where:<{width}} {_fmt(expected[idx]):>12} {_fmt(received[idx]):>12}")
    return "\n".join(lines)


def _squeeze(shape):
    kept = tuple(s for s in shape if s != 1)
    return kept if kept else (1,)


def _array_text(a, digits=4) -> str:
    ints = np.all(np.isfinite(a)) and np.allclose(a, np.round(a))
    if ints and np.max(np.abs(a), initial=0) < 1e6:
        return np.array2string(np.round(a).astype(np.int64), max_line_width=90)
    return np.array2string(a, precision=digits, suppress_small=digits <= 4, max_line_width=90)


# ------------------------------------------------------------------ hints shared by checkers


def out_size(size, k, s=1, p=0, d=1):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def size_hint(expected, spatial_in, k, hyper):
    """A hint function for a wrong spatial output size, with the formula filled in."""

    def hint(received):
        if received.ndim != expected.ndim or received.shape[:-2] != expected.shape[:-2]:
            return None
        if received.shape[-2:] == expected.shape[-2:]:
            return None
        s, p = hyper.get("stride", 1), hyper.get("padding", 0)
        d = hyper.get("dilation", 1)
        axis = 0 if received.shape[-2] != expected.shape[-2] else 1
        h, kh = spatial_in[axis], k[axis]
        want, got = expected.shape[-2 + axis], received.shape[-2 + axis]
        side = "H" if axis == 0 else "W"
        formula = (
            f"{side}_out = floor(({side} + 2p - d(k - 1) - 1) / s) + 1 = floor(({h} + {2 * p}"
            f" - {d * (kh - 1)} - 1) / {s}) + 1 = {want}"
        )
        ceil = -(-(h + 2 * p - d * (kh - 1) - 1) // s) + 1
        if got == ceil:
            return f"your output size is rounded up, but {formula} rounds down (use //)"
        if got == want - 1:
            return f"your output is one too short: {formula} (did you forget the + 1?)"
        return f"wrong output size {got}: {formula}"

    return hint


def batch_hint(expected, padding):
    """A hint function for an output whose batch axis changed size."""

    def hint(received):
        if received.ndim != 4 or received.shape[0] == expected.shape[0]:
            return None
        if padding and received.shape[0] == expected.shape[0] + 2 * padding:
            return (
                "the batch axis grew by 2 x padding: you padded every axis. Pad only the "
                "last two: np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))"
            )
        return f"the batch axis must keep its size N = {expected.shape[0]}: one output per image"

    return hint


def swapped_hint(expected):
    def hint(received):
        t = np.swapaxes(expected, -1, -2)
        if received.shape == t.shape and np.allclose(received, t):
            return (
                "rows and columns are swapped: out[n, o, i, j] has i the row (height) and j "
                "the column (width)"
            )
        return None

    return hint
