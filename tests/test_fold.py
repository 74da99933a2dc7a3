"""unfold / fold (im2col / col2im) against torch on every backend."""

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from helpers import DTYPES, assert_same_library, to_backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlib.backend import to_numpy
from cnnlib.functional.conv import conv2d
from cnnlib.functional.fold import fold, unfold

SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def fold_configs(draw):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = tuple(d * (k - 1) + 1 + draw(st.integers(0, 4)) for d, k in zip(dilation, kernel))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3))) + size
    kwargs = dict(kernel_size=kernel, dilation=dilation, padding=padding, stride=stride)
    return np.random.default_rng(draw(st.integers(0, 2**16))).standard_normal(shape), kwargs


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(cfg=fold_configs())
def test_unfold_and_fold_match_torch(backend, dtype, cfg):
    x, kwargs = cfg
    x = x.astype(dtype)
    cols = unfold(to_backend(x, backend), **kwargs)
    assert_same_library(cols, backend)
    want = tF.unfold(torch.tensor(x), **kwargs)
    assert to_numpy(cols).dtype == dtype
    np.testing.assert_array_equal(to_numpy(cols), want.numpy())  # a copy: exact

    y = np.random.default_rng(1).standard_normal(tuple(want.shape)).astype(dtype)
    image = fold(to_backend(y, backend), x.shape[2:], **kwargs)
    assert_same_library(image, backend)
    assert to_numpy(image).dtype == dtype
    want_image = tF.fold(torch.tensor(y, dtype=torch.float64), x.shape[2:], **kwargs)
    rtol, atol = (1e-12, 1e-14) if dtype == "float64" else (1e-6, 1e-6)
    np.testing.assert_allclose(to_numpy(image), want_image.numpy(), rtol=rtol, atol=atol)
    # fold is the adjoint of unfold
    lhs = np.sum(want.numpy().astype(np.float64) * y)
    rhs = np.sum(x.astype(np.float64) * to_numpy(image))
    scale = np.sum(np.abs(x.astype(np.float64) * to_numpy(image)))  # what the sums cancel
    tol = 1e-10 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(lhs, rhs, rtol=tol, atol=tol * scale)


def test_unbatched(backend):
    x = np.arange(2 * 4 * 5, dtype=np.float64).reshape(2, 4, 5)
    cols = unfold(to_backend(x, backend), (2, 3), padding=1)
    np.testing.assert_array_equal(to_numpy(cols), tF.unfold(torch.tensor(x), (2, 3), padding=1))
    back = fold(cols, (4, 5), (2, 3), padding=1)
    want = tF.fold(tF.unfold(torch.tensor(x), (2, 3), padding=1), (4, 5), (2, 3), padding=1)
    np.testing.assert_array_equal(to_numpy(back), want.numpy())


def test_fold_of_unfold_counts_windows():
    # each pixel comes back multiplied by how many 2x2 windows (stride 1) contain it
    x = np.ones((1, 1, 3, 3))
    counts = fold(unfold(x, 2), (3, 3), 2)
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_convolution_is_a_matrix_product_of_columns():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2))
    cols = unfold(x, (3, 2), padding=1, stride=2)  # (N, C*kH*kW, L)
    out = (w.reshape(4, -1) @ cols).reshape(2, 4, 3, 3)
    np.testing.assert_allclose(out, conv2d(x, w, padding=1, stride=2), rtol=1e-12)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: unfold([[1.0]], 2), TypeError, "input must be an array"),
        (lambda: unfold(np.zeros((3, 3)), 2), ValueError, "4-D"),
        (lambda: unfold(np.zeros((1, 1, 3, 3)), 4), ValueError, "does not fit"),
        (lambda: unfold(np.zeros((1, 1, 3, 3)), 2, stride=0), ValueError, "stride must be at"),
        (lambda: unfold(np.zeros((1, 1, 3, 3)), 2, padding=-1), ValueError, "non-negative"),
        (lambda: unfold(np.zeros((1, 1, 3, 3)), (2, 2, 2)), ValueError, "kernel_size .* length 3"),
        (lambda: unfold(np.zeros((1, 1, 3, 3)), True), TypeError, "kernel_size must be an int"),
        (lambda: unfold(np.zeros((1, 1, 3, 3), int), 2), TypeError, "input must be a floating"),
        (lambda: fold(np.zeros((1, 4, 4), int), 3, 2), TypeError, "input must be a floating"),
        (lambda: fold(np.zeros((1, 4, 4)), (3, 3, 3), 2), ValueError, "output_size .* length 3"),
        (lambda: fold(np.zeros((1, 1, 2, 2)), 3, 2), ValueError, "3-D"),
        (lambda: fold(np.zeros((1, 5, 4)), 3, 2), ValueError, "multiple of kH\\*kW = 4"),
        (lambda: fold(np.zeros((1, 4, 5)), 3, 2), ValueError, "5 columns"),
        (lambda: fold(np.zeros((1, 16, 4)), 3, 4), ValueError, "does not fit"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
