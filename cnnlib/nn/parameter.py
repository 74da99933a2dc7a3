"""A trainable array and its gradient."""

from __future__ import annotations

import numpy as np

from cnnlib.backend import check_array

__all__ = ["Parameter"]


class Parameter:
    """A trainable array: ``.data`` holds the values, ``.grad`` the accumulated gradient.

    Unlike torch there is no autograd: a layer's ``backward`` adds its gradient to
    ``.grad`` (creating it on first use) and an optimizer reads it in ``step``.
    ``data`` may be a NumPy array (float32 by default for new layers) or a torch tensor.
    """

    def __init__(self, data, requires_grad: bool = True):
        if isinstance(data, (list, tuple, float, int)):
            data = np.asarray(data, dtype=np.float32)
        self.data = check_array(data, "data", "Parameter")
        self.grad = None
        self.requires_grad = requires_grad

    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def accumulate(self, grad) -> None:
        """Add `grad` to ``.grad`` (gradients of a parameter used twice add up)."""
        if not self.requires_grad or grad is None:
            return
        self.grad = grad if self.grad is None else self.grad + grad

    def __repr__(self) -> str:
        return f"Parameter containing:\n{self.data!r}"
