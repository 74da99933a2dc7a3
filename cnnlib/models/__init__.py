"""Classic CNNs built from cnnlib.nn layers, with the published parameter counts."""

from cnnlib.models.alexnet import alexnet
from cnnlib.models.densenet import densenet, densenet121
from cnnlib.models.inception import googlenet, inception_module
from cnnlib.models.lenet import lenet5
from cnnlib.models.resnet import basic_block, bottleneck, resnet, resnet18, resnet34, resnet50
from cnnlib.models.vgg import vgg, vgg11, vgg13, vgg16, vgg19

__all__ = [
    "lenet5",
    "alexnet",
    "vgg",
    "vgg11",
    "vgg13",
    "vgg16",
    "vgg19",
    "googlenet",
    "inception_module",
    "resnet",
    "resnet18",
    "resnet34",
    "resnet50",
    "basic_block",
    "bottleneck",
    "densenet",
    "densenet121",
]
