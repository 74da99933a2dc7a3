"""cnnlib.models and cnnlib.ops against torchvision, rebuilt in torch.nn (torchvision_twins).

* Every model's state_dict has torchvision's keys, in torchvision's order, with the same
  shapes, and the parameter count torchvision publishes.
* A twin's state_dict loads into the cnnlib model (strict), and forward, the input
  gradient, every parameter gradient and the batch-norm buffers then equal torch's in
  float64 (rtol 1e-7), in eval mode (randomised running statistics) and in training mode
  (batch statistics; dropout off on both sides), on NumPy and on torch tensors.
* The new blocks (StochasticDepth, SqueezeExcitation, CNBlock, InvertedResidual,
  LayerNorm2d, Permute, Conv2dNormActivation) also in float32, and stochastic depth with
  a training-mode mask replayed in torch.
"""

import numpy as np
import pytest
from helpers import check_op
from nn_helpers import compare, copy_weights, layer_backend

from cnnlib import models, nn, ops
from cnnlib import random as crandom
from cnnlib.backend import to_numpy
from cnnlib.models.convnext import CNBlockConfig
from cnnlib.models.vgg import make_layers

torch = pytest.importorskip("torch")
import torchvision_twins as tv  # noqa: E402

BACKENDS = ["numpy", "torch-cpu", "torch-cuda"]


@pytest.fixture(autouse=True)
def _seeded():
    """The same weights (torch's init of the twins, cnnlib's) in every run."""
    torch.manual_seed(0)
    crandom.manual_seed(0)


def n_params(model):
    return sum(int(np.prod(p.data.shape)) for p in model.parameters())


# ----- keys, shapes and parameter counts at full size ---------------------------------

FULL_SIZE = [
    ("resnet18", models.resnet18, tv.resnet18, 11_689_512),
    ("resnet34", models.resnet34, tv.resnet34, 21_797_672),
    ("resnet50", models.resnet50, tv.resnet50, 25_557_032),
    ("resnext50_32x4d", models.resnext50_32x4d, tv.resnext50_32x4d, 25_028_904),
    ("alexnet", lambda: models.alexnet(variant="torchvision"), tv.AlexNet, 61_100_840),
    ("densenet121", models.densenet121, tv.densenet121, 7_978_856),
    ("googlenet", models.googlenet, lambda: tv.googlenet(aux_logits=False), 6_624_904),
    ("googlenet_aux", lambda: models.googlenet(aux_logits=True), tv.googlenet, 13_004_888),
    ("mobilenet_v2", models.mobilenet_v2, tv.mobilenet_v2, 3_504_872),
    ("convnext_tiny", models.convnext_tiny, tv.convnext_tiny, 28_589_128),
    pytest.param("vgg16", models.vgg16, tv.vgg16, 138_357_544, marks=pytest.mark.slow),
    pytest.param(
        "vgg16_bn",
        lambda: models.vgg16(batch_norm=True),
        tv.vgg16_bn,
        138_365_992,
        marks=pytest.mark.slow,
    ),  # fmt: skip
]


def _shapes(state):
    return [(k, tuple(v.shape)) for k, v in state.items()]


@pytest.mark.parametrize("name, ours, twin, count", FULL_SIZE)
def test_state_dict_keys_shapes_and_count_are_torchvisions(name, ours, twin, count):
    with torch.device("meta"):  # shapes only, no memory
        ref = twin()
    model = ours()
    assert _shapes(model.state_dict()) == _shapes(ref.state_dict())
    assert n_params(model) == sum(p.numel() for p in ref.parameters()) == count


def test_named_examples_of_torchvision_keys():
    keys = {
        "resnet": (models.resnet18(), ["conv1.weight", "bn1.running_mean",
                   "layer1.0.conv1.weight", "layer2.0.downsample.0.weight", "fc.weight"]),
        "densenet": (models.densenet121(), ["features.conv0.weight",
                     "features.denseblock1.denselayer1.norm1.weight",
                     "features.transition1.conv.weight", "classifier.weight"]),
        "googlenet": (models.googlenet(aux_logits=True), ["conv1.conv.weight",
                      "conv1.bn.weight", "inception3a.branch1.conv.weight",
                      "inception3a.branch2.0.conv.weight", "aux1.fc2.weight", "fc.weight"]),
        "mobilenet": (models.mobilenet_v2(), ["features.0.0.weight",
                      "features.1.conv.0.0.weight", "classifier.1.weight"]),
        "convnext": (models.convnext_tiny(), ["features.1.0.block.0.weight",
                     "features.1.0.layer_scale", "features.2.1.weight",
                     "classifier.2.weight"]),
        "alexnet": (models.alexnet(width=1 / 16, hidden=8), ["features.0.weight",
                    "classifier.6.bias"]),
        "vgg": (models.vgg11(width=1 / 16, hidden=8), ["features.0.weight",
                "classifier.6.bias"]),
    }  # fmt: skip
    for model, names in keys.values():
        state = model.state_dict()
        assert all(k in state for k in names), [k for k in names if k not in state]


# ----- forward and backward equal torch's once the twin's weights are loaded ---------------


def _randomise(twin, seed=0):
    """Non-trivial running statistics, norm affine parameters and layer scales."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in twin.modules():
            if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.LayerNorm)):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
            if isinstance(m, tv.CNBlock):
                m.layer_scale.copy_(0.5 + torch.rand(m.layer_scale.shape, generator=g))


def _set_mode(ours, twin, train):
    """Training (batch statistics) or eval mode on both; dropout always off."""
    ours.train(train)
    twin.train(train)
    for m in ours.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    for m in twin.modules():
        if isinstance(m, torch.nn.Dropout):
            m.eval()


def replay_masks(ours, twin):
    """Make `twin` use the stochastic-depth masks cnnlib drew in its forward just before
    (compare() runs cnnlib's model first), so that training mode can be compared."""

    def hook(module, args):
        pairs = zip(
            [m for m in ours.modules() if isinstance(m, ops.StochasticDepth)],
            [m for m in twin.modules() if isinstance(m, tv.StochasticDepth)],
        )
        for mine, theirs in pairs:
            noise = mine.cache.noise
            theirs.noise = None if noise is None else torch.from_numpy(to_numpy(noise)).double()

    twin.register_forward_pre_hook(hook)


def check_twin(ours, twin, shape, backend="numpy", train=False, dtype="float64", seed=0,
               atol=None):  # fmt: skip
    """Load the twin's weights into `ours` and compare forward and backward on `backend`
    (rtol and atol of helpers.TOLERANCES unless atol is given)."""
    backend = layer_backend(backend)  # skips torch-cuda without a GPU
    torch.manual_seed(seed)
    twin = twin.double()
    _randomise(twin, seed)
    copy_weights(ours, twin, backend, dtype)
    _set_mode(ours, twin, train)
    x = np.random.default_rng(seed).standard_normal(shape)
    replay_masks(ours, twin)
    compare(ours, twin, x, backend, dtype=dtype, atol=atol)


# In training mode, batch norm's backward subtracts per-channel means of the gradient, so
# an entry of dx much smaller than the largest ones keeps an absolute error of about
# eps_float64 x (the largest entries) x (the depth): ~1e-9 for |dx| ~ 20 after ResNet-18.
# Models in training mode are compared with this absolute tolerance (rtol stays 1e-7).
MODEL_ATOL = 1e-8

# Training-mode batch norm over two values (a batch of 2 on 1x1 maps) is degenerate:
# x_hat = +-1 whatever the input, and its backward is ill-conditioned. The inputs below
# leave every batch norm at least 8 values (64x64 for the nets that downsample 32x).

# (cnnlib model, twin, input shape): small inputs, full depth where it is cheap
CASES = {
    "resnet18": (lambda: models.resnet18(10), lambda: tv.resnet18(num_classes=10),
                 (2, 3, 64, 64)),
    "resnet_bottleneck": (lambda: models.resnet((1, 1, 1, 1), True, 10),
                          lambda: tv.ResNet(tv.Bottleneck, [1, 1, 1, 1], 10), (2, 3, 64, 64)),
    "resnext": (lambda: models.resnet((1, 1, 1, 1), True, 10, groups=4, width_per_group=8),
                lambda: tv.ResNet(tv.Bottleneck, [1, 1, 1, 1], 10, groups=4,
                                  width_per_group=8), (2, 3, 64, 64)),
    "resnet_dilated": (
        lambda: models.resnet((1, 1, 1, 1), True, 5,
                              replace_stride_with_dilation=[False, True, True]),
        lambda: tv.ResNet(tv.Bottleneck, [1, 1, 1, 1], 5,
                          replace_stride_with_dilation=[False, True, True]), (1, 3, 32, 32)),
    "vgg_bn": (lambda: models.VGG(make_layers([8, "M", 16, 16, "M"], True), 5,
                                  hidden=16, pool_size=2),
               lambda: tv.VGG(tv.make_layers([8, "M", 16, 16, "M"], True), 5, hidden=16,
                              pool_size=2, last_channels=16), (2, 3, 16, 16)),
    "alexnet": (lambda: models.alexnet(7, variant="torchvision", width=0.25, hidden=32),
                lambda: tv.AlexNet(7, channels=(16, 48, 96, 64, 64), hidden=32),
                (2, 3, 64, 64)),
    "densenet": (lambda: models.densenet((2, 3), 8, 16, 5, bn_size=2),
                 lambda: tv.DenseNet(8, (2, 3), 16, 2, 0, 5), (2, 3, 32, 32)),
    "googlenet": (lambda: models.googlenet(6), lambda: tv.googlenet(num_classes=6,
                  aux_logits=False), (2, 3, 64, 64)),
    # 64x64: the last maps are 2x2, so training-mode batch norm there averages 8 values
    # (on 1x1 maps and a batch of 2 it is ill-conditioned: |dx| ~ 1e3)
    "mobilenet_v2": (lambda: models.mobilenet_v2(10), lambda: tv.mobilenet_v2(num_classes=10),
                     (2, 3, 64, 64)),
    "mobilenet_v2_half": (lambda: models.mobilenet_v2(10, 0.5),
                          lambda: tv.mobilenet_v2(num_classes=10, width_mult=0.5),
                          (2, 3, 64, 64)),
    "convnext": (
        lambda: models.ConvNeXt([CNBlockConfig(8, 16, 1),
                                 CNBlockConfig(16, None, 2)], 0.5,
                                num_classes=5),
        lambda: tv.ConvNeXt([tv.CNBlockConfig(8, 16, 1), tv.CNBlockConfig(16, None, 2)], 0.5,
                            num_classes=5), (2, 3, 32, 32)),
}  # fmt: skip


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("name", list(CASES))
def test_model_matches_torchvision_float64(name, train):
    ours, twin, shape = CASES[name]
    check_twin(ours(), twin(), shape, train=train, atol=MODEL_ATOL if train else None)


@pytest.mark.parametrize("backend", ["torch-cpu", "torch-cuda"])
@pytest.mark.parametrize("name", ["resnet18", "densenet", "googlenet", "mobilenet_v2",
                                  "convnext", "alexnet", "vgg_bn"])  # fmt: skip
def test_model_on_torch_tensors_matches_torchvision(name, backend):
    ours, twin, shape = CASES[name]
    check_twin(ours(), twin(), shape, backend=backend, train=True, atol=MODEL_ATOL)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet50", "resnext50_32x4d", "densenet121", "convnext_tiny"])
def test_full_size_model_matches_torchvision(name):
    ours, twin = {
        "resnet50": (models.resnet50, tv.resnet50),
        "resnext50_32x4d": (models.resnext50_32x4d, tv.resnext50_32x4d),
        "densenet121": (models.densenet121, tv.densenet121),
        "convnext_tiny": (models.convnext_tiny, tv.convnext_tiny),
    }[name]
    check_twin(ours(), twin(), (2, 3, 64, 64), train=True, atol=MODEL_ATOL)


def test_googlenet_aux_heads_match_torchvision_in_training():
    ours, twin = models.googlenet(6, aux_logits=True), tv.googlenet(num_classes=6)
    twin = twin.double()
    _randomise(twin)
    copy_weights(ours, twin, "numpy")
    _set_mode(ours, twin, True)
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64))
    xt = torch.tensor(x, requires_grad=True)
    outs, refs = ours(x), twin(xt)
    assert type(outs).__name__ == "GoogLeNetOutputs" and len(refs) == 3
    douts = [np.random.default_rng(i).standard_normal(o.shape) for i, o in enumerate(outs)]
    for o, r in zip(outs, refs):
        np.testing.assert_allclose(o, r.detach().numpy(), rtol=1e-7, atol=1e-10)
    dx = ours.backward(tuple(douts))
    torch.autograd.backward(refs, [torch.from_numpy(d) for d in douts])
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-7, atol=1e-10)
    ref_params = dict(twin.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, ref_params[name].grad.numpy(), rtol=1e-7, atol=1e-10,
                                   err_msg=name)  # fmt: skip
    ours.eval()
    twin.eval()
    np.testing.assert_allclose(ours(x), twin(xt).detach().numpy(), rtol=1e-7, atol=1e-10)
    with pytest.raises(ValueError, match="tuple"):
        ours.train()
        ours.backward(np.zeros_like(ours(x)[0]))


# ----- the new blocks, float64 and float32 ------------------------------------------------

BLOCKS = {
    "se": (lambda: ops.SqueezeExcitation(8, 3), lambda: tv.SqueezeExcitation(8, 3),
           (2, 8, 5, 5)),
    "se_silu_hardsigmoid": (
        lambda: ops.SqueezeExcitation(8, 4, nn.SiLU, nn.Hardsigmoid),
        lambda: tv.SqueezeExcitation(8, 4, torch.nn.SiLU, torch.nn.Hardsigmoid), (2, 8, 4, 6)),
    "inverted_residual": (lambda: models.InvertedResidual(8, 8, 1, 6),
                          lambda: tv.InvertedResidual(8, 8, 1, 6), (2, 8, 6, 6)),
    "inverted_residual_stride2": (lambda: models.InvertedResidual(8, 12, 2, 6),
                                  lambda: tv.InvertedResidual(8, 12, 2, 6), (2, 8, 7, 7)),
    "inverted_residual_t1": (lambda: models.InvertedResidual(8, 8, 1, 1),
                             lambda: tv.InvertedResidual(8, 8, 1, 1), (2, 8, 5, 5)),
    "cnblock": (lambda: models.CNBlock(8, 1e-6, 0.0), lambda: tv.CNBlock(8, 1e-6, 0.0),
                (2, 8, 9, 9)),
    "cnblock_stochastic_depth": (lambda: models.CNBlock(8, 1e-6, 0.5),
                                 lambda: tv.CNBlock(8, 1e-6, 0.5), (6, 8, 5, 5)),
    "layer_norm_2d": (lambda: models.LayerNorm2d(6, eps=1e-6),
                      lambda: tv.LayerNorm2d(6, eps=1e-6), (2, 6, 3, 4)),
    "conv_norm_activation": (
        lambda: ops.Conv2dNormActivation(4, 6, 3, stride=2, activation_layer=nn.ReLU6),
        lambda: tv.Conv2dNormActivation(4, 6, 3, stride=2, activation_layer=torch.nn.ReLU6),
        (2, 4, 9, 9)),
    "basic_block": (lambda: models.basic_block(8, 16, 2),
                    lambda: tv.BasicBlock(8, 16, 2, torch.nn.Sequential(
                        tv.conv1x1(8, 16, 2), torch.nn.BatchNorm2d(16))), (2, 8, 6, 6)),
    "dense_layer": (lambda: models.dense_layer(6, 4), None, (2, 6, 5, 5)),
}  # fmt: skip


# torch's float64 hardsigmoid gradient is float32(1/6) = 0.16666667163..., a relative
# error of 3e-8 that the two branches of squeeze-and-excitation partly cancel; cnnlib uses
# 1/6. Only that block gets an absolute tolerance in float64.
BLOCK_ATOL = {("se_silu_hardsigmoid", "float64"): 1e-8}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("name", list(BLOCKS))
def test_block_matches_torchvision(name, train, dtype):
    ours, twin, shape = BLOCKS[name]
    if twin is None:  # cnnlib's DenseLayer returns cat([x, new]): torchvision's layer + cat

        class Twin(tv._DenseLayer):
            def __init__(self):
                super().__init__(6, 4, 4, 0)

            def forward(self, x):
                return torch.cat([x, super().forward(x)], 1)

        twin = Twin
    check_twin(ours(), twin(), shape, train=train, dtype=dtype, atol=BLOCK_ATOL.get((name, dtype)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_blocks_on_every_backend(backend):
    for name in ("se", "cnblock_stochastic_depth", "layer_norm_2d", "inverted_residual"):
        ours, twin, shape = BLOCKS[name]
        check_twin(ours(), twin(), shape, backend=backend, train=True)


def test_permute_forward_and_backward():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    layer = ops.Permute([0, 2, 3, 1])
    y = layer(x)
    assert y.shape == (2, 4, 5, 3) and np.array_equal(y, x.transpose(0, 2, 3, 1))
    g = np.random.default_rng(1).standard_normal(y.shape)
    xt = torch.tensor(x, requires_grad=True)
    tv.Permute([0, 2, 3, 1])(xt).backward(torch.from_numpy(g))
    np.testing.assert_array_equal(layer.backward(g), xt.grad.numpy())
    with pytest.raises(ValueError, match="permutation"):
        ops.Permute([0, 2, 2, 1])


# ----- stochastic depth ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode", ["row", "batch"])
@pytest.mark.parametrize("p", [0.0, 0.3, 0.8, 1.0])
def test_stochastic_depth_with_a_fixed_mask_matches_torchvision(backend, p, mode, dtype):
    x = np.random.default_rng(0).standard_normal((6, 3, 2, 2))
    size = (6, 1, 1, 1) if mode == "row" else (1, 1, 1, 1)
    mask = crandom.bernoulli(size, 1 - p, seed=7)  # what seed=7 draws inside the op
    noise = torch.from_numpy(mask / (1 - p) if p < 1 else mask)

    def reference(t):
        return tv.stochastic_depth(t, p, mode, True, noise=noise.to(t.dtype))

    check_op(lambda a: ops.stochastic_depth_forward(a, p, mode, seed=7),
             ops.stochastic_depth_backward, reference, [x], backend=backend, dtype=dtype,
             op=lambda a: ops.stochastic_depth(a, p, mode, seed=7))  # fmt: skip


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth_in_eval_mode_is_the_identity(backend, mode):
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 2))

    def reference(t):
        return tv.stochastic_depth(t, 0.5, mode, training=False)

    out = check_op(lambda a: ops.stochastic_depth_forward(a, 0.5, mode, training=False),
                   ops.stochastic_depth_backward, reference, [x], backend=backend)  # fmt: skip
    np.testing.assert_array_equal(out, x)
    layer = ops.StochasticDepth(0.5, mode).eval()
    assert layer(x) is x and layer.backward(x) is x


def test_stochastic_depth_drops_rows_at_rate_p_and_rescales_the_rest():
    x = np.ones((20_000, 2, 1, 1))
    layer = ops.StochasticDepth(0.3, "row", generator=np.random.default_rng(0))
    y = layer(x)
    kept = y[:, 0, 0, 0] != 0
    assert abs(kept.mean() - 0.7) < 0.02  # a 3-sigma band is 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7)
    assert (y[~kept] == 0).all() and (y[:, 0] == y[:, 1]).all()  # whole rows
    np.testing.assert_allclose(layer.backward(np.ones_like(y)), y)
    batch = ops.StochasticDepth(0.5, "batch", generator=np.random.default_rng(1))
    outs = {float(batch(x[:4])[0, 0, 0, 0]) for _ in range(40)}
    assert outs == {0.0, 2.0}  # the whole batch kept (x2) or dropped, both seen


def test_stochastic_depth_rejects_bad_arguments():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match="between 0 and 1"):
        ops.stochastic_depth(x, 1.5, "row")
    with pytest.raises(ValueError, match="'batch' or 'row'"):
        ops.StochasticDepth(0.1, "column")
    with pytest.raises(TypeError, match="floating-point"):
        ops.stochastic_depth(np.zeros((2, 3), np.int64), 0.1, "row")
    with pytest.raises(TypeError, match="training"):
        ops.stochastic_depth(x, 0.1, "row", training="yes")


def test_squeeze_excitation_gradient_has_both_branches():
    """The direct branch alone (dout * s) is not the gradient: x also reaches the output
    through s(x). Checked against a central difference."""
    se = ops.SqueezeExcitation(4, 2).double()
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((1, 4, 3, 3)), rng.standard_normal((1, 4, 3, 3))
    se(x)
    dx = se.backward(g)
    s = se.cache.scale
    eps, i = 1e-6, (0, 1, 2, 0)
    up, down = x.copy(), x.copy()
    up[i] += eps
    down[i] -= eps
    numeric = (np.sum(se(up) * g) - np.sum(se(down) * g)) / (2 * eps)
    assert abs(dx[i] - numeric) < 1e-6
    assert abs((g * s)[i] - numeric) > 1e-3  # the direct branch alone is wrong here
