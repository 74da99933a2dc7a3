"""The explorers' random numbers, the same in Python and in the browser.

An explorer that draws random weights or data on the static website computes them in
JavaScript (``js/common.js``); the tests and the notebooks need the very same numbers in
Python to compare with cnnlib. Both sides use mulberry32, a 32-bit generator whose i-th
number (i = 0, 1, ...) is a hash of ``seed + (i + 1) * 0x6D2B79F5 (mod 2**32)``, so NumPy
computes a whole block at once::

    a = seed + (i + 1) * 0x6D2B79F5                 (mod 2**32)
    t = (a ^ a >> 15) * (a | 1)                     (mod 2**32)
    t = (t + (t ^ t >> 7) * (t | 61)) ^ t           (mod 2**32)
    u = (t ^ t >> 14) / 2**32                       in [0, 1)

Normal numbers come from Box-Muller, one from each pair of uniforms (u1, u2):
``z = sqrt(-2 log(1 - u1)) cos(2 pi u2)``. The uniforms agree bit for bit with the browser;
``log`` and ``cos`` may differ in the last bit between JavaScript engines and C libraries.
"""

from __future__ import annotations

import math

import numpy as np

_STEP = 0x6D2B79F5
_MASK = 0xFFFFFFFF


def mulberry32(seed: int, count: int, start: int = 0) -> np.ndarray:
    """The uniforms number ``start`` to ``start + count - 1`` of the stream ``seed``, float64."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"mulberry32: seed must be an integer, got {seed!r}")
    i = np.arange(start + 1, start + count + 1, dtype=np.uint64)
    a = (np.uint64(int(seed) & _MASK) + i * np.uint64(_STEP)) & np.uint64(_MASK)
    a = a.astype(np.uint32)
    t = (a ^ (a >> np.uint32(15))) * (a | np.uint32(1))
    t = (t + (t ^ (t >> np.uint32(7))) * (t | np.uint32(61))) ^ t
    return (t ^ (t >> np.uint32(14))).astype(np.float64) / 2.0**32


class SeededRandom:
    """A stream of uniform and normal numbers, identical to ``normals(seed)`` in common.js.

    >>> SeededRandom(0).normal((2,)).round(6).tolist()
    [0.787185, 0.43144]
    """

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.drawn = 0  # uniforms used so far

    def uniform(self, count: int) -> np.ndarray:
        """The next ``count`` uniforms in [0, 1)."""
        u = mulberry32(self.seed, count, self.drawn)
        self.drawn += count
        return u

    def normal(self, shape, std=1.0) -> np.ndarray:
        """``std * z`` with z standard normal, in C order (two uniforms per number)."""
        shape = tuple(shape)
        n = math.prod(shape)
        u = self.uniform(2 * n).reshape(n, 2)
        with np.errstate(over="ignore"):
            z = np.sqrt(-2.0 * np.log(1.0 - u[:, 0])) * np.cos(2.0 * math.pi * u[:, 1])
        return (std * z).reshape(shape)
