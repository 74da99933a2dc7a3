"""Draw small matrices as labelled grids: the pictures of worked convolution examples."""

import numpy as np
from matplotlib.patches import Rectangle


def _label(v, fmt):
    if isinstance(v, float) and np.isnan(v):
        return ""
    return format(v, fmt)


def draw_grid(
    ax,
    values,
    highlight=(),
    title=None,
    fmt="g",
    cmap="Blues",
    highlight_color="tab:orange",
    shaded=None,
    fontsize=None,
    signed=False,
    vmax=None,
):
    """Draw a 2-D array as a grid of boxes with each value written in its cell.

    Parameters
    ----------
    ax : matplotlib Axes
    values : (H, W) array
        NaN cells are drawn empty (used for outputs that are not computed yet).
    highlight : iterable of (row, col)
        Cells outlined in ``highlight_color`` (a convolution window, dilated or not).
    shaded : (H, W) bool array, optional
        Cells drawn in grey (e.g. padding).
    signed : bool
        Shade by the signed value in a diverging map (``cmap`` defaults to "RdBu_r"), so that
        -3 and 3 get opposite colours; by default cells are shaded by magnitude.
    vmax : float, optional
        The magnitude shaded most strongly (default: the largest in ``values``). Give several
        panels the same ``vmax`` to shade them on one scale; ``ax.images[0]`` maps values to
        colours, so ``fig.colorbar(ax.images[0])`` draws that scale.
    """
    v = np.asarray(values, dtype=np.float64)
    h, w = v.shape
    finite = v[np.isfinite(v)]
    if vmax is None:
        vmax = float(np.abs(finite).max()) if finite.size else 1.0
    top = (float(vmax) or 1.0) / 0.6  # values up to vmax get at most 60% of the colour map
    shade = np.nan_to_num(v) if signed else np.abs(np.nan_to_num(v))
    colours = np.where(np.isfinite(v), shade, 0.0)
    if signed and cmap == "Blues":
        cmap = "RdBu_r"
    lo = -top if signed else 0
    ax.imshow(colours, cmap=cmap, vmin=lo, vmax=top, extent=(-0.5, w - 0.5, h - 0.5, -0.5))
    if shaded is not None:
        grey = np.where(np.asarray(shaded), 0.5, np.nan)
        ax.imshow(
            grey, cmap="Greys", vmin=0, vmax=1, alpha=0.5, extent=(-0.5, w - 0.5, h - 0.5, -0.5)
        )
    fs = fontsize or (10 if max(h, w) <= 6 else 8 if max(h, w) <= 9 else 6)
    for i in range(h):
        for j in range(w):
            ax.text(j, i, _label(v[i, j], fmt), ha="center", va="center", fontsize=fs)
    for i, j in highlight:
        ax.add_patch(
            Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=highlight_color, lw=2.5)
        )
    ax.set_xticks(np.arange(-0.5, w, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, h, 1), minor=True)
    ax.grid(which="minor", color="black", linewidth=0.8)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def show_matrices(matrices, titles=None, symbols=None, fmt="g", figsize=None, signed=False):
    """Draw several matrices side by side, e.g. ``X * K = Y``, with symbols between them.

    ``signed`` shades signed values in a diverging map (see `draw_grid`).
    Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    n = len(matrices)
    widths = [np.asarray(m).shape[1] for m in matrices]
    fig, axes = plt.subplots(
        1,
        n,
        figsize=figsize or (1.0 + 0.55 * sum(widths) + 0.6 * n, 2.6),
        gridspec_kw={"width_ratios": widths, "wspace": 0.45},
    )
    axes = np.atleast_1d(axes)
    for k, (ax, m) in enumerate(zip(axes, matrices)):
        draw_grid(ax, m, title=titles[k] if titles else None, fmt=fmt, signed=signed)
        if symbols and k < n - 1 and symbols[k]:
            ax.annotate(
                symbols[k],
                xy=(1.0, 0.5),
                xycoords="axes fraction",
                xytext=(0.22 * 72, 0),
                textcoords="offset points",
                fontsize=16,
                ha="center",
                va="center",
            )
    return fig
