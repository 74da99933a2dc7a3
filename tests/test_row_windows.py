"""Row matrices (MEC, ``_row_windows.py``): brute force, the adjoint, memory, and the choice."""

import numpy as np
import pytest
from helpers import assert_same_library, to_backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlib.backend import to_numpy
from cnnlib.functional import conv
from cnnlib.functional._row_windows import add_row_matrices, row_matrices
from cnnlib.functional._windows import windows_out_size

SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def brute_row_matrices(x, kernel, stride, dw, pad, groups, batch_last):
    """m[i, g, (p, c, q), (n, j)] = x_pad[n, g*C/G + c, i*sH + p, j*sW + q*dW], by loops."""
    (kh, kw), (sh, sw) = kernel, stride
    x_pad = np.pad(x, [(0, 0), (0, 0), pad[:2], pad[2:]])
    n, c, hp, wp = x_pad.shape
    oh, ow = windows_out_size(hp, kh, sh, 1), windows_out_size(wp, kw, sw, dw)
    cg = c // groups
    m = np.zeros((oh, groups, kh, cg, kw) + ((ow, n) if batch_last else (n, ow)))
    for i in range(oh):
        for g in range(groups):
            for p in range(kh):
                for q in range(kw):
                    for j in range(ow):
                        pixels = x_pad[:, g * cg : (g + 1) * cg, i * sh + p, j * sw + q * dw]
                        if batch_last:
                            m[i, g, p, :, q, j, :] = pixels.T  # (C/G, N)
                        else:
                            m[i, g, p, :, q, :, j] = pixels.T
    return m.reshape(oh, groups, kh * cg * kw, -1)


@SETTINGS
@given(
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 2)),
    dw=st.integers(1, 2),
    pad=st.tuples(*[st.integers(0, 2)] * 4),
    size=st.tuples(st.integers(3, 8), st.integers(3, 8)),
    groups=st.sampled_from([1, 2]),
    batch_last=st.booleans(),
)
def test_row_matrices_and_their_adjoint(backend, kernel, stride, dw, pad, size, groups, batch_last):
    reach = (kernel[0], dw * (kernel[1] - 1) + 1)
    if size[0] + pad[0] + pad[1] < reach[0] or size[1] + pad[2] + pad[3] < reach[1]:
        return  # the kernel does not fit
    rng = np.random.default_rng(sum(size) + groups)
    x = rng.standard_normal((2, 2 * groups) + size)
    args = (kernel, stride, (1, dw), pad)
    m = row_matrices(to_backend(x, backend), *args, groups, batch_last)
    assert_same_library(m, backend)
    want = brute_row_matrices(x, kernel, stride, dw, pad, groups, batch_last)
    np.testing.assert_array_equal(to_numpy(m), want)

    # <m(x), y> == <x, add_row_matrices(y)>: adding back is the exact adjoint
    y = rng.standard_normal(want.shape)
    back = add_row_matrices(to_backend(y, backend), kernel, x.shape, *args[1:], batch_last)
    assert_same_library(back, backend)
    assert tuple(back.shape) == x.shape
    np.testing.assert_allclose(np.sum(want * y), np.sum(x * to_numpy(back)), rtol=1e-12)


def test_row_matrices_overlap_in_one_copy_numpy():
    """The OH matrices are views into one buffer holding each pixel kW times, not kH*kW."""
    x = np.random.default_rng(0).standard_normal((4, 6, 14, 14))
    m = row_matrices(x, (5, 5), (1, 1), (1, 1), (0, 0, 0, 0))
    assert m.shape == (10, 1, 150, 40)  # (OH, G, kH*C*kW, N*OW)
    buffer = m.base
    while getattr(buffer, "base", None) is not None:
        buffer = buffer.base
    assert buffer.nbytes == x.nbytes * 5 * 10 // 14  # kW copies of each row, OW of W columns
    assert np.shares_memory(m[0], m[1])  # row 1's matrix starts one row of z after row 0's


@pytest.mark.parametrize(
    "c_out, groups, dilation, expected",
    [(16, 1, (1, 1), True), (64, 1, (1, 1), False), (64, 4, (1, 1), True), (16, 1, (2, 1), False)],
)
def test_conv2d_takes_row_matrices_when_few_outputs_meet_each_copy(
    c_out, groups, dilation, expected
):
    """Rows (MEC) for fewer than FEW_OUTPUTS output channels per group and row dilation 1."""
    x = np.zeros((1, 4, 8, 8))
    weight = np.zeros((c_out, 4 // groups, 3, 3))
    assert conv._by_rows(x, weight, dilation, groups) == expected
