"""cnnlib.models: exact parameter counts, options, and forward/backward equal to torch.

`to_torch` rebuilds a chain-shaped cnnlib model (LeNet-5, the paper's AlexNet, VGG) layer
by layer in torch.nn with the same weights, so it is checked against torch autograd in
float64 (in eval mode, where batch norm and dropout are deterministic). The models with
torchvision namesakes are checked against torchvision's architectures, with their names,
in test_models_torchvision.py.
"""

import numpy as np
import pytest

from cnnlib import models, nn
from cnnlib.models.lenet import C3_TABLE
from cnnlib.random import manual_seed

torch = pytest.importorskip("torch")
tnn = torch.nn


def n_params(model):
    return sum(int(np.prod(p.data.shape)) for p in model.parameters())


class _TResidual(tnn.Module):
    def __init__(self, body, shortcut):
        super().__init__()
        self.body, self.shortcut = body, shortcut

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


class _TConcat(tnn.Module):
    def __init__(self, branches, dim):
        super().__init__()
        self.branches, self.dim = tnn.ModuleList(branches), dim

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], dim=self.dim)


def _t(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64)


def _copy(dst, src):
    with torch.no_grad():
        dst.weight.copy_(_t(src.weight.data))
        if getattr(src, "bias", None) is not None and dst.bias is not None:
            dst.bias.copy_(_t(src.bias.data))


def to_torch(m):
    """The torch.nn equivalent of a cnnlib module, with copied weights (float64)."""
    kind = type(m).__name__
    if isinstance(m, nn.Sequential):  # also AlexNet and VGG, Sequentials with named children
        return tnn.Sequential(*[to_torch(c) for _, c in m.named_children()])
    if kind == "Residual":
        shortcut = m.shortcut if m.shortcut is not None else nn.Identity()
        return _TResidual(to_torch(m.body), to_torch(shortcut))
    if kind == "Concat":
        return _TConcat([to_torch(c) for _, c in m.named_children()], m.dim)
    if kind == "Conv2d":
        t = tnn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                       m.dilation, m.groups, m.bias is not None, dtype=torch.float64)  # fmt: skip
        _copy(t, m)
        return t
    if kind == "Linear":
        t = tnn.Linear(m.in_features, m.out_features, bias=m.bias is not None,
                       dtype=torch.float64)  # fmt: skip
        _copy(t, m)
        return t
    if kind == "BatchNorm2d":
        t = tnn.BatchNorm2d(m.num_features, eps=m.eps, momentum=m.momentum, dtype=torch.float64)
        _copy(t, m)
        with torch.no_grad():
            t.running_mean.copy_(_t(m.running_mean))
            t.running_var.copy_(_t(m.running_var))
        return t
    if kind == "MaxPool2d":
        return tnn.MaxPool2d(m.kernel_size, m.stride, m.padding, ceil_mode=m.ceil_mode)
    if kind == "AvgPool2d":
        return tnn.AvgPool2d(m.kernel_size, m.stride, m.padding, ceil_mode=m.ceil_mode)
    if kind == "AdaptiveAvgPool2d":
        return tnn.AdaptiveAvgPool2d(m.output_size)
    if kind == "LocalResponseNorm":
        return tnn.LocalResponseNorm(m.size, m.alpha, m.beta, m.k)
    simple = {"ReLU": tnn.ReLU, "Flatten": tnn.Flatten, "Identity": tnn.Identity}
    if kind in simple:
        return simple[kind]()
    if kind == "Dropout":
        return tnn.Dropout(m.p)
    raise TypeError(f"to_torch: no torch twin for {kind}")


def _randomise_bn(model, seed=0):
    """Give batch norm non-trivial statistics and affine parameters, so eval mode tests them."""
    rng = np.random.default_rng(seed)
    for m in model.modules():
        if type(m).__name__ == "BatchNorm2d":
            c = m.num_features
            m.running_mean[...] = rng.normal(0, 0.1, c)
            m.running_var[...] = rng.uniform(0.5, 1.5, c)
            m.weight.data[...] = rng.uniform(0.5, 1.5, c)
            m.bias.data[...] = rng.normal(0, 0.1, c)


def check_against_torch(model, input_shape, seed=0):
    """Forward and input/parameter gradients equal torch's in float64 (eval mode)."""
    _randomise_bn(model, seed)
    model.double()
    model.eval()
    ref = to_torch(model).eval()
    x = np.random.default_rng(seed).normal(size=input_shape)
    out = model(x)
    dout = np.random.default_rng(seed + 1).normal(size=out.shape)
    model.zero_grad()
    dx = model.backward(dout)
    xt = _t(x).requires_grad_(True)
    out_t = ref(xt)
    out_t.backward(_t(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-7, atol=1e-9)
    for p, pt in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad, pt.grad.numpy(), rtol=1e-6, atol=1e-9)
    assert len(list(model.parameters())) == len(list(ref.parameters()))


# --- parameter counts (references in the comments) --------------------------------------


def test_lenet5_counts():
    # modern: 156 + 2,416 + 48,120 + 10,164 + 850
    assert n_params(models.lenet5()) == 61_706
    # original: C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164 = 60,000 (LeCun et al.)
    assert n_params(models.lenet5(variant="original")) == 60_000
    assert sum(len(t) for t in C3_TABLE) == 60
    assert [len(t) for t in C3_TABLE] == [3] * 6 + [4] * 9 + [6]


def test_alexnet_counts():
    # two-tower paper AlexNet: 60,965,224 (the paper's "60 million")
    assert n_params(models.alexnet(groups=2)) == 60_965_224
    # the same layers, all connected
    assert n_params(models.alexnet(groups=1)) == 62_378_344
    # torchvision.models.alexnet
    assert n_params(models.alexnet(variant="torchvision")) == 61_100_840


@pytest.mark.slow
@pytest.mark.parametrize(
    "depth, bn, count",
    [
        # torchvision.models.vgg11 / vgg11_bn / ... (num_params in the weights' metadata)
        (11, False, 132_863_336),
        (11, True, 132_868_840),
        (13, False, 133_047_848),
        (16, False, 138_357_544),
        (16, True, 138_365_992),
        (19, False, 143_667_240),
        (19, True, 143_678_248),
    ],
)
def test_vgg_counts(depth, bn, count):
    build = {11: models.vgg11, 13: models.vgg13, 16: models.vgg16, 19: models.vgg19}[depth]
    assert n_params(build(batch_norm=bn)) == count


@pytest.mark.parametrize(
    "build, count",
    [
        (models.resnet18, 11_689_512),  # torchvision.models.resnet18
        (models.resnet34, 21_797_672),  # torchvision.models.resnet34
        (models.resnet50, 25_557_032),  # torchvision.models.resnet50
        (models.densenet121, 7_978_856),  # torchvision.models.densenet121
        (models.googlenet, 6_624_904),  # torchvision.models.googlenet, no aux heads
        (models.mobilenet_v2, 3_504_872),  # torchvision.models.mobilenet_v2
        (models.convnext_tiny, 28_589_128),  # torchvision.models.convnext_tiny
    ],
)
def test_reference_counts(build, count):
    assert n_params(build()) == count


def test_num_classes_and_options():
    assert n_params(models.resnet18(num_classes=10)) == 11_689_512 - 512 * 990 - 990
    small = models.resnet18(num_classes=10, in_channels=1, width=0.25, small=True)
    assert small(np.zeros((2, 1, 8, 8), np.float32)).shape == (2, 10)
    with pytest.raises(ValueError, match="variant"):
        models.lenet5(variant="lenet4")
    with pytest.raises(ValueError, match="depth"):
        models.vgg(12)


# --- forward and backward against torch ----------------------------------------------------


def test_lenet5_modern_matches_torch():
    check_against_torch(models.lenet5(), (2, 1, 32, 32))


def test_alexnet_paper_two_towers_matches_torch():
    check_against_torch(models.alexnet(num_classes=7, groups=2, width=0.25, hidden=32),
                        (1, 3, 67, 67))  # fmt: skip


def test_vgg_bn_matches_torch():
    model = models.vgg11(num_classes=5, batch_norm=True, width=0.125, hidden=16, pool_size=1)
    check_against_torch(model, (1, 3, 32, 32))


SMALL_28 = {  # a small configuration of each model for 28x28 grey images (Fashion-MNIST)
    "alexnet": lambda: models.alexnet(10, variant="torchvision", in_channels=1, width=0.25,
                                      hidden=64, pool_size=2, small=True),
    "vgg": lambda: models.vgg(11, 10, batch_norm=True, in_channels=1, width=1 / 8, hidden=64,
                              pool_size=1, small=True),
    "googlenet": lambda: models.googlenet(10, in_channels=1, width=1 / 8, small=True),
    "resnet": lambda: models.resnet18(10, in_channels=1, width=0.25, small=True),
    "resnext": lambda: models.resnet((1, 1, 1, 1), True, 10, in_channels=1, width=0.25,
                                     small=True, groups=4, width_per_group=16),
    "densenet": lambda: models.densenet((4, 4, 4), 12, 24, 10, in_channels=1, small=True),
    "mobilenet_v2": lambda: models.mobilenet_v2(10, 0.25, in_channels=1, small=True),
    "convnext": lambda: models.convnext((16, 32, 64, 128), (1, 1, 2, 1), 10, in_channels=1,
                                        stem_stride=2),
}  # fmt: skip


@pytest.mark.parametrize("device", ["numpy", "torch"])
@pytest.mark.parametrize("name", list(SMALL_28))
def test_small_models_train_on_28x28(name, device):
    """A small version of every model takes 28x28 images, on NumPy and torch tensors,
    and one training step of SGD lowers the loss on a fixed batch."""
    manual_seed(0)
    model = SMALL_28[name]().to(device)
    x = np.random.default_rng(0).normal(size=(8, 1, 28, 28)).astype(np.float32)
    y = np.arange(8) % 10
    if device == "torch":
        x, y = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for m in model.modules():  # no dropout or stochastic depth: the same function twice
        if type(m).__name__ in ("Dropout", "StochasticDepth"):
            m.eval()
    losses = []
    for _ in range(2):
        model.zero_grad()
        out = model(x)
        assert out.shape == (8, 10) and isinstance(out, type(x))
        losses.append(float(loss_fn(out, y)))
        dx = model.backward(loss_fn.backward())
        assert dx.shape == x.shape and isinstance(dx, type(x))
        for p in model.parameters():
            assert p.grad is not None and p.grad.shape == p.data.shape
            p.data = p.data - 0.05 * p.grad
    assert losses[1] < losses[0]


def test_resnet_options():
    model = models.resnet18(zero_init_residual=True)
    assert all(not b.bn2.weight.data.any() for b in [*model.layer1, *model.layer4])
    assert models.resnet50().layer1[0].conv2.groups == 1
    assert models.resnext50_32x4d().layer1[0].conv2.groups == 32
    assert models.resnext50_32x4d().layer1[0].conv2.in_channels == 128  # 64 * 4/64 * 32
    assert not hasattr(models.resnet18(small=True), "maxpool")
    with pytest.raises(ValueError, match="groups=1"):
        models.resnet18(groups=2)
    with pytest.raises(ValueError, match="at least 1"):
        models.resnet50(width=1 / 16, groups=2, width_per_group=1)
    block = models.basic_block(64, 128, 2)
    assert block.downsample is not None and models.basic_block(64, 64).downsample is None
    assert models.bottleneck(256, 64).downsample is None


def test_models_are_sequentials_where_torchvisions_forward_is_a_chain():
    """AlexNet and VGG index like before (model[0] is features, model[3] the classifier)."""
    alex = models.alexnet(groups=2)
    assert alex[0] is alex.features and alex[3] is alex.classifier
    vgg = models.vgg11(width=1 / 16, hidden=8)
    assert vgg[0] is vgg.features and [n for n, _ in vgg.named_children()] == [
        "features", "avgpool", "flatten", "classifier"]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("build", [models.densenet121, models.resnet34])
def test_full_size_forward_backward_small_image(build):
    model = build(num_classes=10)
    model.eval()
    x = np.random.default_rng(0).normal(size=(1, 3, 64, 64)).astype(np.float32)
    out = model(x)
    assert out.shape == (1, 10) and np.isfinite(out).all()
    assert model.backward(np.ones_like(out)).shape == x.shape


# --- LeNet-5's own layers -------------------------------------------------------------------


def _numeric_grad(f, a, eps=1e-6):
    """Central differences of the scalar f() with respect to the array `a`, changed in place."""
    grad = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + eps
        up = f()
        a[i] = old - eps
        down = f()
        a[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


@pytest.mark.parametrize("name", ["Subsample", "ScaledTanh", "SparseConv", "RBF"])
def test_lenet_original_layers_gradcheck(name):
    from cnnlib.models import lenet

    layer, shape = {
        "Subsample": (lambda: lenet.Subsample(3), (2, 3, 6, 6)),
        "ScaledTanh": (lenet.ScaledTanh, (2, 5)),
        "SparseConv": (lambda: lenet.SparseConv(6, C3_TABLE), (2, 6, 8, 8)),
        "RBF": (lambda: lenet.RBF(7, 4), (3, 7)),
    }[name]
    layer = layer()
    layer.double()
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    dout = rng.normal(size=layer(x).shape)
    layer.zero_grad()
    dx = layer.backward(dout)
    f = lambda: float(np.sum(layer(x) * dout))
    np.testing.assert_allclose(dx, _numeric_grad(f, x), rtol=1e-5, atol=1e-7)
    for p in layer.parameters():
        np.testing.assert_allclose(p.grad, _numeric_grad(f, p.data), rtol=1e-5, atol=1e-7)


def test_scaled_tanh_used_twice_in_one_forward_matches_torch():
    """Each call keeps its own tanh in its cache, so a shared ScaledTanh gets both right."""
    from cnnlib.models.lenet import ScaledTanh

    act = ScaledTanh()
    net = nn.Sequential(act, nn.Linear(4, 4), act)  # the same module before and after
    net.double()
    rng = np.random.default_rng(0)
    lin = net[1]
    lin.weight.data[...] = rng.normal(size=(4, 4))
    x, dout = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    out = net(x)
    net.zero_grad()
    dx = net.backward(dout)

    def f(a):
        return 1.7159 * torch.tanh(2.0 / 3.0 * a)

    xt = _t(x).requires_grad_(True)
    wt, bt = _t(lin.weight.data).requires_grad_(True), _t(lin.bias.data).requires_grad_(True)
    out_t = f(f(xt) @ wt.T + bt)
    out_t.backward(_t(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(lin.weight.grad, wt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_sparse_conv_is_a_masked_conv():
    from cnnlib.models.lenet import SparseConv

    layer = SparseConv(6, C3_TABLE)
    w = layer.dense_weight()
    connected = np.abs(w).sum(axis=(2, 3)) > 0  # (16, 6)
    for o, inputs in enumerate(C3_TABLE):
        assert sorted(np.flatnonzero(connected[o]).tolist()) == sorted(inputs)
    x = np.random.default_rng(0).normal(size=(1, 6, 14, 14)).astype(np.float32)
    ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w),
                                     torch.from_numpy(layer.bias.data))  # fmt: skip
    np.testing.assert_allclose(layer(x), ref.numpy(), rtol=1e-5, atol=1e-5)


def test_lenet_original_runs_on_torch_backend():
    model = models.lenet5(variant="original")
    model.to("torch")
    out = model(torch.zeros(2, 1, 32, 32))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 10)
    dx = model.backward(torch.ones_like(out))
    assert isinstance(dx, torch.Tensor) and dx.shape == (2, 1, 32, 32)


CUDA_MODELS = ["lenet_original", "resnet_small", "googlenet_small", "densenet_small",
               "mobilenet_small", "convnext_small"]  # fmt: skip


@pytest.mark.cuda
@pytest.mark.parametrize("name", CUDA_MODELS)
def test_models_on_cuda_match_numpy(name):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    build, shape = {
        "lenet_original": (lambda: models.lenet5(variant="original"), (2, 1, 32, 32)),
        "resnet_small": (lambda: models.resnet18(10, width=0.25, small=True), (2, 3, 16, 16)),
        "googlenet_small": (lambda: models.googlenet(10, width=0.125, small=True), (2, 3, 16, 16)),
        "densenet_small": (lambda: models.densenet((2, 2), 8, 16, 10, small=True), (2, 3, 16, 16)),
        "mobilenet_small": (lambda: models.mobilenet_v2(10, 0.25, small=True), (2, 3, 16, 16)),
        "convnext_small": (
            lambda: models.convnext((8, 16), (1, 2), 10, 0.5, stem_stride=2),
            (4, 3, 16, 16),
        ),
    }[name]
    model = build().double()
    model.train()  # batch statistics and running-stat updates on both devices
    gpu = build().double()
    gpu.load_state_dict(model.state_dict())
    gpu.to("cuda").train()
    x = np.random.default_rng(0).normal(size=shape)
    manual_seed(0)  # googlenet's dropout draws the same mask on both devices
    out = model(x)
    manual_seed(0)
    out_gpu = gpu(torch.from_numpy(x).cuda())
    assert out_gpu.device.type == "cuda"
    np.testing.assert_allclose(out_gpu.cpu().numpy(), out, rtol=1e-7, atol=1e-9)
    dout = np.random.default_rng(1).normal(size=out.shape)
    dx, dx_gpu = model.backward(dout), gpu.backward(torch.from_numpy(dout).cuda())
    np.testing.assert_allclose(dx_gpu.cpu().numpy(), dx, rtol=1e-6, atol=1e-9)
    for p, q in zip(model.parameters(), gpu.parameters()):
        np.testing.assert_allclose(q.grad.cpu().numpy(), p.grad, rtol=1e-6, atol=1e-9)
