"""Pictures for Part II and III: the im2col column matrix, timing ladders, feature maps."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from cnnlib.backend import to_numpy


def plot_im2col(image, columns, kernel_size, figsize=(10, 3.6)):
    """Draw a single-channel image beside its im2col column matrix.

    Parameters
    ----------
    image : (H, W) array
    columns : (kH * kW, L) array
        ``unfold(image[None, None], kernel_size)[0]``: column ``l`` holds the ``l``-th window,
        read row by row.
    kernel_size : int
        Only used in the titles.

    Returns
    -------
    fig : matplotlib Figure
    """
    image, columns = np.asarray(to_numpy(image)), np.asarray(to_numpy(columns))
    if image.ndim != 2 or columns.ndim != 2:
        raise ValueError(
            f"plot_im2col: need a 2-D image and a 2-D column matrix, got shapes "
            f"{image.shape} and {columns.shape}"
        )
    fig, (ax0, ax1) = plt.subplots(
        1, 2, figsize=figsize, gridspec_kw={"width_ratios": [image.shape[1], columns.shape[1]]}
    )
    for ax, a, title in (
        (ax0, image, f"input {image.shape[0]}x{image.shape[1]}"),
        (ax1, columns, f"columns ({kernel_size}x{kernel_size}, L) = {columns.shape}"),
    ):
        ax.imshow(a, cmap="Blues", vmin=a.min() - 1, vmax=a.max() + 1)
        for (i, j), v in np.ndenumerate(a):
            ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title)
    ax1.set_xlabel("one column per output position")
    ax1.set_ylabel("one row per kernel tap")
    fig.tight_layout()
    return fig


def plot_timings(names, seconds, ax=None):
    """Bar chart of run times on a log axis, each bar labelled with its time in ms.

    Parameters
    ----------
    names : sequence of str
    seconds : sequence of float, same length as ``names``
    """
    if len(names) != len(seconds):
        raise ValueError(
            f"plot_timings: {len(names)} names but {len(seconds)} timings; they must match"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    ms = 1e3 * np.asarray(seconds, dtype=float)
    bars = ax.bar(
        list(names), ms, color=["tab:red", "tab:orange", "tab:green", "tab:blue"][: len(ms)]
    )
    ax.set_yscale("log")
    ax.set_ylabel("time per call (ms, log scale)")
    for bar, t in zip(bars, ms):
        ax.annotate(f"{t:.3g} ms", (bar.get_x() + bar.get_width() / 2, t), ha="center", va="bottom")
    return ax


def plot_feature_maps(maps, titles=None, cmap="gray", ncols=None, size=1.6):
    """Show a stack of 2-D maps side by side.

    Parameters
    ----------
    maps : (C, H, W) array, or a sequence of 2-D arrays of any sizes
    titles : sequence of str, optional
    """
    maps = [np.asarray(to_numpy(m)) for m in maps]
    bad = [m.shape for m in maps if m.ndim != 2]
    if bad:
        raise ValueError(f"plot_feature_maps: every map must be 2-D, got shapes {bad}")
    c = len(maps)
    ncols = ncols or c
    nrows = -(-c // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k < c:
            ax.imshow(maps[k], cmap=cmap)
            if titles is not None:
                ax.set_title(titles[k], fontsize=9)
        else:
            ax.axis("off")
    fig.tight_layout()
    return fig
