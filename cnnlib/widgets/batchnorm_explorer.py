"""The batch-norm explorer: what BN does to a batch, and how its running statistics converge.

A stream of batches ``x : (N, C, 4, 4)`` is drawn from a fixed distribution whose channels
differ (channel c has mean ``shift + CHANNEL_MEANS[c]`` and standard deviation
``scale * CHANNEL_STDS[c]``). Each training step normalises a batch with
:func:`cnnlib.functional.batch_norm` and updates the running statistics in place, torch's way::

    running <- (1 - momentum) running + momentum batch_stat     (running_var: unbiased)

so after t steps the initial values (mean 0, var 1) still carry weight (1 - momentum)^t.
The explorer shows the last batch before and after BN (training mode: the batch's own
statistics; eval mode: a fresh batch through the running statistics) and the running statistics
step by step against the true ones. It computes in the browser (``js/batchnorm.js``), drawing
the batches from the seeded generator of :mod:`cnnlib.widgets.seeded`, which
:func:`simulate_batch_norm` uses too: the same seed gives the same batches on both sides.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import traitlets as T

from cnnlib import functional as F
from cnnlib.widgets._base import Explorer, int_in, module_source, number_in
from cnnlib.widgets.seeded import SeededRandom

CHANNEL_MEANS = (-2.0, 0.0, 3.0)
CHANNEL_STDS = (0.5, 1.0, 2.0)
SPATIAL = 4  # every sample is (C, 4, 4): a channel has 16 * batch_size values per batch
MODES = ("train", "eval")
COLORS = ("tab:blue", "tab:orange", "tab:green")

_RULES = {
    "batch_size": ("an integer in [1, 256]", int_in(1, 256)),
    "momentum": ("a number in [0.01, 1]", number_in(0.01, 1)),
    "gamma": ("a number in [-3, 3]", number_in(-3, 3)),
    "beta": ("a number in [-3, 3]", number_in(-3, 3)),
    "mode": (f"one of {MODES}", lambda v: v in MODES),
    "shift": ("a number in [-5, 5]", number_in(-5, 5)),
    "scale": ("a number in [1/8, 8]", number_in(1 / 8, 8)),
    "steps": ("an integer in [1, 300]", int_in(1, 300)),
}


class BatchNormRun(NamedTuple):
    """One simulated run; C = len(CHANNEL_MEANS), T = steps."""

    x: Any  # (N, C, 4, 4) the batch shown (the last training batch, or a fresh one in eval)
    out: Any  # (N, C, 4, 4) that batch after BN in the chosen mode
    running_mean: Any  # (T + 1, C) running_mean before the first step and after each step
    running_var: Any  # (T + 1, C)
    true_mean: Any  # (C,) the mean of the distribution the batches come from
    true_var: Any  # (C,)
    training: bool


def _check(settings: dict, fn: str) -> None:
    for name, value in settings.items():
        if name not in _RULES:
            raise ValueError(f"{fn}: unknown setting {name!r}")
        rule, ok = _RULES[name]
        if not ok(value):
            raise ValueError(f"{fn}: {name} must be {rule}, got {value!r}")


def simulate_batch_norm(
    batch_size=16,
    momentum=0.1,
    gamma=1.0,
    beta=0.0,
    mode="train",
    shift=0.0,
    scale=1.0,
    steps=50,
    eps=1e-5,
    seed=0,
) -> BatchNormRun:
    """Run ``steps`` training steps of BN on batches ``(batch_size, 3, 4, 4)``; see the module
    docstring. ``gamma`` and ``beta`` are shared by the three channels."""
    settings = dict(batch_size=batch_size, momentum=momentum, gamma=gamma, beta=beta)
    settings.update(mode=mode, shift=shift, scale=scale, steps=steps)
    _check(settings, "simulate_batch_norm")
    c = len(CHANNEL_MEANS)
    true_mean = shift + np.array(CHANNEL_MEANS)
    true_std = scale * np.array(CHANNEL_STDS)
    gen = SeededRandom(seed)
    shape = (batch_size, c, SPATIAL, SPATIAL)
    center = true_mean.reshape(1, c, 1, 1)
    spread = true_std.reshape(1, c, 1, 1)

    def draw():
        return center + spread * gen.normal(shape)

    weight, bias = np.full(c, float(gamma)), np.full(c, float(beta))
    running_mean, running_var = np.zeros(c), np.ones(c)
    means, variances = [running_mean.copy()], [running_var.copy()]
    for _ in range(steps):
        x = draw()
        out = F.batch_norm(x, running_mean, running_var, weight, bias, True, momentum, eps)
        means.append(running_mean.copy())
        variances.append(running_var.copy())
    if mode == "eval":
        x = draw()
        out = F.batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    return BatchNormRun(
        x, out, np.array(means), np.array(variances), true_mean, true_std**2, mode == "train"
    )


def plot_batch_norm_run(axes, run: BatchNormRun, title=None):
    """Four panels: the batch per channel before BN, after BN, running mean and running var
    per step (dotted: the true values)."""
    before, after, ax_mean, ax_var = axes
    for ax in axes:
        ax.clear()
    lo = min(run.x.min(), run.out.min())
    hi = max(run.x.max(), run.out.max())
    bins = np.linspace(lo, hi, 41) if hi > lo else 41
    for c, color in enumerate(COLORS[: run.x.shape[1]]):
        before.hist(run.x[:, c].ravel(), bins, color=color, alpha=0.5, label=f"channel {c}")
        after.hist(run.out[:, c].ravel(), bins, color=color, alpha=0.5)
        t = np.arange(len(run.running_mean))
        ax_mean.plot(t, run.running_mean[:, c], color=color)
        ax_mean.axhline(run.true_mean[c], color=color, ls=":", lw=1)
        ax_var.plot(t, run.running_var[:, c], color=color)
        ax_var.axhline(run.true_var[c], color=color, ls=":", lw=1)
    mode = "train: batch statistics" if run.training else "eval: running statistics"
    before.set(title="before BN", xlabel="value", ylabel="count")
    after.set(title=f"after BN ({mode})", xlabel="value")
    ax_mean.set(title="running_mean", xlabel="training step")
    ax_var.set(title="running_var", xlabel="training step")
    before.legend(fontsize=7)
    if title:
        before.figure.suptitle(title)


class BatchNormExplorer(Explorer):
    """Batch normalisation of a stream of batches, with controls for every knob, computed in
    the browser (``js/batchnorm.js``) with the same random numbers as
    :func:`simulate_batch_norm` (seed ``seed``).

    Parameters
    ----------
    batch_size : int in [1, 256]
        Samples per batch; each channel then has ``16 * batch_size`` values.
    momentum : float in [0.01, 1]
        torch's convention: the weight of the *new* batch statistic.
    gamma, beta : float in [-3, 3]
        The affine parameters, the same for every channel.
    mode : "train" or "eval"
        Which statistics normalise the batch shown.
    shift : float in [-5, 5], scale : float in [1/8, 8]
        Move and stretch the incoming distribution (every channel).
    steps : int in [1, 300]
        Training steps taken before the batch shown.

    Notes
    -----
    The settings are traits synced with the browser (``explorer.mode = "eval"``, or
    ``explorer.set(mode="eval", steps=5)`` for several at once); ``running_mean`` and
    ``running_var`` are what the browser computed, and :meth:`compute` is cnnlib's answer.
    """

    _esm = module_source("batchnorm")
    _rules = _RULES
    batch_size = T.Int(16, help="samples per batch, 1 to 256").tag(sync=True)
    momentum = T.Float(0.1, help="torch's: the new statistic's weight, 0.01 to 1").tag(sync=True)
    gamma = T.Float(1.0, help="the scale of every channel, -3 to 3").tag(sync=True)
    beta = T.Float(0.0, help="the shift of every channel, -3 to 3").tag(sync=True)
    mode = T.Unicode("train", help=f"one of {MODES}").tag(sync=True)
    shift = T.Float(0.0, help="added to the data's means, -5 to 5").tag(sync=True)
    scale = T.Float(1.0, help="multiplies the data's stds, 1/8 to 8").tag(sync=True)
    steps = T.Int(50, help="training steps, 1 to 300").tag(sync=True)
    seed = T.Int(0, help="the random numbers' seed").tag(sync=True)
    running_mean = T.List(help="the browser's (steps + 1, 3) running means").tag(sync=True)
    running_var = T.List(help="the browser's (steps + 1, 3) running variances").tag(sync=True)

    @T.validate(*_RULES)
    def _validate(self, proposal):
        self._check(proposal["trait"].name, proposal["value"])
        return proposal["value"]

    def __init__(
        self,
        batch_size=16,
        momentum=0.1,
        gamma=1.0,
        beta=0.0,
        mode="train",
        shift=0.0,
        scale=1.0,
        steps=50,
        seed=0,
    ):
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"BatchNormExplorer: seed must be an integer >= 0, got {seed!r}")
        super().__init__(seed=seed)
        self.set(
            batch_size=batch_size, momentum=momentum, gamma=gamma, beta=beta, mode=mode,
            shift=shift, scale=scale, steps=steps,
        )  # fmt: skip

    def compute(self) -> BatchNormRun:
        """cnnlib's run for the current settings, with the browser's random numbers."""
        return simulate_batch_norm(**self.settings(), seed=self.seed)

    def summary(self, run: BatchNormRun | None = None) -> str:
        """Per channel: the true, running and output statistics, one line each."""
        run, s = run or self.compute(), self.settings()
        m = s["momentum"]
        lines = [
            f"momentum {m:.2f} in torch's convention is {1 - m:.2f} in Keras's; after "
            f"{s['steps']} steps the initial running values still weigh "
            f"(1 - {m:.2f})^{s['steps']} = {(1 - m) ** s['steps']:.3g}"
        ]
        for c in range(len(CHANNEL_MEANS)):
            out = run.out[:, c]
            lines.append(
                f"channel {c}: data mean {run.true_mean[c]:+.2f} var {run.true_var[c]:.3g} | "
                f"running mean {run.running_mean[-1, c]:+.2f} var {run.running_var[-1, c]:.3g}"
                f" | output mean {out.mean():+.2f} std {out.std():.3g}"
            )
        return "\n".join(lines)

    def static_figure(self):
        """The four panels of :func:`plot_batch_norm_run`."""
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 4, figsize=(13, 3.2))
        plot_batch_norm_run(axes, self.compute())
        return fig
