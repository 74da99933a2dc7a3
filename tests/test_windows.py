"""The per-library window helpers agree with brute force on every backend."""

import numpy as np
import pytest
from helpers import assert_same_library, to_backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlib.backend import to_numpy
from cnnlib.functional._windows import (
    dilate2d,
    im2col,
    pad2d,
    scatter_add_windows,
    sliding_windows,
    windows_out_size,
)


def brute_windows(x, k, s, d):
    n, c, h, w = x.shape
    oh, ow = windows_out_size(h, k[0], s[0], d[0]), windows_out_size(w, k[1], s[1], d[1])
    out = np.zeros((n, c, oh, ow) + tuple(k))
    for i in range(oh):
        for j in range(ow):
            for p in range(k[0]):
                for q in range(k[1]):
                    out[:, :, i, j, p, q] = x[:, :, i * s[0] + p * d[0], j * s[1] + q * d[1]]
    return out


configs = st.tuples(
    st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.integers(1, 2)
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cfg=configs, extra=st.tuples(st.integers(0, 4), st.integers(0, 4)))
def test_sliding_windows_and_adjoint(backend, cfg, extra):
    kh, kw, s, dh, dw = cfg
    h = dh * (kh - 1) + 1 + extra[0]
    w = dw * (kw - 1) + 1 + extra[1]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, h, w))
    win = sliding_windows(to_backend(x, backend), (kh, kw), (s, s), (dh, dw))
    assert_same_library(win, backend)
    want = brute_windows(x, (kh, kw), (s, s), (dh, dw))
    np.testing.assert_array_equal(to_numpy(win), want)

    # <windows(x), y> == <x, scatter_add_windows(y)>: the scatter is the exact adjoint.
    y = rng.standard_normal(want.shape)
    back = scatter_add_windows(to_backend(y, backend), (h, w), (s, s), (dh, dw))
    assert_same_library(back, backend)
    np.testing.assert_allclose(np.sum(want * y), np.sum(x * to_numpy(back)), rtol=1e-12)


def test_windows_view_shares_memory_numpy():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    win = sliding_windows(x, 3)
    assert np.shares_memory(win, x)
    assert win.shape == (1, 1, 2, 2, 3, 3)
    with pytest.raises(ValueError, match="does not fit"):
        sliding_windows(x, 5)


@pytest.mark.parametrize("pad", [(0, 0, 0, 0), (1, 2, 0, 3), (2, 0, 1, 1)])
def test_pad2d(backend, pad):
    x = np.random.default_rng(1).standard_normal((2, 1, 3, 4))
    got = pad2d(to_backend(x, backend), pad, value=-np.inf)
    assert_same_library(got, backend)
    want = np.pad(x, [(0, 0), (0, 0), pad[:2], pad[2:]], constant_values=-np.inf)
    np.testing.assert_array_equal(to_numpy(got), want)


def test_dilate2d(backend):
    x = np.arange(1.0, 7.0).reshape(1, 1, 2, 3)
    got = to_numpy(dilate2d(to_backend(x, backend), (2, 3)))
    want = np.zeros((1, 1, 3, 7))
    want[0, 0, ::2, ::3] = x[0, 0]
    np.testing.assert_array_equal(got, want)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cfg=configs,
    pad=st.tuples(*[st.integers(0, 4)] * 4),
    size=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    batch_last=st.booleans(),
)
def test_im2col_writes_the_padding_it_is_given(backend, cfg, pad, size, batch_last):
    """im2col(x, padding=pad) equals im2col of the padded copy of x, including windows that
    lie wholly in the padding (padding wider than the kernel's reach)."""
    kh, kw, s, dh, dw = cfg
    top, bottom, left, right = pad
    h, w = size
    if dh * (kh - 1) + 1 > h + top + bottom or dw * (kw - 1) + 1 > w + left + right:
        return  # the kernel does not fit: conv2d rejects this before calling im2col
    x = np.random.default_rng(h * 7 + w).standard_normal((2, 3, h, w))
    xb = to_backend(x, backend)
    got = im2col(xb, (kh, kw), s, (dh, dw), batch_last, pad)
    want = im2col(pad2d(x, pad), (kh, kw), s, (dh, dw), batch_last)
    assert_same_library(got, backend)
    np.testing.assert_array_equal(to_numpy(got), want)
