"""Activations and softmax against torch (float64 and float32, every backend), torch's
choices at the kinks, in-place semantics, the erfc behind exact GELU, and bad input."""

import inspect
import math

import numpy as np
import pytest
from helpers import DTYPES, check_op, to_backend, torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nn_helpers import LAYER_BACKENDS, compare, layer_backend

from cnnlib import functional as F
from cnnlib import nn
from cnnlib.backend import to_numpy
from cnnlib.functional._erf import erfc

TF = torch.nn.functional if torch is not None else None
needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
FIXTURE_OK = [HealthCheck.function_scoped_fixture]


@pytest.fixture(params=LAYER_BACKENDS)
def lb(request):
    return layer_backend(request.param)


# check_op hands a 0-d output a Python float as dout: 0-d inputs are tested on their own
shapes = st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple)


def values(shape, seed, scale=3.0):
    return np.asarray(np.random.default_rng(seed).standard_normal(shape) * scale)


def ops(name):
    return getattr(F, f"{name}_forward"), getattr(F, f"{name}_backward"), getattr(F, name)


# name -> (torch function, extra positional arguments)
ELEMENTWISE = {
    "relu": (lambda: TF.relu, []),
    "relu6": (lambda: TF.relu6, []),
    "hardsigmoid": (lambda: TF.hardsigmoid, []),
    "hardswish": (lambda: TF.hardswish, []),
    "silu": (lambda: TF.silu, []),
    "sigmoid": (lambda: torch.sigmoid, []),
    "tanh": (lambda: torch.tanh, []),
    "gelu": (lambda: TF.gelu, []),
    "gelu-tanh": (lambda: lambda x, a: TF.gelu(x, approximate=a), ["tanh"]),
    "leaky_relu": (lambda: TF.leaky_relu, [0.2]),
}
INPLACE = ["relu", "relu6", "hardsigmoid", "hardswish", "silu", "leaky_relu"]


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@settings(max_examples=10, deadline=None, suppress_health_check=FIXTURE_OK)
@given(shape=shapes, scale=st.sampled_from([0.5, 3.0, 8.0]), seed=st.integers(0, 2**16))
def test_elementwise_matches_torch(backend, dtype, name, shape, scale, seed):
    ref, extra = ELEMENTWISE[name]
    forward, backward, op = ops(name.split("-")[0])
    x = values(shape, seed, scale)
    check_op(forward, backward, ref(), [x, *extra], backend=backend, op=op, seed=seed, dtype=dtype)


@needs_torch
@settings(max_examples=15, deadline=None, suppress_health_check=FIXTURE_OK)
@given(shape=shapes, slope=st.floats(-2, 2), seed=st.integers(0, 2**16))
def test_leaky_relu_any_slope_matches_torch(backend, shape, slope, seed):
    forward, backward, op = ops("leaky_relu")
    check_op(forward, backward, TF.leaky_relu, [values(shape, seed), slope], backend=backend,
             op=op, seed=seed)  # fmt: skip


KINKS = np.array([-6.0, -3.0 - 1e-9, -3.0, -3.0 + 1e-9, -1.0, -0.0, 0.0, 1e-300, 1.0,
                  3.0 - 1e-9, 3.0, 3.0 + 1e-9, 6.0 - 1e-9, 6.0, 6.0 + 1e-9, 7.0])  # fmt: skip


@needs_torch
@pytest.mark.parametrize("name", ["relu", "relu6", "hardsigmoid", "hardswish", "leaky_relu"])
def test_gradient_at_the_kinks_follows_torch(backend, name):
    """torch: relu' (0) = 0, relu6' = 0 at 0 and 6, hardsigmoid' = 0 at +-3, hardswish' (-3) =
    0 and hardswish' (3) = 1, leaky_relu' (0) = negative_slope."""
    ref, extra = ELEMENTWISE[name]
    forward, backward, _ = ops(name)
    check_op(forward, backward, ref(), [KINKS, *extra], backend=backend)


@needs_torch
@pytest.mark.parametrize("name", INPLACE)
def test_inplace_overwrites_the_input_like_torch(backend, name):
    ref, extra = ELEMENTWISE[name]
    forward, backward, op = ops(name)
    x = values((3, 4), 1)
    ours = to_backend(x.copy(), backend)
    out, cache = forward(ours, *extra, inplace=True)
    assert out is ours  # the input itself comes back, overwritten
    theirs = torch.tensor(x)
    assert ref()(theirs, *extra, inplace=True) is theirs
    np.testing.assert_allclose(to_numpy(ours), theirs.numpy(), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(op(to_backend(x.copy(), backend), *extra)), theirs)
    # the gradient is the one of the original input, not of the overwritten values
    g = values((3, 4), 2)
    t = torch.tensor(x, requires_grad=True)
    ref()(t, *extra).backward(torch.tensor(g))
    dx = backward(to_backend(g, backend), cache)
    # rtol 1e-7: torch's float64 hardsigmoid gradient uses 1/6 rounded to float32
    np.testing.assert_allclose(to_numpy(dx), t.grad.numpy(), rtol=1e-7, atol=1e-15)


def test_inplace_false_leaves_the_input_alone():
    x = values((3, 4), 1)
    before = x.copy()
    for name in INPLACE:
        forward, _, _ = ops(name)
        out, _ = forward(x)
        assert out is not x
    np.testing.assert_array_equal(x, before)


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log", [False, True])
@settings(max_examples=10, deadline=None, suppress_health_check=FIXTURE_OK)
@given(shape=shapes, data=st.data(), seed=st.integers(0, 2**16))
def test_softmax_matches_torch(backend, dtype, log, shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    name = "log_softmax" if log else "softmax"
    forward, backward, op = ops(name)
    check_op(forward, backward, getattr(TF, name), [values(shape, seed), dim], backend=backend,
             op=op, seed=seed, dtype=dtype)  # fmt: skip


@needs_torch
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_dtype_casts_first_like_torch(backend, name):
    """dtype= casts the input before the op: float64 output, float32 input gradient."""
    forward, backward, op = ops(name)
    x = values((3, 5), 0).astype(np.float32)
    out, cache = forward(to_backend(x, backend), 1, dtype="float64")
    t = torch.tensor(x, requires_grad=True)
    ref = getattr(TF, name)(t, 1, dtype=torch.float64)
    assert to_numpy(out).dtype == np.float64 and ref.dtype == torch.float64
    np.testing.assert_allclose(to_numpy(out), ref.detach().numpy(), rtol=1e-12)
    g = values((3, 5), 1)
    ref.backward(torch.tensor(g))
    dx = backward(to_backend(g, backend), cache)
    assert to_numpy(dx).dtype == np.float32
    np.testing.assert_allclose(to_numpy(dx), t.grad.numpy(), rtol=1e-6, atol=1e-7)
    ints = to_backend(np.array([1, 2, 3]), backend)  # an integer input is fine once cast
    np.testing.assert_allclose(
        to_numpy(op(ints, 0, dtype="float64")),
        getattr(TF, name)(torch.tensor([1, 2, 3]), 0, dtype=torch.float64).numpy(),
    )


@needs_torch
@pytest.mark.parametrize("name", [*ELEMENTWISE, "softmax", "log_softmax"])
def test_0d_input_gives_0d_arrays_like_torch(backend, name):
    if name in ("softmax", "log_softmax"):
        ref, extra = (lambda: getattr(TF, name)), [-1]
    else:
        ref, extra = ELEMENTWISE[name]
    forward, backward, _ = ops(name.split("-")[0])
    x = np.array(-0.7)
    out, cache = forward(to_backend(x, backend), *extra)
    dx = backward(to_backend(np.array(1.5), backend), cache)
    t = torch.tensor(x, requires_grad=True)
    ref_out = ref()(t, *extra)
    ref_out.backward(torch.tensor(1.5, dtype=torch.float64))
    for got, want in ((out, ref_out.detach()), (dx, t.grad)):
        assert tuple(got.shape) == () and type(got) is type(to_backend(x, backend))
        np.testing.assert_allclose(to_numpy(got), want.numpy(), rtol=1e-7, atol=1e-15)


def test_softmax_dtype_takes_the_library_dtype():
    x = np.zeros((2, 3), np.float32)
    assert F.softmax(x, 1, dtype=np.float64).dtype == np.float64
    if torch is not None:
        assert F.log_softmax(torch.zeros(2, 3), 1, dtype=torch.float64).dtype == torch.float64


# ------------------------------------------------------------------ stability, erfc


def test_relu_passes_nan_like_torch(backend):
    out = to_numpy(F.relu(to_backend(np.array([np.nan, -1.0, 1.0]), backend)))
    assert np.isnan(out[0]) and out[1] == 0 and out[2] == 1


def test_sigmoid_does_not_overflow(backend):
    x = to_backend(np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0]), backend)
    with np.errstate(over="raise"):
        out = to_numpy(F.sigmoid(x))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[[0, 2, 4]], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(out[1], np.exp(-40.0) / (1 + np.exp(-40.0)), rtol=1e-12)


@pytest.mark.parametrize("name", ["silu", "gelu", "hardswish"])
def test_gated_activations_are_finite_for_huge_inputs(backend, name):
    x = to_backend(np.array([-1e4, -40.0, 40.0, 1e4]), backend)
    forward, backward, _ = ops(name)
    with np.errstate(over="raise", invalid="raise"):
        out, cache = forward(x)
        dx = to_numpy(backward(to_backend(np.ones(4), backend), cache))
    out = to_numpy(out)
    np.testing.assert_allclose(out, [0.0, 0.0, 40.0, 1e4], atol=1e-12)
    np.testing.assert_allclose(dx, [0.0, 0.0, 1.0, 1.0], atol=1e-12)


def test_erfc_is_accurate_to_double_precision():
    import array_api_compat.numpy as xp

    z = np.concatenate([np.linspace(-6, 26, 20001), np.geomspace(1e-300, 1, 50)])
    want = np.array([math.erfc(v) for v in z])
    got = erfc(z, xp)
    assert np.max(np.abs(got - want) / want) < 2e-13


@needs_torch
def test_erfc_matches_torch_on_every_backend(backend):
    z = np.linspace(-8, 8, 1601)
    for dtype, rtol in (("float64", 1e-13), ("float32", 1e-5)):
        zb = to_backend(z.astype(dtype), backend)
        from cnnlib.backend import namespace

        got = to_numpy(erfc(zb, namespace(zb)))
        assert got.dtype == dtype
        np.testing.assert_allclose(got, torch.special.erfc(torch.tensor(z)).numpy(), rtol=rtol)


def test_softmax_is_stable_for_huge_logits(backend):
    x = to_backend(np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1000.0, -1000.0]]), backend)
    with np.errstate(over="raise"):
        y = to_numpy(F.softmax(x, dim=1))
        z = to_numpy(F.log_softmax(x, dim=1))
    e = np.exp([-2.0, -1.0, 0.0])
    np.testing.assert_allclose(y[0], e / e.sum())
    np.testing.assert_allclose(y[1], [1 / 3] * 3)
    np.testing.assert_allclose(z, np.log(y))
    np.testing.assert_allclose(y.sum(axis=1), [1.0, 1.0])


# ------------------------------------------------------------------ signatures


def _params(sig):
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


@needs_torch
@pytest.mark.parametrize(
    "name",
    ["relu", "leaky_relu", "relu6", "hardsigmoid", "hardswish", "silu", "softmax", "log_softmax"],
)
def test_signatures_are_torchs(name):
    assert _params(inspect.signature(getattr(F, name))) == _params(
        inspect.signature(getattr(TF, name))
    )


def test_gelu_signature_is_torchs():
    # torch's gelu is a builtin without a signature object; its docstring reads
    # "gelu(input, approximate = 'none') -> Tensor"
    sig = inspect.signature(F.gelu)
    assert list(sig.parameters) == ["input", "approximate"]
    assert sig.parameters["approximate"].default == "none"


@needs_torch
@pytest.mark.parametrize(
    "name", ["ReLU", "LeakyReLU", "ReLU6", "Hardsigmoid", "Hardswish", "SiLU", "GELU",
             "Softmax", "LogSoftmax"],
)  # fmt: skip
def test_layer_signatures_are_torchs(name):
    ours, theirs = inspect.signature(getattr(nn, name)), inspect.signature(getattr(torch.nn, name))
    assert _params(ours) == _params(theirs)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("op", [F.softmax, F.log_softmax])
def test_softmax_dim_errors(op):
    with pytest.raises(ValueError, match=r"dim=2 is out of range for a 2-D input"):
        op(np.zeros((2, 3)), 2)
    with pytest.raises(ValueError, match=r"-2 <= dim < 2"):
        op(np.zeros((2, 3)), -3)
    with pytest.raises(TypeError, match="dim must be an int"):
        op(np.zeros((2, 3)), 1.0)
    with pytest.raises(ValueError, match=r"pass dim.*implicit choice"):
        op(np.zeros((2, 3)))  # torch guesses with a deprecation warning; cnnlib refuses
    with pytest.raises(TypeError, match="dtype='float17' is not a dtype name"):
        op(np.zeros((2, 3)), 1, dtype="float17")
    with pytest.raises(TypeError, match="input must be a floating-point array"):
        op(np.zeros((2, 3), dtype=int), 1)


@pytest.mark.parametrize(
    "op", [F.relu, F.leaky_relu, F.relu6, F.hardsigmoid, F.hardswish, F.silu, F.gelu,
           F.sigmoid, F.tanh],
)  # fmt: skip
def test_integer_input_is_rejected(op):
    with pytest.raises(TypeError, match="input must be a floating-point array, got dtype int"):
        op(np.arange(3))


@pytest.mark.parametrize("name", ["relu", "relu6", "hardswish", "silu", "gelu", "softmax"])
def test_backward_checks_dout_shape_and_dtype(name):
    forward, backward, _ = ops(name)
    args = [1] if name == "softmax" else []
    _, cache = forward(np.zeros((2, 3)), *args)
    with pytest.raises(ValueError, match=rf"{name}_backward: dout has shape \(3, 2\)"):
        backward(np.zeros((3, 2)), cache)
    with pytest.raises(TypeError, match=rf"{name}_backward: dout has dtype float32"):
        backward(np.zeros((2, 3), np.float32), cache)


def test_bad_flags():
    with pytest.raises(TypeError, match="negative_slope must be a number"):
        F.leaky_relu(np.zeros(3), "0.1")
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got 'erf'"):
        F.gelu(np.zeros(3), approximate="erf")
    for op in (F.relu, F.relu6, F.hardswish, F.silu, F.hardsigmoid):
        with pytest.raises(TypeError, match="inplace must be True or False"):
            op(np.zeros(3), inplace=1)


# ------------------------------------------------------------------ layers


LAYERS = [
    ("ReLU6", {}), ("Hardsigmoid", {}), ("Hardswish", {}), ("SiLU", {}), ("GELU", {}),
    ("GELU", {"approximate": "tanh"}), ("LogSoftmax", {"dim": 1}), ("LeakyReLU", {}),
    ("ReLU", {"inplace": True}), ("ReLU6", {"inplace": True}), ("SiLU", {"inplace": True}),
    ("Hardswish", {"inplace": True}), ("Hardsigmoid", {"inplace": True}),
    ("LeakyReLU", {"negative_slope": 0.3, "inplace": True}),
]  # fmt: skip


@needs_torch
@pytest.mark.parametrize("name, kwargs", LAYERS)
def test_activation_layers_match_torch(name, kwargs, lb):
    ours = getattr(nn, name)(**kwargs)
    theirs = getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    # torch refuses an in-place op on a leaf that requires grad: its reference runs out of place
    reference = getattr(torch.nn, name)(**{k: v for k, v in kwargs.items() if k != "inplace"})
    x = values((2, 5, 3, 4), 0)
    bx = to_backend(x.copy(), lb)
    out = compare(ours, reference, x, lb) if not kwargs.get("inplace") else None
    if kwargs.get("inplace"):  # the layer overwrites its input and hands it back
        y = ours(bx)
        assert y is bx
        np.testing.assert_allclose(to_numpy(bx), reference(torch.tensor(x)).numpy(), rtol=1e-7)
        g = values((2, 5, 3, 4), 1)
        t = torch.tensor(x, requires_grad=True)
        reference(t).backward(torch.tensor(g))
        np.testing.assert_allclose(to_numpy(ours.backward(to_backend(g, lb))), t.grad.numpy(),
                                   rtol=1e-7, atol=1e-12)  # fmt: skip
    else:
        assert out.shape == x.shape
