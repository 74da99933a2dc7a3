"""Step through a small 2-D convolution, or a transposed one, one output element at a time.

The stepping and the drawing run in the browser (``js/stepper.js``). A transposed convolution is
shown as what it equals: a stride-1 convolution of the kernel rotated by 180 degrees over the
input with ``stride - 1`` zeros inserted between neighbouring pixels and ``d(k - 1) - p`` zeros
around it, so that every step again computes one output element. Python holds the settings as
traits and computes every step with cnnlib (:meth:`ConvStepper.output`, :meth:`ConvStepper.window`)
to check the browser's.
"""

from __future__ import annotations

import numpy as np
import traitlets as T

from cnnlib import functional as F
from cnnlib.viz.filtering import pad2d
from cnnlib.widgets._base import Explorer, int_in, module_source


def tile(a, n) -> np.ndarray:
    """``a`` repeated to n x n and cut there (a larger input repeats the given one)."""
    a = np.asarray(a, dtype=np.float64)
    reps = (-(-n // a.shape[0]), -(-n // a.shape[1]))
    return np.tile(a, reps)[:n, :n]


def zero_insert(x, stride) -> np.ndarray:
    """(n, n) -> ((n - 1) s + 1, (n - 1) s + 1) with s - 1 zeros between neighbours."""
    n = x.shape[0]
    out = np.zeros(((n - 1) * stride + 1,) * 2)
    out[::stride, ::stride] = x
    return out


def _matrix(v):
    a = np.asarray(v, dtype=np.float64) if isinstance(v, (list, tuple, np.ndarray)) else None
    return a is not None and a.ndim == 2 and a.size > 0 and np.all(np.isfinite(a))


class ConvStepper(Explorer):
    """A step slider and play controls over the windows of a convolution of ``x`` with
    ``kernel`` (cross-correlation, as ``F.conv2d``), or of the transposed convolution.

    Parameters
    ----------
    x : (H, W) array
        Small integers read best; a larger input size repeats it.
    kernel : (k, k) array
    stride, padding, dilation : int
    transposed : bool
        Step through ``F.conv_transpose2d(x, kernel, stride, padding, dilation=dilation)``.
    step : int
        The step shown first (0-based).

    Notes
    -----
    The settings are traits synced with the browser (``stepper.step = 3``, or
    ``stepper.set(stride=2, padding=1)`` for several at once); ``output`` is what the browser
    computed, and :meth:`output_array` is cnnlib's answer.
    """

    _esm = module_source("stepper")
    _rules = {
        "size": ("an integer in [2, 7]", int_in(2, 7)),
        "kernel_size": ("an integer in [1, 4]", int_in(1, 4)),
        "stride": ("an integer in [1, 3]", int_in(1, 3)),
        "padding": ("an integer in [0, 3]", int_in(0, 3)),
        "dilation": ("an integer in [1, 3]", int_in(1, 3)),
        "transposed": ("True or False", lambda v: isinstance(v, bool)),
        "step": ("an integer >= 0", int_in(0, 10**6)),
    }
    x = T.List(help="the given input, as lists").tag(sync=True)
    kernel = T.List(help="the given kernel, as lists").tag(sync=True)
    size = T.Int(5, help="the input's side, 2 to 7 (x repeated)").tag(sync=True)
    kernel_size = T.Int(3, help="the kernel's side, 1 to 4 (kernel repeated)").tag(sync=True)
    stride = T.Int(1, help="1 to 3").tag(sync=True)
    padding = T.Int(0, help="0 to 3").tag(sync=True)
    dilation = T.Int(1, help="1 to 3").tag(sync=True)
    transposed = T.Bool(False, help="step through conv_transpose2d").tag(sync=True)
    step = T.Int(0, help="the step shown, 0-based").tag(sync=True)
    interval = T.Int(900, help="milliseconds per step when playing").tag(sync=True)
    output = T.List(help="the browser's full output (empty before)").tag(sync=True)

    @T.validate(*_rules)
    def _validate(self, proposal):
        self._check(proposal["trait"].name, proposal["value"])
        return proposal["value"]

    def __init__(self, x, kernel, stride=1, padding=0, dilation=1, transposed=False, step=0):
        x, kernel = np.asarray(x), np.asarray(kernel)
        if not _matrix(x) or x.shape[0] != x.shape[1] or not 2 <= x.shape[0] <= 7:
            raise ValueError(f"ConvStepper: x must be square, 2x2 to 7x7, got shape {x.shape}")
        if not _matrix(kernel) or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] > 4:
            raise ValueError(
                f"ConvStepper: kernel must be square, 1x1 to 4x4, got shape {kernel.shape}"
            )
        super().__init__(x=x.tolist(), kernel=kernel.tolist())
        self.set(size=x.shape[0], kernel_size=kernel.shape[0], stride=stride, padding=padding)
        self.set(dilation=dilation, transposed=transposed)
        self.set_step(step)

    # -- cnnlib's answer -----------------------------------------------------------------------
    def input(self) -> np.ndarray:
        """The (size, size) input the steps read."""
        return tile(self.x, self.size)

    def weight(self) -> np.ndarray:
        """The (kernel_size, kernel_size) kernel."""
        return tile(self.kernel, self.kernel_size)

    def output_array(self) -> np.ndarray:
        """cnnlib's output: F.conv2d, or F.conv_transpose2d when ``transposed``."""
        x, w = self.input()[None, None], self.weight()[None, None]
        args = dict(stride=self.stride, padding=self.padding, dilation=self.dilation)
        if self.transposed:
            return np.asarray(F.conv_transpose2d(x, w, **args))[0, 0]
        return np.asarray(F.conv2d(x, w, **args))[0, 0]

    def n_steps(self) -> int:
        """One step per output element (0 when the dilated kernel does not fit)."""
        n = self.output_array().shape[0] if self._fits() else 0
        return n * n

    def _fits(self):
        span = self.dilation * (self.kernel_size - 1)
        if self.transposed:
            return (self.size - 1) * self.stride - 2 * self.padding + span + 1 >= 1
        return self.size + 2 * self.padding - span - 1 >= 0

    def grid(self) -> np.ndarray:
        """What the window slides over: the padded input, or for a transposed convolution the
        zero-inserted input padded by d(k - 1) - p (cropped where that is negative)."""
        if not self.transposed:
            return pad2d(self.input(), self.padding)
        q = self.dilation * (self.kernel_size - 1) - self.padding
        return pad2d(zero_insert(self.input(), self.stride), max(q, 0))

    def window(self, t):
        """Step t: the output index (i, j) and the grid cells (row, col) the kernel covers."""
        if not 0 <= t < self.n_steps():
            last = self.n_steps() - 1
            raise ValueError(f"ConvStepper.window: step must be in [0, {last}], got {t}")
        n = self.output_array().shape[0]
        i, j = divmod(t, n)
        k, d = self.kernel_size, self.dilation
        if self.transposed:
            offset = max(self.padding - d * (k - 1), 0)
            step = 1
        else:
            offset, step = 0, self.stride
        r, c = offset + i * step, offset + j * step
        cells = [(r + d * u, c + d * v) for u in range(k) for v in range(k)]
        return (i, j), cells

    def equation(self, t) -> str:
        """Step t as text, ``y[i,j] = a*b + ... = value``, as the explorer shows it."""
        (i, j), cells = self.window(t)
        w = self.weight()
        if self.transposed:
            w = w[::-1, ::-1]  # the stride-1 view uses the kernel rotated by 180 degrees
        grid = self.grid()

        def num(v):
            return f"({v:g})" if v < 0 else f"{v:g}"

        terms = [f"{num(grid[r, c])}*{num(k)}" for (r, c), k in zip(cells, w.ravel())]
        return f"y[{i},{j}] = " + " + ".join(terms) + f" = {self.output_array()[i, j]:g}"

    def set_step(self, t):
        """Show step ``t`` (0-based); the slider, the picture and the equation follow."""
        if not isinstance(t, (int, np.integer)) or not 0 <= t < max(self.n_steps(), 1):
            raise ValueError(
                f"ConvStepper.set_step: step must be in [0, {self.n_steps() - 1}], got {t!r}"
            )
        self.step = int(t)

    def static_figure(self):
        """The current step of a plain convolution, drawn by cnnlib.viz."""
        import matplotlib.pyplot as plt

        from cnnlib.viz.grids import draw_grid

        (i, j), cells = self.window(self.step)
        fig, axes = plt.subplots(1, 2, figsize=(7, 3.4), gridspec_kw={"width_ratios": [3, 2]})
        title = "zero-inserted input" if self.transposed else "input"
        draw_grid(axes[0], self.grid(), highlight=cells, title=f"{title}, step {self.step + 1}")
        out = self.output_array()
        draw_grid(axes[1], out, highlight=[(i, j)], title=f"output {out.shape[0]}x{out.shape[1]}")
        return fig
