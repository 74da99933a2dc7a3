import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from cnnlib import viz
from cnnlib.kernels import KERNELS
from cnnlib.widgets import ConvStepper, KernelExplorer


@pytest.fixture
def explorer():
    return KernelExplorer(image="grace_hopper", preset="identity", size=32)


def test_explorer_initial_state_is_rendered(explorer):
    assert explorer.output.shape == (30, 30)
    assert explorer.output_view.value[:4] == b"\x89PNG"
    assert explorer.input_view.value[:4] == b"\x89PNG"
    np.testing.assert_allclose(explorer.output, explorer.image[1:-1, 1:-1])


def test_preset_changes_kernel_and_output(explorer):
    before = explorer.output.copy()
    explorer.preset.value = "sobel x"
    np.testing.assert_array_equal(explorer.kernel, KERNELS["sobel x"])
    assert not np.allclose(explorer.output, before)
    np.testing.assert_allclose(
        explorer.output, viz.filter_image(explorer.image, KERNELS["sobel x"])
    )


def test_editing_a_cell_switches_to_custom(explorer):
    explorer.cells[0].value = 1.0
    assert explorer.preset.value == "(custom)"
    assert explorer.kernel[0, 0] == 1.0
    np.testing.assert_allclose(explorer.output, viz.filter_image(explorer.image, explorer.kernel))


def test_kernel_size_grows_grid_and_keeps_preset(explorer):
    explorer.preset.value = "blur"
    explorer.kernel_size.value = 7
    assert len(explorer.cells) == 49 and explorer.kernel.shape == (7, 7)
    assert explorer.kernel.sum() == pytest.approx(1.0)
    assert explorer.output.shape == (26, 26)


def test_convolution_toggle_flips_kernel(explorer):
    explorer.preset.value = "sobel x"
    corr = explorer.output.copy()
    explorer.mode.value = "convolution"
    np.testing.assert_allclose(explorer.output, -corr)  # rot180(sobel x) = -sobel x


@pytest.mark.parametrize("mode", viz.PADDING_MODES)
def test_padding_stride_dilation_and_formula(explorer, mode):
    explorer.padding_mode.value = mode
    explorer.padding.value = 3
    explorer.stride.value = 2
    explorer.dilation.value = 2
    expected = (32 + 2 * 3 - 2 * 2 - 1) // 2 + 1
    assert explorer.output.shape == (expected, expected) == explorer.output_shape()
    assert explorer.formula_text().endswith(f"= {expected}")
    assert f"{expected}x{expected}" in explorer.formula.value


def test_image_choice_and_bad_settings_report_errors(explorer):
    explorer.image_name.value = "checkerboard"
    assert explorer.image.shape == (32, 32)
    explorer.padding_mode.value = "reflect"
    explorer.image_name.value = "cross"
    with pytest.raises(ValueError, match="3x3, 5x5 or 7x7"):
        explorer.set_kernel(np.ones((4, 4)))


def test_conv_stepper_slider_drives_picture_and_equation():
    x = np.array([[2, 5, 0, 1], [6, 7, 1, 2], [3, 0, 4, 0], [3, 9, 7, 4]])
    k = np.array([[1, 0, 1], [-1, 1, 0], [0, 1, -1]])
    s = ConvStepper(x, k)
    assert s.slider.max == 3 and s.play.max == 3
    first = s.view.value
    s.slider.value = 3
    assert s.view.value != first and s.view.value[:4] == b"\x89PNG"
    assert s.text.value.endswith("= 16</code>")
    s.set_step(1)
    assert "= 4<" in s.text.value
    with pytest.raises(ValueError, match="step must be"):
        s.set_step(4)


def test_resizing_the_grid_closes_the_old_cells(explorer):
    old = list(explorer.cells)
    explorer.kernel_size.value = 5
    assert all(c.comm is None for c in old)
    assert explorer.grid.children == tuple(explorer.cells)
    with pytest.raises(ValueError, match="not a preset"):
        explorer.set_preset("(custom)")
