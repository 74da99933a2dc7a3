"""DenseNet (Huang, Liu, van der Maaten and Weinberger, 2017): every layer sees all before it.

Inside a dense block, layer l gets the concatenation [x_0, x_1, ..., x_{l-1}] and adds
`growth_rate` (k) new channels: BN-ReLU-1x1 conv to 4k channels (the bottleneck), then
BN-ReLU-3x3 conv to k. Here each layer is Concat(Identity(), new_features): its input
passes through and k channels are appended. Transitions between blocks halve channels
(1x1 conv, compression 0.5) and the map (2x2 average pool).

DenseNet-121: k=32, blocks (6, 12, 24, 16), 64 stem channels; 7,978,856 parameters
(torchvision's densenet121).
"""

from __future__ import annotations

from cnnlib import nn

__all__ = ["dense_layer", "transition", "densenet", "densenet121"]


def dense_layer(c_in, growth_rate, bn_size=4):
    """x : (N, c_in, H, W)  ->  (N, c_in + growth_rate, H, W)."""
    new = nn.Sequential(
        nn.BatchNorm2d(c_in),
        nn.ReLU(),
        nn.Conv2d(c_in, bn_size * growth_rate, 1, bias=False),
        nn.BatchNorm2d(bn_size * growth_rate),
        nn.ReLU(),
        nn.Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False),
    )
    return nn.Concat(nn.Identity(), new, dim=1)


def transition(c_in, c_out):
    """BN-ReLU-1x1 conv to c_out channels, then 2x2 average pool: (H, W) -> (H/2, W/2)."""
    return nn.Sequential(
        nn.BatchNorm2d(c_in),
        nn.ReLU(),
        nn.Conv2d(c_in, c_out, 1, bias=False),
        nn.AvgPool2d(2, stride=2),
    )


def densenet(blocks=(6, 12, 24, 16), growth_rate=32, init_features=64, num_classes=1000,
             in_channels=3, bn_size=4, small=False):  # fmt: skip
    """A DenseNet; `small=True` uses a 3x3/1 stem without pooling for tiny images.

    x : (N, in_channels, H, W)  ->  logits (N, num_classes)
    """
    if small:
        stem = [nn.Conv2d(in_channels, init_features, 3, padding=1, bias=False)]
    else:
        stem = [
            nn.Conv2d(in_channels, init_features, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(init_features),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1),
        ]
    layers, c = [nn.Sequential(*stem)], init_features
    for i, n in enumerate(blocks):
        block = []
        for _ in range(n):
            block.append(dense_layer(c, growth_rate, bn_size))
            c += growth_rate
        layers.append(nn.Sequential(*block))
        if i < len(blocks) - 1:
            layers.append(transition(c, c // 2))
            c //= 2
    return nn.Sequential(
        *layers,
        nn.BatchNorm2d(c),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(c, num_classes),
    )


def densenet121(num_classes=1000, **kwargs):
    """DenseNet-121: k=32, blocks (6, 12, 24, 16); 7,978,856 parameters."""
    return densenet((6, 12, 24, 16), 32, 64, num_classes, **kwargs)
