"""Data augmentation on NCHW NumPy batches, one random draw per image.

Every random function takes ``generator=None, seed=None`` (see cnnlib.random.make_generator)
and returns a new array; the input is never modified. Combine them with `compose`::

    from functools import partial
    aug = compose(random_flip, partial(random_crop, size=28, padding=2), seed=0)
    xb = aug(xb)

- geometry: `random_flip`, `random_crop`, `random_shift`, `random_rotation`, `random_scale`,
  `affine`, and the fixed `hflip` and `translate`;
- pixel values: `color_jitter`, `gaussian_noise`;
- occlusion: `cutout`, `random_erasing`;
- mixing two images and their labels: `mixup`, `cutmix`, applied batch by batch with
  `MixedLoader`;
- test-time augmentation: `tta_predict`.

The semantics follow torchvision (RandomHorizontalFlip, RandomCrop, ColorJitter,
RandomErasing, MixUp, CutMix) or the paper's own code where torchvision has none (cutout);
each docstring says where they differ.
"""

from __future__ import annotations

import math

import numpy as np

from cnnlib.random import make_generator

__all__ = [
    "random_flip",
    "random_crop",
    "random_shift",
    "random_rotation",
    "random_scale",
    "affine",
    "hflip",
    "translate",
    "color_jitter",
    "gaussian_noise",
    "cutout",
    "random_erasing",
    "mixup",
    "cutmix",
    "MixedLoader",
    "tta_predict",
    "compose",
]


def _check(x, fn):
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        shape = getattr(x, "shape", type(x).__name__)
        raise ValueError(f"{fn}: x must be a NumPy array of shape (N, C, H, W), got {shape}")


def _check_p(p, fn):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{fn}: p must be a probability in [0, 1], got {p}")


# --- geometry -------------------------------------------------------------------------------


def hflip(x):
    """Mirror every image left-right: x : (N, C, H, W) -> same shape (a copy)."""
    _check(x, "hflip")
    return x[..., ::-1].copy()


def translate(x, dy, dx):
    """Move every image down by dy and right by dx whole pixels; zeros fill in.

    x : (N, C, H, W) -> same shape. Negative dy, dx move up and left.
    """
    _check(x, "translate")
    h, w = x.shape[-2:]
    out = np.zeros_like(x)
    dst = (..., slice(max(dy, 0), h + min(dy, 0)), slice(max(dx, 0), w + min(dx, 0)))
    src = (..., slice(max(-dy, 0), h + min(-dy, 0)), slice(max(-dx, 0), w + min(-dx, 0)))
    out[dst] = x[src]
    return out


def random_flip(x, p=0.5, horizontal=True, generator=None, seed=None):
    """Mirror each image left-right (or top-bottom if not `horizontal`) with probability p."""
    _check(x, "random_flip")
    _check_p(p, "random_flip")
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
    centre to INPUT offsets (the inverse of the visible transformation). The same sampling as
    torch.nn.functional.grid_sample(mode="bilinear", padding_mode="zeros",
    align_corners=True). order must be 1 (bilinear), the only one implemented.
    """
    _check(x, "affine")
    matrices = np.asarray(matrices, dtype=np.float64)
    if matrices.shape != (len(x), 2, 2):
        raise ValueError(
            f"affine: matrices must have shape (N, 2, 2) = ({len(x)}, 2, 2), got {matrices.shape}"
        )
    if order != 1:
        raise ValueError(f"affine: only order=1 (bilinear) is implemented, got {order}")
    out = np.empty_like(x)
    for i in range(0, len(x), 256):  # in chunks, so the temporaries stay small
        out[i : i + 256] = _bilinear_warp(x[i : i + 256], matrices[i : i + 256])
    return out


def _bilinear_warp(x, matrices):
    n, c, h, w = x.shape
    rows, cols = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2, indexing="ij")
    grid = np.stack([rows.ravel(), cols.ravel()])  # (2, H*W)
    src = matrices @ grid  # (N, 2, H*W)
    r = src[:, 0] + (h - 1) / 2
    q = src[:, 1] + (w - 1) / 2
    r0, q0 = np.floor(r).astype(int), np.floor(q).astype(int)
    fr, fq = r - r0, q - q0
    corners = [(0, 0, (1 - fr) * (1 - fq)), (0, 1, (1 - fr) * fq)]
    corners += [(1, 0, fr * (1 - fq)), (1, 1, fr * fq)]
    out = np.zeros((n, c, h * w))
    for dr, dq, wt in corners:
        rr, qq = r0 + dr, q0 + dq
        ok = (rr >= 0) & (rr < h) & (qq >= 0) & (qq < w)
        flat = np.where(ok, rr * w + qq, 0)  # (N, H*W)
        vals = np.take_along_axis(x.reshape(n, c, h * w), flat[:, None, :].repeat(c, 1), axis=2)
        out += vals * (wt * ok)[:, None, :]
    return out.reshape(n, c, h, w)


def random_rotation(x, degrees, generator=None, seed=None):
    """Rotate each image about its centre by an angle drawn from U(-degrees, degrees).

    Positive angles turn the content counter-clockwise, as torchvision's RandomRotation
    (which samples the nearest pixel by default; this one is bilinear). Zeros fill in.
    """
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


# --- pixel values -----------------------------------------------------------------------------


def _factors(value, name, g, n):
    """torchvision's ColorJitter ranges: b -> U(max(0, 1 - b), 1 + b); a pair -> U(lo, hi).

    None when the range is the single factor 1 (the adjustment is off)."""
    lo, hi = (max(0.0, 1.0 - value), 1.0 + value) if np.isscalar(value) else value
    if not 0.0 <= lo <= hi:
        raise ValueError(f"color_jitter: {name} must give 0 <= low <= high, got {value}")
    return None if lo == hi == 1.0 else g.uniform(lo, hi, size=n)


def _gray(img):
    """img : (C, H, W) -> (1, H, W): ITU-R 601 luma for RGB (torchvision's weights), else img."""
    if img.shape[0] == 3:
        return (0.2989 * img[0] + 0.587 * img[1] + 0.114 * img[2])[None]
    return img


def color_jitter(x, brightness=0.0, contrast=0.0, saturation=0.0, generator=None, seed=None):
    """Random brightness, contrast and saturation, each image with its own factors.

    x : (N, C, H, W) in [0, 1] -> same shape, clipped to [0, 1]. Each argument is b (factor
    drawn from U(max(0, 1 - b), 1 + b)) or a (low, high) pair; 0 or (1, 1) is off. With f:

    - brightness: f * x (f = 0 is black);
    - contrast: f * x + (1 - f) * m, m the mean grey level of the image (f = 0 is flat grey);
    - saturation (RGB only): f * x + (1 - f) * grey(x) per pixel (f = 0 is grey).

    As torchvision's ColorJitter (without hue), the enabled adjustments are applied in a
    random order, drawn per image.
    """
    _check(x, "color_jitter")
    g = make_generator(generator, seed)
    n = len(x)
    ops = [("brightness", brightness), ("contrast", contrast)]
    ops += [("saturation", saturation)] if x.shape[1] == 3 else []
    ops = [(name, _factors(value, name, g, n)) for name, value in ops]
    ops = [(name, f) for name, f in ops if f is not None]
    out = x.astype(np.float64)
    for i in range(n):
        for k in g.permutation(len(ops)):
            name, f = ops[k][0], ops[k][1][i]
            img = out[i]
            if name == "brightness":
                other = 0.0
            elif name == "contrast":
                other = _gray(img).mean()
            else:
                other = _gray(img)
            out[i] = np.clip(f * img + (1 - f) * other, 0.0, 1.0)
    return out.astype(x.dtype)


def gaussian_noise(x, std=0.1, clip=(0.0, 1.0), generator=None, seed=None):
    """Add N(0, std^2) noise to every pixel, then clip to `clip` (None: no clipping)."""
    _check(x, "gaussian_noise")
    g = make_generator(generator, seed)
    out = x + g.normal(0.0, std, size=x.shape)
    if clip is not None:
        out = np.clip(out, *clip)
    return out.astype(x.dtype)


# --- occlusion --------------------------------------------------------------------------------


def cutout(x, size, p=1.0, value=0.0, generator=None, seed=None):
    """Set a (size, size) square of each image (all channels) to `value`, with probability p.

    x : (N, C, H, W) -> same shape. As in DeVries and Taylor's code, the square's centre is
    drawn uniformly over the whole image and the square is clipped at the border, so near an
    edge fewer than size * size pixels are covered.
    """
    _check(x, "cutout")
    _check_p(p, "cutout")
    g = make_generator(generator, seed)
    n, _, h, w = x.shape
    apply = g.random(n) < p
    cy, cx = g.integers(0, h, size=n), g.integers(0, w, size=n)
    out = x.copy()
    for i in np.flatnonzero(apply):
        top, left = cy[i] - size // 2, cx[i] - size // 2
        out[i, :, max(top, 0) : max(top + size, 0), max(left, 0) : max(left + size, 0)] = value
    return out


def random_erasing(
    x, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0, generator=None, seed=None
):
    """Erase a random rectangle of each image with probability p (Zhong et al.).

    x : (N, C, H, W) -> same shape. As torchvision's RandomErasing: the rectangle covers a
    fraction U(scale) of the image with aspect ratio h / w drawn log-uniformly from `ratio`,
    lies wholly inside the image, and is filled with `value` (a number, or "random" for
    N(0, 1) noise per pixel). After 10 draws that do not fit, the image is left unchanged.
    """
    _check(x, "random_erasing")
    _check_p(p, "random_erasing")
    if not (isinstance(value, (int, float)) or value == "random"):
        raise ValueError(f"random_erasing: value must be a number or 'random', got {value!r}")
    g = make_generator(generator, seed)
    n, c, h, w = x.shape
    out = x.copy()
    for i in range(n):
        if g.random() >= p:
            continue
        for _ in range(10):
            area = h * w * g.uniform(*scale)
            aspect = math.exp(g.uniform(math.log(ratio[0]), math.log(ratio[1])))
            eh, ew = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
            if eh < h and ew < w:
                top, left = g.integers(0, h - eh + 1), g.integers(0, w - ew + 1)
                fill = g.normal(size=(c, eh, ew)) if value == "random" else value
                out[i, :, top : top + eh, left : left + ew] = fill
                break
    return out


# --- mixing two images and their labels -------------------------------------------------------


def _soft_targets(y, num_classes, dtype, fn):
    """(N,) class indices -> (N, K) one-hot rows; (N, K) probabilities pass through."""
    y = np.asarray(y)
    if y.ndim == 2:
        return y.astype(dtype)
    if num_classes is None:
        raise ValueError(f"{fn}: num_classes is needed when y holds class indices (shape (N,))")
    return np.eye(num_classes, dtype=dtype)[y]


def _lam_and_partner(x, y, alpha, num_classes, g, fn):
    _check(x, fn)
    if len(y) != len(x):
        raise ValueError(f"{fn}: x has {len(x)} images but y has {len(y)} labels")
    if alpha <= 0:
        raise ValueError(f"{fn}: alpha must be > 0, got {alpha}")
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
    t = _soft_targets(y, num_classes, dtype, fn)
    return g.beta(alpha, alpha), g.permutation(len(x)), t


def mixup(x, y, alpha=1.0, num_classes=None, generator=None, seed=None):
    """Blend every image with a partner from the same batch, and the labels alike.

    x : (N, C, H, W);  y : (N,) class indices (give `num_classes`) or (N, K) probabilities.
    Returns (x_mix, t) with, for one lam ~ Beta(alpha, alpha) per batch and a random
    permutation `perm` of the batch (Zhang et al.'s code),

        x_mix = lam * x + (1 - lam) * x[perm]      (N, C, H, W)
        t     = lam * onehot(y) + (1 - lam) * onehot(y)[perm]      (N, K)

    Cross-entropy is linear in its target, so CrossEntropyLoss()(logits, t) equals
    lam * CE(logits, y) + (1 - lam) * CE(logits, y[perm]), the paper's loss.
    """
    g = make_generator(generator, seed)
    lam, perm, t = _lam_and_partner(x, y, alpha, num_classes, g, "mixup")
    x_mix = (lam * x + (1 - lam) * x[perm]).astype(x.dtype)
    return x_mix, (lam * t + (1 - lam) * t[perm]).astype(t.dtype)


def cutmix(x, y, alpha=1.0, num_classes=None, generator=None, seed=None):
    """Paste a rectangle of a partner image into every image; mix the labels by area.

    x : (N, C, H, W);  y : (N,) class indices (give `num_classes`) or (N, K) probabilities.
    Returns (x_mix, t). As in Yun et al.'s code and torchvision's CutMix: one lam ~
    Beta(alpha, alpha) per batch gives a box of int(H sqrt(1 - lam)) x int(W sqrt(1 - lam))
    around a uniformly drawn centre, clipped at the border, pasted from x[perm] into every
    image; the labels are mixed by the area actually pasted,

        lam' = 1 - box area / (H W),   t = lam' * onehot(y) + (1 - lam') * onehot(y)[perm].
    """
    g = make_generator(generator, seed)
    lam, perm, t = _lam_and_partner(x, y, alpha, num_classes, g, "cutmix")
    h, w = x.shape[-2:]
    bh, bw = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
    cy, cx = g.integers(0, h), g.integers(0, w)
    top, bottom = np.clip([cy - bh // 2, cy + bh // 2], 0, h)
    left, right = np.clip([cx - bw // 2, cx + bw // 2], 0, w)
    x_mix = x.copy()
    x_mix[..., top:bottom, left:right] = x[perm][..., top:bottom, left:right]
    lam = 1 - (bottom - top) * (right - left) / (h * w)
    return x_mix, (lam * t + (1 - lam) * t[perm]).astype(t.dtype)


class MixedLoader:
    """Batches of `loader` passed through `mix` (e.g. mixup): (xb, yb) -> (x_mix, targets).

    loader : yields NumPy (xb, yb) batches (a DataLoader without `device`);
    mix : called as ``mix(xb, yb, generator=g)``; fix its other arguments with
    functools.partial, e.g. ``partial(mixup, alpha=0.2, num_classes=10)``;
    device : None, "torch", "cuda" or a torch.device, as in DataLoader.
    The targets are (N, K) probabilities, which CrossEntropyLoss accepts.
    """

    def __init__(self, loader, mix, seed=None, device=None):
        self.loader, self.mix, self.device = loader, mix, device
        self.generator = make_generator(seed=seed) if seed is not None else make_generator()

    def __len__(self):
        return len(self.loader)

    def _move(self, a):
        if self.device is None:
            return a
        import torch

        device = "cpu" if self.device == "torch" else self.device
        return torch.as_tensor(np.ascontiguousarray(a)).to(device)

    def __iter__(self):
        for xb, yb in self.loader:
            xb, tb = self.mix(xb, yb, generator=self.generator)
            yield self._move(xb), self._move(tb)


# --- test-time augmentation -------------------------------------------------------------------


def tta_predict(model, x, views, batch_size=200):
    """Class probabilities averaged over fixed views of every test image.

    model : callable, NumPy (B, C, H, W) -> logits (B, K) (NumPy or torch), e.g.
    ``lambda xb: net(torch.from_numpy(xb))``; called inside ``cnnlib.no_grad()``.
    x : (N, C, H, W);  views : deterministic functions (N, C, H, W) -> (N, C, H', W'), e.g.
    ``[lambda v: v, hflip]``. Returns (N, K): mean over views of softmax(model(view(x))).
    """
    from cnnlib.backend import to_numpy
    from cnnlib.grad_mode import no_grad

    _check(x, "tta_predict")
    if len(views) == 0:
        raise ValueError("tta_predict: views is empty; pass at least [lambda v: v]")
    total = 0.0
    with no_grad():
        for view in views:
            logits = [
                to_numpy(model(view(x[i : i + batch_size]))) for i in range(0, len(x), batch_size)
            ]
            z = np.concatenate(logits).astype(np.float64)
            e = np.exp(z - z.max(axis=1, keepdims=True))
            total = total + e / e.sum(axis=1, keepdims=True)
    return total / len(views)


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
