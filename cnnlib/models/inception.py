"""GoogLeNet / Inception v1 (Szegedy et al., 2015), as torchvision builds it.

An Inception module runs four branches on the same input and concatenates their channels:

    1x1 conv | 1x1 reduce -> 3x3 | 1x1 reduce -> "5x5" | 3x3 max pool -> 1x1 projection

The 1x1 reductions keep the wide convolutions cheap. torchvision's GoogLeNet, followed here,
differs from the paper in two ways worth knowing: every conv is conv (no bias) -> batch norm
(eps 0.001) -> ReLU (batch norm came later in 2015), and the "5x5" branch uses a 3x3 kernel
(a slip kept for compatibility with the released weights). Without the two auxiliary
classifiers that network has 6,624,904 parameters. `branch_kernel=5` builds the paper's
5x5 kernels instead.

The names are torchvision's (googlenet.py): conv1, maxpool1, conv2, conv3, maxpool2,
inception3a, ..., inception5b (each with branch1 .. branch4), avgpool, dropout, fc, and
aux1, aux2 with aux_logits=True; a BasicConv2d has conv and bn. So
``inception3a.branch2.0.conv.weight`` is torchvision's key. cnnlib adds parameter-free
layers where torchvision calls a function (BasicConv2d.relu, GoogLeNet.flatten,
InceptionAux's avgpool, flatten and relu). Unlike torchvision's GoogLeNet class,
aux_logits defaults to False (the network as used for inference, whose count torchvision
quotes); transform_input (an input rescaling for the released weights) is not offered.
"""

from __future__ import annotations

from typing import NamedTuple

from cnnlib import init, nn
from cnnlib.backend import namespace
from cnnlib.models._common import scaled

__all__ = [
    "BasicConv2d",
    "Inception",
    "InceptionAux",
    "GoogLeNet",
    "GoogLeNetOutputs",
    "inception_module",
    "googlenet",
    "INCEPTION_CONFIGS",
]

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


class GoogLeNetOutputs(NamedTuple):
    """What GoogLeNet returns in training mode with aux_logits=True, as torchvision: the
    fields are named (logits, aux_logits2, aux_logits1) but hold the main logits, aux1's
    and aux2's logits in that order."""

    logits: object
    aux_logits2: object
    aux_logits1: object


class BasicConv2d(nn.Sequential):
    """conv (no bias) -> bn (eps 0.001) -> relu; keyword arguments go to Conv2d."""

    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)
        self.relu = nn.ReLU()


class InceptionCache(NamedTuple):
    sizes: tuple  # the channels of branch1 .. branch4


class Inception(nn.Module):
    """x : (N, in_channels, H, W)  ->  (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W).

    out = cat([branch1(x), branch2(x), branch3(x), branch4(x)], dim=1). Backward: dout is
    cut along the channels into the four branches' pieces, and x, read by all four,
    receives the sum of their gradients.
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj,
                 conv_block=None, *, branch_kernel=3):  # fmt: skip
        super().__init__()
        conv_block = BasicConv2d if conv_block is None else conv_block
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            conv_block(in_channels, ch3x3red, kernel_size=1),
            conv_block(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            conv_block(in_channels, ch5x5red, kernel_size=1),
            # torchvision: kernel_size=3 instead of the paper's 5 (a known slip)
            conv_block(ch5x5red, ch5x5, kernel_size=branch_kernel, padding=branch_kernel // 2),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv_block(in_channels, pool_proj, kernel_size=1),
        )

    def _branches(self):
        return [self.branch1, self.branch2, self.branch3, self.branch4]

    def forward(self, x):
        outputs = [branch(x) for branch in self._branches()]
        self.cache = InceptionCache(tuple(o.shape[1] for o in outputs))
        return namespace(*outputs).concat(outputs, axis=1)

    def backward(self, dout):
        ends = [sum(self.cache.sizes[: i + 1]) for i in range(4)]
        starts = [0] + ends[:-1]
        dx = 0
        for branch, a, b in reversed(list(zip(self._branches(), starts, ends))):
            dx = dx + branch.backward(dout[:, a:b])
        return dx

    def _summary_plan(self):
        return ("cat", "branch1", "branch2", "branch3", "branch4")


class InceptionAux(nn.Sequential):
    """The auxiliary classifier: 4x4 average pool, 1x1 conv to 128, fc1 2048 -> 1024, ReLU,
    dropout 0.7, fc2 -> num_classes. (N, C, H, W) -> (N, num_classes)."""

    def __init__(self, in_channels, num_classes, conv_block=None, dropout=0.7, *, width=1.0):
        super().__init__()
        conv_block = BasicConv2d if conv_block is None else conv_block
        c, hidden = scaled(128, width), scaled(1024, width)
        self.avgpool = nn.AdaptiveAvgPool2d((4, 4))
        self.conv = conv_block(in_channels, c, kernel_size=1)
        self.flatten = nn.Flatten(1)
        self.fc1 = nn.Linear(c * 4 * 4, hidden)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(p=dropout)
        self.fc2 = nn.Linear(hidden, num_classes)


class GoogLeNet(nn.Module):
    """GoogLeNet. x : (N, in_channels, H, W)  ->  logits (N, num_classes).

    With aux_logits=True, training-mode forward returns a GoogLeNetOutputs triple and
    backward takes the matching tuple of three gradients; in eval mode the auxiliary heads
    do not run and forward returns the logits, as in torchvision. aux1 reads inception4a's
    output and aux2 inception4d's. The triple is what torchvision returns: (logits, aux1's
    logits, aux2's logits) -- torchvision's code swaps the two twice, so its field
    ``aux_logits2`` holds aux1's output; kept so that results agree. Keyword-only (cnnlib):
    `in_channels`, `width` (channel multiplier), `small` (conv1 is one 3x3/1 conv to
    192 x width channels; maxpool1, conv2, conv3 and maxpool2 are left out, None) and
    `branch_kernel` (3 as torchvision, 5 as the paper).
    """

    _MAIN = ("conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b",
             "maxpool3", "inception4a", "inception4b", "inception4c", "inception4d",
             "inception4e", "maxpool4", "inception5a", "inception5b", "avgpool", "flatten",
             "dropout", "fc")  # fmt: skip
    _AUX_AFTER = {"inception4a": "aux1", "inception4d": "aux2"}

    def __init__(self, num_classes=1000, aux_logits=False, *, init_weights=True, dropout=0.2,
                 dropout_aux=0.7, in_channels=3, width=1.0, small=False,
                 branch_kernel=3):  # fmt: skip
        super().__init__()
        cfg = {k: tuple(scaled(c, width) for c in v) for k, v in INCEPTION_CONFIGS.items()}
        self.aux_logits = aux_logits
        c64, c192 = scaled(64, width), scaled(192, width)
        if small:
            self.conv1 = BasicConv2d(in_channels, c192, kernel_size=3, padding=1)
            self.maxpool1 = self.conv2 = self.conv3 = self.maxpool2 = None
        else:
            self.conv1 = BasicConv2d(in_channels, c64, kernel_size=7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            self.conv2 = BasicConv2d(c64, c64, kernel_size=1)
            self.conv3 = BasicConv2d(c64, c192, kernel_size=3, padding=1)
            self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        def inception(name):
            return Inception(*cfg[name], branch_kernel=branch_kernel)

        self.inception3a, self.inception3b = inception("3a"), inception("3b")
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a, self.inception4b = inception("4a"), inception("4b")
        self.inception4c, self.inception4d = inception("4c"), inception("4d")
        self.inception4e = inception("4e")
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a, self.inception5b = inception("5a"), inception("5b")
        if aux_logits:
            c4a, c4d = (sum(cfg[n][i] for i in (1, 3, 5, 6)) for n in ("4a", "4d"))
            self.aux1 = InceptionAux(c4a, num_classes, dropout=dropout_aux, width=width)
            self.aux2 = InceptionAux(c4d, num_classes, dropout=dropout_aux, width=width)
        else:
            self.aux1 = self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten(1)
        self.dropout = nn.Dropout(p=dropout)
        c5b = cfg["5b"]
        self.fc = nn.Linear(c5b[1] + c5b[3] + c5b[5] + c5b[6], num_classes)

        if init_weights:  # torchvision's initialisation
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                elif isinstance(m, nn.BatchNorm2d):
                    init.constant_(m.weight, 1)
                    init.constant_(m.bias, 0)

    def _layers(self):
        """(name, layer) along the main path, skipping the layers small=True leaves out."""
        return [(n, getattr(self, n)) for n in self._MAIN if getattr(self, n) is not None]

    def _with_aux(self):
        return self.aux_logits and self.training

    def forward(self, x):
        aux = {}
        for name, layer in self._layers():
            x = layer(x)
            if name in self._AUX_AFTER and self._with_aux():
                head = self._AUX_AFTER[name]
                aux[head] = getattr(self, head)(x)
        if self._with_aux():  # torchvision's order: aux1's output second (see the class)
            return GoogLeNetOutputs(x, aux["aux1"], aux["aux2"])
        return x

    def backward(self, dout):
        """dout: d logits, or a tuple of three gradients (for the three arrays forward
        returned) after a forward that returned GoogLeNetOutputs."""
        d_aux = {}
        if isinstance(dout, tuple):
            if not isinstance(self.out, GoogLeNetOutputs) or len(dout) != 3:
                raise ValueError(
                    "GoogLeNet.backward: a tuple dout needs a forward that returned "
                    "GoogLeNetOutputs (aux_logits=True, training mode), and three gradients"
                )
            dout, d_aux["aux1"], d_aux["aux2"] = dout
        elif isinstance(self.out, GoogLeNetOutputs):
            raise ValueError(
                "GoogLeNet.backward: forward returned GoogLeNetOutputs(logits, aux_logits2, "
                "aux_logits1); pass a tuple of the three gradients"
            )
        for name, layer in reversed(self._layers()):
            if name in self._AUX_AFTER and d_aux:
                head = self._AUX_AFTER[name]
                dout = dout + getattr(self, head).backward(d_aux[head])
            dout = layer.backward(dout)
        return dout

    def _summary_plan(self):
        plan = []
        for name in self._MAIN:
            plan.append(name)
            if name in self._AUX_AFTER:
                plan.append(("side", self._AUX_AFTER[name]))
        return plan


def inception_module(c_in, c1, c3r, c3, c5r, c5, cp, branch_kernel=3):
    """An Inception module. x : (N, c_in, H, W)  ->  (N, c1 + c3 + c5 + cp, H, W)."""
    return Inception(c_in, c1, c3r, c3, c5r, c5, cp, branch_kernel=branch_kernel)


def googlenet(num_classes=1000, in_channels=3, width=1.0, small=False, branch_kernel=3, *,
              aux_logits=False, dropout=0.2, dropout_aux=0.7):  # fmt: skip
    """GoogLeNet (without auxiliary heads unless aux_logits=True); `width` scales every
    channel count; `small=True` keeps 28x28 or 32x32 inputs large enough.

    x : (N, in_channels, H, W)  ->  logits (N, num_classes)
    """
    return GoogLeNet(num_classes, aux_logits, dropout=dropout, dropout_aux=dropout_aux,
                     in_channels=in_channels, width=width, small=small,
                     branch_kernel=branch_kernel)  # fmt: skip
