"""VGG (Simonyan and Zisserman, 2015): stacks of 3x3 convolutions and 2x2 max pools.

Two 3x3 convs see a 5x5 window and three see 7x7, with fewer parameters (2 * 9 C^2 and
3 * 9 C^2 against 25 C^2 and 49 C^2) and a ReLU between each. The configurations A, B, D
and E of the paper are VGG-11, -13, -16 and -19 (the number of weight layers).

As in torchvision (vgg.py), with its names: ``features`` (the convs, ReLUs and pools,
numbered "0", "1", ...), ``avgpool`` (adaptive average pool to 7x7, the identity at
224x224), ``classifier`` (25088 -> 4096 -> 4096 -> num_classes with ReLU and dropout:
``classifier.0``, ``.3``, ``.6`` are the Linear layers). cnnlib adds a ``flatten`` layer
between avgpool and classifier (torchvision calls torch.flatten in forward), and the
keyword arguments `in_channels`, `width` (conv channel multiplier), `hidden` (the width of
the two hidden Linear layers), `pool_size` (of the adaptive pool) and `small` (without the
last max pool), so a small VGG fits 28x28 images: ``vgg(11, 10, batch_norm=True,
in_channels=1, width=1/8, hidden=64, pool_size=1, small=True)``.
"""

from __future__ import annotations

from cnnlib import init, nn
from cnnlib.models._common import scaled

__all__ = ["VGG", "make_layers", "vgg", "vgg11", "vgg13", "vgg16", "vgg19", "CONFIGS"]

# numbers are 3x3 conv widths, "M" a 2x2 max pool with stride 2
CONFIGS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
         512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}  # fmt: skip


def make_layers(cfg, batch_norm=False, *, in_channels=3, width=1.0):
    """The conv part of VGG from a configuration list: Conv2d(3x3, padding 1) [-> BN] -> ReLU
    per number, MaxPool2d(2, 2) per "M"."""
    layers, c = [], in_channels
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        out = scaled(v, width)
        layers.append(nn.Conv2d(c, out, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out))
        layers.append(nn.ReLU())
        c = out
    return nn.Sequential(*layers)


class VGG(nn.Sequential):
    """features -> avgpool -> flatten -> classifier (forward and backward are Sequential's).

    x : (N, C, H, W) -> logits (N, num_classes). `features` is a Sequential of convs and
    pools (see make_layers); the classifier's input size is read from its last conv.
    """

    def __init__(self, features, num_classes=1000, init_weights=True, dropout=0.5, *,
                 hidden=4096, pool_size=7):  # fmt: skip
        super().__init__()
        convs = [m for m in features.modules() if isinstance(m, nn.Conv2d)]
        c = convs[-1].out_channels
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        self.flatten = nn.Flatten(1)
        self.classifier = nn.Sequential(
            nn.Linear(c * pool_size * pool_size, hidden),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        if init_weights:  # torchvision's initialisation
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    init.constant_(m.weight, 1)
                    init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    init.normal_(m.weight, 0, 0.01)
                    init.constant_(m.bias, 0)


def vgg(depth, num_classes=1000, batch_norm=False, in_channels=3, width=1.0, hidden=4096,
        pool_size=7, dropout=0.5, *, small=False):  # fmt: skip
    """VGG-`depth` (11, 13, 16 or 19); `width` scales the conv channels. `small=True` leaves
    out the last max pool (four halvings instead of five), so that 28x28 inputs end at 1x1.

    x : (N, in_channels, H, W) with H, W >= 32 (>= 16 with small=True)  ->  logits
    (N, num_classes)
    """
    if depth not in CONFIGS:
        raise ValueError(f"vgg: depth must be one of {sorted(CONFIGS)}, got {depth!r}")
    cfg = CONFIGS[depth][:-1] if small else CONFIGS[depth]
    features = make_layers(cfg, batch_norm, in_channels=in_channels, width=width)
    return VGG(features, num_classes, dropout=dropout, hidden=hidden, pool_size=pool_size)


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
