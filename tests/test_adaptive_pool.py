"""adaptive_avg_pool2d / adaptive_max_pool2d against torch, bins, ties, and bad input."""

import math
import re

import numpy as np
import pytest
from helpers import check_op, to_backend, torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlib import nn
from cnnlib.backend import to_numpy
from cnnlib.functional.adaptive_pool import (
    adaptive_avg_pool2d,
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    adaptive_bins,
    adaptive_max_pool2d,
    adaptive_max_pool2d_backward,
    adaptive_max_pool2d_forward,
)

TF = torch.nn.functional if torch is not None else None
needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
# the `backend` fixture only names a library, so sharing it across examples is fine
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

OPS = {
    "avg": (adaptive_avg_pool2d_forward, adaptive_avg_pool2d_backward, adaptive_avg_pool2d),
    "max": (adaptive_max_pool2d_forward, adaptive_max_pool2d_backward, adaptive_max_pool2d),
}


@st.composite
def adaptive_configs(draw):
    """(input shape, output_size): an int, a pair, or a pair with a None entry."""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    shape += (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    size = st.integers(1, 14)
    output_size = draw(
        st.one_of(size, st.tuples(size, size), st.tuples(st.none() | size, st.none() | size))
    )
    return shape, output_size


def distinct(shape, seed=0):
    """Float64 values without ties (a random permutation), so the argmax is unique."""
    rng = np.random.default_rng(seed)
    return rng.permutation(math.prod(shape)).reshape(shape) / 7.0 - 3.0


def reference(pool):
    return {"avg": TF.adaptive_avg_pool2d, "max": TF.adaptive_max_pool2d}[pool]


# ------------------------------------------------------------------ against torch


@needs_torch
@pytest.mark.parametrize("pool", ["avg", "max"])
@SETTINGS
@given(config=adaptive_configs(), seed=st.integers(0, 2**16))
def test_matches_torch(backend, pool, config, seed):
    shape, output_size = config
    fwd, bwd, op = OPS[pool]
    x = distinct(shape, seed)
    check_op(
        fwd,
        bwd,
        reference(pool),
        [x],
        {"output_size": output_size},
        backend=backend,
        op=op,
        seed=seed,
    )


@needs_torch
@SETTINGS
@given(config=adaptive_configs(), seed=st.integers(0, 2**16))
def test_max_ties_route_like_torch(backend, config, seed):
    """Small integers make many ties; torch sends the gradient to the first maximum."""
    shape, output_size = config
    x = np.random.default_rng(seed).integers(0, 3, shape).astype(np.float64)
    fwd, bwd, _ = OPS["max"]
    check_op(fwd, bwd, TF.adaptive_max_pool2d, [x], {"output_size": output_size}, backend=backend)


@needs_torch
@pytest.mark.parametrize("pool", ["avg", "max"])
def test_unbatched_and_non_finite_inputs(backend, pool):
    fwd, bwd, _ = OPS[pool]
    x = distinct((3, 5, 7))
    out = check_op(fwd, bwd, reference(pool), [x], {"output_size": (2, 3)}, backend=backend)
    assert out.shape == (3, 2, 3)
    # inf stays in its own bins, and the last NaN of a bin takes the max's gradient
    x = distinct((1, 2, 5, 5))
    x[0, 0, 1, 1], x[0, 0, 1, 3], x[0, 0, 3, 1] = np.nan, np.nan, np.inf
    x[0, 1, 0, 0], x[0, 1, 4, 4] = -np.inf, np.inf
    check_op(fwd, bwd, reference(pool), [x], {"output_size": 3}, backend=backend)


# ------------------------------------------------------------------ bins and uses


def test_bins_follow_torch_edges():
    assert adaptive_bins(5, 3) == [(0, 2), (1, 4), (3, 5)]  # neighbours overlap by one
    assert adaptive_bins(6, 3) == [(0, 2), (2, 4), (4, 6)]  # plain 2-wide pooling
    assert adaptive_bins(2, 5) == [(0, 1), (0, 1), (0, 2), (1, 2), (1, 2)]  # more bins than rows
    for size in range(1, 15):
        for out in range(1, 15):
            for i, (start, end) in enumerate(adaptive_bins(size, out)):
                assert start == math.floor(i * size / out)
                assert end == math.ceil((i + 1) * size / out)


def test_global_average_pooling(backend):
    x = np.random.default_rng(0).standard_normal((2, 4, 7, 5))
    out = to_numpy(adaptive_avg_pool2d(to_backend(x, backend), 1))
    np.testing.assert_allclose(out, x.mean(axis=(2, 3), keepdims=True), rtol=1e-12)
    out = to_numpy(adaptive_max_pool2d(to_backend(x, backend), 1))
    np.testing.assert_array_equal(out, x.max(axis=(2, 3), keepdims=True))


def test_spatial_pyramid_has_a_fixed_length(backend):
    """Spatial pyramid pooling: 1x1 + 2x2 + 4x4 bins give 21 numbers per channel
    whatever the input size."""
    rng = np.random.default_rng(0)
    for h, w in [(13, 13), (9, 17), (4, 4)]:
        x = to_backend(rng.standard_normal((2, 3, h, w)), backend)
        levels = [to_numpy(adaptive_max_pool2d(x, n)).reshape(2, -1) for n in (1, 2, 4)]
        assert np.concatenate(levels, axis=1).shape == (2, 3 * 21)


def test_divisible_sizes_equal_ordinary_pooling():
    from cnnlib.functional.pool import avg_pool2d, max_pool2d

    x = np.random.default_rng(1).standard_normal((1, 2, 8, 6))
    np.testing.assert_allclose(adaptive_avg_pool2d(x, (4, 2)), avg_pool2d(x, (2, 3)))
    np.testing.assert_array_equal(adaptive_max_pool2d(x, (4, 2)), max_pool2d(x, (2, 3)))


# ------------------------------------------------------------------ gradient routing


def test_overlapping_bins_add_gradients(backend):
    """H=3 into 2 bins: rows [0, 2) and [1, 3) share row 1, which holds both maxima."""
    x = to_backend(np.array([[[[0.0], [9.0], [1.0]]]]), backend)
    _, cache = adaptive_max_pool2d_forward(x, (2, 1))
    dx = adaptive_max_pool2d_backward(to_backend(np.array([[[[1.0], [2.0]]]]), backend), cache)
    np.testing.assert_array_equal(to_numpy(dx)[0, 0, :, 0], [0, 3, 0])
    _, cache = adaptive_avg_pool2d_forward(x, (2, 1))
    dx = adaptive_avg_pool2d_backward(to_backend(np.array([[[[1.0], [2.0]]]]), backend), cache)
    np.testing.assert_array_equal(to_numpy(dx)[0, 0, :, 0], [0.5, 1.5, 1.0])


def test_max_tie_goes_to_the_first_maximum(backend):
    x = to_backend(np.array([[[[0.0, 5.0, 1.0], [5.0, 2.0, 5.0]]]]), backend)
    _, cache = adaptive_max_pool2d_forward(x, 1)
    dx = adaptive_max_pool2d_backward(to_backend(np.ones((1, 1, 1, 1)), backend), cache)
    np.testing.assert_array_equal(to_numpy(dx)[0, 0], [[0, 1, 0], [0, 0, 0]])


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("fn", [adaptive_avg_pool2d, adaptive_max_pool2d])
@pytest.mark.parametrize(
    "x, output_size, error, match",
    [
        ([[1.0]], 1, TypeError, r"input must be an array"),
        (np.zeros((4, 4)), 1, ValueError, r"4-D \(N, C, H, W\).*\(4, 4\)"),
        (np.zeros((1, 1, 4, 4), dtype=np.int32), 1, TypeError, r"floating-point dtype"),
        (np.zeros((1, 1, 4, 4)), 0, ValueError, r"output_size must be >= 1, got \(0, 0\)"),
        (np.zeros((1, 1, 4, 4)), (2, -1), ValueError, r"output_size must be >= 1"),
        (np.zeros((1, 1, 4, 4)), (2, 2, 2), ValueError, r"output_size must have 2 entries"),
        (np.zeros((1, 1, 4, 4)), 2.0, TypeError, r"output_size must be an int or a pair"),
        (np.zeros((1, 1, 4, 4)), True, TypeError, r"output_size must be an int or a pair"),
        (np.zeros((1, 1, 4, 4)), (2, 1.5), TypeError, r"entries must be ints or None"),
    ],
)
def test_bad_input(fn, x, output_size, error, match):
    with pytest.raises(error, match=f"{fn.__name__}: .*{match}"):
        fn(x, output_size)


# ------------------------------------------------------------------ indices, float32, dout


@needs_torch
@SETTINGS
@given(config=adaptive_configs(), ties=st.booleans(), seed=st.integers(0, 2**16))
def test_max_indices_match_torch(backend, config, ties, seed):
    """torch's flat indices r * W + c of every bin's maximum (the first of a tie)."""
    shape, output_size = config
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, shape) * 1.0 if ties else distinct(shape, seed)
    (out, idx), cache = adaptive_max_pool2d_forward(to_backend(x, backend), output_size, True)
    want, want_idx = TF.adaptive_max_pool2d(torch.tensor(x), output_size, return_indices=True)
    np.testing.assert_array_equal(to_numpy(idx), want_idx.numpy())
    assert to_numpy(idx).dtype == np.int64
    np.testing.assert_array_equal(to_numpy(out), want.numpy())
    out2, idx2 = adaptive_max_pool2d(to_backend(x, backend), output_size, return_indices=True)
    np.testing.assert_array_equal(to_numpy(idx2), want_idx.numpy())
    # the backward pass takes the gradient of the output alone
    dx = adaptive_max_pool2d_backward(to_backend(np.ones(want.shape), backend), cache)
    tx = torch.tensor(x, requires_grad=True)
    TF.adaptive_max_pool2d(tx, output_size).sum().backward()
    np.testing.assert_array_equal(to_numpy(dx), tx.grad.numpy())


@needs_torch
@pytest.mark.parametrize("pool", ["avg", "max"])
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(config=adaptive_configs(), seed=st.integers(0, 2**16))
def test_float32_matches_torch(backend, pool, config, seed):
    shape, output_size = config
    fwd, bwd, _ = OPS[pool]
    kwargs = {"output_size": output_size}
    x = distinct(shape, seed)
    check_op(fwd, bwd, reference(pool), [x], kwargs, backend=backend, dtype="float32")


@pytest.mark.parametrize("pool", ["avg", "max"])
@pytest.mark.parametrize(
    "shape, dout_shape, dtype",
    [
        ((2, 3, 5, 5), (1, 3, 2, 2), np.float64),  # would broadcast over the batch
        ((2, 3, 5, 5), (2, 3, 1, 2), np.float64),  # would broadcast over the rows
        ((2, 3, 5, 5), (2, 3, 2, 2), np.float32),
        ((3, 5, 5), (1, 3, 2, 2), np.float64),  # an unbatched output (3, 2, 2)
    ],
)
def test_backward_checks_dout(pool, shape, dout_shape, dtype):
    fwd, bwd, _ = OPS[pool]
    out, cache = fwd(np.zeros(shape), 2)
    match = (
        r"dout has dtype float32"
        if dtype == np.float32
        else re.escape(f"dout has shape {dout_shape} but the forward output has shape {out.shape}")
    )
    with pytest.raises(
        TypeError if dtype == np.float32 else ValueError,
        match=f"adaptive_{pool}_pool2d_backward: {match}",
    ):
        bwd(np.zeros(dout_shape, dtype=dtype), cache)


def test_numpy_integer_output_sizes():
    x = distinct((1, 2, 7, 5))
    np.testing.assert_array_equal(adaptive_max_pool2d(x, np.int64(3)), adaptive_max_pool2d(x, 3))
    np.testing.assert_array_equal(
        adaptive_avg_pool2d(x, (np.int32(2), None)), adaptive_avg_pool2d(x, (2, 5))
    )


@needs_torch
@pytest.mark.parametrize(
    "name, args",
    [
        ("AdaptiveMaxPool2d", (3, True)),
        ("AdaptiveMaxPool2d", ((2, None),)),
        ("AdaptiveAvgPool2d", (3,)),
    ],
)
def test_layers_match_torch(backend, name, args):
    x = distinct((2, 3, 7, 5), seed=2)
    layer, ref = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    tx = torch.tensor(x, requires_grad=True)
    result, want = layer(to_backend(x, backend)), ref(tx)
    if getattr(ref, "return_indices", False):
        (result, idx), (want, want_idx) = result, want
        np.testing.assert_array_equal(to_numpy(idx), want_idx.numpy())
    np.testing.assert_allclose(to_numpy(result), want.detach().numpy(), rtol=1e-12)
    g = np.random.default_rng(1).standard_normal(tuple(want.shape))
    want.backward(torch.tensor(g))
    np.testing.assert_allclose(to_numpy(layer.backward(to_backend(g, backend))), tx.grad.numpy())
    assert repr(layer) == repr(ref)
