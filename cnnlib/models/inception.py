"""GoogLeNet / Inception v1 (Szegedy et al., 2015), as torchvision builds it.

An Inception module runs four branches on the same input and concatenates their channels:

    1x1 conv | 1x1 reduce -> 3x3 | 1x1 reduce -> "5x5" | 3x3 max pool -> 1x1 projection

The 1x1 reductions keep the wide convolutions cheap. torchvision's GoogLeNet, followed here
(without the two auxiliary classifiers, i.e. as used for inference), differs from the paper
in two ways worth knowing: every conv is conv (no bias) -> batch norm (eps 0.001) -> ReLU
(batch norm came later in 2015), and the "5x5" branch uses a 3x3 kernel (a slip kept for
compatibility with the released weights). That network has 6,624,904 parameters.
`branch_kernel=5` builds the paper's 5x5 kernels instead.
"""

from __future__ import annotations

from cnnlib import nn
from cnnlib.models._common import conv_bn, scaled

__all__ = ["inception_module", "googlenet", "INCEPTION_CONFIGS"]

# (c_in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj) for 3a .. 5b, table 1 of the paper
INCEPTION_CONFIGS = {
    "3a": (192, 64, 96, 128, 16, 32, 32),
    "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64),
    "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64),
    "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128),
    "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}


def _bc(c_in, c_out, k, stride=1, padding=0):
    return conv_bn(c_in, c_out, k, stride=stride, padding=padding, eps=1e-3)


def inception_module(c_in, c1, c3r, c3, c5r, c5, cp, branch_kernel=3):
    """x : (N, c_in, H, W)  ->  (N, c1 + c3 + c5 + cp, H, W)."""
    return nn.Concat(
        _bc(c_in, c1, 1),
        nn.Sequential(_bc(c_in, c3r, 1), _bc(c3r, c3, 3, padding=1)),
        nn.Sequential(_bc(c_in, c5r, 1), _bc(c5r, c5, branch_kernel, padding=branch_kernel // 2)),
        nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), _bc(c_in, cp, 1)),
        dim=1,
    )


def googlenet(num_classes=1000, in_channels=3, width=1.0, small=False, branch_kernel=3):
    """GoogLeNet without auxiliary heads; `width` scales every channel count.

    x : (N, in_channels, H, W)  ->  logits (N, num_classes). `small=True` replaces the
    stem (7x7/2 conv, pools) by a 3x3/1 conv and keeps only the pools between stages.
    """
    s = lambda c: scaled(c, width)
    cfg = {k: tuple(s(c) for c in v) for k, v in INCEPTION_CONFIGS.items()}
    if small:
        stem = nn.Sequential(_bc(in_channels, s(192), 3, padding=1))
    else:
        stem = nn.Sequential(
            _bc(in_channels, s(64), 7, stride=2, padding=3),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),
            _bc(s(64), s(64), 1),
            _bc(s(64), s(192), 3, padding=1),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),
        )

    def stage(*names):
        return [inception_module(*cfg[n], branch_kernel=branch_kernel) for n in names]

    return nn.Sequential(
        stem,
        *stage("3a", "3b"),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),
        *stage("4a", "4b", "4c", "4d", "4e"),
        nn.MaxPool2d(2, stride=2, ceil_mode=True),
        *stage("5a", "5b"),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(cfg["5b"][1] + cfg["5b"][3] + cfg["5b"][5] + cfg["5b"][6], num_classes),
    )
