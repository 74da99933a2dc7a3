"""Every public functional op rejects non-arrays and NumPy/torch mixtures with a TypeError
that names the function and the argument, before any arithmetic happens."""

import numpy as np
import pytest
from helpers import torch

from cnnlib import functional as F

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


def z(*shape):
    return np.zeros(shape)


# op name -> (function, valid positional arguments, indices of the array arguments)
OPS = {
    "conv2d": (F.conv2d, [z(1, 2, 4, 4), z(3, 2, 3, 3), z(3)], [0, 1, 2]),
    "conv2d_naive": (F.conv2d_naive, [z(1, 2, 4, 4), z(3, 2, 3, 3), z(3)], [0, 1, 2]),
    "true_conv2d": (F.true_conv2d, [z(1, 2, 4, 4), z(3, 2, 3, 3), z(3)], [0, 1, 2]),
    "conv_transpose2d": (F.conv_transpose2d, [z(1, 2, 4, 4), z(2, 3, 3, 3), z(3)], [0, 1, 2]),
    "unfold": (F.unfold, [z(1, 2, 4, 4), 2], [0]),
    "fold": (F.fold, [z(1, 8, 9), (4, 4), 2], [0]),
    "max_pool2d": (F.max_pool2d, [z(1, 2, 4, 4), 2], [0]),
    "avg_pool2d": (F.avg_pool2d, [z(1, 2, 4, 4), 2], [0]),
    "max_pool2d_naive": (F.max_pool2d_naive, [z(1, 2, 4, 4), 2], [0]),
    "avg_pool2d_naive": (F.avg_pool2d_naive, [z(1, 2, 4, 4), 2], [0]),
    "adaptive_avg_pool2d": (F.adaptive_avg_pool2d, [z(1, 2, 4, 4), 2], [0]),
    "adaptive_max_pool2d": (F.adaptive_max_pool2d, [z(1, 2, 4, 4), 2], [0]),
    "relu": (F.relu, [z(2, 3)], [0]),
    "leaky_relu": (F.leaky_relu, [z(2, 3)], [0]),
    "sigmoid": (F.sigmoid, [z(2, 3)], [0]),
    "tanh": (F.tanh, [z(2, 3)], [0]),
    "softmax": (F.softmax, [z(2, 3), 1], [0]),
    "log_softmax": (F.log_softmax, [z(2, 3), 1], [0]),
    "linear": (F.linear, [z(2, 3), z(4, 3), z(4)], [0, 1, 2]),
    "dropout": (F.dropout, [z(2, 3)], [0]),
    "batch_norm": (F.batch_norm, [z(2, 3), z(3), np.ones(3), z(3), z(3)], [0, 1, 2, 3, 4]),
    "local_response_norm": (F.local_response_norm, [z(1, 3, 2), 2], [0]),
    "cross_entropy": (F.cross_entropy, [z(2, 3), np.array([0, 2])], [0, 1]),
    "mse_loss": (F.mse_loss, [z(2, 3), z(2, 3)], [0, 1]),
}

CASES = [(name, i) for name, (_, _, arrays) in OPS.items() for i in arrays]
MIXABLE = [(name, i) for name, i in CASES if len(OPS[name][2]) > 1]


def test_the_table_covers_every_public_op():
    parts = ("_forward", "_backward")
    public = {n for n in F.__all__ if not n.endswith(parts) and callable(getattr(F, n))}
    assert public == set(OPS), public ^ set(OPS)


@pytest.mark.parametrize("name", sorted(OPS))
def test_valid_arguments_work(name):
    op, args, _ = OPS[name]
    op(*args)


@pytest.mark.parametrize("name, i", CASES)
def test_a_list_instead_of_an_array_is_a_type_error(name, i):
    op, args, _ = OPS[name]
    args = list(args)
    args[i] = args[i].tolist()
    with pytest.raises(TypeError, match=rf"{name.removesuffix('_naive')}.*must be an array"):
        op(*args)


@needs_torch
@pytest.mark.parametrize("name, i", MIXABLE)
def test_numpy_and_torch_mixed_is_a_type_error(name, i):
    op, args, _ = OPS[name]
    args = list(args)
    args[i] = torch.from_numpy(args[i])
    with pytest.raises(TypeError, match=r"one library, but .*(numpy.*torch|torch.*numpy)"):
        op(*args)


@needs_torch
@pytest.mark.parametrize(
    "forward, backward, args",
    [
        (F.relu_forward, F.relu_backward, [z(2, 3)]),
        (F.softmax_forward, F.softmax_backward, [z(2, 3), 1]),
        (F.linear_forward, F.linear_backward, [z(2, 3), z(4, 3)]),
        (F.dropout_forward, F.dropout_backward, [z(2, 3)]),
        (F.local_response_norm_forward, F.local_response_norm_backward, [z(1, 3, 2), 2]),
    ],
)
def test_backward_rejects_dout_from_another_library(forward, backward, args):
    out, cache = forward(*args)
    with pytest.raises(TypeError, match="must come from one library"):
        backward(torch.zeros(tuple(out.shape), dtype=torch.float64), cache)
