"""The initialisation explorer: how the weight scale carries a signal through a deep conv stack.

Every control is an ipywidget and every update goes through plain methods (``set``,
``compute``, ``update``), so the tests drive the explorer without a browser.
"""

import ipywidgets as W
import numpy as np

from cnnlib.viz.init_stats import (
    ACTIVATIONS,
    SCHEMES,
    init_std,
    mean_stats,
    plot_signal_propagation,
    signal_propagation,
)
from cnnlib.widgets._figure import FigureExplorer

CHANNELS = (8, 16, 32, 64)


class InitExplorer(FigureExplorer):
    """Per-layer standard deviation of activations and gradients at initialisation.

    Each update runs ``networks`` independently drawn stacks of ``depth`` 3x3 convolutions
    (see :func:`cnnlib.viz.signal_propagation`) and draws each as a thin line and
    their root-mean-square as a thick one, on a log scale.

    Parameters
    ----------
    depth : int
        Number of conv + activation layers (2 to 40).
    activation : str
        One of ``cnnlib.viz.init_stats.ACTIVATIONS``.
    scheme : str
        One of ``cnnlib.viz.init_stats.SCHEMES``.
    gain : float
        Multiplies the scheme's standard deviation (1/8 to 8).
    channels : int
        Channels of every layer, one of ``CHANNELS``.
    networks : int
        Independently drawn networks per picture.

    Attributes
    ----------
    widget : ipywidgets.VBox
        What to display in a notebook.
    stats : SignalStats
        The root-mean-square over the networks for the current settings.
    runs : list of SignalStats
        One per network.
    """

    def __init__(self, depth=20, activation="relu", scheme="he", gain=1.0, channels=32, networks=8):
        if not isinstance(networks, int) or isinstance(networks, bool) or networks < 1:
            raise ValueError(f"InitExplorer: networks must be an integer >= 1, got {networks!r}")
        self.networks = networks
        self._busy = False
        style = {"description_width": "80px"}
        self.depth = W.IntSlider(value=20, min=2, max=40, description="depth", style=style)
        self.activation = W.Dropdown(
            options=list(ACTIVATIONS), value="relu", description="activation", style=style
        )
        self.scheme = W.Dropdown(
            options=list(SCHEMES), value="he", description="scheme", style=style
        )
        self.gain = W.FloatLogSlider(
            value=1.0, base=2, min=-3, max=3, step=0.25, description="gain", style=style
        )
        self.channels = W.Dropdown(
            options=list(CHANNELS), value=32, description="channels", style=style
        )
        self.view = W.Image(format="png", layout=W.Layout(max_width="100%"))
        self.text = W.HTML()
        import matplotlib.pyplot as plt

        self.fig, self.axes = plt.subplots(1, 2, figsize=(9, 3.4))
        plt.close(self.fig)
        self.set(depth=depth, activation=activation, scheme=scheme, gain=gain, channels=channels)
        for control in (self.depth, self.activation, self.scheme, self.gain, self.channels):
            control.observe(lambda change: self.update(), names="value")
        controls = W.HBox(
            [
                W.VBox([self.depth, self.activation, self.channels]),
                W.VBox([self.scheme, self.gain]),
            ]
        )
        self.widget = W.VBox([controls, self.view, self.text])

    def set(self, **settings):
        """Change any of depth, activation, scheme, gain, channels at once, then recompute."""
        checks = {
            "depth": lambda v: isinstance(v, int) and 2 <= v <= 40,
            "activation": lambda v: v in ACTIVATIONS,
            "scheme": lambda v: v in SCHEMES,
            "gain": lambda v: isinstance(v, (int, float)) and 2**-3 <= v <= 2**3,
            "channels": lambda v: v in CHANNELS,
        }
        rules = {
            "depth": "an integer in [2, 40]",
            "activation": f"one of {ACTIVATIONS}",
            "scheme": f"one of {SCHEMES}",
            "gain": "a number in [1/8, 8]",
            "channels": f"one of {CHANNELS}",
        }
        for name, value in settings.items():
            if name not in checks:
                raise ValueError(f"InitExplorer.set: unknown setting {name!r}")
            if isinstance(value, bool) or not checks[name](value):
                raise ValueError(f"InitExplorer.set: {name} must be {rules[name]}, got {value!r}")
        self._busy = True
        try:
            for name, value in settings.items():
                getattr(self, name).value = value
        finally:
            self._busy = False
        self.update()

    def settings(self):
        """The current keyword arguments of ``signal_propagation`` (seed excluded)."""
        return dict(
            depth=self.depth.value,
            activation=self.activation.value,
            scheme=self.scheme.value,
            gain=float(self.gain.value),
            channels=self.channels.value,
        )

    def compute(self):
        """One SignalStats per network for the current settings (seeds 0, 1, ...)."""
        return [signal_propagation(**self.settings(), seed=s) for s in range(self.networks)]

    def summary(self):
        """One line: the weight std and the last layer's activation and first layer's gradient."""
        s = self.settings()
        c = s["channels"]
        std = init_std(s["scheme"], (c, c, 3, 3), s["gain"])
        return (
            f"{s['scheme']}, gain {s['gain']:.3g}: weight std {std:.4g} "
            f"(fan_in = {c}*3*3 = {c * 9}); after {s['depth']} layers the activation std is "
            f"{self.stats.act_std[-1]:.3g}; the gradient std at the input is "
            f"{self.stats.grad_std[0]:.3g}"
        )

    def update(self):
        """Recompute and redraw."""
        if self._busy:
            return
        self.runs = self.compute()
        self.stats = mean_stats(self.runs)
        for ax in self.axes:
            ax.clear()
        for run in self.runs:
            plot_signal_propagation(self.axes, run, None, color="C0", alpha=0.35, lw=0.8)
        plot_signal_propagation(self.axes, self.stats, "root-mean-square", color="C0", lw=2.2)
        for ax in self.axes:
            ax.axhline(1.0, color="0.5", ls=":", lw=1)
            values = [v for r in self.runs for v in (r.act_std, r.grad_std)]
            finite = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in values])
            if finite.size:
                ax.set_ylim(min(finite.min(), 0.1) / 3, max(finite.max(), 10) * 3)
        self.render()
        self.text.value = f"<code>{self.summary()}</code>"
