"""conv_transpose2d against torch on every backend, the adjoint identity, and bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from helpers import DTYPES, check_op, to_backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlib.backend import to_numpy
from cnnlib.functional._windows import windows_out_size
from cnnlib.functional.conv import conv2d, conv2d_backward, conv2d_forward
from cnnlib.functional.conv_transpose import (
    conv_transpose2d,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
)

SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def transpose_configs(draw):
    """A small conv_transpose2d problem: (x, w, b or None, kwargs)."""
    groups = draw(st.sampled_from([1, 1, 2]))
    c_in = groups * draw(st.integers(1, 2))
    c_out_g = draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    # torch's rule: output_padding < stride or < dilation (per axis)
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    # keep the output positive: 2p <= (H-1)s + d(k-1) + op
    padding = tuple(
        draw(st.integers(0, ((size - 1) * s + d * (k - 1) + op) // 2))
        for size, s, d, k, op in zip((h, w), stride, dilation, kernel, output_padding)
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((draw(st.integers(1, 2)), c_in, h, w))
    weight = rng.standard_normal((c_in, c_out_g) + kernel)
    bias = rng.standard_normal(c_out_g * groups) if draw(st.booleans()) else None
    kwargs = dict(
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        groups=groups,
        dilation=dilation,
    )
    return x, weight, bias, kwargs


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(cfg=transpose_configs())
def test_conv_transpose2d_matches_torch(backend, dtype, cfg):
    x, weight, bias, kwargs = cfg
    out = check_op(
        conv_transpose2d_forward,
        conv_transpose2d_backward,
        tF.conv_transpose2d,
        [x, weight, bias],
        kwargs,
        backend=backend,
        op=conv_transpose2d,
        dtype=dtype,
    )
    # H_out = (H - 1) s - 2p + d (k - 1) + output_padding + 1
    for axis in (0, 1):
        s, p, op = kwargs["stride"][axis], kwargs["padding"][axis], kwargs["output_padding"][axis]
        d, k = kwargs["dilation"][axis], weight.shape[2 + axis]
        assert out.shape[2 + axis] == (x.shape[2 + axis] - 1) * s - 2 * p + d * (k - 1) + op + 1


@settings(max_examples=25, deadline=None)
@given(
    data=st.data(),
    groups=st.sampled_from([1, 2]),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
)
def test_adjoint_of_conv2d(data, groups, kernel, stride, padding, dilation):
    """<conv2d(x, w), y> == <x, conv_transpose2d(y, w)> for matching hyperparameters."""
    size = [d * (k - 1) + 1 + data.draw(st.integers(0, 4)) for d, k in zip(dilation, kernel)]
    out_size = [
        windows_out_size(n + 2 * p, k, s, d)
        for n, p, k, s, d in zip(size, padding, kernel, stride, dilation)
    ]
    # the rows a strided conv2d never reached come back through output_padding
    output_padding = [
        (n + 2 * p - d * (k - 1) - 1) % s
        for n, p, k, s, d in zip(size, padding, kernel, stride, dilation)
    ]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal((2, 2 * groups) + tuple(size))
    w = rng.standard_normal((3 * groups, 2) + kernel)
    y = rng.standard_normal((2, 3 * groups) + tuple(out_size))
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    lhs = np.sum(conv2d(x, w, **kw) * y)
    back = conv_transpose2d(y, w, output_padding=output_padding, **kw)
    assert back.shape == x.shape
    np.testing.assert_allclose(lhs, np.sum(x * back), rtol=1e-10)
    # and it is exactly conv2d's input gradient
    _, cache = conv2d_forward(x, w, **kw)
    np.testing.assert_allclose(conv2d_backward(y, cache)[0], back, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_unbatched_input(backend, dtype):
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 3, 3)), np.zeros(3)
    kwargs = {"stride": 2, "padding": 1, "output_padding": 1}
    out = check_op(
        conv_transpose2d_forward,
        conv_transpose2d_backward,
        tF.conv_transpose2d,
        [x, w, b],
        kwargs,
        backend=backend,
        dtype=dtype,
    )
    assert out.shape == (3, 6, 8)


def test_stride_two_upsamples_by_painting_kernels(backend):
    # one pixel per corner, all-ones 2x2 kernel, stride 2: each pixel paints its own block
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    w = np.ones((1, 1, 2, 2))
    got = to_numpy(conv_transpose2d(to_backend(x, backend), to_backend(w, backend), stride=2))
    np.testing.assert_array_equal(got[0, 0], np.kron(x[0, 0], np.ones((2, 2))))


X = np.zeros((2, 4, 3, 3))
W = np.zeros((4, 2, 3, 3))


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((X, torch.zeros(4, 2, 3, 3, dtype=torch.float64)), {}, TypeError, "one library"),
        ((X[0, 0], W), {}, ValueError, "4-D"),
        ((X.astype(np.int32), W), {}, TypeError, "floating-point"),
        ((np.zeros((2, 3, 3, 3)), W), {}, ValueError, "input has 3 channels but weight expects 4"),
        ((X, W), {"groups": 3}, ValueError, "groups=3 must divide"),
        ((X, W, np.zeros(3)), {}, ValueError, "bias has 3 entries but there are 2"),
        ((X, W, np.zeros(3)), {"groups": 2}, ValueError, "bias has 3 entries but there are 4"),
        ((X, W), {"stride": 0}, ValueError, "stride must be at least 1"),
        ((X, W), {"padding": -1}, ValueError, "padding must be non-negative"),
        ((X, W), {"padding": "same"}, TypeError, "padding must be an int or a pair of ints"),
        ((X, W), {"stride": (2, 2, 2)}, ValueError, "stride must be .* of length 3"),
        ((X, W), {"output_padding": (0, 0, 0)}, ValueError, "output_padding .* of length 3"),
        ((X, W), {"groups": 1.0}, TypeError, "groups must be an int"),
        ((X.astype(np.float32), W), {}, TypeError, "input is float32, weight is float64"),
        ((X, W, np.zeros(2, np.float32)), {}, TypeError, "weight is float64, bias is float32"),
        ((X, W), {"output_padding": 1}, ValueError, "smaller than either stride or dilation"),
        ((X, W), {"stride": 2, "output_padding": 2}, ValueError, "output_padding must be smaller"),
        ((X, W), {"padding": 3}, ValueError, "not positive"),
    ],
)
def test_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        conv_transpose2d(*args, **kwargs)


def test_output_padding_allowed_by_dilation():
    # output_padding 1 with stride 1 is fine when dilation is 2 (torch agrees)
    x, w = np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2))
    got = conv_transpose2d(x, w, output_padding=1, dilation=2)
    want = tF.conv_transpose2d(torch.tensor(x), torch.tensor(w), output_padding=1, dilation=2)
    np.testing.assert_array_equal(got, want.numpy())
