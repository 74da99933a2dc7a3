"""Detection and segmentation helpers: cnnlib.ops box_area / box_iou / nms, cnnlib.utils.metrics
and cnnlib.data.make_shape_scenes, against plain-Python references and scikit-learn."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlib.data import make_shape_scenes
from cnnlib.ops import box_area, box_iou, nms
from cnnlib.utils.metrics import confusion_matrix, dice_score, jaccard_index


def _random_boxes(g, k, size=20.0):
    xy = g.uniform(0, size, size=(k, 2))
    wh = g.uniform(0.5, size / 2, size=(k, 2))
    return np.concatenate([xy, xy + wh], axis=1)


def _iou_ref(a, b):
    """IoU of two boxes from the lengths of the overlapping intervals."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _nms_ref(boxes, scores, thr):
    """The definition, greedily: the best remaining box is kept, its overlaps removed."""
    left = sorted(range(len(boxes)), key=lambda i: (-scores[i], i))
    keep = []
    while left:
        best = left.pop(0)
        keep.append(best)
        left = [j for j in left if _iou_ref(boxes[best], boxes[j]) <= thr]
    return keep


def test_box_area_and_iou_hand_case():
    a = np.array([[0.0, 0.0, 4.0, 4.0], [2.0, 0.0, 6.0, 4.0]])
    np.testing.assert_allclose(box_area(a), [16.0, 16.0])
    # overlap 2 x 4 = 8, union 16 + 16 - 8 = 24
    np.testing.assert_allclose(box_iou(a, a), [[1.0, 1 / 3], [1 / 3, 1.0]])
    far = np.array([[10.0, 10.0, 12.0, 12.0]])
    np.testing.assert_allclose(box_iou(a, far), [[0.0], [0.0]])  # touching nothing: 0


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 6), seed=st.integers(0, 10**6))
def test_box_iou_matches_reference(n, m, seed):
    g = np.random.default_rng(seed)
    b1, b2 = _random_boxes(g, n), _random_boxes(g, m)
    got = box_iou(b1, b2)
    assert got.shape == (n, m)
    ref = [[_iou_ref(a, b) for b in b2] for a in b1]
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    np.testing.assert_allclose(box_iou(b2, b1), got.T)  # symmetric
    assert np.all((got >= 0) & (got <= 1))


@settings(max_examples=60, deadline=None)
@given(k=st.integers(0, 25), thr=st.floats(0.0, 0.9), seed=st.integers(0, 10**6))
def test_nms_matches_greedy_definition(k, thr, seed):
    g = np.random.default_rng(seed)
    boxes = _random_boxes(g, k, size=10.0)
    scores = g.integers(0, 5, size=k).astype(np.float64)  # ties happen: index order breaks them
    keep = nms(boxes, scores, thr)
    assert keep.dtype == np.int64
    assert keep.tolist() == _nms_ref(boxes, scores, thr)
    kept = boxes[keep]
    iou = box_iou(kept, kept)
    assert np.all(iou[~np.eye(len(keep), dtype=bool)] <= thr)  # no two kept boxes overlap > thr


def test_nms_keeps_one_box_per_object():
    obj = np.array([[0.0, 0.0, 10.0, 10.0], [30.0, 30.0, 40.0, 40.0]])
    jitter = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 1.0]])
    boxes = np.concatenate([obj[0] + jitter, obj[1] + jitter])
    scores = np.array([0.6, 0.9, 0.7, 0.8, 0.5, 0.95])
    assert nms(boxes, scores, 0.5).tolist() == [5, 1]
    assert nms(boxes, scores, 1.0).tolist() == [5, 1, 3, 2, 0, 4]  # nothing above 1


def test_boxes_on_torch_give_torch():
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(0)
    b = _random_boxes(g, 8, size=10.0)
    s = g.uniform(size=8)
    t_keep = nms(torch.tensor(b), torch.tensor(s), 0.3)
    assert isinstance(t_keep, torch.Tensor) and t_keep.dtype == torch.int64
    assert t_keep.tolist() == nms(b, s, 0.3).tolist()
    np.testing.assert_allclose(box_iou(torch.tensor(b), torch.tensor(b)).numpy(), box_iou(b, b))


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: box_area(np.zeros((3, 5))), ValueError, "boxes must have shape (K, 4)"),
        (lambda: box_iou(np.zeros((2, 4)), np.zeros(4)), ValueError, "boxes2 must have shape"),
        (lambda: box_area(np.zeros((2, 4), dtype=int)), TypeError, "floating point"),
        (lambda: box_area(np.array([[3.0, 0, 1, 2]])), ValueError, "x1 <= x2"),
        (lambda: nms(np.zeros((3, 4)), np.zeros(2), 0.5), ValueError, "scores must have shape"),
        (lambda: nms(np.zeros((3, 4)), np.zeros(3), "0.5"), TypeError, "iou_threshold"),
        (lambda: box_iou([[0, 0, 1, 1]], np.zeros((1, 4))), TypeError, "boxes1 must be an array"),
    ],
)
def test_boxes_bad_input(call, error, words):
    with pytest.raises(error, match=None) as info:
        call()
    assert words in str(info.value)


# --- segmentation metrics ----------------------------------------------------------------


def _sets_iou_dice(p, t, c):
    P, T = set(np.flatnonzero(p == c)), set(np.flatnonzero(t == c))
    if not P and not T:
        return np.nan, np.nan
    return len(P & T) / len(P | T), 2 * len(P & T) / (len(P) + len(T))


@settings(max_examples=40, deadline=None)
@given(c=st.integers(2, 5), seed=st.integers(0, 10**6))
def test_metrics_match_set_definitions_and_sklearn(c, seed):
    from sklearn.metrics import confusion_matrix as sk_cm
    from sklearn.metrics import f1_score, jaccard_score

    g = np.random.default_rng(seed)
    t = g.integers(0, c, size=(3, 6, 5))
    p = np.where(g.uniform(size=t.shape) < 0.6, t, g.integers(0, c, size=t.shape))
    labels = list(range(c))
    np.testing.assert_array_equal(
        confusion_matrix(p, t, c), sk_cm(t.ravel(), p.ravel(), labels=labels)
    )
    iou, dice = jaccard_index(p, t, c, average=None), dice_score(p, t, c, average=None)
    ref = np.array([_sets_iou_dice(p.ravel(), t.ravel(), k) for k in labels])
    np.testing.assert_allclose(iou, ref[:, 0])
    np.testing.assert_allclose(dice, ref[:, 1])
    present = ~np.isnan(ref[:, 0])
    sk_iou = jaccard_score(t.ravel(), p.ravel(), labels=labels, average=None, zero_division=0)
    np.testing.assert_allclose(iou[present], sk_iou[present])
    sk_f1 = f1_score(t.ravel(), p.ravel(), labels=labels, average=None, zero_division=0)
    np.testing.assert_allclose(dice[present], sk_f1[present])  # Dice is F1 on pixels
    np.testing.assert_allclose(dice, 2 * iou / (1 + iou))
    assert jaccard_index(p, t, c) == pytest.approx(np.nanmean(ref[:, 0]))
    np.testing.assert_allclose(
        jaccard_index(p, t, c, average="micro"),
        jaccard_score(t.ravel(), p.ravel(), labels=labels, average="micro"),
    )


def test_all_background_predictor_scores_high_accuracy_and_zero_iou():
    t = np.zeros((10, 10), dtype=np.int64)
    t[2:4, 2:4] = 1  # 4 object pixels out of 100
    p = np.zeros_like(t)
    assert (p == t).mean() == 0.96
    np.testing.assert_allclose(jaccard_index(p, t, 2, average=None), [0.96, 0.0])
    assert jaccard_index(p, t, 2) == pytest.approx(0.48)
    # a class nobody predicts and nobody has is nan and left out of the mean
    per = jaccard_index(p, t, 3, average=None)
    assert np.isnan(per[2]) and jaccard_index(p, t, 3) == pytest.approx(0.48)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (
            lambda: jaccard_index(np.zeros((2, 3), int), np.zeros((3, 2), int), 2),
            ValueError,
            "same shape",
        ),
        (lambda: dice_score(np.zeros((2, 2)), np.zeros((2, 2), int), 2), TypeError, "argmax"),
        (
            lambda: jaccard_index(np.full((2, 2), 3), np.zeros((2, 2), int), 3),
            ValueError,
            "preds values must lie in 0..2",
        ),
        (
            lambda: jaccard_index(np.zeros(4, int), np.zeros(4, int), 2, average="mean"),
            ValueError,
            "average must be",
        ),
        (
            lambda: confusion_matrix(np.zeros(4, int), np.zeros(4, int), 2.0),
            TypeError,
            "num_classes must be an int",
        ),
    ],
)
def test_metrics_bad_input(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


# --- scenes ------------------------------------------------------------------------------


def test_scenes_masks_boxes_labels_agree():
    s = make_shape_scenes(60, size=32, max_shapes=3, seed=3)
    assert s.x.shape == (60, 1, 32, 32) and s.x.dtype == np.float32
    assert s.masks.shape == (60, 32, 32) and s.masks.dtype == np.int64
    assert 0.0 <= s.x.min() and s.x.max() <= 1.0
    counts = [len(b) for b in s.boxes]
    assert min(counts) >= 1 and max(counts) == 3 and len(set(counts)) == 3
    for x, m, boxes, labels in zip(s.x, s.masks, s.boxes, s.labels):
        assert boxes.shape == (len(labels), 4) and set(labels) <= {1, 2, 3}
        covered = np.zeros_like(m, dtype=bool)
        for (x1, y1, x2, y2), lab in zip(boxes.astype(int), labels):
            inside = m[y1:y2, x1:x2] == lab
            # the box is the smallest around its mask: every edge row/column has a pixel
            assert inside[0].any() and inside[-1].any()
            assert inside[:, 0].any() and inside[:, -1].any()
            covered[y1:y2, x1:x2] |= inside
        assert np.array_equal(covered, m > 0)  # every labelled pixel lies in its box
        assert np.all(x[0][m > 0] >= 0.5)  # a labelled pixel is at least half covered


def test_scenes_seeded_and_classes_used():
    a, b = make_shape_scenes(20, seed=1), make_shape_scenes(20, seed=1)
    c = make_shape_scenes(20, seed=2)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.masks, b.masks)
    assert not np.array_equal(a.masks, c.masks)
    s = make_shape_scenes(40, shapes=("ring", "cross"), max_shapes=2, noise=0.1, seed=0)
    assert set(np.unique(s.masks)) == {0, 1, 2}
    assert all(set(lab) <= {1, 2} for lab in s.labels)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(n=0), "n >= 1"),
        (dict(n=2, shapes=("circle", "blob")), "unknown shape 'blob'"),
        (dict(n=2, max_shapes=0), "max_shapes must be >= 1"),
        (dict(n=2, scale=(0.5, 1.5)), "scale must lie in (0, 1]"),
    ],
)
def test_scenes_bad_input(kwargs, words):
    with pytest.raises(ValueError) as info:
        make_shape_scenes(**kwargs)
    assert words in str(info.value)


def test_scenes_every_pair_of_classes_appears():
    s = make_shape_scenes(200, seed=0)
    seen = {tuple(sorted(set(lab))) for lab in s.labels}
    assert all(pair in seen for pair in itertools.combinations((1, 2, 3), 2))
