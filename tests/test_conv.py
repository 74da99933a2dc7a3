"""conv2d, true_conv2d and conv2d_naive against torch, on every backend, plus bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from helpers import DTYPES, assert_same_library, check_op, to_backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlib.backend import to_numpy
from cnnlib.functional import conv
from cnnlib.functional._windows import SHORT_ROW
from cnnlib.functional.conv import (
    conv2d,
    conv2d_backward,
    conv2d_forward,
    true_conv2d,
    true_conv2d_backward,
    true_conv2d_forward,
)
from cnnlib.functional.conv_naive import conv2d_naive

SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


# conv2d's two CPU fast paths (conv.py picks by output channels per group): FEW_OUTPUTS set
# so that every convolution takes the one named
ROUTES = {"rows": 10**9, "im2col": 0}


@pytest.fixture(params=sorted(ROUTES))
def route(request, monkeypatch):
    """Force the row matrices (MEC) or im2col for every convolution of the test."""
    monkeypatch.setattr(conv, "FEW_OUTPUTS", ROUTES[request.param])
    return request.param


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


@st.composite
def conv_configs(draw, max_examples_size=4):
    """A small random conv2d problem: arrays (x, w, b or None) and the keyword arguments."""
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = draw(st.sampled_from([1, 2, (1, 2), (2, 1)]))
    padding = draw(st.sampled_from([0, 1, 2, (1, 0), (0, 2), "valid", "same"]))
    if padding == "same":
        stride = 1
    else:
        stride = draw(st.sampled_from([1, 2, 3, (1, 2), (3, 1)]))
    span = [d * (k - 1) + 1 for d, k in zip(_pair(dilation), kernel)]
    h = span[0] + draw(st.integers(0, max_examples_size))
    w = span[1] + draw(st.integers(0, max_examples_size))
    n = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((n, c_in, h, w))
    weight = rng.standard_normal((c_out, c_in // groups) + kernel)
    bias = rng.standard_normal(c_out) if draw(st.booleans()) else None
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return x, weight, bias, kwargs


def check_conv2d(arrays, kwargs, backend, dtype="float64"):
    """conv2d forward and backward against torch.nn.functional.conv2d; returns the output."""
    return check_op(
        conv2d_forward,
        conv2d_backward,
        tF.conv2d,
        arrays,
        kwargs,
        backend=backend,
        op=conv2d,
        dtype=dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(cfg=conv_configs())
def test_conv2d_matches_torch(backend, route, dtype, cfg):
    x, weight, bias, kwargs = cfg
    check_conv2d([x, weight, bias], kwargs, backend, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(cfg=conv_configs())
def test_true_conv2d_is_conv2d_with_rotated_kernel(backend, route, dtype, cfg):
    x, weight, bias, kwargs = cfg

    def torch_true_conv(x, w, b, **kw):
        return tF.conv2d(x, torch.flip(w, (2, 3)), b, **kw)

    check_op(
        true_conv2d_forward,
        true_conv2d_backward,
        torch_true_conv,
        [x, weight, bias],
        kwargs,
        backend=backend,
        op=true_conv2d,
        dtype=dtype,
    )
    flipped = weight[:, :, ::-1, ::-1].copy()
    np.testing.assert_allclose(
        to_numpy(true_conv2d(*(to_backend(a, backend) for a in (x, weight, bias)), **kwargs)),
        to_numpy(conv2d(*(to_backend(a, backend) for a in (x, flipped, bias)), **kwargs)),
        rtol=1e-12,
    )


@settings(max_examples=15, deadline=None)
@given(cfg=conv_configs(max_examples_size=2))
def test_naive_agrees_with_fast(cfg):
    x, weight, bias, kwargs = cfg
    np.testing.assert_allclose(
        conv2d_naive(x, weight, bias, **kwargs), conv2d(x, weight, bias, **kwargs), rtol=1e-10
    )


def test_naive_runs_on_every_backend(backend):
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((1, 2, 4, 5)), rng.standard_normal((2, 1, 2, 3)), np.ones(2)
    args = [to_backend(a, backend) for a in (x, w, b)]
    got = conv2d_naive(*args, stride=(1, 2), padding=1, groups=2)
    assert_same_library(got, backend)
    want = tF.conv2d(*(torch.tensor(a) for a in (x, w, b)), stride=(1, 2), padding=1, groups=2)
    np.testing.assert_allclose(to_numpy(got), want.numpy(), rtol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_unbatched_input(backend, dtype):
    rng = np.random.default_rng(4)
    x, w, b = (
        rng.standard_normal((3, 5, 6)),
        rng.standard_normal((4, 3, 3, 3)),
        rng.standard_normal(4),
    )
    out = check_conv2d([x, w, b], {"padding": 1}, backend, dtype)
    assert out.shape == (4, 5, 6)


def test_same_padding_with_even_kernel_pads_bottom_right_like_torch():
    # total padding d*(k-1) = 3 for a 4x4 kernel: 1 on top/left, 2 on bottom/right
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    w = np.zeros((1, 1, 4, 4))
    w[0, 0, 0, 0] = 1.0  # picks the window's top-left pixel: out[i, j] = x_pad[i, j]
    out = conv2d(x, w, padding="same")
    want = np.pad(x, [(0, 0), (0, 0), (1, 2), (1, 2)])[:, :, :5, :5]
    np.testing.assert_array_equal(out, want)


X = np.zeros((2, 3, 5, 5))
W = np.zeros((4, 3, 3, 3))


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        (([[1.0]], W), {}, TypeError, "input must be an array"),
        ((X, torch.zeros(4, 3, 3, 3, dtype=torch.float64)), {}, TypeError, "one library"),
        ((X[0, 0], W), {}, ValueError, "4-D"),
        ((X, W[0]), {}, ValueError, "weight must be 4-D"),
        ((X.astype(np.int64), W), {}, TypeError, "floating-point"),
        ((np.zeros((2, 4, 5, 5)), W), {}, ValueError, "input has 4 channels but weight expects 3"),
        ((X, np.zeros((4, 1, 3, 3))), {"groups": 2}, ValueError, "groups=2 must divide"),
        ((X, np.zeros((5, 1, 3, 3))), {"groups": 3}, ValueError, "groups=3 must divide"),
        ((X, W, np.zeros(5)), {}, ValueError, "bias has 5 entries but weight has 4"),
        ((X, W, np.zeros((4, 1))), {}, ValueError, "bias must be 1-D"),
        ((X, W), {"stride": 0}, ValueError, "stride must be at least 1"),
        ((X, W), {"dilation": (1, 0)}, ValueError, "dilation must be at least 1"),
        ((X, W), {"padding": -1}, ValueError, "padding must be non-negative"),
        ((X, W), {"padding": "full"}, ValueError, "'valid', 'same'"),
        ((X, W), {"padding": "same", "stride": 2}, ValueError, "strided"),
        ((X, W), {"stride": 1.5}, TypeError, "stride must be an int"),
        ((X, W), {"stride": True}, TypeError, "stride must be an int"),
        ((X, W), {"stride": (1, 1, 1)}, ValueError, "stride must be .* of length 3"),
        ((X, W), {"padding": (1, 1, 1)}, ValueError, "padding must be .* of length 3"),
        ((X, W), {"dilation": [1]}, ValueError, "dilation must be .* of length 1"),
        ((X, W), {"groups": True}, TypeError, "groups must be an int"),
        ((X, W.astype(np.float32)), {}, TypeError, "input is float64, weight is float32"),
        ((X, W, np.zeros(4, np.float32)), {}, TypeError, "weight is float64, bias is float32"),
        ((X, W), {"groups": 0}, ValueError, "groups must be at least 1"),
        ((X, W), {"dilation": 3}, ValueError, "larger than the padded input"),
        ((X, np.zeros((4, 3, 6, 2))), {"padding": (0, 1)}, ValueError, "larger than the padded"),
    ],
)
@pytest.mark.parametrize("fn", [conv2d, true_conv2d, conv2d_naive])
def test_bad_input(fn, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        fn(*args, **kwargs)


def test_backward_rejects_wrong_dout_shape():
    _, cache = conv2d_forward(X, W)
    with pytest.raises(ValueError, match="dout has shape"):
        conv2d_backward(np.zeros((2, 4, 2, 2)), cache)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("groups", [1, 5])
@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_on_wide_outputs_matches_torch(backend, route, stride, dilation, groups, dtype):
    """Output rows of 16 or more pixels take the (C, N, H, W) working layout; with stride 2,
    60 channels of 3 padded 22 x 38 float64 images (1.2 MiB) make col2im add in two cache
    blocks, and stride 1 takes the full-convolution route on the same wide layout: paths
    that the small hypothesis-drawn problems above do not reach. The row matrices' route
    works in the (N, OW) column order here."""
    rng = np.random.default_rng(stride * 10 + dilation + groups)
    x = rng.standard_normal((3, 60, 20, 36))
    weight = rng.standard_normal((10, 60 // groups, 3, 3))
    bias = rng.standard_normal(10)
    kwargs = dict(stride=stride, padding=1, dilation=dilation, groups=groups)
    out = check_conv2d([x, weight, bias], kwargs, backend, dtype)
    assert out.shape[0] == 3 and out.shape[3] >= SHORT_ROW


@pytest.mark.parametrize(
    "c_in, c_out, kernel, padding, dilation, groups, width, full_conv",
    [
        (8, 8, 3, 1, 1, 1, 20, True),  # ResNet-like 3x3 'same': the full-convolution route
        (6, 4, 4, "same", 1, 2, 9, True),  # even kernel, uneven padding, groups, short rows
        (4, 4, 3, 2, 2, 1, 18, True),  # dilation 2 with padding d(k-1)/2
        (3, 3, 3, 0, 1, 3, 11, False),  # 'valid': H*W > H_out*W_out, col2im copies less
        (4, 8, 3, 1, 1, 1, 17, False),  # more output channels than input: col2im's route
        (4, 4, 2, 3, 1, 1, 12, False),  # padding larger than d(k-1): no full convolution
    ],
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_both_backward_routes_match_torch(
    backend, monkeypatch, c_in, c_out, kernel, padding, dilation, groups, width, full_conv, dtype
):
    """Stride-1 backward passes go through the full convolution of dout or through col2im,
    whichever copies less (see conv.py); each route against torch, and the choice itself."""
    from cnnlib.functional.conv import _full_conv_is_smaller

    monkeypatch.setattr(conv, "FEW_OUTPUTS", ROUTES["im2col"])  # these routes follow im2col
    rng = np.random.default_rng(c_in + 10 * c_out + width)
    x = rng.standard_normal((2, c_in, 7, width))
    weight = rng.standard_normal((c_out, c_in // groups, kernel, kernel))
    kwargs = dict(stride=1, padding=padding, dilation=dilation, groups=groups)
    out, cache = conv2d_forward(x, weight, None, **kwargs)
    assert _full_conv_is_smaller(cache, tuple(out.shape[2:])) == full_conv
    check_conv2d([x, weight, rng.standard_normal(c_out)], kwargs, backend, dtype)
