"""layer_norm and nn.LayerNorm against torch (float64 and float32, every backend), the
channels-last composition ConvNeXt uses on NCHW maps, and bad input."""

import inspect

import numpy as np
import pytest
from helpers import DTYPES, check_op, torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nn_helpers import LAYER_BACKENDS, compare, copy_weights, layer_backend

from cnnlib import functional as F
from cnnlib import nn
from cnnlib.nn.module import Module

TF = torch.nn.functional if torch is not None else None
needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
FIXTURE_OK = [HealthCheck.function_scoped_fixture]


@pytest.fixture(params=LAYER_BACKENDS)
def lb(request):
    return layer_backend(request.param)


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    leading=st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple),
    normalized=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
    affine=st.sampled_from(["both", "weight", "bias", "none"]),
    eps=st.sampled_from([1e-5, 1e-2]),
    scale=st.sampled_from([1.0, 100.0]),
    seed=st.integers(0, 2**16),
)
def test_layer_norm_matches_torch(backend, dtype, leading, normalized, affine, eps, scale, seed):
    if affine == "bias":
        affine = "both"  # torch's own layer_norm backward fails with a bias and no weight
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(leading + normalized) * scale + rng.standard_normal()
    weight = rng.standard_normal(normalized) if affine in ("both", "weight") else None
    bias = rng.standard_normal(normalized) if affine == "both" else None
    check_op(F.layer_norm_forward, F.layer_norm_backward, TF.layer_norm,
             [x, normalized, weight, bias, eps], backend=backend, op=F.layer_norm, seed=seed,
             dtype=dtype)  # fmt: skip


@needs_torch
def test_layer_norm_takes_a_list_and_non_contiguous_input(backend):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5)).transpose(2, 0, 1)  # a strided view, (5, 4, 3)
    check_op(F.layer_norm_forward, F.layer_norm_backward, TF.layer_norm,
             [x, [4, 3], rng.standard_normal((4, 3)), rng.standard_normal((4, 3))],
             backend=backend)  # fmt: skip


@needs_torch
def test_channels_last_layer_norm_of_nchw_maps_like_convnext(backend):
    """ConvNeXt's LayerNorm2d: permute (N, C, H, W) to (N, H, W, C), normalise over C,
    permute back. The composition and its gradients match torch's."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 3, 4))
    w, b = rng.standard_normal(6), rng.standard_normal(6)

    def torch_layer_norm_2d(x, w, b):
        return TF.layer_norm(x.permute(0, 2, 3, 1), (6,), w, b, 1e-6).permute(0, 3, 1, 2)

    def forward(x, w, b):
        out, cache = F.layer_norm_forward(_permute(x, (0, 2, 3, 1)), (6,), w, b, 1e-6)
        return _permute(out, (0, 3, 1, 2)), cache

    def backward(dout, cache):
        dx, dw, db = F.layer_norm_backward(_permute(dout, (0, 2, 3, 1)), cache)
        return _permute(dx, (0, 3, 1, 2)), dw, db

    check_op(forward, backward, torch_layer_norm_2d, [x, w, b], backend=backend)


def _permute(a, axes):
    from cnnlib.backend import namespace

    return namespace(a).permute_dims(a, axes)


class Permute(Module):
    """torchvision.ops.Permute for this test: a layer that permutes the dimensions."""

    def __init__(self, dims):
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x):
        self.out = _permute(x, self.dims)
        return self.out

    def backward(self, dout):
        return _permute(self._check_dout(dout), tuple(np.argsort(self.dims)))


class TorchPermute(torch.nn.Module if torch is not None else object):
    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(*self.dims)


@needs_torch
def test_layer_norm_layer_in_a_channels_last_block(lb):
    """A ConvNeXt-style block: depthwise conv, permute, LayerNorm, Linear, GELU, Linear,
    permute back; same weights in torch.nn, output and every gradient compared."""

    def block(m, permute):
        return m.Sequential(
            m.Conv2d(4, 4, 3, padding=1, groups=4),
            permute([0, 2, 3, 1]),
            m.LayerNorm(4, eps=1e-6),
            m.Linear(4, 8),
            m.GELU(),
            m.Linear(8, 4),
            permute([0, 3, 1, 2]),
        )

    ours, theirs = block(nn, Permute), block(torch.nn, TorchPermute)
    with torch.no_grad():
        theirs[2].weight.uniform_(0.5, 1.5)
        theirs[2].bias.uniform_(-0.5, 0.5)
    copy_weights(ours, theirs, lb)
    compare(ours, theirs, np.random.default_rng(2).standard_normal((2, 4, 5, 5)), lb)


@needs_torch
@pytest.mark.parametrize(
    "kwargs",
    [dict(normalized_shape=5), dict(normalized_shape=(3, 5)), dict(normalized_shape=[5],
     elementwise_affine=False), dict(normalized_shape=5, bias=False), dict(normalized_shape=5,
     eps=1e-2)],
)  # fmt: skip
def test_layer_norm_layer_matches_torch(kwargs, lb):
    ours, theirs = nn.LayerNorm(**kwargs), torch.nn.LayerNorm(**kwargs)
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(-1.5, 1.5)
    copy_weights(ours, theirs, lb)
    x = np.random.default_rng(3).standard_normal((2, 4, 3, 5)) * 3 + 1
    for train in (True, False):  # no batch statistics: the same in both modes
        ours.zero_grad()
        theirs.zero_grad()
        compare(ours.train(train), theirs.train(train), x, lb)


def test_layer_norm_layer_defaults_and_dtype():
    ln = nn.LayerNorm(3)
    assert ln.normalized_shape == (3,) and ln.eps == 1e-5
    np.testing.assert_array_equal(ln.weight.data, np.ones(3, np.float32))
    np.testing.assert_array_equal(ln.bias.data, np.zeros(3, np.float32))
    assert nn.LayerNorm(3, dtype="float64").weight.data.dtype == np.float64
    ln.weight.data[:] = 5
    ln.reset_parameters()
    np.testing.assert_array_equal(ln.weight.data, 1)


@needs_torch
def test_layer_norm_signatures_are_torchs():
    def params(f):
        return [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]

    assert params(F.layer_norm) == params(TF.layer_norm)
    assert params(nn.LayerNorm) == params(torch.nn.LayerNorm)


def test_layer_norm_bad_input():
    x = np.zeros((2, 3, 4))
    with pytest.raises(
        ValueError,
        match=r"normalized_shape=\(3,\) must equal the input's last "
        r"dimensions, but the input has shape \(2, 3, 4\)",
    ):
        F.layer_norm(x, (3,))  # fmt: skip
    with pytest.raises(ValueError, match=r"normalized_shape=\(1, 2, 3, 4\) must equal"):
        F.layer_norm(x, (1, 2, 3, 4))
    with pytest.raises(TypeError, match="normalized_shape must be a tuple or list of ints"):
        F.layer_norm(x, 4)  # torch's functional form takes a tuple, not an int
    with pytest.raises(ValueError, match="at least one dimension"):
        F.layer_norm(x, ())
    with pytest.raises(ValueError, match=r"weight must have shape normalized_shape=\(4,\), got "
                                         r"\(3,\)"):  # fmt: skip
        F.layer_norm(x, (4,), np.ones(3))
    with pytest.raises(TypeError, match="input is float64, weight is float32"):
        F.layer_norm(x, (4,), np.ones(4, np.float32))
    with pytest.raises(TypeError, match="input must be a floating-point array"):
        F.layer_norm(np.zeros((2, 4), int), (4,))
    with pytest.raises(TypeError, match="eps must be a number"):
        F.layer_norm(x, (4,), eps="1e-5")
    _, cache = F.layer_norm_forward(x, (4,))
    with pytest.raises(ValueError, match=r"layer_norm_backward: dout has shape \(2, 3\)"):
        F.layer_norm_backward(np.zeros((2, 3)), cache)
    with pytest.raises(TypeError, match="normalized_shape must be an int or a tuple of ints"):
        nn.LayerNorm("4")
    with pytest.raises(ValueError, match=r"normalized_shape=\(5,\) must equal"):
        nn.LayerNorm(5)(np.zeros((2, 4), np.float32))


def test_output_does_not_alias_the_cache():
    """Without weight and bias the output must be a fresh array: an in-place op after the
    layer (ReLU(inplace=True)) would otherwise change what backward reads."""
    x = np.random.default_rng(0).standard_normal((3, 4))
    out, cache = F.layer_norm_forward(x, (4,))
    want = F.layer_norm_backward(np.ones((3, 4)), cache)[0]
    F.relu(out, inplace=True)
    np.testing.assert_array_equal(F.layer_norm_backward(np.ones((3, 4)), cache)[0], want)


@needs_torch
@pytest.mark.parametrize(
    "make",
    [lambda **kw: nn.LayerNorm(4, **kw), lambda **kw: nn.GroupNorm(2, 4, **kw),
     lambda **kw: nn.BatchNorm2d(4, **kw)],
)  # fmt: skip
def test_norm_layers_take_device_and_dtype_like_torch(make):
    """torch's device/dtype arguments: float32 NumPy by default, else as module.to()."""
    assert make().weight.data.dtype == np.float32
    layer = make(device="cpu", dtype=torch.float64)
    assert isinstance(layer.weight.data, torch.Tensor)
    assert all(
        a.dtype == torch.float64 for a in layer.state_dict().values() if a.is_floating_point()
    )
    layer.weight.data[...] = 3
    if hasattr(layer, "running_mean"):
        layer.running_mean[...] = 2
    layer.reset_parameters()
    assert torch.all(layer.weight.data == 1) and torch.all(layer.bias.data == 0)
    if hasattr(layer, "running_mean"):
        assert torch.all(layer.running_mean == 0) and layer.num_batches_tracked == 0
