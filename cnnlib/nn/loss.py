"""Loss layers: ``loss = fn(prediction, target)``; ``fn.backward()`` gives d loss / d prediction.

Constructors are torch's, legacy ``size_average``/``reduce`` included (mapped to a
reduction as torch maps them, with its warning), so ``MSELoss('sum')`` means what it means
in torch: ``size_average='sum'``, a true value, hence the mean. Class weights
(``weight``, ``pos_weight``) are buffers, as in torch: they move with ``.to()`` and appear
in ``state_dict()`` when given. The formulas and their gradients are in the functional
modules (``cross_entropy.py``, ``binary_cross_entropy.py``, ``loss.py``).
"""

from __future__ import annotations

from cnnlib import functional as F
from cnnlib.functional.loss import _check_reduction
from cnnlib.nn.module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss"]


class _Loss(Module):
    _op = ""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        self.reduction = _check_reduction(size_average, reduce, reduction, type(self).__name__)

    def _kwargs(self) -> dict:
        return {"reduction": self.reduction}

    def forward(self, input, target):
        self.out, self.cache = getattr(F, f"{self._op}_forward")(input, target, **self._kwargs())
        return self.out

    def backward(self, dout=1.0):
        """The gradient of the loss with respect to the prediction (upstream `dout`, 1.0 by
        default: the loss is the end of the graph)."""
        if self.out is None:
            name = type(self).__name__
            raise RuntimeError(f"{name}.backward called before forward: compute the loss first")
        return getattr(F, f"{self._op}_backward")(dout, self.cache)


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)

    def _kwargs(self) -> dict:
        return {"weight": self.weight, "reduction": self.reduction}


class CrossEntropyLoss(_WeightedLoss):
    """log_softmax + negative log-likelihood of logits: -log p[target] per term.

    input : (N, C) or (N, C, d1, ...) logits (or (C,)); target : class indices (N,) or
    (N, d1, ...), or class probabilities of the input's shape. ``weight`` (C,) weighs the
    classes, targets equal to ``ignore_index`` are skipped, ``label_smoothing`` mixes the
    target with the uniform distribution. The gradient is softmax(logits) - target
    (divided by N for the mean, without weights).
    """

    _op = "cross_entropy"

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0):  # fmt: skip
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def _kwargs(self) -> dict:
        return {
            **super()._kwargs(),
            "ignore_index": self.ignore_index,
            "label_smoothing": self.label_smoothing,
        }


class NLLLoss(_WeightedLoss):
    """-input[target] per term, for log-probabilities (after LogSoftmax)."""

    _op = "nll_loss"

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean"):  # fmt: skip
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def _kwargs(self) -> dict:
        return {**super()._kwargs(), "ignore_index": self.ignore_index}


class BCELoss(_WeightedLoss):
    """-(t log x + (1 - t) log(1 - x)) for probabilities x in [0, 1] (after Sigmoid)."""

    _op = "binary_cross_entropy"


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one stable step; ``pos_weight`` weighs the
    positive examples of each class (broadcast along the last dimension)."""

    _op = "binary_cross_entropy_with_logits"

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean",
                 pos_weight=None):  # fmt: skip
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def _kwargs(self) -> dict:
        return {"weight": self.weight, "reduction": self.reduction, "pos_weight": self.pos_weight}


class MSELoss(_Loss):
    """mean((input - target)^2); gradient 2 (input - target) / numel."""

    _op = "mse_loss"
