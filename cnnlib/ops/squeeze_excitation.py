"""Squeeze-and-excitation (Hu, Shen and Sun, 2018): let each sample re-weight its channels.

From a feature map x : (N, C, H, W) the block computes one weight per channel and sample,
and multiplies the channel by it::

    squeeze  z = avgpool(x)                          (N, C, 1, 1)   global average per channel
    excite   s = scale_activation(fc2(activation(fc1(z))))
             fc1 : 1x1 conv C -> squeeze_channels,  fc2 : 1x1 conv squeeze_channels -> C
    out      = s * x                                 s broadcast over H and W

With the default sigmoid every weight lies in (0, 1): the block can damp channels that do
not matter for this image. It costs 2 C squeeze_channels + C + squeeze_channels parameters
and almost no computation (the 1x1 convs act on 1x1 maps).

Backward. x reaches the output along two branches: directly as the factor x, and through
s(x). The gradient of a variable used twice is the sum of both branches' gradients::

    out[n,c,h,w] = s[n,c] x[n,c,h,w]
    direct        dx_1[n,c,h,w] = dout[n,c,h,w] s[n,c]
    through s     ds[n,c] = sum_{h,w} dout[n,c,h,w] x[n,c,h,w]   (s was broadcast: sum)
                  dx_2 = avgpool^T fc1^T activation^T fc2^T scale_activation^T (ds)
    dx = dx_1 + dx_2

where ``^T`` is each layer's backward; avgpool's spreads ds / (H W) over the map.
torchvision has this module as ``torchvision.ops.SqueezeExcitation``, with the same names
(avgpool, fc1, fc2, activation, scale_activation), so its state_dict keys are the same.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from cnnlib import nn
from cnnlib.backend import namespace

__all__ = ["SqueezeExcitation"]


class SqueezeExcitationCache(NamedTuple):
    input: Any  # x : (N, C, H, W)
    scale: Any  # s : (N, C, 1, 1)


class SqueezeExcitation(nn.Module):
    """out = s(x) * x with s(x) = scale_activation(fc2(activation(fc1(avgpool(x))))).

    x : (N, input_channels, H, W) -> the same shape. `activation` and `scale_activation`
    are module classes, called with no arguments (torch's defaults: ReLU and Sigmoid).
    """

    def __init__(self, input_channels: int, squeeze_channels: int, activation=nn.ReLU,
                 scale_activation=nn.Sigmoid):  # fmt: skip
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, input):
        scale = self.avgpool(input)
        scale = self.fc1(scale)
        scale = self.activation(scale)
        scale = self.fc2(scale)
        return self.scale_activation(scale)

    def forward(self, input):
        scale = self._scale(input)
        self.cache = SqueezeExcitationCache(input, scale)
        return scale * input

    def backward(self, dout):
        x, s = self.cache
        xp = namespace(dout, x)
        dx_direct = dout * s  # out = s * x, x as the factor
        ds = xp.sum(dout * x, axis=(2, 3), keepdims=True)  # s was broadcast over H and W
        d = self.scale_activation.backward(ds)
        d = self.fc2.backward(d)
        d = self.activation.backward(d)
        d = self.fc1.backward(d)
        dx_through_scale = self.avgpool.backward(d)
        return dx_direct + dx_through_scale

    def _summary_plan(self):
        return ("*", [], ["avgpool", "fc1", "activation", "fc2", "scale_activation"])
