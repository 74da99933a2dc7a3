"""AlexNet (Krizhevsky, Sutskever and Hinton, 2012), as in the paper or as in torchvision.

The paper's network (224x224 RGB input, 1000 classes)::

    conv1  96 x 11x11, stride 4, pad 2  -> ReLU -> LRN -> max pool 3x3/2   55 -> 27
    conv2 256 x  5x5,  pad 2            -> ReLU -> LRN -> max pool 3x3/2   27 -> 13
    conv3 384 x  3x3,  pad 1            -> ReLU                            13
    conv4 384 x  3x3,  pad 1            -> ReLU                            13
    conv5 256 x  3x3,  pad 1            -> ReLU -> max pool 3x3/2          13 -> 6
    fc6 9216 -> 4096, fc7 4096 -> 4096 (each ReLU, dropout 0.5 before), fc8 4096 -> 1000

The paper says 224x224 but 11x11 filters at stride 4 only tile 227 pixels; a 2-pixel pad
on 224 gives the same 55x55 map. The original ran on two GPUs: conv2, conv4 and conv5 only
saw the 48/128/192 channels on their own GPU. That is a grouped convolution with groups=2
(`groups=2`): 60,965,224 parameters, against 62,378,344 with every connection (groups=1).

The paper's LRN is b = a / (k + alpha * sum a^2)^beta with n=5, alpha=1e-4, beta=0.75,
k=2. torch's LocalResponseNorm divides alpha by n, so the paper's layer is
LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2).

variant="torchvision" builds torchvision's AlexNet ("one weird trick", 64-192-384-256-256
filters, no LRN): 61,100,840 parameters. Both end in an adaptive average pool to 6x6,
which is the identity at 224x224 and lets smaller images through.

The names are torchvision's (alexnet.py): ``features`` (convs, ReLUs, pools: "0", "1",
...), ``avgpool``, ``classifier`` (dropout, fc6, ReLU, dropout, fc7, ReLU, fc8:
``classifier.1``, ``.4``, ``.6`` are the Linear layers), so torchvision's state_dict keys
(``features.0.weight``, ``classifier.6.bias``) are the keys here; cnnlib adds a
parameter-free ``flatten`` between avgpool and classifier. The model is a Sequential, so
``model[0]`` is ``model.features`` and ``model[3]`` is ``model.classifier``.
"""

from __future__ import annotations

from cnnlib import nn
from cnnlib.models._common import scaled

__all__ = ["AlexNet", "alexnet"]


class AlexNet(nn.Sequential):
    """features -> avgpool -> flatten -> classifier (forward and backward are Sequential's).

    x : (N, in_channels, H, W), H, W >= 63  ->  logits (N, num_classes). torchvision's
    arguments (num_classes, dropout), then cnnlib's keyword-only ones: `variant` ("paper"
    or "torchvision"), `groups` (2: the paper's two GPUs), `in_channels`, `width` (conv
    channel multiplier), `hidden` (the size of fc6 and fc7), `pool_size` (of the adaptive
    pool before the classifier, 6) and `small` (conv1 is 3x3 with stride 1 and padding 1
    instead of 11x11/4: 28x28 maps then reach the last pool at 2x2, so take pool_size=2).
    """

    def __init__(self, num_classes=1000, dropout=0.5, *, groups=1, variant="torchvision",
                 in_channels=3, width=1.0, hidden=4096, pool_size=6,
                 small=False):  # fmt: skip
        super().__init__()
        if variant not in ("paper", "torchvision"):
            raise ValueError(f"alexnet: variant must be 'paper' or 'torchvision', got {variant!r}")
        if groups not in (1, 2) or (variant == "torchvision" and groups != 1):
            raise ValueError(f"alexnet: groups must be 1 or 2 (2 only for the paper), got {groups}")
        build = _paper_features if variant == "paper" else _torchvision_features
        self.features, c5 = build(in_channels, width, groups)
        if small:
            c1 = self.features[0].out_channels
            self.features[0] = nn.Conv2d(in_channels, c1, kernel_size=3, stride=1, padding=1)
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        self.flatten = nn.Flatten(1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(c5 * pool_size * pool_size, hidden),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )


def _paper_features(in_channels, width, groups):
    c1, c2, c3, c4, c5 = (scaled(c, width, groups) for c in (96, 256, 384, 384, 256))
    features = nn.Sequential(
        nn.Conv2d(in_channels, c1, 11, stride=4, padding=2),
        nn.ReLU(),
        nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0),
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(c1, c2, 5, padding=2, groups=groups),
        nn.ReLU(),
        nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0),
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(c2, c3, 3, padding=1),  # conv3 talks across the two GPUs
        nn.ReLU(),
        nn.Conv2d(c3, c4, 3, padding=1, groups=groups),
        nn.ReLU(),
        nn.Conv2d(c4, c5, 3, padding=1, groups=groups),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2),
    )
    return features, c5


def _torchvision_features(in_channels, width, groups):
    c1, c2, c3, c4, c5 = (scaled(c, width) for c in (64, 192, 384, 256, 256))
    features = nn.Sequential(
        nn.Conv2d(in_channels, c1, kernel_size=11, stride=4, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c1, c2, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c2, c3, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(c3, c4, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(c4, c5, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )
    return features, c5


def alexnet(num_classes=1000, groups=1, variant="paper", in_channels=3, width=1.0, hidden=4096,
            dropout=0.5, *, pool_size=6, small=False):  # fmt: skip
    """AlexNet; the paper's by default (variant="torchvision" for torchvision's). `width`
    scales every conv's channels, `hidden` is the size of fc6 and fc7.

    x : (N, in_channels, H, W), H, W >= 63 (>= 16 with small=True) -> logits
    (N, num_classes). A small one for 28x28 grey images: ``alexnet(10,
    variant="torchvision", in_channels=1, width=1/4, hidden=64, pool_size=2, small=True)``.
    """
    return AlexNet(num_classes, dropout, groups=groups, variant=variant, in_channels=in_channels,
                   width=width, hidden=hidden, pool_size=pool_size, small=small)  # fmt: skip
