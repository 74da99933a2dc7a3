"""Data augmentation on NCHW NumPy batches, one random draw per image.

Every function takes ``generator=None, seed=None`` (see cnnlib.random.make_generator) and
returns a new array; the input is never modified. Combine them with `compose`::

    from functools import partial
    aug = compose(random_flip, partial(random_crop, size=28, padding=2), seed=0)
    xb = aug(xb)
"""

from __future__ import annotations

import numpy as np

from cnnlib.random import make_generator

__all__ = [
    "random_flip",
    "random_crop",
    "random_shift",
    "random_rotation",
    "random_scale",
    "gaussian_noise",
    "compose",
    "affine",
]


def _check(x, fn):
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        raise ValueError(f"{fn}: x must be a NumPy array of shape (N, C, H, W), got "
                         f"{getattr(x, 'shape', type(x).__name__)}")  # fmt: skip


def random_flip(x, p=0.5, horizontal=True, generator=None, seed=None):
    """Mirror each image left-right (or top-bottom if not `horizontal`) with probability p."""
    _check(x, "random_flip")
    g = make_generator(generator, seed)
    flip = g.random(len(x)) < p
    out = x.copy()
    axis = 3 if horizontal else 2
    out[flip] = np.flip(x[flip], axis=axis)
    return out


def random_crop(x, size, padding=0, generator=None, seed=None):
    """Zero-pad by `padding`, then cut a random (size, size) window from each image.

    x : (N, C, H, W)  ->  (N, C, size, size), as torchvision's RandomCrop(size, padding);
    size may also be an (h, w) pair.
    """
    _check(x, "random_crop")
    n, c, h, w = x.shape
    sh, sw = (size, size) if np.isscalar(size) else size
    hp, wp = h + 2 * padding, w + 2 * padding
    if sh > hp or sw > wp:
        raise ValueError(f"random_crop: size {size} is larger than the padded image ({hp}, {wp})")
    g = make_generator(generator, seed)
    padded = np.zeros((n, c, hp, wp), dtype=x.dtype)
    padded[:, :, padding : padding + h, padding : padding + w] = x
    top = g.integers(0, hp - sh + 1, size=n)
    left = g.integers(0, wp - sw + 1, size=n)
    out = np.empty((n, c, sh, sw), dtype=x.dtype)
    for i in range(n):
        out[i] = padded[i, :, top[i] : top[i] + sh, left[i] : left[i] + sw]
    return out


def random_shift(x, max_shift=2, generator=None, seed=None):
    """Move each image by whole pixels, up to `max_shift` in each direction; zeros fill in."""
    _check(x, "random_shift")
    return random_crop(x, x.shape[2:], padding=max_shift, generator=generator, seed=seed)


def affine(x, matrices, order=1):
    """Warp each image by a 2x2 matrix about its centre, with bilinear sampling, zeros outside.

    x : (N, C, H, W);  matrices : (N, 2, 2) mapping OUTPUT pixel offsets (row, col) from the
    centre to INPUT offsets (the inverse of the visible transformation).
    """
    n, c, h, w = x.shape
    rows, cols = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2, indexing="ij")
    grid = np.stack([rows.ravel(), cols.ravel()])  # (2, H*W)
    src = matrices @ grid  # (N, 2, H*W)
    r = src[:, 0] + (h - 1) / 2
    q = src[:, 1] + (w - 1) / 2
    r0, q0 = np.floor(r).astype(int), np.floor(q).astype(int)
    fr, fq = r - r0, q - q0
    out = np.zeros((n, c, h * w))
    for dr, dq, wt in ((0, 0, (1 - fr) * (1 - fq)), (0, 1, (1 - fr) * fq),
                       (1, 0, fr * (1 - fq)), (1, 1, fr * fq)):  # fmt: skip
        rr, qq = r0 + dr, q0 + dq
        ok = (rr >= 0) & (rr < h) & (qq >= 0) & (qq < w)
        flat = np.where(ok, rr * w + qq, 0)  # (N, H*W)
        vals = np.take_along_axis(x.reshape(n, c, h * w), flat[:, None, :].repeat(c, 1), axis=2)
        out += vals * (wt * ok)[:, None, :]
    return out.reshape(n, c, h, w).astype(x.dtype)


def random_rotation(x, degrees, generator=None, seed=None):
    """Rotate each image about its centre by an angle drawn from U(-degrees, degrees)."""
    _check(x, "random_rotation")
    g = make_generator(generator, seed)
    a = np.deg2rad(g.uniform(-degrees, degrees, size=len(x)))
    cos, sin = np.cos(a), np.sin(a)
    # inverse rotation in (row, col) coordinates, so the content turns counter-clockwise by a
    m = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], 1)
    return affine(x, m)


def random_scale(x, scale=(0.9, 1.1), generator=None, seed=None):
    """Zoom each image about its centre by a factor drawn from U(scale[0], scale[1])."""
    _check(x, "random_scale")
    g = make_generator(generator, seed)
    s = g.uniform(scale[0], scale[1], size=len(x))
    m = np.eye(2)[None] / s[:, None, None]
    return affine(x, m)


def gaussian_noise(x, std=0.1, clip=(0.0, 1.0), generator=None, seed=None):
    """Add N(0, std^2) noise to every pixel, then clip to `clip` (None: no clipping)."""
    _check(x, "gaussian_noise")
    g = make_generator(generator, seed)
    out = x + g.normal(0.0, std, size=x.shape)
    if clip is not None:
        out = np.clip(out, *clip)
    return out.astype(x.dtype)


def compose(*transforms, seed=None):
    """Chain augmentations that share one generator (seeded once, advancing every call).

    Each transform is called as ``t(x, generator=g)``; use functools.partial to fix the
    other arguments.
    """
    g = make_generator(seed=seed) if seed is not None else make_generator()

    def apply(x):
        for t in transforms:
            x = t(x, generator=g)
        return x

    return apply
