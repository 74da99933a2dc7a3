"""Every public functional op rejects non-arrays and NumPy/torch mixtures with a TypeError
that names the function and the argument, before any arithmetic happens; integer
hyperparameters take Python and NumPy integers alike, never a bool or a tuple of the wrong
length."""

import numpy as np
import pytest
from helpers import torch

from cnnlib import functional as F

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


def z(*shape):
    return np.zeros(shape)


def idx(*shape):
    return np.zeros(shape, dtype=np.int64)


# op name -> (valid positional arguments, indices of the array arguments); the ops of
# issue 17 are listed before they land and checked from the moment they exist
ALL_OPS = {
    "conv2d": ([z(1, 2, 4, 4), z(3, 2, 3, 3), z(3)], [0, 1, 2]),
    "conv2d_naive": ([z(1, 2, 4, 4), z(3, 2, 3, 3), z(3)], [0, 1, 2]),
    "true_conv2d": ([z(1, 2, 4, 4), z(3, 2, 3, 3), z(3)], [0, 1, 2]),
    "conv_transpose2d": ([z(1, 2, 4, 4), z(2, 3, 3, 3), z(3)], [0, 1, 2]),
    "unfold": ([z(1, 2, 4, 4), 2], [0]),
    "fold": ([z(1, 8, 9), (4, 4), 2], [0]),
    "max_pool2d": ([z(1, 2, 4, 4), 2], [0]),
    "avg_pool2d": ([z(1, 2, 4, 4), 2], [0]),
    "max_pool2d_naive": ([z(1, 2, 4, 4), 2], [0]),
    "avg_pool2d_naive": ([z(1, 2, 4, 4), 2], [0]),
    "adaptive_avg_pool2d": ([z(1, 2, 4, 4), 2], [0]),
    "adaptive_max_pool2d": ([z(1, 2, 4, 4), 2], [0]),
    "max_unpool2d": ([z(1, 2, 2, 2), idx(1, 2, 2, 2), 2], [0, 1]),
    "pad": ([z(1, 2, 4, 4), (1, 1, 1, 1)], [0]),
    "interpolate": ([z(1, 2, 4, 4), 8], [0]),
    "relu": ([z(2, 3)], [0]),
    "relu6": ([z(2, 3)], [0]),
    "leaky_relu": ([z(2, 3)], [0]),
    "sigmoid": ([z(2, 3)], [0]),
    "hardsigmoid": ([z(2, 3)], [0]),
    "tanh": ([z(2, 3)], [0]),
    "gelu": ([z(2, 3)], [0]),
    "silu": ([z(2, 3)], [0]),
    "hardswish": ([z(2, 3)], [0]),
    "softmax": ([z(2, 3), 1], [0]),
    "log_softmax": ([z(2, 3), 1], [0]),
    "linear": ([z(2, 3), z(4, 3), z(4)], [0, 1, 2]),
    "dropout": ([z(2, 3)], [0]),
    "dropout2d": ([z(1, 2, 3, 3)], [0]),
    "batch_norm": ([z(2, 3), z(3), np.ones(3), z(3), z(3)], [0, 1, 2, 3, 4]),
    "local_response_norm": ([z(1, 3, 2), 2], [0]),
    "layer_norm": ([z(2, 3), (3,), np.ones(3), z(3)], [0, 2, 3]),
    "group_norm": ([z(2, 4, 3), 2, np.ones(4), z(4)], [0, 2, 3]),
    "cross_entropy": ([z(2, 3), np.array([0, 2])], [0, 1]),
    "nll_loss": ([z(2, 3), np.array([0, 2])], [0, 1]),
    "mse_loss": ([z(2, 3), z(2, 3)], [0, 1]),
    "binary_cross_entropy": ([np.full((2, 3), 0.5), z(2, 3)], [0, 1]),
    "binary_cross_entropy_with_logits": ([z(2, 3), z(2, 3)], [0, 1]),
    "one_hot": ([np.array([0, 2])], [0]),
}
OPS = {name: (getattr(F, name), *spec) for name, spec in ALL_OPS.items() if hasattr(F, name)}

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
    """The message says the argument is not an array; it never reads as a dtype problem."""
    op, args, _ = OPS[name]
    args = list(args)
    args[i] = args[i].tolist()
    with pytest.raises(TypeError, match=rf"{name.removesuffix('_naive')}.*must be an array") as e:
        op(*args)
    assert "dtype" not in str(e.value)


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
        (F.conv2d_forward, F.conv2d_backward, [z(1, 2, 4, 4), z(3, 2, 3, 3)]),
        (F.conv_transpose2d_forward, F.conv_transpose2d_backward, [z(1, 2, 4, 4), z(2, 3, 3, 3)]),
        (F.batch_norm_forward, F.batch_norm_backward, [z(4, 3), None, None, None, None, True]),
    ],
)
def test_backward_rejects_dout_from_another_library(forward, backward, args):
    out, cache = forward(*args)
    with pytest.raises(TypeError, match="must come from one library"):
        backward(torch.zeros(tuple(out.shape), dtype=torch.float64), cache)


# ------------------------------------------------------------------ integer hyperparameters

# op -> (array arguments, integer keyword arguments with valid values, the (h, w) ones)
ALL_INT_ARGS = {
    "conv2d": (
        [z(1, 2, 6, 6), z(2, 1, 3, 3)],
        {"stride": 2, "padding": 1, "dilation": 1, "groups": 2},
        ["stride", "padding", "dilation"],
    ),
    "conv2d_naive": (
        [z(1, 2, 6, 6), z(2, 1, 3, 3)],
        {"stride": 2, "padding": 1, "dilation": 2, "groups": 2},
        ["stride", "padding", "dilation"],
    ),
    "true_conv2d": (
        [z(1, 2, 6, 6), z(2, 2, 3, 3)],
        {"stride": 2, "padding": 1, "dilation": 1, "groups": 1},
        ["stride", "padding", "dilation"],
    ),
    "conv_transpose2d": (
        [z(1, 2, 4, 4), z(2, 3, 3, 3)],
        {"stride": 2, "padding": 1, "output_padding": 1, "groups": 1, "dilation": 1},
        ["stride", "padding", "output_padding", "dilation"],
    ),
    "unfold": (
        [z(1, 2, 6, 6)],
        {"kernel_size": 3, "dilation": 1, "padding": 1, "stride": 2},
        ["kernel_size", "dilation", "padding", "stride"],
    ),
    "fold": (
        [z(1, 8, 9)],
        {"output_size": 4, "kernel_size": 2, "dilation": 1, "padding": 0, "stride": 1},
        ["output_size", "kernel_size", "dilation", "padding", "stride"],
    ),
    "local_response_norm": ([z(1, 3, 2)], {"size": 2}, []),
    "max_pool2d": (
        [z(1, 2, 6, 6)],
        {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 1},
        ["kernel_size", "stride", "padding", "dilation"],
    ),
    "avg_pool2d": (
        [z(1, 2, 6, 6)],
        {"kernel_size": 3, "stride": 2, "padding": 1},
        ["kernel_size", "stride", "padding"],
    ),
    "adaptive_avg_pool2d": ([z(1, 2, 6, 6)], {"output_size": 2}, ["output_size"]),
    "adaptive_max_pool2d": ([z(1, 2, 6, 6)], {"output_size": 2}, ["output_size"]),
    "softmax": ([z(2, 3)], {"dim": 1}, []),
    "log_softmax": ([z(2, 3)], {"dim": 1}, []),
    "group_norm": ([z(2, 4, 3)], {"num_groups": 2}, []),
    "one_hot": ([idx(3)], {"num_classes": 4}, []),
}
INT_ARGS = {name: spec for name, spec in ALL_INT_ARGS.items() if hasattr(F, name)}
INT_CASES = [(op, arg) for op, (_, ints, _) in INT_ARGS.items() for arg in ints]
PAIR_CASES = [(op, arg) for op, (_, _, pairs) in INT_ARGS.items() for arg in pairs]


def _call(op, arg, value):
    arrays, ints, _ = INT_ARGS[op]
    return getattr(F, op)(*arrays, **{**ints, arg: value})


@pytest.mark.parametrize("op, arg", INT_CASES)
def test_numpy_integers_work_like_python_ints(op, arg):
    value = INT_ARGS[op][1][arg]
    np.testing.assert_array_equal(_call(op, arg, np.int64(value)), _call(op, arg, value))
    pair = (np.int32(value), np.int64(value))
    if arg in INT_ARGS[op][2]:
        np.testing.assert_array_equal(_call(op, arg, pair), _call(op, arg, value))


@pytest.mark.parametrize("op, arg", INT_CASES)
def test_a_bool_is_not_an_int(op, arg):
    """True == 1 in Python, so accepting it would hide a misplaced flag."""
    with pytest.raises(TypeError, match=rf"{op.removesuffix('_naive')}.*{arg}") as e:
        _call(op, arg, True)
    assert "dtype" not in str(e.value)


@pytest.mark.parametrize("op, arg", PAIR_CASES)
def test_a_tuple_of_three_is_rejected_naming_the_argument(op, arg):
    value = INT_ARGS[op][1][arg]
    with pytest.raises((ValueError, TypeError), match=rf"{op.removesuffix('_naive')}.*{arg}"):
        _call(op, arg, (value, value, value))
