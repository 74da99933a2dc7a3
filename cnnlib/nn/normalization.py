"""Normalisation layers: batch normalisation (with running statistics) and AlexNet's LRN."""

from __future__ import annotations

import numpy as np

from cnnlib import functional as F
from cnnlib.nn.module import Module
from cnnlib.nn.parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LocalResponseNorm"]


class _BatchNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, per channel (dim 1).

    Training mode normalises with the batch's statistics and updates the buffers
    running_mean/running_var: new = (1 - momentum) old + momentum batch_stat (the unbiased
    variance); momentum=None averages all batches seen (1 / num_batches_tracked). Eval mode
    uses the running statistics. affine=False drops weight and bias (bias=False only bias);
    track_running_stats=False keeps no buffers and always uses batch statistics.
    """

    _dims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *,
                 bias: bool = True):  # fmt: skip
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        ones, zeros = np.ones(num_features, np.float32), np.zeros(num_features, np.float32)
        self.register_parameter("weight", Parameter(ones) if affine else None)
        self.register_parameter("bias", Parameter(zeros) if affine and bias else None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=np.float32))
            self.register_buffer("running_var", np.ones(num_features, dtype=np.float32))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )

    def _check_input(self, x):
        name = type(self).__name__
        if x.ndim not in self._dims:
            dims = " or ".join(f"{d}-D" for d in self._dims)
            raise ValueError(f"{name}: expected {dims} input, got shape {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}: input has {x.shape[1]} channels (shape {tuple(x.shape)}) but the "
                f"layer was built for num_features={self.num_features}"
            )

    def forward(self, x):
        self._check_input(x)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if self.momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked)
        use_batch_stats = self.training or self.running_mean is None
        weight = None if self.weight is None else self.weight.data
        bias = None if self.bias is None else self.bias.data
        self.out, self.cache = F.batch_norm_forward(
            x, self.running_mean, self.running_var, weight, bias,
            training=use_batch_stats, momentum=momentum, eps=self.eps,
        )  # fmt: skip
        return self.out

    def backward(self, dout):
        dx, dweight, dbias = F.batch_norm_backward(self._check_dout(dout), self.cache)
        if self.weight is not None:
            self.weight.accumulate(dweight)
        if self.bias is not None:
            self.bias.accumulate(dbias)
        return dx


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs; statistics per channel C."""

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs; statistics per channel over N, H and W."""

    _dims = (4,)


class LocalResponseNorm(Module):
    """AlexNet's local response normalisation across channels (torch semantics):
    y_c = x_c / (k + alpha / size * sum_{c' near c} x_{c'}^2) ^ beta."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

    def forward(self, x):
        self.out, self.cache = F.local_response_norm_forward(
            x, self.size, self.alpha, self.beta, self.k
        )
        return self.out

    def backward(self, dout):
        return F.local_response_norm_backward(self._check_dout(dout), self.cache)
