"""The initialisation explorer: how the weight scale carries a signal through a deep conv stack.

The networks are computed in the browser (``js/init.js``): ``networks`` stacks of ``depth`` 3x3
convolutions with ``channels`` in and out, circular padding, no bias, on an 8x8 input, each
followed by the activation. Network r draws its input, weights and upstream gradient from the
seeded generator of :mod:`cnnlib.widgets.seeded` with seed ``seed + r``, so Python reproduces
every number with cnnlib: :meth:`InitExplorer.compute` runs
:func:`cnnlib.viz.init_stats.signal_propagation` on the same draws.
"""

from __future__ import annotations

import traitlets as T

from cnnlib.viz.init_stats import (
    ACTIVATIONS,
    SCHEMES,
    SignalStats,
    init_std,
    mean_stats,
    plot_signal_propagation,
    signal_propagation,
)
from cnnlib.widgets._base import Explorer, int_in, module_source, number_in
from cnnlib.widgets.seeded import SeededRandom

CHANNELS = (4, 8, 16, 32)
SIZE = 8  # every layer's feature maps are 8x8


def explorer_network(depth, activation, scheme, gain, channels, seed) -> SignalStats:
    """One of the explorer's networks, computed by cnnlib with the browser's random numbers."""
    draw = SeededRandom(seed).normal
    return signal_propagation(
        depth, activation, scheme, channels, gain, size=SIZE, batch=1, draw=draw
    )


class InitExplorer(Explorer):
    """Per-layer standard deviation of the activations and gradients at initialisation.

    Parameters
    ----------
    depth : int
        Number of conv + activation layers, 2 to 40.
    activation : str
        One of ``cnnlib.viz.init_stats.ACTIVATIONS``.
    scheme : str
        One of ``cnnlib.viz.init_stats.SCHEMES``.
    gain : float
        Multiplies the scheme's standard deviation, 1/8 to 8.
    channels : int
        Channels of every layer, one of ``CHANNELS``.
    networks : int
        Independently drawn networks, 1 to 16; seeds ``seed`` to ``seed + networks - 1``.

    Notes
    -----
    The settings are traits synced with the browser (``explorer.depth = 10``, or
    ``explorer.set(depth=10, scheme="xavier")`` for several at once); ``act_std`` and
    ``grad_std`` are what the browser computed, and :meth:`compute` is cnnlib's answer.
    """

    _esm = module_source("init")
    _rules = {
        "depth": ("an integer in [2, 40]", int_in(2, 40)),
        "activation": (f"one of {ACTIVATIONS}", lambda v: v in ACTIVATIONS),
        "scheme": (f"one of {SCHEMES}", lambda v: v in SCHEMES),
        "gain": ("a number in [1/8, 8]", number_in(1 / 8, 8)),
        "channels": (f"one of {CHANNELS}", lambda v: v in CHANNELS and not isinstance(v, bool)),
    }
    depth = T.Int(20, help="conv + activation layers, 2 to 40").tag(sync=True)
    activation = T.Unicode("relu", help=f"one of {ACTIVATIONS}").tag(sync=True)
    scheme = T.Unicode("he", help=f"one of {SCHEMES}").tag(sync=True)
    gain = T.Float(1.0, help="multiplies the scheme's std, 1/8 to 8").tag(sync=True)
    channels = T.Int(16, help=f"one of {CHANNELS}").tag(sync=True)
    networks = T.Int(8, help="networks drawn, 1 to 16").tag(sync=True)
    seed = T.Int(0, help="network r uses seed + r").tag(sync=True)
    size = T.Int(SIZE, help="the feature maps' side").tag(sync=True)
    act_std = T.List(help="the browser's RMS activation std per layer").tag(sync=True)
    grad_std = T.List(help="the browser's RMS gradient std per layer").tag(sync=True)
    weight_std = T.Float(0.0, help="the browser's weight std").tag(sync=True)

    @T.validate(*_rules)
    def _validate(self, proposal):
        self._check(proposal["trait"].name, proposal["value"])
        return proposal["value"]

    def __init__(
        self, depth=20, activation="relu", scheme="he", gain=1.0, channels=16, networks=8, seed=0
    ):
        if not int_in(1, 16)(networks):
            raise ValueError(
                f"InitExplorer: networks must be an integer in [1, 16], got {networks!r}"
            )
        if not int_in(0, 2**31 - 1)(seed):
            raise ValueError(f"InitExplorer: seed must be an integer >= 0, got {seed!r}")
        super().__init__(networks=networks, seed=seed)
        self.set(depth=depth, activation=activation, scheme=scheme, gain=gain, channels=channels)

    def compute(self) -> list[SignalStats]:
        """cnnlib's numbers: one SignalStats per network, with the browser's random numbers."""
        s = self.settings()
        return [
            explorer_network(s["depth"], s["activation"], s["scheme"], s["gain"], s["channels"], r)
            for r in range(self.seed, self.seed + self.networks)
        ]

    def summary(self, stats: SignalStats | None = None) -> str:
        """One line: the weight std with its fan-in, the last activation and first gradient std."""
        s = self.settings()
        stats = stats or mean_stats(self.compute())
        c = s["channels"]
        std = init_std(s["scheme"], (c, c, 3, 3), s["gain"])
        return (
            f"{s['scheme']}, gain {s['gain']:.3g}: weight std {std:.4g} "
            f"(fan_in = {c}*3*3 = {c * 9}); after {s['depth']} layers the activation std is "
            f"{stats.act_std[-1]:.3g}; the gradient std at the input is {stats.grad_std[0]:.3g}"
        )

    def static_figure(self):
        """The networks as thin lines, their root-mean-square as a thick one."""
        import matplotlib.pyplot as plt

        runs = self.compute()
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
        for run in runs:
            plot_signal_propagation(axes, run, None, color="C0", alpha=0.35, lw=0.8)
        plot_signal_propagation(axes, mean_stats(runs), "root-mean-square", color="C0", lw=2.2)
        for ax in axes:
            ax.axhline(1.0, color="0.5", ls=":", lw=1)
        return fig
