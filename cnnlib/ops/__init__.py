"""Building blocks of modern CNNs under torchvision.ops' names, each with its backward.

``StochasticDepth`` / ``stochastic_depth`` (drop a residual branch per sample),
``SqueezeExcitation`` (re-weight channels by a gate computed from their averages),
``Conv2dNormActivation`` (conv -> norm -> activation), ``Permute`` (reorder axes), and for
detection ``box_area``, ``box_iou`` and ``nms`` (non-maximum suppression).
They live here, not in ``cnnlib.nn``, because torch keeps them in torchvision.ops; the
models in ``cnnlib.models`` are built from them and from ``cnnlib.nn``.
"""

from cnnlib.ops.boxes import box_area, box_iou, nms
from cnnlib.ops.misc import Conv2dNormActivation, Permute
from cnnlib.ops.squeeze_excitation import SqueezeExcitation
from cnnlib.ops.stochastic_depth import (
    StochasticDepth,
    stochastic_depth,
    stochastic_depth_backward,
    stochastic_depth_forward,
)

__all__ = [
    "StochasticDepth",
    "stochastic_depth",
    "stochastic_depth_forward",
    "stochastic_depth_backward",
    "SqueezeExcitation",
    "Conv2dNormActivation",
    "Permute",
    "box_area",
    "box_iou",
    "nms",
]
