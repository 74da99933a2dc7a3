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
"""

from __future__ import annotations

from cnnlib import nn
from cnnlib.models._common import scaled

__all__ = ["alexnet"]


def alexnet(num_classes=1000, groups=1, variant="paper", in_channels=3, width=1.0, hidden=4096):
    """AlexNet; `width` scales every conv's channels, `hidden` is the size of fc6 and fc7.

    x : (N, in_channels, H, W), H, W >= 63  ->  logits (N, num_classes)
    """
    if variant not in ("paper", "torchvision"):
        raise ValueError(f"alexnet: variant must be 'paper' or 'torchvision', got {variant!r}")
    if groups not in (1, 2) or (variant == "torchvision" and groups != 1):
        raise ValueError(f"alexnet: groups must be 1 or 2 (2 only for the paper), got {groups}")
    if variant == "paper":
        c1, c2, c3, c4, c5 = (scaled(c, width, groups) for c in (96, 256, 384, 384, 256))
        features = [
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
        ]
    else:
        c1, c2, c3, c4, c5 = (scaled(c, width) for c in (64, 192, 384, 256, 256))
        features = [
            nn.Conv2d(in_channels, c1, 11, stride=4, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(c1, c2, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(c2, c3, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c3, c4, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c4, c5, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=2),
        ]
    return nn.Sequential(
        nn.Sequential(*features),
        nn.AdaptiveAvgPool2d((6, 6)),
        nn.Flatten(),
        nn.Sequential(
            nn.Dropout(0.5),
            nn.Linear(c5 * 6 * 6, hidden),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        ),
    )
