"""DenseNet (Huang, Liu, van der Maaten and Weinberger, 2017): every layer sees all before it.

Inside a dense block, layer l gets the concatenation [x_0, x_1, ..., x_{l-1}] and adds
`growth_rate` (k) new channels: BN-ReLU-1x1 conv to 4k channels (the bottleneck), then
BN-ReLU-3x3 conv to k. Transitions between blocks halve channels (1x1 conv, compression
0.5) and the map (2x2 average pool).

The names are torchvision's (densenet.py): ``features`` holds conv0, norm0, relu0, pool0,
denseblock1, transition1, ..., denseblock4, norm5; a dense block holds denselayer1, ...;
a dense layer norm1, relu1, conv1, norm2, relu2, conv2; a transition norm, relu, conv,
pool; then ``classifier``. So ``features.denseblock1.denselayer1.norm1.weight`` and
``features.transition1.conv.weight`` are torchvision's keys. One difference inside: here
a DenseLayer returns its input with the k new channels appended, cat([x, new]), so a
dense block is a plain chain of layers; torchvision's _DenseLayer returns the new channels
only and its _DenseBlock concatenates. The block's output is the same.

DenseNet-121: k=32, blocks (6, 12, 24, 16), 64 stem channels; 7,978,856 parameters
(torchvision's densenet121).
"""

from __future__ import annotations

from typing import NamedTuple

from cnnlib import init, nn
from cnnlib.backend import namespace

__all__ = [
    "DenseLayer",
    "DenseBlock",
    "Transition",
    "DenseNet",
    "dense_layer",
    "transition",
    "densenet",
    "densenet121",
]


class DenseLayerCache(NamedTuple):
    c_in: int  # channels of the input, which the output starts with


class DenseLayer(nn.Module):
    """x : (N, c_in, H, W)  ->  cat([x, new], dim=1) : (N, c_in + growth_rate, H, W),
    new = conv2(relu2(norm2(conv1(relu1(norm1(x)))))).

    Backward: the first c_in channels of dout are x's own (the concatenation passed x
    through), the rest flow back through the new features; x receives both.
    `drop_rate` > 0 adds dropout on the new features (torchvision's F.dropout).
    """

    def __init__(self, num_input_features, growth_rate, bn_size, drop_rate=0.0):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1,
                               stride=1, bias=False)  # fmt: skip
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1,
                               padding=1, bias=False)  # fmt: skip
        self.drop_rate = float(drop_rate)
        if self.drop_rate > 0:
            self.dropout = nn.Dropout(self.drop_rate)

    def _path(self):
        names = ["norm1", "relu1", "conv1", "norm2", "relu2", "conv2"]
        return names + (["dropout"] if self.drop_rate > 0 else [])

    def forward(self, x):
        new = x
        for name in self._path():
            new = getattr(self, name)(new)
        self.cache = DenseLayerCache(x.shape[1])
        return namespace(x, new).concat([x, new], axis=1)

    def backward(self, dout):
        c_in = self.cache.c_in
        d_new = dout[:, c_in:]
        for name in reversed(self._path()):
            d_new = getattr(self, name).backward(d_new)
        return dout[:, :c_in] + d_new

    def _summary_plan(self):
        return ("cat", [], self._path())


class DenseBlock(nn.Sequential):
    """denselayer1 .. denselayerN in a chain: (N, C, H, W) -> (N, C + N k, H, W)."""

    def __init__(self, num_layers, num_input_features, bn_size, growth_rate, drop_rate=0.0):
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size,
                               drop_rate)  # fmt: skip
            self.add_module(f"denselayer{i + 1}", layer)


class Transition(nn.Sequential):
    """norm -> relu -> conv (1x1) -> pool (2x2 average): (N, C_in, H, W) -> (N, C_out, H/2, W/2)."""

    def __init__(self, num_input_features, num_output_features):
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU()
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1, stride=1,
                              bias=False)  # fmt: skip
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Sequential):
    """features -> relu -> avgpool -> flatten -> classifier (Sequential's forward/backward).

    x : (N, in_channels, H, W) -> logits (N, num_classes). torchvision's arguments, then
    cnnlib's keyword-only `in_channels` and `small` (the stem is one 3x3/1 conv, conv0,
    without norm0, relu0 and pool0: for 28x28 or 32x32 inputs).
    """

    def __init__(self, growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64,
                 bn_size=4, drop_rate=0.0, num_classes=1000, *, in_channels=3,
                 small=False):  # fmt: skip
        super().__init__()
        features = nn.Sequential()
        if small:
            features.add_module("conv0", nn.Conv2d(in_channels, num_init_features, 3,
                                                   padding=1, bias=False))  # fmt: skip
        else:
            features.add_module("conv0", nn.Conv2d(in_channels, num_init_features, 7, stride=2,
                                                   padding=3, bias=False))  # fmt: skip
            features.add_module("norm0", nn.BatchNorm2d(num_init_features))
            features.add_module("relu0", nn.ReLU())
            features.add_module("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        c = num_init_features
        for i, num_layers in enumerate(block_config):
            block = DenseBlock(num_layers, c, bn_size, growth_rate, drop_rate)
            features.add_module(f"denseblock{i + 1}", block)
            c += num_layers * growth_rate
            if i != len(block_config) - 1:
                features.add_module(f"transition{i + 1}", Transition(c, c // 2))
                c //= 2
        features.add_module("norm5", nn.BatchNorm2d(c))
        self.features = features
        self.relu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten(1)
        self.classifier = nn.Linear(c, num_classes)

        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                init.constant_(m.weight, 1)
                init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                init.constant_(m.bias, 0)


def dense_layer(c_in, growth_rate, bn_size=4):
    """A DenseLayer: x : (N, c_in, H, W)  ->  (N, c_in + growth_rate, H, W)."""
    return DenseLayer(c_in, growth_rate, bn_size)


def transition(c_in, c_out):
    """A Transition: BN-ReLU-1x1 conv to c_out channels, then 2x2 average pool."""
    return Transition(c_in, c_out)


def densenet(blocks=(6, 12, 24, 16), growth_rate=32, init_features=64, num_classes=1000,
             in_channels=3, bn_size=4, small=False, drop_rate=0.0):  # fmt: skip
    """A DenseNet; `small=True` uses a 3x3/1 stem without pooling for tiny images.

    x : (N, in_channels, H, W)  ->  logits (N, num_classes)
    """
    return DenseNet(growth_rate, blocks, init_features, bn_size, drop_rate, num_classes,
                    in_channels=in_channels, small=small)  # fmt: skip


def densenet121(num_classes=1000, **kwargs):
    """DenseNet-121: k=32, blocks (6, 12, 24, 16); 7,978,856 parameters."""
    return densenet((6, 12, 24, 16), 32, 64, num_classes, **kwargs)
