"""Datasets that need no network (MNIST and Fashion-MNIST subsets shipped in the package among
them), readers for the standard files, a mini-batch loader and augmentations."""

from cnnlib.data import augment
from cnnlib.data.digits import Digits, load_digits, resize
from cnnlib.data.loader import DataLoader
from cnnlib.data.mnist import FASHION_MNIST_CLASSES, load_fashion_mnist, load_mnist
from cnnlib.data.readers import CIFAR10, CIFAR10_CLASSES, load_cifar10, read_idx
from cnnlib.data.scenes import ShapeScenes, make_shape_scenes
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
    "load_fashion_mnist",
    "FASHION_MNIST_CLASSES",
    "read_idx",
    "SHAPES",
    "Shapes",
    "draw_shape",
    "make_shapes",
    "ShapeScenes",
    "make_shape_scenes",
]
