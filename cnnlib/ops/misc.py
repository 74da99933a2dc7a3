"""Two small building blocks of torchvision's models, under torchvision.ops' names.

* ``Conv2dNormActivation``: conv -> norm -> activation as one Sequential (children "0",
  "1", "2"), the unit MobileNet and ConvNeXt are written with. The conv has a bias only
  when there is no norm layer (the norm's shift would cancel it), and the default padding
  (k - 1) // 2 * dilation keeps the map size at stride 1.
* ``Permute``: reorders the axes, e.g. (N, C, H, W) -> (N, H, W, C) with dims (0, 2, 3, 1),
  so that a Linear or LayerNorm acts on the channels of every position (ConvNeXt's block).
  Its backward applies the inverse permutation to dout.
"""

from __future__ import annotations

from numbers import Integral

from cnnlib import nn
from cnnlib.backend import namespace

__all__ = ["Conv2dNormActivation", "Permute"]


def _same_padding(kernel_size, dilation):
    if isinstance(kernel_size, Integral) and isinstance(dilation, Integral):
        return (kernel_size - 1) // 2 * dilation
    ks = (kernel_size, kernel_size) if isinstance(kernel_size, Integral) else kernel_size
    ds = (dilation,) * len(ks) if isinstance(dilation, Integral) else dilation
    return tuple((k - 1) // 2 * d for k, d in zip(ks, ds))


class Conv2dNormActivation(nn.Sequential):
    """Conv2d -> norm_layer(out_channels) -> activation_layer(), as torchvision.ops builds it.

    x : (N, in_channels, H, W) -> (N, out_channels, H_out, W_out), H_out as for Conv2d with
    padding (kernel_size - 1) // 2 * dilation unless given. norm_layer or
    activation_layer None leaves that layer out; bias None means "bias only without a
    norm layer". `inplace` is passed to the activation (None: not passed).
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None,
                 groups=1, norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU, dilation=1,
                 inplace=True, bias=None):  # fmt: skip
        if padding is None:
            padding = _same_padding(kernel_size, dilation)
        if bias is None:
            bias = norm_layer is None
        layers = [
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation=dilation,
                      groups=groups, bias=bias)
        ]  # fmt: skip
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            params = {} if inplace is None else {"inplace": inplace}
            layers.append(activation_layer(**params))
        super().__init__(*layers)
        self.out_channels = out_channels


class Permute(nn.Module):
    """x.permute(dims): input of dims[i]'s axis becomes axis i. Backward: dout permuted by
    the inverse permutation."""

    def __init__(self, dims):
        super().__init__()
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(len(self.dims))):
            raise ValueError(f"Permute: dims must be a permutation of 0..n-1, got {dims!r}")

    def extra_repr(self) -> str:
        return f"dims={list(self.dims)}"

    def forward(self, x):
        if x.ndim != len(self.dims):
            raise ValueError(
                f"Permute: input has {x.ndim} dimensions (shape {tuple(x.shape)}) but dims "
                f"{list(self.dims)} has {len(self.dims)}"
            )
        return namespace(x).permute_dims(x, self.dims)

    def backward(self, dout):
        inverse = tuple(sorted(range(len(self.dims)), key=self.dims.__getitem__))
        return namespace(dout).permute_dims(dout, inverse)
