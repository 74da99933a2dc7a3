"""cnnlib.utils.summary: shapes, parameter totals, MACs and receptive fields."""

import numpy as np
import pytest

from cnnlib import models, nn, ops
from cnnlib.utils.summary import summary


def test_conv_macs_by_hand_and_shapes():
    net = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    s = summary(net, (3, 32, 32))
    conv = s.rows[0]
    assert conv.shape == (64, 32, 32)
    # each of the 64 x 32 x 32 outputs sums 3 x 3 x 3 products
    assert conv.macs == 64 * 32 * 32 * 3 * 3 * 3 == 1_769_472
    assert conv.params == 64 * 27 + 64
    assert s.rows[2].shape == (64, 16, 16) and s.rows[2].macs == 0
    assert s.output_shape == (64, 16, 16) and s.total_params == 1792


def test_grouped_strided_dilated_conv_macs():
    net = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=2, dilation=2, groups=4))
    s = summary(net, (1, 8, 15, 15))
    # (15 + 4 - 2*2 - 1) // 2 + 1 = 8
    assert s.rows[0].shape == (16, 8, 8)
    assert s.rows[0].macs == 16 * 8 * 8 * (8 // 4) * 9


def test_receptive_field_of_stacked_convs():
    three = nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1) for _ in range(3)])
    s = summary(three, (1, 32, 32))
    assert [r.rf for r in s.rows] == [3, 5, 7] and s.rows[-1].jump == 1
    pooled = nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3))
    s = summary(pooled, (1, 32, 32))
    # the pool doubles the jump, so the last 3x3 conv adds 2 * (3 - 1) pixels
    assert [(r.rf, r.jump) for r in s.rows] == [(3, 1), (4, 2), (8, 2)]


def test_branches_and_table_output():
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.Residual(nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1))),
        nn.Concat(nn.Identity(), nn.Conv2d(4, 2, 1), dim=1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 10),
    )
    s = summary(net, (3, 16, 16))
    assert s.output_shape == (10,)
    assert max(r.rf or 0 for r in s.rows) == 7
    assert s.rows[-1].rf is None and s.rows[-1].macs == 60
    x = np.zeros((2, 3, 16, 16), np.float32)
    assert net(x).shape == (2, 10)
    text = str(s)
    assert "output shape" in text and f"{s.total_params:,}" in text
    html = s._repr_html_()
    assert html.startswith("<table>") and html.count("<tr>") == len(s.rows) + 1


@pytest.mark.parametrize(
    "build, shape, params, gmacs",
    [
        # torchvision's reference numbers (parameters; GFLOPS column = multiply-adds)
        (lambda: models.alexnet(variant="torchvision"), (3, 224, 224), 61_100_840, 0.71),
        (models.resnet18, (3, 224, 224), 11_689_512, 1.81),
        (models.resnet50, (3, 224, 224), 25_557_032, 4.09),
        # torchvision's "_ops" (GMACs) of googlenet, densenet121, mobilenet_v2,
        # convnext_tiny and resnext50_32x4d: 1.498, 2.834, 0.301, 4.456, 4.23
        (models.googlenet, (3, 224, 224), 6_624_904, 1.498),
        (models.densenet121, (3, 224, 224), 7_978_856, 2.834),
        (models.mobilenet_v2, (3, 224, 224), 3_504_872, 0.301),
        (models.convnext_tiny, (3, 224, 224), 28_589_128, 4.456),
        (models.resnext50_32x4d, (3, 224, 224), 25_028_904, 4.230),
    ],
)
def test_reference_totals(build, shape, params, gmacs):
    s = summary(build(), shape)
    assert s.total_params == params
    assert s.output_shape == (1000,)
    digits = len(str(gmacs).split(".")[1])
    assert round(s.total_macs / 1e9, max(digits, 2)) == gmacs


def test_blocks_with_their_own_wiring():
    """BasicBlock adds two paths, DenseLayer concatenates, SqueezeExcitation multiplies,
    ConvNeXt's layer scale is a row, GoogLeNet's auxiliary heads are side branches."""
    block = models.basic_block(8, 16, stride=2)
    s = summary(block, (8, 10, 10))
    names = [r.name for r in s.rows]
    assert names == ["conv1", "bn1", "relu", "conv2", "bn2", "downsample.0", "downsample.1",
                     "relu"]  # fmt: skip
    assert s.output_shape == (16, 5, 5) and s.total_params == block_params(block)
    assert s["conv2"].rf == 7 and s["downsample.0"].rf == 1  # the sum keeps the larger: 7
    assert s.rows[-1].rf == 7 and s.rows[-1].jump == 2
    layer = summary(models.dense_layer(6, 4), (6, 8, 8))
    assert layer.output_shape == (10, 8, 8) and layer["conv2"].shape == (4, 8, 8)
    se = summary(ops.SqueezeExcitation(16, 4), (16, 8, 8))
    assert se.output_shape == (16, 8, 8) and se["fc1"].shape == (4, 1, 1)
    assert se.total_params == 2 * 16 * 4 + 16 + 4 and se.rows[-1].rf is None
    block = models.CNBlock(8, 1e-6, 0.1)
    cn = summary(block, (8, 6, 6))
    assert cn["block.1"].shape == (6, 6, 8) and cn["block.3"].shape == (6, 6, 32)
    assert cn["block.3"].macs == 36 * 8 * 32 and cn["block.3"].rf == 7  # per position
    assert cn["layer_scale"].kind == "Parameter" and cn["layer_scale"].params == 8
    assert cn.output_shape == (8, 6, 6) and cn.total_params == block_params(block)
    g = summary(models.googlenet(aux_logits=True), (3, 224, 224))
    assert g.output_shape == (1000,) and g["aux1.fc2"].shape == (1000,)
    assert g["aux2.conv.conv"].shape == (128, 4, 4) and g["inception5b.branch4.1.conv"].rf


def block_params(module):
    return sum(p.data.size for p in module.parameters())


def test_small_stems_have_fewer_rows():
    s = summary(models.googlenet(10, in_channels=1, width=1 / 8, small=True), (1, 28, 28))
    assert s.rows[0].name == "conv1.conv" and "maxpool1" not in [r.name for r in s.rows]
    assert s["inception3a.branch1.conv"].shape == (8, 28, 28) and s.output_shape == (10,)


@pytest.mark.slow
def test_vgg16_totals():
    s = summary(models.vgg16(), (3, 224, 224))
    assert s.total_params == 138_357_544
    assert round(s.total_macs / 1e9, 2) == 15.47  # torchvision lists 15.47 GFLOPS
    assert s["features.0"].rf == 3 and s.rows[-1].shape == (1000,)
    # the last conv of VGG-16 sees 196 x 196 input pixels, neighbours 16 pixels apart
    last_conv = [r for r in s.rows if r.kind == "Conv2d"][-1]
    assert (last_conv.rf, last_conv.jump) == (196, 16)


def test_summary_matches_a_real_forward_for_custom_layers():
    net = models.lenet5(variant="original")
    s = summary(net, (1, 32, 32))
    assert s.total_params == 60_000
    shapes = [r.shape for r in s.rows]
    assert shapes[0] == (6, 28, 28) and (16, 10, 10) in shapes and shapes[-1] == (10,)
    net.eval()
    assert net(np.zeros((2, 1, 32, 32), np.float32)).shape == (2, 10)


def test_rejects_bad_shape():
    with pytest.raises(ValueError, match="input_shape"):
        summary(nn.Sequential(nn.ReLU()), (3, 4))


def test_string_padding():
    net = nn.Sequential(nn.Conv2d(2, 4, 5, padding="same"), nn.Conv2d(4, 4, 3, padding="valid"))
    s = summary(net, (2, 9, 9))
    assert [r.shape for r in s.rows] == [(4, 9, 9), (4, 7, 7)]
    assert [r.rf for r in s.rows] == [5, 7]
    assert net(np.zeros((1, 2, 9, 9), np.float32)).shape == (1, 4, 7, 7)


class Double(nn.Module):
    """A layer summary has no formula for: stacks x with itself along the channels."""

    def forward(self, x):
        self.out = np.concatenate([x, x], axis=1)
        return self.out


def test_unknown_layer_shape_comes_from_a_forward_pass():
    net = nn.Sequential(nn.Conv2d(1, 3, 3), Double(), nn.Flatten())
    s = summary(net, (1, 6, 6))
    assert s.rows[1].kind == "Double" and s.rows[1].shape == (6, 4, 4)
    assert s.output_shape == (96,) and s.rows[1].rf is None
