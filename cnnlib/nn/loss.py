"""Loss layers: ``loss = fn(prediction, target)``; ``fn.backward()`` gives d loss / d prediction."""

from __future__ import annotations

from cnnlib import functional as F
from cnnlib.nn.module import Module

__all__ = ["CrossEntropyLoss", "MSELoss"]


class _Loss(Module):
    _op = ""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none'")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"

    def forward(self, input, target):
        self.out, self.cache = getattr(F, f"{self._op}_forward")(
            input, target, reduction=self.reduction
        )
        return self.out

    def backward(self, dout=1.0):
        """The gradient of the loss with respect to the prediction (upstream `dout`, 1.0 by
        default: the loss is the end of the graph)."""
        if self.out is None:
            name = type(self).__name__
            raise RuntimeError(f"{name}.backward called before forward: compute the loss first")
        return getattr(F, f"{self._op}_backward")(dout, self.cache)


class CrossEntropyLoss(_Loss):
    """-log softmax(logits)[target], averaged over the batch.

    input : (N, num_classes) logits, target : (N,) integer class indices.
    The gradient is (softmax(logits) - one_hot(target)) / N.
    """

    _op = "cross_entropy"


class MSELoss(_Loss):
    """mean((input - target)^2); gradient 2 (input - target) / numel."""

    _op = "mse_loss"
