"""Layers, containers and losses with torch.nn's names, each with forward AND backward.

A layer is a thin wrapper around a ``cnnlib.functional`` op: ``forward`` calls
``F.<op>_forward`` and keeps the cache, ``backward`` calls ``F.<op>_backward`` and adds
the parameter gradients to ``Parameter.grad``.
"""

from cnnlib.nn.activation import (
    GELU,
    Hardsigmoid,
    Hardswish,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from cnnlib.nn.containers import Concat, ModuleDict, ModuleList, Residual, Sequential
from cnnlib.nn.conv import Conv2d, ConvTranspose2d
from cnnlib.nn.dropout import Dropout, Dropout2d
from cnnlib.nn.flatten import Flatten
from cnnlib.nn.linear import Identity, Linear
from cnnlib.nn.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from cnnlib.nn.module import Module
from cnnlib.nn.normalization import (
    BatchNorm1d,
    BatchNorm2d,
    GroupNorm,
    LayerNorm,
    LocalResponseNorm,
)
from cnnlib.nn.padding import (
    CircularPad2d,
    ConstantPad2d,
    ReflectionPad2d,
    ReplicationPad2d,
    ZeroPad2d,
)
from cnnlib.nn.parameter import Parameter
from cnnlib.nn.pooling import (
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    MaxPool2d,
    MaxUnpool2d,
)
from cnnlib.nn.upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = [
    "Parameter",
    "Module",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "Residual",
    "Concat",
    "Conv2d",
    "ConvTranspose2d",
    "Linear",
    "Identity",
    "Flatten",
    "MaxPool2d",
    "AvgPool2d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "MaxUnpool2d",
    "Upsample",
    "UpsamplingNearest2d",
    "UpsamplingBilinear2d",
    "ZeroPad2d",
    "ConstantPad2d",
    "ReflectionPad2d",
    "ReplicationPad2d",
    "CircularPad2d",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "LogSoftmax",
    "ReLU6",
    "Hardsigmoid",
    "Hardswish",
    "SiLU",
    "GELU",
    "Dropout",
    "Dropout2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "LocalResponseNorm",
    "LayerNorm",
    "GroupNorm",
    "CrossEntropyLoss",
    "MSELoss",
    "NLLLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
]
