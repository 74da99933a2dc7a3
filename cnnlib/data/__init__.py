"""Datasets that need no network, a mini-batch loader and augmentations."""

from cnnlib.data import augment
from cnnlib.data.digits import Digits, load_digits, resize
from cnnlib.data.loader import DataLoader
from cnnlib.data.readers import CIFAR10, CIFAR10_CLASSES, load_cifar10, load_mnist, read_idx
from cnnlib.data.shapes import SHAPES, Shapes, draw_shape, make_shapes

__all__ = [
    "augment",
    "Digits",
    "load_digits",
    "resize",
    "DataLoader",
    "CIFAR10",
    "CIFAR10_CLASSES",
    "load_cifar10",
    "load_mnist",
    "read_idx",
    "SHAPES",
    "Shapes",
    "draw_shape",
    "make_shapes",
]
