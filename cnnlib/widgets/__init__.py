"""ipywidgets explorers for the book; each is a class with a ``.widget`` and plain methods."""

from cnnlib.widgets.batchnorm_explorer import (
    BatchNormExplorer,
    plot_batch_norm_run,
    simulate_batch_norm,
)
from cnnlib.widgets.conv_stepper import ConvStepper
from cnnlib.widgets.init_explorer import InitExplorer
from cnnlib.widgets.kernel_explorer import KernelExplorer

__all__ = [
    "BatchNormExplorer",
    "ConvStepper",
    "InitExplorer",
    "KernelExplorer",
    "plot_batch_norm_run",
    "simulate_batch_norm",
]
