"""The kernel explorer and the convolution stepper on the Python side: their settings, their
rules and cnnlib's answers, which the browser tests compare with what the JavaScript computes."""

import matplotlib

matplotlib.use("Agg")

import base64

import numpy as np
import pytest

from cnnlib import functional as F
from cnnlib import viz
from cnnlib.kernels import KERNELS
from cnnlib.widgets import ConvStepper, KernelExplorer
from cnnlib.widgets.conv_stepper import tile, zero_insert
from cnnlib.widgets.kernel_explorer import formula_text, image_uint8, resize_kernel


@pytest.fixture
def explorer():
    return KernelExplorer(image="grace_hopper", preset="identity", size=32)


def test_the_image_is_shipped_as_8_bit_pixels(explorer):
    pixels = np.frombuffer(base64.b64decode(explorer.image), dtype=np.uint8).reshape(32, 32)
    np.testing.assert_array_equal(pixels, explorer.pixels)
    gray = viz.load_image("grace_hopper", size=32, gray=True)
    assert np.abs(pixels / 255 - gray).max() <= 0.5 / 255  # rounded, not truncated
    assert explorer.presets["sobel x"]["kernel"] == KERNELS["sobel x"].tolist()
    assert explorer.output == []  # filled by the browser, not by Python


def test_identity_returns_the_cropped_image(explorer):
    out = explorer.compute()
    assert out.shape == (30, 30) == explorer.expected_shape()
    np.testing.assert_array_equal(out, explorer.pixels[1:-1, 1:-1])


def test_a_preset_writes_the_kernel_at_the_current_size(explorer):
    explorer.preset = "sobel x"
    np.testing.assert_array_equal(explorer.kernel, KERNELS["sobel x"])
    explorer.kernel_size = 7
    assert np.array(explorer.kernel).shape == (7, 7)
    np.testing.assert_array_equal(np.array(explorer.kernel)[2:5, 2:5], KERNELS["sobel x"])
    assert np.abs(explorer.kernel).sum() == np.abs(KERNELS["sobel x"]).sum()
    explorer.kernel_size = 1  # the centre of sobel x is 0
    assert explorer.kernel == [[0.0]] and explorer.compute().shape == (32, 32)
    assert not explorer.compute().any()


def test_a_custom_kernel_is_kept_centred_when_the_grid_changes(explorer):
    custom = np.arange(9.0).reshape(3, 3)
    explorer.set_kernel(custom)
    assert explorer.preset == "custom" and explorer.kernel_size == 3
    explorer.kernel_size = 5
    np.testing.assert_array_equal(np.array(explorer.kernel)[1:4, 1:4], custom)
    explorer.kernel_size = 3
    np.testing.assert_array_equal(explorer.kernel, custom)
    np.testing.assert_array_equal(resize_kernel(custom, 1), [[4.0]])


def test_convolution_rotates_the_kernel(explorer):
    explorer.set_kernel([[1, 2, 0], [0, -1, 3], [-2, 0, 1]])
    corr = explorer.compute()
    explorer.operation = "convolution"
    rotated = np.array(explorer.kernel)[::-1, ::-1]
    np.testing.assert_array_equal(
        explorer.compute(), viz.filter_image(explorer.pixels.astype(float), rotated)
    )
    assert not np.array_equal(explorer.compute(), corr)


@pytest.mark.parametrize("mode", viz.PADDING_MODES)
def test_padding_stride_dilation_and_the_formula(explorer, mode):
    explorer.set(padding_mode=mode, padding=3, stride=2, dilation=2)
    expected = (32 + 2 * 3 - 2 * (3 - 1) - 1) // 2 + 1
    assert explorer.compute().shape == (expected, expected) == explorer.expected_shape()
    assert explorer.formula_text() == (
        f"H_out = floor((32 + 2*3 - 2*(3 - 1) - 1) / 2) + 1 = {expected}"
    )
    assert formula_text(96, 7, 2, 3, 2) == "H_out = floor((96 + 2*3 - 2*(7 - 1) - 1) / 2) + 1 = 45"


def test_bad_settings_raise_and_change_nothing(explorer):
    with pytest.raises(ValueError, match="stride must be an integer in \\[1, 4\\], got 5"):
        explorer.stride = 5
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        explorer.set(padding=1, padding_mode="mirror")
    with pytest.raises(ValueError, match="unknown setting 'size'"):
        explorer.set(size=3)
    with pytest.raises(ValueError, match="odd size 1 to 9"):
        explorer.set_kernel(np.ones((4, 4)))
    with pytest.raises(ValueError, match="name must be one of"):
        explorer.set_preset("custom")
    with pytest.raises(ValueError, match="image must be one of"):
        KernelExplorer(image="lena")
    with pytest.raises(ValueError, match="dilation must be an integer"):
        explorer.dilation = True
    assert (explorer.stride, explorer.padding, explorer.padding_mode) == (1, 0, "zeros")


def test_image_uint8_is_what_the_chapter_shows():
    assert image_uint8("checkerboard", 16).tolist()[0][:4] == [0, 0, 255, 255]


# -- the stepper ----------------------------------------------------------------------------

X4 = np.array([[2, 5, 0, 1], [6, 7, 1, 2], [3, 0, 4, 0], [3, 9, 7, 4]])
K3 = np.array([[1, 0, 1], [-1, 1, 0], [0, 1, -1]])


def by_hand(stepper):
    """The output assembled from the stepper's windows, one step at a time."""
    n = int(round(stepper.n_steps() ** 0.5))
    grid, w = stepper.grid(), stepper.weight()
    if stepper.transposed:
        w = w[::-1, ::-1]
    out = np.zeros((n, n))
    for t in range(stepper.n_steps()):
        (i, j), cells = stepper.window(t)
        assert (i, j) == divmod(t, n)
        out[i, j] = sum(grid[r, c] * k for (r, c), k in zip(cells, w.ravel()))
    return out


def test_stepper_steps_and_equation():
    s = ConvStepper(X4, K3)
    assert s.n_steps() == 4 and s.step == 0
    s.set_step(3)
    assert s.step == 3 and s.equation(3).endswith("= 16")
    assert s.equation(1) == "y[0,1] = 5*1 + 0*0 + 1*1 + 7*(-1) + 1*1 + 2*0 + 0*0 + 4*1 + 0*(-1) = 4"
    with pytest.raises(ValueError, match="step must be in \\[0, 3\\]"):
        s.set_step(4)


@pytest.mark.parametrize(
    "size, k, stride, padding, dilation",
    [(4, 3, 1, 0, 1), (5, 3, 2, 1, 1), (7, 3, 1, 0, 2), (6, 2, 3, 2, 1), (5, 4, 2, 3, 1)],
)
def test_the_windows_add_up_to_conv2d(size, k, stride, padding, dilation):
    s = ConvStepper(X4, K3, stride=stride, padding=padding, dilation=dilation)
    s.set(size=size, kernel_size=k)
    expected = F.conv2d(
        tile(X4, size)[None, None], tile(K3, k)[None, None], None, stride, padding, dilation
    )[0, 0]
    np.testing.assert_array_equal(s.output_array(), expected)
    np.testing.assert_array_equal(by_hand(s), expected)


@pytest.mark.parametrize(
    "size, k, stride, padding, dilation",
    [(3, 3, 2, 0, 1), (4, 3, 2, 1, 1), (4, 2, 3, 1, 2), (5, 4, 1, 3, 1), (3, 3, 2, 3, 1)],
)
def test_transposed_is_a_stride_1_convolution_over_the_zero_inserted_input(
    size, k, stride, padding, dilation
):
    s = ConvStepper(X4, K3, stride, padding, dilation, transposed=True)
    s.set(size=size, kernel_size=k)
    x, w = tile(X4, size)[None, None], tile(K3, k)[None, None]
    expected = F.conv_transpose2d(x, w, None, stride, padding, dilation=dilation)[0, 0]
    np.testing.assert_array_equal(s.output_array(), expected)
    np.testing.assert_array_equal(by_hand(s), expected)
    n = expected.shape[0]
    assert n == (size - 1) * stride - 2 * padding + dilation * (k - 1) + 1


def test_zero_insert_and_tile():
    np.testing.assert_array_equal(
        zero_insert(np.array([[1, 2], [3, 4]]), 2), [[1, 0, 2], [0, 0, 0], [3, 0, 4]]
    )
    np.testing.assert_array_equal(tile([[1, 2], [3, 4]], 3), [[1, 2, 1], [3, 4, 3], [1, 2, 1]])


def test_stepper_bad_input():
    with pytest.raises(ValueError, match="x must be square, 2x2 to 7x7"):
        ConvStepper(np.zeros((3, 4)), K3)
    with pytest.raises(ValueError, match="kernel must be square, 1x1 to 4x4"):
        ConvStepper(X4, np.zeros((5, 5)))
    s = ConvStepper(X4, K3)
    with pytest.raises(ValueError, match="stride must be an integer in \\[1, 3\\]"):
        s.set(stride=4)
    with pytest.raises(ValueError, match="transposed must be True or False"):
        s.set(transposed=1)
