"""Checker for the Grad-CAM map of one image (Part VI)."""

from __future__ import annotations

import numpy as np

from cnnlib.exercises._calls import as_array, call, call_text
from cnnlib.exercises._compare import compare
from cnnlib.exercises._report import ladder_of, run_ladder

__all__ = ["check_grad_cam"]


def grad_cam(activations, gradients):
    """ReLU of the channel-weighted sum of the maps; weights: spatial means of the gradients."""
    alpha = gradients.mean(axis=(1, 2))  # (C,)
    return np.maximum(np.tensordot(alpha, activations, axes=1), 0)


def _cam_case(a, g):
    def case(fn):
        expected = grad_cam(a, g)
        names = ["activations", "gradients"]
        text = call_text([a, g], {}, names)
        called = call(fn, [a, g], {}, names)
        if called.problem:
            return called.problem
        cam, problem = as_array(called.value, text)
        if problem:
            return problem
        h, w = a.shape[1:]
        alpha = g.mean(axis=(1, 2))
        raw = np.tensordot(alpha, a, axes=1)
        peak = expected.max()

        def normalised(r):
            if peak > 0 and r.shape == expected.shape and np.allclose(r * peak, expected * r.max()):
                return (
                    "your map is the right map rescaled (e.g. divided by its maximum): return "
                    "it unnormalised, and normalise only to draw it"
                )
            return None

        hints = [
            (raw, "the ReLU is missing: keep only the positive evidence, np.maximum(cam, 0)"),
            (np.abs(raw), "use ReLU, np.maximum(cam, 0), not the absolute value"),
            (expected * h * w, "the channel weights are sums of the gradients: use their means"),
            (
                np.maximum(np.tensordot(a.mean(axis=(1, 2)), g, axes=1), 0),
                "activations and gradients are swapped: the weights are the means of the "
                "gradients, and they weight the activations",
            ),
            (
                np.maximum(alpha[:, None, None] * a, 0).sum(axis=0),
                "apply the ReLU once, to the weighted sum, not to each channel",
            ),
            (
                np.maximum((g * a).sum(axis=0), 0),
                "weight each channel by one number, the mean of its gradient, not by the "
                "gradient at each position",
            ),
            (
                alpha[:, None, None] * a,
                "sum the weighted channels into one (H, W) map",
            ),
            normalised,
        ]
        return compare(cam, expected, text, "map", hints)

    return case


def check_grad_cam(fn, *, quiet=False):
    """Check a learner's Grad-CAM map for one image and one class.

    ``fn`` is called as ``fn(activations, gradients)`` with the (C, H, W) feature maps of
    the chosen layer and the (C, H, W) gradients of the class score with respect to them,
    and must return the (H, W) map ``relu(sum over c of alpha_c * activations[c])`` with
    ``alpha_c = gradients[c].mean()`` (Selvaraju et al., 2017), unnormalised.

    Parameters
    ----------
    fn : callable
        ``fn(activations, gradients) -> cam``.
    quiet : bool
        Do not print the report.

    Returns
    -------
    CheckResult
        Truthy when every case passed.

    Examples
    --------
    >>> import numpy as np
    >>> from cnnlib.exercises import check_grad_cam
    >>> def grad_cam(activations, gradients):
    ...     alpha = gradients.mean(axis=(1, 2))
    ...     return np.maximum(np.einsum("c,chw->hw", alpha, activations), 0)
    >>> bool(check_grad_cam(grad_cam, quiet=True))
    True
    """
    rng = np.random.default_rng(14)
    a1 = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    g1 = np.array([[[1.0, 0.0], [2.0, 1.0]]])
    a2 = np.array([[[1.0, 0.0], [0.0, 2.0]], [[0.0, 3.0], [1.0, 1.0]]])
    g2 = np.array([[[2.0, 2.0], [2.0, 2.0]], [[-1.0, 0.0], [-2.0, -1.0]]])
    cases = [
        ("one channel, 2x2, positive weight", _cam_case(a1, g1)),
        ("two channels, one with a negative weight: ReLU clips the map", _cam_case(a2, g2)),
        (
            "four channels of 3x5 maps with ReLU-like activations",
            _cam_case(
                np.maximum(rng.standard_normal((4, 3, 5)), 0), rng.standard_normal((4, 3, 5))
            ),
        ),
    ]
    configs = [
        _cam_case(
            np.maximum(rng.standard_normal((c, h, w)), 0), rng.standard_normal((c, h, w)) + 0.1
        )
        for c, h, w in rng.integers([1, 1, 1], [17, 8, 8], size=(3, 3))
    ]
    cases.append(("random feature maps (3 configurations)", ladder_of(configs)))
    return run_ladder("check_grad_cam", "Grad-CAM's definition", fn, cases, quiet)
