"""One dtype per call, as in torch: mixed float32/float64 arguments and a dout of another
shape or dtype than the output are errors, never a silent promotion, broadcast or crop.

torch is the oracle for the forward rule: every mixture cnnlib rejects, torch rejects too.
(For dout, torch's autograd casts a gradient of another floating dtype; cnnlib's explicit
``op_backward(dout, cache)`` refuses it, see ``cnnlib/functional/_checks.py``.)
"""

import re

import numpy as np
import pytest
from helpers import to_backend, torch

from cnnlib import functional as F
from cnnlib.backend import to_numpy

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
TF = torch.nn.functional if torch is not None else None


def r(*shape):
    return np.random.default_rng(sum(shape)).standard_normal(shape)


CONV = ["input", "weight", "bias"]
BN = ["input", "running_mean", "running_var", "weight", "bias"]
CONV_ARGS = [r(2, 3, 5, 5), r(4, 3, 3, 3), r(4)]
BN_ARGS = [r(4, 3, 2), r(3), np.ones(3), r(3), r(3)]

# op -> (cnnlib function, torch function's name, argument names, arguments, keyword arguments)
MULTI_ARRAY_OPS = {
    "conv2d": (F.conv2d, "conv2d", CONV, CONV_ARGS, {}),
    "conv2d_naive": (F.conv2d_naive, "conv2d", CONV, [r(1, 2, 4, 4), r(3, 2, 3, 3), r(3)], {}),
    "true_conv2d": (F.true_conv2d, "conv2d", CONV, CONV_ARGS, {}),
    "conv_transpose2d": (
        F.conv_transpose2d,
        "conv_transpose2d",
        CONV,
        [r(2, 3, 4, 4), r(3, 2, 3, 3), r(2)],
        {},
    ),
    "linear": (F.linear, "linear", CONV, [r(2, 3), r(4, 3), r(4)], {}),
    "batch_norm (training)": (F.batch_norm, "batch_norm", BN, BN_ARGS, {"training": True}),
    "batch_norm (eval)": (F.batch_norm, "batch_norm", BN, BN_ARGS, {"training": False}),
}

# torch's CPU conv_transpose2d accepts a float32 bias with float64 input and weight (and
# returns a float32 bias gradient), unlike its conv2d; cnnlib keeps the one rule
TORCH_ACCEPTS = {("conv_transpose2d", 2, "float32")}

MIXTURES = [
    (op, i, odd)
    for op, (_, _, names, _, _) in MULTI_ARRAY_OPS.items()
    for i in range(len(names))
    for odd in ("float32", "float64")
]


@pytest.mark.parametrize("op, i, odd", MIXTURES)
def test_one_argument_of_another_dtype_is_rejected_like_torch(op, i, odd, backend):
    """Argument i in `odd`, every other array in the other float dtype."""
    fn, torch_name, names, args, kwargs = MULTI_ARRAY_OPS[op]
    rest = "float64" if odd == "float32" else "float32"
    args = [a.astype(odd if k == i else rest) for k, a in enumerate(args)]
    pattern = rf"{op.split()[0]}: expected all arrays to have the same dtype, .*{names[i]} is {odd}"
    with pytest.raises(TypeError, match=pattern) as error:
        fn(*(to_backend(a, backend) for a in args), **kwargs)
    other = names[1] if i == 0 else names[0]
    assert f"{other} is {rest}" in str(error.value)
    if torch is not None:
        torch_args = [torch.from_numpy(a) for a in args]
        if (op, i, odd) in TORCH_ACCEPTS:
            getattr(TF, torch_name)(*torch_args, **kwargs)
        else:
            with pytest.raises(RuntimeError):
                getattr(TF, torch_name)(*torch_args, **kwargs)
    # and in one dtype (either) the same call works
    out = fn(*(to_backend(a.astype(odd), backend) for a in args), **kwargs)
    assert to_numpy(out).dtype == odd


# backward -> (forward, backward, positional arguments, keyword arguments)
BACKWARDS = {
    "conv2d": (F.conv2d_forward, F.conv2d_backward, [r(2, 3, 5, 6), r(4, 3, 3, 3), r(4)], {}),
    "conv2d unbatched": (
        F.conv2d_forward,
        F.conv2d_backward,
        [r(3, 5, 6), r(4, 3, 3, 3)],
        {"stride": 2},
    ),
    "true_conv2d": (F.true_conv2d_forward, F.true_conv2d_backward, CONV_ARGS[:2], {}),
    "conv_transpose2d": (
        F.conv_transpose2d_forward,
        F.conv_transpose2d_backward,
        [r(2, 3, 4, 4), r(3, 2, 3, 3), r(2)],
        {"stride": 2, "output_padding": 1},
    ),
    "conv_transpose2d unbatched": (
        F.conv_transpose2d_forward,
        F.conv_transpose2d_backward,
        [r(3, 4, 5), r(3, 2, 2, 2)],
        {"padding": 1},
    ),
    "linear": (F.linear_forward, F.linear_backward, [r(2, 5, 3), r(4, 3), r(4)], {}),
    "batch_norm (training)": (
        F.batch_norm_forward,
        F.batch_norm_backward,
        [r(4, 3, 2), None, None, r(3), r(3)],
        {"training": True},
    ),
    "batch_norm (eval)": (F.batch_norm_forward, F.batch_norm_backward, BN_ARGS, {}),
    "local_response_norm": (
        F.local_response_norm_forward,
        F.local_response_norm_backward,
        [r(2, 5, 3), 3],
        {},
    ),
    "dropout": (F.dropout_forward, F.dropout_backward, [r(3, 4)], {"seed": 0}),
    "dropout (eval)": (F.dropout_forward, F.dropout_backward, [r(3, 4)], {"training": False}),
}


def _run_forward(name, dtype, backend):
    forward, backward, args, kwargs = BACKWARDS[name]
    args = [to_backend(a.astype(dtype), backend) if isinstance(a, np.ndarray) else a for a in args]
    out, cache = forward(*args, **kwargs)
    return backward, tuple(out.shape), cache


def _dout(shape, dtype, backend):
    return to_backend(np.random.default_rng(0).standard_normal(shape).astype(dtype), backend)


@pytest.mark.parametrize("name", sorted(BACKWARDS))
@pytest.mark.parametrize("change", [+1, -1])
def test_backward_rejects_dout_of_another_shape_naming_both(name, change, backend):
    """The old conv_transpose2d_backward cropped a larger dout and conv2d-like ops would
    broadcast one of size 1; now every backward names dout's shape and the output's."""
    backward, shape, cache = _run_forward(name, "float64", backend)
    bad = shape[:-1] + (shape[-1] + change,)
    message = f"dout has shape {bad} but the forward output has shape {shape}"
    with pytest.raises(ValueError, match=re.escape(message)):
        backward(_dout(bad, "float64", backend), cache)
    backward(_dout(shape, "float64", backend), cache)  # the right shape works


@pytest.mark.parametrize("name", sorted(BACKWARDS))
@pytest.mark.parametrize(
    "forward_dtype, dout_dtype", [("float32", "float64"), ("float64", "float32")]
)
def test_backward_rejects_dout_of_another_dtype(name, forward_dtype, dout_dtype, backend):
    """A float64 dout after a float32 forward would give float64 gradients for float32
    parameters; it is an error, and the right dtype gives gradients in that dtype."""
    backward, shape, cache = _run_forward(name, forward_dtype, backend)
    message = rf"dout has dtype .*{dout_dtype} but the forward output has dtype .*{forward_dtype}"
    with pytest.raises(TypeError, match=message):
        backward(_dout(shape, dout_dtype, backend), cache)
    grads = backward(_dout(shape, forward_dtype, backend), cache)
    for g in grads if isinstance(grads, tuple) else (grads,):
        assert g is None or to_numpy(g).dtype == forward_dtype
