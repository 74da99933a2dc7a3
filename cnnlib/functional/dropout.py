"""Inverted dropout, forward and backward.

In training, each entry is kept with probability 1 - p and scaled by 1 / (1 - p)::

    mask ~ Bernoulli(1 - p)        (same shape as input)
    out  = input * mask / (1 - p)

so E[out] = input and evaluation needs no rescaling: with ``training=False`` (or p = 0)
dropout is the identity. p = 1 drops everything and returns zeros. The mask comes from
:mod:`cnnlib.random`, so a `seed` (or `generator`, or ``cnnlib.random.manual_seed``) gives
the same mask on NumPy, torch CPU and torch GPU. The backward pass reuses the mask::

    dx = dout * mask / (1 - p)

``inplace=True`` (as in torch) overwrites `input` with the output and returns it.
"""

from __future__ import annotations

from numbers import Real
from typing import Any, NamedTuple

from cnnlib import random
from cnnlib.functional._checks import _check_dout
from cnnlib.functional.activation import _input

__all__ = ["DropoutCache", "dropout", "dropout_forward", "dropout_backward"]


class DropoutCache(NamedTuple):
    """What :func:`dropout_backward` needs."""

    scaled_mask: Any  # mask / (1 - p), same shape as input; None when dropout was the identity
    out: Any  # the output, kept only to check dout's shape


def dropout_forward(input, p=0.5, training=True, inplace=False, *, generator=None, seed=None):
    """Returns (out, DropoutCache). See the module docstring."""
    _input(input, "dropout")
    if not isinstance(p, Real) or isinstance(p, bool):
        raise TypeError(f"dropout: p must be a number, got {p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be between 0 and 1, got {p}")
    if not isinstance(training, bool):
        raise TypeError(f"dropout: training must be True or False, got {training!r}")
    if not isinstance(inplace, bool):
        raise TypeError(f"dropout: inplace must be True or False, got {inplace!r}")
    if not training or p == 0:
        return input, DropoutCache(None, input)
    mask = random.bernoulli(input.shape, 1.0 - p, like=input, generator=generator, seed=seed)
    scaled_mask = mask * 0.0 if p == 1 else mask / (1.0 - p)
    if inplace:
        input *= scaled_mask
        out = input
    else:
        out = input * scaled_mask
    return out, DropoutCache(scaled_mask, out)


def dropout_backward(dout, cache: DropoutCache):
    """dout * mask / (1 - p) (dout itself when dropout was the identity)."""
    _check_dout(dout, cache.out, "dropout_backward")
    return dout if cache.scaled_mask is None else dout * cache.scaled_mask


def dropout(input, p=0.5, training=True, inplace=False, *, generator=None, seed=None):
    """Inverted dropout. input : (*) -> (*); with ``inplace=True`` input is overwritten."""
    return dropout_forward(input, p, training, inplace, generator=generator, seed=seed)[0]
