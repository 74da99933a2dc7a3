"""Bundled sample images (no download) and small image utilities for the book."""

import io

import numpy as np

IMAGES = ("grace_hopper", "china", "checkerboard", "cross")


def _resize(img, size):
    from PIL import Image

    h, w = size
    pil = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
    return np.asarray(pil.resize((w, h), Image.BILINEAR), dtype=np.float64) / 255.0


def _synthetic(name, size):
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    if name == "checkerboard":
        g = (((yy * 8) // h + (xx * 8) // w) % 2).astype(np.float64)
    else:  # a bright cross on a dark background, the test picture of source 002
        g = np.zeros((h, w))
        g[h // 2 - max(1, h // 16) : h // 2 + max(1, h // 16), w // 8 : w - w // 8] = 1.0
        g[h // 8 : h - h // 8, w // 2 - max(1, w // 16) : w // 2 + max(1, w // 16)] = 1.0
    return np.repeat(g[:, :, None], 3, axis=2)


def load_image(name="grace_hopper", size=None, gray=False):
    """Load a bundled image as float64 in [0, 1].

    Parameters
    ----------
    name : {'grace_hopper', 'china', 'checkerboard', 'cross'}
        ``grace_hopper`` ships with matplotlib, ``china`` with scikit-learn; the last two are drawn.
    size : int or (H, W), optional
        Resize to this size (bilinear). Synthetic images default to 64x64.
    gray : bool
        Return the luminance (H, W) instead of (H, W, 3).

    Returns
    -------
    image : (H, W, 3) or (H, W) float64 array
    """
    if name not in IMAGES:
        raise ValueError(f"load_image: unknown image {name!r}; choose one of {IMAGES}")
    if isinstance(size, int):
        size = (size, size)
    if name in ("checkerboard", "cross"):
        img = _synthetic(name, size or (64, 64))
    else:
        if name == "grace_hopper":
            import matplotlib.cbook
            import matplotlib.image

            raw = matplotlib.image.imread(matplotlib.cbook.get_sample_data("grace_hopper.jpg"))
        else:
            from sklearn.datasets import load_sample_image

            raw = load_sample_image("china.jpg")
        img = raw[..., :3].astype(np.float64) / 255.0
        if size is not None:
            img = _resize(img, size)
    return to_gray(img) if gray else img


def to_gray(img):
    """Luminance of an (H, W, 3) RGB image: 0.299 R + 0.587 G + 0.114 B, shape (H, W)."""
    return img[..., :3] @ np.array([0.299, 0.587, 0.114])


def to_png(array, cmap="gray", vmin=None, vmax=None):
    """Encode a (H, W) or (H, W, 3) array as PNG bytes (for ``ipywidgets.Image``).

    A 2-D array is colour-mapped between ``vmin`` and ``vmax`` (default: its min and max).
    """
    import matplotlib.pyplot as plt

    a = np.asarray(array, dtype=np.float64)
    buf = io.BytesIO()
    if a.ndim == 3:
        plt.imsave(buf, np.clip(a, 0, 1), format="png")
    else:
        lo = a.min() if vmin is None else vmin
        hi = a.max() if vmax is None else vmax
        if hi <= lo:
            hi = lo + 1.0
        plt.imsave(buf, a, cmap=cmap, vmin=lo, vmax=hi, format="png")
    return buf.getvalue()


def show_image(ax, img, title=None, cmap="gray", symmetric=False):
    """Draw an image on ``ax`` without ticks. ``symmetric`` centres a diverging map on 0."""
    img = np.asarray(img)
    if img.ndim == 3:
        ax.imshow(np.clip(img, 0, 1))
    elif symmetric:
        m = float(np.abs(img).max()) or 1.0
        ax.imshow(img, cmap="RdBu_r" if cmap == "gray" else cmap, vmin=-m, vmax=m)
    else:
        ax.imshow(img, cmap=cmap)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax
