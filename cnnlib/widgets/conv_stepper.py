"""Step through a small 2-D convolution one output element at a time."""

import ipywidgets as W

from cnnlib.viz.animation import ConvTrace
from cnnlib.widgets._figure import FigureExplorer


class ConvStepper(FigureExplorer):
    """A time slider (with Play) over the windows of a convolution of ``x`` with ``kernel``.

    Parameters
    ----------
    x : (H, W) array
    kernel : (k, k) array

    Attributes
    ----------
    widget : ipywidgets.VBox
    trace : cnnlib.viz.ConvTrace
        The padded input, the full output and the window of every step.
    """

    def __init__(self, x, kernel, stride=1, padding=0, dilation=1, figsize=(10, 3.4)):
        import matplotlib.pyplot as plt

        self.trace = ConvTrace(x, kernel, stride, padding, dilation)
        self.fig, self.axes = plt.subplots(
            1, 3, figsize=figsize, gridspec_kw={"width_ratios": [3, 1.4, 2]}
        )
        plt.close(self.fig)
        n = len(self.trace)
        self.slider = W.IntSlider(value=0, min=0, max=n - 1, description="step")
        self.play = W.Play(value=0, min=0, max=n - 1, interval=900, description="play")
        W.jslink((self.play, "value"), (self.slider, "value"))
        self.view = W.Image(format="png")
        self.text = W.HTML()
        self.slider.observe(lambda change: self.show(change["new"]), names="value")
        self.widget = W.VBox([W.HBox([self.play, self.slider]), self.view, self.text])
        self.show(0)

    @property
    def step(self):
        return self.slider.value

    def set_step(self, t):
        """Move to step ``t`` (0-based); the picture and the equation follow."""
        if not 0 <= t < len(self.trace):
            raise ValueError(
                f"ConvStepper.set_step: step must be in [0, {len(self.trace) - 1}], got {t}"
            )
        self.slider.value = t
        self.show(t)

    def show(self, t):
        self.trace.draw(self.axes, t)
        self.render()
        self.text.value = f"<code>{self.trace.equation(t)}</code>"
