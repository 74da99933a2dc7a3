"""cnnlib: convolutional neural networks from scratch, checked against PyTorch.

Subpackages follow torch's layout: ``cnnlib.functional`` (ops with forward and backward),
``cnnlib.nn`` (layers and containers), ``cnnlib.init``, ``cnnlib.optim``, ``cnnlib.models``,
``cnnlib.data``, ``cnnlib.utils``; ``cnnlib.viz`` and ``cnnlib.widgets`` serve the book.
"""

__version__ = "0.1.0"
