"""one_hot: class indices as indicator vectors (torch.nn.functional.one_hot).

::

    tensor : (*) integers in 0..num_classes-1  ->  out : (*, num_classes) int64
    out[..., c] = 1 if tensor[...] == c else 0

``num_classes=-1`` takes one more than the largest value (which fails for an empty array,
as in torch). Not differentiable: it has no forward/backward pair.
"""

from __future__ import annotations

import math
from numbers import Integral

from array_api_compat import device

from cnnlib.backend import namespace

__all__ = ["one_hot"]


def one_hot(tensor, num_classes=-1):
    """Indicator vectors of integer class indices. ``tensor : (*) -> (*, num_classes)``."""
    fn = "one_hot"
    xp = namespace(tensor, names=["tensor"], fn=fn)
    if not xp.isdtype(tensor.dtype, "integral"):
        raise TypeError(
            f"{fn}: tensor must hold integer class indices, got dtype {tensor.dtype} "
            "(convert with .astype(int) / .long())"
        )
    if not isinstance(num_classes, Integral) or isinstance(num_classes, bool):
        raise TypeError(f"{fn}: num_classes must be an int, got {num_classes!r}")
    if num_classes < -1:
        raise ValueError(f"{fn}: num_classes must be -1 (infer) or >= 0, got {num_classes}")
    empty = math.prod(tensor.shape) == 0
    if num_classes == -1:
        if empty:
            raise ValueError(
                f"{fn}: cannot infer num_classes from an empty tensor; pass num_classes"
            )
        num_classes = int(xp.max(tensor)) + 1
    if not empty:
        low, high = int(xp.min(tensor)), int(xp.max(tensor))
        if low < 0:
            raise ValueError(f"{fn}: class values must be non-negative, got {low}")
        if high >= num_classes:
            raise ValueError(
                f"{fn}: class values must be smaller than num_classes={num_classes}, got {high}"
            )
    classes = xp.arange(num_classes, dtype=xp.int64, device=device(tensor))
    return xp.astype(xp.expand_dims(tensor, axis=-1) == classes, xp.int64)
