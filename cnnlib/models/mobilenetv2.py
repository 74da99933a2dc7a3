"""MobileNetV2 (Sandler, Howard, Zhu, Zhmoginov and Chen, 2018): inverted residuals with
linear bottlenecks, built from depthwise-separable convolutions.

A depthwise 3x3 conv (groups = channels) filters each channel on its own, and a 1x1
(pointwise) conv mixes the channels: together 9 C + C C' multiplies per position against
9 C C' for a full 3x3 conv. The inverted residual block works *wide inside, narrow
outside*::

    expand   1x1 conv  C_in -> t C_in, BN, ReLU6        (left out when t = 1)
    filter   3x3 depthwise conv (stride s), BN, ReLU6
    project  1x1 conv  t C_in -> C_out, BN               no activation: the linear bottleneck
    out      x + block(x) when s = 1 and C_in = C_out, else block(x)

The narrow ends carry the residual stream; a ReLU there would destroy information in so few
channels, so the projection stays linear. ReLU6 = min(max(0, x), 6).

As in torchvision (mobilenetv2.py), with its names: ``features.0`` is the stem
(Conv2dNormActivation 3 -> 32, stride 2: ``features.0.0.weight``), ``features.1`` ..
``features.17`` the blocks (``features.1.conv.0.0.weight``), ``features.18`` the last 1x1
conv to 1280 channels, then ``classifier`` (dropout, Linear: ``classifier.1.weight``).
3,504,872 parameters at 1000 classes. cnnlib adds the parameter-free ``avgpool`` and
``flatten`` (torchvision calls functions) and the keyword arguments `in_channels` and
`small` (stem stride 1 and the first stride-2 stage at stride 1: 8x downsampling instead of
32x, for 28x28 or 32x32 inputs).
"""

from __future__ import annotations

from cnnlib import init, nn
from cnnlib.models._common import make_divisible
from cnnlib.ops import Conv2dNormActivation

__all__ = ["InvertedResidual", "MobileNetV2", "mobilenet_v2", "INVERTED_RESIDUAL_SETTING"]

# t (expansion), c (output channels), n (blocks), s (stride of the first block): table 2
INVERTED_RESIDUAL_SETTING = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
]


class InvertedResidual(nn.Module):
    """x : (N, inp, H, W)  ->  (N, oup, H / stride, W / stride).

    ``conv`` = [expand] -> depthwise -> project (see the module docstring); out =
    x + conv(x) when ``use_res_connect`` (stride 1 and inp == oup), else conv(x).
    Backward: with the residual, x receives dout directly plus conv's input gradient.
    """

    def __init__(self, inp, oup, stride, expand_ratio, norm_layer=None):
        super().__init__()
        self.stride = stride
        if stride not in (1, 2):
            raise ValueError(f"stride should be 1 or 2 instead of {stride}")
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = self.stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:  # pointwise expansion
            layers.append(Conv2dNormActivation(inp, hidden_dim, kernel_size=1,
                                               norm_layer=norm_layer,
                                               activation_layer=nn.ReLU6))  # fmt: skip
        layers += [
            Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim,
                                 norm_layer=norm_layer, activation_layer=nn.ReLU6),  # depthwise
            nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),  # pointwise, linear
            norm_layer(oup),
        ]  # fmt: skip
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x):
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)

    def backward(self, dout):
        dx = self.conv.backward(dout)
        return dx + dout if self.use_res_connect else dx

    def _summary_plan(self):
        return ("+", [], "conv") if self.use_res_connect else "conv"


class MobileNetV2(nn.Sequential):
    """features -> avgpool -> flatten -> classifier (Sequential's forward and backward).

    x : (N, in_channels, H, W) -> logits (N, num_classes). `width_mult` scales the
    channels (rounded to multiples of `round_nearest`; the last conv keeps 1280 for
    width_mult <= 1), `inverted_residual_setting` lists [t, c, n, s] rows.
    """

    def __init__(self, num_classes=1000, width_mult=1.0, inverted_residual_setting=None,
                 round_nearest=8, block=None, norm_layer=None, dropout=0.2, *,
                 in_channels=3, small=False):  # fmt: skip
        super().__init__()
        block = InvertedResidual if block is None else block
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        input_channel, last_channel = 32, 1280
        if inverted_residual_setting is None:
            inverted_residual_setting = INVERTED_RESIDUAL_SETTING
        if len(inverted_residual_setting) == 0 or len(inverted_residual_setting[0]) != 4:
            raise ValueError(
                "inverted_residual_setting should be non-empty and a 4-element list, got "
                f"{inverted_residual_setting}"
            )
        input_channel = make_divisible(input_channel * width_mult, round_nearest)
        self.last_channel = make_divisible(last_channel * max(1.0, width_mult), round_nearest)
        stem = Conv2dNormActivation(in_channels, input_channel, stride=1 if small else 2,
                                    norm_layer=norm_layer, activation_layer=nn.ReLU6)  # fmt: skip
        features = [stem]
        first_stride_2 = True
        for t, c, n, s in inverted_residual_setting:
            if small and s == 2 and first_stride_2:
                s, first_stride_2 = 1, False
            output_channel = make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                stride = s if i == 0 else 1
                features.append(block(input_channel, output_channel, stride, expand_ratio=t,
                                      norm_layer=norm_layer))  # fmt: skip
                input_channel = output_channel
        features.append(Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1,
                                             norm_layer=norm_layer,
                                             activation_layer=nn.ReLU6))  # fmt: skip
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten(1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(self.last_channel, num_classes),
        )

        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                init.ones_(m.weight)
                init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                init.normal_(m.weight, 0, 0.01)
                init.zeros_(m.bias)


def mobilenet_v2(num_classes=1000, width_mult=1.0, inverted_residual_setting=None,
                 round_nearest=8, dropout=0.2, *, in_channels=3, small=False):  # fmt: skip
    """MobileNetV2; 3,504,872 parameters at 1000 classes and width_mult 1.

    x : (N, in_channels, H, W)  ->  logits (N, num_classes). A small one for 28x28
    grey images: ``mobilenet_v2(10, 0.25, in_channels=1, small=True)``; fewer blocks with
    `inverted_residual_setting`.
    """
    return MobileNetV2(num_classes, width_mult, inverted_residual_setting, round_nearest,
                       dropout=dropout, in_channels=in_channels, small=small)  # fmt: skip
