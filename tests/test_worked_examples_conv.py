"""The convolution worked examples of source 002, reproduced with cnnlib.

Where the source is wrong, the test asserts what is right and says so in a comment.
"""

import numpy as np
import pytest
from helpers import to_backend

from cnnlib.backend import to_numpy
from cnnlib.functional._windows import dilate2d
from cnnlib.functional.conv import conv2d, conv2d_backward, conv2d_forward
from cnnlib.functional.conv_naive import conv2d_naive

IMAGE_4x4 = np.array([[2, 5, 0, 1], [6, 7, 1, 2], [3, 0, 4, 0], [3, 9, 7, 4]], dtype=float)
KERNEL_1 = np.array([[1, 0, 1], [-1, 1, 0], [0, 1, -1]], dtype=float)
KERNEL_2 = np.array([[-1, 1, 0], [0, 1, -1], [1, 0, 1]], dtype=float)
IMAGE_5x5 = np.array(
    [[1, 3, 0, 2, 4], [4, 7, 4, 1, 0], [4, 6, 0, 0, 6], [3, 2, 8, 1, 2], [3, 5, 0, 7, 3]],
    dtype=float,
)


def nchw(a):
    return a[None, None]


def test_one_input_two_kernels(backend):
    # "single input, multiple output": one 4x4 image, two 3x3 kernels -> two 2x2 maps
    weight = np.stack([KERNEL_1, KERNEL_2])[:, None]  # (C_out=2, C_in=1, 3, 3)
    out = to_numpy(conv2d(to_backend(nchw(IMAGE_4x4), backend), to_backend(weight, backend)))
    np.testing.assert_array_equal(out[0, 0], [[-1, 4], [6, 16]])
    np.testing.assert_array_equal(out[0, 1], [[16, -6], [7, 11]])
    np.testing.assert_array_equal(conv2d_naive(nchw(IMAGE_4x4), weight), out)


def test_stride_two_and_stride_one(backend):
    x, w = to_backend(nchw(IMAGE_5x5), backend), to_backend(nchw(KERNEL_1), backend)
    np.testing.assert_array_equal(to_numpy(conv2d(x, w, stride=2))[0, 0], [[10, -5], [8, 3]])
    np.testing.assert_array_equal(to_numpy(conv2d(x, w))[0, 0], [[10, 2, -5], [4, 9, 3], [8, 5, 3]])


def test_stride_two_keeps_every_second_stride_one_output():
    full = conv2d(nchw(IMAGE_5x5), nchw(KERNEL_1))
    np.testing.assert_array_equal(
        conv2d(nchw(IMAGE_5x5), nchw(KERNEL_1), stride=2), full[..., ::2, ::2]
    )


@pytest.mark.parametrize(
    "size, kernel, padding, stride, expected",
    [
        (5, 3, 0, 2, 2),  # figure 17-17: (5 - 3 + 0)/2 + 1 = 2
        (4, 3, 1, 1, 4),  # figure 17-18: (4 - 3 + 2)/1 + 1 = 4
        (6, 3, 0, 2, 2),  # (6 - 3)/2 + 1 = 2.5: the source says round down, and conv2d does
    ],
)
def test_output_size_formula(size, kernel, padding, stride, expected):
    x, w = np.ones((1, 1, size, size)), np.ones((1, 1, kernel, kernel))
    assert conv2d(x, w, padding=padding, stride=stride).shape[-1] == expected
    assert (size - kernel + 2 * padding) // stride + 1 == expected


def test_elementwise_input_gradient_formulas():
    # source 002, equations (5)-(7): A is 3x3, W is 2x2, Z = W * A is 2x2
    rng = np.random.default_rng(0)
    a, w, delta = (
        rng.standard_normal((3, 3)),
        rng.standard_normal((2, 2)),
        rng.standard_normal((2, 2)),
    )
    _, cache = conv2d_forward(nchw(a), nchw(w))
    da = conv2d_backward(nchw(delta), cache)[0][0, 0]
    (w11, w12), (w21, w22) = w
    (d11, d12), (d21, d22) = delta
    np.testing.assert_allclose(da[0, 0], d11 * w11)
    np.testing.assert_allclose(da[0, 1], d11 * w12 + d12 * w11)
    np.testing.assert_allclose(da[1, 1], d11 * w22 + d12 * w21 + d21 * w12 + d22 * w11)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_input_gradient_is_padded_delta_times_rotated_kernel(k):
    # equation (8): delta_out = pad(delta_in, k - 1) cross-correlated with rot180(W)
    rng = np.random.default_rng(k)
    x, w = rng.standard_normal((1, 1, 7, 7)), rng.standard_normal((1, 1, k, k))
    delta = rng.standard_normal((1, 1, 8 - k, 8 - k))
    _, cache = conv2d_forward(x, w)
    dx = conv2d_backward(delta, cache)[0]
    np.testing.assert_allclose(dx, conv2d(delta, w[..., ::-1, ::-1], padding=k - 1), rtol=1e-12)


def test_stride_two_gradient_is_stride_one_gradient_of_zero_inserted_delta():
    # With stride 2 the 5x5 image gives a 2x2 delta. Inserting a zero "cross" makes it the
    # 3x3 delta of the stride-1 convolution, and the stride-1 backward pass then gives the
    # same gradients. The source says to start from an (M*S) x (N*S) zero matrix; that is
    # wrong (4x4 here). The right size is ((M-1)*S + 1) x ((N-1)*S + 1) = 3x3, which is what
    # the source's own 2x3 -> 3x5 (stride 2) and 2x3 -> 4x7 (stride 3) pictures show.
    delta = nchw(np.array([[1.0, 2.0], [3.0, 4.0]]))
    _, cache2 = conv2d_forward(nchw(IMAGE_5x5), nchw(KERNEL_1), stride=2)
    dx2, dw2, _ = conv2d_backward(delta, cache2)

    inserted = dilate2d(delta, 2)
    np.testing.assert_array_equal(inserted[0, 0], [[1, 0, 2], [0, 0, 0], [3, 0, 4]])
    _, cache1 = conv2d_forward(nchw(IMAGE_5x5), nchw(KERNEL_1), stride=1)
    dx1, dw1, _ = conv2d_backward(inserted, cache1)
    np.testing.assert_array_equal(dx2, dx1)
    np.testing.assert_array_equal(dw2, dw1)
    assert dilate2d(np.ones((1, 1, 2, 3)), 2).shape[-2:] == (3, 5)
    assert dilate2d(np.ones((1, 1, 2, 3)), 3).shape[-2:] == (4, 7)
