"""ResNet (He, Zhang, Ren and Sun, 2016): learn a residual F(x) and add x back.

A block computes relu(F(x) + shortcut(x)). The shortcut is the identity, or a strided
1x1 conv + batch norm (``downsample``) when the block halves the map or changes the
channel count. As in torchvision ("ResNet v1.5"), a bottleneck block strides in its 3x3
conv, not its first 1x1.

    conv1, bn1, relu, maxpool   7x7/2 conv, BN, ReLU, 3x3/2 max pool          224 -> 56
    layer1 .. layer4            stages at 64, 128, 256, 512 channels (x4 for bottlenecks)
    avgpool, flatten, fc        global average pool, fully connected             7 -> 1

The names are torchvision's (resnet.py), so a torchvision state_dict loads unchanged:
``conv1.weight``, ``bn1.running_mean``, ``layer1.0.conv1.weight``,
``layer2.0.downsample.0.weight``, ``fc.weight``. Parameter counts (torchvision):
ResNet-18 11,689,512, ResNet-34 21,797,672, ResNet-50 25,557,032, ResNeXt-50 32x4d
25,028,904.

cnnlib's additions: `width` scales every stage's channel count, `in_channels` the input's,
and `small=True` swaps the stem for one 3x3/1 conv without max pooling, for 28x28 or 32x32
inputs (Fashion-MNIST, CIFAR). ResNeXt is the bottleneck with a grouped 3x3 conv:
`groups` paths of `width_per_group` channels each (``resnext50_32x4d``: 32 x 4).
"""

from __future__ import annotations

from cnnlib import init, nn
from cnnlib.models._common import scaled

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "basic_block",
    "bottleneck",
    "resnet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnext50_32x4d",
]


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    """3x3 convolution without bias (batch norm follows), 'same' padding at stride 1."""
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=dilation, groups=groups,
                     bias=False, dilation=dilation)  # fmt: skip


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution without bias."""
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """out = relu(bn2(conv2(relu(bn1(conv1(x))))) + identity), identity = downsample(x) or x.

    x : (N, inplanes, H, W) -> (N, planes, H / stride, W / stride). Two 3x3 convs; the
    first one strides. Backward: the sum hands its gradient unchanged to both paths, and x,
    used by both, receives the sum of their gradients. The same ``relu`` module runs twice
    (as in torchvision); each call keeps its own cache and backward consumes them last
    call first.
    """

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):  # fmt: skip
        super().__init__()
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)

    def backward(self, dout):
        d_sum = self.relu.backward(dout)  # the second relu call: after the sum
        d_identity = d_sum if self.downsample is None else self.downsample.backward(d_sum)
        d = self.conv2.backward(self.bn2.backward(d_sum))
        d = self.conv1.backward(self.bn1.backward(self.relu.backward(d)))
        return d + d_identity  # x feeds both paths

    def _summary_plan(self):
        return [("+", ["conv1", "bn1", "relu", "conv2", "bn2"], "downsample"), "relu"]


class Bottleneck(nn.Module):
    """out = relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x))))))) + identity).

    x : (N, inplanes, H, W) -> (N, 4 planes, H / stride, W / stride). conv1 (1x1) reduces
    to ``width = planes * base_width / 64 * groups`` channels, conv2 (3x3, strided,
    `groups` groups: ResNeXt's cardinality) works there, conv3 (1x1) expands to 4 planes.
    Backward as in BasicBlock; ``relu`` runs three times.
    """

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):  # fmt: skip
        super().__init__()
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        width = int(planes * (base_width / 64.0)) * groups
        if width < 1:
            raise ValueError(
                f"Bottleneck: planes * base_width / 64 * groups must be at least 1, got "
                f"planes={planes}, base_width={base_width}, groups={groups}"
            )
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)

    def backward(self, dout):
        d_sum = self.relu.backward(dout)
        d_identity = d_sum if self.downsample is None else self.downsample.backward(d_sum)
        d = self.conv3.backward(self.bn3.backward(d_sum))
        d = self.conv2.backward(self.bn2.backward(self.relu.backward(d)))
        d = self.conv1.backward(self.bn1.backward(self.relu.backward(d)))
        return d + d_identity

    def _summary_plan(self):
        main = ["conv1", "bn1", "relu", "conv2", "bn2", "relu", "conv3", "bn3"]
        return [("+", main, "downsample"), "relu"]


class ResNet(nn.Sequential):
    """torchvision's ResNet: conv1, bn1, relu, maxpool, layer1..layer4, avgpool, flatten, fc,
    applied in that order (forward and backward are Sequential's).

    x : (N, in_channels, H, W) -> logits (N, num_classes). `block` is BasicBlock or
    Bottleneck, `layers` the number of blocks per stage. `zero_init_residual` starts each
    block's last batch norm at weight 0, so every block starts as the identity.
    `replace_stride_with_dilation` (three bools, bottlenecks only) keeps the map size in
    layer2..4 and dilates their 3x3 convs instead. Keyword-only (cnnlib): `in_channels`,
    `width` (channel multiplier), `small` (3x3/1 stem, no max pool).
    """

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, groups=1,
                 width_per_group=64, replace_stride_with_dilation=None, norm_layer=None, *,
                 in_channels=3, width=1.0, small=False):  # fmt: skip
        super().__init__()
        self._norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        self.inplanes = scaled(64, width)
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError(
                "replace_stride_with_dilation should be None or a 3-element tuple, got "
                f"{replace_stride_with_dilation}"
            )
        self.groups, self.base_width = groups, width_per_group
        if small:
            self.conv1 = nn.Conv2d(in_channels, self.inplanes, 3, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, self.inplanes, 7, stride=2, padding=3,
                                   bias=False)  # fmt: skip
        self.bn1 = self._norm_layer(self.inplanes)
        self.relu = nn.ReLU()
        if not small:
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        planes = [scaled(64 * 2**i, width) for i in range(4)]
        self.layer1 = self._make_layer(block, planes[0], layers[0])
        self.layer2 = self._make_layer(block, planes[1], layers[1], 2,
                                       replace_stride_with_dilation[0])  # fmt: skip
        self.layer3 = self._make_layer(block, planes[2], layers[2], 2,
                                       replace_stride_with_dilation[1])  # fmt: skip
        self.layer4 = self._make_layer(block, planes[3], layers[3], 2,
                                       replace_stride_with_dilation[2])  # fmt: skip
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(planes[3] * block.expansion, num_classes)

        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                init.constant_(m.weight, 1)
                init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock):
                    init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                norm_layer(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                        previous_dilation, norm_layer)]  # fmt: skip
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups,
                                base_width=self.base_width, dilation=self.dilation,
                                norm_layer=norm_layer))  # fmt: skip
        return nn.Sequential(*layers)


def _with_downsample(block, c_in, planes, stride):
    downsample = None
    if stride != 1 or c_in != planes * block.expansion:
        downsample = nn.Sequential(
            conv1x1(c_in, planes * block.expansion, stride),
            nn.BatchNorm2d(planes * block.expansion),
        )
    return block(c_in, planes, stride, downsample)


def basic_block(c_in, planes, stride=1):
    """A BasicBlock with the projection shortcut (downsample) it needs, if any.
    x : (N, c_in, H, W) -> (N, planes, H / stride, W / stride)."""
    return _with_downsample(BasicBlock, c_in, planes, stride)


def bottleneck(c_in, planes, stride=1):
    """A Bottleneck with the projection shortcut (downsample) it needs, if any.
    x : (N, c_in, H, W) -> (N, 4 planes, H / stride, W / stride)."""
    return _with_downsample(Bottleneck, c_in, planes, stride)


def resnet(blocks, bottlenecks=False, num_classes=1000, in_channels=3, width=1.0, small=False,
           **kwargs):  # fmt: skip
    """A ResNet with `blocks` blocks per stage, e.g. (2, 2, 2, 2) for ResNet-18; other
    keyword arguments (groups, width_per_group, zero_init_residual, ...) go to ResNet.

    x : (N, in_channels, H, W)  ->  logits (N, num_classes)
    """
    block = Bottleneck if bottlenecks else BasicBlock
    return ResNet(block, blocks, num_classes, in_channels=in_channels, width=width, small=small,
                  **kwargs)  # fmt: skip


def resnet18(num_classes=1000, **kwargs):
    """ResNet-18: basic blocks (2, 2, 2, 2); 11,689,512 parameters."""
    return resnet((2, 2, 2, 2), False, num_classes, **kwargs)


def resnet34(num_classes=1000, **kwargs):
    """ResNet-34: basic blocks (3, 4, 6, 3); 21,797,672 parameters."""
    return resnet((3, 4, 6, 3), False, num_classes, **kwargs)


def resnet50(num_classes=1000, **kwargs):
    """ResNet-50: bottleneck blocks (3, 4, 6, 3); 25,557,032 parameters."""
    return resnet((3, 4, 6, 3), True, num_classes, **kwargs)


def resnext50_32x4d(num_classes=1000, **kwargs):
    """ResNeXt-50 32x4d (Xie et al., 2017): ResNet-50's bottlenecks with 32 groups of 4
    channels per 64 planes in the 3x3 conv; 25,028,904 parameters."""
    kwargs.setdefault("groups", 32)
    kwargs.setdefault("width_per_group", 4)
    return resnet((3, 4, 6, 3), True, num_classes, **kwargs)
