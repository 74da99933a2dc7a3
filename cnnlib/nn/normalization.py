"""Normalisation layers: batch norm (with running statistics), layer norm, group norm and
AlexNet's LRN.

Layers with parameters take torch's ``device`` and ``dtype``: without them the parameters are
float32 NumPy arrays; otherwise they are converted as by ``module.to(device, dtype)``
(``device="cpu"`` or ``"cuda"`` gives torch tensors).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from cnnlib import functional as F
from cnnlib.functional._checks import _check_int
from cnnlib.nn.module import Module
from cnnlib.nn.parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "LocalResponseNorm"]


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
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True):  # fmt: skip
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
        _to_device_and_dtype(self, device, dtype)

    def reset_running_stats(self) -> None:
        """running_mean = 0, running_var = 1, num_batches_tracked = 0 (in place)."""
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def reset_parameters(self) -> None:
        """Reset the running statistics, and weight = 1, bias = 0."""
        self.reset_running_stats()
        _reset_affine(self)

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


def _to_device_and_dtype(module, device, dtype) -> None:
    if device is not None or dtype is not None:
        module.to(device, dtype)


def _reset_affine(module) -> None:
    """weight = 1, bias = 0, in place (the identity affine map)."""
    if module.weight is not None:
        module.weight.data[...] = 1
    if module.bias is not None:
        module.bias.data[...] = 0


class _AffineNorm(Module):
    """A normalisation without running statistics followed by an optional affine map."""

    def backward(self, dout):
        dx, dweight, dbias = self._backward_op(self._check_dout(dout), self.cache)
        if self.weight is not None:
            self.weight.accumulate(dweight)
        if self.bias is not None:
            self.bias.accumulate(dbias)
        return dx

    def reset_parameters(self) -> None:
        """weight = 1, bias = 0."""
        _reset_affine(self)

    def _params(self):
        weight = None if self.weight is None else self.weight.data
        bias = None if self.bias is None else self.bias.data
        return weight, bias


class LayerNorm(_AffineNorm):
    """Layer normalisation over the last dimensions, the ``normalized_shape``.

    ``input : (*, *normalized_shape) -> (*, *normalized_shape)``. Each sample (each
    position, for the channels-last maps of ConvNeXt) is standardised with its own mean and
    variance, then scaled and shifted by ``weight`` and ``bias`` of shape
    ``normalized_shape`` (ones and zeros at first; ``elementwise_affine=False`` drops both,
    ``bias=False`` only the bias). The same computation in training and evaluation.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None):  # fmt: skip
        super().__init__()
        if isinstance(normalized_shape, Integral) and not isinstance(normalized_shape, bool):
            normalized_shape = (normalized_shape,)
        if not isinstance(normalized_shape, (tuple, list)):
            raise TypeError(
                f"LayerNorm: normalized_shape must be an int or a tuple of ints, got "
                f"{normalized_shape!r}"
            )
        self.normalized_shape = tuple(
            _check_int(d, "normalized_shape", "LayerNorm", 0) for d in normalized_shape
        )
        self.eps, self.elementwise_affine = eps, elementwise_affine
        ones = np.ones(self.normalized_shape, np.float32)
        zeros = np.zeros(self.normalized_shape, np.float32)
        self.register_parameter("weight", Parameter(ones) if elementwise_affine else None)
        has_bias = elementwise_affine and bias
        self.register_parameter("bias", Parameter(zeros) if has_bias else None)
        _to_device_and_dtype(self, device, dtype)

    _backward_op = staticmethod(F.layer_norm_backward)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )

    def forward(self, x):
        weight, bias = self._params()
        self.out, self.cache = F.layer_norm_forward(
            x, self.normalized_shape, weight, bias, self.eps
        )
        return self.out


class GroupNorm(_AffineNorm):
    """Group normalisation: the channels of each sample in ``num_groups`` groups, each group
    standardised over its channels and positions, then a per-channel affine map.

    ``input : (N, num_channels, *) -> (N, num_channels, *)``. ``affine=False`` drops weight and bias
    (``bias=False`` only the bias). The same computation in training and evaluation.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *,
                 bias: bool = True):  # fmt: skip
        super().__init__()
        num_groups = _check_int(num_groups, "num_groups", "GroupNorm", 1)
        num_channels = _check_int(num_channels, "num_channels", "GroupNorm", 0)
        if num_channels % num_groups != 0:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                f"({num_groups})"
            )
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        ones, zeros = np.ones(num_channels, np.float32), np.zeros(num_channels, np.float32)
        self.register_parameter("weight", Parameter(ones) if affine else None)
        self.register_parameter("bias", Parameter(zeros) if affine and bias else None)
        _to_device_and_dtype(self, device, dtype)

    _backward_op = staticmethod(F.group_norm_backward)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"GroupNorm: expected input of shape (N, {self.num_channels}, *), got "
                f"{tuple(x.shape)}"
            )
        weight, bias = self._params()
        self.out, self.cache = F.group_norm_forward(x, self.num_groups, weight, bias, self.eps)
        return self.out


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
