"""Where an in-place op may not write: into an array that another branch still reads.

An op with ``inplace=True`` writes its result into its input. That is safe when the op is
the array's only reader (``Conv2d -> ReLU(inplace=True)``: nothing else reads the
convolution's output). It is not when a container hands one array to several branches:
in ``Residual(Sequential(ReLU(inplace=True), conv))`` the shortcut would add the overwritten
x, and backward would still pass the shortcut's gradient to the original x; in ``Concat`` a
branch that cached x (a convolution keeps its input) would compute its weight gradient from
the overwritten values. torch records in-place ops in its graph and either follows them or
raises ("a variable needed for gradient computation has been modified by an inplace
operation"); cnnlib keeps no such record, so it refuses the write up front.

Containers that share their input (``nn.Residual``, ``nn.Concat``) run their branches
inside ``shared_input(x, owner)``; the in-place ops call ``check_overwrite(input, fn)``
before writing. Inside ``cnnlib.no_grad()`` nothing is refused, since no backward will run.
Arrays you write into yourself (``x[...] = 0``) are not tracked: cnnlib caches inputs
without copying them.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np

from cnnlib.grad_mode import is_grad_enabled

__all__ = ["shared_input", "check_overwrite"]

_state = threading.local()


@contextmanager
def shared_input(x, owner: str):
    """While the block runs, in-place ops may not write into `x` (read by several branches
    of `owner`)."""
    stack = _state.__dict__.setdefault("stack", [])
    stack.append((x, owner))
    try:
        yield
    finally:
        stack.pop()


def _overlap(a, b) -> bool:
    """Might `a` and `b` share memory (one is a view of the other, or both of one buffer)?"""
    if a is b:
        return True
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return np.may_share_memory(a, b)
    storage = getattr(a, "untyped_storage", None)  # torch tensors
    if storage is not None and hasattr(b, "untyped_storage"):
        return storage().data_ptr() == b.untyped_storage().data_ptr()
    inner_a, inner_b = getattr(a, "_array", None), getattr(b, "_array", None)  # array_api_strict
    return inner_a is not None and inner_b is not None and _overlap(inner_a, inner_b)


def check_overwrite(input, fn: str) -> None:
    """RuntimeError if `fn`'s in-place write into `input` would change an array that a
    container's other branches read (module docstring)."""
    stack = getattr(_state, "stack", None)
    if not stack or not is_grad_enabled():
        return
    for x, owner in stack:
        if _overlap(input, x):
            raise RuntimeError(
                f"{fn}(inplace=True) would overwrite the input of {owner}, which more than "
                f"one branch of {owner} reads: their gradients would then be computed from "
                f"the overwritten values (torch tracks in-place writes; cnnlib does not). "
                f"Use inplace=False for the first layer of a {owner} branch."
            )
