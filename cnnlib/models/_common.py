"""Small helpers shared by the model builders."""

from __future__ import annotations

from cnnlib import nn

__all__ = ["scaled", "conv_bn"]


def scaled(channels: int, width: float, multiple: int = 1) -> int:
    """`channels * width`, rounded to a positive multiple of `multiple` (for grouped convs)."""
    return max(multiple, int(round(channels * width / multiple)) * multiple)


def conv_bn(c_in, c_out, kernel_size, stride=1, padding=0, relu=True, eps=1e-5):
    """Conv2d (no bias: BatchNorm's shift replaces it) -> BatchNorm2d -> ReLU."""
    layers = [
        nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, bias=False),
        nn.BatchNorm2d(c_out, eps=eps),
    ]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)
