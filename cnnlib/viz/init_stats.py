"""How the scale of the initial weights carries a signal through a deep stack of convolutions.

The network is ``depth`` times ``z_l = conv2d(a_{l-1}, W_l)``, ``a_l = f(z_l)``, with
``channels`` in and out of every layer, no bias, and a random input ``a_0 ~ N(0, 1)``. A random
upstream gradient ``dL/da_depth ~ N(0, 1)`` is sent back through the same layers, so both
directions start at standard deviation 1 and every later value shows what the layers did to it.

By default the image wraps around (circular padding): every pixel then has exactly
``C * k * k`` inputs, as the fan-in formulas assume, like a pixel inside a very large image.
With zero padding the border pixels see fewer inputs and the missing variance compounds with
depth.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from cnnlib import functional as F
from cnnlib import random as cr
from cnnlib.init import _calculate_fan_in_and_fan_out

SCHEMES = ("too small", "xavier", "he", "too large")
ACTIVATIONS = ("relu", "tanh", "linear", "leaky_relu")
FIXED_STD = {"too small": 0.01, "too large": 1.0}


class SignalStats(NamedTuple):
    """What :func:`signal_propagation` measured; index l is layer l, index 0 the input."""

    weight_std: float  # the standard deviation every weight was drawn with
    pre_std: np.ndarray  # (depth + 1,) std of z_l, the conv outputs (entry 0: the input)
    act_std: np.ndarray  # (depth + 1,) std of a_l = f(z_l)
    grad_std: np.ndarray  # (depth + 1,) std of dL/da_l


def init_std(scheme: str, weight_shape, gain: float = 1.0) -> float:
    """The standard deviation ``scheme`` gives a weight of shape (C_out, C_in, kH, kW).

    fan_in = C_in * kH * kW and fan_out = C_out * kH * kW, as ``cnnlib.init`` computes them.

    - ``'xavier'``: gain * sqrt(2 / (fan_in + fan_out)) (Glorot and Bengio, 2010)
    - ``'he'``: gain * sqrt(2 / fan_in) (He et al., 2015, for ReLU)
    - ``'too small'``: gain * 0.01 and ``'too large'``: gain * 1, whatever the fan-in
    """
    if scheme not in SCHEMES:
        raise ValueError(f"init_std: scheme must be one of {SCHEMES}, got {scheme!r}")
    if not isinstance(gain, (int, float)) or isinstance(gain, bool) or not gain > 0:
        raise ValueError(f"init_std: gain must be a positive number, got {gain!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(np.empty(tuple(weight_shape)))
    if scheme == "xavier":
        return gain * math.sqrt(2.0 / (fan_in + fan_out))
    if scheme == "he":
        return gain * math.sqrt(2.0 / fan_in)
    return gain * FIXED_STD[scheme]


def _activation(name: str, negative_slope: float):
    """(forward, backward) of the nonlinearity ``name``; forward returns (out, cache)."""
    if name == "relu":
        return F.relu_forward, F.relu_backward
    if name == "tanh":
        return F.tanh_forward, F.tanh_backward
    if name == "leaky_relu":
        return (lambda z: F.leaky_relu_forward(z, negative_slope)), F.leaky_relu_backward
    return (lambda z: (z, None)), (lambda dout, cache: dout)


def _wrap_pad(a, p: int):
    """Circular padding of the last two axes by p: (N, C, H, W) -> (N, C, H + 2p, W + 2p)."""
    return np.pad(a, ((0, 0), (0, 0), (p, p), (p, p)), mode="wrap")


def _wrap_pad_backward(g, p: int):
    """The adjoint of ``_wrap_pad``: each padded entry's gradient goes back to its source pixel."""
    if p == 0:
        return g
    g = g.copy()
    g[:, :, :, p : 2 * p] += g[:, :, :, -p:]  # right pad columns came from the first columns
    g[:, :, :, -2 * p : -p] += g[:, :, :, :p]  # left pad columns came from the last columns
    g = g[:, :, :, p:-p]
    g[:, :, p : 2 * p, :] += g[:, :, -p:, :]
    g[:, :, -2 * p : -p, :] += g[:, :, :p, :]
    return g[:, :, p:-p, :]


def _check(depth, activation, channels, kernel_size, batch, size, padding_mode):
    fn = "signal_propagation"
    for name, value, low in [
        ("depth", depth, 1),
        ("channels", channels, 1),
        ("batch", batch, 1),
        ("kernel_size", kernel_size, 1),
    ]:
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f"{fn}: {name} must be an integer >= {low}, got {value!r}")
    if kernel_size % 2 == 0:
        raise ValueError(f"{fn}: kernel_size must be odd to keep the image size, got {kernel_size}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"{fn}: activation must be one of {ACTIVATIONS}, got {activation!r}")
    if padding_mode not in ("circular", "zeros"):
        raise ValueError(f"{fn}: padding_mode must be 'circular' or 'zeros', got {padding_mode!r}")
    if not isinstance(size, (int, np.integer)) or size < kernel_size:
        raise ValueError(
            f"{fn}: size must be an integer >= kernel_size {kernel_size}, got {size!r}"
        )


def signal_propagation(
    depth: int = 20,
    activation: str = "relu",
    scheme: str = "he",
    channels: int = 32,
    gain: float = 1.0,
    kernel_size: int = 3,
    batch: int = 1,
    size: int = 8,
    padding_mode: str = "circular",
    negative_slope: float = 0.01,
    seed: int = 0,
    draw=None,
) -> SignalStats:
    """Forward a random batch through ``depth`` conv + activation layers and back again.

    The input is (batch, channels, size, size), float64; every weight
    (channels, channels, kernel_size, kernel_size) is drawn from N(0, std^2) with
    ``std = init_std(scheme, weight.shape, gain)``. The conv keeps the image size
    (padding (kernel_size - 1) / 2). Same ``seed``, same numbers. ``draw(shape, std)``, if
    given, replaces ``cnnlib.random`` (the initialisation explorer passes its own generator).

    Returns
    -------
    SignalStats
        ``pre_std``, ``act_std`` and ``grad_std`` of shape (depth + 1,).
    """
    _check(depth, activation, channels, kernel_size, batch, size, padding_mode)
    shape = (channels, channels, kernel_size, kernel_size)
    std = init_std(scheme, shape, gain)
    forward, backward = _activation(activation, negative_slope)
    p = (kernel_size - 1) // 2
    gen = cr.make_generator(seed=seed)
    draw = draw or (lambda shape, std=1.0: cr.normal(shape, 0.0, std, generator=gen))

    a = draw((batch, channels, size, size))  # a_0
    pre, act, caches = [a.std()], [a.std()], []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(depth):
            w = draw(shape, std)
            if padding_mode == "circular":
                z, conv_cache = F.conv2d_forward(_wrap_pad(a, p), w)
            else:
                z, conv_cache = F.conv2d_forward(a, w, padding=p)
            a, act_cache = forward(z)
            caches.append((conv_cache, act_cache))
            pre.append(z.std())
            act.append(a.std())

        g = draw(a.shape)  # dL/da_depth
        grads = [g.std()]
        for conv_cache, act_cache in reversed(caches):
            dz = backward(g, act_cache)
            g = F.conv2d_backward(dz, conv_cache)[0]
            if padding_mode == "circular":
                g = _wrap_pad_backward(g, p)
            grads.append(g.std())
    return SignalStats(std, np.array(pre), np.array(act), np.array(grads[::-1]))


def mean_stats(runs) -> SignalStats:
    """Average several runs the way the derivations do: the root of the mean variance.

    A variance argument predicts the variance averaged over random weights; one network of
    finite width scatters around it, and with ReLU the scatter grows with depth.
    """
    runs = list(runs)
    if not runs:
        raise ValueError("mean_stats: need at least one SignalStats")
    if len({len(r.act_std) for r in runs}) != 1:
        raise ValueError(
            f"mean_stats: runs have different depths {sorted({len(r.act_std) - 1 for r in runs})}"
        )

    def rms(field):
        return np.sqrt(np.mean([getattr(r, field) ** 2 for r in runs], axis=0))

    weight_std = float(np.mean([r.weight_std for r in runs]))
    return SignalStats(weight_std, rms("pre_std"), rms("act_std"), rms("grad_std"))


def plot_signal_propagation(axes, stats: SignalStats, label: str, **style):
    """Draw ``act_std`` on ``axes[0]`` and ``grad_std`` on ``axes[1]`` per layer, log scale."""
    layers = np.arange(len(stats.act_std))
    for ax, values, title in [
        (axes[0], stats.act_std, "std of the activations $a_l$"),
        (axes[1], stats.grad_std, r"std of the gradients $\partial L / \partial a_l$"),
    ]:
        shown = np.where(np.isfinite(values) & (values > 0), values, np.nan)
        ax.semilogy(layers, shown, label=label, **style)
        ax.set_title(title)
        ax.set_xlabel("layer $l$")
        ax.grid(True, which="major", alpha=0.3)
    return axes
