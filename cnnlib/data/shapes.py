"""Procedurally drawn shapes: a dataset whose nuisance factors we control.

Each image holds one white shape on a black background. Its class is the shape; its
position, rotation and size are drawn at random within the ranges you ask for, which is
what the invariance chapter needs: train on centred shapes, test on shifted ones, and
see what a CNN does and does not generalise over.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cnnlib.random import make_generator

__all__ = ["SHAPES", "Shapes", "make_shapes", "draw_shape"]

SHAPES = ("circle", "square", "triangle", "cross", "ring", "diamond")


class Shapes(NamedTuple):
    """x : (n, 1, size, size) float in [0, 1]; y : (n,) int64 index into the `shapes` asked for."""

    x: np.ndarray
    y: np.ndarray


def _inside(name: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Is the point (u, v), in the shape's own frame (radius about 1), inside the shape?"""
    if name == "circle":
        return u**2 + v**2 <= 1.0
    if name == "square":
        return np.maximum(abs(u), abs(v)) <= 0.8
    if name == "diamond":
        return abs(u) + abs(v) <= 1.0
    if name == "ring":
        r2 = u**2 + v**2
        return (r2 <= 1.0) & (r2 >= 0.45)
    if name == "cross":
        return ((abs(u) <= 0.3) & (abs(v) <= 1.0)) | ((abs(v) <= 0.3) & (abs(u) <= 1.0))
    if name == "triangle":
        # equilateral, pointing up (v grows downwards in images), vertices on the unit circle
        s3 = np.sqrt(3.0)
        return (v <= 0.5) & (s3 * u - v <= 1.0) & (-s3 * u - v <= 1.0)
    raise ValueError(f"make_shapes: unknown shape {name!r}; choose from {SHAPES}")


def draw_shape(name, size=32, center=(0.0, 0.0), angle=0.0, scale=1.0, supersample=4):
    """Rasterise one shape into a (size, size) image with anti-aliased edges.

    center is in pixels from the image centre (x right, y down), angle in degrees
    (counter-clockwise), scale as a fraction of half the image (1.0 touches the border).
    Each pixel is the fraction of its ``supersample**2`` sub-pixels inside the shape.
    """
    k = supersample
    t = (np.arange(size * k) + 0.5) / k - size / 2  # sub-pixel centres, origin at the middle
    py, px = np.meshgrid(t, t, indexing="ij")
    half = size / 2 * scale * 0.9
    a = np.deg2rad(angle)
    dx, dy = px - center[0], py - center[1]
    # rotate the sampling grid by -angle so the shape appears rotated by +angle
    u = (np.cos(a) * dx - np.sin(a) * dy) / half
    v = (np.sin(a) * dx + np.cos(a) * dy) / half
    hit = _inside(name, u, v).astype(np.float64)
    return hit.reshape(size, k, size, k).mean(axis=(1, 3))


def _range(value, name, default_low=None):
    """A number r means (-r, r) (or (default_low, r)); a pair means itself."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2 or value[0] > value[1]:
            raise ValueError(f"make_shapes: {name} must be a number or a (low, high) pair")
        return float(value[0]), float(value[1])
    value = float(value)
    return (-value, value) if default_low is None else (default_low, value)


def make_shapes(
    n,
    size=32,
    shapes=("circle", "square", "triangle"),
    translate=0.0,
    rotate=0.0,
    scale=(0.5, 0.5),
    noise=0.0,
    seed=0,
    dtype=np.float32,
) -> Shapes:
    """`n` images of random shapes with labels, classes balanced.

    Parameters
    ----------
    n : int
        Number of images.
    size : int
        Height = width in pixels.
    shapes : sequence of str
        Class names from SHAPES; label i means shapes[i].
    translate : float or (low, high)
        Shift of the centre in each direction, as a fraction of `size` (0.25 = up to a quarter
        of the image); a number r means uniform in (-r, r).
    rotate : float or (low, high)
        Rotation in degrees; a number r means uniform in (-r, r).
    scale : float or (low, high)
        Radius as a fraction of half the image; a number s means exactly s.
    noise : float
        Standard deviation of Gaussian pixel noise added at the end (values are then clipped
        to [0, 1]).
    seed : int
        Seeds everything; the same arguments give the same images.

    Returns
    -------
    Shapes(x, y) with x : (n, 1, size, size) and y : (n,) int64.
    """
    if n < 1 or size < 4:
        raise ValueError(f"make_shapes: need n >= 1 and size >= 4, got n={n}, size={size}")
    for name in shapes:
        if name not in SHAPES:
            raise ValueError(f"make_shapes: unknown shape {name!r}; choose from {SHAPES}")
    t_lo, t_hi = _range(translate, "translate")
    r_lo, r_hi = _range(rotate, "rotate")
    s_lo, s_hi = _range(scale, "scale") if isinstance(scale, (tuple, list)) else (scale, scale)
    g = make_generator(seed=seed)
    y = np.arange(n) % len(shapes)
    g.shuffle(y)
    x = np.empty((n, 1, size, size))
    for i in range(n):
        cx, cy = g.uniform(t_lo, t_hi, size=2) * size
        x[i, 0] = draw_shape(
            shapes[y[i]],
            size,
            center=(cx, cy),
            angle=g.uniform(r_lo, r_hi),
            scale=g.uniform(s_lo, s_hi),
        )
    if noise > 0:
        x = np.clip(x + g.normal(0.0, noise, size=x.shape), 0.0, 1.0)
    return Shapes(x.astype(dtype), y.astype(np.int64))
