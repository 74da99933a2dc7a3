"""Seeded random numbers for every backend.

All random numbers are drawn from one NumPy generator and then moved to the library,
device and dtype of a reference array (`like`). That keeps one code path for NumPy,
torch on the CPU and torch on a GPU, and it makes a seed mean the same numbers on all of
them: a model initialised with seed 0 has identical weights whichever backend runs it.

``manual_seed`` reseeds the global generator, as ``torch.manual_seed`` does; every function
also takes an explicit ``generator`` (a ``numpy.random.Generator``) or ``seed``.
"""

from __future__ import annotations

import numpy as np

from cnnlib.backend import asarray_like

__all__ = ["manual_seed", "get_generator", "make_generator", "uniform", "normal", "bernoulli"]

_global = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Reseed the global generator used when no `generator` or `seed` is given."""
    global _global
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    _global = np.random.default_rng(int(seed))


def get_generator() -> np.random.Generator:
    """The global generator (reseeded by `manual_seed`)."""
    return _global


def make_generator(generator=None, seed=None) -> np.random.Generator:
    """`generator` if given, else a new one from `seed`, else the global generator."""
    if generator is not None and seed is not None:
        raise ValueError("pass either generator or seed, not both")
    if generator is not None:
        if not isinstance(generator, np.random.Generator):
            raise TypeError(
                f"generator must be a numpy.random.Generator, got {type(generator).__name__}"
            )
        return generator
    if seed is not None:
        return np.random.default_rng(seed)
    return _global


def _finish(values: np.ndarray, like, dtype):
    if like is None:
        return values if dtype is None else values.astype(dtype)
    return asarray_like(values, like, dtype=dtype)


def uniform(shape, low=0.0, high=1.0, *, like=None, dtype=None, generator=None, seed=None):
    """Samples from U(low, high) of `shape`, as an array like `like` (NumPy float64 if None)."""
    g = make_generator(generator, seed)
    return _finish(g.uniform(low, high, size=tuple(shape)), like, dtype)


def normal(shape, mean=0.0, std=1.0, *, like=None, dtype=None, generator=None, seed=None):
    """Samples from N(mean, std^2) of `shape`, as an array like `like`."""
    g = make_generator(generator, seed)
    return _finish(g.normal(mean, std, size=tuple(shape)), like, dtype)


def bernoulli(shape, p, *, like=None, dtype=None, generator=None, seed=None):
    """A 0/1 mask of `shape` whose entries are 1 with probability `p`."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"bernoulli: p must be in [0, 1], got {p}")
    g = make_generator(generator, seed)
    return _finish((g.random(size=tuple(shape)) < p).astype(np.float64), like, dtype)
