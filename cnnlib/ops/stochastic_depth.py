"""Stochastic depth (Huang, Sun, Liu, Sedra and Weinberger, 2016), forward and backward.

A residual block computes x + f(x). Stochastic depth drops the branch f(x) at random while
training, so the block is the identity for that sample: a deep network trains as an
ensemble of shallower ones. Applied to the branch's output ``input`` = f(x)::

    "row"   : noise of shape (N, 1, ..., 1), one keep/drop decision per sample
    "batch" : noise of shape (1, 1, ..., 1), one decision for the whole batch
    noise   ~ Bernoulli(1 - p) / (1 - p)          (zeros when p = 1)
    out     = input * noise                       (noise broadcast over the other axes)

Dividing by the survival rate 1 - p keeps E[out] = input, as inverted dropout does, so
evaluation (``training=False``) and p = 0 are the identity. The noise comes from
:mod:`cnnlib.random` (``cnnlib.random.manual_seed``, or `generator` / `seed`).

Backward: out is input times a constant (per sample), so ``dx = dout * noise``, with the
same broadcast; a dropped sample gets no gradient through the branch.

torchvision calls this ``torchvision.ops.stochastic_depth(input, p, mode, training=True)``;
ConvNeXt uses it in "row" mode with p growing linearly with depth.
"""

from __future__ import annotations

from numbers import Real
from typing import Any, NamedTuple

from cnnlib import random
from cnnlib.backend import namespace
from cnnlib.functional._checks import _check_dout, _check_float
from cnnlib.nn.module import Module

__all__ = [
    "StochasticDepthCache",
    "stochastic_depth",
    "stochastic_depth_forward",
    "stochastic_depth_backward",
    "StochasticDepth",
]


class StochasticDepthCache(NamedTuple):
    """What :func:`stochastic_depth_backward` needs."""

    noise: Any  # (N, 1, ..., 1) or (1, ..., 1), already divided by 1 - p; None: the identity
    out: Any  # the output, kept only to check dout's shape and dtype


def _check_args(p, mode, training, fn: str) -> None:
    if not isinstance(p, Real) or isinstance(p, bool):
        raise TypeError(f"{fn}: p must be a number between 0 and 1, got {p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{fn}: drop probability p has to be between 0 and 1, but got {p}")
    if mode not in ("batch", "row"):
        raise ValueError(f"{fn}: mode has to be either 'batch' or 'row', but got {mode!r}")
    if not isinstance(training, bool):
        raise TypeError(f"{fn}: training must be True or False, got {training!r}")


def stochastic_depth_forward(input, p, mode, training=True, *, generator=None, seed=None):
    """Returns (out, StochasticDepthCache); out has the shape of input, (N, ...). See the
    module docstring."""
    fn = "stochastic_depth"
    xp = namespace(input, names=["input"], fn=fn)
    _check_float(input, "input", fn, xp)
    _check_args(p, mode, training, fn)
    if input.ndim < 1:
        raise ValueError(f"{fn}: input must have a batch dimension, got shape {tuple(input.shape)}")
    if not training or p == 0.0:
        return input, StochasticDepthCache(None, input)
    survival = 1.0 - p
    size = (input.shape[0],) + (1,) * (input.ndim - 1) if mode == "row" else (1,) * input.ndim
    noise = random.bernoulli(size, survival, like=input, generator=generator, seed=seed)
    if survival > 0.0:
        noise = noise / survival
    out = input * noise
    return out, StochasticDepthCache(noise, out)


def stochastic_depth_backward(dout, cache: StochasticDepthCache):
    """dx = dout * noise (dout itself when the forward was the identity)."""
    _check_dout(dout, cache.out, "stochastic_depth_backward")
    return dout if cache.noise is None else dout * cache.noise


def stochastic_depth(input, p, mode, training=True, *, generator=None, seed=None):
    """torchvision.ops.stochastic_depth: input * Bernoulli(1 - p) / (1 - p) noise, per sample
    ("row") or per batch ("batch"); the identity when not training."""
    return stochastic_depth_forward(input, p, mode, training, generator=generator, seed=seed)[0]


class StochasticDepth(Module):
    """torchvision.ops.StochasticDepth(p, mode): drops the residual branch it follows with
    probability p (per sample for mode="row"), in training mode only.

    `generator` (keyword-only, a numpy.random.Generator) fixes the noise, as for Dropout.
    """

    def __init__(self, p: float, mode: str, *, generator=None):
        super().__init__()
        _check_args(p, mode, True, "StochasticDepth")
        self.p, self.mode, self.generator = p, mode, generator

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"

    def forward(self, input):
        self.out, self.cache = stochastic_depth_forward(
            input, self.p, self.mode, self.training, generator=self.generator
        )
        return self.out

    def backward(self, dout):
        return stochastic_depth_backward(dout, self.cache)
