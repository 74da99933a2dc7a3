"""ResNet (He, Zhang, Ren and Sun, 2016): learn a residual F(x) and add x back.

A block computes relu(F(x) + shortcut(x)). The shortcut is the identity, or a strided
1x1 conv + batch norm when the block halves the map or changes the channel count. As in
torchvision ("ResNet v1.5"), a bottleneck block strides in its 3x3 conv, not its first 1x1.

    stem   7x7/2 conv, BN, ReLU, 3x3/2 max pool              224 -> 56
    stage1 .. stage4 at 64, 128, 256, 512 channels (x4 for bottlenecks), 56 -> 7
    head   global average pool, fully connected

Parameter counts (torchvision): ResNet-18 11,689,512, ResNet-34 21,797,672,
ResNet-50 25,557,032. `small=True` swaps the stem for one 3x3/1 conv without pooling, for
32x32 (CIFAR) or 8x8 (digits) inputs.
"""

from __future__ import annotations

from cnnlib import nn
from cnnlib.models._common import conv_bn, scaled

__all__ = ["basic_block", "bottleneck", "resnet", "resnet18", "resnet34", "resnet50"]


def _shortcut(c_in, c_out, stride):
    if stride == 1 and c_in == c_out:
        return None  # identity
    return conv_bn(c_in, c_out, 1, stride=stride, relu=False)


def basic_block(c_in, planes, stride=1):
    """3x3 conv-BN-ReLU, 3x3 conv-BN, plus the shortcut, then ReLU. Output: planes channels."""
    body = nn.Sequential(
        conv_bn(c_in, planes, 3, stride=stride, padding=1),
        conv_bn(planes, planes, 3, padding=1, relu=False),
    )
    return nn.Sequential(nn.Residual(body, _shortcut(c_in, planes, stride)), nn.ReLU())


def bottleneck(c_in, planes, stride=1):
    """1x1 reduce, 3x3 (strided), 1x1 expand to 4 * planes, plus the shortcut, then ReLU."""
    body = nn.Sequential(
        conv_bn(c_in, planes, 1),
        conv_bn(planes, planes, 3, stride=stride, padding=1),
        conv_bn(planes, 4 * planes, 1, relu=False),
    )
    return nn.Sequential(nn.Residual(body, _shortcut(c_in, 4 * planes, stride)), nn.ReLU())


def resnet(blocks, bottlenecks=False, num_classes=1000, in_channels=3, width=1.0, small=False):
    """A ResNet with `blocks` blocks per stage, e.g. (2, 2, 2, 2) for ResNet-18.

    x : (N, in_channels, H, W)  ->  logits (N, num_classes)
    """
    block, expansion = (bottleneck, 4) if bottlenecks else (basic_block, 1)
    c0 = scaled(64, width)
    if small:
        stem = conv_bn(in_channels, c0, 3, padding=1)
    else:
        stem = nn.Sequential(
            conv_bn(in_channels, c0, 7, stride=2, padding=3), nn.MaxPool2d(3, stride=2, padding=1)
        )
    stages, c = [], c0
    for i, n in enumerate(blocks):
        planes = scaled(64 * 2**i, width)
        layers = []
        for j in range(n):
            layers.append(block(c, planes, stride=2 if (i > 0 and j == 0) else 1))
            c = planes * expansion
        stages.append(nn.Sequential(*layers))
    return nn.Sequential(
        stem,
        *stages,
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(c, num_classes),
    )


def resnet18(num_classes=1000, **kwargs):
    """ResNet-18: basic blocks (2, 2, 2, 2); 11,689,512 parameters."""
    return resnet((2, 2, 2, 2), False, num_classes, **kwargs)


def resnet34(num_classes=1000, **kwargs):
    """ResNet-34: basic blocks (3, 4, 6, 3); 21,797,672 parameters."""
    return resnet((3, 4, 6, 3), False, num_classes, **kwargs)


def resnet50(num_classes=1000, **kwargs):
    """ResNet-50: bottleneck blocks (3, 4, 6, 3); 25,557,032 parameters."""
    return resnet((3, 4, 6, 3), True, num_classes, **kwargs)
