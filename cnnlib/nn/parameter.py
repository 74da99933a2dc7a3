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
    With ``requires_grad=False`` (or after ``requires_grad_(False)``) the parameter is
    frozen: backward adds nothing, ``.grad`` stays as it was (None after ``zero_grad``) and
    optimizers skip it.
    """

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = np.empty(0, dtype=np.float32)
        elif isinstance(data, (list, tuple, float, int)):
            data = np.asarray(data, dtype=np.float32)
        self.data = check_array(data, "data", "Parameter")
        self.grad = None
        self.requires_grad = requires_grad

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"Parameter: requires_grad must be a bool, got {value!r}")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True):
        """Set ``requires_grad`` in place and return the parameter (torch's spelling)."""
        self.requires_grad = requires_grad
        return self

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
        """Add `grad` to ``.grad`` (gradients of a parameter used twice add up); a frozen
        parameter (requires_grad False) ignores it."""
        if not self.requires_grad or grad is None:
            return
        self.grad = grad if self.grad is None else self.grad + grad

    def __repr__(self) -> str:
        return f"Parameter containing:\n{self.data!r}"
