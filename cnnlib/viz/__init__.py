"""Matplotlib helpers for the book. The core library never imports this package."""

from cnnlib.viz.filtering import (
    PADDING_MODES,
    conv_output_size,
    filter_image,
    output_size_formula,
    pad2d,
)
from cnnlib.viz.grids import draw_grid, show_matrices
from cnnlib.viz.images import IMAGES, load_image, show_image, to_gray, to_png
from cnnlib.viz.init_stats import (
    SignalStats,
    init_std,
    mean_stats,
    plot_signal_propagation,
    signal_propagation,
)
from cnnlib.viz.layers import plot_feature_maps, plot_im2col, plot_timings
from cnnlib.viz.training import plot_filters, plot_history, plot_loss_curves

__all__ = [
    "IMAGES",
    "PADDING_MODES",
    "SignalStats",
    "conv_output_size",
    "draw_grid",
    "filter_image",
    "init_std",
    "load_image",
    "mean_stats",
    "output_size_formula",
    "pad2d",
    "plot_feature_maps",
    "plot_filters",
    "plot_history",
    "plot_im2col",
    "plot_loss_curves",
    "plot_signal_propagation",
    "plot_timings",
    "show_image",
    "show_matrices",
    "signal_propagation",
    "to_gray",
    "to_png",
]
