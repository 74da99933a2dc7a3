"""max_pool2d / avg_pool2d against torch, the loop versions, ties, and bad input."""

import math
import re

import numpy as np
import pytest
from helpers import check_op, to_backend, torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cnnlib import nn
from cnnlib.backend import to_numpy
from cnnlib.functional.pool import (
    avg_pool2d,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d,
    max_pool2d_backward,
    max_pool2d_forward,
    pool_output_size,
)
from cnnlib.functional.pool_naive import avg_pool2d_naive, max_pool2d_naive

TF = torch.nn.functional if torch is not None else None
needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
# the `backend` fixture only names a library, so sharing it across examples is fine
FIXTURE_OK = [HealthCheck.function_scoped_fixture]


@st.composite
def pool_configs(draw, dilation=True):
    """(input shape, kwargs) for a pooling layer whose output is at least 1x1."""
    square = draw(st.booleans())
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    k = (k[0], k[0]) if square else k
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(*[st.integers(1, 3)] * 2)))
    kwargs = {
        "kernel_size": k[0] if square else k,
        "stride": stride,
        "padding": (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2))),
        "ceil_mode": draw(st.booleans()),
    }
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 2))) if dilation else (1, 1)
    if dilation:
        kwargs["dilation"] = d
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    shape += (draw(st.integers(1, 10)), draw(st.integers(1, 10)))
    s = k if stride is None else (stride, stride) if isinstance(stride, int) else stride
    for n, *a in zip(shape[2:], k, s, kwargs["padding"], d):
        out = pool_output_size(n, *a, kwargs["ceil_mode"])
        assume(out >= 1 and all(sees_input(i, n, *a) for i in range(out)))
    return shape, kwargs


def sees_input(i, n, k, s, p, d):
    """Whether window i has a tap inside the input. A dilated window can fall entirely in
    the padding; torch then outputs -inf but stores a stray flat index that may point at
    a real pixel of another row, so such configurations are tested separately."""
    return any(0 <= i * s - p + j * d < n for j in range(k))


def distinct(shape, seed=0):
    """Float64 values without ties (a random permutation), so the argmax is unique."""
    rng = np.random.default_rng(seed)
    return rng.permutation(math.prod(shape)).reshape(shape) / 7.0 - 3.0


# ------------------------------------------------------------------ against torch


@needs_torch
@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURE_OK)
@given(config=pool_configs(), seed=st.integers(0, 2**16))
def test_max_pool2d_matches_torch(backend, config, seed):
    shape, kwargs = config
    x = distinct(shape, seed)
    check_op(
        max_pool2d_forward,
        max_pool2d_backward,
        TF.max_pool2d,
        [x],
        kwargs,
        backend=backend,
        op=max_pool2d,
        seed=seed,
    )


@needs_torch
@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    config=pool_configs(dilation=False), count_include_pad=st.booleans(), seed=st.integers(0, 2**16)
)
def test_avg_pool2d_matches_torch(backend, config, count_include_pad, seed):
    shape, kwargs = config
    kwargs["count_include_pad"] = count_include_pad
    x = np.random.default_rng(seed).standard_normal(shape)
    check_op(
        avg_pool2d_forward,
        avg_pool2d_backward,
        TF.avg_pool2d,
        [x],
        kwargs,
        backend=backend,
        op=avg_pool2d,
        seed=seed,
    )


@needs_torch
@settings(max_examples=15, deadline=None, suppress_health_check=FIXTURE_OK)
@given(config=pool_configs(), seed=st.integers(0, 2**16))
def test_max_pool2d_ties_route_like_torch(backend, config, seed):
    """Small integers make many ties; torch sends the gradient to the first maximum."""
    shape, kwargs = config
    x = np.random.default_rng(seed).integers(0, 3, shape).astype(np.float64)
    check_op(max_pool2d_forward, max_pool2d_backward, TF.max_pool2d, [x], kwargs, backend=backend)


@needs_torch
@pytest.mark.parametrize("pool", ["max", "avg"])
def test_unbatched_input(backend, pool):
    x = distinct((2, 5, 6))
    fwd, bwd, ref = {
        "max": (max_pool2d_forward, max_pool2d_backward, TF.max_pool2d),
        "avg": (avg_pool2d_forward, avg_pool2d_backward, TF.avg_pool2d),
    }[pool]
    out = check_op(fwd, bwd, ref, [x], {"kernel_size": 2, "padding": 1}, backend=backend)
    assert out.shape == (2, 3, 4)  # (5 + 2 - 2) // 2 + 1, (6 + 2 - 2) // 2 + 1


@needs_torch
def test_max_pool2d_non_finite_inputs_match_torch(backend):
    """-inf inputs tie with the -inf padding, NaN wins: torch's choices are kept."""
    x = np.full((1, 1, 3, 3), -np.inf)
    check_op(
        max_pool2d_forward,
        max_pool2d_backward,
        TF.max_pool2d,
        [x],
        {"kernel_size": 2, "padding": 1},
        backend=backend,
    )
    x = np.array([[[[1.0, np.nan, 5.0], [np.nan, 0.0, 2.0], [7.0, 3.0, np.nan]]]])
    check_op(
        max_pool2d_forward,
        max_pool2d_backward,
        TF.max_pool2d,
        [x],
        {"kernel_size": 2, "stride": 1},
        backend=backend,
    )
    np.testing.assert_array_equal(max_pool2d_naive(x, 2, stride=1), max_pool2d(x, 2, stride=1))


def test_window_entirely_in_the_padding(backend):
    """Every tap of this dilated window (rows/columns -1 and 3) falls in the padding:
    the output is -inf and no input gets a gradient. Not compared with torch: its index
    for such a window points past the input (12 in a 3x3 plane) and its CPU backward
    then writes out of bounds (it crashed the test process on a GPU machine)."""
    x = to_backend(np.arange(1.0, 10.0).reshape(1, 1, 3, 3), backend)
    out, cache = max_pool2d_forward(x, 2, padding=1, dilation=4)
    np.testing.assert_array_equal(to_numpy(out), np.full((1, 1, 1, 1), -np.inf))
    dx = max_pool2d_backward(to_backend(np.ones((1, 1, 1, 1)), backend), cache)
    np.testing.assert_array_equal(to_numpy(dx), np.zeros((1, 1, 3, 3)))


@needs_torch
@settings(max_examples=15, deadline=None, suppress_health_check=FIXTURE_OK)
@given(config=pool_configs(), seed=st.integers(0, 2**16))
def test_naive_versions_agree(config, seed):
    shape, kwargs = config
    x = np.random.default_rng(seed).integers(-5, 5, shape).astype(np.float64)
    np.testing.assert_allclose(max_pool2d_naive(x, **kwargs), max_pool2d(x, **kwargs))
    np.testing.assert_allclose(
        max_pool2d_naive(x, **kwargs), TF.max_pool2d(torch.tensor(x), **kwargs)
    )
    kwargs.pop("dilation")
    for count_include_pad in (True, False):
        got = avg_pool2d_naive(x, **kwargs, count_include_pad=count_include_pad)
        want = TF.avg_pool2d(torch.tensor(x), **kwargs, count_include_pad=count_include_pad)
        np.testing.assert_allclose(
            got, avg_pool2d(x, **kwargs, count_include_pad=count_include_pad)
        )
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_naive_versions_keep_the_library(backend):
    x = to_backend(distinct((1, 2, 4, 4)), backend)
    for fn in (max_pool2d_naive, avg_pool2d_naive):
        out = fn(x, 2)
        assert type(out) is type(x)
        np.testing.assert_allclose(
            to_numpy(out), to_numpy((max_pool2d if fn is max_pool2d_naive else avg_pool2d)(x, 2))
        )


# ------------------------------------------------------------------ the worked example


# Source 002's pooling slide: a 4x4 feature map pooled with 2x2 windows, stride 2.
EXAMPLE = np.array([[1, 3, 0, 3], [2, 2, 4, 1], [4, 2, 0, 0], [3, 3, 3, 1]], dtype=np.float64)


def test_worked_example_forward(backend):
    x = to_backend(EXAMPLE[None, None], backend)
    np.testing.assert_array_equal(to_numpy(max_pool2d(x, 2))[0, 0], [[3, 4], [4, 3]])
    np.testing.assert_array_equal(to_numpy(avg_pool2d(x, 2))[0, 0], [[2, 2], [3, 1]])
    np.testing.assert_array_equal(to_numpy(max_pool2d_naive(x, 2))[0, 0], [[3, 4], [4, 3]])
    np.testing.assert_array_equal(to_numpy(avg_pool2d_naive(x, 2))[0, 0], [[2, 2], [3, 1]])


def test_worked_example_backward(backend):
    """The slide's upstream gradient [[1, 2], [3, 4]]: max pooling puts each value on its
    window's maximum, average pooling spreads a quarter of it over the window."""
    x = to_backend(EXAMPLE[None, None], backend)
    dout = to_backend(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), backend)
    _, cache = max_pool2d_forward(x, 2)
    dx = to_numpy(max_pool2d_backward(dout, cache))[0, 0]
    np.testing.assert_array_equal(dx, [[0, 1, 0, 0], [0, 0, 2, 0], [3, 0, 0, 0], [0, 0, 4, 0]])
    _, cache = avg_pool2d_forward(x, 2)
    dx = to_numpy(avg_pool2d_backward(dout, cache))[0, 0]
    quarter = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]) / 4
    np.testing.assert_array_equal(dx, quarter)


def test_output_size_needs_the_floor():
    """The source gives W2 = (W1 - F)/S + 1, which is not an integer for W1=5, F=2, S=2
    (2.5) and ignores padding; the right size is floor((W1 + 2P - F)/S) + 1 = 2."""
    assert (5 - 2) / 2 + 1 == 2.5
    assert pool_output_size(5, 2, 2) == 2
    assert max_pool2d(np.zeros((1, 1, 5, 5)), 2).shape == (1, 1, 2, 2)
    assert max_pool2d(np.zeros((1, 1, 5, 5)), 2, ceil_mode=True).shape == (1, 1, 3, 3)
    assert pool_output_size(5, 3, 2, padding=1) == 3


# ------------------------------------------------------------------ gradient routing


def test_max_pool_gradient_goes_to_the_first_maximum_of_a_tie(backend):
    x = to_backend(np.ones((1, 1, 4, 4)), backend)
    out, cache = max_pool2d_forward(x, 2)
    dx = to_numpy(max_pool2d_backward(to_backend(np.ones((1, 1, 2, 2)), backend), cache))
    np.testing.assert_array_equal(
        dx[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    )
    # a tie in row-major order: (0, 1) comes before (1, 0)
    x = to_backend(np.array([[[[0.0, 5.0], [5.0, 1.0]]]]), backend)
    _, cache = max_pool2d_forward(x, 2)
    dx = to_numpy(max_pool2d_backward(to_backend(np.full((1, 1, 1, 1), 2.0), backend), cache))
    np.testing.assert_array_equal(dx[0, 0], [[0, 2], [0, 0]])


def test_overlapping_windows_add_up(backend):
    """With stride 1 the centre 9 is the maximum of all four 2x2 windows."""
    x = to_backend(np.array([[[[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]]]]), backend)
    _, cache = max_pool2d_forward(x, 2, stride=1)
    dx = to_numpy(max_pool2d_backward(to_backend(np.ones((1, 1, 2, 2)), backend), cache))
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 0], [0, 4, 0], [0, 0, 0]])


def test_avg_pool_spreads_one_over_k_squared(backend):
    x = to_backend(np.arange(36.0).reshape(1, 1, 6, 6), backend)
    _, cache = avg_pool2d_forward(x, 3)
    dx = to_numpy(avg_pool2d_backward(to_backend(np.ones((1, 1, 2, 2)), backend), cache))
    np.testing.assert_allclose(dx, np.full((1, 1, 6, 6), 1 / 9))


def test_avg_pool_divisor_with_padding():
    x = np.ones((1, 1, 2, 2))
    # corners of a padded 2x2 window see one real pixel out of four
    np.testing.assert_allclose(avg_pool2d(x, 2, padding=1), np.full((1, 1, 2, 2), 0.25))
    np.testing.assert_allclose(
        avg_pool2d(x, 2, padding=1, count_include_pad=False), np.ones((1, 1, 2, 2))
    )


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: max_pool2d([[1.0]], 2), TypeError, r"max_pool2d: input must be an array"),
        (lambda: max_pool2d(np.zeros((4, 4)), 2), ValueError, r"4-D \(N, C, H, W\).*\(4, 4\)"),
        (
            lambda: avg_pool2d(np.zeros((1, 1, 1, 4, 4)), 2),
            ValueError,
            r"avg_pool2d: input must be 4-D",
        ),
        (
            lambda: max_pool2d(np.zeros((1, 1, 4, 4), dtype=np.int64), 2),
            TypeError,
            r"floating-point",
        ),
        (lambda: avg_pool2d(np.zeros((1, 1, 4, 4), dtype=bool), 2), TypeError, r"floating-point"),
        (
            lambda: max_pool2d(np.zeros((1, 1, 3, 3)), 4),
            ValueError,
            r"larger than the padded input 3x3",
        ),
        (
            lambda: max_pool2d(np.zeros((1, 1, 5, 5)), 3, dilation=3),
            ValueError,
            r"7x7 input pixels",
        ),
        (
            lambda: max_pool2d(np.zeros((1, 1, 4, 4)), 2, stride=0),
            ValueError,
            r"stride must be at least 1",
        ),
        (
            lambda: max_pool2d(np.zeros((1, 1, 4, 4)), 2, dilation=(1, 0)),
            ValueError,
            r"dilation must be at least 1",
        ),
        (
            lambda: avg_pool2d(np.zeros((1, 1, 4, 4)), 0),
            ValueError,
            r"kernel_size must be at least 1",
        ),
        (
            lambda: avg_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=-1),
            ValueError,
            r"padding must be non-negative",
        ),
        (
            lambda: max_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=2),
            ValueError,
            r"at most half the kernel size.*padding=\(2, 2\)",
        ),
        (
            lambda: avg_pool2d(np.zeros((1, 1, 4, 4)), (3, 1), padding=(1, 1)),
            ValueError,
            r"at most half",
        ),
        (
            lambda: max_pool2d(np.zeros((1, 1, 4, 4)), 2.0),
            TypeError,
            r"kernel_size must be an int or a pair",
        ),
        (
            lambda: max_pool2d(np.zeros((1, 1, 4, 4)), (2, 2, 2)),
            ValueError,
            r"max_pool2d: kernel_size must be an int or a pair of ints, got \(2, 2, 2\)",
        ),
        (
            lambda: avg_pool2d(np.zeros((1, 1, 4, 4)), [2, 2, 2]),
            ValueError,
            r"avg_pool2d: kernel_size must be an int or a pair",
        ),
        (lambda: avg_pool2d(np.zeros((1, 1, 4, 4)), True), TypeError, r"kernel_size"),
        (lambda: max_pool2d(np.zeros((1, 1, 4, 4)), 2, (True, 1)), TypeError, r"stride"),
        (lambda: max_pool2d(np.zeros((1, 1, 4, 4)), 2, np.float64(1)), TypeError, r"stride"),
        (
            lambda: avg_pool2d(np.zeros((1, 1, 4, 4)), 2, divisor_override=0),
            ValueError,
            r"avg_pool2d: divisor_override must not be zero",
        ),
        (
            lambda: avg_pool2d(np.zeros((1, 1, 4, 4)), 2, divisor_override=2.5),
            TypeError,
            r"avg_pool2d: divisor_override must be an int",
        ),
        (
            lambda: max_pool2d_naive(np.zeros((4, 4)), 2),
            ValueError,
            r"max_pool2d_naive: input must be 4-D",
        ),
        (
            lambda: avg_pool2d_naive(np.zeros((1, 1, 4, 4)), 2, padding=3),
            ValueError,
            r"avg_pool2d_naive: padding",
        ),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


@needs_torch
def test_torch_integer_input_is_rejected():
    with pytest.raises(TypeError, match=r"max_pool2d: input must have a floating-point dtype"):
        max_pool2d(torch.zeros(1, 1, 4, 4, dtype=torch.int32), 2)


# ------------------------------------------------------------------ the wide-output layout

WIDE_CASES = [
    ("max", {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("max", {"kernel_size": 2, "stride": 2, "ceil_mode": True}),
    ("max", {"kernel_size": 3, "stride": 1, "padding": 1, "dilation": 2}),
    ("avg", {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
    ("avg", {"kernel_size": 2, "stride": 2}),
]


@needs_torch
@pytest.mark.parametrize(("kind", "kwargs"), WIDE_CASES)
def test_wide_outputs_over_several_cache_blocks_match_torch(backend, kind, kwargs):
    """Output rows of 16 or more keep the (C, N, H, W) working layout, and an input of several
    MiB is reduced one cache-sized block of channels at a time; the small random inputs of the
    tests above never reach that path."""
    shape = (3, 40, 71, 70)  # 4.7 MB in float64: channels are split into blocks
    x = (
        distinct(shape, seed=7)
        if kind == "max"
        else np.random.default_rng(7).standard_normal(shape)
    )
    fwd, bwd, ref, op = (
        (max_pool2d_forward, max_pool2d_backward, TF.max_pool2d, max_pool2d)
        if kind == "max"
        else (avg_pool2d_forward, avg_pool2d_backward, TF.avg_pool2d, avg_pool2d)
    )
    out = check_op(fwd, bwd, ref, [x], kwargs, backend=backend, op=op)
    assert out.shape[-1] >= 16


# ------------------------------------------------------------------ indices and divisor_override


def with_indices(x, **kwargs):
    """max_pool2d_forward with return_indices=True, its output without the indices."""
    (out, _), cache = max_pool2d_forward(x, **kwargs, return_indices=True)
    return out, cache


def torch_with_indices(x, **kwargs):
    return TF.max_pool2d(x, **kwargs, return_indices=True)[0]


@needs_torch
@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURE_OK)
@given(config=pool_configs(), ties=st.booleans(), seed=st.integers(0, 2**16))
def test_max_pool2d_indices_match_torch(backend, config, ties, seed):
    """torch's flat indices r * W + c of every maximum (the first of a tie), and the backward
    pass of the output alone when the indices are returned too."""
    shape, kwargs = config
    x = np.random.default_rng(seed).integers(0, 3, shape) * 1.0 if ties else distinct(shape, seed)
    check_op(with_indices, max_pool2d_backward, torch_with_indices, [x], kwargs, backend=backend)
    out, idx = max_pool2d(to_backend(x, backend), **kwargs, return_indices=True)
    want_out, want_idx = TF.max_pool2d(torch.tensor(x), **kwargs, return_indices=True)
    np.testing.assert_array_equal(to_numpy(idx), want_idx.numpy())
    assert to_numpy(idx).dtype == np.int64
    np.testing.assert_array_equal(to_numpy(out), want_out.numpy())


@needs_torch
@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    config=pool_configs(dilation=False),
    divisor=st.integers(-3, 7).filter(lambda d: d != 0),
    seed=st.integers(0, 2**16),
)
def test_avg_pool2d_divisor_override_matches_torch(backend, config, divisor, seed):
    shape, kwargs = config
    kwargs["divisor_override"] = divisor
    x = np.random.default_rng(seed).standard_normal(shape)
    check_op(
        avg_pool2d_forward,
        avg_pool2d_backward,
        TF.avg_pool2d,
        [x],
        kwargs,
        backend=backend,
        op=avg_pool2d,
        seed=seed,
    )


@needs_torch
@settings(max_examples=15, deadline=None, suppress_health_check=FIXTURE_OK)
@given(config=pool_configs(), seed=st.integers(0, 2**16))
def test_pools_in_float32_match_torch(backend, config, seed):
    shape, kwargs = config
    x = distinct(shape, seed)
    f32 = {"backend": backend, "dtype": "float32"}
    check_op(max_pool2d_forward, max_pool2d_backward, TF.max_pool2d, [x], kwargs, **f32)
    kwargs.pop("dilation")
    check_op(avg_pool2d_forward, avg_pool2d_backward, TF.avg_pool2d, [x], kwargs, **f32)


def test_unbatched_indices(backend):
    x = to_backend(distinct((2, 5, 6)), backend)
    out, idx = max_pool2d(x, 2, return_indices=True)
    assert tuple(idx.shape) == tuple(out.shape) == (2, 2, 3)
    maxima = np.take_along_axis(to_numpy(x).reshape(2, -1), to_numpy(idx).reshape(2, -1), 1)
    np.testing.assert_array_equal(maxima, to_numpy(out).reshape(2, -1))


@needs_torch
def test_gpu_path_gives_the_same_indices(monkeypatch):
    """The whole-window GPU path (_pool_gpu.py), switched on for CPU tensors, returns torch's
    indices and checks dout like the CPU path."""
    from cnnlib.functional import _windows, pool

    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.integers(-2, 3, (2, 3, 7, 6)).astype(np.float64))
    want, want_idx = TF.max_pool2d(x, 3, 2, 1, return_indices=True)
    for gpu in (False, True):
        monkeypatch.setattr(_windows, "on_accelerator", lambda a, gpu=gpu: gpu)
        monkeypatch.setattr(pool, "on_accelerator", lambda a, gpu=gpu: gpu)
        (out, idx), cache = max_pool2d_forward(x, 3, 2, 1, return_indices=True)
        np.testing.assert_array_equal(idx.numpy(), want_idx.numpy())
        np.testing.assert_array_equal(out.numpy(), want.numpy())
        with pytest.raises(ValueError, match=r"dout has shape \(1, 3, 4, 3\)"):
            max_pool2d_backward(torch.ones(1, 3, 4, 3, dtype=torch.float64), cache)


# ------------------------------------------------------------------ dout and integer arguments


@pytest.mark.parametrize("pool", ["max", "avg"])
@pytest.mark.parametrize(
    "shape, dout_shape, dtype",
    [
        ((2, 3, 5, 5), (1, 3, 2, 2), np.float64),  # would broadcast over the batch
        ((2, 3, 5, 5), (2, 3, 2, 1), np.float64),  # would broadcast over the columns
        ((2, 3, 5, 5), (2, 3, 3, 3), np.float64),  # would be cropped
        ((2, 3, 5, 5), (2, 3, 2, 2), np.float32),  # float64 output
        ((3, 5, 5), (1, 3, 2, 2), np.float64),  # an unbatched output (3, 2, 2)
    ],
)
def test_backward_checks_dout(pool, shape, dout_shape, dtype):
    fwd, bwd = {
        "max": (max_pool2d_forward, max_pool2d_backward),
        "avg": (avg_pool2d_forward, avg_pool2d_backward),
    }[pool]
    out, cache = fwd(np.zeros(shape), 2)
    if dtype == np.float32:
        error, match = TypeError, r"dout has dtype float32 but the forward output has dtype float64"
    else:
        shapes = f"dout has shape {dout_shape} but the forward output has shape {out.shape}"
        error, match = ValueError, re.escape(shapes)
    with pytest.raises(error, match=f"{pool}_pool2d_backward: {match}"):
        bwd(np.zeros(dout_shape, dtype=dtype), cache)


def test_numpy_integers_and_one_tuples_are_ints():
    """np.int64(2) and (2,) mean 2, as in torch."""
    x = distinct((1, 2, 7, 7))
    want = max_pool2d(x, 3, 2, 1, 1)
    got = max_pool2d(x, np.int64(3), np.int32(2), np.int64(1), (np.int16(1),))
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(max_pool2d(x, (3,), stride=[2]), max_pool2d(x, 3, 2))
    np.testing.assert_array_equal(
        avg_pool2d(x, (np.int64(3), 2), divisor_override=np.int64(4)),
        avg_pool2d(x, (3, 2), divisor_override=4),
    )


# ------------------------------------------------------------------ the layers

LAYERS = [
    ("MaxPool2d", (3, 2, 1), {}),
    ("MaxPool2d", (2,), {"ceil_mode": True, "dilation": (1, 2)}),
    ("MaxPool2d", (3, 1, 1, 1, True), {}),  # return_indices, positionally, before ceil_mode
    ("MaxPool2d", (2,), {"return_indices": True, "ceil_mode": True}),
    ("AvgPool2d", (3, 2, 1), {"count_include_pad": False}),
    ("AvgPool2d", (2,), {"divisor_override": 3}),
    ("AvgPool2d", (3, 2, 1, True, True, 5), {}),
]


@needs_torch
@pytest.mark.parametrize(("name", "args", "kwargs"), LAYERS)
def test_layers_match_torch(backend, name, args, kwargs):
    x = distinct((2, 3, 7, 8), seed=3)
    layer, ref = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    tx = torch.tensor(x, requires_grad=True)
    result, want = layer(to_backend(x, backend)), ref(tx)
    if getattr(ref, "return_indices", False):
        (result, idx), (want, want_idx) = result, want
        np.testing.assert_array_equal(to_numpy(idx), want_idx.numpy())
    np.testing.assert_allclose(to_numpy(result), want.detach().numpy(), rtol=1e-12)
    g = np.random.default_rng(1).standard_normal(tuple(want.shape))
    want.backward(torch.tensor(g))
    dx = layer.backward(to_backend(g, backend))
    np.testing.assert_allclose(to_numpy(dx), tx.grad.numpy(), rtol=1e-12)
    assert repr(layer) == repr(ref)
