"""Boxes for detection, under torchvision.ops' names: area, IoU, non-maximum suppression.

A box is four numbers ``(x1, y1, x2, y2)`` in pixels: its left, top, right and bottom
edges, with ``0 <= x1 <= x2`` and ``0 <= y1 <= y2`` (torchvision's "xyxy" format). A pixel
(row i, column j) covers the square ``[j, j + 1) x [i, i + 1)``, so a box around the
pixels of columns 2..5 and rows 0..3 is ``(2, 0, 6, 4)``: 4 wide, 4 high, area 16.

IoU (intersection over union, the Jaccard index of two boxes)::

    inter = max(0, min(x2, x2') - max(x1, x1')) * max(0, min(y2, y2') - max(y1, y1'))
    IoU   = inter / (area + area' - inter)          in [0, 1]; 1 only for equal boxes

Non-maximum suppression: a detector proposes many overlapping boxes for one object. Visit
the boxes from the highest score down; keep a box unless it overlaps a box already kept
by more than ``iou_threshold``. What is kept is one box per object (when the threshold is
right) and the indices come back in decreasing order of score.

These take NumPy arrays or torch tensors and return the same kind.
"""

from __future__ import annotations

import numpy as np

from cnnlib.backend import namespace, to_numpy

__all__ = ["box_area", "box_iou", "nms"]


def _check_boxes(boxes, name: str, fn: str, xp):
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(
            f"{fn}: {name} must have shape (K, 4), one (x1, y1, x2, y2) per row, "
            f"got {tuple(boxes.shape)}"
        )
    if not xp.isdtype(boxes.dtype, "real floating"):
        raise TypeError(f"{fn}: {name} must be floating point, got {boxes.dtype}")
    if boxes.shape[0] and bool(
        xp.any(boxes[:, 2] < boxes[:, 0]) or xp.any(boxes[:, 3] < boxes[:, 1])
    ):
        raise ValueError(f"{fn}: {name} must satisfy x1 <= x2 and y1 <= y2 in every row")


def box_area(boxes):
    """Area of each box.

    boxes : (K, 4) as (x1, y1, x2, y2)
    returns : (K,)  (x2 - x1) * (y2 - y1)
    """
    xp = namespace(boxes, names=["boxes"], fn="box_area")
    _check_boxes(boxes, "boxes", "box_area", xp)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_iou(boxes1, boxes2):
    """Intersection over union of every pair of boxes.

    boxes1 : (N, 4), boxes2 : (M, 4) as (x1, y1, x2, y2)
    returns : (N, M)  iou[i, j] = IoU(boxes1[i], boxes2[j]); 0/0 (two empty boxes) is nan
    """
    xp = namespace(boxes1, boxes2, names=["boxes1", "boxes2"], fn="box_iou")
    _check_boxes(boxes1, "boxes1", "box_iou", xp)
    _check_boxes(boxes2, "boxes2", "box_iou", xp)
    if boxes1.dtype != boxes2.dtype:
        raise TypeError(
            f"box_iou: boxes1 and boxes2 must have the same dtype, "
            f"got {boxes1.dtype} and {boxes2.dtype}"
        )
    a, b = boxes1[:, None, :], boxes2[None, :, :]  # (N, 1, 4) against (1, M, 4)
    w = xp.clip(xp.minimum(a[..., 2], b[..., 2]) - xp.maximum(a[..., 0], b[..., 0]), 0, None)
    h = xp.clip(xp.minimum(a[..., 3], b[..., 3]) - xp.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    union = box_area(boxes1)[:, None] + box_area(boxes2)[None, :] - inter
    return inter / union


def nms(boxes, scores, iou_threshold):
    """Indices of the boxes non-maximum suppression keeps, highest score first.

    boxes : (K, 4) as (x1, y1, x2, y2);  scores : (K,);  iou_threshold : float
    A box is dropped when its IoU with a kept box of higher score is > iou_threshold.
    Equal scores are visited in index order. returns : (k,) int64 indices into boxes.
    """
    xp = namespace(boxes, scores, names=["boxes", "scores"], fn="nms")
    _check_boxes(boxes, "boxes", "nms", xp)
    if scores.ndim != 1 or scores.shape[0] != boxes.shape[0]:
        raise ValueError(
            f"nms: scores must have shape (K,) with K = len(boxes) = {boxes.shape[0]}, "
            f"got {tuple(scores.shape)}"
        )
    if isinstance(iou_threshold, bool) or not isinstance(iou_threshold, (int, float)):
        raise TypeError(f"nms: iou_threshold must be a number, got {iou_threshold!r}")
    order = to_numpy(xp.argsort(-scores, stable=True))
    overlaps = to_numpy(box_iou(boxes, boxes)) > iou_threshold  # (K, K) bool; nan is False
    suppressed = np.zeros(overlaps.shape[0], dtype=bool)
    keep = []
    for i in order:
        if not suppressed[i]:
            keep.append(int(i))
            suppressed = suppressed | overlaps[i]
    return xp.asarray(keep, dtype=xp.int64, device=getattr(boxes, "device", None))
