"""cnnlib: convolutional neural networks from scratch, checked against PyTorch.

Subpackages follow torch's layout: ``cnnlib.functional`` (ops with forward and backward),
``cnnlib.nn`` (layers and containers), ``cnnlib.init``, ``cnnlib.optim``, ``cnnlib.models``,
``cnnlib.data``, ``cnnlib.utils``; ``cnnlib.viz`` and ``cnnlib.widgets`` serve the book.
``cnnlib.no_grad()`` (torch's name) runs forward passes that keep no cache for backward.
"""

from cnnlib.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__version__ = "0.1.0"

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]
