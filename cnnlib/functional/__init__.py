"""Pure functions with torch.nn.functional's names, signatures and defaults.

Every differentiable op ``op`` comes in three forms::

    out = op(...)                      # what torch.nn.functional.op returns
    out, cache = op_forward(...)       # the same, plus a NamedTuple for the backward pass
    grads = op_backward(dout, cache)   # (dx, dweight, dbias) or dx alone

The array library is taken from the inputs: NumPy in, NumPy out; torch in, torch out
(on the same device); array-api-strict works too.

    from cnnlib import functional as F
    y = F.relu(F.conv2d(x, w, b, padding=1))
"""

from cnnlib.functional.activation import (
    hardsigmoid,
    hardsigmoid_backward,
    hardsigmoid_forward,
    leaky_relu,
    leaky_relu_backward,
    leaky_relu_forward,
    relu,
    relu6,
    relu6_backward,
    relu6_forward,
    relu_backward,
    relu_forward,
    sigmoid,
    sigmoid_backward,
    sigmoid_forward,
    tanh,
    tanh_backward,
    tanh_forward,
)
from cnnlib.functional.adaptive_pool import (
    adaptive_avg_pool2d,
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    adaptive_max_pool2d,
    adaptive_max_pool2d_backward,
    adaptive_max_pool2d_forward,
)
from cnnlib.functional.binary_cross_entropy import (
    binary_cross_entropy,
    binary_cross_entropy_backward,
    binary_cross_entropy_forward,
    binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_backward,
    binary_cross_entropy_with_logits_forward,
)
from cnnlib.functional.conv import (
    conv2d,
    conv2d_backward,
    conv2d_forward,
    true_conv2d,
    true_conv2d_backward,
    true_conv2d_forward,
)
from cnnlib.functional.conv_naive import conv2d_naive
from cnnlib.functional.conv_transpose import (
    conv_transpose2d,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
)
from cnnlib.functional.cross_entropy import (
    cross_entropy,
    cross_entropy_backward,
    cross_entropy_forward,
    nll_loss,
    nll_loss_backward,
    nll_loss_forward,
)
from cnnlib.functional.dropout import (
    dropout,
    dropout2d,
    dropout2d_backward,
    dropout2d_forward,
    dropout_backward,
    dropout_forward,
)
from cnnlib.functional.encoding import one_hot
from cnnlib.functional.fold import fold, unfold
from cnnlib.functional.group_norm import group_norm, group_norm_backward, group_norm_forward
from cnnlib.functional.interpolate import (
    interpolate,
    interpolate_backward,
    interpolate_forward,
)
from cnnlib.functional.layer_norm import layer_norm, layer_norm_backward, layer_norm_forward
from cnnlib.functional.linear import linear, linear_backward, linear_forward
from cnnlib.functional.loss import mse_loss, mse_loss_backward, mse_loss_forward
from cnnlib.functional.norm import (
    batch_norm,
    batch_norm_backward,
    batch_norm_forward,
    local_response_norm,
    local_response_norm_backward,
    local_response_norm_forward,
)
from cnnlib.functional.pad import pad, pad_backward, pad_forward
from cnnlib.functional.pool import (
    avg_pool2d,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d,
    max_pool2d_backward,
    max_pool2d_forward,
)
from cnnlib.functional.pool_naive import avg_pool2d_naive, max_pool2d_naive
from cnnlib.functional.self_gated import (
    gelu,
    gelu_backward,
    gelu_forward,
    hardswish,
    hardswish_backward,
    hardswish_forward,
    silu,
    silu_backward,
    silu_forward,
)
from cnnlib.functional.softmax import (
    log_softmax,
    log_softmax_backward,
    log_softmax_forward,
    softmax,
    softmax_backward,
    softmax_forward,
)
from cnnlib.functional.unpool import (
    max_unpool2d,
    max_unpool2d_backward,
    max_unpool2d_forward,
)

__all__ = [
    # convolution
    "conv2d",
    "conv2d_forward",
    "conv2d_backward",
    "conv2d_naive",
    "true_conv2d",
    "true_conv2d_forward",
    "true_conv2d_backward",
    "conv_transpose2d",
    "conv_transpose2d_forward",
    "conv_transpose2d_backward",
    "unfold",
    "fold",
    # pooling
    "max_pool2d",
    "max_pool2d_forward",
    "max_pool2d_backward",
    "max_pool2d_naive",
    "avg_pool2d",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
    "avg_pool2d_naive",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool2d_forward",
    "adaptive_avg_pool2d_backward",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_forward",
    "adaptive_max_pool2d_backward",
    "max_unpool2d",
    "max_unpool2d_forward",
    "max_unpool2d_backward",
    # resizing
    "interpolate",
    "interpolate_forward",
    "interpolate_backward",
    # padding
    "pad",
    "pad_forward",
    "pad_backward",
    # activations
    "relu",
    "relu_forward",
    "relu_backward",
    "leaky_relu",
    "leaky_relu_forward",
    "leaky_relu_backward",
    "sigmoid",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh",
    "tanh_forward",
    "tanh_backward",
    "relu6",
    "relu6_forward",
    "relu6_backward",
    "hardsigmoid",
    "hardsigmoid_forward",
    "hardsigmoid_backward",
    "silu",
    "silu_forward",
    "silu_backward",
    "hardswish",
    "hardswish_forward",
    "hardswish_backward",
    "gelu",
    "gelu_forward",
    "gelu_backward",
    "softmax",
    "softmax_forward",
    "softmax_backward",
    "log_softmax",
    "log_softmax_forward",
    "log_softmax_backward",
    # linear, dropout, normalisation
    "linear",
    "linear_forward",
    "linear_backward",
    "dropout",
    "dropout_forward",
    "dropout_backward",
    "dropout2d",
    "dropout2d_forward",
    "dropout2d_backward",
    "batch_norm",
    "batch_norm_forward",
    "batch_norm_backward",
    "local_response_norm",
    "local_response_norm_forward",
    "local_response_norm_backward",
    "layer_norm",
    "layer_norm_forward",
    "layer_norm_backward",
    "group_norm",
    "group_norm_forward",
    "group_norm_backward",
    # losses
    "cross_entropy",
    "cross_entropy_forward",
    "cross_entropy_backward",
    "mse_loss",
    "mse_loss_forward",
    "mse_loss_backward",
    "nll_loss",
    "nll_loss_forward",
    "nll_loss_backward",
    "binary_cross_entropy",
    "binary_cross_entropy_forward",
    "binary_cross_entropy_backward",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_forward",
    "binary_cross_entropy_with_logits_backward",
    "one_hot",
]
