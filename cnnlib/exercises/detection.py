"""Checker for non-maximum suppression (chapter 18)."""

from __future__ import annotations

import numpy as np

from cnnlib.exercises._calls import as_array, call, call_text
from cnnlib.exercises._compare import compare
from cnnlib.exercises._report import ladder_of, run_ladder
from cnnlib.ops.boxes import nms as reference_nms

__all__ = ["check_nms"]


def _iou(boxes, plus_one=False):
    """(K, K) IoU of (x1, y1, x2, y2) boxes; plus_one: the old inclusive-pixel widths."""
    e = 1.0 if plus_one else 0.0
    a, b = boxes[:, None, :], boxes[None, :, :]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + e, 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + e, 0, None)
    area = (boxes[:, 2] - boxes[:, 0] + e) * (boxes[:, 3] - boxes[:, 1] + e)
    inter = w * h
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / (area[:, None] + area[None, :] - inter)


def slipped_nms(
    boxes, scores, iou_threshold, *, ascending=False, strict=True, chain=False, plus_one=False
):
    """Greedy NMS with one of the usual mistakes switched on: what the hints compare with."""
    order = np.argsort(scores if ascending else -scores, kind="stable")
    iou = _iou(boxes, plus_one)
    over = iou > iou_threshold if strict else iou >= iou_threshold
    suppressed = np.zeros(len(boxes), dtype=bool)
    keep = []
    for rank, i in enumerate(order):
        if chain:  # dropped when a higher-scoring box, kept or not, overlaps it
            if not any(over[j, i] for j in order[:rank]):
                keep.append(int(i))
            continue
        if not suppressed[i]:
            keep.append(int(i))
            suppressed |= over[i]
    return np.array(keep, dtype=np.int64)


def _nms_case(boxes, scores, thr):
    def case(fn):
        expected = reference_nms(boxes, scores, thr)
        names = ["boxes", "scores", "iou_threshold"]
        text = call_text([boxes, scores, thr], {}, names)
        called = call(fn, [boxes, scores, thr], {}, names)
        if called.problem:
            return called.problem
        value = called.value
        if isinstance(value, list) and all(isinstance(v, (int, np.integer)) for v in value):
            value = np.array(value, dtype=np.int64)  # a list of indices is fine
        kept, problem = as_array(value, text)
        if problem:
            return problem

        def mask(received):
            if received.dtype == bool:
                return (
                    "return the indices of the kept boxes, highest score first, not a "
                    "True/False mask over the boxes"
                )
            return None

        def by_index(received):
            if received.shape == expected.shape and np.array_equal(received, np.sort(expected)):
                return (
                    "right boxes, wrong order: return the indices in the order you kept "
                    "them, highest score first (not sorted by index)"
                )
            return None

        def hints():
            return [
                mask,
                by_index,
                (
                    slipped_nms(boxes, scores, thr, strict=False),
                    "a box is dropped only when its IoU is greater than the threshold; "
                    "an IoU equal to it keeps the box (use >, not >=)",
                ),
                (
                    slipped_nms(boxes, scores, thr, chain=True),
                    "only kept boxes suppress others: a box that was itself suppressed "
                    "must not remove the boxes it overlaps",
                ),
                (
                    slipped_nms(boxes, scores, thr, ascending=True),
                    "visit the boxes from the highest score down: np.argsort(-scores)",
                ),
                (
                    slipped_nms(boxes, scores, thr, plus_one=True),
                    "a box's width is x2 - x1 (its edges are in pixels), not x2 - x1 + 1",
                ),
            ]

        return compare(kept, expected, text, "list of kept indices", hints)

    return case


def _random_case(rng, k):
    xy = rng.uniform(0, 12, size=(k, 2))
    wh = rng.uniform(2, 8, size=(k, 2))
    scores = rng.integers(1, 40, size=k) / 40  # some ties
    return _nms_case(np.concatenate([xy, xy + wh], axis=1), scores, float(rng.uniform(0.2, 0.7)))


def check_nms(fn, *, quiet=False):
    """Check a learner's non-maximum suppression.

    ``fn`` is called as ``fn(boxes, scores, iou_threshold)`` with boxes : (K, 4) float
    (x1, y1, x2, y2) in pixels, scores : (K,) and a float threshold, as
    ``cnnlib.ops.nms`` and ``torchvision.ops.nms`` are, and must return the indices of
    the boxes it keeps, highest score first: visit the boxes from the highest score
    down, keep a box unless its IoU with a box already kept is greater than
    ``iou_threshold``. Equal scores are visited in index order.

    Parameters
    ----------
    fn : callable
        ``fn(boxes, scores, iou_threshold) -> indices`` (an int array or a list of ints).
    quiet : bool
        Do not print the report.

    Returns
    -------
    CheckResult
        Truthy when every case passed.

    Examples
    --------
    >>> from cnnlib.exercises import check_nms
    >>> from cnnlib.ops import nms
    >>> bool(check_nms(nms, quiet=True))
    True
    """
    rng = np.random.default_rng(18)
    f = np.float64
    cases = [
        (
            "one object proposed twice: keep the better box",
            _nms_case(np.array([[0, 0, 4, 4], [0, 0, 4, 3]], f), np.array([0.6, 0.9]), 0.5),
        ),
        (
            "two objects, each proposed three times: one box each, best first",
            _nms_case(
                np.array(
                    [[0, 0, 10, 10], [1, 0, 11, 10], [0, 1, 11, 11]]
                    + [[30, 30, 40, 40], [31, 30, 41, 40], [30, 31, 41, 41]],
                    f,
                ),
                np.array([0.6, 0.9, 0.7, 0.8, 0.5, 0.95]),
                0.5,
            ),
        ),
        (
            "two boxes that share an edge do not overlap",
            _nms_case(np.array([[0, 0, 4, 4], [4, 0, 8, 4]], f), np.array([0.9, 0.8]), 0.1),
        ),
        (
            "an IoU equal to the threshold (0.5) keeps the box",
            _nms_case(np.array([[0, 0, 4, 4], [0, 0, 4, 2]], f), np.array([0.9, 0.8]), 0.5),
        ),
        (
            "a chain: A overlaps B, B overlaps C, A and C apart",
            _nms_case(
                np.array([[0, 0, 4, 4], [2, 0, 6, 4], [4, 0, 8, 4]], f),
                np.array([0.9, 0.8, 0.7]),
                0.3,
            ),
        ),
        (
            "random boxes, some equal scores (3 configurations)",
            ladder_of([_random_case(rng, k) for k in (6, 12, 20)]),
        ),
    ]
    return run_ladder("check_nms", "cnnlib.ops.nms", fn, cases, quiet)
