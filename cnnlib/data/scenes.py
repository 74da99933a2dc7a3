"""Scenes of several shapes with per-pixel labels and boxes: segmentation and detection data.

Each image holds one to `max_shapes` white shapes (the shapes of ``cnnlib.data.shapes``)
on a black background, placed so that they do not touch. Three answers come with it:

- ``masks``: the class of every pixel, 0 for background and ``i + 1`` for ``shapes[i]``
  (a pixel belongs to a shape when at least half of it is covered): the target of
  semantic segmentation;
- ``boxes``: one ``(x1, y1, x2, y2)`` box per shape, in pixels (torchvision's convention,
  see ``cnnlib.ops.boxes``), the smallest box around the shape's mask pixels;
- ``labels``: the class (1, 2, ...) of each box: the targets of detection.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cnnlib.data.shapes import SHAPES, _range, draw_shape
from cnnlib.random import make_generator

__all__ = ["ShapeScenes", "make_shape_scenes"]

# A shape of scale s fits in a circle of radius _REACH * s * size / 2 around its centre
# (draw_shape's radius is 0.9 * s * size / 2; the square's corners reach 0.8 * sqrt(2) of it).
_REACH = 0.9 * 0.8 * 2**0.5


class ShapeScenes(NamedTuple):
    """x : (n, 1, size, size) float in [0, 1]; masks : (n, size, size) int64 in 0..len(shapes);
    boxes : n arrays (k_i, 4) float64 (x1, y1, x2, y2); labels : n arrays (k_i,) int64 >= 1."""

    x: np.ndarray
    masks: np.ndarray
    boxes: list
    labels: list


def _place(g, radii, size, tries=200):
    """Centres (offsets from the image centre, in pixels) for discs of these radii that lie
    inside the image and keep one pixel apart; a disc that finds no room after `tries`
    attempts is left out. Returns the indices placed and their centres."""
    placed, centres = [], []
    for k, r in enumerate(radii):
        room = size / 2 - r - 0.5
        if room < 0:
            continue
        for _ in range(tries):
            c = g.uniform(-room, room, size=2)
            if all(np.hypot(*(c - c2)) >= r + radii[k2] + 1.0 for k2, c2 in zip(placed, centres)):
                placed.append(k)
                centres.append(c)
                break
    return placed, centres


def make_shape_scenes(
    n,
    size=32,
    shapes=("circle", "square", "triangle"),
    max_shapes=3,
    scale=(0.25, 0.45),
    rotate=0.0,
    noise=0.0,
    seed=0,
    dtype=np.float32,
) -> ShapeScenes:
    """`n` images of 1 to `max_shapes` non-touching shapes, with masks, boxes and labels.

    Parameters
    ----------
    n : int
        Number of images.
    size : int
        Height = width in pixels.
    shapes : sequence of str
        Class names from SHAPES; mask value and label i + 1 mean shapes[i].
    max_shapes : int
        Each image draws how many shapes to hold uniformly from 1..max_shapes (fewer when
        they do not fit); each shape's class is uniform over `shapes`.
    scale : float or (low, high)
        Each shape's radius as a fraction of half the image (as in ``make_shapes``).
    rotate : float or (low, high)
        Rotation in degrees; a number r means uniform in (-r, r).
    noise : float
        Standard deviation of Gaussian pixel noise added to x (then clipped to [0, 1]);
        the masks are those of the clean image.
    seed : int
        Seeds everything; the same arguments give the same scenes.

    Returns
    -------
    ShapeScenes(x, masks, boxes, labels)
    """
    if int(n) < 1 or int(size) < 8:
        raise ValueError(f"make_shape_scenes: need n >= 1 and size >= 8, got n={n}, size={size}")
    if int(max_shapes) < 1:
        raise ValueError(f"make_shape_scenes: max_shapes must be >= 1, got {max_shapes}")
    if len(shapes) < 1:
        raise ValueError("make_shape_scenes: shapes must name at least one shape")
    for name in shapes:
        if name not in SHAPES:
            raise ValueError(f"make_shape_scenes: unknown shape {name!r}; choose from {SHAPES}")
    s_lo, s_hi = _range(scale, "scale") if isinstance(scale, (tuple, list)) else (scale, scale)
    if not 0 < s_lo <= s_hi <= 1:
        raise ValueError(f"make_shape_scenes: scale must lie in (0, 1], got {scale}")
    r_lo, r_hi = _range(rotate, "rotate")
    g = make_generator(seed=seed)
    x = np.zeros((n, 1, size, size))
    masks = np.zeros((n, size, size), dtype=np.int64)
    boxes, labels = [], []
    for i in range(n):
        count = int(g.integers(1, max_shapes + 1))
        classes = g.integers(0, len(shapes), size=count)
        scales = g.uniform(s_lo, s_hi, size=count)
        placed, centres = _place(g, _REACH * scales * size / 2, size)
        img_boxes, img_labels = [], []
        for k, (cx, cy) in zip(placed, centres):
            cover = draw_shape(
                shapes[classes[k]],
                size,
                center=(cx, cy),
                angle=g.uniform(r_lo, r_hi),
                scale=scales[k],
            )
            inside = cover >= 0.5
            if not inside.any():  # too small to own a pixel: leave it out
                continue
            x[i, 0] += cover
            masks[i][inside] = classes[k] + 1
            rows, cols = np.nonzero(inside)
            img_boxes.append([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
            img_labels.append(classes[k] + 1)
        boxes.append(np.array(img_boxes, dtype=np.float64).reshape(-1, 4))
        labels.append(np.array(img_labels, dtype=np.int64))
    if noise > 0:
        x = x + g.normal(0.0, noise, size=x.shape)
    return ShapeScenes(np.clip(x, 0.0, 1.0).astype(dtype), masks, boxes, labels)
