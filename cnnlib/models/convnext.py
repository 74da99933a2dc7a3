"""ConvNeXt (Liu, Mao, Wu, Feichtenhofer, Darrell and Xie, 2022): a ResNet modernised step
by step towards the design of vision transformers.

The block, on x : (N, C, H, W)::

    7x7 depthwise conv (groups = C)            large kernel, cheap: 49 C per position
    permute to (N, H, W, C)
    LayerNorm over C                            one normalisation, no batch statistics
    Linear C -> 4C, GELU, Linear 4C -> C        inverted bottleneck, as 1x1 convs
    permute back to (N, C, H, W)
    out = x + stochastic_depth(layer_scale * block(x))

``layer_scale`` is a learnt per-channel factor starting at 1e-6, so each block starts
almost as the identity; stochastic depth drops the branch per sample in training, with a
probability growing linearly from 0 to `stochastic_depth_prob` over the blocks. The stem
"patchifies" with a 4x4 conv of stride 4 and a LayerNorm; between stages a LayerNorm and a
2x2 conv of stride 2 halve the map and double the channels.

As in torchvision (convnext.py), with its names: ``features.0`` is the stem
(``features.0.0.weight``, ``features.0.1.weight``), ``features.1``, ``.3``, ``.5``, ``.7``
the stages of CNBlocks (``features.1.0.block.0.weight``, ``features.1.0.layer_scale``),
``features.2``, ``.4``, ``.6`` the downsampling layers, then ``avgpool`` and
``classifier`` (LayerNorm2d, Flatten, Linear). ConvNeXt-T has 28,589,128 parameters.
cnnlib adds the keyword arguments `in_channels` and `stem_stride` (2 instead of 4 keeps
28x28 inputs at 14, 7, 3 and 1 pixels in the four stages).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from cnnlib import functional as F
from cnnlib import init, nn
from cnnlib.backend import namespace
from cnnlib.ops import Conv2dNormActivation, Permute, StochasticDepth

__all__ = ["LayerNorm2d", "CNBlock", "CNBlockConfig", "ConvNeXt", "convnext", "convnext_tiny"]


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of (N, C, H, W): permute to (N, H, W, C), normalise over
    C, permute back (torchvision's LayerNorm2d). Backward permutes dout the same way."""

    def forward(self, x):
        xp = namespace(x)
        weight, bias = self._params()
        y, self.cache = F.layer_norm_forward(
            xp.permute_dims(x, (0, 2, 3, 1)), self.normalized_shape, weight, bias, self.eps
        )
        return xp.permute_dims(y, (0, 3, 1, 2))

    def backward(self, dout):
        xp = namespace(dout)
        dx, dweight, dbias = F.layer_norm_backward(xp.permute_dims(dout, (0, 2, 3, 1)), self.cache)
        if self.weight is not None:
            self.weight.accumulate(dweight)
        if self.bias is not None:
            self.bias.accumulate(dbias)
        return xp.permute_dims(dx, (0, 3, 1, 2))


class CNBlockCache(NamedTuple):
    branch: object  # block(x) : (N, C, H, W), before the layer scale


class CNBlock(nn.Module):
    """x : (N, dim, H, W) -> the same shape; out = x + stochastic_depth(layer_scale * block(x)).

    Backward, with g = stochastic_depth's backward of dout:
    d layer_scale = sum over N, H, W of g * block(x)  (layer_scale : (dim, 1, 1));
    dx = dout + block's backward of g * layer_scale (x feeds the sum and the block).
    """

    def __init__(self, dim, layer_scale, stochastic_depth_prob, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            norm_layer(dim),
            nn.Linear(in_features=dim, out_features=4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(in_features=4 * dim, out_features=dim, bias=True),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(np.ones((dim, 1, 1), np.float32) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, input):
        branch = self.block(input)
        self.cache = CNBlockCache(branch)
        result = self.stochastic_depth(self.layer_scale.data * branch)
        return result + input

    def backward(self, dout):
        xp = namespace(dout)
        g = self.stochastic_depth.backward(dout)
        self.layer_scale.accumulate(xp.sum(g * self.cache.branch, axis=(0, 2, 3))[:, None, None])
        return dout + self.block.backward(g * self.layer_scale.data)

    def _summary_plan(self):
        return ("+", [], ["block", "layer_scale", "stochastic_depth"])


class CNBlockConfig:
    """One stage: `num_layers` CNBlocks at `input_channels`, then (unless `out_channels` is
    None) a downsampling layer to `out_channels`."""

    def __init__(self, input_channels, out_channels, num_layers):
        self.input_channels, self.out_channels = input_channels, out_channels
        self.num_layers = num_layers

    def __repr__(self) -> str:
        return (
            f"CNBlockConfig(input_channels={self.input_channels}, "
            f"out_channels={self.out_channels}, num_layers={self.num_layers})"
        )


class ConvNeXt(nn.Sequential):
    """features -> avgpool -> classifier (Sequential's forward and backward).

    x : (N, in_channels, H, W) -> logits (N, num_classes); H and W divisible by
    stem_stride * 8 keep every map whole. torchvision's arguments, then cnnlib's
    keyword-only `in_channels` and `stem_stride` (the stem's kernel and stride, 4).
    """

    def __init__(self, block_setting, stochastic_depth_prob=0.0, layer_scale=1e-6,
                 num_classes=1000, block=None, norm_layer=None, *, in_channels=3,
                 stem_stride=4):  # fmt: skip
        super().__init__()
        if not block_setting:
            raise ValueError("The block_setting should not be empty")
        if not all(isinstance(s, CNBlockConfig) for s in block_setting):
            raise TypeError("The block_setting should be List[CNBlockConfig]")
        block = CNBlock if block is None else block
        norm_layer = partial(LayerNorm2d, eps=1e-6) if norm_layer is None else norm_layer
        c0 = block_setting[0].input_channels
        layers = [Conv2dNormActivation(in_channels, c0, kernel_size=stem_stride,
                                       stride=stem_stride, padding=0, norm_layer=norm_layer,
                                       activation_layer=None, bias=True)]  # fmt: skip
        total_stage_blocks = sum(cnf.num_layers for cnf in block_setting)
        stage_block_id = 0
        for cnf in block_setting:
            stage = []
            for _ in range(cnf.num_layers):
                # the drop probability grows linearly with the block's depth
                sd_prob = stochastic_depth_prob * stage_block_id / max(total_stage_blocks - 1.0, 1)
                stage.append(block(cnf.input_channels, layer_scale, sd_prob))
                stage_block_id += 1
            layers.append(nn.Sequential(*stage))
            if cnf.out_channels is not None:
                layers.append(nn.Sequential(
                    norm_layer(cnf.input_channels),
                    nn.Conv2d(cnf.input_channels, cnf.out_channels, kernel_size=2, stride=2),
                ))  # fmt: skip
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = block_setting[-1]
        c_last = last.out_channels if last.out_channels is not None else last.input_channels
        self.classifier = nn.Sequential(
            norm_layer(c_last), nn.Flatten(1), nn.Linear(c_last, num_classes)
        )

        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    init.zeros_(m.bias)


def convnext(dims=(96, 192, 384, 768), depths=(3, 3, 9, 3), num_classes=1000,
             stochastic_depth_prob=0.0, layer_scale=1e-6, *, in_channels=3,
             stem_stride=4):  # fmt: skip
    """A ConvNeXt with `depths[i]` blocks at `dims[i]` channels in stage i.

    x : (N, in_channels, H, W) -> logits (N, num_classes). A small one for 28x28 grey
    images: ``convnext((16, 32, 64, 128), (1, 1, 2, 1), 10, in_channels=1, stem_stride=2)``.
    """
    if len(dims) != len(depths):
        raise ValueError(f"convnext: dims {dims} and depths {depths} must have the same length")
    outs = list(dims[1:]) + [None]
    setting = [CNBlockConfig(c, o, n) for c, o, n in zip(dims, outs, depths)]
    return ConvNeXt(setting, stochastic_depth_prob, layer_scale, num_classes,
                    in_channels=in_channels, stem_stride=stem_stride)  # fmt: skip


def convnext_tiny(num_classes=1000, stochastic_depth_prob=0.1, **kwargs):
    """ConvNeXt-T: dims (96, 192, 384, 768), depths (3, 3, 9, 3); 28,589,128 parameters.
    torchvision's convnext_tiny uses stochastic_depth_prob 0.1."""
    return convnext((96, 192, 384, 768), (3, 3, 9, 3), num_classes, stochastic_depth_prob,
                    **kwargs)  # fmt: skip
