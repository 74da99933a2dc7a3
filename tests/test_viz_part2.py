"""The plotting helpers of Parts II and III: what they draw, and the errors they raise."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from cnnlib.functional.fold import unfold
from cnnlib.viz.layers import plot_feature_maps, plot_im2col, plot_timings
from cnnlib.viz.training import plot_filters, plot_history, plot_loss_curves


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_im2col_figure_writes_every_column_entry():
    image = np.arange(16.0).reshape(4, 4)
    cols = unfold(image[None, None], 3)[0]
    fig = plot_im2col(image, cols, 3)
    ax_img, ax_cols = fig.axes
    assert _texts(ax_img) == [f"{v:g}" for v in image.ravel()]
    assert _texts(ax_cols) == [f"{v:g}" for v in cols.ravel()]
    # column 0 is the top-left window read row by row
    np.testing.assert_array_equal(cols[:, 0], image[:3, :3].ravel())
    assert "(9, 4)" in ax_cols.get_title()


def test_im2col_rejects_batched_input():
    with pytest.raises(ValueError, match="plot_im2col"):
        plot_im2col(np.zeros((1, 1, 4, 4)), np.zeros((9, 4)), 3)


def test_timings_bars_have_the_times():
    ax = plot_timings(["a", "b"], [0.5, 0.002])
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, [500.0, 2.0])
    assert ax.get_yscale() == "log"
    assert _texts(ax) == ["500 ms", "2 ms"]
    with pytest.raises(ValueError, match="2 names but 1 timings"):
        plot_timings(["a", "b"], [1.0])


def test_feature_maps_accept_different_sizes():
    fig = plot_feature_maps([np.zeros((5, 5)), np.ones((3, 3))], titles=["x", "y"], ncols=3)
    shown = [ax for ax in fig.axes if ax.images]
    assert [ax.images[0].get_array().shape for ax in shown] == [(5, 5), (3, 3)]
    assert [ax.get_title() for ax in shown] == ["x", "y"]
    with pytest.raises(ValueError, match="2-D"):
        plot_feature_maps(np.zeros((2, 2, 3, 3)))


def test_history_plots_epoch_means_and_validation():
    history = {
        "loss": [2.0, 1.0],
        "accuracy": [0.3, 0.7],
        "val_loss": [1.5, 0.9],
        "val_accuracy": [0.5, 0.8],
        "step_loss": [2.2, 1.8, 1.1, 0.9],
    }
    fig = plot_history(history)
    ax_loss, ax_acc = fig.axes
    ys = {line.get_label(): list(line.get_ydata()) for line in ax_loss.lines}
    assert ys["train (epoch mean)"] == [2.0, 1.0]
    assert ys["validation"] == [1.5, 0.9]
    assert ys["train (per step)"] == [2.2, 1.8, 1.1, 0.9]
    assert [list(line.get_ydata()) for line in ax_acc.lines] == [[0.3, 0.7], [0.5, 0.8]]
    with pytest.raises(ValueError, match="accuracy"):
        plot_history({"loss": [1.0]})


def test_loss_curves_one_line_each():
    ax = plot_loss_curves({"cnnlib": [3, 2, 1], "torch": [3, 2, 1.5]})
    assert [line.get_label() for line in ax.lines] == ["cnnlib", "torch"]
    with pytest.raises(ValueError):
        plot_loss_curves({})


def test_filters_symmetric_colour_scale():
    w = np.random.default_rng(0).standard_normal((6, 2, 3, 3))
    fig = plot_filters(w, ncols=4)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 6
    vmax = np.abs(w[:, 0]).max()
    assert images[0].get_clim() == pytest.approx((-vmax, vmax))
    np.testing.assert_array_equal(images[5].get_array(), w[5, 0])
    assert "input channel 0" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="plot_filters"):
        plot_filters(np.zeros((3, 3)))
