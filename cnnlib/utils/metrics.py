"""How good is a segmentation? Confusion matrix, IoU (Jaccard index) and Dice, per class.

For one class c, over all pixels, let TP be the pixels predicted c that are c, FP those
predicted c that are not, FN those that are c but predicted otherwise::

    IoU_c  = TP / (TP + FP + FN)            = |P ∩ T| / |P ∪ T|
    Dice_c = 2 TP / (2 TP + FP + FN)        = 2 |P ∩ T| / (|P| + |T|)  = 2 IoU / (1 + IoU)

Pixel accuracy counts TP of every class (background included) over all pixels, so when
background covers most of the image a model that predicts only background scores high;
IoU and Dice of the object classes are 0 for it. A class absent from both prediction and
target has 0 / 0: its score is nan and averages skip it.

``average``: None gives one score per class; "macro" the mean over classes (nan skipped);
"micro" pools TP, FP and FN over the classes first. The names follow torchmetrics'
``jaccard_index`` and ``dice``. Label maps are NumPy arrays or torch tensors of integers.
"""

from __future__ import annotations

import numpy as np

from cnnlib.backend import check_array, to_numpy

__all__ = ["confusion_matrix", "jaccard_index", "dice_score"]


def confusion_matrix(preds, target, num_classes):
    """Counts of (true class, predicted class) pairs over all pixels.

    preds, target : integer label maps of the same shape, e.g. (N, H, W), values in
        0..num_classes-1
    returns : (num_classes, num_classes) int64 NumPy array, cm[t, p] = number of pixels
        of true class t predicted as p
    """
    fn = "confusion_matrix"
    check_array(preds, "preds", fn)
    check_array(target, "target", fn)
    p, t = to_numpy(preds), to_numpy(target)
    if p.shape != t.shape:
        raise ValueError(
            f"{fn}: preds and target must have the same shape, got {p.shape} and {t.shape}"
        )
    for name, a in (("preds", p), ("target", t)):
        if not np.issubdtype(a.dtype, np.integer):
            raise TypeError(
                f"{fn}: {name} must hold integer class labels, got {a.dtype} "
                "(take argmax over the class axis of the logits first)"
            )
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"{fn}: num_classes must be an int, got {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"{fn}: num_classes must be >= 1, got {num_classes}")
    for name, a in (("preds", p), ("target", t)):
        if a.size and (a.min() < 0 or a.max() >= num_classes):
            raise ValueError(
                f"{fn}: {name} values must lie in 0..{num_classes - 1}, "
                f"got min {a.min()}, max {a.max()}"
            )
    pairs = t.ravel().astype(np.int64) * num_classes + p.ravel()
    return np.bincount(pairs, minlength=num_classes**2).reshape(num_classes, num_classes)


def _scores(preds, target, num_classes, average, fn, dice):
    if average not in (None, "macro", "micro"):
        raise ValueError(f"{fn}: average must be None, 'macro' or 'micro', got {average!r}")
    cm = confusion_matrix(preds, target, num_classes)
    tp = np.diag(cm).astype(np.float64)
    fp = cm.sum(axis=0) - tp  # predicted c, true class other
    fn_ = cm.sum(axis=1) - tp  # true c, predicted other
    if average == "micro":
        tp, fp, fn_ = tp.sum(), fp.sum(), fn_.sum()
    k = 2.0 if dice else 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        score = k * tp / (k * tp + fp + fn_)
    if average == "macro":
        return float(np.nanmean(score)) if np.any(~np.isnan(score)) else float("nan")
    return float(score) if average == "micro" else score


def jaccard_index(preds, target, num_classes, average="macro"):
    """IoU = TP / (TP + FP + FN) per class, from integer label maps of the same shape.

    returns : a float ("macro", "micro") or a (num_classes,) array (None; nan where the
        class is absent from both)
    """
    return _scores(preds, target, num_classes, average, "jaccard_index", dice=False)


def dice_score(preds, target, num_classes, average="macro"):
    """Dice = 2 TP / (2 TP + FP + FN) per class, from integer label maps of the same shape.

    returns : a float ("macro", "micro") or a (num_classes,) array (None; nan where the
        class is absent from both)
    """
    return _scores(preds, target, num_classes, average, "dice_score", dice=True)
