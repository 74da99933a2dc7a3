"""pad (constant / reflect / replicate / circular) against torch, the padding modules, the
transposed index maps behind the backward pass, and bad input."""

import numpy as np
import pytest
from helpers import check_op, to_backend, torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cnnlib import nn
from cnnlib.backend import to_numpy
from cnnlib.functional._axis_maps import AxisMap, as_matrix, gather, transpose
from cnnlib.functional.pad import pad, pad_backward, pad_forward

TF = torch.nn.functional if torch is not None else None
needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
MODES = ["constant", "reflect", "replicate", "circular"]


@st.composite
def pad_configs(draw, mode=None):
    """(input shape, pad, mode) that torch accepts, negative (cropping) amounts included."""
    mode = mode or draw(st.sampled_from(MODES))
    k = draw(st.sampled_from([1, 2, 2, 2, 3]))
    ndim = draw(st.sampled_from([k + 1, k + 2]))
    if mode == "constant":
        ndim = draw(st.integers(k, 4 if k < 3 else 5))
    shape = tuple(draw(st.integers(1, 3)) for _ in range(ndim - k))
    shape += tuple(draw(st.integers(1, 6)) for _ in range(k))
    amounts = []
    for d in range(k):  # the last dimension first
        n = shape[-1 - d]
        lo, hi = {"constant": (-n, 4), "reflect": (-n, n - 1), "replicate": (-n, 5)}.get(
            mode, (-n, n)
        )
        before, after = draw(st.integers(lo, hi)), draw(st.integers(lo, hi))
        assume(n + before + after >= (0 if mode == "constant" else 1))
        if mode == "circular":
            assume(max(before, after) <= n - max(-before, 0) - max(-after, 0))
        amounts += [before, after]
    return shape, tuple(amounts), mode


@needs_torch
@SETTINGS
@given(config=pad_configs(), seed=st.integers(0, 2**16))
def test_pad_matches_torch(backend, config, seed):
    shape, amounts, mode = config
    x = np.random.default_rng(seed).standard_normal(shape)
    check_op(
        pad_forward, pad_backward, TF.pad, [x, amounts, mode], backend=backend, op=pad, seed=seed
    )


@needs_torch
@SETTINGS
@given(config=pad_configs(), seed=st.integers(0, 2**16))
def test_pad_float32_matches_torch(backend, config, seed):
    shape, amounts, mode = config
    x = np.random.default_rng(seed).standard_normal(shape)
    check_op(
        pad_forward, pad_backward, TF.pad, [x, amounts, mode], backend=backend, dtype="float32"
    )


@needs_torch
@pytest.mark.parametrize("value", [None, 0.0, -2.5, 3])
def test_constant_value_matches_torch(backend, value):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    kwargs = {"mode": "constant", "value": value}
    check_op(pad_forward, pad_backward, TF.pad, [x, (1, 2, -1, 3)], kwargs, backend=backend)


def test_the_four_modes_on_one_row(backend):
    """The docstring's picture: [a b c d] = [1 2 3 4] padded by 2 on both sides."""
    x = to_backend(np.array([[[1.0, 2.0, 3.0, 4.0]]]), backend)
    want = {
        "constant": [0, 0, 1, 2, 3, 4, 0, 0],
        "reflect": [3, 2, 1, 2, 3, 4, 3, 2],
        "replicate": [1, 1, 1, 2, 3, 4, 4, 4],
        "circular": [3, 4, 1, 2, 3, 4, 1, 2],
    }
    for mode, row in want.items():
        np.testing.assert_array_equal(to_numpy(pad(x, (2, 2), mode))[0, 0], row)


def test_backward_sums_the_copies(backend):
    """Replicate padding copies the edge pixel before + 1 times: it collects as many ones."""
    x = to_backend(np.array([[[1.0, 2.0, 3.0, 4.0]]]), backend)
    out, cache = pad_forward(x, (3, 1), "replicate")
    dx = pad_backward(to_backend(np.ones((1, 1, 8)), backend), cache)
    np.testing.assert_array_equal(to_numpy(dx)[0, 0], [4, 1, 1, 2])
    out, cache = pad_forward(x, (2, 2), "reflect")
    dx = pad_backward(to_backend(np.ones((1, 1, 8)), backend), cache)
    np.testing.assert_array_equal(to_numpy(dx)[0, 0], [1, 3, 3, 1])  # c b | a b c d | c b
    out, cache = pad_forward(x, (-1, 2), "constant", 9.0)
    dx = pad_backward(to_backend(np.arange(5.0)[None, None], backend), cache)
    np.testing.assert_array_equal(to_numpy(dx)[0, 0], [0, 0, 1, 2])  # cropped a: no gradient


@needs_torch
@pytest.mark.parametrize("mode", MODES)
def test_integer_arrays_pad_like_torch(mode):
    x = np.arange(12).reshape(1, 3, 4)
    got = pad(x, (1, 2, 2, 1), mode, **({"value": 2.7} if mode == "constant" else {}))
    want = TF.pad(
        torch.tensor(x), (1, 2, 2, 1), mode, **({"value": 2.7} if mode == "constant" else {})
    )
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, want.numpy())


def test_numpy_integer_amounts_are_ints():
    x = np.ones((1, 1, 3, 3))
    assert pad(x, (np.int64(1), np.int32(2), 0, 0), "reflect").shape == (1, 1, 3, 6)
    assert pad(x, [1, 1]).shape == (1, 1, 3, 5)


# ------------------------------------------------------------------ the transposed maps


@settings(max_examples=50, deadline=None)
@given(
    n_in=st.integers(1, 6),
    n_out=st.integers(1, 8),
    m=st.integers(1, 3),
    weighted=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_transpose_is_the_matrix_transpose(n_in, n_out, m, weighted, seed):
    """The gather table of A^T reproduces A^T, and gathering with it is the adjoint:
    <A x, y> = <x, A^T y> along any axis."""
    rng = np.random.default_rng(seed)
    amap = AxisMap(
        rng.integers(0, n_in, (n_out, m)),
        rng.standard_normal((n_out, m)) if weighted else None,
        n_in,
    )
    np.testing.assert_allclose(as_matrix(transpose(amap)), as_matrix(amap).T, atol=1e-15)
    x, y = rng.standard_normal((2, n_in, 3)), rng.standard_normal((2, n_out, 3))
    lhs = np.sum(gather(x, amap, 1) * y)
    np.testing.assert_allclose(lhs, np.sum(x * gather(y, transpose(amap), 1)), rtol=1e-12)
    np.testing.assert_allclose(gather(x, amap, 1), np.einsum("oi,bic->boc", as_matrix(amap), x))


# ------------------------------------------------------------------ the modules

LAYERS = [
    ("ZeroPad2d", (2,), "constant", None),
    ("ZeroPad2d", ((1, 0, 2, 3),), "constant", None),
    ("ConstantPad2d", ((0, 1, -1, 2), 1.5), "constant", 1.5),
    ("ReflectionPad2d", (1,), "reflect", None),
    ("ReflectionPad2d", ((2, 0, 1, 3),), "reflect", None),
    ("ReplicationPad2d", ((3, 1, 0, 2),), "replicate", None),
    ("CircularPad2d", ((1, 2, 2, 0),), "circular", None),
]


@needs_torch
@pytest.mark.parametrize(("name", "args", "mode", "value"), LAYERS)
def test_padding_modules_match_torch(backend, name, args, mode, value):
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    layer, ref = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    out = layer(to_backend(x, backend))
    tx = torch.tensor(x, requires_grad=True)
    tout = ref(tx)
    np.testing.assert_allclose(to_numpy(out), tout.detach().numpy(), rtol=1e-12)
    np.testing.assert_array_equal(to_numpy(out), pad(x, layer.padding, mode, value))
    g = np.random.default_rng(2).standard_normal(tuple(tout.shape))
    tout.backward(torch.tensor(g))
    dx = layer.backward(to_backend(g, backend))
    np.testing.assert_allclose(to_numpy(dx), tx.grad.numpy(), rtol=1e-12)
    assert repr(layer) == repr(ref)


def test_padding_module_takes_a_three_dim_input():
    x = np.random.default_rng(1).standard_normal((3, 4, 5))
    assert nn.ReflectionPad2d(2)(x).shape == (3, 8, 9)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda x: pad([[1.0]], (1, 1)), TypeError, r"pad: input must be an array"),
        (lambda x: pad(x, 1), TypeError, r"pad: pad must be a tuple of ints"),
        (lambda x: pad(x, (1.0, 1)), TypeError, r"pad: pad must be a tuple of ints"),
        (lambda x: pad(x, (True, 1)), TypeError, r"pad: pad must be a tuple of ints"),
        (lambda x: pad(x, (1, 1, 1)), ValueError, r"even length"),
        (lambda x: pad(x, (1,) * 10), ValueError, r"pads 5 dimensions but the input has only 4"),
        (lambda x: pad(x, (1, 1), "symmetric"), ValueError, r"mode must be one of"),
        (lambda x: pad(x, (1, 1, 1, 1), "reflect", 1.0), ValueError, r"takes no value"),
        (lambda x: pad(x, (1, 1), "reflect"), ValueError, r"got 2 values for a 4-D input"),
        (lambda x: pad(x, (1,) * 8, "circular"), ValueError, r"last 1, 2 or 3 dimensions"),
        (
            lambda x: pad(x, (5, 0, 0, 0), "reflect"),
            ValueError,
            r"less than the input size.*\(5, 0\) for dimension 3 of size 5",
        ),
        (lambda x: pad(x, (0, 0, 0, 4), "reflect"), ValueError, r"dimension 2 of size 4"),
        (lambda x: pad(x, (6, 0, 0, 0), "circular"), ValueError, r"wraps around once"),
        (lambda x: pad(x, (-6, 0)), ValueError, r"leaves size -1"),
        (lambda x: pad(x, (1, 1), value="0"), TypeError, r"value must be a real number"),
        (
            lambda x: pad(np.zeros((1, 1, 0, 3)), (1, 1, 1, 1), "replicate"),
            ValueError,
            r"needs sizes >= 1 before and after",
        ),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(np.zeros((1, 2, 4, 5)))


@pytest.mark.parametrize("mode", MODES)
def test_backward_checks_dout(mode):
    out, cache = pad_forward(np.zeros((1, 2, 4, 5)), (1, 1, 2, 2), mode)
    assert out.shape == (1, 2, 8, 7)
    with pytest.raises(
        ValueError, match=r"pad_backward: dout has shape \(1, 2, 7, 8\).*\(1, 2, 8, 7\)"
    ):
        pad_backward(np.zeros((1, 2, 7, 8)), cache)
    with pytest.raises(ValueError, match=r"pad_backward: dout has shape \(2, 8, 7\)"):
        pad_backward(np.zeros((2, 8, 7)), cache)  # would broadcast
    with pytest.raises(TypeError, match=r"pad_backward: dout has dtype float32.*float64"):
        pad_backward(np.zeros((1, 2, 8, 7), dtype=np.float32), cache)


def test_module_rejects_a_bad_padding():
    with pytest.raises(ValueError, match=r"ReflectionPad2d: padding must be an int or 4 ints"):
        nn.ReflectionPad2d((1, 2))
    with pytest.raises(TypeError, match=r"ZeroPad2d: padding must be an int or 4 ints"):
        nn.ZeroPad2d(1.5)
