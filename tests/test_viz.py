import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cnnlib import viz

TORCH_MODES = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "replicate",
    "circular": "circular",
}


@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(6, 12),
    w=st.integers(6, 12),
    k=st.sampled_from([1, 3, 5]),
    stride=st.integers(1, 3),
    padding=st.integers(0, 3),
    dilation=st.integers(1, 2),
    mode=st.sampled_from(list(TORCH_MODES)),
    convolution=st.booleans(),
    seed=st.integers(0, 99),
)
def test_filter_image_matches_torch(h, w, k, stride, padding, dilation, mode, convolution, seed):
    assume(dilation * (k - 1) + 1 <= min(h, w) + 2 * padding)
    rng = np.random.default_rng(seed)
    x, kern = rng.normal(size=(2, h, w)), rng.normal(size=(k, k))
    out = viz.filter_image(x, kern, stride, padding, dilation, mode, convolution)
    t = torch.from_numpy(x)[:, None]
    t = TF.pad(t, (padding,) * 4, mode=TORCH_MODES[mode])
    wk = torch.from_numpy((kern[::-1, ::-1] if convolution else kern).copy())
    ref = TF.conv2d(t, wk[None, None], stride=stride, dilation=dilation)[:, 0].numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-7, atol=1e-12)
    assert out.shape[1:] == (
        viz.conv_output_size(h, k, stride, padding, dilation),
        viz.conv_output_size(w, k, stride, padding, dilation),
    )


def test_filter_image_rejects_kernel_larger_than_padded_image():
    with pytest.raises(ValueError, match="larger than the padded input"):
        viz.filter_image(np.zeros((6, 6)), np.zeros((5, 5)), dilation=2)
    with pytest.raises(ValueError, match="filter_image: expected"):
        viz.filter_image(np.zeros((6,)), np.zeros((3, 3)))


def test_worked_example_of_source_002():
    x = np.array([[2, 5, 0, 1], [6, 7, 1, 2], [3, 0, 4, 0], [3, 9, 7, 4]])
    k = np.array([[1, 0, 1], [-1, 1, 0], [0, 1, -1]])
    np.testing.assert_array_equal(viz.filter_image(x, k), [[-1, 4], [6, 16]])


def test_output_size_formula_uses_floor():
    assert viz.conv_output_size(5, 3, stride=2) == 2
    assert viz.conv_output_size(6, 3, stride=2) == 2  # (6 - 3)/2 + 1 = 2.5 -> 2
    assert viz.conv_output_size(4, 3, padding=1) == 4
    assert viz.conv_output_size(7, 3, dilation=2) == 3
    assert viz.output_size_formula(6, 3, 2).endswith("= 2")


def test_pad2d_modes_and_errors():
    x = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(viz.pad2d(x, 1, "circular")[0, 1:4], x[-1])
    np.testing.assert_array_equal(viz.pad2d(x, 1, "replicate")[0, 1:4], x[0])
    np.testing.assert_array_equal(viz.pad2d(x, 1, "reflect")[0, 1:4], x[1])
    assert viz.pad2d(x, 2).sum() == x.sum()
    with pytest.raises(ValueError, match="reflect"):
        viz.pad2d(x, 3, "reflect")
    with pytest.raises(ValueError, match="unknown mode"):
        viz.pad2d(x, 1, "mirror")


def test_images_load_offline_with_shapes_and_range():
    for name in viz.IMAGES:
        img = viz.load_image(name, size=(20, 24))
        assert img.shape == (20, 24, 3)
        assert 0 <= img.min() and img.max() <= 1
    assert viz.load_image("grace_hopper", size=16, gray=True).shape == (16, 16)
    assert viz.to_png(np.zeros((4, 4)))[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="unknown image"):
        viz.load_image("lena")


def test_grid_drawing_writes_every_value():
    import matplotlib.pyplot as plt

    fig = viz.show_matrices([np.eye(3), np.full((2, 2), np.nan)], titles=["a", "b"], symbols=["="])
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts.count("1") == 3 and texts.count("0") == 6
    plt.close(fig)


def test_signed_grid_gives_opposite_values_opposite_colours():
    import matplotlib.pyplot as plt

    values = np.array([[-3.0, 0.0, 3.0]])
    for signed, same in [(False, True), (True, False)]:
        fig = viz.show_matrices([values], signed=signed)
        image = fig.axes[0].images[0]
        rgba = image.cmap(image.norm(image.get_array()))[0]
        assert np.allclose(rgba[0], rgba[2]) == same
        plt.close(fig)


def test_grids_with_one_vmax_share_one_colour_scale():
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)

    def colour_of_one(ax):
        image = ax.images[0]
        return image.cmap(image.norm(image.get_array()))[0, 0]

    for vmax, same in [(None, False), (4.0, True)]:
        viz.draw_grid(axes[0], np.array([[1.0, 2.0]]), signed=True, vmax=vmax)
        viz.draw_grid(axes[1], np.array([[1.0, 4.0]]), signed=True, vmax=vmax)
        assert np.allclose(colour_of_one(axes[0]), colour_of_one(axes[1])) == same
        for ax in axes:
            ax.clear()
    plt.close(fig)
