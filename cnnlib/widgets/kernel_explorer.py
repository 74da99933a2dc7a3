"""The kernel explorer: pick or type a kernel and watch what it does to an image.

The computation runs in the browser (``js/kernel.js``), so the explorer also works on the static
website. Python supplies the image (8-bit grayscale, pixel values 0 to 255, sent as base64) and
the presets, holds every setting as a trait, and computes the same output with cnnlib
(:meth:`KernelExplorer.compute`, i.e. :func:`cnnlib.viz.filter_image`) to check the browser's.
"""

from __future__ import annotations

import base64

import numpy as np
import traitlets as T

from cnnlib.kernels import DESCRIPTIONS, KERNELS
from cnnlib.viz.filtering import PADDING_MODES, conv_output_size, filter_image
from cnnlib.viz.images import IMAGES, load_image
from cnnlib.widgets._base import Explorer, int_in, module_source

CUSTOM = "custom"
OPERATIONS = ("cross-correlation", "convolution")
KERNEL_SIZES = (1, 3, 5, 7, 9)


def image_uint8(name="grace_hopper", size=96) -> np.ndarray:
    """A bundled image as (size, size) uint8 luminance, as the explorer ships it."""
    return np.round(load_image(name, size=size, gray=True) * 255).astype(np.uint8)


def resize_kernel(kernel, k: int) -> np.ndarray:
    """A square kernel placed in the centre of a k x k grid of zeros, or its centre cut out."""
    kernel = np.asarray(kernel, dtype=np.float64)
    m = kernel.shape[0]
    out = np.zeros((k, k))
    n, a, b = min(k, m), max(0, (k - m) // 2), max(0, (m - k) // 2)
    out[a : a + n, a : a + n] = kernel[b : b + n, b : b + n]
    return out


def formula_text(n, k, stride, padding, dilation) -> str:
    """floor((H + 2p - d(k - 1) - 1) / s) + 1 with the numbers, as the explorer shows it."""
    out = conv_output_size(n, k, stride, padding, dilation)
    return f"H_out = floor(({n} + 2*{padding} - {dilation}*({k} - 1) - 1) / {stride}) + 1 = {out}"


def _square_kernel(v):
    a = np.asarray(v, dtype=np.float64) if isinstance(v, (list, tuple, np.ndarray)) else None
    return a is not None and a.ndim == 2 and a.shape[0] == a.shape[1] in KERNEL_SIZES


class KernelExplorer(Explorer):
    """Interactive 2-D filtering of a grayscale image, computed in the browser.

    Parameters
    ----------
    image : str
        One of ``cnnlib.viz.IMAGES``; it is shipped as ``size x size`` 8-bit pixels.
    preset : str
        A key of ``cnnlib.kernels.KERNELS``.
    size : int
        Image side, 8 to 128.

    Attributes
    ----------
    pixels : (size, size) uint8 array
        The image.

    Notes
    -----
    The settings are traits synced with the browser (``explorer.stride = 2``, or
    ``explorer.set(stride=2, padding=1)`` for several at once); ``output`` and ``output_shape``
    are what the browser computed, and :meth:`compute` is cnnlib's answer.
    """

    _esm = module_source("kernel")
    _rules = {
        "preset": (f"one of {[*KERNELS, CUSTOM]}", lambda v: v in KERNELS or v == CUSTOM),
        "kernel": ("a square list of odd size 1 to 9", _square_kernel),
        "kernel_size": (f"one of {KERNEL_SIZES}", lambda v: v in KERNEL_SIZES),
        "operation": (f"one of {OPERATIONS}", lambda v: v in OPERATIONS),
        "padding_mode": (f"one of {PADDING_MODES}", lambda v: v in PADDING_MODES),
        "padding": ("an integer in [0, 8]", int_in(0, 8)),
        "stride": ("an integer in [1, 4]", int_in(1, 4)),
        "dilation": ("an integer in [1, 4]", int_in(1, 4)),
    }
    image = T.Unicode(help="the pixels, row by row, one byte each, base64").tag(sync=True)
    image_size = T.Int(96, help="the image's side").tag(sync=True)
    presets = T.Dict(help="name -> {'kernel': 3x3 list, 'text': what it does}").tag(sync=True)
    preset = T.Unicode("identity", help="a preset's name, or 'custom'").tag(sync=True)
    kernel = T.List(
        resize_kernel(KERNELS["identity"], 3).tolist(), help="the (k, k) kernel, as lists"
    ).tag(sync=True)
    kernel_size = T.Int(3, help="k, odd, 1 to 9").tag(sync=True)
    operation = T.Unicode(OPERATIONS[0], help=f"one of {OPERATIONS}").tag(sync=True)
    padding_mode = T.Unicode("zeros", help=f"one of {PADDING_MODES}").tag(sync=True)
    padding = T.Int(0, help="0 to 8").tag(sync=True)
    stride = T.Int(1, help="1 to 4").tag(sync=True)
    dilation = T.Int(1, help="1 to 4").tag(sync=True)
    output = T.List(help="the browser's output, row by row (empty before)").tag(sync=True)
    output_shape = T.List(help="the browser's (H_out, W_out)").tag(sync=True)
    formula = T.Unicode(help="the browser's output-size formula").tag(sync=True)

    @T.validate(*_rules)
    def _validate(self, proposal):
        self._check(proposal["trait"].name, proposal["value"])
        return proposal["value"]

    def __init__(self, image="grace_hopper", preset="sobel x", size=96):
        if image not in IMAGES:
            raise ValueError(f"KernelExplorer: image must be one of {IMAGES}, got {image!r}")
        if not int_in(8, 128)(size):
            raise ValueError(f"KernelExplorer: size must be an integer in [8, 128], got {size!r}")
        self.pixels = image_uint8(image, size)
        presets = {
            name: {"kernel": k.tolist(), "text": DESCRIPTIONS[name]} for name, k in KERNELS.items()
        }
        b64 = base64.b64encode(self.pixels.tobytes()).decode("ascii")
        super().__init__(image=b64, image_size=size, presets=presets)
        self.set_preset(preset)

    # The same rules as the browser's: a preset or a new size writes the kernel, and the
    # kernel's size is the grid's.
    @T.observe("preset")
    def _on_preset(self, change):
        if change["new"] in KERNELS:
            self.kernel = resize_kernel(KERNELS[change["new"]], self.kernel_size).tolist()

    @T.observe("kernel_size")
    def _on_size(self, change):
        if len(self.kernel) != change["new"]:
            base = KERNELS.get(self.preset, self.kernel)
            self.kernel = resize_kernel(base, change["new"]).tolist()

    @T.observe("kernel")
    def _on_kernel(self, change):
        if len(change["new"]) != self.kernel_size:
            self.kernel_size = len(change["new"])

    def set_preset(self, name):
        """Load a named kernel, placed in the centre of the current grid."""
        if name not in KERNELS:
            raise ValueError(
                f"KernelExplorer.set_preset: name must be one of {list(KERNELS)}, got {name!r}"
            )
        with self.hold_sync():
            self.preset = name

    def set_kernel(self, kernel):
        """Write a square kernel of odd size 1 to 9 into the grid (the preset becomes custom)."""
        kernel = np.asarray(kernel, dtype=np.float64)
        if not _square_kernel(kernel) or not np.all(np.isfinite(kernel)):
            raise ValueError(
                "KernelExplorer.set_kernel: kernel must be a finite square array of odd size "
                f"1 to 9, got shape {kernel.shape}"
            )
        with self.hold_sync():
            self.kernel = kernel.tolist()
            self.preset = CUSTOM

    # -- cnnlib's answer -----------------------------------------------------------------------
    def expected_shape(self):
        """(H_out, W_out) from the output-size formula for the current settings."""
        args = (self.kernel_size, self.stride, self.padding, self.dilation)
        return tuple(conv_output_size(n, *args) for n in self.pixels.shape)

    def formula_text(self):
        """The output-size formula with the current numbers, as the explorer shows it."""
        return formula_text(
            self.image_size, self.kernel_size, self.stride, self.padding, self.dilation
        )

    def compute(self):
        """cnnlib's output for the current settings: pixel values 0..255, float64."""
        return filter_image(
            self.pixels.astype(np.float64),
            np.array(self.kernel, dtype=np.float64),
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            padding_mode=self.padding_mode,
            convolution=self.operation == "convolution",
        )

    def static_figure(self):
        """Input and output side by side."""
        import matplotlib.pyplot as plt

        from cnnlib.viz.images import show_image

        fig, axes = plt.subplots(1, 2, figsize=(6, 3.2))
        show_image(axes[0], self.pixels, "input")
        out = self.compute()
        show_image(axes[1], out, f"{self.preset}: output {out.shape[0]}x{out.shape[1]}")
        return fig
