"""Inverted dropout, forward and backward: of single entries, or of whole channels.

In training, each entry is kept with probability 1 - p and scaled by 1 / (1 - p)::

    mask ~ Bernoulli(1 - p)        (same shape as input)
    out  = input * mask / (1 - p)

so E[out] = input and evaluation needs no rescaling: with ``training=False`` (or p = 0)
dropout is the identity. p = 1 drops everything and returns zeros. The mask comes from
:mod:`cnnlib.random`, so a `seed` (or `generator`, or ``cnnlib.random.manual_seed``) gives
the same mask on NumPy, torch CPU and torch GPU. The backward pass reuses the mask::

    dx = dout * mask / (1 - p)

``dropout2d`` (spatial dropout, Tompson et al. 2015) draws one mask entry per channel of
each sample instead, and the entry broadcasts over the channel's whole feature map::

    input : (N, C, H, W)     mask : (N, C, 1, 1)     out = input * mask / (1 - p)

Neighbouring pixels of a feature map are strongly correlated, so dropping single pixels
hardly removes any information (the neighbours carry it); dropping a whole map does. As in
torch 2.13, a 3-D input is read as (N, C, L) (one mask entry per row, with torch's warning),
not as a single (C, H, W) image: pass ``x[None]`` for that.

``inplace=True`` (as in torch) overwrites `input` with the output and returns it.
"""

from __future__ import annotations

import warnings
from numbers import Real
from typing import Any, NamedTuple

from cnnlib import random
from cnnlib.functional._checks import _check_dout
from cnnlib.functional._inplace import check_overwrite
from cnnlib.functional.activation import _input

__all__ = [
    "DropoutCache",
    "dropout",
    "dropout_forward",
    "dropout_backward",
    "dropout2d",
    "dropout2d_forward",
    "dropout2d_backward",
]


class DropoutCache(NamedTuple):
    """What :func:`dropout_backward` and :func:`dropout2d_backward` need."""

    scaled_mask: Any  # mask / (1 - p): input's shape, (N, C, 1, 1) for dropout2d; None when
    # dropout was the identity
    out: Any  # the output, kept only to check dout's shape


def _check_args(input, p, training, inplace, fn: str) -> None:
    _input(input, fn)
    if not isinstance(p, Real) or isinstance(p, bool):
        raise TypeError(f"{fn}: p must be a number, got {p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{fn}: p must be between 0 and 1, got {p}")
    if not isinstance(training, bool):
        raise TypeError(f"{fn}: training must be True or False, got {training!r}")
    if not isinstance(inplace, bool):
        raise TypeError(f"{fn}: inplace must be True or False, got {inplace!r}")
    if inplace and training and p > 0:
        check_overwrite(input, fn)


def _apply(input, mask_shape, p, inplace, generator, seed):
    """input * mask / (1 - p) with mask ~ Bernoulli(1 - p) of `mask_shape` (broadcast)."""
    mask = random.bernoulli(mask_shape, 1.0 - p, like=input, generator=generator, seed=seed)
    scaled_mask = mask * 0.0 if p == 1 else mask / (1.0 - p)
    if inplace:
        input *= scaled_mask
        out = input
    else:
        out = input * scaled_mask
    return out, DropoutCache(scaled_mask, out)


def dropout_forward(input, p=0.5, training=True, inplace=False, *, generator=None, seed=None):
    """Returns (out, DropoutCache). See the module docstring."""
    _check_args(input, p, training, inplace, "dropout")
    if not training or p == 0:
        return input, DropoutCache(None, input)
    return _apply(input, tuple(input.shape), p, inplace, generator, seed)


def dropout_backward(dout, cache: DropoutCache):
    """dout * mask / (1 - p) (dout itself when dropout was the identity)."""
    _check_dout(dout, cache.out, "dropout_backward")
    return dout if cache.scaled_mask is None else dout * cache.scaled_mask


def dropout(input, p=0.5, training=True, inplace=False, *, generator=None, seed=None):
    """Inverted dropout. input : (*) -> (*); with ``inplace=True`` input is overwritten."""
    return dropout_forward(input, p, training, inplace, generator=generator, seed=seed)[0]


def dropout2d_forward(input, p=0.5, training=True, inplace=False, *, generator=None, seed=None):
    """Returns (out, DropoutCache) with a mask of shape (N, C, 1, 1). See the module
    docstring."""
    fn = "dropout2d"
    _check_args(input, p, training, inplace, fn)
    if input.ndim not in (3, 4):
        raise ValueError(
            f"{fn}: input must be 4-D (N, C, H, W) (or 3-D, read as (N, C, L)), got shape "
            f"{tuple(input.shape)}; for dropout of single entries use dropout"
        )
    if input.ndim == 3:
        warnings.warn(
            f"{fn}: a 3-D input is read as (N, C, L), as torch 2.13 does, and each of its "
            "N x C rows is dropped as a whole; for one (C, H, W) image pass x[None]",
            stacklevel=3,
        )
    if not training or p == 0:
        return input, DropoutCache(None, input)
    mask_shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _apply(input, mask_shape, p, inplace, generator, seed)


def dropout2d_backward(dout, cache: DropoutCache):
    """dout * mask / (1 - p), the (N, C, 1, 1) mask broadcast over each feature map."""
    _check_dout(dout, cache.out, "dropout2d_backward")
    return dout if cache.scaled_mask is None else dout * cache.scaled_mask


def dropout2d(input, p=0.5, training=True, inplace=False, *, generator=None, seed=None):
    """Channel dropout: zero whole feature maps. ``input : (N, C, H, W) -> (N, C, H, W)``;
    with ``inplace=True`` input is overwritten."""
    return dropout2d_forward(input, p, training, inplace, generator=generator, seed=seed)[0]
