"""VGG (Simonyan and Zisserman, 2015): stacks of 3x3 convolutions and 2x2 max pools.

Two 3x3 convs see a 5x5 window and three see 7x7, with fewer parameters (2 * 9 C^2 and
3 * 9 C^2 against 25 C^2 and 49 C^2) and a ReLU between each. The configurations A, B, D
and E of the paper are VGG-11, -13, -16 and -19 (the number of weight layers). The head,
as in torchvision: adaptive average pool to 7x7 (the identity at 224x224), then
25088 -> 4096 -> 4096 -> num_classes with ReLU and dropout.
"""

from __future__ import annotations

from cnnlib import nn
from cnnlib.models._common import scaled

__all__ = ["vgg", "vgg11", "vgg13", "vgg16", "vgg19", "CONFIGS"]

# numbers are 3x3 conv widths, "M" a 2x2 max pool with stride 2
CONFIGS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
         512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}  # fmt: skip


def vgg(depth, num_classes=1000, batch_norm=False, in_channels=3, width=1.0, hidden=4096,
        pool_size=7):  # fmt: skip
    """VGG-`depth` (11, 13, 16 or 19); `width` scales the conv channels.

    x : (N, in_channels, H, W) with H, W >= 32  ->  logits (N, num_classes)
    """
    if depth not in CONFIGS:
        raise ValueError(f"vgg: depth must be one of {sorted(CONFIGS)}, got {depth!r}")
    layers, c = [], in_channels
    for v in CONFIGS[depth]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, stride=2))
            continue
        out = scaled(v, width)
        layers.append(nn.Conv2d(c, out, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out))
        layers.append(nn.ReLU())
        c = out
    return nn.Sequential(
        nn.Sequential(*layers),
        nn.AdaptiveAvgPool2d((pool_size, pool_size)),
        nn.Flatten(),
        nn.Sequential(
            nn.Linear(c * pool_size * pool_size, hidden),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(hidden, num_classes),
        ),
    )


def vgg11(num_classes=1000, batch_norm=False, **kwargs):
    """VGG-11 (configuration A): 132,863,336 parameters (132,868,840 with batch norm)."""
    return vgg(11, num_classes, batch_norm, **kwargs)


def vgg13(num_classes=1000, batch_norm=False, **kwargs):
    """VGG-13 (configuration B): 133,047,848 parameters (133,053,736 with batch norm)."""
    return vgg(13, num_classes, batch_norm, **kwargs)


def vgg16(num_classes=1000, batch_norm=False, **kwargs):
    """VGG-16 (configuration D): 138,357,544 parameters (138,365,992 with batch norm)."""
    return vgg(16, num_classes, batch_norm, **kwargs)


def vgg19(num_classes=1000, batch_norm=False, **kwargs):
    """VGG-19 (configuration E): 143,667,240 parameters (143,678,248 with batch norm)."""
    return vgg(19, num_classes, batch_norm, **kwargs)
