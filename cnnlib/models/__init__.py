"""Classic and modern CNNs built from cnnlib.nn layers, with the published parameter counts.

Every model except LeNet-5 names its layers as torchvision does, so its ``state_dict()``
keys are torchvision's and a torchvision state_dict loads with ``load_state_dict``. The
builders keep cnnlib's own keyword arguments for scaled-down versions (`width` or
`width_mult`, `small` or `stem_stride`, `in_channels`, `hidden`, ...).
"""

from cnnlib.models.alexnet import AlexNet, alexnet
from cnnlib.models.convnext import (
    CNBlock,
    CNBlockConfig,
    ConvNeXt,
    LayerNorm2d,
    convnext,
    convnext_tiny,
)
from cnnlib.models.densenet import (
    DenseBlock,
    DenseLayer,
    DenseNet,
    Transition,
    dense_layer,
    densenet,
    densenet121,
    transition,
)
from cnnlib.models.inception import (
    BasicConv2d,
    GoogLeNet,
    Inception,
    InceptionAux,
    googlenet,
    inception_module,
)
from cnnlib.models.lenet import lenet5
from cnnlib.models.mobilenetv2 import InvertedResidual, MobileNetV2, mobilenet_v2
from cnnlib.models.resnet import (
    BasicBlock,
    Bottleneck,
    ResNet,
    basic_block,
    bottleneck,
    resnet,
    resnet18,
    resnet34,
    resnet50,
    resnext50_32x4d,
)
from cnnlib.models.vgg import VGG, vgg, vgg11, vgg13, vgg16, vgg19

__all__ = [
    "lenet5",
    "AlexNet",
    "alexnet",
    "VGG",
    "vgg",
    "vgg11",
    "vgg13",
    "vgg16",
    "vgg19",
    "GoogLeNet",
    "Inception",
    "InceptionAux",
    "BasicConv2d",
    "googlenet",
    "inception_module",
    "ResNet",
    "BasicBlock",
    "Bottleneck",
    "resnet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnext50_32x4d",
    "basic_block",
    "bottleneck",
    "DenseNet",
    "DenseBlock",
    "DenseLayer",
    "Transition",
    "densenet",
    "densenet121",
    "dense_layer",
    "transition",
    "MobileNetV2",
    "InvertedResidual",
    "mobilenet_v2",
    "ConvNeXt",
    "CNBlock",
    "CNBlockConfig",
    "LayerNorm2d",
    "convnext",
    "convnext_tiny",
]
