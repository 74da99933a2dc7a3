"""The book's explorers: anywidget widgets that compute in the browser (so they also work on the
static website) and compute the same numbers with cnnlib in Python (so tests compare the two)."""

from cnnlib.widgets.batchnorm_explorer import (
    BatchNormExplorer,
    plot_batch_norm_run,
    simulate_batch_norm,
)
from cnnlib.widgets.conv_stepper import ConvStepper
from cnnlib.widgets.init_explorer import InitExplorer
from cnnlib.widgets.kernel_explorer import KernelExplorer
from cnnlib.widgets.seeded import SeededRandom

__all__ = [
    "BatchNormExplorer",
    "ConvStepper",
    "InitExplorer",
    "KernelExplorer",
    "SeededRandom",
    "plot_batch_norm_run",
    "simulate_batch_norm",
]
