"""The kernel explorer: pick or edit a kernel and watch what it does to an image.

Every control is an ipywidget and every update goes through plain methods (``set_preset``,
``set_kernel``, ``compute``), so the tests drive the explorer without a browser.
"""

import ipywidgets as W
import numpy as np

from cnnlib.kernels import KERNELS, get_kernel
from cnnlib.viz.filtering import PADDING_MODES, conv_output_size, filter_image
from cnnlib.viz.images import IMAGES, load_image, to_png

CUSTOM = "(custom)"


class KernelExplorer:
    """Interactive 2-D filtering of a grayscale image.

    Parameters
    ----------
    image : str
        One of ``cnnlib.viz.IMAGES``.
    preset : str
        A key of ``cnnlib.kernels.KERNELS``.
    size : int
        Image side after resizing (the image is square).

    Attributes
    ----------
    widget : ipywidgets.VBox
        What to display in a notebook.
    output : (H_out, W_out) array
        The filtered image for the current settings.
    """

    def __init__(self, image="grace_hopper", preset="sobel x", size=96):
        self.size = size
        self._busy = False
        style = {"description_width": "90px"}
        self.preset = W.Dropdown(
            options=[*KERNELS, CUSTOM], value=preset, description="preset", style=style
        )
        self.kernel_size = W.Dropdown(
            options=[3, 5, 7], value=3, description="kernel size", style=style
        )
        self.mode = W.ToggleButtons(
            options=["cross-correlation", "convolution"],
            value="cross-correlation",
            description="operation",
            style=style,
        )
        self.padding_mode = W.Dropdown(
            options=list(PADDING_MODES), value="zeros", description="padding mode", style=style
        )
        self.padding = W.IntSlider(value=0, min=0, max=6, description="padding", style=style)
        self.stride = W.IntSlider(value=1, min=1, max=4, description="stride", style=style)
        self.dilation = W.IntSlider(value=1, min=1, max=4, description="dilation", style=style)
        self.image_name = W.Dropdown(
            options=list(IMAGES), value=image, description="image", style=style
        )
        self.formula = W.HTML()
        self.input_view = W.Image(format="png", width=2 * size, height=2 * size)
        self.output_view = W.Image(format="png", width=2 * size, height=2 * size)
        self.grid = W.GridBox(layout=W.Layout(grid_template_columns="repeat(3, 62px)"))
        self.cells = []
        self._build_grid(3)
        self._load_image()
        self.set_preset(preset)

        for control in (self.mode, self.padding_mode, self.padding, self.stride, self.dilation):
            control.observe(lambda change: self.update(), names="value")
        self.preset.observe(lambda change: self._on_preset(change["new"]), names="value")
        self.kernel_size.observe(lambda change: self._on_size(change["new"]), names="value")
        self.image_name.observe(lambda change: self._on_image(), names="value")

        controls = W.VBox(
            [
                self.image_name,
                self.preset,
                self.kernel_size,
                self.grid,
                self.mode,
                self.padding_mode,
                self.padding,
                self.stride,
                self.dilation,
            ]
        )
        pictures = W.HBox(
            [
                W.VBox([W.HTML("<b>input</b>"), self.input_view]),
                W.VBox([W.HTML("<b>output</b>"), self.output_view]),
            ]
        )
        self.widget = W.VBox([W.HBox([controls, pictures]), self.formula])

    # -- kernel grid ---------------------------------------------------------------------------
    def _build_grid(self, k):
        for old in self.cells:  # closed widgets leave the kernel and the saved widget state
            old.close()
        self.cells = [W.FloatText(value=0.0, layout=W.Layout(width="60px")) for _ in range(k * k)]
        for cell in self.cells:
            cell.observe(self._on_cell, names="value")
        self.grid.layout.grid_template_columns = f"repeat({k}, 62px)"
        self.grid.children = self.cells

    @property
    def kernel(self):
        """The kernel currently in the grid, shape (k, k)."""
        k = self.kernel_size.value
        return np.array([c.value for c in self.cells], dtype=np.float64).reshape(k, k)

    def set_kernel(self, kernel):
        """Write a square kernel of odd size 3, 5 or 7 into the grid and recompute."""
        kernel = np.asarray(kernel, dtype=np.float64)
        k = kernel.shape[0]
        if kernel.ndim != 2 or kernel.shape != (k, k) or k not in self.kernel_size.options:
            raise ValueError(
                f"KernelExplorer.set_kernel: need a 3x3, 5x5 or 7x7 kernel, got {kernel.shape}"
            )
        self._busy = True
        try:
            if k != self.kernel_size.value:
                self.kernel_size.value = k
                self._build_grid(k)
            for cell, v in zip(self.cells, kernel.ravel()):
                cell.value = float(v)
        finally:
            self._busy = False
        self.update()

    def set_preset(self, name):
        """Load a named kernel (embedded in the current grid size) and recompute."""
        if name == CUSTOM:
            raise ValueError(
                f"KernelExplorer.set_preset: {CUSTOM!r} is not a preset; use set_kernel"
            )
        self._busy = True
        try:
            self.preset.value = name
        finally:
            self._busy = False
        self.set_kernel(get_kernel(name, self.kernel_size.value))

    def _on_preset(self, name):
        if not self._busy and name != CUSTOM:
            self.set_kernel(get_kernel(name, self.kernel_size.value))

    def _on_size(self, k):
        if self._busy:
            return
        old = np.array([c.value for c in self.cells])
        old = old.reshape(int(round(len(old) ** 0.5)), -1)
        self._build_grid(k)
        if self.preset.value != CUSTOM:
            self.set_kernel(get_kernel(self.preset.value, k))
            return
        # keep a custom kernel: centre it in the new grid (or crop its centre)
        m, new = old.shape[0], np.zeros((k, k))
        a, b = max(0, (k - m) // 2), max(0, (m - k) // 2)
        n = min(k, m)
        new[a : a + n, a : a + n] = old[b : b + n, b : b + n]
        self.set_kernel(new)

    def _on_cell(self, change):
        if self._busy:
            return
        self._busy = True
        self.preset.value = CUSTOM
        self._busy = False
        self.update()

    # -- image and output ----------------------------------------------------------------------
    def _load_image(self):
        self.image = load_image(self.image_name.value, size=self.size, gray=True)
        self.input_view.value = to_png(self.image, vmin=0, vmax=1)

    def _on_image(self):
        self._load_image()
        self.update()

    def output_shape(self):
        """(H_out, W_out) from the output-size formula for the current settings."""
        args = (self.kernel_size.value, self.stride.value, self.padding.value, self.dilation.value)
        return tuple(conv_output_size(n, *args) for n in self.image.shape)

    def formula_text(self):
        """floor((H + 2p - d(k - 1) - 1) / s) + 1 with the current numbers."""
        h = self.image.shape[0]
        k, s, p, d = (
            self.kernel_size.value,
            self.stride.value,
            self.padding.value,
            self.dilation.value,
        )
        return (
            f"H_out = floor(({h} + 2*{p} - {d}*({k} - 1) - 1) / {s}) + 1 = "
            f"{conv_output_size(h, k, s, p, d)}"
        )

    def compute(self):
        """The filtered image for the current settings, shape ``output_shape()``."""
        return filter_image(
            self.image,
            self.kernel,
            stride=self.stride.value,
            padding=self.padding.value,
            dilation=self.dilation.value,
            padding_mode=self.padding_mode.value,
            convolution=self.mode.value == "convolution",
        )

    def update(self):
        """Recompute the output and refresh the picture and the formula."""
        if self._busy:
            return
        shape = self.output_shape()
        self.formula.value = f"<code>{self.formula_text()}</code> (output {shape[0]}x{shape[1]})"
        try:
            self.output = self.compute()
        except ValueError as err:  # e.g. reflect padding wider than the image
            self.output = None
            self.formula.value += f"<br><span style='color:#b00'>{err}</span>"
            return
        self.output_view.value = to_png(self.output)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
