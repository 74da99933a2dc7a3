"""Step-through pictures of a 2-D convolution: the window on the input, the output filling in."""

import numpy as np

from cnnlib.viz.filtering import conv_output_size, filter_image, pad2d
from cnnlib.viz.grids import draw_grid


def conv_steps(height, width, kernel_size, stride=1, padding=0, dilation=1):
    """The windows of a convolution in the order they are computed (row by row).

    Returns
    -------
    steps : list of ((i, j), cells)
        Output position ``(i, j)`` and the ``kernel_size**2`` input cells ``(row, col)`` (in
        padded coordinates) that the kernel touches there.
    """
    h_out = conv_output_size(height, kernel_size, stride, padding, dilation)
    w_out = conv_output_size(width, kernel_size, stride, padding, dilation)
    if h_out < 1 or w_out < 1:
        raise ValueError(
            f"conv_steps: kernel {kernel_size} (dilation {dilation}) does not fit a "
            f"{height}x{width} input with padding {padding}"
        )
    steps = []
    for i in range(h_out):
        for j in range(w_out):
            cells = [
                (i * stride + dilation * u, j * stride + dilation * v)
                for u in range(kernel_size)
                for v in range(kernel_size)
            ]
            steps.append(((i, j), cells))
    return steps


class ConvTrace:
    """Everything needed to draw step ``t`` of a cross-correlation of ``x`` with ``kernel``.

    Parameters
    ----------
    x : (H, W) array
    kernel : (k, k) array
    """

    def __init__(self, x, kernel, stride=1, padding=0, dilation=1):
        self.x = np.asarray(x, dtype=np.float64)
        self.kernel = np.asarray(kernel, dtype=np.float64)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.padded = pad2d(self.x, padding)
        h, w = self.x.shape
        self.output = filter_image(self.x, self.kernel, stride, padding, dilation)
        self.steps = conv_steps(h, w, self.kernel.shape[0], stride, padding, dilation)
        self.is_padding = np.ones(self.padded.shape, dtype=bool)
        self.is_padding[padding : padding + h, padding : padding + w] = False

    def __len__(self):
        return len(self.steps)

    def partial_output(self, t):
        """The output with steps 0..t filled in and NaN elsewhere."""
        out = np.full(self.output.shape, np.nan)
        for (i, j), _ in self.steps[: t + 1]:
            out[i, j] = self.output[i, j]
        return out

    def equation(self, t):
        """Step ``t`` as text: ``y[i, j] = a*b + ... = value``."""
        (i, j), cells = self.steps[t]
        terms = [f"{self.padded[r, c]:g}*{k:g}" for (r, c), k in zip(cells, self.kernel.ravel())]
        return f"y[{i},{j}] = " + " + ".join(terms) + f" = {self.output[i, j]:g}"

    def draw(self, axes, t):
        """Draw step ``t`` on three axes: padded input with the window, kernel, output."""
        (i, j), cells = self.steps[t]
        for ax in axes:
            ax.clear()
        draw_grid(
            axes[0],
            self.padded,
            highlight=cells,
            shaded=self.is_padding,
            title=f"input (padding {self.padding}, stride {self.stride}, dilation {self.dilation})",
        )
        draw_grid(axes[1], self.kernel, title="kernel", cmap="Oranges")
        draw_grid(
            axes[2],
            self.partial_output(t),
            highlight=[(i, j)],
            title=f"output, step {t + 1}/{len(self)}: y[{i},{j}] = {self.output[i, j]:g}",
        )
        return axes


def conv_step_figure(x, kernel, step=0, stride=1, padding=0, dilation=1, figsize=(10, 3.4)):
    """A static figure of one step of the convolution (see ``ConvTrace``)."""
    import matplotlib.pyplot as plt

    trace = ConvTrace(x, kernel, stride, padding, dilation)
    fig, axes = plt.subplots(1, 3, figsize=figsize, gridspec_kw={"width_ratios": [3, 1.4, 2]})
    trace.draw(axes, step)
    fig.tight_layout()
    return fig
